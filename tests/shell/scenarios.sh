#!/usr/bin/env bash
# Runs the attack scenarios tests/scenarios/*.sh (the benign suite runs as
# shell.scenarios_benign) under the built vigil; each prints "ok" or FAIL lines.
# SCENARIO=NAME runs one; SCENARIO_GLOB selects a set (default: not benign*).
set -uo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}" "${FIXTURES:?}"
export VIGIL SRC_DIR FIXTURES
failed=0
for s in "$SRC_DIR"/tests/scenarios/${SCENARIO_GLOB:-*}.sh; do
  name=$(basename "$s" .sh)
  if [ -n "${SCENARIO:-}" ]; then [ "$name" = "$SCENARIO" ] || continue
  elif [ -z "${SCENARIO_GLOB:-}" ] && [[ $name == benign* ]]; then continue; fi
  echo "== $name"
  bash "$s" || { echo "== $name FAILED"; failed=1; }
done
exit $failed
