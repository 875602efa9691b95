/* Objects that outlive their store: a trap, its frames, function references. Before, reading
 * a frame's function name or calling an export after wasm_store_delete read freed memory. */
#include "embedder_support.h"

static wasm_trap_t* add_one(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)env;
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = args->data[0].of.i32 + 1;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  embedder_t e;
  embedder_start(&e, argv[1], add_one, NULL);
  wasm_func_t* answer = export_func(&e.exports, 2);

  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = wasm_func_call(export_func(&e.exports, 1), &none, &none);
  expect(trap != NULL, "the export traps");
  wasm_func_t* kept = wasm_func_copy(answer);

  wasm_store_delete(e.store);

  char text[256];
  expect(strcmp(message_of(trap, text, sizeof text), "unreachable") == 0,
         "the trap's message after the store is gone");
  wasm_frame_t* origin = wasm_trap_origin(trap);
  expect(origin != NULL, "the trap's origin after the store is gone");
  wasm_name_t name;
  kiln_frame_func_name(origin, &name);
  expect(name.size == 4 && memcmp(name.data, "trap", 4) == 0,
         "the origin's function name after the store is gone");
  wasm_byte_vec_delete(&name);
  expect(wasm_frame_func_index(origin) == 2, "the origin's function index");
  expect(wasm_frame_instance(origin) == NULL, "no instance for a frame whose store is gone");
  wasm_frame_t* copy = wasm_frame_copy(origin);
  expect(wasm_frame_instance(copy) == NULL, "a copied frame: no instance either");
  wasm_frame_delete(copy);
  wasm_frame_delete(origin);
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  expect(trace.size == 1 && wasm_frame_instance(trace.data[0]) == NULL, "the trace");
  wasm_frame_vec_delete(&trace);

  wasm_val_t result_data[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_data);
  wasm_trap_t* late = wasm_func_call(answer, &none, &results);
  expect(late != NULL, "calling an export after wasm_store_delete is a trap");
  expect(strstr(message_of(late, text, sizeof text), "store was deleted") != NULL,
         "... that says the store was deleted");
  wasm_trap_delete(late);
  late = wasm_func_call(kept, &none, &results);
  expect(late != NULL, "... through a copy made before the deletion too");
  wasm_trap_delete(late);
  expect(wasm_func_param_arity(answer) == 0 && wasm_func_type(answer) == NULL,
         "the function's type is not read from the deleted store");
  wasm_func_t* late_copy = wasm_func_copy(answer);
  expect(late_copy != NULL, "a reference can still be copied");
  expect(wasm_ref_get_host_info(wasm_func_as_ref(late_copy)) == NULL, "no host info");
  wasm_func_delete(late_copy);
  wasm_func_delete(kept);
  wasm_trap_delete(trap);
  embedder_finish(&e, 1);
  return 0;
}
