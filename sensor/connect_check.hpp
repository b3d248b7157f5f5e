// Internal to sensor/: the check of a connect vigil lets through with
// CONTINUE (detect mode, or no loaded rule can block a connect: docs/design.md
// "Connect emulation", "Detect mode"). The kernel reads the sockaddr again
// after the answer, so a thread rewriting it connects elsewhere than vigil
// judged. Before the answer vigil takes the caller's socket (pidfd_getfd: the
// same socket object, whatever the app closes or dup2s afterwards); once the
// kernel has run the connect it reads the socket's true destination
// (getsockopt SO_PEERNAME, which answers in SYN_SENT too) and compares it with
// the address judged. Only AF_INET and AF_INET6 sockets are checked (the
// socket's family, as SO_PEERNAME gives it, never the bytes the app passed).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "events/events.hpp"
#include "probes/probes.hpp"

namespace vigil {

class ConnectCheck {
 public:
  struct Pending {
    int tid = 0, tgid = 0;
    int sock = -1;  // vigil's duplicate of the caller's socket
    sockaddr_storage judged{};
    uint32_t judged_len = 0;  // 0: no address was read
    sockaddr_storage before{};  // the socket's peer before the call (a TCP EISCONN keeps it)
    bool had_before = false;
    NetInfo net;  // the judged event's network part
    int64_t since_ns = 0, next_ns = 0;
  };
  // The socket's true destination differs from the one judged.
  using Report = std::function<void(const Pending&, const Endpoint& truth)>;
  explicit ConnectCheck(Report r) : report_(std::move(r)) {}
  ~ConnectCheck();
  ConnectCheck(const ConnectCheck&) = delete;
  ConnectCheck& operator=(const ConnectCheck&) = delete;

  // Before a CONTINUE of connect(fd, ...) by tid: takes the socket (with
  // pidfd, the tracer's pidfd of tgid, when tid shares its fd table; -1:
  // none) and notes its peer. Returns 0, or vigil's own resource errno
  // (EMFILE, ENFILE, ENOMEM: the caller raises the sensor fault).
  int watch(int pidfd, int tid, int tgid, int fd, const probes::DecodeContext::SockaddrCopy& judged,
            const NetInfo& net);
  // A notification of a thread of tgid (before its own call is handled):
  // the pending checks of tgid are read; from their calling thread the
  // connect is over, so a socket still not connected ends its check.
  void on_notify(int tid, int tgid);
  // tgid is gone: its checks are read a last time.
  void gone(int tgid);
  // Checks with no notification since: read 2 ms after the answer, then at
  // doubling intervals while the socket is not connected, for at most 1 s.
  // Returns the poll timeout (ms) to the next look, -1 if none is pending.
  int sweep();
  bool empty() const { return pending_.empty(); }

  static constexpr size_t kMaxHeld = 256;  // duplicates held at once (beyond: the oldest is read at once)

 private:
  bool check(Pending& p, bool last);  // true: done (the duplicate closed)
  std::vector<Pending> pending_;
  Report report_;
  uint64_t early_ = 0;  // checks ended early by kMaxHeld
  uint64_t unconnected_ = 0;  // checks ended with the socket never seen connected
};

}  // namespace vigil
