// Internal to probes/: the exec event, in one room (probes/exec.cpp). An
// execve or execveat entry notification (its row: probes.cpp) becomes the
// exec event before the kernel runs anything, so that a verdict can still
// deny the call or kill the process (docs/design.md section 1).
#pragma once

#include "probes/probes.hpp"

namespace vigil::probes {

// Executables larger than this are not hashed (sha256 stays empty): hashing
// happens on the tracer thread, while the exec waits where its verdict can
// act, else just after its answer (DecodeContext::exec_hash_later).
inline constexpr long long kHashMaxBytes = 64LL << 20;

namespace dec {
// ev->proc (the caller, set by the tracer) becomes the process as it will be
// after the exec: exe (links followed; a "#!" script's interpreter), argv,
// ids, cwd, tty, SHA-256, drift; evt.type execve or execveat. ctx.drop if the
// target cannot be opened (no event: that exec fails by itself, e.g. a
// shell's PATH search).
void execve(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
void execveat(const SyscallArgs&, const TraceeMemory&, DecodeContext&, Event*);
}  // namespace dec

}  // namespace vigil::probes
