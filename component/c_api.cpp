// include/kiln_component.h: the component model from C, over component/'s C++ API.
#include <cstring>

#include "component/c_api_internal.h"
#include "component/canonical_abi.h"
#include "component/component_decoder.h"
#include "component/component_instance.h"
#include "component/component_linker.h"
#include "component/component_validator.h"
#include "component/unicode.h"
#include "component/wave.h"
#include "include/kiln_component.h"
#include "runtime/c_api/c_api_internal.h"

using namespace kiln;
using namespace kiln::c_api;
using kiln::component::ComponentValue;

struct kiln_component_t {
  std::unique_ptr<component::Component> decoded;
  std::unique_ptr<component::ValidatedComponent> validated;
};

// kiln_cval_t is never defined: a `kiln_cval_t*` is a ComponentValue* (so an item of a value
// is handed out in place, without a copy).

struct kiln_component_instance_t {
  std::shared_ptr<StoreLiveness> liveness;
  std::shared_ptr<component::ComponentInstance> instance;  // also attached to the store
  std::shared_ptr<const component::ComponentLinker> linker;
};

namespace {

using VKind = ComponentValue::Kind;

kiln_cval_t* wrap(ComponentValue v) {
  return reinterpret_cast<kiln_cval_t*>(new ComponentValue(std::move(v)));
}
const ComponentValue& value_of(const kiln_cval_t* v) {
  return *reinterpret_cast<const ComponentValue*>(v);
}
ComponentValue& value_of(kiln_cval_t* v) {
  return *reinterpret_cast<ComponentValue*>(v);
}
void release(kiln_cval_t* v) {
  delete reinterpret_cast<ComponentValue*>(v);
}

void name_out(wasm_name_t* out, const std::string& text) {
  wasm_byte_vec_new(out, text.size(), text.data());
}

// Import or export `index`, its type's parts named as the component's imports and exports
// name them.
bool describe(const component::resolved::ComponentType& component,
              const std::vector<component::resolved::NamedExtern>& externs, size_t index,
              wasm_name_t* name, wasm_name_t* type, const char* function) {
  component::resolved::TypeNames names;
  component::resolved::collect_type_names(component.imports, names);
  component::resolved::collect_type_names(component.exports, names);
  if (index >= externs.size() || !name || !type) {
    return fail(std::string(function) + ": index out of range or null output", false);
  }
  name_out(name, externs[index].name);
  name_out(type, component::resolved::to_wit(externs[index].type, &names));
  return true;
}

// The exported function at `path` ("function" or "interface#function"), or null (the last
// error says so).
component::ComponentFunction* exported_function(kiln_component_instance_t* i,
                                                const std::string& path, const char* function) {
  if (!i->liveness->store) {
    return fail(std::string(function) + ": the instance's store was deleted", nullptr);
  }
  component::ComponentFunction* f = i->instance->exported_function(path);
  if (!f) return fail(std::string(function) + ": no exported function `" + path + "`", nullptr);
  return f;
}

// Calls `f` with arguments of its type; a trap goes to *trap.
bool call_function(kiln_component_instance_t* i, component::ComponentFunction& f,
                   const std::string& path, const std::vector<ComponentValue>& args,
                   std::optional<ComponentValue>& out, wasm_trap_t** trap, const char* function) {
  wasm_store_t* store = i->liveness->store;
  StoreCall call(store);
  if (TrapPtr t = component::call_component_function(store->store, f, args, out)) {
    if (trap) *trap = make_trap(store, std::move(t));
    return fail(std::string(function) + ": `" + path + "` trapped", false);
  }
  return true;
}

}  // namespace

extern "C" {

// ---- components ----

bool kiln_component_is_component(const wasm_byte_vec_t* binary) {
  if (!binary || (!binary->data && binary->size)) return false;
  return component::is_component(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(binary->data), binary->size));
}

kiln_component_t* kiln_component_new(wasm_engine_t* engine, const wasm_byte_vec_t* binary) {
  if (!engine || !binary || (!binary->data && binary->size)) {
    return fail("kiln_component_new: null engine or binary", nullptr);
  }
  auto loaded = component::load_component(
      engine->engine,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(binary->data), binary->size));
  if (!loaded) return fail("kiln_component_new: " + loaded.error().message, nullptr);
  return new kiln_component_t{std::move(loaded->decoded), std::move(loaded->validated)};
}

void kiln_component_delete(kiln_component_t* c) {
  delete c;
}

