/* A long-running embedder: 100,001 instantiations in one store made through wasm.h alone
 * (before, the 10,001st failed on a default count limit), failed instantiations that do not
 * count against a limit set through kiln.h, and limits past what kiln supports. */
#include <stdint.h>

#include "embedder_support.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_module_t* tiny = load(store, argv[1], "tiny");
  int made = 0;
  for (int i = 0; i < 100001; ++i) {
    wasm_instance_t* instance = wasm_instance_new(store, tiny, NULL, NULL);
    if (!instance) break;
    ++made;
    wasm_instance_delete(instance);
  }
  expect(made == 100001, "100,001 instances in one standard store");
  wasm_module_delete(tiny);
  wasm_store_delete(store);

  kiln_limits_t limits;
  kiln_limits_default(&limits);
  limits.max_instances = 2;
  store = kiln_store_new_with_limits(engine, &limits);
  expect(store != NULL, "a store limited to 2 instances");
  wasm_module_t* trapping = load(store, argv[1], "trapping_start");
  tiny = load(store, argv[1], "tiny");
  for (int i = 0; i < 5; ++i) {
    wasm_trap_t* trap = NULL;
    wasm_instance_t* failed = wasm_instance_new(store, trapping, NULL, &trap);
    expect(failed == NULL && trap != NULL, "an instantiation whose start traps fails");
    wasm_trap_delete(trap);
  }
  wasm_instance_t* first = wasm_instance_new(store, tiny, NULL, NULL);
  wasm_instance_t* second = wasm_instance_new(store, tiny, NULL, NULL);
  expect(first && second, "failed instantiations did not count against the limit");
  wasm_instance_t* third = wasm_instance_new(store, tiny, NULL, NULL);
  expect(third == NULL && strstr(kiln_last_error_message(), "at most 2 instances") != NULL,
         "the third is refused by the limit");
  wasm_instance_delete(first);
  wasm_instance_delete(second);
  wasm_module_delete(tiny);
  wasm_module_delete(trapping);
  wasm_store_delete(store);

  kiln_limits_default(&limits);
  limits.max_stack_bytes = UINT64_MAX;
  expect(kiln_store_new_with_limits(engine, &limits) == NULL &&
             strstr(kiln_last_error_message(), "max_stack_bytes") != NULL,
         "max_stack_bytes = UINT64_MAX is refused, not an abort");
  kiln_limits_default(&limits);
  limits.max_call_depth = UINT32_MAX;
  expect(kiln_store_new_with_limits(engine, &limits) == NULL &&
             strstr(kiln_last_error_message(), "max_call_depth") != NULL,
         "max_call_depth = UINT32_MAX is refused, not an abort");
  wasm_config_t* config = wasm_config_new();
  expect(!kiln_config_set_limits(config, &limits), "... by kiln_config_set_limits too");
  wasm_config_delete(config);
  wasm_engine_delete(engine);
  return 0;
}
