// wasm.h: values, functions (host functions and calls), globals, tables, memories, externals
// and instances.
#include <algorithm>
#include <cstring>

#include "runtime/c_api/c_api_internal.h"

using namespace kiln;
using namespace kiln::c_api;

namespace kiln::c_api {

bool ref_to_cell(wasm_store_t* store, const wasm_ref_t* ref, ValType type, uint64_t* cell) {
  if (!ref) {
    *cell = 0;
    return true;
  }
  if (ref->live_store() != store) return false;
  if (type == ValType::kFuncRef) {
    if (ref->kind != RefKind::kFunc) return false;
    *cell = reinterpret_cast<uintptr_t>(ref->object);
    return true;
  }
  // externref: any store object; its address is the value, and the store remembers its kind
  // so the value can come back as a reference of that kind.
  if (ref->kind == RefKind::kModule || ref->kind == RefKind::kTrap) return false;
  *cell = reinterpret_cast<uintptr_t>(ref->object);
  store->extern_objects[*cell] = ref->kind;
  return true;
}

wasm_ref_t* cell_to_ref(wasm_store_t* store, uint64_t cell, ValType type) {
  if (cell == 0) return nullptr;
  RefKind kind = RefKind::kFunc;
  if (type == ValType::kExternRef) {
    auto it = store->extern_objects.find(cell);
    if (it == store->extern_objects.end()) return nullptr;  // not one the embedder made
    kind = it->second;
  }
  return make_ref(store, kind, reinterpret_cast<void*>(static_cast<uintptr_t>(cell)));
}

wasm_ref_t* make_ref(wasm_store_t* store, RefKind kind, void* object) {
  switch (kind) {
    case RefKind::kFunc:
      return new wasm_func_t(store, static_cast<FunctionInstance*>(object));
    case RefKind::kGlobal:
      return new wasm_global_t(store, static_cast<GlobalInstance*>(object));
    case RefKind::kTable:
      return new wasm_table_t(store, static_cast<TableInstance*>(object));
    case RefKind::kMemory:
      return new wasm_memory_t(store, static_cast<MemoryInstance*>(object));
    case RefKind::kInstance:
      return new wasm_instance_t(store, static_cast<Instance*>(object));
    case RefKind::kForeign:
      return new wasm_foreign_t(store, static_cast<ForeignObject*>(object));
    default:
      return nullptr;  // modules and traps are not store objects
  }
}

bool val_to_cells(wasm_store_t* store, const wasm_val_t& val, ValType type, uint64_t* cells) {
  if (val.kind != kind_of_valtype(type)) return false;
  switch (type) {
    case ValType::kI32:
      cells[0] = static_cast<uint32_t>(val.of.i32);
      return true;
    case ValType::kI64:
      cells[0] = static_cast<uint64_t>(val.of.i64);
      return true;
    case ValType::kF32: {
      uint32_t bits;
      std::memcpy(&bits, &val.of.f32, 4);
      cells[0] = bits;
      return true;
    }
    case ValType::kF64:
      std::memcpy(&cells[0], &val.of.f64, 8);
      return true;
    case ValType::kFuncRef:
    case ValType::kExternRef:
      return ref_to_cell(store, val.of.ref, type, &cells[0]);
    default:
      return false;  // v128 has no wasm_val_t form
  }
}

void cells_to_val(wasm_store_t* store, const uint64_t* cells, ValType type, wasm_val_t* out) {
  out->kind = kind_of_valtype(type);
  switch (type) {
    case ValType::kI32:
      out->of.i32 = static_cast<int32_t>(static_cast<uint32_t>(cells[0]));
      break;
    case ValType::kI64:
      out->of.i64 = static_cast<int64_t>(cells[0]);
      break;
    case ValType::kF32: {
      uint32_t bits = static_cast<uint32_t>(cells[0]);
      std::memcpy(&out->of.f32, &bits, 4);
      break;
    }
    case ValType::kF64:
      std::memcpy(&out->of.f64, &cells[0], 8);
      break;
    case ValType::kFuncRef:
    case ValType::kExternRef:
      out->of.ref = cell_to_ref(store, cells[0], type);
      break;
    default:
      out->of.i64 = 0;
      break;
  }
}

wasm_extern_t* make_extern(wasm_store_t* store, const Extern& ext) {
  RefKind kind = RefKind::kFunc;
  switch (ext.kind) {
    case ExternKind::kFunction:
      kind = RefKind::kFunc;
      break;
    case ExternKind::kTable:
      kind = RefKind::kTable;
      break;
    case ExternKind::kMemory:
      kind = RefKind::kMemory;
      break;
    case ExternKind::kGlobal:
      kind = RefKind::kGlobal;
      break;
    case ExternKind::kTag:  // modules with tags in their interface are refused (wasm_module_new)
      return nullptr;
  }
  return static_cast<wasm_extern_t*>(make_ref(store, kind, ext.object));
}

}  // namespace kiln::c_api

