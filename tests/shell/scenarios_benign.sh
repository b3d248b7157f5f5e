#!/usr/bin/env bash
# The benign suite (tests/scenarios/benign*.sh): everyday workloads under the
# default ruleset raise no alert of priority Warning or above.
#
# The default rules on reads of /etc/shadow and its kin are backed by inotify,
# which cannot tell who opened a file: on a shared host another process (a
# concurrent test, cron, sudo) reading them would be reported during the
# suite, unattributed (docs/threat-model.md). The suite gets its own copies,
# bind-mounted over them in a private mount namespace.
if [ -z "${VIGIL_BENIGN_NS:-}" ] && unshare -m true 2>/dev/null; then
  VIGIL_BENIGN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
if [ -n "${VIGIL_BENIGN_NS:-}" ]; then
  own=$(mktemp -d)
  trap 'rm -rf "$own"' EXIT
  for f in /etc/shadow /etc/gshadow /etc/shadow- /etc/gshadow- /etc/security/opasswd; do
    if [ -f "$f" ]; then
      cp -p "$f" "$own/${f//\//_}" && mount --bind "$own/${f//\//_}" "$f" || { echo "FAIL: cannot bind a copy over $f"; exit 1; }
    fi
  done
fi
SCENARIO_GLOB='benign*' bash "$(dirname "$0")/scenarios.sh"
