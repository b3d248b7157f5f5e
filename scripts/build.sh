#!/usr/bin/env bash
# Configures and builds vigil into ./build (binary: build/vigil, rootfs: build/rootfs).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