size_t kiln_component_import_count(const kiln_component_t* c) {
  return c ? c->validated->type->imports.size() : 0;
}
size_t kiln_component_export_count(const kiln_component_t* c) {
  return c ? c->validated->type->exports.size() : 0;
}
bool kiln_component_import(const kiln_component_t* c, size_t index, wasm_name_t* name,
                           wasm_name_t* type) {
  if (!c) return fail("kiln_component_import: null component", false);
  return describe(*c->validated->type, c->validated->type->imports, index, name, type,
                  "kiln_component_import");
}
bool kiln_component_export(const kiln_component_t* c, size_t index, wasm_name_t* name,
                           wasm_name_t* type) {
  if (!c) return fail("kiln_component_export: null component", false);
  return describe(*c->validated->type, c->validated->type->exports, index, name, type,
                  "kiln_component_export");
}

// ---- values ----

kiln_cval_t* kiln_cval_new_bool(bool value) {
  return wrap(ComponentValue::integer(VKind::kBool, value ? 1 : 0));
}

kiln_cval_t* kiln_cval_new_int(kiln_cval_kind_t kind, int64_t value) {
  int64_t lo = 0, hi = 0;
  switch (kind) {
    case KILN_CVAL_S8:
      lo = INT8_MIN, hi = INT8_MAX;
      break;
    case KILN_CVAL_U8:
      lo = 0, hi = UINT8_MAX;
      break;
    case KILN_CVAL_S16:
      lo = INT16_MIN, hi = INT16_MAX;
      break;
    case KILN_CVAL_U16:
      lo = 0, hi = UINT16_MAX;
      break;
    case KILN_CVAL_S32:
      lo = INT32_MIN, hi = INT32_MAX;
      break;
    case KILN_CVAL_U32:
      lo = 0, hi = UINT32_MAX;
      break;
    case KILN_CVAL_S64:
      lo = INT64_MIN, hi = INT64_MAX;
      break;
    case KILN_CVAL_U64:
      lo = 0, hi = INT64_MAX;
      break;  // larger: kiln_cval_new_u64
    default:
      return fail("kiln_cval_new_int: not an integer kind", nullptr);
  }
  if (value < lo || value > hi)
    return fail("kiln_cval_new_int: the value does not fit the kind", nullptr);
  return wrap(ComponentValue::integer(static_cast<VKind>(kind), static_cast<uint64_t>(value)));
}

kiln_cval_t* kiln_cval_new_u64(uint64_t value) {
  return wrap(ComponentValue::integer(VKind::kU64, value));
}

kiln_cval_t* kiln_cval_new_f32(float value) {
  ComponentValue v;
  v.kind = VKind::kF32;
  v.f32 = value;
  return wrap(std::move(v));
}
kiln_cval_t* kiln_cval_new_f64(double value) {
  ComponentValue v;
  v.kind = VKind::kF64;
  v.f64 = value;
  return wrap(std::move(v));
}
kiln_cval_t* kiln_cval_new_char(uint32_t c) {
  if (c >= 0x110000 || (c >= 0xd800 && c <= 0xdfff)) {
    return fail("kiln_cval_new_char: not a Unicode scalar value", nullptr);
  }
  return wrap(ComponentValue::integer(VKind::kChar, c));
}
kiln_cval_t* kiln_cval_new_string(const char* utf8, size_t length) {
  if (!utf8 && length) return fail("kiln_cval_new_string: null text", nullptr);
  if (length && component::validate_utf8(reinterpret_cast<const uint8_t*>(utf8), length))
    return fail("kiln_cval_new_string: not UTF-8", nullptr);
  return wrap(ComponentValue::string(length ? std::string(utf8, length) : std::string()));
}

kiln_cval_t* kiln_cval_new_sequence(kiln_cval_kind_t kind, kiln_cval_t** items, size_t count) {
  auto release_all = [&]() {
    for (size_t i = 0; items && i < count; ++i) release(items[i]);
  };
  if (kind != KILN_CVAL_LIST && kind != KILN_CVAL_RECORD && kind != KILN_CVAL_TUPLE) {
    release_all();
    return fail("kiln_cval_new_sequence: not LIST, RECORD or TUPLE", nullptr);
  }
  if (count && !items) return fail("kiln_cval_new_sequence: null items", nullptr);
  for (size_t i = 0; i < count; ++i) {
    if (!items[i]) {
      release_all();
      return fail("kiln_cval_new_sequence: a null item", nullptr);
    }
  }
  ComponentValue v;
  v.kind = static_cast<VKind>(kind);
  for (size_t i = 0; i < count; ++i) {
    v.items.push_back(std::move(value_of(items[i])));
    release(items[i]);
  }
  return wrap(std::move(v));
}

