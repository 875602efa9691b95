/* kiln's C API for the component model: load and validate components, read their imports and
 * exports as WIT types, define host functions and host resources by WIT path, instantiate,
 * call exports with component values, own and drop resources from the host, and get traps.
 *
 * Conventions as in kiln.h: `own` results and `out` parameters pass to the caller, `own`
 * parameters to kiln, everything else is borrowed. Nothing here aborts: a null or bad argument
 * makes the call return false or null, and kiln_last_error_message() says why.
 *
 * Values (kiln_cval_t) are built with the kiln_cval_new_* functions and read with the
 * accessors. A value carries no type: the function it is passed to gives it one, and a value
 * that does not fit is refused before any guest code runs. */
#ifndef KILN_COMPONENT_H
#define KILN_COMPONENT_H

#include "kiln.h"

#ifdef __cplusplus
extern "C" {
#endif

#define own

typedef struct kiln_component_t kiln_component_t;
typedef struct kiln_component_linker_t kiln_component_linker_t;
typedef struct kiln_component_instance_t kiln_component_instance_t;
typedef struct kiln_cval_t kiln_cval_t;
typedef struct kiln_resource_type_t kiln_resource_type_t;

/* ------------------------------------------------------------------------------------------
 * Components */

/* Whether the bytes start like a component (not a core module). */
KILN_API bool kiln_component_is_component(const wasm_byte_vec_t* binary);
/* Decodes, validates and compiles a component (its core modules with the engine's tier).
 * Null for a malformed or invalid one; kiln_last_error_message() names the section, item and
 * byte offset. */
KILN_API own kiln_component_t* kiln_component_new(wasm_engine_t*, const wasm_byte_vec_t* binary);
KILN_API void kiln_component_delete(own kiln_component_t*);

/* Imports and exports in order, each with its name and its type written as WIT
 * ("func(x: u32) -> string", "instance { log: func(message: string) }", "resource", ...).
 * False when `index` is out of range. */
KILN_API size_t kiln_component_import_count(const kiln_component_t*);
KILN_API size_t kiln_component_export_count(const kiln_component_t*);
KILN_API bool kiln_component_import(const kiln_component_t*, size_t index, own wasm_name_t* name,
                                    own wasm_name_t* type);
KILN_API bool kiln_component_export(const kiln_component_t*, size_t index, own wasm_name_t* name,
                                    own wasm_name_t* type);

/* ------------------------------------------------------------------------------------------
 * Values */

typedef uint8_t kiln_cval_kind_t;
enum kiln_cval_kind_enum {
  KILN_CVAL_BOOL,
  KILN_CVAL_S8,
  KILN_CVAL_U8,
  KILN_CVAL_S16,
  KILN_CVAL_U16,
  KILN_CVAL_S32,
  KILN_CVAL_U32,
  KILN_CVAL_S64,
  KILN_CVAL_U64,
  KILN_CVAL_F32,
  KILN_CVAL_F64,
  KILN_CVAL_CHAR,
  KILN_CVAL_STRING,
  KILN_CVAL_LIST, /* also fixed-length lists, and maps as lists of (key, value) tuples */
  KILN_CVAL_RECORD,
  KILN_CVAL_TUPLE,
  KILN_CVAL_VARIANT,
  KILN_CVAL_ENUM,
  KILN_CVAL_OPTION, /* case 0: none; case 1: some */
  KILN_CVAL_RESULT, /* case 0: ok; case 1: error */
  KILN_CVAL_FLAGS,
  KILN_CVAL_OWN,
  KILN_CVAL_BORROW,
};

KILN_API own kiln_cval_t* kiln_cval_new_bool(bool value);
/* An integer of kind S8..U64: `value` as two's complement; null when it does not fit the kind
 * (300 as a U8, say). */
KILN_API own kiln_cval_t* kiln_cval_new_int(kiln_cval_kind_t kind, int64_t value);
KILN_API own kiln_cval_t* kiln_cval_new_u64(uint64_t value);
KILN_API own kiln_cval_t* kiln_cval_new_f32(float value);
KILN_API own kiln_cval_t* kiln_cval_new_f64(double value);
/* Null for a surrogate or a value past U+10FFFF. */
KILN_API own kiln_cval_t* kiln_cval_new_char(uint32_t code_point);
/* Null unless `utf8` is valid UTF-8. */
KILN_API own kiln_cval_t* kiln_cval_new_string(const char* utf8, size_t length);
/* LIST, RECORD (fields in the type's order) or TUPLE, taking the items (which must be non-null;
 * on failure they are deleted). */
KILN_API own kiln_cval_t* kiln_cval_new_sequence(kiln_cval_kind_t kind, own kiln_cval_t** items,
                                                 size_t count);
/* A list<u8> of `length` bytes (copied), held packed: it moves into a guest at memcpy speed. */
KILN_API own kiln_cval_t* kiln_cval_new_bytes(const uint8_t* bytes, size_t length);
/* VARIANT, ENUM, OPTION or RESULT: the case's index, and its payload (own; null for none). */
KILN_API own kiln_cval_t* kiln_cval_new_case(kiln_cval_kind_t kind, uint32_t case_index,
                                             own kiln_cval_t* payload);
/* Flag i is bit i. */
KILN_API own kiln_cval_t* kiln_cval_new_flags(uint32_t bits);
/* An owning handle of a host resource (kiln_component_linker_define_resource) whose
 * representation is `rep`: passed to a guest, the guest owns it. */
KILN_API own kiln_cval_t* kiln_cval_new_own(const kiln_resource_type_t*, uint32_t rep);
/* A borrowed handle of a host resource, for a `borrow<T>` parameter: the guest may use it during
 * the call only (and must drop it before returning). */
KILN_API own kiln_cval_t* kiln_cval_new_borrow(const kiln_resource_type_t*, uint32_t rep);
KILN_API own kiln_cval_t* kiln_cval_copy(const kiln_cval_t*);
KILN_API void kiln_cval_delete(own kiln_cval_t*);

KILN_API kiln_cval_kind_t kiln_cval_kind(const kiln_cval_t*);
/* BOOL (0/1), the integers (two's complement), CHAR (the code point), FLAGS (the bits). */
KILN_API uint64_t kiln_cval_bits(const kiln_cval_t*);
KILN_API float kiln_cval_f32(const kiln_cval_t*);
KILN_API double kiln_cval_f64(const kiln_cval_t*);
/* STRING: its UTF-8 bytes (borrowed, not NUL-terminated) and their number. */
KILN_API const char* kiln_cval_string(const kiln_cval_t*, size_t* length);
/* LIST, RECORD, TUPLE: the items; VARIANT, OPTION, RESULT: the payload as item 0, if any. */
KILN_API size_t kiln_cval_item_count(const kiln_cval_t*);
KILN_API const kiln_cval_t* kiln_cval_item(const kiln_cval_t*, size_t index);
/* A LIST of u8 or s8 as bytes (borrowed, valid until the value is changed or deleted); null for
 * other values. Lists that guests return arrive packed, so this is their fast path. */
KILN_API const uint8_t* kiln_cval_bytes(const kiln_cval_t*, size_t* length);
/* VARIANT, ENUM, OPTION, RESULT: the case. */
KILN_API uint32_t kiln_cval_case(const kiln_cval_t*);
/* OWN, BORROW: the resource's representation, and whether it is of `type`. */
KILN_API uint32_t kiln_cval_rep(const kiln_cval_t*);
KILN_API bool kiln_cval_is_resource(const kiln_cval_t*, const kiln_resource_type_t* type);

/* ------------------------------------------------------------------------------------------
 * Linking and host functions */

KILN_API own kiln_component_linker_t* kiln_component_linker_new(void);
/* Instances made by the linker keep what they use of it: deleting it early is safe. */
KILN_API void kiln_component_linker_delete(own kiln_component_linker_t*);

/* A host function: the arguments (borrowed), and where to put the result for functions that
 * have one. Return false to trap; `error` (own, may be left empty) becomes the trap's message. */
typedef bool (*kiln_component_func_callback_t)(void* env, const kiln_cval_t* const* args,
                                               size_t arg_count, own kiln_cval_t** result,
                                               own wasm_name_t* error);

/* Defines a host function at a WIT path: an interface's function
 * ("local:app/logger@1.0.0#log") or a root function import ("log"). Imports match paths with
 * semver compatibility (an import of @1.2.0 links to a definition of @1.9.3, not @2.0.0).
 * False for a malformed path or one defined already. The finalizer runs on `env` when the
 * linker and the instances using it are gone. */
KILN_API bool kiln_component_linker_define_func(kiln_component_linker_t*, const char* path,
                                                kiln_component_func_callback_t callback, void* env,
                                                void (*finalizer)(void*));
/* Defines a host resource type at a path ("local:app/store@1.0.0#blob"). The destructor runs
 * when a guest drops an owning handle of one. Borrowed result, valid while the linker or an
 * instance using it lives; null on failure. */
KILN_API const kiln_resource_type_t* kiln_component_linker_define_resource(
    kiln_component_linker_t*, const char* path, void (*destructor)(void* env, uint32_t rep),
    void* env, void (*finalizer)(void*));

/* The component's imports that the linker does not define, one path per line
 * ("local:app/logger@1.0.0#log\n"; an imported interface is looked into, so each missing
 * function or resource is named), in *out (own; empty when nothing is missing). */
KILN_API bool kiln_component_linker_missing_imports(const kiln_component_linker_t*,
                                                    const kiln_component_t*, own wasm_name_t* out);
/* Defines each import of the component that the linker lacks: a function as one that traps
 * when called ("unknown import `PATH` called"), a resource type as a host resource without a
 * destructor (wasmtime's define_unknown_imports_as_traps). */
KILN_API bool kiln_component_linker_define_unknown_imports_as_traps(kiln_component_linker_t*,
                                                                    const kiln_component_t*);

/* Defines kiln's WASI 0.2 host on the linker (wasi:cli, wasi:io, wasi:clocks, wasi:random,
 * wasi:filesystem, wasi:sockets and wasi:http's types: README), with the grants of `wasi`
 * (kiln_wasi_new, kiln.h: its arguments, environment, preopened directories, stdio, network
 * and outgoing HTTP). The linker then instantiates
 * only in `wasi`'s store. False if the linker has WASI already, or
 * defines one of its names (those defined before the clash stay). */
KILN_API bool kiln_component_linker_define_wasi(kiln_component_linker_t*, kiln_wasi_t* wasi);

/* ------------------------------------------------------------------------------------------
 * Instances */

/* Instantiates the component in the store, its imports from the linker. Null when an import
 * is missing or does not fit (kiln_last_error_message() names it), or when instantiation traps
 * (then *trap, if trap is not null, receives the trap). */
KILN_API own kiln_component_instance_t* kiln_component_instantiate(const kiln_component_linker_t*,
                                                                   wasm_store_t*,
                                                                   const kiln_component_t*,
                                                                   own wasm_trap_t** trap);
KILN_API void kiln_component_instance_delete(own kiln_component_instance_t*);

/* Calls the exported function `name` (of the instance, or "interface#function" of an exported
 * instance). True when it returned (*result receives its result, or null for a function
 * without one). False when it did not: *trap receives the trap if it trapped (with its
 * backtrace: kiln.h), otherwise kiln_last_error_message() says why (no such export, arguments
 * that do not fit its type). */
KILN_API bool kiln_component_instance_call(kiln_component_instance_t*, const char* name,
                                           const kiln_cval_t* const* args, size_t arg_count,
                                           own kiln_cval_t** result, own wasm_trap_t** trap);

/* The same, with the call written in WAVE, the WebAssembly Value Encoding that wasmtime's CLI
 * uses: `greet("kiln")`, `local:app/api#move({x: 1, y: 2}, some(3))`. The arguments are parsed
 * by the function's parameter types (a malformed one: false, kiln_last_error_message() names it
 * and its byte offset); *result receives the result in WAVE (own; empty for a function without
 * one). */
KILN_API bool kiln_component_instance_call_wave(kiln_component_instance_t*, const char* call,
                                                own wasm_name_t* result, own wasm_trap_t** trap);

/* Drops an owning handle the host holds (an `own` a guest returned or passed to a host
 * function; kiln_cval_copy of one is the same handle, so drop it once): runs the resource's
 * destructor, in the guest that defines it or the host's. Takes the value. False when it is not
 * an owning handle (kiln_last_error_message()) or the destructor trapped (*trap). */
KILN_API bool kiln_component_resource_drop(wasm_store_t*, own kiln_cval_t* handle,
                                           own wasm_trap_t** trap);

#ifdef __cplusplus
}
#endif

#undef own

#endif /* KILN_COMPONENT_H */
