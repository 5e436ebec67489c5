/* D-state generator: N worker processes, each vforks a child that sleeps; while the child sleeps the
 * worker waits in the kernel (wait_for_vfork_done) in uninterruptible sleep, so it counts in the D-load.
 * Frame pointers on so the off-CPU stacks show the worker's user frames. Usage:
 *   dstate N SECONDS     — N blocked workers for SECONDS, then everyone exits
 * Prints one line per worker to stdout before it blocks: "<pid> <CLOCK_MONOTONIC ns>". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds;

__attribute__((noinline)) void autotracing_dstate_child(void) {
  struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
  /* raw syscalls only: a vforked child shares the parent's memory and stack */
  syscall(SYS_nanosleep, &ts, NULL);
  _exit(0);
}

__attribute__((noinline)) int autotracing_dstate_vfork(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  printf("%d %lld\n", getpid(), (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  fflush(stdout);
  pid_t child = vfork();
  if (child == 0) autotracing_dstate_child();
  return child < 0 ? 1 : 0;
}

__attribute__((noinline)) int autotracing_dstate_worker(void) {
  int rc = autotracing_dstate_vfork();
  wait(NULL);
  return rc;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 4;
  seconds = argc > 2 ? atof(argv[2]) : 10;
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) _exit(autotracing_dstate_worker());
    if (p < 0) {
      perror("fork");
      return 1;
    }
  }
  while (wait(NULL) > 0) {
  }
  return 0;
}