kiln_cval_t* kiln_cval_new_case(kiln_cval_kind_t kind, uint32_t case_index, kiln_cval_t* payload) {
  if (kind != KILN_CVAL_VARIANT && kind != KILN_CVAL_ENUM && kind != KILN_CVAL_OPTION &&
      kind != KILN_CVAL_RESULT) {
    release(payload);
    return fail("kiln_cval_new_case: not VARIANT, ENUM, OPTION or RESULT", nullptr);
  }
  ComponentValue v;
  v.kind = static_cast<VKind>(kind);
  v.index = case_index;
  if (payload) {
    v.items.push_back(std::move(value_of(payload)));
    release(payload);
  }
  return wrap(std::move(v));
}

kiln_cval_t* kiln_cval_new_flags(uint32_t bits) {
  return wrap(ComponentValue::integer(VKind::kFlags, bits));
}

kiln_cval_t* kiln_cval_new_own(const kiln_resource_type_t* type, uint32_t rep) {
  if (!type) return fail("kiln_cval_new_own: null resource type", nullptr);
  return wrap(
      ComponentValue::own(reinterpret_cast<const component::RuntimeResourceType*>(type), rep));
}

kiln_cval_t* kiln_cval_new_borrow(const kiln_resource_type_t* type, uint32_t rep) {
  if (!type) return fail("kiln_cval_new_borrow: null resource type", nullptr);
  ComponentValue v =
      ComponentValue::own(reinterpret_cast<const component::RuntimeResourceType*>(type), rep);
  v.kind = VKind::kBorrow;
  return wrap(std::move(v));
}

kiln_cval_t* kiln_cval_copy(const kiln_cval_t* v) {
  if (!v) return fail("kiln_cval_copy: null value", nullptr);
  return wrap(value_of(v));
}
void kiln_cval_delete(kiln_cval_t* v) {
  release(v);
}

kiln_cval_kind_t kiln_cval_kind(const kiln_cval_t* v) {
  return v ? static_cast<kiln_cval_kind_t>(value_of(v).kind) : kiln_cval_kind_t{KILN_CVAL_BOOL};
}
uint64_t kiln_cval_bits(const kiln_cval_t* v) {
  return v ? value_of(v).bits : 0;
}
float kiln_cval_f32(const kiln_cval_t* v) {
  return v ? value_of(v).f32 : 0;
}
double kiln_cval_f64(const kiln_cval_t* v) {
  return v ? value_of(v).f64 : 0;
}
const char* kiln_cval_string(const kiln_cval_t* v, size_t* length) {
  if (!v || value_of(v).kind != VKind::kString) {
    if (length) *length = 0;
    return fail("kiln_cval_string: not a string", nullptr);
  }
  if (length) *length = value_of(v).text.size();
  return value_of(v).text.data();
}
size_t kiln_cval_item_count(const kiln_cval_t* v) {
  if (!v) return 0;
  return value_of(v).kind == VKind::kList ? value_of(v).list_size() : value_of(v).items.size();
}
const kiln_cval_t* kiln_cval_item(const kiln_cval_t* v, size_t index) {
  if (!v || index >= kiln_cval_item_count(v)) {
    return fail("kiln_cval_item: index out of range", nullptr);
  }
  // A packed list<u8> gets its items when one is first asked for (kiln_cval_bytes reads it
  // without them).
  const_cast<ComponentValue&>(value_of(v)).unpack();
  return reinterpret_cast<const kiln_cval_t*>(&value_of(v).items[index]);
}
const uint8_t* kiln_cval_bytes(const kiln_cval_t* v, size_t* length) {
  if (length) *length = 0;
  if (!v || value_of(v).kind != VKind::kList) return fail("kiln_cval_bytes: not a list", nullptr);
  ComponentValue& value = const_cast<ComponentValue&>(value_of(v));
  if (!value.packed) {
    // A list of u8 or s8 items is packed now; any other list has no bytes.
    std::string bytes;
    for (const ComponentValue& item : value.items) {
      if (item.kind != VKind::kU8 && item.kind != VKind::kS8) {
        return fail("kiln_cval_bytes: not a list of u8 or s8", nullptr);
      }
      bytes.push_back(static_cast<char>(item.bits));
    }
    const VKind element = value.items.empty() ? VKind::kU8 : value.items[0].kind;
    value = ComponentValue::bytes(std::move(bytes), element);
  }
  if (length) *length = value.text.size();
  return reinterpret_cast<const uint8_t*>(value.text.data());
}

