// Table-driven CRC-32 over a generated buffer of N bytes (default 32 MiB), 8 passes.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : (size_t)32 << 20;
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint8_t* data = malloc(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    data[i] = (uint8_t)(x >> 16);
  }
  uint32_t crc = 0;
  for (int pass = 0; pass < 8; ++pass) {  // each pass continues from the last one's result
    crc ^= 0xffffffffu;
    for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    crc ^= 0xffffffffu;
  }
  printf("crc32 %08x\n", crc);
  free(data);
  return 0;
}
