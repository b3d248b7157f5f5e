#!/usr/bin/env bash
# Per-user directories a rule names anywhere (`fd.name contains /.ssh/`, the
# default rule "SSH authorized keys modified") are watched below every home
# directory (/root, passwd's, /home/*), so that what vigil's read missed is
# still reported on the true file (issue 12), in detect and prevent mode (an
# alert rule: nothing is performed by vigil in either):
# - a racing thread flips the path between /root/.ssx/authorized_keys and
#   /root/.ssh/authorized_keys: vigil reads one, the kernel opens the other;
#   the kept fd written 2.5 s later must be reported on the true file;
# - a directory prepared under another name and renamed into place
#   (`mv prep ~/.ssh`: no write names .ssh/authorized_keys) must be alerted
#   and its entries reported on their true names, in /home/app (found by
#   listing /home) and in a home only /etc/passwd names;
# - ~/.ssh or authorized_keys made a link to a file elsewhere: alerted at the link;
# - a custom rule naming its files by glob: the same race, seen on the true file.
# Private /root, /home and /etc/passwd (this mount namespace): nothing real touched.
set -euo pipefail
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then echo "skip: needs root and unshare -m"; exit 77; fi
if [ -z "${OPENS_HOME_INNER:-}" ]; then
  exec env OPENS_HOME_INNER=1 unshare -m --propagation private bash "$0" "$@"
fi
SRC_DIR=${SRC_DIR:?}
source "$SRC_DIR/tests/scenarios/lib.bash"
mount -t tmpfs vigil-test /root || { echo "skip: cannot mount in this namespace"; exit 77; }
mount -t tmpfs vigil-test /home
mkdir -p /root/.ssh /root/.ssx /home/app "$T/svc"
echo key >/root/.ssh/authorized_keys
echo decoy >/root/.ssx/authorized_keys
cp /etc/passwd "$T/passwd"
echo "svc:x:64999:64999::$T/svc/:/bin/sh" >>"$T/passwd"
mount --bind "$T/passwd" /etc/passwd

rule="SSH authorized keys modified"
for mode in detect prevent; do
  rm -f "$T/ev"
  OPENS_ATTACK_DECOY=/root/.ssx/authorized_keys OPENS_ATTACK_TARGET=/root/.ssh/authorized_keys \
    vrun $mode --events="$T/ev" -- "$FIXTURES/opens_attack" /root race_hold 3000
  grep -q "^race_hold held=1 wrote=1" "$T/err" || fail "$mode race_hold: $(grep "^race_hold" "$T/err" || cat "$T/err")"
  got=$(inotify_events "$T/ev")
  grep -q "^open /root/.ssh/authorized_keys .*modify.* open_fd opens_attack$" <<<"$got" ||
    fail "$mode: the write through the kept fd was not seen on /root/.ssh/authorized_keys; inotify events: ${got:-none}"
  grep -q "^/root/.ssh/authorized_keys " <<<"$(alert_fields "$rule" fd.name proc.name)" || fail "$mode: no '$rule' alert: $(cat "$T/alerts" 2>/dev/null)"

  for home in /home/app "$T/svc"; do
    rm -rf "$home/.ssh" "$home/prep"
    rm -f "$T/ev"
    vrun $mode --events="$T/ev" -- /bin/sh -c 'sleep 0.5; mkdir "$0/prep"; echo k >"$0/prep/authorized_keys"; mv "$0/prep" "$0/.ssh"; sleep 0.3' "$home"
    [ "$RC" = 0 ] || fail "$mode $home: the app failed ($RC): $(cat "$T/err")"
    # The rename onto .ssh is alerted (trapped); the file it brought is listed
    # by the watch, attributed to mv by its argv (the same alert, repeated).
    got=$(inotify_events "$T/ev")
    grep -qx "open $home/.ssh/authorized_keys listed argv mv" <<<"$got" ||
      fail "$mode $home: the file of a .ssh renamed into place was not reported; inotify events: ${got:-none}"
    grep -qx "$home/prep mv" <<<"$(alert_fields "$rule" fd.name proc.name)" || fail "$mode $home: no '$rule' alert for mv: $(cat "$T/alerts" 2>/dev/null)"
  done
done

# Another path for the same keys: ~/.ssh a symbolic link to a directory
# elsewhere (writes through it resolve there: no .ssh in their path), or
# authorized_keys a symbolic or hard link of a file elsewhere; alerted when
# the link is made, in both modes.
mkdir -p "$T/keys"
echo k >"$T/keys/file"
for mode in detect prevent; do
  for how in 'ln -s "$0" /root/.ssh' 'mkdir /root/.ssh; ln -s "$0/file" /root/.ssh/authorized_keys' \
             'mkdir /root/.ssh; ln "$0/file" /root/.ssh/authorized_keys'; do
    rm -rf /root/.ssh
    vrun $mode -- /bin/sh -c "sleep 0.5; $how; echo k >>/root/.ssh/authorized_keys" "$T/keys"
    [ "$RC" = 0 ] || fail "$mode '$how': the app failed ($RC): $(cat "$T/err")"
    grep -q "^/root/.ssh" <<<"$(alert_fields "$rule" fd.name proc.name)" || fail "$mode '$how': no '$rule' alert: $(cat "$T/alerts" 2>/dev/null)"
  done
done

# A custom rule that names its files by glob (`fd.name glob DIR/apps/*/keys/*`):
# the directories its pattern matches when the rules load are watched, so the
# same race is reported on the true file.
mkdir -p "$T/apps/one/keys" "$T/apps/one/keyz"
echo k >"$T/apps/one/keys/k"
echo d >"$T/apps/one/keyz/k"
globs=$(rules_file globs "- rule: App keys written
  desc: write-open of an app's key (alert only), named by glob
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true and fd.name glob $T/apps/*/keys/*
  output: app keys written (file=%fd.name)
  priority: WARNING")
for mode in detect prevent; do
  rm -f "$T/ev"
  OPENS_ATTACK_DECOY="$T/apps/one/keyz/k" OPENS_ATTACK_TARGET="$T/apps/one/keys/k" \
    vrun $mode --rules="$globs" --events="$T/ev" -- "$FIXTURES/opens_attack" "$T" race_hold 3000
  grep -q "^race_hold held=1 wrote=1" "$T/err" || fail "$mode glob race_hold: $(grep "^race_hold" "$T/err" || cat "$T/err")"
  got=$(inotify_events "$T/ev")
  grep -q "^open $T/apps/one/keys/k .*modify.* open_fd opens_attack$" <<<"$got" ||
    fail "$mode: the write through the kept fd was not seen on the glob-named file; inotify events: ${got:-none}"
  grep -q "^$T/apps/one/keys/k$" <<<"$(alert_fields "App keys written" fd.name)" ||
    fail "$mode: no 'App keys written' alert: $(cat "$T/alerts" 2>/dev/null)"
done

# Made in place and written at once (trapped, judged by name): one alert, the
# listing of the new directory does not report the same file again.
rm -rf /home/app/.ssh
vrun detect -- /bin/sh -c 'sleep 0.5; mkdir /home/app/.ssh; echo k >/home/app/.ssh/authorized_keys; sleep 0.3'
n=$(grep -c "^/home/app/.ssh/authorized_keys " <<<"$(alert_fields "$rule" fd.name proc.name)" || true)
[ "$n" = 1 ] || fail "made in place: $n '$rule' alerts (want 1): $(cat "$T/alerts" 2>/dev/null)"
echo ok
