#include "component/component_instance.h"

#include <algorithm>
#include <set>

#include "component/abi_layout.h"
#include "component/component_linker.h"
#include "runtime/binary_reader.h"

namespace kiln::component {

// ---- handle tables ----

TrapPtr HandleTable::add(ResourceHandle handle, uint32_t& index, Store& store) {
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    slots_[index] = handle;
    return nullptr;
  }
  if (slots_.size() > kMaxLength) return abi_trap("too many handles in one component instance");
  // A slot, and its place in the free list once dropped.
  if (!reserve_within_budget(store, slots_, sizeof(slots_[0]) + sizeof(uint32_t), kMaxLength + 1)) {
    return abi_trap("resource handles past the store's memory budget (" +
                    std::to_string(slots_.size() - 1) + " held)");
  }
  index = static_cast<uint32_t>(slots_.size());
  slots_.emplace_back(handle);
  return nullptr;
}

TrapPtr HandleTable::get(uint32_t index, ResourceHandle*& handle) {
  if (index >= slots_.size() || !slots_[index]) {
    return abi_trap("unknown handle index " + std::to_string(index));
  }
  handle = &*slots_[index];
  return nullptr;
}

TrapPtr HandleTable::remove(uint32_t index, ResourceHandle& handle) {
  ResourceHandle* h = nullptr;
  if (TrapPtr trap = get(index, h)) return trap;
  handle = *h;
  slots_[index].reset();
  free_.push_back(index);
  return nullptr;
}

void HandleTable::forget_scope(const CallScope* scope) {
  for (auto& slot : slots_) {
    if (slot && slot->borrow_scope == scope) slot->borrow_scope = nullptr;
  }
}

const RuntimeItem* RuntimeInstance::find(const std::string& name, size_t hint) const {
  if (hint < exports.size() && exports[hint].first == name) return &exports[hint].second;
  for (const auto& [export_name, item] : exports) {
    if (export_name == name) return &item;
  }
  return nullptr;
}

std::optional<Extern> RuntimeCoreInstance::find(std::string_view name, size_t hint) const {
  if (instance) return instance->find_export(name, hint);
  if (hint < exports.size() && exports[hint].first == name) return exports[hint].second;
  for (const auto& [export_name, item] : exports) {
    if (export_name == name) return item;
  }
  return std::nullopt;
}

// ---- re-entrance (CanonicalABI.md ComponentInstance) ----

namespace {

// Whether `i` is `of` or one of its ancestors.
bool among_self_and_ancestors(const ComponentInstance* i, const ComponentInstance* of) {
  for (; of; of = of->parent) {
    if (of == i) return true;
  }
  return false;
}

// Calls `visit` on each instance of entering_set(self, caller): self and its ancestors, less
// the caller and its ancestors. (Nesting is shallow: no sets are built.)
template <typename Visit>
void for_each_entering(ComponentInstance* self, const ComponentInstance* caller, Visit visit) {
  for (ComponentInstance* i = self; i; i = i->parent) {
    if (!among_self_and_ancestors(i, caller)) visit(*i);
  }
}

}  // namespace

ComponentFunction* ComponentInstance::exported_function(const std::string& path) const {
  const size_t hash = path.find('#');
  const RuntimeItem* item = exports->find(path.substr(0, hash));
  if (item && hash != std::string::npos) {
    item = item->instance ? item->instance->find(path.substr(hash + 1)) : nullptr;
  }
  return item ? item->function.get() : nullptr;
}

bool ComponentInstance::may_enter_from(const ComponentInstance* caller) const {
  bool may = true;
  for_each_entering(const_cast<ComponentInstance*>(this), caller,
                    [&](ComponentInstance& i) { may &= i.may_enter; });
  return may;
}

void ComponentInstance::enter_from(const ComponentInstance* caller) {
  for_each_entering(this, caller, [](ComponentInstance& i) { i.may_enter = false; });
}

void ComponentInstance::leave_to(const ComponentInstance* caller) {
  for_each_entering(this, caller, [](ComponentInstance& i) { i.may_enter = true; });
}

// ---- calls ----

