#!/usr/bin/env bash
# The benign suite (tests/scenarios/benign*.sh): everyday workloads under the
# default ruleset raise no alert of priority Warning or above.
SCENARIO_GLOB='benign*' exec bash "$(dirname "$0")/scenarios.sh"
