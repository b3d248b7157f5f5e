// vigil sinks: event and alert delivery.
#pragma once

namespace vigil {
int cmd_check(int argc, char** argv);
}
