#!/usr/bin/env bash
# vigil for arm64 (AWS Graviton), cross-built on an x86_64 Debian 12 (docs/arm64.md).
#   scripts/cross-arm64.sh            install what the cross build needs (root, once; idempotent)
#   scripts/cross-arm64.sh build [DIR]  ... then configure and build vigil, the rootfs and the
#                                       test fixtures in DIR (default build-arm64) with
#                                       cmake/aarch64-linux-gnu.cmake
#   scripts/cross-arm64.sh --no-binfmt  install only, without enabling qemu's binfmt_misc
#                                       entry (the Dockerfile: a container cannot)
# Installs: Debian's cross gcc/g++ for aarch64-linux-gnu, the arm64 -dev packages
# vigil links (multiarch: `dpkg --add-architecture arm64`), qemu-user-static (its
# binfmt_misc entry runs arm64 binaries: debootstrap's second stage of the VM root,
# the Dockerfile's --platform linux/arm64 build), and the minimal static libcurl
# for arm64 (scripts/curl-minimal.sh with VIGIL_CURL_HOST=aarch64-linux-gnu).
# libyaml-cpp-dev is not co-installable across architectures (its arm64 and amd64
# packages conflict): its arm64 package is unpacked into $VIGIL_CACHE/arm64-sysroot
# instead (the toolchain file looks there), so the native build keeps its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
cache=${VIGIL_CACHE:-/var/cache/vigil}
[ "$(dpkg --print-architecture)" = amd64 ] ||
  { echo "cross-arm64: cross-builds from amd64; on $(dpkg --print-architecture) build natively (README)" >&2; exit 2; }

PKGS=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static binfmt-support
      libseccomp-dev:arm64 libcap-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64 libyaml-dev:arm64
      libre2-dev:arm64 libssl-dev:arm64 zlib1g-dev:arm64)
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libyaml-cpp-dev:arm64 and its library package (its CMake targets name the
# shared library next to them), unpacked; the same version as the native one
sysroot=$cache/arm64-sysroot
ver=$(dpkg-query -W -f='${Version}\n' "libyaml-cpp-dev:amd64" 2>/dev/null | head -n1 || true)
if [ ! -f "$sysroot/.complete-yaml-cpp-$ver-2" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/arm64-sysroot.XXXXXX")
  (cd "$tmp" && apt-get download "libyaml-cpp-dev:arm64${ver:+=$ver}" "libyaml-cpp0.7:arm64${ver:+=$ver}" >download.log 2>&1) ||
    { echo "cross-arm64: apt-get download libyaml-cpp-dev:arm64 failed: $(tail -n1 "$tmp/download.log")" >&2; rm -rf "$tmp"; exit 1; }
  for deb in "$tmp"/*_arm64.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  rm -rf "$sysroot" && mv "$tmp/root" "$sysroot" && rm -rf "$tmp"
  touch "$sysroot/.complete-yaml-cpp-$ver-2"
fi

# qemu-user-static's binfmt_misc entry (a container may not have binfmt_misc mounted)
if [ "${1:-}" = --no-binfmt ]; then
  :
elif [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null ||
    echo "cross-arm64: cannot mount binfmt_misc: arm64 binaries will not run here (tests/vm/arm64.sh's root needs them)" >&2
fi
if [ "${1:-}" != --no-binfmt ] && [ -e /proc/sys/fs/binfmt_misc/status ] && ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
  $SUDO update-binfmts --enable qemu-aarch64 || echo "cross-arm64: update-binfmts --enable qemu-aarch64 failed" >&2
fi

VIGIL_CURL_HOST=aarch64-linux-gnu bash scripts/curl-minimal.sh build >/dev/null

[ "${1:-}" = build ] || exit 0
dir=${2:-build-arm64}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$dir" --toolchain "$PWD/cmake/aarch64-linux-gnu.cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$dir" -j"${JOBS:-$(nproc)}" --target vigil rootfs fixtures
echo "$dir/rootfs"
