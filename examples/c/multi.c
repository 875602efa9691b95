/* Multiple results in both directions: wasm returns three values of different types, and a
 * host function returns two that wasm uses. Usage: multi multi.wasm */
#include "example_support.h"

static wasm_trap_t* divmod(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  int32_t a = args->data[0].of.i32, b = args->data[1].of.i32;
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = a / b;
  results->data[1].kind = WASM_I32;
  results->data[1].of.i32 = a % b;
  return NULL;
}

int main(int argc, char** argv) {
  check(argc == 2, "usage: multi MODULE.wasm");
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* module = load_module(store, argv[1]);
  wasm_valtype_t* param_list[] = {wasm_valtype_new_i32(), wasm_valtype_new_i32()};
  wasm_valtype_t* result_list[] = {wasm_valtype_new_i32(), wasm_valtype_new_i32()};
  wasm_valtype_vec_t params, results;
  wasm_valtype_vec_new(&params, 2, param_list);
  wasm_valtype_vec_new(&results, 2, result_list);
  wasm_functype_t* type = wasm_functype_new(&params, &results);
  wasm_func_t* host = wasm_func_new(store, type, divmod);
  wasm_functype_delete(type);
  wasm_extern_t* import_list[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(import_list);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  check(instance != NULL, "instantiating");
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t args3[] = {WASM_I32_VAL(-5), WASM_I64_VAL(1LL << 40), WASM_F64_VAL(2.25)};
  wasm_val_t out3[] = {WASM_INIT_VAL, WASM_INIT_VAL, WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(args3);
  wasm_val_vec_t outs = WASM_ARRAY_VEC(out3);
  check(wasm_func_call(wasm_extern_as_func(exports.data[0]), &args, &outs) == NULL, "swap3");
  printf("swap3(-5, 2^40, 2.25) = (%.2f, %lld, %d)\n", out3[0].of.f64, (long long)out3[1].of.i64,
         out3[2].of.i32);

  wasm_val_t args2[] = {WASM_I32_VAL(47), WASM_I32_VAL(5)};
  wasm_val_t out2[] = {WASM_INIT_VAL, WASM_INIT_VAL};
  wasm_val_vec_t args_b = WASM_ARRAY_VEC(args2);
  wasm_val_vec_t outs_b = WASM_ARRAY_VEC(out2);
  check(wasm_func_call(wasm_extern_as_func(exports.data[1]), &args_b, &outs_b) == NULL, "divmod");
  printf("divmod_plus(47, 5) = (%d, %d)\n", out2[0].of.i32, out2[1].of.i32);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
