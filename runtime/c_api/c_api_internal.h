// What the wasm-c-api's opaque types are inside kiln (include/wasm.h), and the conversions
// between its values and the runtime's cells. Only the C API's own files include this.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "include/wasm.h"
#include "runtime/module.h"
#include "runtime/store.h"

namespace kiln::c_api {

// The message of the last failed call on this thread (kiln_last_error_message in kiln.h).
void set_last_error(std::string message);
// Records `message` and returns `value`: `return fail("wasm_func_call: ...", nullptr);`
template <typename T>
T fail(std::string message, T value) {
  set_last_error(std::move(message));
  return value;
}

// Host info attached to an object; the finalizer runs once when it is replaced or the object
// goes away.
struct HostInfo {
  void* info = nullptr;
  void (*finalizer)(void*) = nullptr;
  void reset(void* new_info = nullptr, void (*new_finalizer)(void*) = nullptr) {
    if (finalizer) finalizer(info);
    info = new_info;
    finalizer = new_finalizer;
  }
  ~HostInfo() { reset(); }
  HostInfo() = default;
  HostInfo(const HostInfo&) = delete;
  HostInfo& operator=(const HostInfo&) = delete;
};

// Whether a store still exists, shared by the store and every reference to its objects: the
// embedder may delete references and stores in any order, so a reference can outlive its
// store, and is then refused rather than followed (kiln's promise that bad use never crashes).
struct StoreLiveness {
  wasm_store_t* store = nullptr;  // null once wasm_store_delete was called
};

// The limits of stores made through wasm.h alone: no caps on counts of instances, tables and
// memories (a long-running embedder may make any number), the memory budget as StoreLimits.
StoreLimits standard_store_limits();

// A foreign object: a host value that wasm code holds as an externref.
struct ForeignObject {};

enum class RefKind : uint8_t {
  kFunc,
  kGlobal,
  kTable,
  kMemory,
  kInstance,
  kModule,
  kForeign,
  kTrap
};

// The runtime's value type of a wasm.h value kind (false for an unknown kind), and back.
// wasm.h has no v128: kiln reports it as kind 4 (KILN_V128 in kiln.h).
bool valtype_of_kind(wasm_valkind_t kind, ValType* out);
wasm_valkind_t kind_of_valtype(ValType type);

}  // namespace kiln::c_api

// The runtime environment.
struct wasm_config_t {
  kiln::EngineConfig engine;
  kiln::StoreLimits limits = kiln::c_api::standard_store_limits();  // for the engine's stores
};

struct wasm_engine_t {
  kiln::Engine engine;
  kiln::StoreLimits limits;
};

struct wasm_store_t {
  wasm_store_t(wasm_engine_t* e, const kiln::StoreLimits& limits)
      : engine(e), store(e->engine, limits) {
    liveness->store = this;
  }
  ~wasm_store_t();
  wasm_engine_t* engine;
  kiln::Store store;
  std::shared_ptr<kiln::c_api::StoreLiveness> liveness =
      std::make_shared<kiln::c_api::StoreLiveness>();
  // Calls into wasm in progress (wasm_func_call, wasm_instance_new), and whether the store was
  // deleted during one: it is then freed when the outermost call returns (StoreCall).
  uint32_t calls = 0;
  bool delete_pending = false;
  // Host info of the store's objects (functions, globals, tables, memories, instances, foreign
  // objects), by the object's address; released with the store.
  std::unordered_map<const void*, std::unique_ptr<kiln::c_api::HostInfo>> host_info;
  // Environments of host functions: their finalizers run with the store's deletion.
  std::vector<std::unique_ptr<kiln::c_api::HostInfo>> environments;
  kiln::c_api::HostInfo deadline_env;  // the deadline callback's environment
  std::vector<std::unique_ptr<kiln::c_api::ForeignObject>> foreigns;
  // externref values made by the embedder: the referenced object's kind, by its address (the
  // value's bits).
  std::unordered_map<uint64_t, kiln::c_api::RefKind> extern_objects;
  // Objects other parts of kiln keep for the store's lifetime (WASI's state, say).
  std::vector<std::shared_ptr<void>> attachments;
};

// Types.
struct wasm_valtype_t {
  wasm_valkind_t kind;
};

struct wasm_externtype_t {
  explicit wasm_externtype_t(wasm_externkind_t k) : kind(k) {}
  virtual ~wasm_externtype_t() = default;
  wasm_externkind_t kind;
};

