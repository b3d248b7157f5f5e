// malloc [N]: N malloc/free pairs of 16 B..8 KiB with 64 blocks alive at once.
// Almost no syscalls: checks that the sensor costs nothing on pure user work.
#include <string.h>

#include "osbench.h"

int main(int argc, char** argv) {
  long n = bench_iterations(argc, argv, 20000000);
  enum { kLive = 64 };
  void* live[kLive] = {0};
  unsigned x = 12345;
  double t0 = bench_now();
  for (long i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    size_t size = 16 + (x >> 8) % 8192;
    int slot = (int)(i % kLive);
    free(live[slot]);
    live[slot] = malloc(size);
    BENCH_CHECK(live[slot] != NULL, "malloc");
    ((char*)live[slot])[0] = (char)i;
  }
  double secs = bench_now() - t0;
  for (int i = 0; i < kLive; i++) free(live[i]);
  bench_report(n, secs);
  return 0;
}
