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

/* The module embedder.wat instantiated in a new store of a new engine, its import "callback"
 * an (i32) -> (i32) host function. Exports: 0 call_host, 1 trap, 2 answer, 3 trap_with_result. */
typedef struct embedder_t {
  wasm_engine_t* engine;
  wasm_store_t* store;
  wasm_module_t* module;
  wasm_func_t* callback;
  wasm_instance_t* instance;
  wasm_extern_vec_t exports;
} embedder_t;

static inline void embedder_start(embedder_t* e, const char* dir,
                                  wasm_func_callback_with_env_t callback, void* env) {
  e->engine = wasm_engine_new();
  e->store = wasm_store_new(e->engine);
  e->module = load(e->store, dir, "embedder");
  wasm_functype_t* type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  e->callback = wasm_func_new_with_env(e->store, type, callback, env, NULL);
  wasm_functype_delete(type);
  wasm_extern_t* imports_data[1] = {wasm_func_as_extern(e->callback)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(imports_data);
  e->instance = wasm_instance_new(e->store, e->module, &imports, NULL);
  expect(e->instance != NULL, "instantiated");
  wasm_instance_exports(e->instance, &e->exports);
}

/* Deletes what embedder_start made; the store too, unless the program deleted it already. */
static inline void embedder_finish(embedder_t* e, int store_deleted) {
  wasm_extern_vec_delete(&e->exports);
  wasm_instance_delete(e->instance);
  wasm_func_delete(e->callback);
  wasm_module_delete(e->module);
  if (!store_deleted) wasm_store_delete(e->store);
  wasm_engine_delete(e->engine);
}

#endif
