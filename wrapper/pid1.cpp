#include "wrapper/pid1.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>

namespace vigil::pid1 {
namespace {

sigset_t g_forwarded;
volatile sig_atomic_t g_target = 0;
volatile sig_atomic_t g_self = 0;
// CLOCK_MONOTONIC seconds of the last SIGTSTP received (0: none since SIGCONT).
volatile sig_atomic_t g_stop_requested = 0;
constexpr int kStopWindowSeconds = 2;

sig_atomic_t monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return sig_atomic_t(ts.tv_sec) + 1;
}

// Synchronous faults are the sensor's own; SIGKILL/SIGSTOP cannot be caught;
// SIGCHLD is how we learn about the app. SIGTTIN/SIGTTOU come from the
// terminal to the whole process group (the app has its own copy); caught,
// they would make a background write to a TOSTOP terminal restart forever.
bool forwardable(int sig) {
  switch (sig) {
    case SIGKILL: case SIGSTOP: case SIGCHLD: case SIGSEGV: case SIGBUS:
    case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS: case SIGTTIN: case SIGTTOU:
      return false;
    default:
      return true;
  }
}

void on_signal(int sig, siginfo_t* info, void*) {
  int saved_errno = errno;
  if (sig == SIGTSTP) g_stop_requested = monotonic_seconds();
  if (sig == SIGCONT) g_stop_requested = 0;
  // Only what a process sent (si_code <= 0: kill, sigqueue, tgkill), never
  // what the kernel raised: SI_KERNEL from the terminal for the whole
  // foreground process group, which the app belongs to (it has its own copy
  // already); and signals about vigil's own files, e.g. the SIGIO of a
  // lease vigil holds on an exec's target, broken by a writer (POLL_MSG:
  // forwarded, its default action would end the app). Not our own pid
  // either: e.g. SIGPIPE from writing to a closed stderr.
  bool forward = info->si_code <= 0 && info->si_pid != g_self && g_target > 0;
  if (forward) {
    if (info->si_code == SI_QUEUE) sigqueue(g_target, sig, info->si_value);
    else kill(g_target, sig);
  }
  errno = saved_errno;
}

}  // namespace

void install() {
  g_self = getpid();
  // Blocked first, then handled: a signal that came between a handler's
  // install and the block would run it before there is an app to forward it
  // to, and be lost (tests/shell/run_signals.sh: a SIGTERM ~12 ms after the
  // start). Blocked, it waits for set_target.
  sigset_t wanted;
  sigemptyset(&wanted);
  for (int sig = 1; sig < NSIG; ++sig)
    if (forwardable(sig) && !(sig > 31 && sig < SIGRTMIN)) sigaddset(&wanted, sig);
  sigprocmask(SIG_BLOCK, &wanted, nullptr);
  sigemptyset(&g_forwarded);
  struct sigaction sa {};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sigismember(&wanted, sig) == 1 && sigaction(sig, &sa, nullptr) == 0) sigaddset(&g_forwarded, sig);
  // (one a handler could not be installed for keeps its action, unblocked again)
  sigset_t failed;
  sigemptyset(&failed);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sigismember(&wanted, sig) == 1 && sigismember(&g_forwarded, sig) != 1) sigaddset(&failed, sig);
  sigprocmask(SIG_UNBLOCK, &failed, nullptr);
}

void set_target(pid_t pid) {
  g_target = pid;
  sigprocmask(SIG_UNBLOCK, &g_forwarded, nullptr);
}

void on_app_stopped(int /*sig*/) {
  // Stop with the app only if we were asked to stop just before (the app
  // stopping is the consequence); kill -STOP to the app alone, or an app that
  // handled an earlier SIGTSTP without stopping, leaves us running.
  sig_atomic_t asked = g_stop_requested;
  g_stop_requested = 0;
  if (!asked || monotonic_seconds() - asked > kStopWindowSeconds) return;
  int self_sig = SIGTSTP;
  struct sigaction dfl {}, old {};
  dfl.sa_handler = SIG_DFL;
  sigaction(self_sig, &dfl, &old);
  kill(getpid(), self_sig);  // stops here until SIGCONT (ignored as PID 1 or in an orphaned group)
  sigaction(self_sig, &old, nullptr);
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace vigil::pid1
