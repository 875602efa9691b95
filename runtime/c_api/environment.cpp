// wasm.h: config, engine, store, references (copy, same, host info, views), frames, traps,
// foreign objects and modules.
#include <algorithm>
#include <cstring>
#include <optional>

#include "runtime/c_api/c_api_internal.h"

using namespace kiln;
using namespace kiln::c_api;

namespace {

// Serialized modules: this tag, then the module's binary. kiln keeps no machine code, so a
// serialized module is its validated binary, and deserializing compiles it again.
constexpr char kSerializedTag[8] = {'k', 'i', 'l', 'n', 'm', 'o', 'd', '1'};

HostInfo* host_info_of(const wasm_ref_t* ref, bool create) {
  if (!ref) return nullptr;
  if (ref->kind == RefKind::kModule) return static_cast<const wasm_module_t*>(ref)->host_info.get();
  if (ref->kind == RefKind::kTrap) return static_cast<const wasm_trap_t*>(ref)->host_info.get();
  wasm_store_t* store = live_store_of(ref, "wasm_ref_get/set_host_info");
  if (!store) return nullptr;
  auto& table = store->host_info;
  auto it = table.find(ref->object);
  if (it != table.end()) return it->second.get();
  if (!create) return nullptr;
  return table.emplace(ref->object, std::make_unique<HostInfo>()).first->second.get();
}

// Copies share the original's store liveness: a copy never follows its store pointer, so
// copying a reference whose store was deleted is safe.
wasm_ref_t* copy_ref(const wasm_ref_t* ref) {
  if (!ref) return nullptr;
  switch (ref->kind) {
    case RefKind::kModule:
      return new wasm_module_t(*static_cast<const wasm_module_t*>(ref));
    case RefKind::kTrap:
      return new wasm_trap_t(*static_cast<const wasm_trap_t*>(ref));
    case RefKind::kFunc:
      return new wasm_func_t(*static_cast<const wasm_func_t*>(ref));
    case RefKind::kGlobal:
      return new wasm_global_t(*static_cast<const wasm_global_t*>(ref));
    case RefKind::kTable:
      return new wasm_table_t(*static_cast<const wasm_table_t*>(ref));
    case RefKind::kMemory:
      return new wasm_memory_t(*static_cast<const wasm_memory_t*>(ref));
    case RefKind::kInstance:
      return new wasm_instance_t(*static_cast<const wasm_instance_t*>(ref));
    case RefKind::kForeign:
      return new wasm_foreign_t(*static_cast<const wasm_foreign_t*>(ref));
  }
  return nullptr;
}

}  // namespace

wasm_store_t::~wasm_store_t() {
  // Finalizers run before the objects they describe go away.
  host_info.clear();
  environments.clear();
  deadline_env.reset();
}

