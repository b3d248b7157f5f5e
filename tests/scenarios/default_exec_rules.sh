#!/usr/bin/env bash
# Default exec rules: crypto miner (kill), /dev/shm (block), memfd (kill),
# package manager, in detect and prevent mode.
source "$(dirname "$0")/lib.bash"
# crypto miner by name: a copy of true named xmrig
cp /bin/true "$T/xmrig"
vrun detect -- "$T/xmrig"
expect_alert "Crypto miner executed" none
vrun prevent -- /bin/sh -c '"$0"; echo "rc=$?" >"$1"' "$T/xmrig" "$T/miner.rc"
grep -q "rc=137" "$T/miner.rc" || fail "miner not killed: $(cat "$T/miner.rc" 2>&1)"
expect_alert "Crypto miner executed" killed
# miner by command line (stratum URL)
vrun detect -- /bin/sh -c 'true "$0"' "stratum+tcp://pool.example:3333"
expect_alert "Crypto miner executed" none

# program run from /dev/shm
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  shm=$(mktemp -d /dev/shm/vigil-scn.XXXXXX)
  trap 'rm -rf "$T" "$shm"' EXIT
  cp /bin/touch "$shm/dropper"  # a dropped binary that leaves a mark when it runs
  vrun detect -- "$shm/dropper" "$T/ran"
  [ -e "$T/ran" ] || fail "detect: /dev/shm program did not run"
  expect_alert "Program run from /dev/shm" none
  rm -f "$T/ran"
  vrun prevent -- /bin/sh -c '"$0" "$1"; echo "rc=$?" >"$2"' "$shm/dropper" "$T/ran" "$T/shm.rc"
  [ ! -e "$T/ran" ] || fail "prevent: /dev/shm program ran"
  grep -q "rc=126" "$T/shm.rc" || fail "prevent: caller saw $(cat "$T/shm.rc" 2>&1)"
  expect_alert "Program run from /dev/shm" denied
  # a "#!" script there: the executable is the interpreter, the script is what was dropped
  printf '#!/bin/sh\ntouch "$1"\n' >"$shm/dropper.sh"
  chmod +x "$shm/dropper.sh"
  rm -f "$T/ran"
  vrun detect -- "$shm/dropper.sh" "$T/ran"
  [ -e "$T/ran" ] || fail "detect: /dev/shm script did not run"
  expect_alert "Program run from /dev/shm" none
  # the same program run through the dynamic loader (an exec of the loader): blocked too
  ldso=$(readlink -f /lib64/ld-linux-x86-64.so.2 2>/dev/null || true)
  if [ -x "$ldso" ]; then
    rm -f "$T/ran"
    vrun prevent -- /bin/sh -c '"$0" "$1" "$2"; echo "rc=$?" >"$3"' "$ldso" "$shm/dropper" "$T/ran" "$T/shm.rc"
    [ ! -e "$T/ran" ] || fail "prevent: /dev/shm program run by the loader ran"
    expect_alert "Program run from /dev/shm" denied
  fi
fi

# fileless execution from a memfd
vrun detect -- "$FIXTURES/scenario_memfd" /bin/true
[ "$RC" = 0 ] || fail "detect: memfd exec failed ($RC)"
expect_alert "Fileless execution from memory" none
vrun prevent -- "$FIXTURES/scenario_memfd" /bin/true
[ "$RC" = 137 ] || fail "prevent: memfd exec caller not killed (status $RC)"
expect_alert "Fileless execution from memory" killed

# package manager run (a stand-in named apt-get: nothing is installed)
cp /bin/true "$T/apt-get"
vrun detect -- "$T/apt-get" install -y nmap
expect_alert "Package manager run in container" none
echo ok
