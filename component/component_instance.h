// Component instances (CanonicalABI.md "Runtime State", Explainer.md "Instance Definitions"):
// instantiation of a validated component in a Store, in definition order, with nested
// components and core instances; lifted functions called with component values; lowered
// functions, resource built-ins and destructors as core functions of the store; per-instance
// handle tables and the may_enter/may_leave re-entrance rules.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "component/abi_layout.h"
#include "component/canonical_abi.h"
#include "component/component_types.h"
#include "component/component_validator.h"
#include "component/component_value.h"
#include "runtime/store.h"

namespace kiln::component {

struct ComponentInstance;

// A resource type at runtime (CanonicalABI.md ResourceType): every instance of a component
// that defines a resource makes a new one; identity is the object's address.
struct RuntimeResourceType {
  ComponentInstance* implementation = nullptr;  // the defining instance (null: the host's)
  FunctionInstance* destructor = nullptr;       // a core function, or null
  std::function<void(Store& store, uint32_t rep)> host_destructor;  // a host resource's, or empty
};

// An element of a handle table (CanonicalABI.md ResourceHandle).
struct ResourceHandle {
  const RuntimeResourceType* type = nullptr;
  uint32_t rep = 0;
  bool own = false;
  CallScope* borrow_scope = nullptr;  // a borrow: the call it was lowered into
  uint32_t lends = 0;                 // an own: borrows of it lent out to running calls
};

// CanonicalABI.md Table: index 0 is never used; freed indices are reused.
class HandleTable {
 public:
  static constexpr uint32_t kMaxLength = (1u << 28) - 1;
  HandleTable() : slots_(1) {}
  // The table's growth is charged against `store`'s memory budget (reserve_within_budget): a
  // guest that makes handles without dropping them traps there instead of exhausting the host.
  TrapPtr add(ResourceHandle handle, uint32_t& index, Store& store);
  // Traps "unknown handle index N" for an index that holds no handle.
  TrapPtr get(uint32_t index, ResourceHandle*& handle);
  TrapPtr remove(uint32_t index, ResourceHandle& handle);
  // A call ended with borrows it lent still in the table (it trapped): they no longer point at
  // its scope.
  void forget_scope(const CallScope* scope);

 private:
  std::vector<std::optional<ResourceHandle>> slots_;
  std::vector<uint32_t> free_;
};

struct ComponentFunction;
struct RuntimeInstance;

// A component definition as a value (for instantiation): its validated form and the instance
// whose index spaces its outer aliases read.
struct RuntimeComponent {
  const ValidatedComponent* validated = nullptr;
  const ComponentInstance* enclosing = nullptr;
};

// What an import, an export or an instantiation argument is at runtime.
struct RuntimeItem {
  resolved::ExternType::Kind kind = resolved::ExternType::Kind::kFunc;
  std::shared_ptr<ComponentFunction> function;
  const RuntimeResourceType* resource = nullptr;  // kType: a resource, or null for other types
  std::shared_ptr<const RuntimeInstance> instance;
  RuntimeComponent component;
  std::shared_ptr<const Module> module;
  ComponentValue value;
};

struct RuntimeInstance {
  std::vector<std::pair<std::string, RuntimeItem>> exports;
  // The export named `name`; `hint`, where it is likely to be (an instance resolved for a type
  // has the type's exports in the type's order), is tried first.
  const RuntimeItem* find(const std::string& name, size_t hint = 0) const;
};

// A core instance: instantiated from a module, or a bundle of exports.
struct RuntimeCoreInstance {
  kiln::Instance* instance = nullptr;
  // Bundles only; the names are the component's own (CoreInstance::exports), which outlives
  // its instances.
  std::vector<std::pair<std::string_view, Extern>> exports;
  // `hint`: where the export likely is (ValidatedComponent's positions), checked first.
  std::optional<Extern> find(std::string_view name, size_t hint = SIZE_MAX) const;
};

// A component-level function: lifted from a core function of an instance, or the host's.
struct ComponentFunction {
  std::shared_ptr<const resolved::FunctionType> type;  // as its definer sees it
  ComponentInstance* instance = nullptr;               // lifted: the callee's instance
  FunctionInstance* callee = nullptr;
  RuntimeOptions options;
  // Lifted: as the canon lift passes it (ValidatedComponent::canon_signatures).
  std::shared_ptr<const abi::AbiSignature> signature;
  // The host's: arguments in, a result (when the type has one) out; a trap to fail.
  std::function<TrapPtr(Store&, const std::vector<ComponentValue>&, std::optional<ComponentValue>&)>
      host;
};

// A core function made by canon lower (CanonicalABI.md canon_lower): what its host function
// needs, held by the lowering instance so that the host function's closure is one pointer.
struct LoweredFunction {
  ComponentFunction* callee = nullptr;
  const abi::AbiSignature* signature = nullptr;
  RuntimeOptions options;
  ComponentInstance* caller = nullptr;
};

struct ComponentInstance {
  ComponentInstance* parent = nullptr;  // the instance whose `instance` definition made this one
  Store* store = nullptr;
  const ValidatedComponent* validated = nullptr;
  const ComponentInstance* enclosing = nullptr;  // outer aliases read its index spaces
  bool may_enter = true, may_leave = true;
  HandleTable handles;
  // Static resource ids (of this component's validation) to this instance's runtime types.
  std::map<resolved::ResourceId, const RuntimeResourceType*> resources;

