/* A host callback that calls back into wasm, which calls the host again, without end. Before,
 * about 4,000 levels overflowed the native stack (SIGSEGV); now the innermost call traps with
 * "call stack exhausted" and every level returns. */
#include "embedder_support.h"

static int deepest = 0;

/* `env` points at the exported function to call, known once the instance exists. */
static wasm_trap_t* reenter(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  const wasm_func_t* call_host = *(wasm_func_t**)env;
  if (args->data[0].of.i32 > deepest) deepest = args->data[0].of.i32;
  wasm_val_t arg_data[1] = {WASM_I32_VAL(args->data[0].of.i32 + 1)};
  wasm_val_vec_t inner_args = WASM_ARRAY_VEC(arg_data);
  return wasm_func_call(call_host, &inner_args, results);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  embedder_t e;
  wasm_func_t* call_host = NULL;
  embedder_start(&e, argv[1], reenter, &call_host);
  call_host = export_func(&e.exports, 0);

  wasm_val_t arg_data[1] = {WASM_I32_VAL(0)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(arg_data);
  wasm_val_t result_data[1] = {WASM_INIT_VAL};
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_data);
  wasm_trap_t* trap = wasm_func_call(call_host, &args, &results);
  expect(trap != NULL, "endless re-entry ends with a trap");
  expect(kiln_trap_code(trap) == KILN_TRAP_CALL_STACK_EXHAUSTED, "... call stack exhausted");
  /* About 3,000 levels fit in an 8 MiB stack in a release build; far fewer under ASan. */
  expect(deepest > 20, "... after many levels of re-entry");
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  expect(trace.size == 20 && kiln_trap_omitted_frames(trap) > 0,
         "... with the innermost and outermost 10 frames, the rest counted");
  wasm_frame_vec_delete(&trace);
  wasm_trap_delete(trap);
  embedder_finish(&e, 0);
  return 0;
}
