// create_processes [N]: fork N children (each exits at once) and wait for each.
#include <sys/wait.h>
#include <unistd.h>

#include "osbench.h"

int main(int argc, char** argv) {
  long n = bench_iterations(argc, argv, 5000);
  double t0 = bench_now();
  for (long i = 0; i < n; i++) {
    pid_t pid = fork();
    BENCH_CHECK(pid >= 0, "fork");
    if (pid == 0) _exit(0);
    int st;
    BENCH_CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  }
  bench_report(n, bench_now() - t0);
  return 0;
}
