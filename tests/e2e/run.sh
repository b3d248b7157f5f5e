#!/usr/bin/env bash
# End-to-end tests in real containers (podman, runc, the default seccomp
# profile, a read-only task volume, SYS_PTRACE and nothing more).
#   tests/e2e/run.sh images       set up podman, build the sensor image from the
#                                 Dockerfile and the four app images
#   tests/e2e/run.sh containers   images + tests/e2e/containers.py
#   tests/e2e/run.sh taskdef      images + tests/e2e/taskdef.py (run-taskdef)
#   tests/e2e/run.sh [all]        both
# Needs root (rootful podman). Exit 77 = skipped (a missing piece, named).
# Docs: docs/e2e.md.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
E2E=$SRC/tests/e2e
part=${1:-all}
case $part in images|containers|taskdef|all) ;; *) echo "usage: $0 [images|containers|taskdef|all]" >&2; exit 2 ;; esac
skip() { echo "SKIP: $*"; exit 77; }
die() { echo "e2e: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "the e2e tests need root (rootful podman); run as root"

export PYTHONDONTWRITEBYTECODE=1  # keep the source tree clean
export VIGIL_E2E_IMAGE=${VIGIL_E2E_IMAGE:-localhost/vigil:e2e}
export VIGIL_E2E_APP_PREFIX=localhost/vigil-e2e
work=$(mktemp -d /tmp/vigil-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT

build_images() {
  local t0=$SECONDS
  bash "$SRC/scripts/podman-setup.sh"
  # The sensor image, from the Dockerfile users build (layer and ccache caches
  # make a rebuild after a source change cheap).
  local version revision=""
  version=$(sed -n 's/^project(vigil VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
  revision=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || true)
  # The build stage gets a tag so that pruning dangling images (old build
  # layers) keeps it and its parent, the deps stage, cached.
  if ! { podman build --pull=never --layers --target build -t "$VIGIL_E2E_APP_PREFIX/build" \
           --build-arg VERSION="$version" "$SRC" &&
         podman build --pull=never --layers -t "$VIGIL_E2E_IMAGE" --build-arg VERSION="$version" \
           --build-arg REVISION="$revision" "$SRC"; } >"$work/build.log" 2>&1; then
    if grep -qE "No rule to make target '?rootfs|unknown target '?rootfs" "$work/build.log"; then
      # Tests that need the sensor image skip; the others still run.
      export VIGIL_E2E_NO_SENSOR="the build has no 'rootfs' target yet (vigil init's rootfs): no sensor image"
      echo "e2e: $VIGIL_E2E_NO_SENSOR"
    else
      tail -30 "$work/build.log" >&2
      die "podman build of the sensor image failed (log above)"
    fi
  else
    echo "e2e: sensor image $VIGIL_E2E_IMAGE built in $((SECONDS - t0)) s"
  fi

  # The app: one program, linked three ways.
  local ctx=$work/ctx
  mkdir -p "$ctx"
  gcc -O2 -Wall -o "$ctx/app-glibc" "$E2E/app.c"
  gcc -O2 -Wall -static -o "$ctx/app-static" "$E2E/app.c"
  musl-gcc -O2 -Wall -o "$ctx/app-musl" "$E2E/app.c"
  readelf -l "$ctx/app-musl" | grep -q 'interpreter: /lib/ld-musl-x86_64.so.1' ||
    die "musl-gcc did not link app-musl against the musl loader"
  cp /lib/ld-musl-x86_64.so.1 /bin/busybox "$E2E/images/helloworld.py" "$ctx/"
  printf 'root:*:19000:0:99999:7:::\n' >"$ctx/shadow"
  chmod 0640 "$ctx/shadow"
  local img
  for img in debian busybox musl static; do
    podman build --pull=never --layers -t "$VIGIL_E2E_APP_PREFIX/$img" -f "$E2E/images/$img.Containerfile" "$ctx" \
      >"$work/$img.log" 2>&1 || { tail -20 "$work/$img.log" >&2; die "podman build of the $img app image failed (tests/e2e/images/$img.Containerfile)"; }
  done
  podman image prune -f >/dev/null
  echo "e2e: images ready in $((SECONDS - t0)) s"
}

# One build at a time (ctest may run the e2e tests in parallel).
exec 9>/var/lock/vigil-e2e.lock
flock 9
build_images
flock -u 9

rc=0
run_part() {
  local t0=$SECONDS r=0
  python3 "$E2E/$1.py" || r=$?
  echo "e2e: $1 took $((SECONDS - t0)) s (exit $r)"
  if [ $r -ne 0 ] && { [ $rc -eq 0 ] || [ $rc -eq 77 ]; }; then rc=$r; fi
}
case $part in
  containers|taskdef) run_part "$part" ;;
  all) run_part containers; run_part taskdef ;;
esac
exit $rc
