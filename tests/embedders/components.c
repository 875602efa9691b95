/* The component C API (include/kiln_component.h) used carelessly: null and out-of-range
 * arguments, values that do not fit, a non-UTF-8 string, calls with the wrong arguments, a
 * duplicate definition, and a call after the instance's store is gone. Each is refused with a
 * message, never a crash. */
#include <string.h>

#include "embedder_support.h"
#include "kiln_component.h"

/* A component exporting add-one: func(x: u32) -> u32, lifted from a core function. */
static const char add_one[] =
    "\x00\x61\x73\x6d\x0d\x00\x01\x00\x01\x26\x00\x61\x73\x6d\x01\x00\x00\x00\x01\x06\x01\x60"
    "\x01\x7f\x01\x7f\x03\x02\x01\x00\x07\x05\x01\x01\x66\x00\x00\x0a\x09\x01\x07\x00\x20\x00"
    "\x41\x01\x6a\x0b\x02\x04\x01\x00\x00\x00\x06\x07\x01\x00\x00\x01\x00\x01\x66\x07\x08\x01"
    "\x40\x01\x01\x78\x79\x00\x79\x08\x06\x01\x00\x00\x00\x00\x00\x0b\x0d\x01\x00\x07\x61\x64"
    "\x64\x2d\x6f\x6e\x65\x01\x00\x00";

static bool never(void* env, const kiln_cval_t* const* args, size_t count, kiln_cval_t** result,
                  wasm_name_t* error) {
  (void)env, (void)args, (void)count, (void)result, (void)error;
  return true;
}

