/* Globals in both directions: the host creates globals that wasm imports, and reads and writes
 * the ones wasm exports; a write to an immutable global is refused. Usage: global global.wasm */
#include "example_support.h"

static wasm_val_t call0(const wasm_extern_t* ext) {
  wasm_val_t result_list[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_EMPTY_VEC;
  wasm_val_vec_t results = WASM_ARRAY_VEC(result_list);
  check(wasm_func_call(wasm_extern_as_func_const(ext), &args, &results) == NULL, "call");
  return result_list[0];
}

int main(int argc, char** argv) {
  check(argc == 2, "usage: global MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);

  wasm_globaltype_t* const_type = wasm_globaltype_new(wasm_valtype_new_f32(), WASM_CONST);
  wasm_globaltype_t* var_type = wasm_globaltype_new(wasm_valtype_new_i64(), WASM_VAR);
  wasm_val_t pi = WASM_F32_VAL(3.5f);
  wasm_val_t start = WASM_I64_VAL(1000000000000);
  wasm_global_t* const_f32 = wasm_global_new(store, const_type, &pi);
  wasm_global_t* var_i64 = wasm_global_new(store, var_type, &start);
  wasm_globaltype_delete(const_type);
  wasm_globaltype_delete(var_type);

  wasm_extern_t* import_list[] = {wasm_global_as_extern(const_f32), wasm_global_as_extern(var_i64)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(import_list);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  check(instance != NULL, "instantiating");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_global_t* counter = wasm_extern_as_global(exports.data[0]);
  wasm_global_t* answer = wasm_extern_as_global(exports.data[1]);

  printf("wasm reads the imported f32: %.2f\n", call0(exports.data[2]).of.f32);
  printf("wasm reads the imported i64: %lld\n", (long long)call0(exports.data[3]).of.i64);
  printf("bump() = %d\n", call0(exports.data[4]).of.i32);
  wasm_val_t value;
  wasm_global_get(var_i64, &value);
  printf("host reads the i64 wasm bumped: %lld\n", (long long)value.of.i64);
  wasm_global_get(counter, &value);
  printf("host reads counter: %d\n", value.of.i32);
  wasm_val_t fifty = WASM_I32_VAL(50);
  wasm_global_set(counter, &fifty);
  printf("after the host sets counter to 50, bump() = %d\n", call0(exports.data[4]).of.i32);

  wasm_globaltype_t* answer_type = wasm_global_type(answer);
  wasm_global_get(answer, &value);
  printf("answer = %d, %s\n", value.of.i32,
         wasm_globaltype_mutability(answer_type) == WASM_CONST ? "const" : "var");
  wasm_globaltype_delete(answer_type);
  wasm_val_t seven = WASM_I32_VAL(7);
  wasm_global_set(answer, &seven);
  wasm_global_get(answer, &value);
  printf("setting answer is refused (%s); it stays %d\n", kiln_last_error_message(), value.of.i32);
  wasm_val_t wrong_kind = WASM_F64_VAL(1.0);
  wasm_global_set(counter, &wrong_kind);
  printf("setting counter to an f64 is refused (%s)\n", kiln_last_error_message());

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_global_delete(const_f32);
  wasm_global_delete(var_i64);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
