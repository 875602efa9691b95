/* A table from the host: reads the functions wasm put there and calls them, stores a host
 * function in it, grows it, and sees calls through an empty element trap.
 * Usage: table table.wasm */
#include "example_support.h"

static wasm_extern_vec_t exports;

static wasm_trap_t* negate(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = -args->data[0].of.i32;
  return NULL;
}

static void apply(int32_t index, int32_t value) {
  wasm_val_t arg_list[2] = {WASM_I32_VAL(index), WASM_I32_VAL(value)};
  wasm_val_t result_list[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(arg_list);
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_list);
  wasm_trap_t* trap = wasm_func_call(wasm_extern_as_func(exports.data[1]), &args, &results);
  if (trap) {
    wasm_message_t message;
    wasm_trap_message(trap, &message);
    printf("apply(%d, %d) traps: %s\n", index, value, message.data);
    wasm_byte_vec_delete(&message);
    wasm_trap_delete(trap);
    return;
  }
  printf("apply(%d, %d) = %d\n", index, value, result_list[0].of.i32);
}

int main(int argc, char** argv) {
  check(argc == 2, "usage: table MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  check(instance != NULL, "instantiating");
  wasm_instance_exports(instance, &exports);
  wasm_table_t* table = wasm_extern_as_table(exports.data[0]);

  printf("size %u\n", wasm_table_size(table));
  apply(0, 7);
  apply(1, 7);
  /* The host calls an element directly. */
  wasm_ref_t* element = wasm_table_get(table, 1);
  wasm_val_t arg_list[1] = {WASM_I32_VAL(9)};
  wasm_val_t result_list[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(arg_list);
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_list);
  check(wasm_func_call(wasm_ref_as_func(element), &args, &results) == NULL, "calling element 1");
  printf("host calls element 1 with 9: %d\n", result_list[0].of.i32);
  wasm_ref_delete(element);

  wasm_functype_t* type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* host = wasm_func_new(store, type, negate);
  wasm_functype_delete(type);
  bool grown = wasm_table_grow(table, 1, wasm_func_as_ref(host));
  printf("grow by 1 with the host function: %s, size %u\n", grown ? "ok" : "refused",
         wasm_table_size(table));
  apply(2, 7);
  grown = wasm_table_grow(table, 1, NULL);
  printf("grow by 1 with null: %s, size %u\n", grown ? "ok" : "refused", wasm_table_size(table));
  apply(3, 7);
  apply(4, 7);
  printf("grow past the maximum: %s\n", wasm_table_grow(table, 1, NULL) ? "ok" : "refused");
  printf("set element 0 to the host function: %s\n",
         wasm_table_set(table, 0, wasm_func_as_ref(host)) ? "ok" : "refused");
  apply(0, 7);
  printf("set element 9: %s\n", wasm_table_set(table, 9, NULL) ? "ok" : "refused");
  printf("element 3 is %s\n", wasm_table_get(table, 3) ? "set" : "null");

  wasm_func_delete(host);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