kiln_cval_t* kiln_cval_new_bytes(const uint8_t* bytes, size_t length) {
  if (!bytes && length) return fail("kiln_cval_new_bytes: null bytes", nullptr);
  return wrap(ComponentValue::bytes(
      length ? std::string(reinterpret_cast<const char*>(bytes), length) : std::string()));
}

uint32_t kiln_cval_case(const kiln_cval_t* v) {
  return v ? value_of(v).index : 0;
}
uint32_t kiln_cval_rep(const kiln_cval_t* v) {
  return v ? value_of(v).rep : 0;
}
bool kiln_cval_is_resource(const kiln_cval_t* v, const kiln_resource_type_t* type) {
  return v && (value_of(v).kind == VKind::kOwn || value_of(v).kind == VKind::kBorrow) &&
         value_of(v).resource == reinterpret_cast<const component::RuntimeResourceType*>(type);
}

// ---- linking ----

kiln_component_linker_t* kiln_component_linker_new(void) {
  return new kiln_component_linker_t;
}
void kiln_component_linker_delete(kiln_component_linker_t* l) {
  delete l;
}

bool kiln_component_linker_define_func(kiln_component_linker_t* l, const char* path,
                                       kiln_component_func_callback_t callback, void* env,
                                       void (*finalizer)(void*)) {
  if (!l || !path || !callback) {
    return fail("kiln_component_linker_define_func: null linker, path or callback", false);
  }
  auto environment = std::make_shared<HostInfo>();
  environment->reset(env, finalizer);
  auto host = [callback, environment](Store&, const component::resolved::FunctionType&,
                                      const std::vector<ComponentValue>& args,
                                      std::optional<ComponentValue>& result) -> TrapPtr {
    std::vector<const kiln_cval_t*> pointers;
    for (const ComponentValue& a : args)
      pointers.push_back(reinterpret_cast<const kiln_cval_t*>(&a));
    kiln_cval_t* out = nullptr;
    wasm_name_t error = WASM_EMPTY_VEC;
    const bool ok = callback(environment->info, pointers.data(), pointers.size(), &out, &error);
    std::string message = error.data ? std::string(error.data, error.size) : std::string();
    wasm_byte_vec_delete(&error);
    if (!ok) {
      release(out);
      return component::abi_trap(message.empty() ? "host function failed" : message);
    }
    if (out) {
      result = std::move(value_of(out));
      release(out);
    }
    return nullptr;
  };
  if (auto r = l->linker->define_function(path, std::move(host)); !r) {
    return fail("kiln_component_linker_define_func: " + r.error().message, false);
  }
  return true;
}

const kiln_resource_type_t* kiln_component_linker_define_resource(
    kiln_component_linker_t* l, const char* path, void (*destructor)(void* env, uint32_t rep),
    void* env, void (*finalizer)(void*)) {
  if (!l || !path)
    return fail("kiln_component_linker_define_resource: null linker or path", nullptr);
  auto environment = std::make_shared<HostInfo>();
  environment->reset(env, finalizer);
  component::HostResourceDestructor drop;
  if (destructor)
    drop = [destructor, environment](Store&, uint32_t rep) { destructor(environment->info, rep); };
  auto defined = l->linker->define_resource(path, std::move(drop));
  if (!defined)
    return fail("kiln_component_linker_define_resource: " + defined.error().message, nullptr);
  return reinterpret_cast<const kiln_resource_type_t*>(*defined);
}

bool kiln_component_linker_missing_imports(const kiln_component_linker_t* l,
                                           const kiln_component_t* c, wasm_name_t* out) {
  if (!l || !c || !out) return fail("kiln_component_linker_missing_imports: null argument", false);
  std::string list;
  for (const std::string& path : l->linker->missing_imports(*c->validated)) list += path + "\n";
  name_out(out, list);
  return true;
}

bool kiln_component_linker_define_unknown_imports_as_traps(kiln_component_linker_t* l,
                                                           const kiln_component_t* c) {
  if (!l || !c) {
    return fail("kiln_component_linker_define_unknown_imports_as_traps: null argument", false);
  }
  if (auto defined = l->linker->define_unknown_imports_as_traps(*c->validated); !defined) {
    return fail("kiln_component_linker_define_unknown_imports_as_traps: " + defined.error().message,
                false);
  }
  return true;
}

// ---- instances ----

