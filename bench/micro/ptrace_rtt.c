// ptrace_rtt [N [ROUNDS]]: cost of one sensor stop round-trip, i.e. what the tracer's
// wake-up path costs per traced syscall, for the designs a ptrace/seccomp
// sensor can choose from. The tracee makes N getppid() calls that a seccomp
// filter sends to the tracer; the time per call minus the untraced time per
// call is printed per mode:
//   ptrace     SECCOMP_RET_TRACE stop, tracer waitpid() + PTRACE_CONT (no exit stop)
//   ptrace+spin  same, tracer polls waitpid(WNOHANG) up to 50 us before blocking
//   unotif     SECCOMP_RET_USER_NOTIF, supervisor NOTIF_RECV + NOTIF_SEND(CONTINUE)
//   unotif+sync  same with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux >= 6.6)
// each with tracer and tracee unpinned, pinned to the same CPU, and to two CPUs;
// median and minimum over ROUNDS (default 5) rounds interleaved across modes.
#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

enum Mech { PTRACE, PTRACE_SPIN, UNOTIF, UNOTIF_SYNC };
enum Place { UNPINNED, SAME_CPU, TWO_CPUS };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  if (cpu < 0) {
    for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &s);
  } else {
    CPU_SET(cpu, &s);
  }
  sched_setaffinity(0, sizeof s, &s);
}

static double loop_ns(long n) {
  double t0 = now();
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  return (now() - t0) * 1e9 / (double)n;
}

static void send_fd(int sock, int fd) {
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  char byte = 0;
  struct iovec iov = {&byte, 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(sock, &m, 0) != 1) _exit(3);
}

static int recv_fd(int sock) {
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  char byte;
  struct iovec iov = {&byte, 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  if (recvmsg(sock, &m, 0) != 1) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
  return fd;
}

// Tracee: measure, install the filter, measure again, report the extra ns per call.
static void tracee(enum Mech mech, int cpu, long n, int sock, int out) {
  pin(cpu);
  if (mech == PTRACE || mech == PTRACE_SPIN) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
  }
  double base = loop_ns(n);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  uint32_t act = (mech == PTRACE || mech == PTRACE_SPIN) ? SCMP_ACT_TRACE(0) : SCMP_ACT_NOTIFY;
  if (!ctx || seccomp_rule_add(ctx, act, SCMP_SYS(getppid), 0) || seccomp_load(ctx)) _exit(4);
  if (act == SCMP_ACT_NOTIFY) send_fd(sock, seccomp_notify_fd(ctx));
  double traced = loop_ns(n);
  double extra = traced - base;
  if (write(out, &extra, sizeof extra) != sizeof extra) _exit(5);
  _exit(0);
}

static void run_ptrace(pid_t pid, int spin_us) {
  int st;
  waitpid(pid, &st, 0);  // the SIGSTOP
  ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL);
  ptrace(PTRACE_CONT, pid, 0, 0);
  for (;;) {
    pid_t w = 0;
    if (spin_us > 0) {
      double until = now() + spin_us / 1e6;
      while ((w = waitpid(pid, &st, WNOHANG | __WALL)) == 0 && now() < until) {
      }
    }
    if (w == 0) w = waitpid(pid, &st, __WALL);
    if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st)) return;
    int sig = WIFSTOPPED(st) && WSTOPSIG(st) != SIGTRAP ? WSTOPSIG(st) : 0;
    ptrace(PTRACE_CONT, pid, 0, sig);
  }
}

static int run_unotif(pid_t pid, int sock, int sync) {
  int fd = recv_fd(sock);
  if (fd < 0) return -1;
  if (sync && ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) != 0) {
    kill(pid, SIGKILL);
    close(fd);
    return -1;  // kernel without SYNC_WAKE_UP
  }
  struct seccomp_notif* req;
  struct seccomp_notif_resp* resp;
  if (seccomp_notify_alloc(&req, &resp)) return -1;
  for (;;) {
    memset(req, 0, sizeof *req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR) continue;
      break;  // tracee gone
    }
    memset(resp, 0, sizeof *resp);
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
  }
  seccomp_notify_free(req, resp);
  close(fd);
  return 0;
}

// Returns the extra ns per traced call, or a negative value if unsupported.
static double measure(enum Mech mech, enum Place place, long n) {
  int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (place == TWO_CPUS && cpus < 2) return -1;
  int tracer_cpu = place == UNPINNED ? -1 : 0, tracee_cpu = place == UNPINNED ? -1 : place == SAME_CPU ? 0 : 1;
  int sv[2], pp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(pp)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(pp[0]);
    tracee(mech, tracee_cpu, n, sv[1], pp[1]);
  }
  close(pp[1]);
  close(sv[1]);
  pin(tracer_cpu);
  int rc = 0;
  if (mech == PTRACE || mech == PTRACE_SPIN)
    run_ptrace(pid, mech == PTRACE_SPIN ? 50 : 0);
  else
    rc = run_unotif(pid, sv[0], mech == UNOTIF_SYNC);
  pin(-1);
  double extra = -1;
  if (rc == 0 && read(pp[0], &extra, sizeof extra) != sizeof extra) extra = -1;
  waitpid(pid, NULL, __WALL);
  close(pp[0]);
  close(sv[0]);
  return extra;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  if (n <= 0 || rounds <= 0 || rounds > 99) {
    fprintf(stderr, "usage: ptrace_rtt [N [ROUNDS]]  (N > 0 traced calls per mode, 1..99 rounds)\n");
    return 2;
  }
  const char* mech_names[] = {"ptrace", "ptrace+spin50us", "unotif", "unotif+sync_wake_up"};
  const char* place_names[] = {"unpinned", "same CPU", "two CPUs"};
  enum { kModes = 4 * 3 };
  double us[kModes][99];
  // Rounds are interleaved across modes so load drift spreads over all of them.
  for (int r = 0; r < rounds; r++)
    for (int mode = 0; mode < kModes; mode++) us[mode][r] = measure((enum Mech)(mode / 3), (enum Place)(mode % 3), n) / 1000.0;
  printf("| mechanism | placement | median us per stop | min |\n|---|---|---|---|\n");
  for (int mode = 0; mode < kModes; mode++) {
    qsort(us[mode], (size_t)rounds, sizeof(double), cmp_double);
    if (us[mode][0] < 0)
      printf("| %s | %s | unsupported | |\n", mech_names[mode / 3], place_names[mode % 3]);
    else
      printf("| %s | %s | %.2f | %.2f |\n", mech_names[mode / 3], place_names[mode % 3], us[mode][rounds / 2], us[mode][0]);
  }
  return 0;
}