namespace {

// Ends a call's lends (CanonicalABI.md Subtask: the lent handles may be dropped again).
void end_lends(CallScope& scope) {
  scope.end_lends([](const CallScope::Lender& lender) {
    ResourceHandle* h = nullptr;
    if (!lender.first->handles.get(lender.second, h) && h->lends > 0) h->lends -= 1;
  });
}

}  // namespace

TrapPtr call_component_function(Store& store, ComponentFunction& f,
                                const std::vector<ComponentValue>& args,
                                std::optional<ComponentValue>& result, ComponentInstance* caller) {
  const resolved::FunctionType& type = *f.type;
  if (args.size() != type.params.size()) {
    return abi_trap("expected " + std::to_string(type.params.size()) + " arguments, got " +
                    std::to_string(args.size()));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (!value_matches(args[i], type.params[i].type)) {
      return abi_trap("argument " + std::to_string(i) + " (`" + type.params[i].label +
                      "`) is not a value of its parameter's type");
    }
  }
  result.reset();
  if (f.host) {
    if (TrapPtr trap = f.host(store, args, result)) return trap;
    if (type.result.has_value() != result.has_value() ||
        (result && !value_matches(*result, *type.result))) {
      return abi_trap("the host function's result does not match its type");
    }
    return nullptr;
  }
  // canon_lift (CanonicalABI.md), synchronous.
  ComponentInstance& inst = *f.instance;
  if (!inst.may_enter_from(caller)) return abi_trap("cannot enter component instance");
  inst.enter_from(caller);
  CallScope task;
  AbiContext cx{store, inst, f.options, &task};
  auto finish = [&](TrapPtr trap) -> TrapPtr {
    if (trap) result.reset();  // a trapped call has no result
    if (task.borrows > 0) inst.handles.forget_scope(&task);
    inst.leave_to(caller);
    return trap;
  };
  // One buffer (in this frame) serves the flat arguments, the core call's cells and the flat
  // results.
  const abi::AbiSignature& signature = *f.signature;
  FlatValues flat;
  if (TrapPtr trap = lower_flat_values(cx, signature.flat.params_in_memory, args,
                                       signature.param_types, flat)) {
    return finish(std::move(trap));
  }
  const FuncType& core = *f.callee->type;
  const size_t core_results = core.results.size();
  flat.resize(std::max({flat.size(), core.params.size(), core_results, size_t{1}}));
  if (TrapPtr trap = store.invoke(f.callee, flat.data())) return finish(std::move(trap));
  flat.resize(core_results);
  // A function has at most one result: lifted in place.
  if (!signature.result_types.empty()) {
    if (TrapPtr trap = lift_flat_values(cx, signature.flat.results_in_memory, flat, nullptr,
                                        signature.result_types, &result.emplace())) {
      return finish(std::move(trap));
    }
  }
  if (task.borrows > 0) {
    return finish(abi_trap("borrow handles still remain at the end of the call"));
  }
  if (f.options.post_return) {
    FlatValues post(flat.data(), flat.size());
    post.resize(std::max(post.size(), size_t{1}));
    inst.may_leave = false;
    TrapPtr trap = store.invoke(f.options.post_return, post.data());
    inst.may_leave = true;
    if (trap) return finish(std::move(trap));
  }
  return finish(nullptr);
}

TrapPtr run_destructor(Store& store, const RuntimeResourceType* rt, uint32_t rep,
                       const ComponentInstance* caller) {
  if (!rt) return nullptr;
  if (!rt->implementation) {  // a host resource
    if (rt->host_destructor) rt->host_destructor(store, rep);
    return nullptr;
  }
  if (!rt->destructor) return nullptr;
  // The destructor runs as a call into the resource's instance (re-entrance rules).
  ComponentInstance& impl = *rt->implementation;
  if (!impl.may_enter_from(caller)) return abi_trap("cannot enter component instance");
  impl.enter_from(caller);
  uint64_t arg[1] = {rep};
  TrapPtr trap = store.invoke(rt->destructor, arg);
  impl.leave_to(caller);
  return trap;
}

TrapPtr drop_resource(Store& store, const ComponentValue& handle) {
  if (handle.kind != ComponentValue::Kind::kOwn || !handle.resource) {
    return abi_trap("only an owning handle can be dropped");
  }
  return run_destructor(store, handle.resource, handle.rep, nullptr);
}

