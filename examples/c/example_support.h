/* What every example needs: reading a module file and reporting failures. */
#ifndef KILN_EXAMPLE_SUPPORT_H
#define KILN_EXAMPLE_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>

#include "kiln.h"
#include "wasm.h"

/* Exits with status 1 after printing what failed and kiln's explanation. */
static inline void check(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "error: %s: %s\n", what, kiln_last_error_message());
    exit(1);
  }
}

/* Reads the file at `path` into `out` (owned by the caller). */
static inline void read_module_file(const char* path, wasm_byte_vec_t* out) {
  FILE* file = fopen(path, "rb");
  check(file != NULL, path);
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  wasm_byte_vec_new_uninitialized(out, (size_t)size);
  check(fread(out->data, 1, (size_t)size, file) == (size_t)size, "reading the module");
  fclose(file);
}

/* Compiles the module at `path` in `store`. */
static inline wasm_module_t* load_module(wasm_store_t* store, const char* path) {
  wasm_byte_vec_t binary;
  read_module_file(path, &binary);
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  check(module != NULL, "compiling the module");
  return module;
}

#endif