namespace {

// What of a module's interface the wasm.h API cannot express: tags and exnref (Wasm 3.0
// exception handling) have no wasm_externkind_t or wasm_valkind_t. Such modules are refused
// whole rather than shown with holes; exceptions used inside a module are fine.
std::optional<std::string> inexpressible_interface(const Module& m) {
  auto mentions_exnref = [](const FuncType& t) {
    auto is_exnref = [](ValType v) { return v == ValType::kExnRef; };
    return std::any_of(t.params.begin(), t.params.end(), is_exnref) ||
           std::any_of(t.results.begin(), t.results.end(), is_exnref);
  };
  // What is wrong with an import or export of `kind`: its function type, or its global's or
  // table's value type.
  auto problem = [&](ExternKind kind, const FuncType* function, ValType value) -> const char* {
    if (kind == ExternKind::kTag) return "a tag";
    if (function && mentions_exnref(*function)) return "a function with exnref values";
    if (value == ValType::kExnRef) return "exnref values";
    return nullptr;
  };
  for (const Import& i : m.imports) {
    const FuncType* function = i.kind == ExternKind::kFunction ? &m.types[i.type_index] : nullptr;
    const ValType value = i.kind == ExternKind::kGlobal  ? i.global.type
                          : i.kind == ExternKind::kTable ? i.table.element
                                                         : ValType::kUnknown;
    if (const char* what = problem(i.kind, function, value)) {
      return "import \"" + i.module + "\" \"" + i.name + "\" is " + what;
    }
  }
  for (const Export& e : m.exports) {
    const FuncType* function =
        e.kind == ExternKind::kFunction ? &m.function_type(e.index) : nullptr;
    const ValType value = e.kind == ExternKind::kGlobal  ? m.globals[e.index].type.type
                          : e.kind == ExternKind::kTable ? m.tables[e.index].element
                                                         : ValType::kUnknown;
    if (const char* what = problem(e.kind, function, value)) {
      return "export \"" + e.name + "\" is " + what;
    }
  }
  return std::nullopt;
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------------------------------------
// Config, engine, store.

wasm_config_t* wasm_config_new(void) {
  return new wasm_config_t;
}
void wasm_config_delete(wasm_config_t* config) {
  delete config;
}

wasm_engine_t* wasm_engine_new(void) {
  return new wasm_engine_t{Engine{}, standard_store_limits()};
}
wasm_engine_t* wasm_engine_new_with_config(wasm_config_t* config) {
  if (!config) return wasm_engine_new();
  auto* engine = new wasm_engine_t{Engine{config->engine}, config->limits};
  delete config;
  return engine;
}
void wasm_engine_delete(wasm_engine_t* engine) {
  delete engine;
}

wasm_store_t* wasm_store_new(wasm_engine_t* engine) {
  if (!engine) return fail("wasm_store_new: null engine", static_cast<wasm_store_t*>(nullptr));
  return new wasm_store_t(engine, engine->limits);
}
void wasm_store_delete(wasm_store_t* store) {
  if (!store) return;
  // References to the store's objects see it gone from now on. Deleted inside a host callback
  // (or a deadline callback), it is freed once the outermost call into it returns; that call
  // ends with a trap.
  store->liveness->store = nullptr;
  if (store->calls > 0) {
    store->delete_pending = true;
    return;
  }
  delete store;
}

// ---------------------------------------------------------------------------------------------
// References: the common operations, and the views between each kind and wasm_ref_t.

void wasm_ref_delete(wasm_ref_t* ref) {
  delete ref;
}
wasm_ref_t* wasm_ref_copy(const wasm_ref_t* ref) {
  return copy_ref(ref);
}
bool wasm_ref_same(const wasm_ref_t* a, const wasm_ref_t* b) {
  if (!a || !b) return a == b;
  return a->kind == b->kind && a->object == b->object;
}
void* wasm_ref_get_host_info(const wasm_ref_t* ref) {
  HostInfo* info = host_info_of(ref, false);
  return info ? info->info : nullptr;
}
void wasm_ref_set_host_info_with_finalizer(wasm_ref_t* ref, void* info, void (*finalizer)(void*)) {
  if (HostInfo* slot = host_info_of(ref, true)) slot->reset(info, finalizer);
}
void wasm_ref_set_host_info(wasm_ref_t* ref, void* info) {
  wasm_ref_set_host_info_with_finalizer(ref, info, nullptr);
}

#define KILN_REF_COMMON(name, ref_kind_test)                                            \
  void wasm_##name##_delete(wasm_##name##_t* ref) {                                     \
    delete ref;                                                                         \
  }                                                                                     \
  wasm_##name##_t* wasm_##name##_copy(const wasm_##name##_t* ref) {                     \
    return static_cast<wasm_##name##_t*>(copy_ref(ref));                                \
  }                                                                                     \
  bool wasm_##name##_same(const wasm_##name##_t* a, const wasm_##name##_t* b) {         \
    return wasm_ref_same(a, b);                                                         \
  }                                                                                     \
  void* wasm_##name##_get_host_info(const wasm_##name##_t* ref) {                       \
    return wasm_ref_get_host_info(ref);                                                 \
  }                                                                                     \
  void wasm_##name##_set_host_info(wasm_##name##_t* ref, void* info) {                  \
    wasm_ref_set_host_info(ref, info);                                                  \
  }                                                                                     \
  void wasm_##name##_set_host_info_with_finalizer(wasm_##name##_t* ref, void* info,     \
                                                  void (*finalizer)(void*)) {           \
    wasm_ref_set_host_info_with_finalizer(ref, info, finalizer);                        \
  }                                                                                     \
  wasm_ref_t* wasm_##name##_as_ref(wasm_##name##_t* ref) {                              \
    return ref;                                                                         \
  }                                                                                     \
  const wasm_ref_t* wasm_##name##_as_ref_const(const wasm_##name##_t* ref) {            \
    return ref;                                                                         \
  }                                                                                     \
  wasm_##name##_t* wasm_ref_as_##name(wasm_ref_t* ref) {                                \
    return ref && (ref_kind_test) ? static_cast<wasm_##name##_t*>(ref) : nullptr;       \
  }                                                                                     \
  const wasm_##name##_t* wasm_ref_as_##name##_const(const wasm_ref_t* ref) {            \
    return ref && (ref_kind_test) ? static_cast<const wasm_##name##_t*>(ref) : nullptr; \
  }

