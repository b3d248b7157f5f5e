// create_files [N [DIR]]: create N files of 1 KiB (open+write+close) in a fresh
// directory under DIR (default /tmp), then unlink them all.
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "osbench.h"

int main(int argc, char** argv) {
  long n = bench_iterations(argc, argv, 20000);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/create_files.XXXXXX", argc > 2 ? argv[2] : "/tmp");
  BENCH_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  char buf[1024];
  memset(buf, 'x', sizeof buf);
  char path[4200];
  double t0 = bench_now();
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    BENCH_CHECK(fd >= 0, "open");
    BENCH_CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf, "write");
    close(fd);
  }
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i);
    BENCH_CHECK(unlink(path) == 0, "unlink");
  }
  double secs = bench_now() - t0;
  rmdir(dir);
  bench_report(n, secs);
  return 0;
}
