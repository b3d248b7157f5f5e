// Internal to sensor/: connect emulation (docs/design.md, "Connect
// emulation"). Where a loaded rule can block a connect, the tracer does not
// let the kernel re-read the address after the verdict (CONTINUE): it takes
// the caller's socket (pidfd_getfd), and a worker thread of this pool
// connects it to the very bytes that were judged, then answers the
// notification with connect's result (0 or -errno: EINPROGRESS for a
// non-blocking socket, SO_SNDTIMEO's EINPROGRESS/EAGAIN as the kernel gives
// them). A blocking connect waits on a worker, never on the tracer's thread.
// The same pool runs the performed sends and AF_UNIX connects
// (sensor/netcall.hpp) and the performed opens and truncates a lease holds
// (sensor/perform.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <unistd.h>

namespace vigil {

// An fd of vigil's, closed with its holder (a job's captures).
struct Owned {
  int fd;
  explicit Owned(int f) : fd(f) {}
  ~Owned() {
    if (fd >= 0) close(fd);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
};

class Connector {
 public:
  // listener: the seccomp listener (duplicated: the workers answer on their own copy).
  explicit Connector(int listener);
  ~Connector();  // idle workers end; busy ones finish their connect and answer first
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Connects sock (vigil's copy of the caller's socket; taken over, closed
  // when done) to addr (len bytes) and answers notification id with the
  // result. Never blocks the caller; every call submitted is answered.
  void connect(uint64_t id, int sock, const void* addr, uint32_t len);
  // Runs job on a worker (all signals blocked there) and answers
  // notification id with its result: >= 0 the call's return value, < 0
  // -errno. The job owns what it captures (freed unrun if no worker can be
  // had: the call is then answered EAGAIN). The performed sends and AF_UNIX
  // connects (sensor/netcall.hpp).
  using Job = std::function<int64_t()>;
  void run(uint64_t id, Job job);
  // The same for a call whose answer is a new fd of the caller (an open):
  // job's result >= 0 is an fd of vigil's, installed in the caller as the
  // answer (guard::install_fd, newfd_flags: O_CLOEXEC or 0) and then closed
  // (also when the caller was killed meanwhile: nothing stays open).
  void run_install(uint64_t id, Job job, unsigned newfd_flags);

  struct State;

 private:
  void submit(uint64_t id, Job job, int install);
  std::shared_ptr<State> state_;
};

}  // namespace vigil
