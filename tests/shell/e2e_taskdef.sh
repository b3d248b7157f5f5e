#!/usr/bin/env bash
# CTest wrapper: ECS task definitions run with podman by tests/e2e/run-taskdef (docs/e2e.md).
exec bash "${SRC_DIR:-$(dirname "$0")/../..}/tests/e2e/run.sh" taskdef