  // The index spaces, as validation built them, holding runtime objects.
  std::vector<FunctionInstance*> core_functions;
  std::vector<TableInstance*> core_tables;
  std::vector<MemoryInstance*> core_memories;
  std::vector<GlobalInstance*> core_globals;
  std::vector<TagInstance*> core_tags;
  std::vector<std::shared_ptr<const Module>> core_modules;
  std::vector<RuntimeCoreInstance> core_instances;
  std::vector<std::shared_ptr<ComponentFunction>> functions;
  std::vector<ComponentValue> values;
  std::vector<const RuntimeResourceType*> types;  // null for types that are not resources
  std::vector<RuntimeComponent> components;
  std::vector<std::shared_ptr<const RuntimeInstance>> instances;

  std::shared_ptr<RuntimeInstance> exports = std::make_shared<RuntimeInstance>();
  std::vector<std::unique_ptr<ComponentInstance>> children;
  std::vector<std::unique_ptr<RuntimeResourceType>> defined_resources;
  // Reserved for every canon lower of the component before the first is made: the store's host
  // functions point at them.
  std::vector<LoweredFunction> lowered;
  // The arguments of the lowered calls in progress, one vector per nesting depth, kept from call
  // to call (a guest's WASI calls each made one); a deque, so that a nested call's does not move
  // its caller's.
  std::deque<std::vector<ComponentValue>> lowered_arguments;
  size_t lowered_depth = 0;

  // An exported function by path: "name", or "interface#name" of an exported instance; null
  // when there is none.
  ComponentFunction* exported_function(const std::string& path) const;

  // CanonicalABI.md ComponentInstance.may_enter_from / enter_from / leave_to.
  bool may_enter_from(const ComponentInstance* caller) const;
  void enter_from(const ComponentInstance* caller);
  void leave_to(const ComponentInstance* caller);
};

// A component's imports by name, each checked against the type the component imports it at:
// what instantiating needs of them, checked once for a host that makes many instances of one
// component with the same imports (kiln serve: one per request; wasmtime's InstancePre). The
// items are shared by the instances made from them, in any store and on any thread.
struct CheckedImports {
  const ValidatedComponent* component = nullptr;
  std::map<std::string, RuntimeItem, std::less<>> by_name;
};
// A missing or mismatched import is an Error of kind kUnlinkable.
Result<CheckedImports> check_imports(
    const ValidatedComponent& component,
    const std::vector<std::pair<std::string, RuntimeItem>>& imports);

// Instantiates `component` in `store` with `imports` (by name; a missing or mismatched import
// is an Error of kind kUnlinkable). A trap while instantiating (a core start function) is an
// Error too, its trap in `*trap` when given.
Result<std::unique_ptr<ComponentInstance>> instantiate_component(
    Store& store, const ValidatedComponent& component,
    const std::vector<std::pair<std::string, RuntimeItem>>& imports, TrapPtr* trap = nullptr);
// The same with imports checked before (check_imports): the component they were checked for.
Result<std::unique_ptr<ComponentInstance>> instantiate_component(Store& store,
                                                                 const CheckedImports& imports,
                                                                 TrapPtr* trap = nullptr);

// Calls a component function with `args` (checked against its type), from the host (`caller`
// null) or from a component instance.
TrapPtr call_component_function(Store& store, ComponentFunction& function,
                                const std::vector<ComponentValue>& args,
                                std::optional<ComponentValue>& result,
                                ComponentInstance* caller = nullptr);

// Runs the destructor of a resource whose last owning handle `caller` dropped (null: the host),
// as resource.drop does: a call into the defining instance under the re-entrance rules, or the
// host's destructor for a host resource.
TrapPtr run_destructor(Store& store, const RuntimeResourceType* type, uint32_t rep,
                       const ComponentInstance* caller);

// Drops an owning handle the host holds (an `own` a guest returned or passed to the host).
TrapPtr drop_resource(Store& store, const ComponentValue& handle);

}  // namespace kiln::component
