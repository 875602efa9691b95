/* What the careless-embedder programs share: loading a module from the directory given as the
 * first argument, and checks that report what failed. Each program exits 0 when every check
 * holds; the tests run them (under ASan and UBSan in the sanitizer build). */
#ifndef KILN_EMBEDDER_SUPPORT_H
#define KILN_EMBEDDER_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"
#include "wasm.h"

static inline void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "check failed: %s (kiln: %s)\n", what, kiln_last_error_message());
    exit(1);
  }
  printf("ok: %s\n", what);
}

/* The module DIR/NAME.wasm, compiled in `store`. */
static inline wasm_module_t* load(wasm_store_t* store, const char* dir, const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.wasm", dir, name);
  FILE* file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  wasm_byte_vec_t binary;
  wasm_byte_vec_new_uninitialized(&binary, (size_t)size);
  if (fread(binary.data, 1, (size_t)size, file) != (size_t)size) exit(1);
  fclose(file);
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) {
    fprintf(stderr, "cannot compile %s: %s\n", path, kiln_last_error_message());
    exit(1);
  }
  return module;
}

/* The trap's message, for comparisons: `buffer` receives it null-terminated. */
static inline const char* message_of(const wasm_trap_t* trap, char* buffer, size_t size) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  snprintf(buffer, size, "%.*s", (int)message.size, message.data);
  wasm_byte_vec_delete(&message);
  return buffer;
}

/* The export `index` of `exports` as a function. */
static inline wasm_func_t* export_func(const wasm_extern_vec_t* exports, size_t index) {
  wasm_func_t* func = wasm_extern_as_func(exports->data[index]);
  if (!func) exit(1);
  return func;
}

/* A function type (i32) -> (i32). */
static inline wasm_functype_t* i32_to_i32(void) {
  return wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
}

#endif
