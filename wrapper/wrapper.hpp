// vigil wrapper: `vigil run` starts the app's entrypoint under the sensor and
// does PID-1 duty (signal forwarding, reaping, exit status).
#pragma once

namespace vigil {
int cmd_run(int argc, char** argv);
int cmd_syscalls(int argc, char** argv);  // what `vigil run` traps, and why
}