// ---- instantiation ----

namespace {

Error unlinkable(std::string message) {
  return Error{ErrorKind::kUnlinkable, std::move(message)};
}

// A lowered function's call: lifts its arguments with the caller's options, calls the component
// function, and lowers the result back (CanonicalABI.md canon_lower, synchronous).
TrapPtr call_lowered(const LoweredFunction& l, uint64_t* cells) {
  const abi::FlatSignature& flat = l.signature->flat;
  const std::vector<resolved::ValueType>& params = l.signature->param_types;
  const std::vector<resolved::ValueType>& results_types = l.signature->result_types;
  ComponentInstance& caller = *l.caller;
  Store& store = *caller.store;
  if (!caller.may_leave) return abi_trap("cannot leave component instance");
  CallScope subtask;
  AbiContext cx{store, caller, l.options, &subtask};
  const FlatValues flat_args(cells, flat.core.params.size());
  size_t position = 0;
  if (caller.lowered_depth == caller.lowered_arguments.size())
    caller.lowered_arguments.emplace_back();
  std::vector<ComponentValue>& args = caller.lowered_arguments[caller.lowered_depth];
  struct Nested {  // this depth's vector, emptied for the next call at this depth
    ComponentInstance& caller;
    std::vector<ComponentValue>& args;
    ~Nested() {
      args.clear();
      --caller.lowered_depth;
    }
  } nested{caller, args};
  ++caller.lowered_depth;
  args.resize(params.size());
  if (TrapPtr trap =
          lift_flat_values(cx, flat.params_in_memory, flat_args, &position, params, args.data())) {
    end_lends(subtask);
    return trap;
  }
  std::optional<ComponentValue> result;
  TrapPtr trap = call_component_function(store, *l.callee, args, result, &caller);
  end_lends(subtask);
  if (trap) return trap;
  if (results_types.empty()) return nullptr;  // (the signature has the function's one result)
  FlatValues out;
  const std::span<const ComponentValue> results(&*result, 1);
  if (flat.results_in_memory) {
    const uint32_t pointer = static_cast<uint32_t>(flat_args[position]);
    return lower_flat_values(cx, true, results, results_types, out, pointer);
  }
  if (TrapPtr t = lower_flat_values(cx, false, results, results_types, out)) return t;
  for (size_t i = 0; i < out.size(); ++i) cells[i] = out[i];
  return nullptr;
}

class Instantiator {
 public:
  Instantiator(Store& store, TrapPtr* trap) : store_(store), trap_(trap) {}

  // Instantiates `v` with the arguments in imports_ or arguments_.
  Result<std::unique_ptr<ComponentInstance>> run(const ValidatedComponent& v,
                                                 ComponentInstance* parent,
                                                 const ComponentInstance* enclosing) {
    auto inst = std::make_unique<ComponentInstance>();
    inst->parent = parent;
    inst->store = &store_;
    inst->validated = &v;
    inst->enclosing = enclosing;
    const ValidatedComponent::IndexSpaceSizes& sizes = v.sizes;
    inst->core_functions.reserve(v.core_functions.size());
    inst->core_tables.reserve(sizes.core_tables);
    inst->core_memories.reserve(sizes.core_memories);
    inst->core_globals.reserve(sizes.core_globals);
    inst->core_tags.reserve(sizes.core_tags);
    inst->core_modules.reserve(sizes.core_modules);
    inst->core_instances.reserve(sizes.core_instances);
    inst->functions.reserve(v.functions.size());
    inst->values.reserve(sizes.values);
    inst->types.reserve(v.types.size());
    inst->components.reserve(sizes.components);
    inst->instances.reserve(v.instances.size());
    const Component& c = *v.component;
    inst->lowered.reserve(std::count_if(c.canons.begin(), c.canons.end(), [](const Canon& canon) {
      return canon.kind == Canon::Kind::kLower;
    }));
    for (const Definition& d : c.definitions) {
      if (auto r = definition(*inst, v, c, d); !r) {
        Error e = r.take_error();
        e.message = "while instantiating: " + e.message;
        return e;
      }
    }
    return inst;
  }

