#!/usr/bin/env bash
# The build enforces the layering (CMakeLists.txt vigil_library): each library
# compiles against a view of the directories it may use. Checks that a few
# upward includes do not compile in their library's view, and that the allowed
# ones do (so the failures are the layering, not a broken view).
set -euo pipefail
: "${BUILD_DIR:?}" "${SRC_DIR:?}"
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
views="$BUILD_DIR/views"
fail() { echo "FAIL: $*"; exit 1; }
compiles() {  # VIEW HEADER
  echo "#include \"$2\"" | "$cxx" -std=c++20 -fsyntax-only -DSPDLOG_FMT_EXTERNAL -I "$views/$1" \
    -I "$BUILD_DIR/generated" -x c++ - 2>/dev/null
}
for ok in "probes events/events.hpp" "probes probes/probes.hpp" "rules rules/rules.hpp" "config config/config.hpp" \
          "init config/config.hpp" "patcher config/config.hpp" "sensor sensor/sensor.hpp"; do
  set -- $ok
  compiles "$1" "$2" || fail "$1 cannot include $2 (its own or an allowed library's header)"
done
for bad in "events probes/probes.hpp" "probes sensor/sensor.hpp" "probes rules/rules.hpp" "rules sinks/sinks.hpp" \
           "sinks rules/rules.hpp" "init sensor/sensor.hpp" "patcher sensor/sensor.hpp" "config sensor/sensor.hpp"; do
  set -- $bad
  ! compiles "$1" "$2" || fail "$1 can include $2: the layering is not enforced"
done
echo "ok: each library sees only the libraries it declares"
