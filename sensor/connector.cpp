// Connect emulation: see sensor/connector.hpp.
#include "sensor/connector.hpp"

#include <linux/seccomp.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/ioctl.h>
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

namespace vigil {

namespace {
// Workers at most: each may wait in a blocking connect (a SYN to a silent
// host: minutes); more connects queue until one is free.
constexpr int kMaxWorkers = 32;

struct Job {
  uint64_t id;
  int sock;
  sockaddr_storage addr;
  socklen_t len;
};
}  // namespace

struct Connector::State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> jobs;
  int workers = 0, idle = 0;
  bool stop = false;
  int listener = -1;
  bool owned = false;  // listener is vigil's own copy (else the tracer's: F_DUPFD failed)
  ~State() {
    if (owned) close(listener);
  }
};

namespace {
void answer(int listener, uint64_t id, int err) {
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.error = -err;
  // ENOENT: the caller was killed meanwhile (its socket is connected for nobody).
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
    spdlog::warn("answering an emulated connect: {}", std::strerror(errno));
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
    Job j = st->jobs.front();
    st->jobs.pop_front();
    lock.unlock();
    // All signals are blocked on this thread: no EINTR, and the kernel keeps
    // the socket's own SO_SNDTIMEO and O_NONBLOCK.
    const int err = ::connect(j.sock, reinterpret_cast<const sockaddr*>(&j.addr), j.len) == 0 ? 0 : errno;
    close(j.sock);
    answer(st->listener, j.id, err);
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
  Job j{id, sock, {}, socklen_t(std::min<size_t>(len, sizeof(sockaddr_storage)))};
  std::memcpy(&j.addr, addr, j.len);
  std::unique_lock lock(state_->mu);
  state_->jobs.push_back(j);
  if (state_->idle == 0 && state_->workers < kMaxWorkers) {
    // The worker inherits this thread's mask: everything blocked while it is created.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
      std::thread(work, state_).detach();
      ++state_->workers;
    } catch (const std::system_error& e) {
      spdlog::warn("connect emulation: no new worker ({}): the connect waits for a busy one", e.what());
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (state_->workers == 0) {  // none at all: answered here rather than never
      state_->jobs.pop_back();
      lock.unlock();
      close(sock);
      answer(state_->listener, id, EAGAIN);
      return;
    }
  }
  state_->cv.notify_one();
}

}  // namespace vigil
