// memcpy/memset/memmove-heavy: shuffles blocks of a buffer of 4 MiB, R rounds (default 27000).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 27000;
  const size_t size = 4 << 20;
  uint8_t* a = malloc(size);
  uint8_t* b = malloc(size);
  for (size_t i = 0; i < size; ++i) a[i] = (uint8_t)(i * 7);
  uint32_t x = 99;
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 64; ++k) {
      x = x * 1664525u + 1013904223u;
      size_t len = 1024 + (x >> 20) % 16384;
      size_t from = (x >> 4) % (size - len), to = (x >> 12) % (size - len);
      memcpy(b + to, a + from, len);
      memmove(a + (from / 2), a + from, len);
      memset(b + (to / 3), (int)(x & 0xff), len / 4);
    }
    memcpy(a, b, size / 8);
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < size; i += 61) sum = sum * 131 + a[i] + b[i];
  printf("checksum %llu\n", (unsigned long long)sum);
  free(a);
  free(b);
  return 0;
}
