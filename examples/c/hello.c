/* A host function called from wasm, using nothing but the standard wasm.h (this program builds
 * unchanged against any wasm-c-api engine): the host's callback receives the argument and
 * returns a result, and the host reads the export's result. Usage: hello hello.wasm */
#include <stdio.h>
#include <stdlib.h>

#include "wasm.h"

static wasm_trap_t* hello(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  const char* greeting = env;
  printf("%s: called with %d\n", greeting, args->data[0].of.i32);
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = args->data[0].of.i32 * 10;
  return NULL;
}

static void fail(const char* what) {
  fprintf(stderr, "error: %s\n", what);
  exit(1);
}

int main(int argc, char** argv) {
  if (argc != 2) fail("usage: hello MODULE.wasm");
  FILE* file = fopen(argv[1], "rb");
  if (!file) fail("cannot open the module");
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  wasm_byte_vec_t binary;
  wasm_byte_vec_new_uninitialized(&binary, (size_t)size);
  if (fread(binary.data, 1, (size_t)size, file) != (size_t)size) fail("cannot read the module");
  fclose(file);

  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) fail("compiling the module");

  wasm_functype_t* type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* callback = wasm_func_new_with_env(store, type, hello, "hello from the host", NULL);
  wasm_functype_delete(type);

  wasm_extern_t* import_list[] = {wasm_func_as_extern(callback)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(import_list);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) fail("instantiating");

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  const wasm_func_t* run = wasm_extern_as_func(exports.data[0]);
  wasm_val_t arg_list[] = {WASM_I32_VAL(4)};
  wasm_val_t result_list[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(arg_list);
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_list);
  wasm_trap_t* trap = wasm_func_call(run, &args, &results);
  if (trap) fail("calling run");
  printf("run(4) = %d\n", results.data[0].of.i32);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(callback);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
