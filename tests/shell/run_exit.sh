#!/usr/bin/env bash
# vigil run is transparent: exit codes, 128+N on signal death, byte-exact
# stdin/stdout/stderr, entrypoint resolution (PATH of the app, relative path,
# "#!" script, 126/127), the app's environment without VIGIL_*.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run() { "$VIGIL" run "$@"; }

# vigil's own exit code is the main process's (waitpid) whether exit_group is
# trapped or not (--exit-codes, docs/events.md).
for mode in async exact; do
  for code in 0 1 3 42 255; do
    set +e; run --exit-codes=$mode -- sh -c "exit $code"; rc=$?; set -e
    [ "$rc" = "$code" ] || fail "exit $code gave $rc (--exit-codes=$mode)"
  done
  for sig in KILL TERM SEGV ABRT; do
    n=$(kill -l "$sig")
    set +e; run --exit-codes=$mode -- sh -c "kill -$sig \$\$"; rc=$?; set -e
    [ "$rc" = $((128 + n)) ] || fail "death by SIG$sig gave $rc, want $((128 + n)) (--exit-codes=$mode)"
  done
done
set +e; run --exit-codes=sometimes -- true 2> "$tmp/e"; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "invalid --exit-codes" "$tmp/e" || fail "bad --exit-codes: rc $rc, $(cat "$tmp/e")"

# stdin -> stdout byte-exact (binary data, no trailing newline); stderr separate.
head -c 200000 /dev/urandom > "$tmp/in"
run --trace=debug -- cat < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
cmp "$tmp/in" "$tmp/out" || fail "stdout differs from stdin"
grep -q "vigil\[" "$tmp/err" || fail "--trace=debug logged nothing on stderr"
run -- sh -c 'printf out; printf err >&2' > "$tmp/o" 2> "$tmp/e"
[ "$(cat "$tmp/o")" = out ] && [ "$(cat "$tmp/e")" = err ] || fail "stdout/stderr not passed through"
VIGIL_OPTS=--trace=debug run --trace=none -- true 2> "$tmp/e"
[ ! -s "$tmp/e" ] || fail "argv --trace=none did not win over VIGIL_OPTS: $(cat "$tmp/e")"

# Signal dispositions and mask are inherited as without vigil (ignored USR1, PIPE default).
native=$(sh -c "trap '' USR1; exec grep -E '^Sig(Ign|Blk)' /proc/self/status")
under=$(sh -c "trap '' USR1; exec \"\$0\" run -- grep -E '^Sig(Ign|Blk)' /proc/self/status" "$VIGIL")
[ "$native" = "$under" ] || fail "signal dispositions differ: native [$native] vigil [$under]"

# Environment: VIGIL_* removed, everything else kept, nothing of vigil added.
env -i PATH=/usr/bin:/bin FOO=bar VIGIL_OPTS=--trace=none VIGIL_X=1 "$VIGIL" run -- env | sort > "$tmp/env"
printf 'FOO=bar\nPATH=/usr/bin:/bin\n' | diff - "$tmp/env" || fail "app environment differs"

# Started the way the ECS patcher starts it (through the dynamic loader with
# --library-path): nothing of the loader or its library path reaches the app.
loader=$(ls /lib64/ld-linux-x86-64.so.2 2>/dev/null || true)
if [ -n "$loader" ]; then
  mkdir -p "$tmp/lib"; cp "$(ldd /bin/sh | awk '/libc.so/ {print $3}')" "$tmp/lib/"
  env -i PATH=/usr/bin:/bin "$loader" --library-path "$tmp/lib" "$VIGIL" run -- env | sort > "$tmp/env"
  printf 'PATH=/usr/bin:/bin\n' | diff - "$tmp/env" || fail "loader start leaked into the app environment"
  "$loader" --library-path "$tmp/lib" "$VIGIL" run -- sh -c 'exec cat /proc/$$/maps' > "$tmp/maps"
  grep -q libc "$tmp/maps" || fail "no libc in the app's maps?"
  ! grep -q "$tmp/lib" "$tmp/maps" || fail "the app loaded a library from vigil's --library-path"
fi

# Resolution: PATH of the app's environment, relative paths, scripts.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho script "$@"\n' > "$tmp/bin/hello"; chmod +x "$tmp/bin/hello"
[ "$(PATH=$tmp/bin:/usr/bin:/bin run -- hello a b)" = "script a b" ] || fail "PATH lookup of a #! script"
[ "$(cd "$tmp" && run -- ./bin/hello rel)" = "script rel" ] || fail "relative path"
printf 'echo x\n' > "$tmp/bin/noexec"
set +e
run -- "$tmp/bin/noexec" 2> "$tmp/e"; rc=$?
[ "$rc" = 126 ] || fail "non-executable file gave $rc, want 126"
PATH=$tmp/bin run -- no-such-program 2> "$tmp/e"; rc=$?
[ "$rc" = 127 ] || fail "missing program gave $rc, want 127"
grep -q "not found" "$tmp/e" || fail "no clear message for a missing program: $(cat "$tmp/e")"
chmod +x "$tmp/bin/noexec"   # executable but no "#!": ENOEXEC, no /bin/sh fallback
run -- "$tmp/bin/noexec" 2> "$tmp/e"; rc=$?
[ "$rc" = 126 ] || fail "ENOEXEC file gave $rc, want 126"
run --trace=loud -- true 2> "$tmp/e"; rc=$?
[ "$rc" = 2 ] && grep -q "invalid --trace" "$tmp/e" || fail "bad option: rc $rc, $(cat "$tmp/e")"
set -e

# Exits no rule and no sink reads (alerts only, no rule on exit events): the
# sensor does not wake up for them while the app is busy and waits on them
# once it has been quiet for a second (docs/design.md section 1): a child
# dying while its app is idle is handled within about 1 s, long before the
# main process ends. With a rule on exit events it is handled at once, with
# its exit code.
cat > "$tmp/noexit.yaml" <<'YAML'
- rule: No exit rule
  desc: d
  condition: evt.type = execve and proc.name = no-such-program
  output: x
  priority: WARNING
YAML
cat > "$tmp/exit.yaml" <<'YAML'
- rule: Exit seen
  desc: d
  condition: evt.type = exit and proc.name = sleep and proc.pid != 0
  output: exited (code=%evt.arg.status)
  priority: WARNING
YAML
for rules in noexit exit; do
  rm -f "$tmp/bg" "$tmp/al"
  run --rules="$tmp/$rules.yaml" --alerts="file:$tmp/al" --trace=debug -- \
    sh -c "sleep 0.2 & echo \$! > $tmp/bg; exec sleep 4" 2> "$tmp/err" &
  vp=$!
  for _ in $(seq 200); do [ -s "$tmp/bg" ] && break; sleep 0.01; done
  bg=$(cat "$tmp/bg") || fail "$rules: the app did not start"
  start=$(date +%s%N) seen=
  while [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ]; do
    grep -q "exit pid=$bg " "$tmp/err" && { seen=$(( ($(date +%s%N) - start) / 1000000 )); break; }
    sleep 0.02
  done
  wait $vp
  [ -n "$seen" ] || fail "$rules: the exit of a child dying while the app was idle was not handled within 3 s"
  echo "$rules: the idle child's exit handled $seen ms after it started (it lived 200 ms)"
  [ $rules = noexit ] || grep -q '"rule":"Exit seen"' "$tmp/al" || fail "exit: no alert of the rule on exit events"
done
echo "ok"