 private:
  // Records that the type index about to be pushed is `rt` at runtime.
  static void push_type(ComponentInstance& inst, const RuntimeResourceType* rt) {
    const size_t index = inst.types.size();
    const auto& statics = inst.validated->types;
    if (rt && index < statics.size() &&
        statics[index].kind == resolved::TypeDefinition::Kind::kResource) {
      inst.resources[statics[index].resource] = rt;
    }
    inst.types.push_back(rt);
  }

  // Maps the resources an instance exports, as this component's validation saw them, to the
  // runtime instance's.
  static void map_instance_resources(ComponentInstance& inst, const resolved::InstanceType& type,
                                     const RuntimeInstance& runtime) {
    for (size_t i = 0; i < type.exports.size(); ++i) {
      const auto& e = type.exports[i];
      // Only resource types and instances (which may hold some) are looked up: an imported
      // interface's exports are mostly functions, and each lookup is a search by name.
      const bool resource = e.type.kind == resolved::ExternType::Kind::kType &&
                            e.type.type.kind == resolved::TypeDefinition::Kind::kResource;
      const bool instance = e.type.kind == resolved::ExternType::Kind::kInstance;
      if (!resource && !instance) continue;
      const RuntimeItem* item = runtime.find(e.name, i);
      if (!item) continue;
      if (resource && item->resource) inst.resources[e.type.type.resource] = item->resource;
      if (instance && item->instance) {
        map_instance_resources(inst, *e.type.instance, *item->instance);
      }
    }
  }

  static void push_instance(ComponentInstance& inst,
                            std::shared_ptr<const RuntimeInstance> runtime) {
    const size_t index = inst.instances.size();
    if (index < inst.validated->instances.size()) {
      map_instance_resources(inst, *inst.validated->instances[index], *runtime);
    }
    inst.instances.push_back(std::move(runtime));
  }

  void push_item(ComponentInstance& inst, const RuntimeItem& item) {
    using K = resolved::ExternType::Kind;
    switch (item.kind) {
      case K::kCoreModule:
        inst.core_modules.push_back(item.module);
        break;
      case K::kFunc:
        inst.functions.push_back(item.function);
        break;
      case K::kValue:
        inst.values.push_back(item.value);
        break;
      case K::kType:
        push_type(inst, item.resource);
        break;
      case K::kComponent:
        inst.components.push_back(item.component);
        break;
      case K::kInstance:
        push_instance(inst, item.instance);
        break;
    }
  }

  static Result<RuntimeItem> item_of(ComponentInstance& inst, const SortIndex& s) {
    using K = resolved::ExternType::Kind;
    RuntimeItem item;
    auto bounds = [&](size_t size) -> Result<void> {
      if (s.index >= size)
        return unlinkable(std::string(sort_name(s.sort)) + " index out of bounds");
      return {};
    };
    switch (s.sort) {
      case Sort::kCoreModule:
        KILN_TRY(bounds(inst.core_modules.size()));
        item.kind = K::kCoreModule;
        item.module = inst.core_modules[s.index];
        return item;
      case Sort::kFunc:
        KILN_TRY(bounds(inst.functions.size()));
        item.kind = K::kFunc;
        item.function = inst.functions[s.index];
        return item;
      case Sort::kValue:
        KILN_TRY(bounds(inst.values.size()));
        item.kind = K::kValue;
        item.value = inst.values[s.index];
        return item;
      case Sort::kType:
        KILN_TRY(bounds(inst.types.size()));
        item.kind = K::kType;
        item.resource = inst.types[s.index];
        return item;
      case Sort::kComponent:
        KILN_TRY(bounds(inst.components.size()));
        item.kind = K::kComponent;
        item.component = inst.components[s.index];
        return item;
      case Sort::kInstance:
        KILN_TRY(bounds(inst.instances.size()));
        item.kind = K::kInstance;
        item.instance = inst.instances[s.index];
        return item;
      default:
        return unlinkable("a core item is not a component item");
    }
  }

