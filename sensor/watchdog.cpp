#include "sensor/watchdog.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "probes/procfs.hpp"

namespace vigil {
namespace {

int64_t now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1000 + t.tv_nsec / 1'000'000;
}

// SIGKILLs thread group tgid through a pidfd (no signal to a reused pid). False if it is gone.
bool kill_process(int tgid) {
  const int pidfd = int(syscall(SYS_pidfd_open, tgid, 0));
  if (pidfd < 0) return errno != ESRCH && kill(tgid, SIGKILL) == 0;  // EMFILE: vigil's own limit, kill anyway
  const bool ok = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0;
  close(pidfd);
  return ok;
}

// Whether process pid holds a userfaultfd with a fault in flight ("total:"
// counts faults read or not by its handler) or a FUSE connection (/dev/fuse).
bool holds_stall_source(int pid) {
  const std::string dir = fmt::format("/proc/{}/fd", pid);
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[64];
    const ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = 0;
    if (std::strcmp(target, "/dev/fuse") == 0) {
      found = true;
    } else if (std::strcmp(target, "anon_inode:[userfaultfd]") == 0) {
      std::string info;
      if (procfs::read_file(fmt::format("/proc/{}/fdinfo/{}", pid, e->d_name), 4096, &info, true))
        if (size_t at = info.find("\ntotal:"); at != std::string::npos && std::atoi(info.c_str() + at + 7) > 0)
          found = true;
    }
    if (found) break;
  }
  closedir(d);
  return found;
}

// Whether thread tid of vigil is running or runnable ('R' in its stat): a
// read that is slow because vigil gets no CPU (a throttled cgroup, a loaded
// host), not one waiting in the kernel ('D', 'S'), is no stall.
bool running(int tid) {
  std::string stat;
  if (!procfs::read_file(fmt::format("/proc/self/task/{}/stat", tid), 1024, &stat, true)) return false;
  const size_t at = stat.rfind(')');
  return at != std::string::npos && at + 2 < stat.size() && stat[at + 2] == 'R';
}

}  // namespace

Watchdog::Watchdog(probes::ReadWatch& watch, int deadline_ms, int own_filters)
    : watch_(watch), deadline_ms_(std::max(deadline_ms, 1)), own_filters_(own_filters) {
  // No signal for this thread: vigil forwards the ones it gets to the app (PID 1).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  thread_ = std::thread([this] {
    prctl(PR_SET_NAME, "vigil-watchdog", 0, 0, 0);
    run();
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void Watchdog::stop_soon() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

Watchdog::~Watchdog() {
  stop_soon();
  // A read stuck for good (stage 3) keeps the tracer, not this thread.
  thread_.join();
}

std::vector<Watchdog::Stall> Watchdog::take() {
  std::lock_guard<std::mutex> l(mu_);
  pending_.store(false, std::memory_order_relaxed);
  return std::exchange(stalls_, {});
}

void Watchdog::run() {
  const auto tick = std::chrono::milliseconds(std::max(deadline_ms_ / 4, 1));
  uint64_t seen = 0;    // the read in progress at the last look
  int64_t since = 0;    // when it was first seen (it started at most a tick earlier)
  int stage = 0;        // actions taken on it
  std::unique_lock<std::mutex> l(mu_);
  while (!cv_.wait_for(l, tick, [this] { return stop_; })) {
    const uint64_t r = watch_.reading.load(std::memory_order_acquire);
    if (probes::ReadWatch::tid_of(r) == 0) {
      seen = 0;
      continue;
    }
    const int64_t now = now_ms();
    if (r != seen) {
      seen = r, since = now, stage = 0;
      continue;
    }
    const int64_t ms = now - since;
    if (ms >= int64_t(deadline_ms_) << stage && stage < 3 && !running(watch_.reader.load(std::memory_order_relaxed))) {
      ++stage;
      l.unlock();
      act(stage, r, ms);
      l.lock();
    }
  }
}

void Watchdog::act(int stage, uint64_t r, int64_t ms) {
  const int tid = probes::ReadWatch::tid_of(r);
  Stall s{tid, ms, {}, {}};
  if (stage == 1) {
    // Whatever the read returns from now on is not the app's memory.
    watch_.ended.store(r, std::memory_order_release);
    procfs::Status st;
    const int tgid = procfs::read_status(tid, &st) ? st.tgid : tid;
    if (watch_.reading.load(std::memory_order_acquire) != r) return;  // it ended meanwhile
    if (kill_process(tgid)) s.killed.push_back(tgid);
    s.what = s.killed.empty() ? fmt::format("its process ({}) is already gone", tgid)
                              : fmt::format("killed process {} (its memory was being read)", tgid);
  } else if (stage == 2) {
    // The stall's source was handed to another process (a userfaultfd or a
    // FUSE server in a child): kill the app's processes that hold one.
    if (DIR* d = opendir("/proc")) {
      while (dirent* e = readdir(d)) {
        const int pid = std::atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        procfs::Status st;  // an app process: more seccomp filters than vigil (and its keeper)
        if (!procfs::read_status(pid, &st) || st.seccomp_filters <= own_filters_) continue;
        if (holds_stall_source(pid) && kill_process(pid)) s.killed.push_back(pid);
      }
      closedir(d);
    }
    s.what = s.killed.empty() ? std::string("no app process holds a userfaultfd with a fault in flight or /dev/fuse")
                              : fmt::format("killed the app processes holding a userfaultfd with a fault in flight "
                                            "or /dev/fuse: {}",
                                            fmt::join(s.killed, ", "));
  } else {
    s.what = "nothing vigil may kill ends it (e.g. a hung hard NFS mount): every trapped call of the app waits";
  }
  spdlog::error("vigil's read of the memory of thread {} has lasted {} ms (deadline {} ms): {}", tid, ms,
                deadline_ms_, s.what);
  std::lock_guard<std::mutex> l(mu_);
  stalls_.push_back(std::move(s));
  pending_.store(true, std::memory_order_relaxed);
}

}  // namespace vigil
