#!/usr/bin/env bash
# Sets up podman to build and run vigil's images on this machine, idempotently
# (run as root; used by tests/e2e/run.sh and README "Try it locally with podman"):
#   - installs podman, runc and catatonit (pods' pause image) from Debian
#     (scripts/deps.sh lists them),
#   - writes /etc/containers/containers.conf (runc, rlimits the runtime accepts)
#     unless the machine already has its own,
#   - imports a local debian:bookworm-slim base image built with debootstrap
#     from this machine's apt mirror (scripts/mkbase.sh), so builds need no registry.
# Prints nothing on success when already set up.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
die() { echo "podman-setup: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (podman rootful, debootstrap): rerun with sudo"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v catatonit >/dev/null; then
  bash scripts/deps.sh || die "installing podman/runc failed (scripts/deps.sh)"
fi

# crun fails on some cgroup setups and the default rlimits may exceed the
# container's hard limits: use runc and modest explicit ulimits.
conf=/etc/containers/containers.conf
marker="# written by vigil scripts/podman-setup.sh"
want="$marker
[containers]
default_ulimits = [\"nofile=20000:20000\", \"nproc=1000:1000\"]

[engine]
runtime = \"runc\"
"
if [ ! -e "$conf" ] || head -n1 "$conf" | grep -qxF "$marker"; then
  if [ "$(cat "$conf" 2>/dev/null)" != "$(printf '%s' "$want")" ]; then
    mkdir -p /etc/containers
    printf '%s' "$want" >"$conf.tmp" && mv "$conf.tmp" "$conf"
  fi
else
  echo "podman-setup: keeping existing $conf (not ours); if containers fail to start, set runtime = \"runc\" in [engine]" >&2
fi

# The base image for the Dockerfile's build stage and the Debian test images.
base=docker.io/library/debian:bookworm-slim
if ! podman image exists "$base"; then
  dir=$(bash scripts/mkbase.sh) || die "creating the Debian base tree failed (scripts/mkbase.sh)"
  tar -C "$dir" --exclude=./.complete -c . | podman import --quiet - "$base" >/dev/null ||
    die "podman import of $dir as $base failed"
fi
