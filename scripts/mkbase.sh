#!/usr/bin/env bash
# Creates (once, cached) a Debian bookworm minbase root filesystem with
# debootstrap, from the Debian mirror this machine's apt sources already use.
#   scripts/mkbase.sh            -> prints the directory of the cached tree
# Cache: $VIGIL_CACHE (default /var/cache/vigil)/bookworm-minbase.
set -euo pipefail
cache=${VIGIL_CACHE:-/var/cache/vigil}
dir=$cache/bookworm-minbase
if [ -f "$dir/.complete" ]; then echo "$dir"; exit 0; fi
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
# The mirror: first http(s) URI of a Debian (non-security) source in apt's config.
mirror=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true) |
  grep -oE 'https?://[^ ]+' | grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true)
[ -n "$mirror" ] || { echo "mkbase: no Debian mirror found in /etc/apt/sources.list{,.d}: add one" >&2; exit 1; }
mkdir -p "$cache"
# Serialise concurrent callers (parallel ctest); the first one builds the tree.
exec 9>"$cache/.mkbase.lock"
flock 9
if [ -f "$dir/.complete" ]; then echo "$dir"; exit 0; fi
rm -rf "$dir.tmp"
debootstrap --variant=minbase bookworm "$dir.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
  { echo "mkbase: debootstrap from $mirror failed, see $cache/debootstrap.log" >&2; tail -5 "$cache/debootstrap.log" >&2; exit 1; }
rm -rf "$dir"
mv "$dir.tmp" "$dir"
touch "$dir/.complete"
echo "$dir"
