// vigil init: install the self-contained rootfs into a task volume.
#pragma once

namespace vigil {
int cmd_init(int argc, char** argv);
}
