// Read-open cost probe (docs/design-probes.md): runs a command under a minimal
// ptrace + seccomp(RET_TRACE) tracer that traps open/openat/openat2 either
//   native plain fork+exec, no ptrace (the baseline)
//   none   no filter (ptrace attached, no syscall stops)
//   write  only write-opens, decided in BPF on the flags argument
//   all    every open, the path read with process_vm_readv and compared
//          against a few sensitive prefixes (what a read-open probe must do)
// and prints the number of stops, the wall time and the CPU time of tracer
// plus tracees (CPU time is what a loaded machine makes the least noisy). Build: cc -O2 readopen_trap.c -lseccomp
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int install(const char* mode) {
  if (strcmp(mode, "none") == 0) return 0;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return -1;
  const uint32_t act = SCMP_ACT_TRACE(1);
  if (strcmp(mode, "all") == 0) {
    seccomp_rule_add(ctx, act, SCMP_SYS(open), 0);
    seccomp_rule_add(ctx, act, SCMP_SYS(openat), 0);
    seccomp_rule_add(ctx, act, SCMP_SYS(openat2), 0);
  } else {
    // flags & (O_WRONLY|O_RDWR|O_CREAT|O_TRUNC) != 0, one rule per bit.
    const int bits[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC};
    for (int i = 0; i < 4; i++) {
      seccomp_rule_add(ctx, act, SCMP_SYS(open), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, bits[i], bits[i]));
      seccomp_rule_add(ctx, act, SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, bits[i], bits[i]));
    }
    seccomp_rule_add(ctx, act, SCMP_SYS(creat), 0);
    seccomp_rule_add(ctx, act, SCMP_SYS(openat2), 0);  // how is a pointer: cannot test in BPF
  }
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc;
}

static const char* sensitive[] = {"/etc/shadow", "/etc/sudoers", "/root/.ssh/", "/root/.aws/", NULL};

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s none|write|all CMD [ARGS...]\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t child = fork();
  const int native = strcmp(mode, "native") == 0;
  if (child == 0 && native) {
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    if (install(mode) != 0) {
      perror("seccomp");
      _exit(127);
    }
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  int status;
  long stops = 0, hits = 0;
  int rc = 0;
  if (native) {
    waitpid(child, &status, 0);
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    goto done;
  }
  waitpid(child, &status, 0);
  ptrace(PTRACE_SETOPTIONS, child, 0,
         PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
             PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
  ptrace(PTRACE_CONT, child, 0, 0);
  for (;;) {
    pid_t pid = waitpid(-1, &status, __WALL);
    if (pid < 0) break;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (pid == child) rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      continue;
    }
    int sig = 0;
    int ev = status >> 16;
    if (ev == PTRACE_EVENT_SECCOMP) {
      stops++;
      struct user_regs_struct r;
      ptrace(PTRACE_GETREGS, pid, 0, &r);
      unsigned long addr = r.orig_rax == 257 || r.orig_rax == 437 ? r.rsi : r.rdi;
      char path[256];
      struct iovec local = {path, sizeof path - 1}, remote = {(void*)addr, sizeof path - 1};
      ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
      if (n > 0) {
        path[n] = 0;
        for (const char** s = sensitive; *s; s++)
          if (strncmp(path, *s, strlen(*s)) == 0) hits++;
      }
    } else if (ev == 0 && WIFSTOPPED(status) && WSTOPSIG(status) != SIGTRAP && WSTOPSIG(status) != SIGSTOP) {
      sig = WSTOPSIG(status);
    }
    ptrace(PTRACE_CONT, pid, 0, sig);
  }
done:
  clock_gettime(CLOCK_MONOTONIC, &t1);
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  double cpu = 0;
  struct timeval* tv[] = {&self.ru_utime, &self.ru_stime, &kids.ru_utime, &kids.ru_stime};
  for (int i = 0; i < 4; i++) cpu += tv[i]->tv_sec + tv[i]->tv_usec / 1e6;
  fprintf(stderr, "mode=%s stops=%ld sensitive=%ld wall=%.4f cpu=%.4f\n", mode, stops, hits,
          (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, cpu);
  return rc;
}
