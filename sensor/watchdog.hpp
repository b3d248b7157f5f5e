// Internal to sensor/: the read watchdog (docs/design.md, "Stalled reads").
// The tracer reads the app's memory on its one thread (process_vm_readv):
// a page the app backs with a userfaultfd that holds kernel-mode faults, or
// a file page on a hung filesystem, would hold that read, and with it every
// trapped syscall of the whole app. The tracer publishes each read in a
// probes::ReadWatch (no cost but two stores); this thread looks at it every
// deadline/4 and ends a read in progress for longer than the deadline, while
// the reading thread waits in the kernel (not while it is only short of CPU):
//   1. it kills the process whose memory is read (the read then returns:
//      the userfaultfd's last holder is gone; the read counts as unreadable);
//   2. a deadline later, still the same read: it kills every app process
//      that holds a userfaultfd with a fault in flight or a /dev/fuse
//      connection (a uffd or FUSE server handed to another process);
//   3. still stuck (a hard NFS mount: nothing vigil may kill frees it): it
//      says so in the log, once (docs/threat-model.md).
// Each action is reported to the tracer (take()), which raises the alert.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "probes/probes.hpp"

namespace vigil {

class Watchdog {
 public:
  // own_filters: seccomp filters on vigil itself (an app process has more).
  Watchdog(probes::ReadWatch& watch, int deadline_ms, int own_filters);
  ~Watchdog();  // stops and joins the thread
  // Asks the thread to end (no more reads to watch) without waiting for it:
  // its exit then overlaps whatever comes before the destructor's join.
  void stop_soon();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  struct Stall {
    int tid = 0;          // whose memory was being read
    int64_t ms = 0;       // how long the read had lasted
    std::vector<int> killed;  // processes killed (thread group ids)
    std::string what;     // what was done, for the alert
  };
  // Something to report (cheap: one relaxed load).
  bool pending() const { return pending_.load(std::memory_order_relaxed); }
  std::vector<Stall> take();
  int deadline_ms() const { return deadline_ms_; }

 private:
  void run();
  void act(int stage, uint64_t reading, int64_t ms);

  probes::ReadWatch& watch_;
  const int deadline_ms_;
  const int own_filters_;
  std::atomic<bool> pending_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<Stall> stalls_;
  std::thread thread_;
};

}  // namespace vigil