struct wasm_functype_t : wasm_externtype_t {
  wasm_functype_t() : wasm_externtype_t(WASM_EXTERN_FUNC) {}
  ~wasm_functype_t() override;
  wasm_valtype_vec_t params{0, nullptr};
  wasm_valtype_vec_t results{0, nullptr};
};

struct wasm_globaltype_t : wasm_externtype_t {
  wasm_globaltype_t() : wasm_externtype_t(WASM_EXTERN_GLOBAL) {}
  ~wasm_globaltype_t() override { delete content; }
  wasm_valtype_t* content = nullptr;
  wasm_mutability_t mutability = WASM_CONST;
};

struct wasm_tabletype_t : wasm_externtype_t {
  wasm_tabletype_t() : wasm_externtype_t(WASM_EXTERN_TABLE) {}
  ~wasm_tabletype_t() override { delete element; }
  wasm_valtype_t* element = nullptr;
  wasm_limits_t limits{0, wasm_limits_max_default};
};

struct wasm_memorytype_t : wasm_externtype_t {
  wasm_memorytype_t() : wasm_externtype_t(WASM_EXTERN_MEMORY) {}
  wasm_limits_t limits{0, wasm_limits_max_default};
};

struct wasm_importtype_t {
  ~wasm_importtype_t();
  wasm_name_t module{0, nullptr};
  wasm_name_t name{0, nullptr};
  wasm_externtype_t* type = nullptr;
};

struct wasm_exporttype_t {
  ~wasm_exporttype_t();
  wasm_name_t name{0, nullptr};
  wasm_externtype_t* type = nullptr;
};

// References. Every runtime object is reached through a reference object of this family;
// `object` is the runtime's object (FunctionInstance*, GlobalInstance*, TableInstance*,
// MemoryInstance*, Instance*, ForeignObject*), owned by `store`.
struct wasm_ref_t {
  wasm_ref_t(kiln::c_api::RefKind k, wasm_store_t* s, void* o)
      : kind(k), store(s), object(o), liveness(s ? s->liveness : nullptr) {}
  wasm_ref_t(const wasm_ref_t&) = default;
  virtual ~wasm_ref_t() = default;
  // The store while it exists; null once it was deleted (or for modules, which have none).
  wasm_store_t* live_store() const { return liveness ? liveness->store : nullptr; }
  kiln::c_api::RefKind kind;
  wasm_store_t* store;  // only to be followed after live_store() says the store exists
  void* object;
  std::shared_ptr<kiln::c_api::StoreLiveness> liveness;
};

struct wasm_extern_t : wasm_ref_t {
  using wasm_ref_t::wasm_ref_t;
  wasm_externkind_t extern_kind() const;
  kiln::Extern runtime_extern() const;
};
struct wasm_func_t : wasm_extern_t {
  wasm_func_t(wasm_store_t* s, kiln::FunctionInstance* f)
      : wasm_extern_t(kiln::c_api::RefKind::kFunc, s, f) {}
  kiln::FunctionInstance* function() const { return static_cast<kiln::FunctionInstance*>(object); }
};
struct wasm_global_t : wasm_extern_t {
  wasm_global_t(wasm_store_t* s, kiln::GlobalInstance* g)
      : wasm_extern_t(kiln::c_api::RefKind::kGlobal, s, g) {}
  kiln::GlobalInstance* global() const { return static_cast<kiln::GlobalInstance*>(object); }
};
struct wasm_table_t : wasm_extern_t {
  wasm_table_t(wasm_store_t* s, kiln::TableInstance* t)
      : wasm_extern_t(kiln::c_api::RefKind::kTable, s, t) {}
  kiln::TableInstance* table() const { return static_cast<kiln::TableInstance*>(object); }
};
struct wasm_memory_t : wasm_extern_t {
  wasm_memory_t(wasm_store_t* s, kiln::MemoryInstance* m)
      : wasm_extern_t(kiln::c_api::RefKind::kMemory, s, m) {}
  kiln::MemoryInstance* memory() const { return static_cast<kiln::MemoryInstance*>(object); }
};
struct wasm_instance_t : wasm_ref_t {
  wasm_instance_t(wasm_store_t* s, kiln::Instance* i)
      : wasm_ref_t(kiln::c_api::RefKind::kInstance, s, i) {}
  kiln::Instance* instance() const { return static_cast<kiln::Instance*>(object); }
};
struct wasm_foreign_t : wasm_ref_t {
  wasm_foreign_t(wasm_store_t* s, kiln::c_api::ForeignObject* f)
      : wasm_ref_t(kiln::c_api::RefKind::kForeign, s, f) {}
};

