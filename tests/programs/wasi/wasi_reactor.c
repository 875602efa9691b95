// A WASI reactor (no main): `_initialize` runs the constructors, then exports are called.
// Built with -mexec-model=reactor (see tests/CMakeLists.txt).
#include <stdio.h>

static int base;

__attribute__((constructor)) static void init(void) {
  base = 1000;
}

__attribute__((export_name("add_base"))) int add_base(int x) {
  printf("add_base(%d)\n", x);
  fflush(stdout);
  return base + x;
}
