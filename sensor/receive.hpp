// When the tracer looks for more pending notifications before it handles
// the one it just received (docs/design.md, "Signals during a notification").
#pragma once

#include <cstdint>

namespace vigil {

// A notification can only be pending beside the one just received if
// another thread of the app made a trapped call meanwhile. After kStreak
// notifications in a row from one thread, none of whose looks found another
// pending, the look (a poll(0), ~1 us on a VM: one in ten of vigil's system
// calls per trapped call) is skipped until a notification of another thread
// or a look that finds one. What a skipped look would have found is received
// once the current one is answered: only the first call of a newly busy
// thread can wait that long unreceived (an interruptible wait).
class ReceivePolicy {
 public:
  static constexpr unsigned kStreak = 32;

  // A notification of thread tid was just received: look for more pending?
  bool look(int tid) {
    if (tid != last_tid_) last_tid_ = tid, streak_ = 0;
    if (streak_ < kStreak) ++streak_;
    return streak_ < kStreak;
  }
  // The look found another notification pending (or one was already queued).
  void found() { streak_ = 0; }

 private:
  int last_tid_ = 0;
  unsigned streak_ = 0;
};

}  // namespace vigil
