#!/usr/bin/env bash
# Foreign rootfs (b): the only libc is musl; the app is built with musl-gcc.
. "$(dirname "$0")/foreign_lib.bash"
command -v musl-gcc >/dev/null || die "musl-gcc missing: install musl-tools (scripts/deps.sh)"
R=$T/root; new_root "$R"; mkdir -p "$R/app" "$R/lib"
musl-gcc -O2 -o "$R/app/foreign_app" "$SRC_DIR/tests/fixtures/foreign_app.c" || die "musl-gcc failed"
interp=$(readelf -l "$R/app/foreign_app" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
[[ "$interp" == /lib/ld-musl-*.so.1 ]] || die "musl app has interpreter '$interp'"
# musl's libc.so is its own dynamic loader: that one file is the whole libc.
cp -L "$interp" "$R$interp"
[ -z "$(find "$R" -name 'libc.so.6' -o -name 'ld-linux*')" ] || die "glibc leaked into the musl root"

echo "--- musl app: fork+exec of itself, exit 4"
expect_run "$R" 4 "$(printf 'app: libc=musl\nchild ok\nparent done')" /app/foreign_app 4
expect_events "$R/tmp/ev.json" "exec=/app/foreign_app:/app/foreign_app 4" \
  "exec=/app/foreign_app:/app/foreign_app child" exit=4

echo "--- exit 0"
expect_run "$R" 0 "$(printf 'app: libc=musl\nchild ok\nparent done')" /app/foreign_app 0
expect_events "$R/tmp/ev.json" "exec=/app/foreign_app:/app/foreign_app 0" exit=0
echo PASS