KILN_REF_COMMON(func, ref->kind == RefKind::kFunc)
KILN_REF_COMMON(global, ref->kind == RefKind::kGlobal)
KILN_REF_COMMON(table, ref->kind == RefKind::kTable)
KILN_REF_COMMON(memory, ref->kind == RefKind::kMemory)
KILN_REF_COMMON(extern, ref->kind <= RefKind::kMemory)
KILN_REF_COMMON(instance, ref->kind == RefKind::kInstance)
KILN_REF_COMMON(module, ref->kind == RefKind::kModule)
KILN_REF_COMMON(foreign, ref->kind == RefKind::kForeign)
KILN_REF_COMMON(trap, ref->kind == RefKind::kTrap)

// ---------------------------------------------------------------------------------------------
// Frames and traps.

void wasm_frame_delete(wasm_frame_t* frame) {
  delete frame;
}
wasm_frame_t* wasm_frame_copy(const wasm_frame_t* frame) {
  if (!frame) return nullptr;
  auto* copy = new wasm_frame_t;
  copy->instance = frame->instance ? wasm_instance_copy(frame->instance) : nullptr;
  copy->function_name = frame->function_name;
  copy->function_index = frame->function_index;
  copy->function_offset = frame->function_offset;
  copy->module_offset = frame->module_offset;
  return copy;
}
wasm_instance_t* wasm_frame_instance(const wasm_frame_t* frame) {
  // Null once the instance's store is gone: a frame (in a trap) may outlive it.
  return frame && frame->instance && frame->instance->live_store() ? frame->instance : nullptr;
}
uint32_t wasm_frame_func_index(const wasm_frame_t* frame) {
  return frame ? frame->function_index : 0;
}
size_t wasm_frame_func_offset(const wasm_frame_t* frame) {
  return frame ? frame->function_offset : 0;
}
size_t wasm_frame_module_offset(const wasm_frame_t* frame) {
  return frame ? frame->module_offset : 0;
}

wasm_trap_t* wasm_trap_new(wasm_store_t* store, const wasm_message_t* message) {
  if (!store) return fail("wasm_trap_new: null store", static_cast<wasm_trap_t*>(nullptr));
  std::string text;
  if (message && message->data) {
    text.assign(message->data, message->size);
    // Messages end with a null byte (wasm_name_new_from_string_nt); the text does not.
    if (!text.empty() && text.back() == '\0') text.pop_back();
  }
  return make_trap(store, Trap::make(TrapCode::kHostError, std::move(text)));
}
void wasm_trap_message(const wasm_trap_t* trap, wasm_message_t* out) {
  if (!out) return;
  if (!trap) return wasm_byte_vec_new_empty(out);
  const std::string& text = trap->trap->message;
  wasm_byte_vec_new(out, text.size() + 1, text.c_str());
}
wasm_frame_t* wasm_trap_origin(const wasm_trap_t* trap) {
  if (!trap || trap->trap->backtrace.empty()) return nullptr;
  wasm_frame_vec_t frames;
  wasm_trap_trace(trap, &frames);
  wasm_frame_t* origin = frames.data[0];
  frames.data[0] = nullptr;
  wasm_frame_vec_delete(&frames);
  return origin;
}
void wasm_trap_trace(const wasm_trap_t* trap, wasm_frame_vec_t* out) {
  if (!out) return;
  if (!trap) return wasm_frame_vec_new_empty(out);
  const auto& backtrace = trap->trap->backtrace;
  wasm_frame_vec_new_uninitialized(out, backtrace.size());
  for (size_t i = 0; i < out->size; ++i) {
    const TraceFrame& from = backtrace[i];
    auto* frame = new wasm_frame_t;
    frame->function_index = from.function_index;
    frame->module_offset = from.module_offset;
    frame->function_offset = from.function_offset;
    frame->function_name = from.function_name;
    // The instance only while its store exists: traps outlive stores.
    if (wasm_store_t* store = trap->live_store(); from.instance && store) {
      frame->instance = new wasm_instance_t(store, const_cast<Instance*>(from.instance));
    }
    out->data[i] = frame;
  }
}

