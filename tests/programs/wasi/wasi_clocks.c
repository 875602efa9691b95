// Clocks, sleeping and randomness: prints only facts that hold on every run.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
  int64_t start = ns(CLOCK_MONOTONIC);
  struct timespec sleep = {0, 30 * 1000000};
  nanosleep(&sleep, NULL);
  int64_t slept = ns(CLOCK_MONOTONIC) - start;
  printf("slept at least 30ms: %s\n", slept >= 30000000 ? "yes" : "no");
  printf("slept under 5s: %s\n", slept < 5000000000LL ? "yes" : "no");
  int64_t wall = ns(CLOCK_REALTIME);
  printf("realtime after 2020: %s\n", wall > 1577836800LL * 1000000000 ? "yes" : "no");
  struct timespec res;
  printf("monotonic resolution known: %s\n",
         clock_getres(CLOCK_MONOTONIC, &res) == 0 ? "yes" : "no");
  printf("process cputime readable: %s\n", ns(CLOCK_PROCESS_CPUTIME_ID) >= 0 ? "yes" : "no");
  unsigned char a[32], b[32];
  getentropy(a, sizeof a);
  getentropy(b, sizeof b);
  int zero = 1;
  for (int i = 0; i < 32; ++i) zero &= a[i] == 0;
  printf("random not all zero: %s\n", zero ? "no" : "yes");
  printf("two draws differ: %s\n", memcmp(a, b, sizeof a) ? "yes" : "no");
  return 0;
}
