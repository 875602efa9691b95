// The exports of values.wit, written against the canonical ABI by hand (CanonicalABI.md:
// flattening, MAX_FLAT_RESULTS = 1 so compound results go through a return area, strings as
// utf8 pointer + length). Freestanding: no libc, a bump allocator behind cabi_realloc.
#include <stddef.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))

static unsigned char heap[1 << 20];
static size_t heap_used;

static void* allocate(size_t size, size_t align) {
  heap_used = (heap_used + align - 1) & ~(align - 1);
  if (heap_used + size > sizeof heap) __builtin_trap();
  void* p = heap + heap_used;
  heap_used += size;
  return p;
}

static void copy(void* to, const void* from, size_t n) {
  unsigned char* t = to;
  const unsigned char* f = from;
  while (n--) *t++ = *f++;
}

EXPORT("cabi_realloc")
void* cabi_realloc(void* old, size_t old_size, size_t align, size_t new_size) {
  void* p = allocate(new_size, align);
  if (old) copy(p, old, old_size < new_size ? old_size : new_size);
  return p;
}

// Return areas: results of more than one flat value are stored here and returned by address.
static uint64_t return_area[4];

EXPORT("add") int32_t add(int32_t a, int32_t b) {
  return a + b;
}

// string: (pointer, length in bytes); results spill to (pointer, length) at the return area.
static uint32_t* return_string(const char* text, size_t length) {
  uint32_t* area = (uint32_t*)return_area;
  area[0] = (uint32_t)(uintptr_t)text;
  area[1] = (uint32_t)length;
  return area;
}

EXPORT("greet") uint32_t* greet(const char* name, size_t length) {
  static const char hello[] = "Hello, ";
  char* out = allocate(sizeof hello - 1 + length + 1, 1);
  copy(out, hello, sizeof hello - 1);
  copy(out + sizeof hello - 1, name, length);
  out[sizeof hello - 1 + length] = '!';
  return return_string(out, sizeof hello - 1 + length + 1);
}

EXPORT("sum") uint64_t sum(const uint32_t* xs, size_t count) {
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += xs[i];
  return total;
}

EXPORT("reverse") uint32_t* reverse(const unsigned char* bytes, size_t count) {
  unsigned char* out = allocate(count, 1);
  for (size_t i = 0; i < count; ++i) out[i] = bytes[count - 1 - i];
  return return_string((const char*)out, count);
}

// enum color { red, green, blue }: its case index.
EXPORT("next-color") int32_t next_color(int32_t color) {
  return (color + 1) % 3;
}

// flags permissions { read, write, exec }: one byte, bit i for flag i.
EXPORT("toggle") int32_t toggle(int32_t permissions, int32_t flip) {
  return (permissions ^ flip) & 7;
}

// record point { x: s32, y: s32, label: option<string> } flattens to x, y, the option's case,
// and the string's pointer and length; stored: x @0, y @4, case @8, pointer @12, length @16.
EXPORT("translate")
uint32_t* translate(int32_t x, int32_t y, int32_t has_label, const char* label, size_t length,
                    int32_t dx, int32_t dy) {
  uint32_t* area = (uint32_t*)return_area;
  area[0] = (uint32_t)(x + dx);
  area[1] = (uint32_t)(y + dy);
  area[2] = has_label ? 1 : 0;
  area[3] = has_label ? (uint32_t)(uintptr_t)label : 0;
  area[4] = has_label ? (uint32_t)length : 0;
  return area;
}

// variant shape { circle(f64), rect(point), empty }: the case, then the joined payload slots
// (f64 joined with i32 is i64; the rest of point's slots are i32).
EXPORT("area")
double area(int32_t which, int64_t first, int32_t y, int32_t has_label, int32_t label,
            int32_t length) {
  (void)has_label, (void)label, (void)length;
  switch (which) {
    case 0: {
      double radius;
      copy(&radius, &first, sizeof radius);
      return 3.0 * radius * radius;
    }
    case 1: {
      const double area = (double)(int32_t)first * (double)y;
      return area < 0 ? -area : area;
    }
    default:
      return 0;
  }
}

// result<u32, string>: case @0, then u32 @4 or the string's pointer @4 and length @8.
EXPORT("parse-number") uint32_t* parse_number(const char* text, size_t length) {
  uint32_t* area = (uint32_t*)return_area;
  uint64_t value = 0;
  int ok = length > 0;
  for (size_t i = 0; i < length && ok; ++i) {
    if (text[i] < '0' || text[i] > '9') ok = 0;
    value = value * 10 + (uint64_t)(text[i] - '0');
    if (value > 0xffffffffu) ok = 0;
  }
  if (ok) {
    area[0] = 0;
    area[1] = (uint32_t)value;
    return area;
  }
  static const char message[] = "not a u32: ";
  char* out = allocate(sizeof message - 1 + length, 1);
  copy(out, message, sizeof message - 1);
  copy(out + sizeof message - 1, text, length);
  area[0] = 1;
  area[1] = (uint32_t)(uintptr_t)out;
  area[2] = (uint32_t)(sizeof message - 1 + length);
  return area;
}

// option<char>: case @0, the code point @4 (decoded from the utf8 the string arrived in).
EXPORT("first-char") uint32_t* first_char(const unsigned char* text, size_t length) {
  uint32_t* area = (uint32_t*)return_area;
  if (length == 0) {
    area[0] = 0;
    return area;
  }
  uint32_t c = text[0];
  size_t extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
  c &= extra == 3 ? 0x07 : extra == 2 ? 0x0f : extra == 1 ? 0x1f : 0x7f;
  for (size_t i = 1; i <= extra; ++i) c = (c << 6) | (text[i] & 0x3f);
  area[0] = 1;
  area[1] = c;
  return area;
}

EXPORT("halve") float halve(float x) {
  return x / 2;
}

// tuple<u8, s64> in; tuple<s64, u8> out: s64 @0, u8 @8.
EXPORT("swap") uint64_t* swap(int32_t a, int64_t b) {
  return_area[0] = (uint64_t)b;
  return_area[1] = (uint8_t)a;
  return return_area;
}

// list<string>: a list of (pointer, length) pairs.
EXPORT("words") uint32_t* words(const char* text, size_t length) {
  size_t count = 0;
  for (size_t i = 0; i < length; ++i) {
    if (text[i] != ' ' && (i == 0 || text[i - 1] == ' ')) ++count;
  }
  uint32_t* list = allocate(count * 8, 4);
  size_t k = 0;
  for (size_t i = 0; i < length; ++i) {
    if (text[i] == ' ' || (i > 0 && text[i - 1] != ' ')) continue;
    size_t end = i;
    while (end < length && text[end] != ' ') ++end;
    list[2 * k] = (uint32_t)(uintptr_t)(text + i);
    list[2 * k + 1] = (uint32_t)(end - i);
    ++k;
  }
  return return_string((const char*)list, count);
}

EXPORT("is-even") int32_t is_even(uint64_t n) {
  return (n & 1) == 0;
}