// ---------------------------------------------------------------------------------------------
// Foreign objects.

wasm_foreign_t* wasm_foreign_new(wasm_store_t* store) {
  if (!store) return fail("wasm_foreign_new: null store", static_cast<wasm_foreign_t*>(nullptr));
  store->foreigns.push_back(std::make_unique<ForeignObject>());
  return new wasm_foreign_t(store, store->foreigns.back().get());
}

// ---------------------------------------------------------------------------------------------
// Modules.

wasm_module_t* wasm_module_new(wasm_store_t* store, const wasm_byte_vec_t* binary) {
  if (!store || !binary || (!binary->data && binary->size)) {
    return fail("wasm_module_new: null store or binary", static_cast<wasm_module_t*>(nullptr));
  }
  auto module =
      Module::compile(store->engine->engine,
                      std::span(reinterpret_cast<const uint8_t*>(binary->data), binary->size));
  if (!module.ok()) {
    return fail("wasm_module_new: " + module.error().message, static_cast<wasm_module_t*>(nullptr));
  }
  if (auto why = inexpressible_interface(**module)) {
    return fail("wasm_module_new: " + *why +
                    " (Wasm 3.0 exception handling), which the wasm.h API cannot express",
                static_cast<wasm_module_t*>(nullptr));
  }
  return new wasm_module_t(store->engine, std::move(*module), std::make_shared<HostInfo>());
}

bool wasm_module_validate(wasm_store_t* store, const wasm_byte_vec_t* binary) {
  if (!store || !binary || (!binary->data && binary->size)) {
    return fail("wasm_module_validate: null store or binary", false);
  }
  auto result =
      Module::validate(store->engine->engine,
                       std::span(reinterpret_cast<const uint8_t*>(binary->data), binary->size));
  if (!result.ok()) return fail("wasm_module_validate: " + result.error().message, false);
  return true;
}

void wasm_module_imports(const wasm_module_t* module, wasm_importtype_vec_t* out) {
  if (!out) return;
  if (!module) return wasm_importtype_vec_new_empty(out);
  const Module& m = *module->module;
  wasm_importtype_vec_new_uninitialized(out, m.imports.size());
  for (size_t i = 0; i < out->size; ++i) {
    const Import& import = m.imports[i];
    wasm_externtype_t* type = nullptr;
    switch (import.kind) {
      case ExternKind::kFunction:
        type = make_functype(m.types[import.type_index]);
        break;
      case ExternKind::kTable:
        type = make_tabletype(import.table);
        break;
      case ExternKind::kMemory:
        type = make_memorytype(import.memory);
        break;
      case ExternKind::kGlobal:
        type = make_globaltype(import.global);
        break;
      case ExternKind::kTag:  // refused by wasm_module_new
        break;
    }
    wasm_name_t module_name, name;
    wasm_name_new(&module_name, import.module.size(), import.module.data());
    wasm_name_new(&name, import.name.size(), import.name.data());
    out->data[i] = wasm_importtype_new(&module_name, &name, type);
  }
}

