// create_threads [N]: create and join N threads, in batches of 10 alive at once.
#include <pthread.h>

#include "osbench.h"

static void* noop(void* arg) { return arg; }

int main(int argc, char** argv) {
  long n = bench_iterations(argc, argv, 20000);
  enum { kBatch = 10 };
  pthread_t t[kBatch];
  double t0 = bench_now();
  long done = 0;
  while (done < n) {
    int k = (n - done) < kBatch ? (int)(n - done) : kBatch;
    for (int i = 0; i < k; i++) BENCH_CHECK(pthread_create(&t[i], NULL, noop, NULL) == 0, "pthread_create");
    for (int i = 0; i < k; i++) pthread_join(t[i], NULL);
    done += k;
  }
  bench_report(n, bench_now() - t0);
  return 0;
}
