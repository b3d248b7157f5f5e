#!/usr/bin/env bash
# Foreign rootfs (c): "FROM scratch" holding one static binary and nothing else.
. "$(dirname "$0")/foreign_lib.bash"
R=$T/root; new_root "$R"
cc -static -O2 -o "$R/app" "$SRC_DIR/tests/fixtures/foreign_app.c" || die "static build failed (libc6-dev)"
readelf -l "$R/app" | grep -q INTERP && die "$R/app is not static"
[ "$(find "$R" -type f | wc -l)" -eq 1 ] || die "scratch root holds more than the app: $(find "$R" -type f)"

echo "--- static app: fork+exec of itself, exit 5"
expect_run "$R" 5 "$(printf 'app: libc=glibc\nchild ok\nparent done')" /app 5
expect_events "$R/tmp/ev.json" "exec=/app:/app 5" "exec=/app:/app child" exit=5

echo "--- exit 0"
expect_run "$R" 0 "$(printf 'app: libc=glibc\nchild ok\nparent done')" /app 0
expect_events "$R/tmp/ev.json" "exec=/app:/app 0" exit=0
echo PASS
