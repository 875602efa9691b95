/* A component embedded from C (include/kiln_component.h): its imports and exports read as WIT
 * types, a host function and a host resource defined by WIT path (semver-compatible with the
 * version the guest imports), and exports called with a string and with a borrowed handle of
 * the host's resource, which the guest uses through the host's method and drops.
 * Usage: component COMPONENT.wasm (examples/components/component.wat, assembled at build time) */
#include <stdio.h>
#include <string.h>

#include "example_support.h"
#include "kiln_component.h"

/* local:demo/host#log: prints the message. */
static bool log_message(void* env, const kiln_cval_t* const* args, size_t count,
                        kiln_cval_t** result, wasm_name_t* error) {
  (void)env, (void)count, (void)result, (void)error;
  size_t length = 0;
  const char* text = kiln_cval_string(args[0], &length);
  printf("guest logs: %.*s\n", (int)length, text);
  return true;
}

/* The host's counters: the resource's representation is an index into this array. */
static uint32_t counters[4];

/* local:demo/host#[method]counter.bump: counts, and returns the count. */
static bool bump(void* env, const kiln_cval_t* const* args, size_t count, kiln_cval_t** result,
                 wasm_name_t* error) {
  (void)env, (void)count;
  uint32_t rep = kiln_cval_rep(args[0]);
  if (rep >= 4) {
    wasm_name_new_from_string(error, "no such counter");
    return false;
  }
  *result = kiln_cval_new_int(KILN_CVAL_U32, ++counters[rep]);
  return true;
}

static void print_externs(const kiln_component_t* component) {
  for (size_t i = 0; i < kiln_component_import_count(component); ++i) {
    wasm_name_t name, type;
    check(kiln_component_import(component, i, &name, &type), "reading an import");
    printf("import %.*s: %.*s\n", (int)name.size, name.data, (int)type.size, type.data);
    wasm_name_delete(&name);
    wasm_name_delete(&type);
  }
  for (size_t i = 0; i < kiln_component_export_count(component); ++i) {
    wasm_name_t name, type;
    check(kiln_component_export(component, i, &name, &type), "reading an export");
    printf("export %.*s: %.*s\n", (int)name.size, name.data, (int)type.size, type.data);
    wasm_name_delete(&name);
    wasm_name_delete(&type);
  }
}

int main(int argc, char** argv) {
  check(argc == 2, "usage: component COMPONENT.wasm");
  wasm_byte_vec_t binary;
  read_module_file(argv[1], &binary);
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  check(kiln_component_is_component(&binary), "the file is not a component");
  kiln_component_t* component = kiln_component_new(engine, &binary);
  wasm_byte_vec_delete(&binary);
  check(component != NULL, "compiling the component");
  print_externs(component);

  /* The host's side of local:demo/host; the guest imports @1.0.0, the host offers @1.4.2. */
  kiln_component_linker_t* linker = kiln_component_linker_new();
  wasm_name_t missing;
  check(kiln_component_linker_missing_imports(linker, component, &missing), "listing imports");
  printf("to define:\n%.*s", (int)missing.size, missing.data);
  wasm_byte_vec_delete(&missing);
  check(kiln_component_linker_define_func(linker, "local:demo/host@1.4.2#log", log_message, NULL,
                                          NULL),
        "defining log");
  const kiln_resource_type_t* counter = kiln_component_linker_define_resource(
      linker, "local:demo/host@1.4.2#counter", NULL, NULL, NULL);
  check(counter != NULL, "defining counter");
  check(kiln_component_linker_define_func(linker, "local:demo/host@1.4.2#[method]counter.bump",
                                          bump, NULL, NULL),
        "defining counter.bump");

  wasm_trap_t* trap = NULL;
  kiln_component_instance_t* instance = kiln_component_instantiate(linker, store, component, &trap);
  check(instance != NULL, "instantiating");
  kiln_component_linker_delete(linker); /* the instance keeps what it uses */

  /* greet("C embedder") */
  kiln_cval_t* name = kiln_cval_new_string("C embedder", strlen("C embedder"));
  kiln_cval_t* greeting = NULL;
  const kiln_cval_t* greet_args[] = {name};
  check(kiln_component_instance_call(instance, "greet", greet_args, 1, &greeting, &trap),
        "calling greet");
  size_t length = 0;
  const char* text = kiln_cval_string(greeting, &length);
  printf("greet returned: %.*s\n", (int)length, text);
  kiln_cval_delete(name);
  kiln_cval_delete(greeting);

  /* The same call written in WAVE (the value text of wasmtime's CLI), its result in WAVE. */
  wasm_name_t wave;
  check(kiln_component_instance_call_wave(instance, "greet(\"WAVE \\u{263A}\")", &wave, &trap),
        "calling greet in WAVE");
  printf("greet in WAVE returned: %.*s\n", (int)wave.size, wave.data);
  wasm_byte_vec_delete(&wave);
  check(!kiln_component_instance_call_wave(instance, "greet(42)", &wave, &trap),
        "greet(42) was accepted");
  wasm_byte_vec_delete(&wave);
  printf("refused: %s\n", kiln_last_error_message());

  /* tally(counter 2), twice: the guest borrows the host's resource for each call. */
  for (int round = 0; round < 2; ++round) {
    kiln_cval_t* handle = kiln_cval_new_borrow(counter, 2);
    const kiln_cval_t* tally_args[] = {handle};
    kiln_cval_t* count = NULL;
    check(kiln_component_instance_call(instance, "tally", tally_args, 1, &count, &trap),
          "calling tally");
    printf("tally returned: %llu\n", (unsigned long long)kiln_cval_bits(count));
    kiln_cval_delete(count);
    kiln_cval_delete(handle);
  }

  /* A string that is not UTF-8 is refused before the guest runs. */
  check(kiln_cval_new_string("\xff", 1) == NULL, "a non-UTF-8 string was accepted");
  printf("refused: %s\n", kiln_last_error_message());

  kiln_component_instance_delete(instance);
  kiln_component_delete(component);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
