/* A host callback deletes the store it is called from. Before, the call went on in the freed
 * store; now the call ends with a trap and the store is freed once it returns. */
#include "embedder_support.h"

/* `env` points at the store, known once embedder_start made it. */
static wasm_trap_t* delete_store(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  wasm_store_delete(*(wasm_store_t**)env);
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = 0;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  embedder_t e;
  embedder_start(&e, argv[1], delete_store, &e.store);

  wasm_val_t arg_data[1] = {WASM_I32_VAL(1)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(arg_data);
  wasm_val_t result_data[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_data);
  wasm_trap_t* trap = wasm_func_call(export_func(&e.exports, 0), &args, &results);
  expect(trap != NULL, "a call whose callback deleted the store ends with a trap");
  char text[256];
  expect(strstr(message_of(trap, text, sizeof text), "store was deleted") != NULL,
         "... that says so");
  expect(kiln_trap_code(trap) == KILN_TRAP_HOST_ERROR, "... a host error");
  wasm_trap_delete(trap);
  trap = wasm_func_call(export_func(&e.exports, 2), NULL, &results);
  expect(trap != NULL, "later calls are traps too");
  wasm_trap_delete(trap);
  embedder_finish(&e, 1);
  return 0; /* LeakSanitizer checks that the store was freed */
}
