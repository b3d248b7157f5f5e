// clone3_enosys on|off PROGRAM [ARGS...]: runs PROGRAM under a seccomp filter
// that answers clone3 with ENOSYS (on), as vigil's filter does, or under a
// filter of the same shape that changes nothing (off: kexec_load, which no
// workload calls), and no sensor: the price of glibc's retry with clone by
// itself (docs/bench.md, 2026-12-07 08:25). Pair the two with farm-bench, or
// compare the workload's own seconds:
//   clone3_enosys off build/bench/create_threads 20000
//   clone3_enosys on  build/bench/create_threads 20000
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3 || (strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0)) {
    fprintf(stderr, "usage: clone3_enosys on|off PROGRAM [ARGS...]\n");
    return 2;
  }
  scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
  const int nr = strcmp(argv[1], "on") == 0 ? SCMP_SYS(clone3) : SCMP_SYS(kexec_load);
  if (!c || seccomp_rule_add(c, SCMP_ACT_ERRNO(ENOSYS), nr, 0) != 0 || seccomp_load(c) != 0) {
    fprintf(stderr, "clone3_enosys: cannot load the filter\n");
    return 1;
  }
  seccomp_release(c);
  execvp(argv[2], argv + 2);
  fprintf(stderr, "clone3_enosys: cannot run %s: %s\n", argv[2], strerror(errno));
  return 127;
}