  static Result<Extern> core_item(ComponentInstance& inst, const SortIndex& s) {
    auto bounds = [&](size_t size) -> Result<void> {
      if (s.index >= size)
        return unlinkable(std::string(sort_name(s.sort)) + " index out of bounds");
      return {};
    };
    switch (s.sort) {
      case Sort::kCoreFunc:
        KILN_TRY(bounds(inst.core_functions.size()));
        return Extern{ExternKind::kFunction, inst.core_functions[s.index]};
      case Sort::kCoreTable:
        KILN_TRY(bounds(inst.core_tables.size()));
        return Extern{ExternKind::kTable, inst.core_tables[s.index]};
      case Sort::kCoreMemory:
        KILN_TRY(bounds(inst.core_memories.size()));
        return Extern{ExternKind::kMemory, inst.core_memories[s.index]};
      case Sort::kCoreGlobal:
        KILN_TRY(bounds(inst.core_globals.size()));
        return Extern{ExternKind::kGlobal, inst.core_globals[s.index]};
      case Sort::kCoreTag:
        KILN_TRY(bounds(inst.core_tags.size()));
        return Extern{ExternKind::kTag, inst.core_tags[s.index]};
      default:
        return unlinkable("not a core item");
    }
  }

  static void push_core(ComponentInstance& inst, const Extern& e) {
    switch (e.kind) {
      case ExternKind::kFunction:
        inst.core_functions.push_back(e.function());
        break;
      case ExternKind::kTable:
        inst.core_tables.push_back(e.table());
        break;
      case ExternKind::kMemory:
        inst.core_memories.push_back(e.memory());
        break;
      case ExternKind::kGlobal:
        inst.core_globals.push_back(e.global());
        break;
      case ExternKind::kTag:
        inst.core_tags.push_back(e.tag());
        break;
    }
  }

  Result<void> definition(ComponentInstance& inst, const ValidatedComponent& v, const Component& c,
                          const Definition& d) {
    switch (d.kind) {
      case Definition::Kind::kCoreModule:
        inst.core_modules.push_back(v.core_modules[d.index]);
        return {};
      case Definition::Kind::kCoreType:
        return {};
      case Definition::Kind::kCoreInstance:
        return core_instance(inst, c.core_instances[d.index], v.core_instance_imports[d.index]);
      case Definition::Kind::kComponent:
        inst.components.push_back(RuntimeComponent{v.components[d.index].get(), &inst});
        return {};
      case Definition::Kind::kInstance:
        return instance(inst, c.instances[d.index]);
      case Definition::Kind::kAlias:
        return alias(inst, c.aliases[d.index], v.alias_positions[d.index]);
      case Definition::Kind::kType: {
        const Type& t = c.types[d.index];
        if (t.kind != Type::Kind::kResource) {
          push_type(inst, nullptr);
          return {};
        }
        auto rt = std::make_unique<RuntimeResourceType>();
        rt->implementation = &inst;
        if (t.resource.destructor) rt->destructor = inst.core_functions[*t.resource.destructor];
        push_type(inst, rt.get());
        inst.defined_resources.push_back(std::move(rt));
        return {};
      }
      case Definition::Kind::kCanon:
        return canon(inst, c.canons[d.index], d.index);
      case Definition::Kind::kStart:
        return start(inst, c.starts[d.index]);
      case Definition::Kind::kImport: {
        const ComponentImport& i = c.imports[d.index];
        const RuntimeItem* arg = argument(i.name.name);
        if (!arg) return unlinkable("missing import named `" + i.name.name + "`");
        push_item(inst, *arg);
        return {};
      }
      case Definition::Kind::kExport: {
        const ComponentExport& e = c.exports[d.index];
        KILN_ASSIGN(RuntimeItem item, item_of(inst, e.item));
        push_item(inst, item);
        inst.exports->exports.emplace_back(e.name.name, std::move(item));
        return {};
      }
    }
    return {};
  }

