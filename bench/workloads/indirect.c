// Many indirect calls through a table of function pointers, N calls (default 80,000,000).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint32_t (*op_fn)(uint32_t, uint32_t);
static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ (b * 2654435761u); }
static uint32_t op_rot(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)); }
static uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1); }
static uint32_t op_sub(uint32_t a, uint32_t b) { return a - (b >> 3); }

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 80000000;
  op_fn volatile table[8] = {op_add, op_xor, op_rot, op_mul, op_sub, op_xor, op_add, op_rot};
  uint32_t acc = 1, x = 7;
  for (long i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    acc = table[(x >> 28) & 7](acc, x);
  }
  printf("acc %u\n", acc);
  return 0;
}
