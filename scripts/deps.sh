#!/usr/bin/env bash
# Installs everything vigil needs to build and test on Debian 12 (run as root).
# One list, used by the README commands, CI and the Dockerfile's build stage.
# Then the minimal static libcurl (scripts/curl-minimal.sh build: Debian's curl
# source, fetched and built once into $VIGIL_CACHE): the only network access of
# a build; configuring (cmake) only looks it up.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
BUILD_PKGS=(build-essential cmake pkg-config libseccomp-dev libcap-dev libspdlog-dev libfmt-dev
            catch2 nlohmann-json3-dev libyaml-cpp-dev libyaml-dev libre2-dev libcurl4-openssl-dev libssl-dev zlib1g-dev
            ca-certificates)
TEST_PKGS=(python3 openssl busybox-static musl-tools python3-botocore debootstrap util-linux procps git strace wrk docker-registry
           qemu-system-x86 cpio zstd
           podman runc catatonit python3-venv curl make
           sqlite3 wget xxd openssh-client gzip golang-go)  # + the benign corpus's workloads (tests/scenarios)
want=("${BUILD_PKGS[@]}")
if [ "${1:-}" != "--build-only" ]; then
  want+=("${TEST_PKGS[@]}")
  # Node and Rust from Debian unless the machine has its own (NodeSource, rustup).
  command -v npm >/dev/null || want+=(nodejs npm)
  command -v cargo >/dev/null || want+=(cargo)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cd "$(dirname "$0")/.."
bash scripts/curl-minimal.sh build >/dev/null
