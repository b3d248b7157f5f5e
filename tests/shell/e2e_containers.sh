#!/usr/bin/env bash
# CTest wrapper: sensor image + app containers under podman (tests/e2e/run.sh, docs/e2e.md).
exec bash "${SRC_DIR:-$(dirname "$0")/../..}/tests/e2e/run.sh" containers