  // `sources`: where validation found each import (ValidatedComponent::core_instance_imports).
  Result<void> core_instance(ComponentInstance& inst, const CoreInstance& ci,
                             const std::vector<ValidatedComponent::ImportSource>& sources) {
    RuntimeCoreInstance out;
    if (!ci.instantiate) {
      out.exports.reserve(ci.exports.size());
      for (const auto& [name, item] : ci.exports) {
        KILN_ASSIGN(Extern e, core_item(inst, item));
        out.exports.emplace_back(name, e);
      }
      inst.core_instances.push_back(std::move(out));
      return {};
    }
    const std::shared_ptr<const Module>& module = inst.core_modules[ci.module];
    std::vector<Extern> imports;
    imports.reserve(module->imports.size());
    for (size_t k = 0; k < module->imports.size(); ++k) {
      const Import& i = module->imports[k];
      // Where validation found the k-th import of the module type, if that is this import's
      // argument (a module given to a nested component may order its imports otherwise).
      const ValidatedComponent::ImportSource* source = nullptr;
      if (k < sources.size() && sources[k].argument < ci.args.size() &&
          ci.args[sources[k].argument].first == i.module) {
        source = &sources[k];
      }
      const RuntimeCoreInstance* arg = nullptr;
      if (source) {
        arg = &inst.core_instances[ci.args[source->argument].second];
      } else {
        for (const auto& [name, index] : ci.args) {
          if (name == i.module) arg = &inst.core_instances[index];
        }
      }
      if (!arg) return unlinkable("missing module instantiation argument `" + i.module + "`");
      auto e = arg->find(i.name, source ? source->position : SIZE_MAX);
      if (!e) return unlinkable("no export `" + i.name + "` in argument `" + i.module + "`");
      imports.push_back(*e);
    }
    TrapPtr trap;
    auto instance = store_.instantiate(module, imports, &trap);
    if (!instance) {
      if (trap && trap_) *trap_ = std::move(trap);
      return instance.take_error();
    }
    out.instance = *instance;
    inst.core_instances.push_back(std::move(out));
    return {};
  }

