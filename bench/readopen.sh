#!/usr/bin/env bash
# Measures what trapping read-opens costs (docs/design-probes.md, "Read-opens").
# Usage: [VIGIL=build/vigil] bench/readopen.sh [files=20000] [reps=5]
# Workloads, each run natively and under bench/readopen_trap.c in modes
# none/write/all: `git grep` over a generated tree (every file read-opened),
# python3 importing a few stdlib modules (read-opens of .py/.pyc), and an
# OSBench-style create_files (write-opens: trapped in both write and all).
# Prints the best wall and CPU time per mode and the ratio native/mode ("x").
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

# One run of "$@" in MODE: prints "stops wall cpu" (exit codes ignored: git
# grep -q of a missing word exits 1).
once() {
  "$work/trap" "$@" 2>&1 >/dev/null | sed -n 's/.*stops=\([0-9]*\).*wall=\([0-9.]*\) cpu=\([0-9.]*\)/\1 \2 \3/p' | tail -1 || true
}
MODES=(native none write all)
# VIGIL=path/to/vigil adds the real sensor ("vigil": vigil run -- CMD, timed
# like native, so its CPU includes the sensor and the app).
if [ -n "${VIGIL:-}" ]; then MODES+=(vigil); fi
# Best (lowest) wall and CPU time of REPS runs per mode, the modes interleaved
# within each repetition so that load from other processes hits them alike;
# one warm-up run first. CPU = tracer + tracees, user + system.
run() {
  local name=$1; shift
  local -A wall=() cpu=() stops=()
  once native "$@" >/dev/null
  for _ in $(seq "$REPS"); do
    for mode in "${MODES[@]}"; do
      if [ "$mode" = vigil ]; then read -r n w c < <(once native "$VIGIL" run -- "$@"); else read -r n w c < <(once "$mode" "$@"); fi
      stops[$mode]=$n
      wall[$mode]=$(awk -v a="${wall[$mode]:-1e9}" -v b="$w" 'BEGIN{print (b < a) ? b : a}')
      cpu[$mode]=$(awk -v a="${cpu[$mode]:-1e9}" -v b="$c" 'BEGIN{print (b < a) ? b : a}')
    done
  done
  for mode in "${MODES[@]}"; do
    printf '%-14s %-7s %8.3f %6.2f %8.3f %6.2f %8s\n' "$name" "$mode" "${wall[$mode]}" \
      "$(awk "BEGIN{print ${wall[native]} / ${wall[$mode]}}")" "${cpu[$mode]}" \
      "$(awk "BEGIN{print ${cpu[native]} / ${cpu[$mode]}}")" "${stops[$mode]}"
  done
}
printf '%-14s %-7s %8s %6s %8s %6s %8s\n' workload mode wall_s x cpu_s x stops
run git-grep git -C "$work/tree" grep -q zzz_not_there
run python-import /usr/bin/python3 -S -c 'import json, email.parser, http.client, decimal, asyncio'
run create_files "$work/create_files" "$work/cf"
