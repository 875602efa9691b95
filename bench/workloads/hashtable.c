// Open-addressing hash table: N inserts and 4N lookups of pseudo-random keys (default 4,000,000).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 4000000;
  size_t cap = 1;
  while (cap < (size_t)n * 2) cap <<= 1;
  uint64_t* keys = calloc(cap, sizeof(uint64_t));
  uint32_t* values = calloc(cap, sizeof(uint32_t));
  uint64_t x = 88172645463325252ull;
  for (long i = 0; i < n; ++i) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    uint64_t k = x | 1;
    size_t h = (size_t)(k * 0x9e3779b97f4a7c15ull) & (cap - 1);
    while (keys[h] && keys[h] != k) h = (h + 1) & (cap - 1);
    keys[h] = k;
    values[h] += (uint32_t)i;
  }
  uint64_t found = 0, sum = 0;
  x = 88172645463325252ull;
  for (long i = 0; i < 4 * n; ++i) {
    if (i % 4 == 0) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
    uint64_t k = (i % 4 == 3) ? (x | 1) + 2 : (x | 1);
    size_t h = (size_t)(k * 0x9e3779b97f4a7c15ull) & (cap - 1);
    while (keys[h] && keys[h] != k) h = (h + 1) & (cap - 1);
    if (keys[h] == k) { ++found; sum += values[h]; }
  }
  printf("found %llu, sum %llu\n", (unsigned long long)found, (unsigned long long)sum);
  free(keys);
  free(values);
  return 0;
}
