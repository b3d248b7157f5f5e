#include "sensor/keeper.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "sensor/guard.hpp"
#include "sensor/sensor.hpp"
#include "sinks/sinks.hpp"

namespace vigil {
namespace {

// Closes every fd from 3 up but those of keep (-1 entries ignored).
void close_all_but(int (&keep)[3]) {
  std::sort(std::begin(keep), std::end(keep));
  auto range = [](int lo, int hi) {
    if (lo > hi) return;
    if (close_range(unsigned(lo), unsigned(hi), 0) == 0) return;
    for (int fd = lo; fd <= std::min(hi, 65535); ++fd) close(fd);  // Linux < 5.9
  };
  int next = 3;
  for (int fd : keep) {
    if (fd < next) continue;
    range(next, fd - 1);
    next = fd + 1;
  }
  range(next, 0x7fffffff);
}

constexpr unsigned kRecoverSeconds = 20;  // bound on writing what vigil left (a few MB of journal)

// One message from the sensor on the keeper's socket: 'l' with the listener
// (SCM_RIGHTS; stored in *listener), 'q' (stand down; an fd with it is
// stored in *handed), or 0 at EOF (the sensor is gone) or on an error.
char receive(int sock, int* listener, int* handed) {
  for (;;) {
    char c = 0;
    iovec iov{&c, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) return 0;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    const bool fd = cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS;
    if (c == 'l') {
      if (!fd || *listener >= 0) return 0;
      std::memcpy(listener, CMSG_DATA(cm), sizeof(int));
    } else if (c == 'q' && fd) {
      std::memcpy(handed, CMSG_DATA(cm), sizeof(int));
    }
    return c;
  }
}

// Stood down with an fd to hold (Keeper::stand_down): everything else is
// closed (the journal's lock is free for the next run at once; stdio: nobody
// waiting for EOF on vigil's output waits for us), then the fd is held until
// the sensor has exited (EOF on rd) and released by this process's exit.
[[noreturn]] void hold_until_sensor_exits(int rd, int handed) {
  int keep[3] = {rd, handed, -1};
  close_all_but(keep);
  for (int fd = 0; fd < 3; ++fd) close(fd);
  for (char c;;) {
    const ssize_t n = read(rd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  _exit(0);
}

// The keeper process. Forked from the sensor (possibly multi-threaded): only
// plain syscalls from here on (no allocation, no locks, no stdio). The
// listener comes later on the socket rd (Keeper::arm) unless given now.
[[noreturn]] void keeper_main(int rd, int listener, const uint64_t* bits, size_t words, volatile int* in_flight,
                              Output* out) {
  // A session of its own: out of the app's job control (^C or ^Z at a
  // terminal is not for us), and in a process group no app process can join
  // (setpgid needs the same session), so kill(0, ...) never reaches us.
  setsid();
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // (inherited from vigil already: sensor/guard.hpp)
  scrub_secrets();  // its copy of vigil's options and VIGIL_* values: /proc/<keeper>/cmdline|environ are readable
  // None of vigil's handlers (they forward signals to the app): default
  // actions, and termination or stop requests ignored.
  struct sigaction act {};
  act.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &act, nullptr);
  act.sa_handler = SIG_IGN;
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGCHLD})
    sigaction(sig, &act, nullptr);
  prctl(PR_SET_NAME, "vigil-keeper", 0, 0, 0);
  int keep[3] = {rd, listener, out ? out->journal_fd() : -1};  // the journal's: its lock, held until the keeper is done
  close_all_but(keep);
  int handed = -1;
  for (char c; (c = receive(rd, &listener, &handed)) != 0;)
    if (c == 'q') {  // stood down
      if (handed >= 0) hold_until_sensor_exits(rd, handed);
      _exit(0);
    }
  static const char msg[] = "vigil: the sensor died: killing the app (fail-closed, see docs/design.md)\n";
  if (write(2, msg, sizeof msg - 1) < 0) {
  }
  if (*in_flight > 0) kill(*in_flight, SIGKILL);
  for (size_t w = 0; w < words; ++w)
    for (uint64_t m = bits[w]; m != 0; m &= m - 1) kill(int(w * 64 + size_t(__builtin_ctzll(m))), SIGKILL);
  // Then the alert of vigil's death and the records it had not delivered,
  // from a child: a journal file the app truncated (SIGBUS) must not take
  // the keeper, which answers the notifications to come, with it. Event
  // records are rendered to JSON there (malloc, nlohmann): the child of this
  // single-threaded process, in which glibc's fork left malloc usable (its
  // locks are reset in the child of a fork); no other lock is taken on that
  // path (no stdio, locale or gmtime), and alarm() ends the child should one
  // held by a vigil thread at the keeper's fork still block it.
  if (out && fork() == 0) {
    alarm(kRecoverSeconds);
    out->recover();
    _exit(0);
  }
  // Processes the sensor had not learnt yet die at their first notified call
  // (no listener yet: the app was not released, it dies with the sensor).
  if (listener < 0) _exit(0);
  for (;;) {
    pollfd p{listener, POLLIN, 0};
    if (poll(&p, 1, -1) < 0) continue;
    if (p.revents & POLLIN) {
      seccomp_notif req;
      std::memset(&req, 0, sizeof req);
      if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
        kill(int(req.pid), SIGKILL);
        seccomp_notif_resp resp;
        std::memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.error = -EPERM;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
      }
    } else if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
      _exit(0);  // no process with the filter is left
    }
  }
}

}  // namespace

