/* Calls as programs written for other engines make them: a results vector of another size
 * than the function's result count (WASM_EMPTY_VEC for a call expected to trap), and a host
 * function with a v128 parameter, which wasm.h cannot pass (before, its later arguments were
 * read one cell early). */
#include "embedder_support.h"

static wasm_trap_t* unused(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)env;
  (void)args;
  (void)results;
  return NULL;
}

static wasm_trap_t* never_called(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  return unused(NULL, args, results);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  embedder_t e;
  embedder_start(&e, argv[1], unused, NULL);

  char text[256];
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = wasm_func_call(export_func(&e.exports, 3), &none, &none);
  expect(trap != NULL && strcmp(message_of(trap, text, sizeof text), "unreachable") == 0,
         "a function with a result, called with no room for it, runs and traps");
  wasm_trap_delete(trap);
  expect(wasm_func_call(export_func(&e.exports, 2), &none, &none) == NULL,
         "... and one that returns has its result dropped");
  wasm_val_t result_data[3] = {WASM_INIT_VAL, WASM_I32_VAL(7), WASM_I32_VAL(7)};
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_data);
  expect(wasm_func_call(export_func(&e.exports, 2), &none, &results) == NULL &&
             result_data[0].kind == WASM_I32 && result_data[0].of.i32 == 42,
         "more room than results: the result is written first");

  wasm_valtype_t* params[3] = {wasm_valtype_new_i32(), wasm_valtype_new(KILN_V128),
                               wasm_valtype_new_i32()};
  wasm_valtype_vec_t param_vec;
  wasm_valtype_vec_new(&param_vec, 3, params);
  wasm_valtype_vec_t result_vec;
  wasm_valtype_vec_new_empty(&result_vec);
  wasm_functype_t* v128_type = wasm_functype_new(&param_vec, &result_vec);
  wasm_func_t* v128_func = wasm_func_new(e.store, v128_type, never_called);
  expect(v128_func == NULL && strstr(kiln_last_error_message(), "v128") != NULL,
         "a host function with a v128 parameter is refused at creation, saying why");
  wasm_functype_delete(v128_type);
  embedder_finish(&e, 0);
  return 0;
}
