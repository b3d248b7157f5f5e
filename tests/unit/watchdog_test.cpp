// The read watchdog (sensor/watchdog.hpp): a read published in a ReadWatch
// for longer than the deadline kills the process read; reads that end in
// time are left alone. (The stalls themselves: tests/shell/memread_stall.sh.)
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <thread>

#include <catch2/catch.hpp>

#include "probes/probes.hpp"
#include "sensor/watchdog.hpp"

using namespace vigil;
using namespace std::chrono_literals;

namespace {
int sleeper() {
  const int pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  return pid;
}
// The child's wait status once it is gone, -1 if it is still there after `for_ms`.
int status_within(int pid, int for_ms) {
  for (int i = 0; i < for_ms; ++i) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) return st;
    std::this_thread::sleep_for(1ms);
  }
  return -1;
}
uint64_t reading(uint64_t n, int tid) { return n << 32 | uint32_t(tid); }
}  // namespace

TEST_CASE("watchdog: a read past the deadline kills the process read and is reported", "[watchdog]") {
  const int pid = sleeper();
  probes::ReadWatch w;
  // INT_MAX filters: no process counts as the app's (stage 2 kills nothing here).
  Watchdog dog(w, 40, INT_MAX);
  const auto t0 = std::chrono::steady_clock::now();
  w.reading.store(reading(1, pid));
  const int st = status_within(pid, 2000);
  const auto took = std::chrono::steady_clock::now() - t0;
  w.reading.store(reading(1, 0));
  REQUIRE(st != -1);
  CHECK(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGKILL);
  CHECK(took >= 40ms);
  CHECK(w.ended.load() == reading(1, pid));  // the read's bytes are not trusted
  for (int i = 0; i < 1000 && !dog.pending(); ++i) std::this_thread::sleep_for(1ms);
  const auto stalls = dog.take();
  REQUIRE(stalls.size() >= 1);
  CHECK(stalls[0].tid == pid);
  CHECK(stalls[0].killed == std::vector<int>{pid});
  CHECK(stalls[0].ms >= 40);
  CHECK_FALSE(dog.pending());
}

TEST_CASE("watchdog: reads that end within the deadline are left alone", "[watchdog]") {
  const int pid = sleeper();
  probes::ReadWatch w;
  Watchdog dog(w, 40, INT_MAX);
  for (uint64_t n = 1; n <= 60; ++n) {  // 60 reads of 5 ms: 300 ms of reading, none long
    w.reading.store(reading(n, pid));
    std::this_thread::sleep_for(5ms);
    w.reading.store(reading(n, 0));
  }
  CHECK(status_within(pid, 50) == -1);
  CHECK_FALSE(dog.pending());
  CHECK(w.ended.load() == 0);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST_CASE("TraceeMemory publishes its reads in the thread's ReadWatch", "[watchdog]") {
  probes::ReadWatch w;
  probes::watch_reads(&w);
  char src[] = "/etc/passwd", dst[sizeof src] = {};
  const probes::TraceeMemory mem(getpid());
  CHECK(mem.read(reinterpret_cast<uint64_t>(src), dst, sizeof src));
  CHECK(std::string(dst) == src);
  CHECK(w.reading.load() == reading(1, 0));  // one read, over
  // A read the watchdog ended counts as unreadable, whatever it returned.
  w.ended.store(reading(2, getpid()));
  CHECK_FALSE(mem.read(reinterpret_cast<uint64_t>(src), dst, sizeof src));
  CHECK(w.reading.load() == reading(2, 0));
  probes::watch_reads(nullptr);
  CHECK(mem.read(reinterpret_cast<uint64_t>(src), dst, sizeof src));
  CHECK(w.reading.load() == reading(2, 0));  // not watched any more
}
