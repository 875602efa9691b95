/* Memory shared by the host and wasm: the host reads and writes the bytes wasm sees, grows the
 * memory, and gets false past its maximum; out-of-bounds accesses from wasm trap.
 * Usage: memory memory.wasm */
#include <string.h>

#include "example_support.h"

static wasm_extern_vec_t exports;

static int32_t call_i32(size_t index, int n, int32_t a, int32_t b, int* trapped) {
  wasm_val_t arg_list[2] = {WASM_I32_VAL(a), WASM_I32_VAL(b)};
  wasm_val_t result_list[1] = {WASM_INIT_VAL};
  const wasm_func_t* func = wasm_extern_as_func(exports.data[index]);
  wasm_val_vec_t args = {(size_t)n, arg_list};
  wasm_val_vec_t results = {wasm_func_result_arity(func), result_list};
  wasm_trap_t* trap = wasm_func_call(func, &args, &results);
  *trapped = trap != NULL;
  if (trap) {
    wasm_message_t message;
    wasm_trap_message(trap, &message);
    printf("  trap: %s\n", message.data);
    wasm_byte_vec_delete(&message);
    wasm_trap_delete(trap);
    return 0;
  }
  return results.size ? results.data[0].of.i32 : 0;
}

int main(int argc, char** argv) {
  check(argc == 2, "usage: memory MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  check(instance != NULL, "instantiating");
  wasm_instance_exports(instance, &exports);
  wasm_memory_t* memory = wasm_extern_as_memory(exports.data[0]);
  int trapped;

  printf("pages %u, bytes %zu, size() = %d\n", wasm_memory_size(memory),
         wasm_memory_data_size(memory), call_i32(1, 0, 0, 0, &trapped));
  byte_t* data = wasm_memory_data(memory);
  printf("host reads 0x1000..0x1003: %d %d %d %d\n", data[0x1000], data[0x1001], data[0x1002],
         data[0x1003]);
  data[0x2000] = 42;
  printf("wasm reads the host's write: load(0x2000) = %d\n", call_i32(2, 1, 0x2000, 0, &trapped));
  call_i32(3, 2, 0x2001, -7, &trapped);
  printf("host reads wasm's write: %d\n", (signed char)data[0x2001]);

  printf("load(0x20000) (just past the end):\n");
  call_i32(2, 1, 0x20000, 0, &trapped);
  bool grown = wasm_memory_grow(memory, 1);
  printf("grow by 1: %s, pages %u\n", grown ? "ok" : "refused", wasm_memory_size(memory));
  printf("load(0x20000) now: %d\n", call_i32(2, 1, 0x20000, 0, &trapped));
  grown = wasm_memory_grow(memory, 1);
  printf("grow by 1 more: %s, pages %u\n", grown ? "ok" : "refused", wasm_memory_size(memory));

  wasm_memorytype_t* type = wasm_memory_type(memory);
  const wasm_limits_t* limits = wasm_memorytype_limits(type);
  printf("type: min %u max %u\n", limits->min, limits->max);
  wasm_memorytype_delete(type);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
