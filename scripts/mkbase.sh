#!/usr/bin/env bash
# Creates (once, cached) a Debian bookworm minbase root filesystem with
# debootstrap, from the Debian mirror this machine's apt sources already use.
#   scripts/mkbase.sh                  -> prints the directory of the cached tree
#   scripts/mkbase.sh NAME PKG[,PKG]   -> the same with extra packages, cached as NAME
#   scripts/mkbase.sh NAME PKG[,PKG] ARCH  -> a root of another Debian architecture (arm64):
#                                    debootstrap's second stage runs its binaries through
#                                    qemu-user-static's binfmt_misc entry (scripts/cross-arm64.sh)
# Cache: $VIGIL_CACHE (default /var/cache/vigil)/bookworm-minbase (or NAME).
set -euo pipefail
cache=${VIGIL_CACHE:-/var/cache/vigil}
name=${1:-bookworm-minbase}
include=${2:+--include=$2}
arch=${3:-}
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "mkbase: bad cache name '$name' (letters, digits, . _ -)" >&2; exit 2; }
dir=$cache/$name
if [ -f "$dir/.complete" ]; then echo "$dir"; exit 0; fi
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
# The mirror: first http(s) URI of a Debian (non-security) source in apt's config.
mirror=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true) |
  grep -oE 'https?://[^ ]+' | grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true)
[ -n "$mirror" ] || { echo "mkbase: no Debian mirror found in /etc/apt/sources.list{,.d}: add one" >&2; exit 1; }
mkdir -p "$cache"
# Serialise concurrent callers (parallel ctest); the first one builds the tree.
exec 9>"$cache/.mkbase-$name.lock"
flock 9
if [ -f "$dir/.complete" ]; then echo "$dir"; exit 0; fi
rm -rf "$dir.tmp"
log=$cache/debootstrap-$name.log
archopt=()
if [ -n "$arch" ] && [ "$arch" != "$(dpkg --print-architecture)" ]; then
  qarch=$(case $arch in arm64) echo aarch64 ;; *) echo "$arch" ;; esac)
  grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$qarch" 2>/dev/null ||
    { echo "mkbase: a $arch root needs qemu-user-static's binfmt_misc entry qemu-$qarch (run scripts/cross-arm64.sh as root)" >&2; exit 1; }
fi
[ -z "$arch" ] || archopt=(--arch="$arch")
debootstrap --variant=minbase "${archopt[@]}" $include bookworm "$dir.tmp" "$mirror" >"$log" 2>&1 ||
  { echo "mkbase: debootstrap from $mirror failed, see $log" >&2; tail -5 "$log" >&2; exit 1; }
rm -rf "$dir"
mv "$dir.tmp" "$dir"
touch "$dir/.complete"
echo "$dir"