Keeper::~Keeper() { stand_down(); }

bool Keeper::map() {
  if (bits_) return true;
  long pid_max = 4194304;  // the kernel's limit
  if (FILE* f = std::fopen("/proc/sys/kernel/pid_max", "r")) {
    if (std::fscanf(f, "%ld", &pid_max) != 1 || pid_max <= 0 || pid_max > 4194304) pid_max = 4194304;
    std::fclose(f);
  }
  words_ = size_t(pid_max) / 64 + 1;
  const size_t bytes = (words_ + 1) * sizeof(uint64_t);  // + the in-flight word
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return false;
  bits_ = static_cast<uint64_t*>(m);  // pages are touched (and count) only where pids are
  in_flight_ = reinterpret_cast<volatile int*>(bits_ + words_);
  return true;
}

void Keeper::set(int pid, bool on) {
  if (pid <= 0 || !map() || size_t(pid) / 64 >= words_) return;
  const uint64_t bit = uint64_t{1} << (pid % 64);
  if (on) bits_[pid / 64] |= bit;
  else bits_[pid / 64] &= ~bit;
}

bool Keeper::start(int listener_fd, std::string* error) {
  if (pipe_ >= 0) close(pipe_);  // a new keeper: the previous one is gone
  pipe_ = -1;
  stood_down_ = false;
  int p[2];
  if (!map() || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) {
    *error = fmt::format("cannot start the keeper (fail-closed if the sensor dies): {}", std::strerror(errno));
    return false;
  }
  if (out_) out_->prepare_recovery(int(getpid()));
  pid_t pid = fork();
  if (pid == 0) {
    close(p[1]);
    keeper_main(p[0], listener_fd, bits_, words_, in_flight_, out_);
  }
  close(p[0]);
  if (pid < 0) {
    close(p[1]);
    *error = fmt::format("cannot start the keeper (fail-closed if the sensor dies): fork: {}", std::strerror(errno));
    return false;
  }
  pipe_ = p[1];
  pid_ = pid;
  armed_ = listener_fd >= 0;
  return true;
}

// One message to the keeper, with fd (SCM_RIGHTS) unless it is -1; false
// (errno set) if it was not sent.
bool Keeper::send_message(char c, int fd) {
  iovec iov{&c, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  }
  ssize_t n;
  do n = pipe_ < 0 ? (errno = EBADF, -1) : sendmsg(pipe_, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1;
}

bool Keeper::arm(int listener_fd, std::string* error) {
  if (armed_) return true;
  if (stood_down_ || !send_message('l', listener_fd)) {
    *error = fmt::format("cannot hand the seccomp listener to the keeper (fail-closed if the sensor dies): {}",
                         pipe_ < 0 || stood_down_ ? "not started" : std::strerror(errno));
    return false;
  }
  armed_ = true;
  return true;
}

std::shared_ptr<Keeper> start_keeper(Output* out, std::string* error) {
  guard::seal_sensor();  // before the fork: the keeper inherits it
  auto k = std::make_shared<Keeper>();
  k->set_output(out);
  if (!k->start(-1, error)) return nullptr;
  return k;
}

bool Keeper::stand_down(int hold) {
  if (pipe_ < 0 || stood_down_) return false;
  stood_down_ = true;
  if (hold >= 0 && send_message('q', hold)) return true;  // pipe_ stays open: closed by this process's exit
  send_message('q', -1);
  close(pipe_);
  pipe_ = -1;
  return false;
}

}  // namespace vigil
