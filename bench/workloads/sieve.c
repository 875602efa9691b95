// Sieve of Eratosthenes up to N (default 50,000,000), repeated 3 times; prints the prime count.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 50000000;
  unsigned char* composite = malloc(n + 1);
  unsigned count = 0;
  for (int round = 0; round < 3; ++round) {
    memset(composite, 0, n + 1);
    count = 0;
    for (unsigned i = 2; i <= n; ++i) {
      if (composite[i]) continue;
      ++count;
      for (unsigned long long j = (unsigned long long)i * i; j <= n; j += i) composite[j] = 1;
    }
  }
  printf("primes up to %u: %u\n", n, count);
  free(composite);
  return 0;
}
