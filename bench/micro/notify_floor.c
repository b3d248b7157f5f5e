// notify_floor CMD [ARGS...]: runs CMD under the cheapest possible seccomp
// user-notification supervisor for the create_files probes: write-opens
// (openat with O_WRONLY/O_RDWR/O_CREAT/O_TRUNC) and unlink/unlinkat notify;
// the supervisor reads the path (process_vm_readv) and continues the call,
// with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP where the kernel has it (not with
// VIGIL_NO_SYNC_WAKE_UP=1); NOTIFY_FLOOR_CALLS=exec: execve, execveat and
// mmap(PROT_EXEC) instead (launch_programs, startup). No
// decoding, rules or events: what any notification-based sensor pays at
// least (docs/bench.md, "Floor of a trapped syscall"). NOTIFY_FLOOR_PAD="NAME
// ...": one more rule per syscall named, on an argument value no call passes,
// so that the filter has about the size of vigil's (bench/floor.sh startup pads
// it with the rest of `vigil syscalls`' list: 310 instructions against vigil's
// 285 with the default rules) without trapping more. NOTIFY_FLOOR_BPF=FILE:
// vigil's own filter instead (`vigil syscalls --bpf=FILE [RUN OPTIONS]`), so
// that exactly the calls vigil traps notify; each is answered after one read
// of its first pointer argument: the floor of any workload under vigil's
// filter (bench/floor.sh, bench/bench.py --floor).
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

int main(int argc, char** argv) {
  if (argc < 2) return fprintf(stderr, "usage: notify_floor CMD [ARGS...]\n"), 2;
  // NOTIFY_FLOOR_CALLS=exec: the calls of launch_programs instead.
  const char* which = getenv("NOTIFY_FLOOR_CALLS");
  const int exec_calls = which && strcmp(which, "exec") == 0;
  int up[2], down[2];  // child -> parent: the listener fd number; parent -> child: go
  if (pipe(up) < 0 || pipe(down) < 0) return perror("pipe"), 1;
  // NOTIFY_FLOOR_BPF=FILE: a classic BPF program (struct sock_filter[]).
  struct sock_filter* bpf = NULL;
  unsigned short bpf_len = 0;
  if (getenv("NOTIFY_FLOOR_BPF")) {
    FILE* f = fopen(getenv("NOTIFY_FLOOR_BPF"), "rb");
    if (!f) return fprintf(stderr, "notify_floor: NOTIFY_FLOOR_BPF=%s: %s\n", getenv("NOTIFY_FLOOR_BPF"), strerror(errno)), 2;
    bpf = calloc(BPF_MAXINSNS, sizeof *bpf);
    size_t n = fread(bpf, sizeof *bpf, BPF_MAXINSNS, f);
    fclose(f);
    if (n == 0) return fprintf(stderr, "notify_floor: NOTIFY_FLOOR_BPF: no program (write one with vigil syscalls --bpf=FILE)\n"), 2;
    bpf_len = (unsigned short)n;
  }
  pid_t pid = fork();
  if (pid == 0 && bpf) {
    struct sock_fprog prog = {bpf_len, bpf};
    int fd = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
                 ? -1
                 : (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (fd < 0) perror("notify_floor: loading NOTIFY_FLOOR_BPF"), _exit(126);
    char c;
    if (write(up[1], &fd, sizeof fd) != sizeof fd || read(down[0], &c, 1) != 1) _exit(126);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (exec_calls) {  // what vigil traps per program started: the exec, each library mapped executable
      seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execve), 0);
      seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execveat), 0);
      seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
    } else {
      const int flags[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC};
      for (int i = 0; i < 4; i++)
        seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, flags[i], flags[i]));
      seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(unlink), 0);
      seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(unlinkat), 0);
    }
    const char* pad = getenv("NOTIFY_FLOOR_PAD");
    unsigned long long never = 0x7f1c0ffee0ddf00dULL;  // one value each: libseccomp shares identical tests
    for (char *names = pad ? strdup(pad) : NULL, *save = NULL, *name = names ? strtok_r(names, " ", &save) : NULL; name;
         name = strtok_r(NULL, " ", &save)) {
      int nr = seccomp_syscall_resolve_name(name);
      if (nr == __NR_SCMP_ERROR) fprintf(stderr, "notify_floor: unknown syscall '%s' in NOTIFY_FLOOR_PAD\n", name), _exit(2);
      seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 1, SCMP_A5(SCMP_CMP_EQ, never++));
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0) _exit(126);
    int fd = seccomp_notify_fd(ctx);
    char c;
    if (write(up[1], &fd, sizeof fd) != sizeof fd || read(down[0], &c, 1) != 1) _exit(126);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  close(up[1]);  // EOF if the child fails before it sends the listener
  int child_fd = -1;
  if (pid < 0 || read(up[0], &child_fd, sizeof child_fd) != sizeof child_fd) return fprintf(stderr, "no listener\n"), 1;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int fd = (int)syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
  if (fd < 0) return perror("pidfd_getfd"), 1;
  // SYNC_WAKE_UP (fails harmlessly before 6.6); VIGIL_NO_SYNC_WAKE_UP=1: the
  // floor of a kernel without it (Fargate's 6.1), as vigil's switch does.
  const char* nosync = getenv("VIGIL_NO_SYNC_WAKE_UP");
  if (!nosync || strcmp(nosync, "1") != 0) ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL);
  if (write(down[1], "g", 1) != 1) return 1;
  for (;;) {
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      int st;
      if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      continue;
    }
    char path[256];
    int arg = req.data.nr == SYS_unlink || req.data.nr == SYS_execve ? 0 : 1;
    if (bpf)  // vigil's filter: the first argument that looks like a user pointer
      for (arg = 0; arg < 5 && (req.data.args[arg] < 65536 || req.data.args[arg] >= 0x800000000000ULL); ++arg) {
      }
    struct iovec local = {path, sizeof path}, remote = {(void*)req.data.args[arg], sizeof path};
    if (req.data.nr != SYS_mmap) process_vm_readv((pid_t)req.pid, &local, 1, &remote, 1, 0);
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}