// Modules and traps are not store objects: copies share them, and their host info.
struct wasm_module_t : wasm_ref_t {
  wasm_module_t(wasm_engine_t* e, std::shared_ptr<const kiln::Module> m,
                std::shared_ptr<kiln::c_api::HostInfo> info)
      : wasm_ref_t(kiln::c_api::RefKind::kModule, nullptr, nullptr),
        engine(e),
        module(std::move(m)),
        host_info(std::move(info)) {
    object = const_cast<kiln::Module*>(module.get());
  }
  wasm_engine_t* engine;  // the module's code is for this engine's stores
  std::shared_ptr<const kiln::Module> module;
  std::shared_ptr<kiln::c_api::HostInfo> host_info;
};

struct wasm_shared_module_t {
  wasm_engine_t* engine;
  std::shared_ptr<const kiln::Module> module;
};

struct wasm_trap_t : wasm_ref_t {
  wasm_trap_t(wasm_store_t* s, std::shared_ptr<const kiln::Trap> t,
              std::shared_ptr<kiln::c_api::HostInfo> info)
      : wasm_ref_t(kiln::c_api::RefKind::kTrap, s, nullptr),
        trap(std::move(t)),
        host_info(std::move(info)) {
    object = const_cast<kiln::Trap*>(trap.get());
  }
  std::shared_ptr<const kiln::Trap> trap;
  std::shared_ptr<kiln::c_api::HostInfo> host_info;
};

struct wasm_frame_t {
  ~wasm_frame_t() { delete instance; }
  wasm_instance_t* instance = nullptr;  // owned by the frame; null when unknown
  std::string function_name;            // from the name section: kept, as the trap may outlive
                                        // the instance
  uint32_t function_index = 0;
  size_t function_offset = 0;
  size_t module_offset = 0;
};

namespace kiln::c_api {

// The store of `ref` while it exists. Null, with kiln_last_error_message saying that `function`
// was given a null reference or one whose store was deleted, otherwise.
wasm_store_t* live_store_of(const wasm_ref_t* ref, const char* function);

// Marks a call into wasm through the store (entries that may run guest code and host
// callbacks): a store deleted during it is freed when the outermost such call returns.
class StoreCall {
 public:
  explicit StoreCall(wasm_store_t* store) : store_(store) { ++store_->calls; }
  ~StoreCall() {
    if (--store_->calls == 0 && store_->delete_pending) delete store_;
  }
  StoreCall(const StoreCall&) = delete;
  StoreCall& operator=(const StoreCall&) = delete;

 private:
  wasm_store_t* store_;
};

// A new trap reference for a runtime trap (owned by the caller).
wasm_trap_t* make_trap(wasm_store_t* store, TrapPtr trap);
// The runtime trap a host callback's trap stands for (the callback's wasm_trap_t is deleted).
TrapPtr take_trap(wasm_trap_t* trap);

// A reference value as a cell, for a value of type `type` in `store`; false when the
// reference is of another kind or another store.
bool ref_to_cell(wasm_store_t* store, const wasm_ref_t* ref, ValType type, uint64_t* cell);
// A new reference to a store object of `kind` (not a module or a trap, which are not store
// objects).
wasm_ref_t* make_ref(wasm_store_t* store, RefKind kind, void* object);
// A new reference for a cell holding a value of type `type` (null for the null reference).
wasm_ref_t* cell_to_ref(wasm_store_t* store, uint64_t cell, ValType type);
// A value as cells (two for nothing: wasm.h has no v128); false when its kind is not `type`.
bool val_to_cells(wasm_store_t* store, const wasm_val_t& val, ValType type, uint64_t* cells);
void cells_to_val(wasm_store_t* store, const uint64_t* cells, ValType type, wasm_val_t* out);

// Types of runtime objects, new (owned by the caller).
wasm_functype_t* make_functype(const FuncType& type);
wasm_globaltype_t* make_globaltype(const GlobalType& type);
wasm_tabletype_t* make_tabletype(const TableType& type);
wasm_memorytype_t* make_memorytype(const MemoryType& type);
// And back: false for a type kiln cannot have (a non-reference table element, say).
bool to_runtime(const wasm_functype_t* type, FuncType* out);
bool to_runtime(const wasm_globaltype_t* type, GlobalType* out);
bool to_runtime(const wasm_tabletype_t* type, TableType* out);
bool to_runtime(const wasm_memorytype_t* type, MemoryType* out);

// A new reference to an extern of the runtime.
wasm_extern_t* make_extern(wasm_store_t* store, const Extern& ext);

}  // namespace kiln::c_api
