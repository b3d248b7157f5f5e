#!/usr/bin/env bash
# Runs every tests/scenarios/*.sh (attack behaviours and the benign suite)
# under the built vigil; each prints "ok" or FAIL lines.
set -uo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}" "${FIXTURES:?}"
export VIGIL SRC_DIR FIXTURES
failed=0
for s in "$SRC_DIR"/tests/scenarios/*.sh; do
  name=$(basename "$s" .sh)
  if [ -n "${SCENARIO:-}" ] && [ "$name" != "$SCENARIO" ]; then continue; fi
  echo "== $name"
  bash "$s" || { echo "== $name FAILED"; failed=1; }
done
exit $failed
