// Internal to sensor/: the check of a connect vigil lets through with
// CONTINUE (detect mode, or no loaded rule can block a connect: docs/design.md
// "Connect emulation", "Detect mode"). The kernel reads the sockaddr again
// after the answer, so a thread rewriting it connects elsewhere than vigil
// judged. Before the answer vigil takes the caller's socket (pidfd_getfd: the
// same socket object, whatever the app closes or dup2s afterwards); once the
// kernel has run the connect it reads the socket's true destination
// (getsockopt SO_PEERNAME, which answers in SYN_SENT too) and compares it with
// the address judged. AF_INET and AF_INET6 sockets are checked by address;
// AF_UNIX sockets (the socket's own family, SO_DOMAIN, never the bytes the
// app passed) by the identity of the file the peer is bound to, as the
// kernel's unix_diag gives it (NETLINK_SOCK_DIAG), against the socket file
// the path judged was resolved to (an abstract name: by the name). Without
// unix_diag (said once in the log) AF_UNIX connects are not checked.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
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
    // AF_UNIX: the judged path as resolved (judged_ino 0: not resolved) or
    // the abstract name read ('@' for NULs); the peer before the call.
    bool unix_sock = false;
    bool accept_wait = false;  // connected, its server has not accepted it yet (identity to come)
    bool judged_abstract = false;  // an abstract name was read (compared as a name)
    std::string judged_name, judged_raw;
    uint64_t judged_dev = 0, judged_ino = 0;
    std::string before_name;
    uint64_t before_dev = 0, before_ino = 0;
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
  // The file the peer of an AF_UNIX socket is bound to (unix_diag): 0 and
  // *dev (as st_dev), *ino (its low 32 bits: what unix_diag keeps); ENOENT:
  // no live peer, or one bound to no file (abstract, unnamed); EOPNOTSUPP:
  // unix_diag unavailable (no module, another network namespace);
  // EINPROGRESS: connected to a socket its server has not accepted yet.
  int peer_file(int sock, uint64_t* dev, uint64_t* ino);
  // Whether unix_diag answers here (a socketpair's peer), for vigil check; *why if not.
  static bool unix_diag_answers(std::string* why);

  static constexpr size_t kMaxHeld = 256;  // duplicates held at once (beyond: the oldest is read at once)

 private:
  // true: done (the duplicate closed). last: the connect is over (an
  // unconnected socket ends its check); final: nothing is waited for any more
  // (an AF_UNIX peer not accepted yet is judged by its name).
  bool check(Pending& p, bool last, bool final);
  int same_unix(const Pending& p, const Endpoint& truth, bool final);
  int diag_ = -2;  // NETLINK_SOCK_DIAG socket; -1: unavailable, -2: not opened yet
  uint32_t seq_ = 0;
  bool other_netns_logged_ = false;
  std::vector<Pending> pending_;
  Report report_;
  uint64_t early_ = 0;  // checks ended early by kMaxHeld
  uint64_t unconnected_ = 0;  // checks ended with the socket never seen connected
};

}  // namespace vigil