  Result<void> instance(ComponentInstance& inst, const Instance& i) {
    auto runtime = std::make_shared<RuntimeInstance>();
    if (!i.instantiate) {
      runtime->exports.reserve(i.exports.size());
      for (const auto& [name, item] : i.exports) {
        KILN_ASSIGN(RuntimeItem r, item_of(inst, item));
        runtime->exports.emplace_back(name.name, std::move(r));
      }
      push_instance(inst, std::move(runtime));
      return {};
    }
    const RuntimeComponent& rc = inst.components[i.component];
    // By name (the definition's, which outlives the instance), sorted for the child's lookups.
    Arguments args;
    args.reserve(i.args.size());
    for (const auto& [name, item] : i.args) {
      KILN_ASSIGN(RuntimeItem r, item_of(inst, item));
      args.emplace_back(name, std::move(r));
    }
    std::stable_sort(args.begin(), args.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto saved = std::pair(imports_, arguments_);
    imports_ = nullptr;
    arguments_ = &args;
    auto child = run(*rc.validated, &inst, rc.enclosing);
    std::tie(imports_, arguments_) = saved;
    if (!child) return child.take_error();
    push_instance(inst, (*child)->exports);
    inst.children.push_back(std::move(*child));
    return {};
  }

  // `position`: where validation found the export (ValidatedComponent::alias_positions).
  Result<void> alias(ComponentInstance& inst, const Alias& a, size_t position) {
    switch (a.target) {
      case Alias::Target::kCoreExport: {
        auto e = inst.core_instances[a.instance].find(a.name, position);
        if (!e) return unlinkable("core instance has no export `" + a.name + "`");
        push_core(inst, *e);
        return {};
      }
      case Alias::Target::kExport: {
        const RuntimeItem* item = inst.instances[a.instance]->find(a.name, position);
        if (!item) return unlinkable("instance has no export `" + a.name + "`");
        push_item(inst, *item);
        return {};
      }
      case Alias::Target::kOuter: {
        const ComponentInstance* target = &inst;
        for (uint32_t k = 0; k < a.outer_count && target; ++k) target = target->enclosing;
        if (!target) return unlinkable("outer alias beyond the outermost component");
        switch (a.sort) {
          case Sort::kCoreModule:
            inst.core_modules.push_back(target->core_modules[a.outer_index]);
            break;
          case Sort::kComponent:
            inst.components.push_back(target->components[a.outer_index]);
            break;
          case Sort::kType:
            push_type(inst, target == &inst ? target->types[a.outer_index] : nullptr);
            break;
          default:
            break;  // core types: nothing at runtime
        }
        return {};
      }
    }
    return {};
  }

  Result<RuntimeOptions> options(ComponentInstance& inst, const CanonOptions& o) {
    RuntimeOptions r;
    r.encoding = o.string_encoding.value_or(CanonOptions::StringEncoding::kUtf8);
    if (o.memory) r.memory = inst.core_memories[*o.memory];
    if (o.realloc) r.realloc = inst.core_functions[*o.realloc];
    if (o.post_return) r.post_return = inst.core_functions[*o.post_return];
    return r;
  }

  Result<void> canon(ComponentInstance& inst, const Canon& c, uint32_t index) {
    const ValidatedComponent& v = *inst.validated;
    switch (c.kind) {
      case Canon::Kind::kLift: {
        auto f = std::make_shared<ComponentFunction>();
        f->type = v.types[c.type].function;
        f->signature = v.canon_signatures[index];
        f->instance = &inst;
        f->callee = inst.core_functions[c.function];
        KILN_SET(f->options, options(inst, c.options));
        inst.functions.push_back(std::move(f));
        return {};
      }
      case Canon::Kind::kLower:
        return lower(inst, c, v.canon_signatures[index]);
      case Canon::Kind::kResourceNew:
      case Canon::Kind::kResourceRep:
      case Canon::Kind::kResourceDrop:
        return resource_builtin(inst, c);
      case Canon::Kind::kUnsupported:
        return unlinkable("unsupported canonical built-in");
    }
    return {};
  }

  // canon lower: a core function that lifts its arguments with the caller's options, calls the
  // component function, and lowers the result back (CanonicalABI.md canon_lower, synchronous).
  Result<void> lower(ComponentInstance& inst, const Canon& c,
                     const std::shared_ptr<const abi::AbiSignature>& signature) {
    if (inst.lowered.size() == inst.lowered.capacity()) {
      return unlinkable("more canon lower definitions than counted");  // (cannot happen)
    }
    LoweredFunction& lowered = inst.lowered.emplace_back();
    lowered.callee = inst.functions[c.function].get();
    lowered.signature = signature.get();
    KILN_SET(lowered.options, options(inst, c.options));
    lowered.caller = &inst;
    auto host = [l = &lowered](HostCall&, uint64_t* cells) -> TrapPtr {
      return call_lowered(*l, cells);
    };
    // Interned at validation, in this store's engine unless it validated in another.
    inst.core_functions.push_back(
        signature->registry == &store_.engine().types()
            ? store_.create_host_function(signature->core, std::move(host), "canon lower")
            : store_.create_host_function(signature->flat.core, std::move(host), "canon lower"));
    return {};
  }

  Result<void> resource_builtin(ComponentInstance& inst, const Canon& c) {
    const RuntimeResourceType* rt = inst.types[c.type];
    ComponentInstance* self = &inst;
    // (Made once: a FuncType is two vectors. The closures hold two pointers, which a
    // std::function keeps without an allocation.)
    static const FuncType kI32ToI32{{ValType::kI32}, {ValType::kI32}};
    static const FuncType kI32ToNothing{{ValType::kI32}, {}};
    const FuncType* type = &kI32ToI32;
    HostCallback host;
    switch (c.kind) {
      case Canon::Kind::kResourceNew:
        host = [self, rt](HostCall&, uint64_t* cells) -> TrapPtr {
          if (!self->may_leave) return abi_trap("cannot leave component instance");
          ResourceHandle h;
          h.type = rt;
          h.rep = static_cast<uint32_t>(cells[0]);
          h.own = true;
          uint32_t index = 0;
          if (TrapPtr trap = self->handles.add(h, index, *self->store)) return trap;
          cells[0] = index;
          return nullptr;
        };
        break;
      case Canon::Kind::kResourceRep:
        host = [self, rt](HostCall&, uint64_t* cells) -> TrapPtr {
          const uint32_t index = static_cast<uint32_t>(cells[0]);
          ResourceHandle* h = nullptr;
          if (TrapPtr trap = self->handles.get(index, h)) return trap;
          if (h->type != rt) {
            return abi_trap("handle index " + std::to_string(index) +
                            " used with the wrong type, expected guest-defined resource but found "
                            "a different guest-defined resource");
          }
          cells[0] = h->rep;
          return nullptr;
        };
        break;
      default:
        type = &kI32ToNothing;
        host = [self, rt](HostCall&, uint64_t* cells) -> TrapPtr {
          if (!self->may_leave) return abi_trap("cannot leave component instance");
          const uint32_t index = static_cast<uint32_t>(cells[0]);
          ResourceHandle* h = nullptr;
          if (TrapPtr trap = self->handles.get(index, h)) return trap;
          if (h->type != rt) {
            return abi_trap("handle index " + std::to_string(index) +
                            " used with the wrong type, expected guest-defined resource but found "
                            "a different guest-defined resource");
          }
          if (h->lends != 0) return abi_trap("cannot remove owned resource while borrowed");
          ResourceHandle removed;
          if (TrapPtr trap = self->handles.remove(index, removed)) return trap;
          if (!removed.own) {
            if (removed.borrow_scope && removed.borrow_scope->borrows > 0) {
              removed.borrow_scope->borrows -= 1;
            }
            return nullptr;
          }
          return run_destructor(*self->store, rt, removed.rep, self);
        };
        break;
    }
    inst.core_functions.push_back(
        store_.create_host_function(*type, std::move(host), "canon resource"));
    return {};
  }

  Result<void> start(ComponentInstance& inst, const Start& s) {
    std::vector<ComponentValue> args;
    for (uint32_t v : s.args) args.push_back(inst.values[v]);
    std::optional<ComponentValue> result;
    if (TrapPtr trap = call_component_function(store_, *inst.functions[s.function], args, result)) {
      Error e{ErrorKind::kUnlinkable, trap->message};
      if (trap_) *trap_ = std::move(trap);
      return e;
    }
    if (result) inst.values.push_back(*result);
    return {};
  }

 public:
  // The arguments of the component being instantiated: the outermost's checked imports, or an
  // `instance` definition's arguments (Arguments, sorted by name).
  using Arguments = std::vector<std::pair<std::string_view, RuntimeItem>>;
  const std::map<std::string, RuntimeItem, std::less<>>* imports_ = nullptr;
  const Arguments* arguments_ = nullptr;

  const RuntimeItem* argument(std::string_view name) const {
    if (imports_) {
      auto it = imports_->find(name);
      return it == imports_->end() ? nullptr : &it->second;
    }
    auto it = std::lower_bound(arguments_->begin(), arguments_->end(), name,
                               [](const auto& a, std::string_view n) { return a.first < n; });
    return it == arguments_->end() || it->first != name ? nullptr : &it->second;
  }

 private:
  Store& store_;
  TrapPtr* trap_;
};

}  // namespace

Result<CheckedImports> check_imports(
    const ValidatedComponent& component,
    const std::vector<std::pair<std::string, RuntimeItem>>& imports) {
  CheckedImports checked;
  checked.component = &component;
  checked.by_name = std::map<std::string, RuntimeItem, std::less<>>(imports.begin(), imports.end());
  for (const auto& import : component.type->imports) {
    auto arg = checked.by_name.find(import.name);
    if (arg == checked.by_name.end()) {
      return unlinkable("missing import named `" + import.name + "`");
    }
    KILN_TRY(check_import(import.name, import.type, arg->second));
  }
  return checked;
}

Result<std::unique_ptr<ComponentInstance>> instantiate_component(
    Store& store, const ValidatedComponent& component,
    const std::vector<std::pair<std::string, RuntimeItem>>& imports, TrapPtr* trap) {
  KILN_ASSIGN(CheckedImports checked, check_imports(component, imports));
  return instantiate_component(store, checked, trap);
}

Result<std::unique_ptr<ComponentInstance>> instantiate_component(Store& store,
                                                                 const CheckedImports& imports,
                                                                 TrapPtr* trap) {
  Instantiator instantiator(store, trap);
  instantiator.imports_ = &imports.by_name;
  return instantiator.run(*imports.component, nullptr, nullptr);
}

}  // namespace kiln::component
