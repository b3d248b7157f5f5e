// Internal to sensor/: network calls vigil performs itself so that a verdict
// on a destination rests on the destination the kernel uses (issue 12,
// docs/design.md "Connect emulation"). Where a loaded rule can block the row
// in prevent mode (Judge::enforces), the tracer hands these calls here
// instead of answering CONTINUE:
// - connect (IPv4, IPv6, AF_UNIX sockets): the address read once at
//   decoding is the one connected to; an AF_UNIX path is resolved as the
//   caller first (its root, cwd and credentials: aliases such as a symlink
//   or /proc/self/cwd/... are judged by the socket's own path) and vigil
//   connects through its O_PATH handle of that inode ("/proc/self/fd/N"),
//   with the caller's credentials;
// - sendto, sendmsg, sendmmsg with a destination, on sockets where the
//   kernel uses it (not a stream socket without MSG_FASTOPEN): each
//   destination is judged, and vigil sends the caller's data (read from its
//   memory at the send: content, not the verdict) to the copies judged.
// The call runs on a worker of the Connector (a blocking call waits there,
// never on the tracer's thread) and is answered with the kernel's result
// for vigil's call (connect: 0 or -errno, EINPROGRESS for a non-blocking
// socket; a send: the byte count, or -errno).
#pragma once

#include <cstdint>

#include "events/events.hpp"
#include "probes/probes.hpp"
#include "sensor/perform.hpp"

namespace vigil {
namespace netcall {

using Env = perform::Env;  // with its pool

// A performed network row's call (decoded with ctx.performed): judged,
// performed (or let through where the kernel does not use the destination)
// and answered here, the event emitted unless ctx.quiet and not acted on.
// False: nothing done (no destination was read: the tracer goes on as usual).
bool call(const Env& env, uint64_t id, int tid, int tgid, const probes::SyscallArgs& a, const probes::Probe& row,
          probes::DecodeContext& ctx, Event& ev);

}  // namespace netcall
}  // namespace vigil
