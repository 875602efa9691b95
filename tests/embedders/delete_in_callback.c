/* A host callback deletes the store it is called from. Before, the call went on in the freed
 * store; now the call ends with a trap and the store is freed once it returns. */
#include "embedder_support.h"

static wasm_trap_t* delete_store(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  wasm_store_delete((wasm_store_t*)env);
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = 0;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load(store, argv[1], "embedder");
  wasm_functype_t* type = i32_to_i32();
  wasm_func_t* callback = wasm_func_new_with_env(store, type, delete_store, store, NULL);
  wasm_functype_delete(type);
  wasm_extern_t* imports_data[1] = {wasm_func_as_extern(callback)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(imports_data);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  expect(instance != NULL, "instantiated");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t arg_data[1] = {WASM_I32_VAL(1)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(arg_data);
  wasm_val_t result_data[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_data);
  wasm_trap_t* trap = wasm_func_call(export_func(&exports, 0), &args, &results);
  expect(trap != NULL, "a call whose callback deleted the store ends with a trap");
  char text[256];
  expect(strstr(message_of(trap, text, sizeof text), "store was deleted") != NULL,
         "... that says so");
  expect(kiln_trap_code(trap) == KILN_TRAP_HOST_ERROR, "... a host error");
  wasm_trap_delete(trap);
  trap = wasm_func_call(export_func(&exports, 2), NULL, &results);
  expect(trap != NULL, "later calls are traps too");
  wasm_trap_delete(trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(callback);
  wasm_module_delete(module);
  wasm_engine_delete(engine);
  return 0; /* LeakSanitizer checks that the store was freed */
}
