#!/usr/bin/env bash
# bench/run.sh --quick runs every workload (tiny sizes) natively and under vigil,
# with and without SYNC_WAKE_UP (VIGIL_NO_SYNC_WAKE_UP=1), and produces the
# results table and files, so the bench scripts do not rot; --floor adds the
# floor columns (vigil's filter answered at once).
# The figures are meaningless here; performance is measured by bench/run.sh.
set -euo pipefail
: "${SRC_DIR:?}" "${BUILD_DIR:?}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Bad input: one clear error line, non-zero exit.
if BUILD_DIR="$BUILD_DIR" bash "$SRC_DIR/bench/run.sh" --quick --only no_such_workload >"$tmp/out" 2>"$tmp/err"; then
  echo "FAIL: --only with an unknown name succeeded"; exit 1
fi
grep -q "unknown workload 'no_such_workload'" "$tmp/err" || { echo "FAIL: unclear error:"; cat "$tmp/err"; exit 1; }

BUILD_DIR="$BUILD_DIR" bash "$SRC_DIR/bench/run.sh" --quick --results "$tmp/results" --workdir "$tmp/work" \
  >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: bench/run.sh --quick exited $?"; cat "$tmp/out" "$tmp/err"; exit 1; }

grep -qF '| workload | unit | native | vigil 6.6+ | ratio (min-max) | vigil without SYNC_WAKE_UP (Fargate 6.1) | ratio (min-max) |' "$tmp/out" ||
  { echo "FAIL: no table with both vigil columns"; cat "$tmp/out"; exit 1; }
for w in create_threads create_processes launch_programs create_files malloc build git_grep http startup; do
  # each row has a positive native figure
  grep -Eq "^\| $w \| [^|]+ \| [0-9.e+-]+ \|" "$tmp/out" || { echo "FAIL: no native figure for $w"; cat "$tmp/out"; exit 1; }
done
grep -q '^Machine: [0-9]* CPUs' "$tmp/out" || { echo "FAIL: no machine description"; exit 1; }
ls "$tmp"/results/*-quick.md "$tmp"/results/*-quick.json >/dev/null
python3 - "$tmp"/results/*-quick.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["workloads"]) == 9, r["workloads"]
# The 6.6+ column runs where the kernel has SYNC_WAKE_UP, and says why not elsewhere.
vigil_cols = ["nosync"] + ([] if "SYNC_WAKE_UP" in r["unavailable"].get("vigil", "") else ["vigil"])
for w in r["workloads"]:
    assert w["columns"]["native"]["median"] > 0, w
    for col in vigil_cols:
        c = w["columns"][col]
        assert c["median"] > 0 and not c["error"], (col, w)
        assert ("delta_ms" if w["name"] == "startup" else "ratio") in c, (col, w)
assert r["machine"]["nproc"] >= 1
PY
# --floor: vigil's own filter (vigil syscalls --bpf) under bench/micro/notify_floor, both columns.
BUILD_DIR="$BUILD_DIR" bash "$SRC_DIR/bench/run.sh" --quick --floor --only create_files,startup --results "$tmp/floor" \
  --workdir "$tmp/work" >"$tmp/out2" 2>"$tmp/err2" || { echo "FAIL: --floor exited $?"; cat "$tmp/out2" "$tmp/err2"; exit 1; }
grep -qF '| floor 6.1 |' "$tmp/out2" || { echo "FAIL: no floor column"; cat "$tmp/out2"; exit 1; }
python3 - "$tmp"/floor/*-quick.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for w in r["workloads"]:
    c = w["columns"]["floor_nosync"]
    assert c["median"] > 0 and not c["error"] and ("delta_ms" if w["name"] == "startup" else "ratio") in c, w
PY
echo "bench smoke: ok"
cat "$tmp/out"
