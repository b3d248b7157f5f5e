// Internal to sensor/: the fault policy (docs/design.md section 1, "Fault
// policy"). The app is not ptrace-attached, so the kernel does not kill it
// when the sensor dies (PTRACE_O_EXITKILL); its notified syscalls would then
// fail with ENOSYS and break it silently. The keeper is a small process
// forked from the sensor, holding a copy of the filter's listener and
// sleeping on a socket. It is forked early (start_keeper, sensor.hpp: before
// the rules are loaded, while vigil is small, so that its copy-on-write
// sharing of vigil's memory is short) and given the listener later (arm). If the sensor dies without standing it down, the keeper
// SIGKILLs every app process the sensor knew of (a bitmap of pids in shared
// memory), then answers each later notification by killing its caller,
// until no process with the filter is left: fail-closed, never a hang.
// After its kills it writes what the output's journal holds undelivered, and
// a Critical "Sensor died" alert (Output::recover, docs/sinks.md "Durability").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vigil {

class Output;

class Keeper {
 public:
  Keeper() = default;
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;
  ~Keeper();

  // Forks the keeper with a copy of listener_fd (-1: given later by arm()).
  // Call before any track() that matters is lost: tracks made earlier are
  // kept (the map exists from then). Called again after the keeper died: a
  // new one, with the same map.
  bool start(int listener_fd, std::string* error);
  // Hands the listener to a keeper started without one (a no-op if it has
  // one). Until then the keeper, if the sensor dies, kills what it tracks.
  bool arm(int listener_fd, std::string* error);
  // The output whose journal the keeper recovers (set before start).
  void set_output(Output* out) { out_ = out; }
  // The sensor knows of process pid / no longer does.
  void track(int pid) { set(pid, true); }
  void untrack(int pid) { set(pid, false); }
  // The notification being handled comes from thread tid (killed too if the
  // sensor dies before answering it).
  void in_flight(int tid) {
    if (in_flight_) *in_flight_ = tid;
  }
  // The sensor ends normally: the keeper exits without killing anything.
  // With hold >= 0 (an fd whose release is slow: an inotify instance's waits
  // for an SRCU grace period, docs/bench.md "startup, fourth pass"), the keeper takes a copy,
  // closes all else and exits once this process has: the release is then
  // paid by the keeper, which nobody waits for, not by vigil's exit. True if
  // the keeper took it (the caller closes its own copy, a cheap close).
  bool stand_down(int hold = -1);
  int pid() const { return pid_; }

 private:
  bool map();
  bool send_message(char c, int fd);
  void set(int pid, bool on);
  uint64_t* bits_ = nullptr;  // shared with the keeper: bit pid set = an app process
  size_t words_ = 0;
  volatile int* in_flight_ = nullptr;  // shared too (the word after the bitmap)
  int pipe_ = -1;                      // our end of the socket: EOF for the keeper when the sensor dies
  bool armed_ = false;                 // the keeper has the listener
  bool stood_down_ = false;
  int pid_ = -1;
  Output* out_ = nullptr;
};

}  // namespace vigil
