// What one page fault costs on this machine, against the same pages
// populated by one madvise(MADV_POPULATE_WRITE) (Linux 5.14+): the unit of
// vigil's start-up costs (relocation, copy-on-write after a fork, heap
// growth). Usage: fault_cost FILE [PAGES] (FILE: any file of PAGES*2 pages
// or more, e.g. the vigil binary; mapped private, as ld.so maps a program's
// data). Prints one JSON line, microseconds per page (median of 9 rounds).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fault_cost FILE [PAGES]\n");
    return 2;
  }
  const size_t pages = argc > 2 ? (size_t)atol(argv[2]) : 100, page = (size_t)sysconf(_SC_PAGESIZE);
  const int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (size_t)lseek(fd, 0, SEEK_END) < 2 * pages * page) {
    fprintf(stderr, "fault_cost: %s: missing or shorter than %zu pages\n", argv[1], 2 * pages);
    return 2;
  }
  double fault[9], populate[9];
  for (int round = 0; round < 9; ++round) {
    char* a = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char* b = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)(pages * page));
    if (a == MAP_FAILED || b == MAP_FAILED) return 1;
    double t0 = now_us();
    for (size_t i = 0; i < pages; ++i) a[i * page] = 1;  // one write fault per page
    double t1 = now_us();
    if (madvise(b, pages * page, MADV_POPULATE_WRITE) != 0) return 1;
    double t2 = now_us();
    fault[round] = (t1 - t0) / (double)pages, populate[round] = (t2 - t1) / (double)pages;
    munmap(a, pages * page);
    munmap(b, pages * page);
  }
  qsort(fault, 9, sizeof fault[0], cmp);
  qsort(populate, 9, sizeof populate[0], cmp);
  printf("{\"pages\":%zu,\"fault_us\":%.2f,\"populate_us\":%.2f}\n", pages, fault[4], populate[4]);
  return 0;
}
