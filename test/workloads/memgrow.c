/* Memory workload with distinctive frames (frame pointers on): allocates anonymous memory in 16 MiB
 * mmap chunks and touches every page (the page faults are what the allocation profiler sees), at a
 * given rate, then holds it. Usage:
 *   memgrow MIB RATE_MIB_PER_S HOLD_SECONDS    — RATE 0: as fast as possible
 * Prints "ready" to stderr once everything is allocated and touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (16UL << 20)

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

__attribute__((noinline)) void autotracing_memgrow_touch(volatile char *p, size_t len) {
  long page = sysconf(_SC_PAGESIZE);
  for (size_t off = 0; off < len; off += page) p[off] = 1;
}

__attribute__((noinline)) void *autotracing_memgrow_chunk(void) {
  void *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  autotracing_memgrow_touch(p, CHUNK);
  return p;
}

__attribute__((noinline)) void autotracing_memgrow(double mib, double rate) {
  double t0 = now_s();
  size_t chunks = (size_t)(mib * (1 << 20) / CHUNK);
  for (size_t i = 0; i < chunks; i++) {
    autotracing_memgrow_chunk();
    if (rate > 0) {
      double due = t0 + (double)(i + 1) * CHUNK / (1 << 20) / rate;
      double wait = due - now_s();
      if (wait > 0) usleep((useconds_t)(wait * 1e6));
    }
  }
}

int main(int argc, char **argv) {
  double mib = argc > 1 ? atof(argv[1]) : 1024;
  double rate = argc > 2 ? atof(argv[2]) : 0;
  double hold = argc > 3 ? atof(argv[3]) : 10;
  autotracing_memgrow(mib, rate);
  fprintf(stderr, "ready\n");
  usleep((useconds_t)(hold * 1e6));
  return 0;
}
