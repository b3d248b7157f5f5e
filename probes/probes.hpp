// vigil probes: the single table of traced syscalls. Each row yields the
// seccomp filter rule, the decoder and the event it produces.
#pragma once

namespace vigil {}
