/* A CPU-bound workload with distinctive function names, built with frame pointers, so profiler tests
 * can check user-space unwinding and symbolization (PIE: load bias is applied). Usage:
 *   spinner SECONDS [syscalls]   — "syscalls" adds a getppid() per iteration to mix in kernel time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static int with_syscalls;

__attribute__((noinline)) void autotracing_spin_leaf(void) {
  for (int i = 0; i < 20000; i++) sink += i * 2654435761u;
  if (with_syscalls) syscall(SYS_getppid);
}

__attribute__((noinline)) void autotracing_spin_middle(void) {
  for (int i = 0; i < 10; i++) autotracing_spin_leaf();
}

__attribute__((noinline)) void autotracing_spin_outer(double seconds) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    autotracing_spin_middle();
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 5;
  with_syscalls = argc > 2 && strcmp(argv[2], "syscalls") == 0;
  autotracing_spin_outer(seconds);
  return 0;
}
