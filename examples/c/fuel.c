/* Fuel: a store gets a budget of instructions; a call that would exceed it stops with a trap,
 * and the store can be refuelled. Usage: fuel fuel.wasm */
#include "example_support.h"

static wasm_extern_vec_t exports;

static void call(wasm_store_t* store, size_t index, int n, int32_t arg) {
  wasm_val_t arg_list[1] = {WASM_I32_VAL(arg)};
  wasm_val_t result_list[1] = {WASM_INIT_VAL};
  const wasm_func_t* func = wasm_extern_as_func(exports.data[index]);
  wasm_val_vec_t args = {(size_t)n, arg_list};
  wasm_val_vec_t results = {wasm_func_result_arity(func), result_list};
  uint64_t before = kiln_store_fuel_consumed(store);
  wasm_trap_t* trap = wasm_func_call(func, &args, &results);
  uint64_t used = kiln_store_fuel_consumed(store) - before;
  if (trap) {
    wasm_message_t message;
    wasm_trap_message(trap, &message);
    printf("  trap: %s (out of fuel: %s), used %llu, left %llu\n", message.data,
           kiln_trap_code(trap) == KILN_TRAP_OUT_OF_FUEL ? "yes" : "no", (unsigned long long)used,
           (unsigned long long)kiln_store_fuel_remaining(store));
    wasm_byte_vec_delete(&message);
    wasm_trap_delete(trap);
    return;
  }
  printf("  result %d, used %llu, left %llu\n", result_list[0].of.i32, (unsigned long long)used,
         (unsigned long long)kiln_store_fuel_remaining(store));
}

int main(int argc, char** argv) {
  check(argc == 2, "usage: fuel MODULE.wasm");
  wasm_config_t* config = wasm_config_new();
  kiln_config_consume_fuel(config, true);
  wasm_engine_t* engine = wasm_engine_new_with_config(config);
  wasm_store_t* store = wasm_store_new(engine);
  check(kiln_store_set_fuel(store, 1000), "setting fuel");
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  check(instance != NULL, "instantiating");
  wasm_instance_exports(instance, &exports);

  printf("count(10) with 1000 fuel:\n");
  call(store, 0, 1, 10);
  printf("count(100):\n");
  call(store, 0, 1, 100);
  printf("spin() after refuelling to 5000:\n");
  check(kiln_store_set_fuel(store, 5000), "refuelling");
  call(store, 1, 0, 0);
  printf("count(3) with nothing left, then with 100 more:\n");
  call(store, 0, 1, 3);
  check(kiln_store_add_fuel(store, 100), "adding fuel");
  call(store, 0, 1, 3);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
