// Quicksort of N pseudo-random integers (default 8,000,000); prints a checksum of the order.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void quicksort(int32_t* a, long lo, long hi) {
  while (lo < hi) {
    int32_t pivot = a[lo + (hi - lo) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) ++i;
      while (a[j] > pivot) --j;
      if (i <= j) {
        int32_t t = a[i]; a[i] = a[j]; a[j] = t;
        ++i; --j;
      }
    }
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
  }
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 8000000;
  int32_t* a = malloc(sizeof(int32_t) * n);
  uint32_t x = 2463534242u;
  for (long i = 0; i < n; ++i) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    a[i] = (int32_t)(x % 1000000000u);
  }
  quicksort(a, 0, n - 1);
  uint64_t sum = 0;
  for (long i = 0; i < n; i += 97) sum = sum * 31 + (uint32_t)a[i];
  printf("sorted %ld, checksum %llu, ordered %d\n", n, (unsigned long long)sum, a[0] <= a[n - 1]);
  free(a);
  return 0;
}
