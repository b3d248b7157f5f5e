#!/usr/bin/env bash
# Measures what trapping read-opens costs (docs/design-probes.md, "Read-opens").
# Usage: bench/readopen.sh [files=20000] [reps=5]
# Workloads, each run natively and under bench/readopen_trap.c in modes
# none/write/all: `git grep` over a generated tree (every file read-opened),
# python3 importing a few stdlib modules (read-opens of .py/.pyc), and an
# OSBench-style create_files (write-opens: trapped in both write and all).
set -euo pipefail
FILES=${1:-20000}
REPS=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vigil-readopen.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/trap" "$here/readopen_trap.c" -lseccomp

echo "generating $FILES files..." >&2
python3 - "$work/tree" "$FILES" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
words = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "int", "return", "static"]
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 200), "e%02d" % (i % 17))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.c" % i), "w") as f:
        f.write("\n".join(" ".join(random.choice(words) for _ in range(8)) for _ in range(40)))
PY
( cd "$work/tree" && git init -q && git add -A && git -c user.email=b@b -c user.name=b commit -qm tree )

cat > "$work/create_files.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char** argv) {  /* OSBench create_files: create then unlink N files */
  int n = 5000;
  char p[64];
  for (int i = 0; i < n; i++) { snprintf(p, sizeof p, "%s/f%d", argv[1], i); close(open(p, O_CREAT | O_WRONLY, 0644)); }
  for (int i = 0; i < n; i++) { snprintf(p, sizeof p, "%s/f%d", argv[1], i); unlink(p); }
  return 0;
}
C
cc -O2 -o "$work/create_files" "$work/create_files.c"
mkdir -p "$work/cf"

now() { date +%s.%N; }
# One timed run of "$@" (exit codes ignored: git grep -q of a missing word exits 1).
once() { local a b; a=$(now); "$@" >/dev/null 2>&1 || true; b=$(now); awk "BEGIN{print $b - $a}"; }
stops() { "$work/trap" "$1" "${@:2}" 2>&1 >/dev/null | sed -n 's/.*stops=\([0-9]*\).*/\1/p' | tail -1; }
MODES=(native none write all)
# Best of REPS for each mode, the modes interleaved within each repetition so
# that load from other processes hits them alike; one warm-up run first.
run() {
  local name=$1; shift
  local -A best=()
  once "$@" >/dev/null
  for _ in $(seq "$REPS"); do
    for mode in "${MODES[@]}"; do
      local t
      if [ "$mode" = native ]; then t=$(once "$@"); else t=$(once "$work/trap" "$mode" "$@"); fi
      best[$mode]=$(awk -v a="${best[$mode]:-1e9}" -v b="$t" 'BEGIN{print (b < a) ? b : a}')
    done
  done
  for mode in "${MODES[@]}"; do
    local n=0
    [ "$mode" = native ] || n=$(stops "$mode" "$@")
    printf '%-14s %-7s %9.3f %8.2f %9s\n' "$name" "$mode" "${best[$mode]}" \
      "$(awk "BEGIN{print ${best[native]} / ${best[$mode]}}")" "$n"
  done
}
printf '%-14s %-7s %9s %8s %9s\n' workload mode best_s vs_native stops
run git-grep git -C "$work/tree" grep -q zzz_not_there
run python-import /usr/bin/python3 -S -c 'import json, email.parser, http.client, decimal, asyncio'
run create_files "$work/create_files" "$work/cf"
