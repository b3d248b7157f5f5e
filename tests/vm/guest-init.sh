#!/bin/bash
# PID 1 of the test VM (tests/vm/kernel61.sh packs it as /init of the initramfs).
# Runs the shell tests listed in /vigil/tests.list against the vigil in /vigil
# and reports on the serial console, one line per test:
#   VIGIL-VM-RESULT <test> <pass|fail|skip> <seconds> <last output line>
# then powers the machine off. Failed and skipped tests' output follows their
# line (its last 60 lines), each prefixed "| ".
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /tmp /run
mount -t devpts -o ptmxmode=0666 devpts /dev/pts
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
hostname vigil-vm
busybox ip link set lo up
exec </dev/null >/dev/console 2>&1

echo "VIGIL-VM-KERNEL $(uname -r) $(uname -m), $(nproc) CPUs, up $(cut -d" " -f1 /proc/uptime) s"
export VIGIL=/vigil/build/vigil BUILD_DIR=/vigil/build FIXTURES=/vigil/build/fixtures SRC_DIR=/vigil/src
# The signal storm at a size TCG runs in a minute or two (150 on the host).
export STORM_ITERATIONS=12
per_test=$(cat /vigil/timeout)
while read -r name; do
  [ -n "$name" ] || continue
  t0=$(date +%s)
  timeout -k 5 "$per_test" bash "$SRC_DIR/tests/shell/$name.sh" >/tmp/out 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  case $rc in
    0) verdict=pass ;;
    77) verdict=skip ;;
    124|137) verdict=fail; echo "timed out after $per_test s in the VM" >>/tmp/out ;;
    *) verdict=fail ;;
  esac
  last=$(grep -v '^[[:space:]]*$' /tmp/out | tail -n1 | tr -d '\r' | cut -c1-200)
  echo "VIGIL-VM-RESULT $name $verdict $secs ${last:-(no output)}"
  [ "$verdict" = pass ] || tail -n 60 /tmp/out | sed 's/^/| /'
done </vigil/tests.list
echo "VIGIL-VM-DONE"
sync
busybox poweroff -f
echo o >/proc/sysrq-trigger
sleep 10