wasm_externkind_t wasm_extern_t::extern_kind() const {
  switch (kind) {
    case RefKind::kGlobal:
      return WASM_EXTERN_GLOBAL;
    case RefKind::kTable:
      return WASM_EXTERN_TABLE;
    case RefKind::kMemory:
      return WASM_EXTERN_MEMORY;
    default:
      return WASM_EXTERN_FUNC;
  }
}

Extern wasm_extern_t::runtime_extern() const {
  switch (kind) {
    case RefKind::kGlobal:
      return Extern{ExternKind::kGlobal, object};
    case RefKind::kTable:
      return Extern{ExternKind::kTable, object};
    case RefKind::kMemory:
      return Extern{ExternKind::kMemory, object};
    default:
      return Extern{ExternKind::kFunction, object};
  }
}

namespace {

// An array of `size` value-initialised elements, on the stack when it is small: calls across
// the C API happen per call of a host function, so they avoid the heap in the common case.
template <typename T, size_t kInline = 16>
class CallBuffer {
 public:
  explicit CallBuffer(size_t size) : size_(size) {
    if (size > kInline) heap_.resize(size);
  }
  T* data() { return size_ > kInline ? heap_.data() : inline_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }

 private:
  size_t size_;
  T inline_[kInline] = {};
  std::vector<T> heap_;
};

bool has_v128(const FuncType& type) {
  auto is_v128 = [](ValType t) { return t == ValType::kV128; };
  return std::any_of(type.params.begin(), type.params.end(), is_v128) ||
         std::any_of(type.results.begin(), type.results.end(), is_v128);
}

// The runtime side of a host function made through wasm.h: converts cells to wasm_val_t and
// back around the embedder's callback.
TrapPtr call_c_function(wasm_store_t* store, const FuncType& type,
                        wasm_func_callback_with_env_t callback, void* env, uint64_t* cells) {
  CallBuffer<wasm_val_t> args(type.params.size()), results(type.results.size());
  for (size_t i = 0; i < args.size(); ++i) cells_to_val(store, &cells[i], type.params[i], &args[i]);
  for (size_t i = 0; i < results.size(); ++i) {
    results[i].kind = kind_of_valtype(type.results[i]);
    results[i].of.i64 = 0;
  }
  wasm_val_vec_t arg_vec{args.size(), args.data()};
  wasm_val_vec_t result_vec{results.size(), results.data()};
  wasm_trap_t* trap = callback(env, &arg_vec, &result_vec);
  for (wasm_val_t& arg : args) wasm_val_delete(&arg);
  TrapPtr out;
  if (trap) {
    out = take_trap(trap);
  } else if (!store->liveness->store) {
    // The callback deleted the store: nothing more runs in it (StoreCall frees it).
    out =
        Trap::make(TrapCode::kHostError, "the store was deleted by a host function during a call");
  } else {
    for (size_t i = 0; i < results.size() && !out; ++i) {
      if (!val_to_cells(store, results[i], type.results[i], &cells[i])) {
        out = Trap::make(TrapCode::kHostError,
                         "host function returned result " + std::to_string(i) +
                             " of the wrong kind or from another store (expected " +
                             valtype_name(type.results[i]) + ")");
      }
    }
  }
  for (wasm_val_t& result : results) wasm_val_delete(&result);
  return out;
}

// wasm_func_new's callback has no environment: it travels as the environment.
wasm_trap_t* call_without_env(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  return reinterpret_cast<wasm_func_callback_t>(env)(args, results);
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------------------------------------
// Values.

void wasm_val_delete(wasm_val_t* v) {
  if (v && wasm_valkind_is_ref(v->kind) && v->of.ref) {
    wasm_ref_delete(v->of.ref);
    v->of.ref = nullptr;
  }
}
void wasm_val_copy(wasm_val_t* out, const wasm_val_t* in) {
  if (!out || !in) return;
  *out = *in;
  if (wasm_valkind_is_ref(in->kind) && in->of.ref) out->of.ref = wasm_ref_copy(in->of.ref);
}

// ---------------------------------------------------------------------------------------------
// Functions.

wasm_func_t* wasm_func_new_with_env(wasm_store_t* store, const wasm_functype_t* type,
                                    wasm_func_callback_with_env_t callback, void* env,
                                    void (*finalizer)(void*)) {
  FuncType runtime_type;
  if (!store || !callback || !to_runtime(type, &runtime_type)) {
    if (finalizer) finalizer(env);
    return fail("wasm_func_new: null store or callback, or an unknown value type",
                static_cast<wasm_func_t*>(nullptr));
  }
  // wasm_val_t has no v128, so a callback could neither receive nor return one.
  if (has_v128(runtime_type)) {
    if (finalizer) finalizer(env);
    return fail("wasm_func_new: v128 parameters and results cannot pass through wasm.h (" +
                    runtime_type.to_string() + ")",
                static_cast<wasm_func_t*>(nullptr));
  }
  if (finalizer) {
    store->environments.push_back(std::make_unique<HostInfo>());
    store->environments.back()->reset(env, finalizer);
  }
  // The engine's interned copy of the type, held as long as the store (and so the function).
  const TypeRegistry::Interned interned_type = store->store.intern(runtime_type);
  const FuncType* interned = interned_type.type;
  FunctionInstance* function = store->store.create_host_function(
      interned_type,
      [store, interned, callback, env](HostCall&, uint64_t* cells) {
        return call_c_function(store, *interned, callback, env, cells);
      },
      "host");
  return new wasm_func_t(store, function);
}

wasm_func_t* wasm_func_new(wasm_store_t* store, const wasm_functype_t* type,
                           wasm_func_callback_t callback) {
  return wasm_func_new_with_env(store, type, call_without_env, reinterpret_cast<void*>(callback),
                                nullptr);
}

wasm_functype_t* wasm_func_type(const wasm_func_t* func) {
  return live_store_of(func, "wasm_func_type") ? make_functype(*func->function()->type) : nullptr;
}
size_t wasm_func_param_arity(const wasm_func_t* func) {
  return live_store_of(func, "wasm_func_param_arity") ? func->function()->type->params.size() : 0;
}
size_t wasm_func_result_arity(const wasm_func_t* func) {
  return live_store_of(func, "wasm_func_result_arity") ? func->function()->type->results.size() : 0;
}

wasm_trap_t* wasm_func_call(const wasm_func_t* func, const wasm_val_vec_t* args,
                            wasm_val_vec_t* results) {
  if (!func) return nullptr;
  wasm_store_t* store = func->live_store();
  auto bad_call = [&](const std::string& why) {
    set_last_error("wasm_func_call: " + why);
    return make_trap(store, Trap::make(TrapCode::kHostError, "wasm_func_call: " + why));
  };
  if (!store) return bad_call("the function's store was deleted");
  StoreCall in_call(store);
  const FuncType& type = *func->function()->type;
  if (has_v128(type)) return bad_call("v128 values cannot be passed through wasm.h");
  const size_t arg_count = args ? args->size : 0;
  const size_t result_count = results ? results->size : 0;
  if (arg_count != type.params.size() || (arg_count && !args->data)) {
    return bad_call("expected " + std::to_string(type.params.size()) + " arguments, got " +
                    std::to_string(arg_count));
  }
  // Any number of result slots is accepted, as other engines do: the results that fit are
  // written (programs pass WASM_EMPTY_VEC for a call they expect to trap).
  if (result_count && !results->data) return bad_call("results vector without data");
  CallBuffer<uint64_t> cells(std::max(type.params.size(), type.results.size()));
  for (size_t i = 0; i < arg_count; ++i) {
    if (!val_to_cells(store, args->data[i], type.params[i], &cells[i])) {
      return bad_call("argument " + std::to_string(i) + " is not a " +
                      valtype_name(type.params[i]) + " of this store");
    }
  }
  TrapPtr trap = store->store.invoke(func->function(), cells.data());
  if (trap) return make_trap(store, std::move(trap));
  for (size_t i = 0; i < std::min(result_count, type.results.size()); ++i) {
    cells_to_val(store, &cells[i], type.results[i], &results->data[i]);
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Globals.

wasm_global_t* wasm_global_new(wasm_store_t* store, const wasm_globaltype_t* type,
                               const wasm_val_t* value) {
  GlobalType runtime_type;
  uint64_t cells[2] = {0, 0};
  if (!store || !value || !to_runtime(type, &runtime_type) ||
      !val_to_cells(store, *value, runtime_type.type, cells)) {
    return fail("wasm_global_new: null argument, or a value not of the global's type",
                static_cast<wasm_global_t*>(nullptr));
  }
  return new wasm_global_t(store, store->store.create_global(runtime_type, cells[0], cells[1]));
}
wasm_globaltype_t* wasm_global_type(const wasm_global_t* global) {
  return live_store_of(global, "wasm_global_type") ? make_globaltype(global->global()->type)
                                                   : nullptr;
}
void wasm_global_get(const wasm_global_t* global, wasm_val_t* out) {
  if (!out || !live_store_of(global, "wasm_global_get")) return;
  cells_to_val(global->store, global->global()->cells, global->global()->type.type, out);
}
void wasm_global_set(wasm_global_t* global, const wasm_val_t* value) {
  if (!value) return set_last_error("wasm_global_set: null value");
  if (!live_store_of(global, "wasm_global_set")) return;
  GlobalInstance& g = *global->global();
  if (!g.type.mutable_) return set_last_error("wasm_global_set: the global is immutable");
  uint64_t cells[2] = {0, 0};
  if (!val_to_cells(global->store, *value, g.type.type, cells)) {
    return set_last_error("wasm_global_set: the value is not of the global's type");
  }
  g.cells[0] = cells[0];
  g.cells[1] = cells[1];
}

// ---------------------------------------------------------------------------------------------
// Tables.

wasm_table_t* wasm_table_new(wasm_store_t* store, const wasm_tabletype_t* type, wasm_ref_t* init) {
  TableType runtime_type;
  uint64_t cell = 0;
  if (!store || !to_runtime(type, &runtime_type) ||
      !ref_to_cell(store, init, runtime_type.element, &cell)) {
    return fail(
        "wasm_table_new: null store, a bad table type, or an initial reference of the "
        "wrong kind",
        static_cast<wasm_table_t*>(nullptr));
  }
  auto table = store->store.create_table(runtime_type, cell);
  if (!table.ok()) {
    return fail("wasm_table_new: " + table.error().message, static_cast<wasm_table_t*>(nullptr));
  }
  return new wasm_table_t(store, *table);
}
wasm_tabletype_t* wasm_table_type(const wasm_table_t* table) {
  return live_store_of(table, "wasm_table_type") ? make_tabletype(table->table()->type) : nullptr;
}
wasm_ref_t* wasm_table_get(const wasm_table_t* table, wasm_table_size_t index) {
  if (!live_store_of(table, "wasm_table_get")) return nullptr;
  const TableInstance& t = *table->table();
  if (index >= t.elements.size()) {
    return fail("wasm_table_get: index " + std::to_string(index) + " out of range",
                static_cast<wasm_ref_t*>(nullptr));
  }
  return cell_to_ref(table->store, t.elements[index], t.type.element);
}
bool wasm_table_set(wasm_table_t* table, wasm_table_size_t index, wasm_ref_t* ref) {
  if (!live_store_of(table, "wasm_table_set")) return false;
  TableInstance& t = *table->table();
  uint64_t cell = 0;
  if (index >= t.elements.size()) {
    return fail("wasm_table_set: index " + std::to_string(index) + " out of range", false);
  }
  if (!ref_to_cell(table->store, ref, t.type.element, &cell)) {
    return fail("wasm_table_set: the reference is of the wrong kind or another store", false);
  }
  t.elements[index] = cell;
  return true;
}
wasm_table_size_t wasm_table_size(const wasm_table_t* table) {
  return live_store_of(table, "wasm_table_size")
             ? static_cast<wasm_table_size_t>(table->table()->elements.size())
             : 0;
}
bool wasm_table_grow(wasm_table_t* table, wasm_table_size_t delta, wasm_ref_t* init) {
  if (!live_store_of(table, "wasm_table_grow")) return false;
  uint64_t cell = 0;
  if (!ref_to_cell(table->store, init, table->table()->type.element, &cell)) {
    return fail("wasm_table_grow: the reference is of the wrong kind or another store", false);
  }
  if (table->table()->grow(delta, cell) < 0) {
    return fail("wasm_table_grow: past the table's maximum or the store's limit", false);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Memories.

wasm_memory_t* wasm_memory_new(wasm_store_t* store, const wasm_memorytype_t* type) {
  MemoryType runtime_type;
  if (!store || !to_runtime(type, &runtime_type)) {
    return fail("wasm_memory_new: null store or a bad memory type",
                static_cast<wasm_memory_t*>(nullptr));
  }
  auto memory = store->store.create_memory(runtime_type);
  if (!memory.ok()) {
    return fail("wasm_memory_new: " + memory.error().message, static_cast<wasm_memory_t*>(nullptr));
  }
  return new wasm_memory_t(store, *memory);
}
wasm_memorytype_t* wasm_memory_type(const wasm_memory_t* memory) {
  return live_store_of(memory, "wasm_memory_type")
             ? make_memorytype(memory->memory()->memory->type())
             : nullptr;
}
byte_t* wasm_memory_data(wasm_memory_t* memory) {
  return live_store_of(memory, "wasm_memory_data")
             ? reinterpret_cast<byte_t*>(memory->memory()->memory->base())
             : nullptr;
}
size_t wasm_memory_data_size(const wasm_memory_t* memory) {
  return live_store_of(memory, "wasm_memory_data_size") ? memory->memory()->memory->size_bytes()
                                                        : 0;
}
wasm_memory_pages_t wasm_memory_size(const wasm_memory_t* memory) {
  return live_store_of(memory, "wasm_memory_size")
             ? static_cast<wasm_memory_pages_t>(memory->memory()->memory->pages())
             : 0;
}
bool wasm_memory_grow(wasm_memory_t* memory, wasm_memory_pages_t delta) {
  if (!live_store_of(memory, "wasm_memory_grow")) return false;
  if (memory->memory()->grow(delta) < 0) {
    return fail("wasm_memory_grow: past the memory's maximum or the store's limit", false);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Externals.

wasm_externkind_t wasm_extern_kind(const wasm_extern_t* ext) {
  return ext ? ext->extern_kind() : wasm_externkind_t{WASM_EXTERN_FUNC};
}
wasm_externtype_t* wasm_extern_type(const wasm_extern_t* ext) {
  if (!ext) return nullptr;
  switch (ext->kind) {
    case RefKind::kFunc:
      return wasm_func_type(static_cast<const wasm_func_t*>(ext));
    case RefKind::kGlobal:
      return wasm_global_type(static_cast<const wasm_global_t*>(ext));
    case RefKind::kTable:
      return wasm_table_type(static_cast<const wasm_table_t*>(ext));
    default:
      return wasm_memory_type(static_cast<const wasm_memory_t*>(ext));
  }
}

#define KILN_EXTERN_VIEWS(name, ref_kind)                                               \
  wasm_extern_t* wasm_##name##_as_extern(wasm_##name##_t* x) {                          \
    return x;                                                                           \
  }                                                                                     \
  const wasm_extern_t* wasm_##name##_as_extern_const(const wasm_##name##_t* x) {        \
    return x;                                                                           \
  }                                                                                     \
  wasm_##name##_t* wasm_extern_as_##name(wasm_extern_t* x) {                            \
    return x && x->kind == ref_kind ? static_cast<wasm_##name##_t*>(x) : nullptr;       \
  }                                                                                     \
  const wasm_##name##_t* wasm_extern_as_##name##_const(const wasm_extern_t* x) {        \
    return x && x->kind == ref_kind ? static_cast<const wasm_##name##_t*>(x) : nullptr; \
  }
KILN_EXTERN_VIEWS(func, RefKind::kFunc)
KILN_EXTERN_VIEWS(global, RefKind::kGlobal)
KILN_EXTERN_VIEWS(table, RefKind::kTable)
KILN_EXTERN_VIEWS(memory, RefKind::kMemory)

// ---------------------------------------------------------------------------------------------
// Instances.

wasm_instance_t* wasm_instance_new(wasm_store_t* store, const wasm_module_t* module,
                                   const wasm_extern_vec_t* imports, wasm_trap_t** trap_out) {
  if (trap_out) *trap_out = nullptr;
  if (!store || !module) {
    return fail("wasm_instance_new: null store or module", static_cast<wasm_instance_t*>(nullptr));
  }
  if (!store->liveness->store) {
    return fail("wasm_instance_new: the store was deleted", static_cast<wasm_instance_t*>(nullptr));
  }
  if (module->engine != store->engine) {
    return fail("wasm_instance_new: the module was compiled by another engine",
                static_cast<wasm_instance_t*>(nullptr));
  }
  const size_t count = imports ? imports->size : 0;
  if (count != module->module->imports.size()) {
    return fail("wasm_instance_new: the module has " +
                    std::to_string(module->module->imports.size()) + " imports, " +
                    std::to_string(count) + " given",
                static_cast<wasm_instance_t*>(nullptr));
  }
  std::vector<Extern> externs;
  for (size_t i = 0; i < count; ++i) {
    const wasm_extern_t* ext = imports->data ? imports->data[i] : nullptr;
    if (!ext || ext->live_store() != store) {
      return fail(
          "wasm_instance_new: import " + std::to_string(i) + " is null or from another store",
          static_cast<wasm_instance_t*>(nullptr));
    }
    externs.push_back(ext->runtime_extern());
  }
  TrapPtr trap;
  StoreCall in_call(store);  // the start function may run host callbacks
  auto instance = store->store.instantiate(module->module, externs, &trap);
  if (instance.ok() && !store->liveness->store) {
    return fail("wasm_instance_new: the store was deleted by the start function",
                static_cast<wasm_instance_t*>(nullptr));
  }
  if (!instance.ok()) {
    if (trap && trap_out) *trap_out = make_trap(store, std::move(trap));
    return fail("wasm_instance_new: " + instance.error().message,
                static_cast<wasm_instance_t*>(nullptr));
  }
  return new wasm_instance_t(store, *instance);
}

void wasm_instance_exports(const wasm_instance_t* instance, wasm_extern_vec_t* out) {
  if (!out) return;
  if (!live_store_of(instance, "wasm_instance_exports")) return wasm_extern_vec_new_empty(out);
  const Instance& inst = *instance->instance();
  const auto& exports = inst.module->exports;
  wasm_extern_vec_new_uninitialized(out, exports.size());
  for (size_t i = 0; i < out->size; ++i) {
    out->data[i] = make_extern(instance->store, *inst.find_export(exports[i].name));
  }
}

}  // extern "C"
