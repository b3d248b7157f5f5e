// Connect emulation: see sensor/connector.hpp.
#include "sensor/connector.hpp"

#include <linux/seccomp.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "sensor/guard.hpp"

namespace vigil {

namespace {
// Workers at most: each may wait in a blocking connect (a SYN to a silent
// host: minutes); more connects queue until one is free.
constexpr int kMaxWorkers = 32;

struct Queued {
  uint64_t id;
  Connector::Job run;
  int install = -1;  // >= 0: run's result is an fd to install with these newfd_flags (run_install)
};
}  // namespace

struct Connector::State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Queued> jobs;
  int workers = 0, idle = 0;
  bool stop = false;
  int listener = -1;
  bool owned = false;  // listener is vigil's own copy (else the tracer's: F_DUPFD failed)
  ~State() {
    if (owned) close(listener);
  }
};

namespace {
void answer(int listener, uint64_t id, int64_t result) {
  seccomp_notif_resp resp{};
  resp.id = id;
  if (result < 0) resp.error = int32_t(result);
  else resp.val = result;
  // ENOENT: the caller was killed meanwhile (its socket is connected for nobody).
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    spdlog::warn("answering a performed call: {}", std::strerror(errno));
}

void work(std::shared_ptr<Connector::State> st) {
  std::unique_lock lock(st->mu);
  for (;;) {
    if (st->jobs.empty()) {
      if (st->stop) break;
      ++st->idle;
      st->cv.wait(lock, [&] { return st->stop || !st->jobs.empty(); });
      --st->idle;
      continue;
    }
    Queued j = std::move(st->jobs.front());
    st->jobs.pop_front();
    lock.unlock();
    // All signals are blocked on this thread: no EINTR, and the kernel keeps
    // the socket's own SO_SNDTIMEO and O_NONBLOCK (an open waits for its
    // lease's break as the caller's own would).
    int64_t result = -EIO;
    try {
      result = j.run();
    } catch (const std::exception& e) {  // bad_alloc: vigil's own failure, the call fails
      spdlog::warn("a performed call failed in vigil: {}", e.what());
      result = -ENOMEM;
    }
    j.run = nullptr;  // what it holds (the socket, a file's handle) closed before the answer
    if (j.install >= 0 && result >= 0) {
      // The fd is the answer (ADDFD with SEND); vigil's copy is closed
      // either way. Not installed (ENOENT: the caller was killed meanwhile):
      // the errno is the answer.
      const int err = guard::install_fd(st->listener, j.id, int(result), unsigned(j.install));
      close(int(result));
      if (err) answer(st->listener, j.id, -err);
    } else {
      answer(st->listener, j.id, result);
    }
    lock.lock();
  }
  --st->workers;
}
}  // namespace

Connector::Connector(int listener) : state_(std::make_shared<State>()) {
  state_->listener = fcntl(listener, F_DUPFD_CLOEXEC, 0);
  state_->owned = state_->listener >= 0;
  if (!state_->owned) state_->listener = listener;
}

Connector::~Connector() {
  std::lock_guard lock(state_->mu);
  state_->stop = true;
  state_->cv.notify_all();
}

void Connector::connect(uint64_t id, int sock, const void* addr, uint32_t len) {
  sockaddr_storage ss{};
  const socklen_t n = socklen_t(std::min<size_t>(len, sizeof ss));
  std::memcpy(&ss, addr, n);
  auto owned = std::make_shared<Owned>(sock);
  run(id, [owned, ss, n]() -> int64_t {
    return ::connect(owned->fd, reinterpret_cast<const sockaddr*>(&ss), n) == 0 ? 0 : -errno;
  });
}

void Connector::run(uint64_t id, Job job) { submit(id, std::move(job), -1); }

void Connector::run_install(uint64_t id, Job job, unsigned newfd_flags) { submit(id, std::move(job), int(newfd_flags)); }

void Connector::submit(uint64_t id, Job job, int install) {
  std::unique_lock lock(state_->mu);
  state_->jobs.push_back(Queued{id, std::move(job), install});
  if (state_->idle == 0 && state_->workers < kMaxWorkers) {
    // The worker inherits this thread's mask: everything blocked while it is created.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
      std::thread([s = state_] {
        prctl(PR_SET_NAME, "vigil-connect", 0, 0, 0);
        work(s);
      }).detach();
      ++state_->workers;
    } catch (const std::system_error& e) {
      spdlog::warn("performed calls: no new worker ({}): the call waits for a busy one", e.what());
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (state_->workers == 0) {  // none at all: answered here rather than never
      state_->jobs.pop_back();
      lock.unlock();
      answer(state_->listener, id, -EAGAIN);
      return;
    }
  }
  state_->cv.notify_one();
}

}  // namespace vigil
