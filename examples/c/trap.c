/* Traps: from wasm code (with the frames of its backtrace) and from a host function; the store
 * stays usable after both. Usage: trap trap.wasm */
#include "example_support.h"

static wasm_store_t* store;

static wasm_trap_t* fail(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  wasm_message_t message;
  wasm_name_new_from_string_nt(&message, "the host says no");
  wasm_trap_t* trap = wasm_trap_new(store, &message);
  wasm_name_delete(&message);
  return trap;
}

static void report(wasm_trap_t* trap) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  printf("trap: %s (code %d)\n", message.data, kiln_trap_code(trap));
  wasm_byte_vec_delete(&message);
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  for (size_t i = 0; i < trace.size; ++i) {
    wasm_name_t name;
    kiln_frame_func_name(trace.data[i], &name);
    printf("  frame %zu: function %u (%.*s)\n", i, wasm_frame_func_index(trace.data[i]),
           (int)name.size, name.data);
    wasm_name_delete(&name);
  }
  wasm_frame_t* origin = wasm_trap_origin(trap);
  if (origin) {
    printf("  origin: function %u\n", wasm_frame_func_index(origin));
  } else {
    printf("  origin: none\n");
  }
  wasm_frame_delete(origin);
  wasm_frame_vec_delete(&trace);
  wasm_trap_delete(trap);
}

static wasm_trap_t* call(const wasm_extern_t* ext, int n, int32_t a, int32_t b) {
  wasm_val_t arg_list[2] = {WASM_I32_VAL(a), WASM_I32_VAL(b)};
  wasm_val_t result_list[1] = {WASM_INIT_VAL};
  const wasm_func_t* func = wasm_extern_as_func_const(ext);
  wasm_val_vec_t args = {(size_t)n, arg_list};
  wasm_val_vec_t results = {wasm_func_result_arity(func), result_list};
  wasm_trap_t* trap = wasm_func_call(func, &args, &results);
  if (!trap && results.size) printf("result: %d\n", result_list[0].of.i32);
  return trap;
}

int main(int argc, char** argv) {
  check(argc == 2, "usage: trap MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_functype_t* type = wasm_functype_new_0_0();
  wasm_func_t* host = wasm_func_new(store, type, fail);
  wasm_functype_delete(type);
  wasm_extern_t* import_list[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(import_list);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  check(instance != NULL, "instantiating");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  report(call(exports.data[0], 2, 7, 0));
  report(call(exports.data[0], 2, (int32_t)0x80000000, -1));
  report(call(exports.data[1], 0, 0, 0));
  wasm_trap_t* none = call(exports.data[0], 2, 7, 2);
  printf("no trap: %s\n", none ? "wrong" : "right");
  /* A call with the wrong number of arguments is refused with a trap, not a crash. */
  report(call(exports.data[0], 1, 7, 0));

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