int main(int argc, char** argv) {
  (void)argc, (void)argv;
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);

  expect(kiln_component_new(NULL, NULL) == NULL, "no engine or bytes: no component");
  wasm_byte_vec_t garbage;
  wasm_byte_vec_new(&garbage, 9, "\x00\x61\x73\x6d\x0d\x00\x01\x00\x07");
  expect(kiln_component_new(engine, &garbage) == NULL &&
             strstr(kiln_last_error_message(), "byte offset") != NULL,
         "a truncated component is refused with its byte offset");
  wasm_byte_vec_delete(&garbage);

  wasm_byte_vec_t bytes;
  wasm_byte_vec_new(&bytes, sizeof add_one - 1, add_one);
  kiln_component_t* component = kiln_component_new(engine, &bytes);
  wasm_byte_vec_delete(&bytes);
  expect(component != NULL, "the add-one component compiles");
  wasm_name_t name, type;
  expect(!kiln_component_export(component, 7, &name, &type), "an export index out of range");
  expect(!kiln_component_import(component, 0, &name, &type), "an import that is not there");
  expect(kiln_component_export(component, 0, &name, &type) && type.size > 0, "the export reads");
  wasm_name_delete(&name);
  wasm_name_delete(&type);

  expect(kiln_cval_new_int(KILN_CVAL_U8, 300) == NULL, "300 is no u8");
  expect(kiln_cval_new_int(KILN_CVAL_STRING, 1) == NULL, "a string is no integer");
  expect(kiln_cval_new_char(0xd800) == NULL, "a surrogate is no char");
  expect(kiln_cval_new_string("\xc3", 1) == NULL, "a cut UTF-8 sequence is no string");
  kiln_cval_t* items[2] = {kiln_cval_new_bool(true), NULL};
  expect(kiln_cval_new_sequence(KILN_CVAL_LIST, items, 2) == NULL, "a list with a null item");
  expect(kiln_cval_item(NULL, 0) == NULL && kiln_cval_item_count(NULL) == 0 &&
             kiln_cval_bits(NULL) == 0,
         "accessors of null");
  expect(kiln_cval_string(NULL, NULL) == NULL, "no string of null");

  expect(kiln_cval_new_bytes(NULL, 3) == NULL, "bytes from a null pointer");
  kiln_cval_t* bytes_value = kiln_cval_new_bytes((const uint8_t*)"\x01\x02", 2);
  size_t bytes_length = 0;
  const uint8_t* bytes_data = kiln_cval_bytes(bytes_value, &bytes_length);
  expect(bytes_data && bytes_length == 2 && bytes_data[1] == 2, "bytes read back");
  expect(
      kiln_cval_item_count(bytes_value) == 2 && kiln_cval_bits(kiln_cval_item(bytes_value, 1)) == 2,
      "a byte list's items");
  kiln_cval_delete(bytes_value);
  kiln_cval_t* not_bytes = kiln_cval_new_string("ab", 2);
  expect(kiln_cval_bytes(not_bytes, &bytes_length) == NULL && bytes_length == 0,
         "a string has no bytes view");
  expect(!kiln_component_resource_drop(store, not_bytes, NULL), "a string is no owning handle");
  expect(!kiln_component_resource_drop(store, NULL, NULL), "no handle to drop");

  kiln_component_linker_t* linker = kiln_component_linker_new();
  expect(kiln_component_linker_define_func(linker, "a:b/c@1.0.0#f", never, NULL, NULL),
         "a definition");
  expect(!kiln_component_linker_define_func(linker, "a:b/c@1.1.0#f", never, NULL, NULL),
         "the same path again (1.1.0 is compatible with 1.0.0)");
  expect(!kiln_component_linker_define_func(linker, "not a path", never, NULL, NULL),
         "a malformed path");
  expect(kiln_component_instantiate(NULL, store, component, NULL) == NULL, "no linker");

  wasm_trap_t* trap = NULL;
  kiln_component_instance_t* instance = kiln_component_instantiate(linker, store, component, &trap);
  expect(instance != NULL && trap == NULL, "instantiates");
  kiln_cval_t* result = NULL;
  expect(
      !kiln_component_instance_call(instance, "nothing", NULL, 0, &result, &trap) && trap == NULL,
      "no such export");
  expect(!kiln_component_instance_call(instance, "add-one", NULL, 0, &result, &trap),
         "too few arguments");
  kiln_cval_t* wrong = kiln_cval_new_string("1", 1);
  const kiln_cval_t* wrong_args[] = {wrong};
  expect(!kiln_component_instance_call(instance, "add-one", wrong_args, 1, &result, &trap) &&
             strstr(kiln_last_error_message(), "is not a u32") != NULL,
         "a string for a u32");
  kiln_cval_delete(wrong);
  kiln_cval_t* one = kiln_cval_new_int(KILN_CVAL_U32, 1);
  const kiln_cval_t* args[] = {one};
  expect(kiln_component_instance_call(instance, "add-one", args, 1, &result, &trap) &&
             kiln_cval_kind(result) == KILN_CVAL_U32 && kiln_cval_bits(result) == 2,
         "add-one(1) = 2");
  kiln_cval_delete(result);

  /* Calls written in WAVE: every malformed one refused with a message, none crashing. */
  wasm_name_t wave;
  expect(kiln_component_instance_call_wave(instance, "add-one(41)", &wave, &trap) &&
             wave.size == 2 && memcmp(wave.data, "42", 2) == 0,
         "add-one(41) in WAVE is 42");
  wasm_byte_vec_delete(&wave);
  const char* bad_calls[] = {"add-one(",       "add-one(-1)", "add-one(4294967296)",
                             "add-one(1, 2)",  "add-one()",   "(1)",
                             "add-one(\"1\")", "nothing(1)",  "add-one(1 // )",
                             "add-one([[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]])"};
  for (size_t k = 0; k < sizeof bad_calls / sizeof bad_calls[0]; ++k) {
    expect(!kiln_component_instance_call_wave(instance, bad_calls[k], &wave, &trap) &&
               trap == NULL && strlen(kiln_last_error_message()) > 0,
           bad_calls[k]);
    wasm_byte_vec_delete(&wave);
  }
  expect(!kiln_component_instance_call_wave(instance, NULL, &wave, &trap), "no call text");
  wasm_byte_vec_delete(&wave);
  expect(!kiln_component_instance_call_wave(NULL, "add-one(1)", NULL, NULL), "no instance");
  expect(kiln_component_instance_call_wave(instance, "add-one(1)", NULL, NULL),
         "a call without outputs");
  expect(!kiln_component_linker_missing_imports(NULL, component, &wave), "no linker");
  expect(!kiln_component_linker_define_wasi(linker, NULL) &&
             !kiln_component_linker_define_wasi(NULL, NULL),
         "WASI needs a linker and a kiln_wasi_t");
  expect(!kiln_component_linker_define_unknown_imports_as_traps(linker, NULL), "no component");
  expect(kiln_component_linker_missing_imports(linker, component, &wave) && wave.size == 0,
         "the add-one component imports nothing");
  wasm_byte_vec_delete(&wave);

  wasm_store_delete(store);
  expect(!kiln_component_instance_call(instance, "add-one", args, 1, &result, &trap),
         "a call after the store is deleted is refused");
  expect(!kiln_component_instance_call_wave(instance, "add-one(1)", &wave, &trap),
         "a WAVE call after the store is deleted is refused");
  wasm_byte_vec_delete(&wave);
  kiln_cval_delete(one);
  kiln_component_instance_delete(instance);
  kiln_component_linker_delete(linker);
  kiln_component_delete(component);
  wasm_engine_delete(engine);
  return 0;
}