kiln_component_instance_t* kiln_component_instantiate(const kiln_component_linker_t* l,
                                                      wasm_store_t* store,
                                                      const kiln_component_t* c,
                                                      wasm_trap_t** trap) {
  if (trap) *trap = nullptr;
  if (!l || !store || !c) return fail("kiln_component_instantiate: null argument", nullptr);
  if (l->wasi_store && l->wasi_store->store != store) {
    return fail("kiln_component_instantiate: the linker's WASI belongs to another store", nullptr);
  }
  for (const auto& m : c->validated->core_modules) {
    if (m->engine != &store->engine->engine) {
      return fail("kiln_component_instantiate: the component was compiled by another engine",
                  nullptr);
    }
  }
  StoreCall call(store);
  TrapPtr start_trap;
  auto instance = l->linker->instantiate(store->store, *c->validated, &start_trap);
  if (!instance) {
    if (start_trap && trap) *trap = make_trap(store, std::move(start_trap));
    return fail("kiln_component_instantiate: " + instance.error().message, nullptr);
  }
  std::shared_ptr<component::ComponentInstance> shared(std::move(*instance));
  store->attachments.push_back(shared);
  auto* out = new kiln_component_instance_t;
  out->liveness = store->liveness;
  out->instance = std::move(shared);
  out->linker = l->linker;
  return out;
}

void kiln_component_instance_delete(kiln_component_instance_t* i) {
  delete i;
}

bool kiln_component_instance_call(kiln_component_instance_t* i, const char* name,
                                  const kiln_cval_t* const* args, size_t arg_count,
                                  kiln_cval_t** result, wasm_trap_t** trap) {
  if (trap) *trap = nullptr;
  if (result) *result = nullptr;
  if (!i || !name || (arg_count && !args)) {
    return fail("kiln_component_instance_call: null argument", false);
  }
  const std::string path = name;
  component::ComponentFunction* f = exported_function(i, path, "kiln_component_instance_call");
  if (!f) return false;
  if (arg_count != f->type->params.size()) {
    return fail("kiln_component_instance_call: `" + path + "` takes " +
                    std::to_string(f->type->params.size()) + " arguments, given " +
                    std::to_string(arg_count),
                false);
  }
  std::vector<ComponentValue> values;
  for (size_t k = 0; k < arg_count; ++k) {
    if (!args[k] || !component::value_matches(value_of(args[k]), f->type->params[k].type)) {
      return fail("kiln_component_instance_call: argument " + std::to_string(k) + " of `" + path +
                      "` is not a " + component::resolved::to_wit(f->type->params[k].type),
                  false);
    }
    values.push_back(value_of(args[k]));
  }
  std::optional<ComponentValue> out;
  if (!call_function(i, *f, path, values, out, trap, "kiln_component_instance_call")) return false;
  if (out && result) *result = wrap(std::move(*out));
  return true;
}

bool kiln_component_instance_call_wave(kiln_component_instance_t* i, const char* call,
                                       wasm_name_t* result, wasm_trap_t** trap) {
  constexpr const char* kFunction = "kiln_component_instance_call_wave";
  if (trap) *trap = nullptr;
  if (result) name_out(result, "");
  if (!i || !call) return fail(std::string(kFunction) + ": null argument", false);
  auto parsed = component::split_wave_call(call);
  if (!parsed) return fail(std::string(kFunction) + ": " + parsed.error().message, false);
  component::ComponentFunction* f = exported_function(i, parsed->name, kFunction);
  if (!f) return false;
  auto args = component::parse_wave_arguments(*parsed, *f->type);
  if (!args) return fail(std::string(kFunction) + ": " + args.error().message, false);
  std::optional<ComponentValue> out;
  if (!call_function(i, *f, parsed->name, *args, out, trap, kFunction)) return false;
  if (out && f->type->result && result) {
    wasm_byte_vec_delete(result);
    name_out(result, component::to_wave(*out, *f->type->result));
  }
  return true;
}

bool kiln_component_resource_drop(wasm_store_t* store, kiln_cval_t* handle, wasm_trap_t** trap) {
  if (trap) *trap = nullptr;
  if (!store || !handle) {
    release(handle);
    return fail("kiln_component_resource_drop: null store or handle", false);
  }
  const ComponentValue value = value_of(handle);
  release(handle);
  if (value.kind != VKind::kOwn || !value.resource) {
    return fail("kiln_component_resource_drop: not an owning handle", false);
  }
  if (value.resource->implementation && value.resource->implementation->store != &store->store) {
    return fail("kiln_component_resource_drop: the resource belongs to another store", false);
  }
  StoreCall call(store);
  if (TrapPtr t = component::drop_resource(store->store, value)) {
    if (trap) *trap = make_trap(store, std::move(t));
    return fail("kiln_component_resource_drop: the destructor trapped", false);
  }
  return true;
}

}  // extern "C"
