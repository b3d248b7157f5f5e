#!/usr/bin/env bash
# The transparency tests whose apps are our own C fixtures, run again with a
# signal storm inside each app (tests/fixtures/storm.h: STORM=FD, a thread
# sending SIGURG with an SA_RESTART handler to all the others, as Go's
# runtime does), to catch the class of issue 18 (a signal while vigil judges
# a call) anywhere in them. Each test must give the same verdict as without
# the storm, and the storm must have hit the apps.
set -euo pipefail
: "${VIGIL:?}" "${FIXTURES:?}" "${SRC_DIR:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
failed=0
for t in run_forks run_ownfilter run_signals run_threads; do
  set +e
  STORM=9 bash "$SRC_DIR/tests/shell/$t.sh" >"$tmp/$t.out" 2>&1 9>>"$tmp/$t.storm"
  rc=$?
  set -e
  hit=$(awk -F'handled=' '/^storm: / && $2 > 0 {n++} END {print n + 0}' "$tmp/$t.storm")
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    echo "FAIL: $t under a signal storm (exit $rc):"; tail -5 "$tmp/$t.out"; failed=1
  elif [ "$hit" = 0 ]; then
    echo "FAIL: $t: no app was hit by the storm: $(head -3 "$tmp/$t.storm")"; failed=1
  else
    echo "$t: ok$([ "$rc" = 77 ] && echo " (it skipped: $(tail -1 "$tmp/$t.out"))"), $hit stormed app runs, $(awk -F'handled=' '/^storm: / {s += $2} END {print s + 0}' "$tmp/$t.storm") signals handled"
  fi
done
[ "$failed" = 0 ] || exit 1
echo ok