void wasm_module_exports(const wasm_module_t* module, wasm_exporttype_vec_t* out) {
  if (!out) return;
  if (!module) return wasm_exporttype_vec_new_empty(out);
  const Module& m = *module->module;
  wasm_exporttype_vec_new_uninitialized(out, m.exports.size());
  for (size_t i = 0; i < out->size; ++i) {
    const Export& exp = m.exports[i];
    wasm_externtype_t* type = nullptr;
    switch (exp.kind) {
      case ExternKind::kFunction:
        type = make_functype(m.function_type(exp.index));
        break;
      case ExternKind::kTable:
        type = make_tabletype(m.tables[exp.index]);
        break;
      case ExternKind::kMemory:
        type = make_memorytype(m.memories[exp.index]);
        break;
      case ExternKind::kGlobal:
        type = make_globaltype(m.globals[exp.index].type);
        break;
      case ExternKind::kTag:  // refused by wasm_module_new
        break;
    }
    wasm_name_t name;
    wasm_name_new(&name, exp.name.size(), exp.name.data());
    out->data[i] = wasm_exporttype_new(&name, type);
  }
}

void wasm_module_serialize(const wasm_module_t* module, wasm_byte_vec_t* out) {
  if (!out) return;
  if (!module) return wasm_byte_vec_new_empty(out);
  const std::span<const uint8_t> bytes = module->module->bytes;
  wasm_byte_vec_new_uninitialized(out, sizeof kSerializedTag + bytes.size());
  if (out->size == 0) return;
  std::memcpy(out->data, kSerializedTag, sizeof kSerializedTag);
  std::memcpy(out->data + sizeof kSerializedTag, bytes.data(), bytes.size());
}

wasm_module_t* wasm_module_deserialize(wasm_store_t* store, const wasm_byte_vec_t* bytes) {
  if (!bytes || bytes->size < sizeof kSerializedTag || !bytes->data ||
      std::memcmp(bytes->data, kSerializedTag, sizeof kSerializedTag) != 0) {
    return fail("wasm_module_deserialize: not a module serialized by kiln",
                static_cast<wasm_module_t*>(nullptr));
  }
  wasm_byte_vec_t binary{bytes->size - sizeof kSerializedTag, bytes->data + sizeof kSerializedTag};
  return wasm_module_new(store, &binary);
}

void wasm_shared_module_delete(wasm_shared_module_t* shared) {
  delete shared;
}
wasm_shared_module_t* wasm_module_share(const wasm_module_t* module) {
  if (!module) return nullptr;
  return new wasm_shared_module_t{module->engine, module->module};
}
wasm_module_t* wasm_module_obtain(wasm_store_t* store, const wasm_shared_module_t* shared) {
  if (!store || !shared) {
    return fail("wasm_module_obtain: null argument", static_cast<wasm_module_t*>(nullptr));
  }
  if (store->engine != shared->engine) {
    return fail("wasm_module_obtain: the module was compiled by another engine",
                static_cast<wasm_module_t*>(nullptr));
  }
  return new wasm_module_t(shared->engine, shared->module, std::make_shared<HostInfo>());
}

}  // extern "C"

namespace kiln::c_api {

StoreLimits standard_store_limits() {
  StoreLimits limits;
  limits.max_instances = UINT32_MAX;
  limits.max_tables = UINT32_MAX;
  limits.max_memories = UINT32_MAX;
  return limits;
}

wasm_store_t* live_store_of(const wasm_ref_t* ref, const char* function) {
  if (!ref) return fail(std::string(function) + ": null reference", nullptr);
  if (wasm_store_t* store = ref->live_store()) return store;
  return fail(std::string(function) + ": the object's store was deleted", nullptr);
}

wasm_trap_t* make_trap(wasm_store_t* store, TrapPtr trap) {
  return new wasm_trap_t(store, std::shared_ptr<const Trap>(std::move(trap)),
                         std::make_shared<HostInfo>());
}

TrapPtr take_trap(wasm_trap_t* trap) {
  auto copy = std::make_unique<Trap>(*trap->trap);
  delete trap;
  return copy;
}

}  // namespace kiln::c_api
