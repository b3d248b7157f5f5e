#!/usr/bin/env bash
# File behaviours: write below a sensitive directory (custom rule on a temp
# "etc"), setuid chmod, log clearing; blocked writes leave no file behind.
source "$(dirname "$0")/lib.bash"
mkdir -p "$T/etc" "$T/log"
etc=$(rules_file etc "- rule: Write below etc
  desc: test stand-in for /etc
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name startswith $T/etc/
  output: write below etc (%fd.name)
  priority: ERROR
  action: block
- rule: Test log truncated
  desc: test stand-in for /var/log
  condition: evt.type in (open, openat, openat2) and evt.arg.flags contains O_TRUNC and fd.name startswith $T/log/
  output: log truncated (%fd.name)
  priority: WARNING
  action: block
- rule: Setuid bit blocked
  desc: the default setuid rule, blocking
  condition: evt.type in (chmod, fchmod, fchmodat, fchmodat2) and evt.arg.mode regex \"[2-7][0-7]{3}\"
  output: setuid (%fd.name)
  priority: WARNING
  action: block")
# write below etc
vrun detect --rules="$etc" -- /bin/sh -c 'echo x >"$0"' "$T/etc/passwd-new"
[ -e "$T/etc/passwd-new" ] || fail "detect: file not written"
expect_alert "Write below etc" none
vrun prevent --rules="$etc" -- /bin/sh -c 'echo x >"$0"; echo "rc=$?" >"$1"' "$T/etc/shadow-new" "$T/etc.rc"
[ ! -e "$T/etc/shadow-new" ] || fail "prevent: file was created"
grep -q "rc=[1-9]" "$T/etc.rc" || fail "prevent: shell did not see the failure"
expect_alert "Write below etc" denied

# log clearing: truncation blocked, the content stays
echo "evidence" >"$T/log/auth.log"
vrun prevent --rules="$etc" -- /bin/sh -c ': >"$0"' "$T/log/auth.log"
grep -q evidence "$T/log/auth.log" || fail "prevent: log was truncated"
expect_alert "Test log truncated" denied
# the default rule on history files (detect)
echo "history" >"$T/.bash_history"
vrun detect -- /bin/rm -f "$T/.bash_history"
expect_alert "Log file cleared or removed" none

# setuid bit: default rule alerts; blocking rule keeps the mode
cp /bin/true "$T/suid"
vrun detect -- /bin/chmod 4755 "$T/suid"
expect_alert "Setuid or setgid bit set" none
chmod 0755 "$T/suid"
vrun prevent --rules="$etc" -- /bin/chmod 4755 "$T/suid"
[ ! -u "$T/suid" ] || fail "prevent: setuid bit was set"
[ "$RC" != 0 ] || fail "prevent: chmod did not fail"
expect_alert "Setuid bit blocked" denied
echo ok
