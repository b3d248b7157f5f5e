#!/usr/bin/env bash
# vigil patch: every case's output equals its golden file byte for byte, patching that output
# again changes nothing, and every patched ECS task definition (and every task definition of a
# patched JSON template) is valid RegisterTaskDefinition input according to botocore's ECS
# service model.
# Regenerate the golden files: UPDATE_GOLDEN=1 VIGIL=build/vigil SRC_DIR=. bash tests/shell/patch_golden.sh
set -euo pipefail
: "${VIGIL:?}" "${SRC_DIR:?}"
T="$SRC_DIR/tests/patcher"
GOLDEN="$SRC_DIR/tests/golden/patcher"
IMG=123456789012.dkr.ecr.us-west-2.amazonaws.com/vigil:0.1.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | ecs or cfn | input | options
CASES=(
  "seed|ecs|$T/ecs/seed-before.json|--opts=--trace=info"
  "describe-no-entrypoint|ecs|$T/ecs/describe-output-no-entrypoint.json|--image-config=api=$T/ecs/image-config-api.json --exclude=log_router"
  "seed-volume-path|ecs|$T/ecs/seed-before.json|--volume-path=/opt/vigil/ --container=web"
  "matrix|ecs|$T/matrix.json|--opts=--trace=info --image-config=command-only=$T/image-entry-cmd.json --image-config=image-entry-and-cmd=$T/image-entry-cmd.json --image-config=image-cmd-only=$T/image-cmd-only.json --image-config=command-no-image-entry=$T/image-cmd-only.json --image-config=image-entry-only=$T/image-entry-only.json"
  "cfn-template.yaml|cfn|$T/cfn-template.yaml|--opts=--trace=info --image-config=worker=$T/worker-image.json"
  "cfn-template.json|cfn|$T/cfn-template.json|--opts=--trace=info"
  "describe-secretoptions-null|ecs|$T/describe-secretoptions-null.json|"
)

fail=0
# tests/patcher/ecs/ are copies of shared/reference/ecs/: when that checkout is beside this one,
# they must still match it.
shared="$SRC_DIR/../shared/reference/ecs"
if [ -d "$shared" ]; then
  for f in "$T"/ecs/*.json; do
    if ! cmp -s "$f" "$shared/$(basename "$f")"; then
      echo "FAIL: $f differs from $shared/$(basename "$f"); copy it again and update the golden files"
      fail=1
    fi
  done
fi
ecs_outputs=()
cfn_outputs=()
for case in "${CASES[@]}"; do
  IFS='|' read -r name kind input opts <<<"$case"
  file="$name"; [ "$kind" = ecs ] && file="$name.json"
  out="$work/$file"
  # shellcheck disable=SC2086  # options are split on purpose
  "$VIGIL" patch "$kind" --in "$input" --out "$out" --image "$IMG" $opts
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$out" "$GOLDEN/$file"
    echo "updated $GOLDEN/$file"
  elif ! cmp -s "$out" "$GOLDEN/$file"; then
    echo "FAIL $name: output differs from $GOLDEN/$file:"
    diff -u "$GOLDEN/$file" "$out" || true
    fail=1
  fi
  # Idempotence: the patched output, patched again (read from stdin), is unchanged.
  # shellcheck disable=SC2086
  if ! "$VIGIL" patch "$kind" --image "$IMG" $opts <"$out" | cmp -s - "$out"; then
    echo "FAIL $name: patching the patched output changed it"
    fail=1
  fi
  case "$file" in
    *.json) [ "$kind" = ecs ] && ecs_outputs+=("$out") || cfn_outputs+=("$out") ;;
  esac
done

# Validation against botocore's model (Debian's python3-botocore; scripts/deps.sh installs it).
py=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import botocore' 2>/dev/null; then py=$p; break; fi
done
if [ -z "$py" ]; then
  echo "FAIL: no python3 with botocore (install python3-botocore: bash scripts/deps.sh)"
  exit 1
fi
"$py" "$T/validate_ecs.py" "${ecs_outputs[@]}" || fail=1
"$py" "$T/validate_ecs.py" --cfn "${cfn_outputs[@]}" || fail=1
# The validator must be able to fail: describe output is not register input.
if "$py" "$T/validate_ecs.py" "$T/ecs/describe-output-no-entrypoint.json" >/dev/null; then
  echo "FAIL: validate_ecs.py accepted describe-task-definition output"
  fail=1
fi
# --opts unknown to this build: accepted with a warning (the sensor image may be newer).
if ! "$VIGIL" patch ecs --in "$T/ecs/seed-before.json" --image "$IMG" --opts=--no-such-option \
     2>"$work/warn" >"$work/out.json" || ! grep -q "warning: --opts: .*--no-such-option" "$work/warn" ||
   ! grep -q '"value": "--no-such-option"' "$work/out.json"; then
  echo "FAIL: --opts with an unknown option should warn and still patch:"; cat "$work/warn"
  fail=1
fi
[ "$fail" = 0 ] && echo "ok: ${#CASES[@]} golden cases"
exit "$fail"
