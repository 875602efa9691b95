// What the test commands written against the canonical ABI by hand share (tcp_loopback.c,
// http_fetch.c): the import attribute, a return area, cabi_realloc over a static bump heap (an
// instance runs one command), and printing to wasi:cli/stdout. Freestanding: no libc.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

// Return areas: results with more than one flat value come back through memory
// (CanonicalABI.md, MAX_FLAT_RESULTS = 1). 8-aligned, large enough for every result used.
typedef struct {
  _Alignas(8) uint8_t bytes[64];
} ReturnArea;

IMPORT("wasi:cli/stdout@0.2.12", "get-stdout") int32_t get_stdout(void);
IMPORT("wasi:io/streams@0.2.12", "[method]output-stream.blocking-write-and-flush")
void stream_write(int32_t self, const uint8_t* bytes, size_t len, ReturnArea* out);
IMPORT("wasi:io/streams@0.2.12", "[resource-drop]output-stream") void drop_output(int32_t handle);

static uint8_t heap[1 << 16];
static size_t heap_used;

__attribute__((export_name("cabi_realloc"))) void* cabi_realloc(void* old, size_t old_size,
                                                                size_t align, size_t new_size) {
  (void)old;
  (void)old_size;
  size_t p = (heap_used + align - 1) & ~(align - 1);
  if (p + new_size > sizeof heap) __builtin_trap();
  heap_used = p + new_size;
  return heap + p;
}

static inline size_t length(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

// Writes at most 4096 bytes (blocking-write-and-flush's bound) to stdout.
static inline void print_bytes(const uint8_t* bytes, size_t n) {
  ReturnArea r;
  const int32_t out = get_stdout();
  stream_write(out, bytes, n, &r);
  drop_output(out);
}

static inline void print(const char* text) {
  print_bytes((const uint8_t*)text, length(text));
}

// Prints `what` and `n` in decimal, then a newline.
static inline void print_number(const char* what, uint32_t n) {
  char digits[12];
  int i = sizeof digits - 1;
  digits[i] = 0;
  do {
    digits[--i] = (char)('0' + n % 10);
    n /= 10;
  } while (n);
  print(what);
  print(digits + i);
  print("\n");
}
