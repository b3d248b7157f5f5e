// Shared helpers for the OSBench-style workloads: each program does N
// operations, timed from inside (so the sensor's startup cost is measured
// separately), and prints one JSON line: {"ops": N, "seconds": S}.
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Parses argv[1] as the iteration count (default `dflt`); exits 2 on bad input.
static inline long bench_iterations(int argc, char** argv, long dflt) {
  if (argc < 2) return dflt;
  char* end = NULL;
  long n = strtol(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0' || n <= 0) {
    fprintf(stderr, "%s: iteration count must be a positive integer, got '%s'\n", argv[0], argv[1]);
    exit(2);
  }
  return n;
}

static inline void bench_report(long ops, double seconds) {
  printf("{\"ops\": %ld, \"seconds\": %.6f}\n", ops, seconds);
  fflush(stdout);
}

#define BENCH_CHECK(cond, what)                 \
  do {                                          \
    if (!(cond)) {                              \
      perror(what);                             \
      exit(1);                                  \
    }                                           \
  } while (0)
