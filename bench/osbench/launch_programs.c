// launch_programs [N [PROGRAM ARGS...]]: posix_spawn PROGRAM (default /bin/true)
// N times, waiting for each. Also used to measure startup latency by launching
// `vigil run -- /bin/true`.
#include <spawn.h>
#include <sys/wait.h>

#include "osbench.h"

extern char** environ;

int main(int argc, char** argv) {
  long n = bench_iterations(argc, argv, 2000);
  char* dflt[] = {"/bin/true", NULL};
  char** prog = argc > 2 ? argv + 2 : dflt;
  double t0 = bench_now();
  for (long i = 0; i < n; i++) {
    pid_t pid;
    int rc = posix_spawn(&pid, prog[0], NULL, NULL, prog, environ);
    if (rc != 0) {
      fprintf(stderr, "launch_programs: cannot start %s (error %d)\n", prog[0], rc);
      return 1;
    }
    int st;
    BENCH_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "launch_programs: %s failed (wait status %d)\n", prog[0], st);
      return 1;
    }
  }
  bench_report(n, bench_now() - t0);
  return 0;
}
