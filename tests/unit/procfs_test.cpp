// probes/procfs: what the tracer learns of processes it did not see being
// created, and of processes that died without exit_group (docs/design.md
// section 1), on both paths: pidfd (Linux 6.13+/6.15+) and /proc.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include <catch2/catch.hpp>

#include "probes/procfs.hpp"

using namespace vigil;

namespace {
std::atomic<int> g_tid{0};
std::atomic<bool> g_stop{false};
void* remember_tid(void*) {
  g_tid = int(syscall(SYS_gettid));
  while (!g_stop) usleep(1000);
  return nullptr;
}
}  // namespace

TEST_CASE("thread_group names a thread's group and the parent, with or without pidfd info", "[procfs]") {
  pthread_t t;
  REQUIRE(pthread_create(&t, nullptr, remember_tid, nullptr) == 0);
  while (g_tid == 0) usleep(1000);
  for (bool pidfd : {true, false}) {
    procfs::use_pidfd_info(pidfd);
    int tgid = 0, ppid = 0;
    REQUIRE(procfs::thread_group(g_tid, &tgid, &ppid));
    CHECK(tgid == getpid());
    CHECK(ppid == getppid());
    REQUIRE(procfs::thread_group(getpid(), &tgid, &ppid));
    CHECK(tgid == getpid());
  }
  procfs::use_pidfd_info(true);
  g_stop = true;
  pthread_join(t, nullptr);
}

TEST_CASE("thread_group reads the ids too, and hands over a pidfd of a leader", "[procfs]") {
  pthread_t t;
  g_tid = 0, g_stop = false;
  REQUIRE(pthread_create(&t, nullptr, remember_tid, nullptr) == 0);
  while (g_tid == 0) usleep(1000);
  procfs::Status own;
  REQUIRE(procfs::read_status(getpid(), &own));
  CHECK(procfs::cap_effective(getpid()) == own.cap_eff);
  for (bool pidfd_info : {true, false}) {
    procfs::use_pidfd_info(pidfd_info);
    int tgid = 0, ppid = 0, pidfd = -2;
    procfs::Status ids;
    REQUIRE(procfs::thread_group(getpid(), &tgid, &ppid, &ids, &pidfd));
    CHECK((ids.uid == own.uid && ids.euid == own.euid && ids.gid == own.gid && ids.egid == own.egid));
    CHECK(ids.ppid == getppid());
    // The /proc path also has the capabilities; a pidfd does not tell them.
    CHECK(ids.cap_eff == (pidfd_info ? -1 : own.cap_eff));
    // Both paths: a pidfd of this process (the /proc path opens it before
    // its read: read_status_pinned).
    REQUIRE(pidfd >= 0);
    pollfd p{pidfd, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0);  // not readable: the process is alive
    close(pidfd);
    // Another thread than the leader: no pidfd (it would not tell the process's exit).
    REQUIRE(procfs::thread_group(g_tid, &tgid, &ppid, &ids, &pidfd));
    CHECK(tgid == getpid());
    CHECK(pidfd == -1);
    // The pidfd path is still taken after a thread's (pidfd_open's errno for
    // one: EINVAL, or ENOENT on recent kernels; before, ENOENT turned it off).
    REQUIRE(procfs::thread_group(getpid(), &tgid, &ppid, &ids, &pidfd));
    CHECK(ids.cap_eff == (pidfd_info ? -1 : own.cap_eff));
    close(pidfd);
  }
  procfs::use_pidfd_info(true);
  g_stop = true;
  pthread_join(t, nullptr);
}

TEST_CASE("the exit status of a process that died by a signal: zombie, then reaped", "[procfs]") {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  REQUIRE(pid > 0);
  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  REQUIRE(pidfd >= 0);
  kill(pid, SIGKILL);  // (not a catchable signal: the child has the test runner's handlers)
  siginfo_t si{};
  REQUIRE(waitid(P_PID, id_t(pid), &si, WEXITED | WNOWAIT) == 0);  // a zombie now
  int status = -1;
  REQUIRE(procfs::read_exit_status(pid, &status));
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  REQUIRE(waitpid(pid, nullptr, 0) == pid);
  CHECK_FALSE(procfs::read_exit_status(pid, &status));  // reaped: not from /proc
  const int reaped = procfs::pidfd_exit_status(pidfd);  // Linux 6.15+; -1 before
  if (reaped != -1) {
    CHECK(WIFSIGNALED(reaped));
    CHECK(WTERMSIG(reaped) == SIGKILL);
  }
  close(pidfd);
}

TEST_CASE("read_status_pinned reads a live process only, and hands over its pidfd", "[procfs]") {
  int go[2];
  REQUIRE(pipe(go) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    char x;
    close(go[1]);
    _exit(read(go[0], &x, 1) == 1 ? 0 : 1);  // waits for the word
  }
  close(go[0]);
  procfs::Status st;
  int pidfd = -2;
  REQUIRE(procfs::read_status_pinned(child, &st, &pidfd));
  CHECK(st.tgid == child);
  CHECK(st.ppid == getpid());
  REQUIRE(pidfd >= 0);
  pollfd p{pidfd, POLLIN, 0};
  CHECK(poll(&p, 1, 0) == 0);
  // Exited, not reaped yet (a zombie holds its pid): not read as alive.
  REQUIRE(write(go[1], "x", 1) == 1);
  CHECK(poll(&p, 1, 5000) == 1);
  close(pidfd);
  pidfd = -2;
  errno = 0;
  CHECK_FALSE(procfs::read_status_pinned(child, &st, &pidfd));
  CHECK(errno == ESRCH);
  CHECK(pidfd == -1);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  // Reaped: gone.
  CHECK_FALSE(procfs::read_status_pinned(child, &st, &pidfd));
  CHECK(errno == ESRCH);
  close(go[1]);
  // A thread other than a leader: read, with no pidfd (its group holds its id).
  pthread_t t;
  g_tid = 0, g_stop = false;
  REQUIRE(pthread_create(&t, nullptr, remember_tid, nullptr) == 0);
  while (g_tid == 0) usleep(1000);
  pidfd = -2;
  REQUIRE(procfs::read_status_pinned(g_tid, &st, &pidfd));
  CHECK(st.tgid == getpid());
  CHECK(pidfd == -1);
  g_stop = true;
  pthread_join(t, nullptr);
}
