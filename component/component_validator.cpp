#include "component/component_validator.h"

#include <map>
#include <memory>
#include <set>
#include <thread>

#include "component/abi_layout.h"
#include "component/component_decoder.h"
#include "component/extern_rules.h"
#include "component/names.h"
#include "runtime/binary_reader.h"
#include "runtime/function_validator.h"
#include "runtime/store.h"

namespace kiln::component {

namespace {

// The resolved types, over the decoder's types of the same names (spelled component::ValueType,
// component::FunctionType and component::ExternType here).
using resolved::bind_resources;
using resolved::Case;
using resolved::check_subtype;
using resolved::collect_resources;
using resolved::ComponentType;
using resolved::CoreExternType;
using resolved::CoreImport;
using resolved::CoreInstanceType;
using resolved::DefinedType;
using resolved::extern_kind_name;
using resolved::ExternType;
using resolved::Field;
using resolved::fresh_id;
using resolved::FunctionType;
using resolved::InstanceType;
using resolved::kMaxTypeDepth;
using resolved::kMaxTypeSize;
using resolved::ModuleType;
using resolved::NamedExtern;
using resolved::ResourceId;
using resolved::ResourceMap;
using resolved::TypeDefinition;
using resolved::TypeName;
using resolved::ValueType;
using rules::check_name;
using rules::extern_visible;
using rules::introduced_names;
using rules::Namespace;
using rules::nominal;
using rules::not_visible;
using rules::register_names;
using rules::renamed;

Error invalid(std::string message) {
  return Error{ErrorKind::kInvalid, std::move(message)};
}

Error not_supported(const std::string& what) {
  return Error{ErrorKind::kInvalid, what + " is not supported yet"};
}

std::string quoted(const std::string& name) {
  return "`" + name + "`";
}

// A core type index space entry: a function type or a module type.
constexpr const char* kGcTypeUse = "a use of a Wasm 3.0 core type (garbage collection types)";

struct CoreTypeEntry {
  // A Wasm 3.0 GC type (a subtype, recursive group, struct or array): a valid definition that
  // kiln's core language cannot use yet. Defining one is fine; a use of it is refused as not
  // supported yet.
  bool unsupported = false;
  bool is_module = false;
  FuncType function;
  std::shared_ptr<const ModuleType> module;
};

// The index spaces of a component, a component type or an instance type being validated
// (Explainer.md: the same index spaces, whichever of the three is being defined).
struct Scope {
  enum class Kind : uint8_t { kComponent, kComponentType, kInstanceType };
  Kind kind = Kind::kComponent;
  Scope* parent = nullptr;

  std::vector<FuncType> core_functions;
  // By canon index: the signature of each canon lift and lower (ValidatedComponent).
  std::vector<std::shared_ptr<const abi::AbiSignature>> canon_signatures;
  TypeReferences lowered_core_types;  // (ValidatedComponent)
  std::vector<TableType> core_tables;
  std::vector<MemoryType> core_memories;
  std::vector<GlobalType> core_globals;
  std::vector<FuncType> core_tags;  // each tag's type (Wasm 3.0 exception handling)
  std::vector<CoreTypeEntry> core_types;
  std::vector<std::shared_ptr<const ModuleType>> core_modules;
  std::vector<std::shared_ptr<const CoreInstanceType>> core_instances;

  std::vector<std::shared_ptr<const FunctionType>> functions;
  std::vector<ValueType> values;
  std::vector<TypeDefinition> types;
  std::vector<std::shared_ptr<const ComponentType>> components;
  std::vector<std::shared_ptr<const InstanceType>> instances;

  std::vector<NamedExtern> imports, exports;
  Namespace imports_namespace{"import"};
  Namespace exports_namespace{"export"};
  std::vector<ResourceId> imported_resources, defined_resources;
  std::set<ResourceId> local_resources;  // defined here by (type (resource ...))

  bool concrete() const { return kind == Kind::kComponent; }
};

template <typename T>
Result<const T*> at_index(const std::vector<T>& items, uint32_t index, const char* what) {
  if (index >= items.size()) {
    return invalid(std::string(what) + " index " + std::to_string(index) +
                   " out of bounds (there are " + std::to_string(items.size()) + ")");
  }
  return &items[index];
}

class Validator {
 public:
  explicit Validator(Engine& engine) : engine_(engine) {}

  Result<std::unique_ptr<ValidatedComponent>> component(const Component& c, Scope* parent) {
    auto out = std::make_unique<ValidatedComponent>();
    out->component = &c;
    Scope scope;
    scope.kind = Scope::Kind::kComponent;
    scope.parent = parent;
    for (const Definition& d : c.definitions) {
      if (auto r = definition(scope, c, d, *out); !r) {
        Error e = r.take_error();
        e.message = "in " + describe(c, d) + ": " + e.message;
        return e;
      }
    }
    auto type = std::make_shared<ComponentType>();
    type->imports = scope.imports;
    type->exports = scope.exports;
    type->imported_resources = scope.imported_resources;
    type->defined_resources = scope.defined_resources;
    out->type = std::move(type);
    out->functions = std::move(scope.functions);
    out->types = std::move(scope.types);
    out->instances = std::move(scope.instances);
    out->core_functions = std::move(scope.core_functions);
    out->canon_signatures = std::move(scope.canon_signatures);
    out->lowered_core_types = std::move(scope.lowered_core_types);
    out->sizes = {scope.core_tables.size(), scope.core_memories.size(), scope.core_globals.size(),
                  scope.core_tags.size(),   scope.core_modules.size(),  scope.core_instances.size(),
                  scope.values.size(),      scope.components.size()};
    return out;
  }

 private:
  static std::string describe(const Component& c, const Definition& d) {
    auto with = [&](const char* what, size_t offset) {
      return std::string(what) + " " + std::to_string(d.index) + " (at byte offset " +
             hex_offset(offset) + ")";
    };
    switch (d.kind) {
      case Definition::Kind::kCoreModule:
        return with("core module", c.core_modules[d.index].offset);
      case Definition::Kind::kCoreInstance:
        return with("core instance", c.core_instances[d.index].offset);
      case Definition::Kind::kCoreType:
        return with("core type", c.core_types[d.index].offset);
      case Definition::Kind::kComponent:
        return with("component", c.components[d.index]->offset);
      case Definition::Kind::kInstance:
        return with("instance", c.instances[d.index].offset);
      case Definition::Kind::kAlias:
        return with("alias", c.aliases[d.index].offset);
      case Definition::Kind::kType:
        return with("type", c.types[d.index].offset);
      case Definition::Kind::kCanon:
        return with("canon", c.canons[d.index].offset);
      case Definition::Kind::kStart:
        return with("start", c.starts[d.index].offset);
      case Definition::Kind::kImport:
        return with("import", c.imports[d.index].offset);
      case Definition::Kind::kExport:
        return with("export", c.exports[d.index].offset);
    }
    return "?";
  }

  Result<void> definition(Scope& s, const Component& c, const Definition& d,
                          ValidatedComponent& out) {
    switch (d.kind) {
      case Definition::Kind::kCoreModule: {
        auto compiled = Module::compile_structure(engine_, c.core_modules[d.index].decoded);
        if (!compiled) return compiled.take_error();
        KILN_TRY(compile_bodies(*compiled, s.parent == nullptr ? describe(c, d) : std::string()));
        // Two-level import names must stay distinct when mangled to one level ("module:name"),
        // so a component may not hold a module importing one pair twice.
        std::set<std::pair<std::string, std::string>> seen;
        for (const Import& i : (*compiled)->imports) {
          if (!seen.insert({i.module, i.name}).second) {
            return invalid("duplicate import name `" + i.module + ":" + i.name + "`");
          }
        }
        s.core_modules.push_back(module_type(**compiled));
        out.core_modules.push_back(std::move(*compiled));
        return {};
      }
      case Definition::Kind::kCoreInstance: {
        if (out.core_instance_imports.size() <= d.index) {
          out.core_instance_imports.resize(d.index + 1);
        }
        return core_instance(s, c.core_instances[d.index], out.core_instance_imports[d.index]);
      }
      case Definition::Kind::kCoreType: {
        KILN_ASSIGN(CoreTypeEntry t, core_type(s, c.core_types[d.index]));
        s.core_types.push_back(std::move(t));
        return {};
      }
      case Definition::Kind::kComponent: {
        KILN_ASSIGN(auto nested, component(*c.components[d.index], &s));
        s.components.push_back(nested->type);
        out.components.push_back(std::move(nested));
        return {};
      }
      case Definition::Kind::kInstance:
        return instance(s, c.instances[d.index]);
      case Definition::Kind::kAlias:
        if (out.alias_positions.size() <= d.index)
          out.alias_positions.resize(d.index + 1, SIZE_MAX);
        return alias(s, c.aliases[d.index], &out.alias_positions[d.index]);
      case Definition::Kind::kType: {
        KILN_ASSIGN(TypeDefinition t, type_definition(s, c.types[d.index]));
        s.types.push_back(std::move(t));
        return {};
      }
      case Definition::Kind::kCanon:
        return canon(s, c.canons[d.index], d.index);
      case Definition::Kind::kStart:
        return start(s, c.starts[d.index]);
      case Definition::Kind::kImport: {
        const ComponentImport& i = c.imports[d.index];
        return import(s, i.name, i.type);
      }
      case Definition::Kind::kExport:
        return component_export(s, c.exports[d.index]);
    }
    return {};
  }

  // ---- core modules, core types and core instances ----

  static CoreExternType core_extern(const Module& m, ExternKind kind, uint32_t index) {
    CoreExternType t;
    t.kind = kind;
    switch (kind) {
      case ExternKind::kFunction:
        t.function = m.function_type(index);
        break;
      case ExternKind::kTable:
        t.table = m.tables[index];
        break;
      case ExternKind::kMemory:
        t.memory = m.memories[index];
        break;
      case ExternKind::kGlobal:
        t.global = m.globals[index].type;
        break;
      case ExternKind::kTag:
        t.function = m.tag_type(index);
        break;
    }
    return t;
  }

  static std::shared_ptr<const ModuleType> module_type(const Module& m) {
    auto t = std::make_shared<ModuleType>();
    for (const Import& i : m.imports) {
      CoreExternType e;
      e.kind = i.kind;
      const bool typed = i.kind == ExternKind::kFunction || i.kind == ExternKind::kTag;
      e.function = typed ? m.types[i.type_index] : FuncType{};
      e.table = i.table;
      e.memory = i.memory;
      e.global = i.global;
      t->imports.push_back({i.module, i.name, std::move(e)});
    }
    for (const Export& e : m.exports)
      t->exports.emplace_back(e.name, core_extern(m, e.kind, e.index));
    return t;
  }

  Result<CoreTypeEntry> core_type(Scope& s, const CoreType& t) {
    CoreTypeEntry entry;
    switch (t.kind) {
      case CoreType::Kind::kUnsupported:
        entry.unsupported = true;
        return entry;
      case CoreType::Kind::kFunction:
        entry.function = t.function;
        return entry;
      case CoreType::Kind::kModule:
        break;
    }
    entry.is_module = true;
    auto type = std::make_shared<ModuleType>();
    std::vector<CoreTypeEntry> types;  // the module type's own type index space
    std::set<std::pair<std::string, std::string>> imports;
    std::set<std::string> exports;
    auto description = [&](const Import& d) -> Result<CoreExternType> {
      CoreExternType e;
      e.kind = d.kind;
      e.table = d.table;
      e.memory = d.memory;
      e.global = d.global;
      if (d.kind == ExternKind::kMemory) KILN_TRY(validate_memory_type(d.memory, "a memory"));
      if (d.kind == ExternKind::kTable) KILN_TRY(validate_table_type(d.table, "a table"));
      if (d.kind == ExternKind::kFunction || d.kind == ExternKind::kTag) {
        KILN_ASSIGN(const CoreTypeEntry* f, at_index(types, d.type_index, "type"));
        if (f->unsupported) return not_supported(kGcTypeUse);
        if (f->is_module) {
          return invalid("core type index " + std::to_string(d.type_index) +
                         " is not a function type");
        }
        if (d.kind == ExternKind::kTag) KILN_TRY(validate_tag_type(f->function, "a tag"));
        e.function = f->function;
      }
      return e;
    };
    for (const CoreModuleDeclarator& d : t.declarators) {
      switch (d.kind) {
        case CoreModuleDeclarator::Kind::kType: {
          KILN_ASSIGN(CoreTypeEntry inner, core_type(s, *d.type));
          types.push_back(std::move(inner));
          break;
        }
        case CoreModuleDeclarator::Kind::kAlias: {
          // Count 0 is the module type itself, 1 the enclosing scope, and so on.
          if (d.outer_count == 0) {
            KILN_ASSIGN(const CoreTypeEntry* aliased, at_index(types, d.outer_index, "type"));
            types.push_back(*aliased);
            break;
          }
          KILN_ASSIGN(Scope * target, outer_scope(s, d.outer_count - 1));
          KILN_ASSIGN(const CoreTypeEntry* aliased,
                      at_index(target->core_types, d.outer_index, "core type"));
          types.push_back(*aliased);
          break;
        }
        case CoreModuleDeclarator::Kind::kImport: {
          if (!imports.insert({d.import.module, d.import.name}).second) {
            return invalid("duplicate import name `" + d.import.module + ":" + d.import.name + "`");
          }
          KILN_ASSIGN(CoreExternType e, description(d.import));
          type->imports.push_back({d.import.module, d.import.name, std::move(e)});
          break;
        }
        case CoreModuleDeclarator::Kind::kExport: {
          if (!exports.insert(d.export_name).second) {
            return invalid("export name " + quoted(d.export_name) + " already defined");
          }
          KILN_ASSIGN(CoreExternType e, description(d.import));
          type->exports.emplace_back(d.export_name, std::move(e));
          break;
        }
      }
    }
    entry.module = std::move(type);
    return entry;
  }

  Result<CoreExternType> core_item(Scope& s, const SortIndex& item) {
    CoreExternType t;
    switch (item.sort) {
      case Sort::kCoreFunc: {
        KILN_ASSIGN(const FuncType* f, at_index(s.core_functions, item.index, "func"));
        t.kind = ExternKind::kFunction;
        t.function = *f;
        return t;
      }
      case Sort::kCoreTable: {
        KILN_ASSIGN(const TableType* table, at_index(s.core_tables, item.index, "table"));
        t.kind = ExternKind::kTable;
        t.table = *table;
        return t;
      }
      case Sort::kCoreMemory: {
        KILN_ASSIGN(const MemoryType* m, at_index(s.core_memories, item.index, "memory"));
        t.kind = ExternKind::kMemory;
        t.memory = *m;
        return t;
      }
      case Sort::kCoreGlobal: {
        KILN_ASSIGN(const GlobalType* g, at_index(s.core_globals, item.index, "global"));
        t.kind = ExternKind::kGlobal;
        t.global = *g;
        return t;
      }
      case Sort::kCoreTag: {
        KILN_ASSIGN(const FuncType* tag, at_index(s.core_tags, item.index, "tag"));
        t.kind = ExternKind::kTag;
        t.function = *tag;
        return t;
      }
      default:
        return invalid(std::string("a ") + sort_name(item.sort) +
                       " cannot be exported from a core instance");
    }
  }

  static void add_core(Scope& s, const CoreExternType& t) {
    switch (t.kind) {
      case ExternKind::kFunction:
        s.core_functions.push_back(t.function);
        break;
      case ExternKind::kTable:
        s.core_tables.push_back(t.table);
        break;
      case ExternKind::kMemory:
        s.core_memories.push_back(t.memory);
        break;
      case ExternKind::kGlobal:
        s.core_globals.push_back(t.global);
        break;
      case ExternKind::kTag:
        s.core_tags.push_back(t.function);
        break;
    }
  }

  // `sources`: where each import was found (ValidatedComponent::core_instance_imports).
  Result<void> core_instance(Scope& s, const CoreInstance& i,
                             std::vector<ValidatedComponent::ImportSource>& sources) {
    auto type = std::make_shared<CoreInstanceType>();
    if (!i.instantiate) {
      std::set<std::string> names;
      for (const auto& [name, item] : i.exports) {
        if (!names.insert(name).second) {
          return invalid("export name " + quoted(name) + " already defined");
        }
        KILN_ASSIGN(CoreExternType t, core_item(s, item));
        type->exports.emplace_back(name, std::move(t));
      }
      s.core_instances.push_back(std::move(type));
      return {};
    }
    KILN_ASSIGN(const auto* module, at_index(s.core_modules, i.module, "module"));
    std::map<std::string, std::pair<const CoreInstanceType*, uint32_t>> args;  // and its index
    for (uint32_t k = 0; k < i.args.size(); ++k) {
      const auto& [name, instance_index] = i.args[k];
      KILN_ASSIGN(const auto* instance, at_index(s.core_instances, instance_index, "instance"));
      if (!args.emplace(name, std::pair(instance->get(), k)).second) {
        return invalid("duplicate module instantiation argument named " + quoted(name));
      }
    }
    sources.reserve((*module)->imports.size());
    for (const CoreImport& import : (*module)->imports) {
      auto arg = args.find(import.module);
      if (arg == args.end()) {
        return invalid("missing module instantiation argument named " + quoted(import.module));
      }
      const auto [arg_type, argument] = arg->second;
      const size_t position = arg_type->position(import.name);
      if (position == SIZE_MAX) {
        return invalid("module instantiation argument " + quoted(import.module) +
                       " does not export an item named " + quoted(import.name));
      }
      const CoreExternType* actual = &arg_type->exports[position].second;
      sources.push_back({argument, position});
      if (auto r = check_subtype(*actual, import.type); !r) {
        Error e = r.take_error();
        e.message = "type mismatch for export " + quoted(import.name) + " of module " +
                    "instantiation argument " + quoted(import.module) + ": " + e.message;
        return e;
      }
    }
    type->exports = (*module)->exports;
    s.core_instances.push_back(std::move(type));
    return {};
  }

  // ---- value types and type definitions ----

  Result<ValueType> value_type(Scope& s, const component::ValueType& v) {
    if (v.is_primitive) return ValueType{v.primitive, nullptr};
    KILN_ASSIGN(const TypeDefinition* t, at_index(s.types, v.index, "type"));
    if (t->kind != TypeDefinition::Kind::kValue) {
      return invalid("type index " + std::to_string(v.index) + " is not a defined type");
    }
    return t->value;
  }

  Result<std::optional<ValueType>> optional_value_type(
      Scope& s, const std::optional<component::ValueType>& v) {
    if (!v) return std::optional<ValueType>{};
    KILN_ASSIGN(ValueType t, value_type(s, *v));
    return std::optional<ValueType>{std::move(t)};
  }

  // Labels of records, variants, flags, enums and function parameters: kebab case, unique
  // ignoring case.
  static Result<void> check_labels(const std::vector<std::string>& labels, const char* what,
                                   const char* plural) {
    std::map<std::string, std::string> seen;
    for (const std::string& label : labels) {
      if (label.empty()) return invalid(std::string(what) + " name cannot be empty");
      if (!is_label(label)) {
        return invalid(std::string(what) + " name " + quoted(label) + " is not in kebab case");
      }
      std::string key;
      for (char ch : label) key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto [it, inserted] = seen.emplace(key, label);
      if (!inserted) {
        return invalid(std::string(what) + " name " + quoted(label) + " conflicts with previous " +
                       plural + " name " + quoted(it->second));
      }
    }
    return {};
  }

  Result<const TypeDefinition*> resource_of(Scope& s, uint32_t index) {
    KILN_ASSIGN(const TypeDefinition* t, at_index(s.types, index, "type"));
    if (t->kind != TypeDefinition::Kind::kResource) {
      return invalid("type index " + std::to_string(index) + " is not a resource type");
    }
    return t;
  }

  Result<ValueType> defined_value_type(Scope& s, const DefinedValueType& d) {
    using Kind = DefinedValueType::Kind;
    auto t = std::make_shared<DefinedType>();
    t->kind = d.kind;
    switch (d.kind) {
      case Kind::kPrimitive:
        t->primitive = d.primitive;
        break;
      case Kind::kRecord: {
        if (d.fields.empty()) return invalid("record type must have at least one field");
        std::vector<std::string> labels;
        for (const LabeledType& f : d.fields) {
          labels.push_back(f.label);
          KILN_ASSIGN(ValueType ft, value_type(s, f.type));
          t->fields.push_back({f.label, std::move(ft)});
        }
        KILN_TRY(check_labels(labels, "record field", "field"));
        break;
      }
      case Kind::kVariant: {
        if (d.cases.empty()) return invalid("variant type must have at least one case");
        std::vector<std::string> labels;
        for (const VariantCase& c : d.cases) {
          labels.push_back(c.label);
          KILN_ASSIGN(auto ct, optional_value_type(s, c.type));
          t->cases.push_back({c.label, std::move(ct)});
        }
        KILN_TRY(check_labels(labels, "variant case", "case"));
        break;
      }
      case Kind::kTuple:
        if (d.types.empty()) return invalid("tuple type must have at least one type");
        [[fallthrough]];
      case Kind::kList:
      case Kind::kOption:
      case Kind::kMap:
        for (const component::ValueType& v : d.types) {
          KILN_ASSIGN(ValueType vt, value_type(s, v));
          t->types.push_back(std::move(vt));
        }
        break;
      case Kind::kFixedList: {
        if (d.length == 0) return invalid("fixed-length list must have at least one element");
        KILN_ASSIGN(ValueType element, value_type(s, d.types[0]));
        t->types.push_back(std::move(element));
        t->length = d.length;
        break;
      }
      case Kind::kStream:
      case Kind::kFuture: {
        // Types of the async ABI: definable (they cost nothing); functions using them are
        // refused where they are lifted or lowered.
        KILN_ASSIGN(auto element, optional_value_type(s, d.ok));
        if (d.kind == Kind::kStream && element && element->is_primitive() &&
            element->primitive == PrimitiveType::kChar) {
          return invalid("`stream<char>` is not valid at this time");
        }
        if (element) t->types.push_back(std::move(*element));
        break;
      }
      case Kind::kFlags:
        if (d.labels.empty()) return invalid("flags must have at least one entry");
        if (d.labels.size() > 32) return invalid("cannot have more than 32 flags");
        KILN_TRY(check_labels(d.labels, "flag", "flag"));
        t->labels = d.labels;
        break;
      case Kind::kEnum:
        if (d.labels.empty()) return invalid("enum type must have at least one variant");
        KILN_TRY(check_labels(d.labels, "enum tag", "tag"));
        t->labels = d.labels;
        break;
      case Kind::kResult: {
        KILN_ASSIGN(auto ok, optional_value_type(s, d.ok));
        KILN_ASSIGN(auto error, optional_value_type(s, d.error));
        t->ok = std::move(ok);
        t->error = std::move(error);
        break;
      }
      case Kind::kOwn:
      case Kind::kBorrow: {
        KILN_ASSIGN(const TypeDefinition* resource, resource_of(s, d.resource));
        t->resource = resource->resource;
        t->name = resource->resource_name;
        break;
      }
    }
    if (nominal(t->kind)) t->name = fresh_id();
    abi::finish_defined_type(*t);
    if (t->depth > kMaxTypeDepth) {
      return Error{ErrorKind::kLimit,
                   "a value type nests deeper than " + std::to_string(kMaxTypeDepth) + " levels"};
    }
    if (t->type_size > kMaxTypeSize) {
      return Error{ErrorKind::kLimit,
                   "effective type size exceeds the limit of " + std::to_string(kMaxTypeSize)};
    }
    if (t->size64 >= abi::kMaxValueByteSize) {
      return invalid(
          "type exceeds maximum byte size (elem_size " +
          (t->size64 == UINT64_MAX ? std::string("past 2^64") : std::to_string(t->size64)) +
          ", limit 2^28)");
    }
    return ValueType{d.primitive, std::move(t)};
  }

  Result<std::shared_ptr<const FunctionType>> function_type(Scope& s,
                                                            const component::FunctionType& f) {
    if (f.async) return not_supported("an async function type (component-model async)");
    auto t = std::make_shared<FunctionType>();
    std::vector<std::string> labels;
    for (const LabeledType& p : f.params) {
      labels.push_back(p.label);
      KILN_ASSIGN(ValueType pt, value_type(s, p.type));
      t->params.push_back({p.label, std::move(pt)});
    }
    KILN_TRY(check_labels(labels, "function parameter", "parameter"));
    KILN_ASSIGN(t->result, optional_value_type(s, f.result));
    if (t->result && abi::contains_borrow(*t->result)) {
      return invalid("function result cannot contain a `borrow` type");
    }
    return std::shared_ptr<const FunctionType>(std::move(t));
  }

  Result<TypeDefinition> type_definition(Scope& s, const Type& t) {
    TypeDefinition out;
    switch (t.kind) {
      case Type::Kind::kValue:
        out.kind = TypeDefinition::Kind::kValue;
        KILN_SET(out.value, defined_value_type(s, t.value));
        return out;
      case Type::Kind::kFunction:
        out.kind = TypeDefinition::Kind::kFunction;
        KILN_SET(out.function, function_type(s, t.function));
        return out;
      case Type::Kind::kResource: {
        if (!s.concrete()) {
          return invalid("resources can only be defined within a concrete component");
        }
        if (t.resource.representation != ValType::kI32) {
          return invalid("resources can only be represented by `i32`");
        }
        if (t.resource.destructor) {
          KILN_ASSIGN(const FuncType* d,
                      at_index(s.core_functions, *t.resource.destructor, "func"));
          if (d->params != std::vector<ValType>{ValType::kI32} || !d->results.empty()) {
            return invalid("wrong signature for a destructor: expected (func (param i32))");
          }
        }
        out.kind = TypeDefinition::Kind::kResource;
        out.resource = fresh_id();
        out.resource_name = fresh_id();
        s.local_resources.insert(out.resource);
        s.defined_resources.push_back(out.resource);
        return out;
      }
      case Type::Kind::kComponent:
      case Type::Kind::kInstance: {
        Scope inner;
        inner.kind = t.kind == Type::Kind::kComponent ? Scope::Kind::kComponentType
                                                      : Scope::Kind::kInstanceType;
        inner.parent = &s;
        for (const Declarator& d : t.declarators) KILN_TRY(declarator(inner, d));
        if (t.kind == Type::Kind::kComponent) {
          auto c = std::make_shared<ComponentType>();
          c->imports = std::move(inner.imports);
          c->exports = std::move(inner.exports);
          c->imported_resources = std::move(inner.imported_resources);
          c->defined_resources = std::move(inner.defined_resources);
          out.kind = TypeDefinition::Kind::kComponent;
          out.component = std::move(c);
        } else {
          auto i = std::make_shared<InstanceType>();
          i->exports = std::move(inner.exports);
          i->defined_resources = std::move(inner.defined_resources);
          out.kind = TypeDefinition::Kind::kInstance;
          out.instance = std::move(i);
        }
        return out;
      }
    }
    return out;
  }

  Result<void> declarator(Scope& s, const Declarator& d) {
    auto in = [&](Result<void> r, const char* what) -> Result<void> {
      if (r) return {};
      Error e = r.take_error();
      e.message = std::string("in a ") + what + " declarator (at byte offset " +
                  hex_offset(d.offset) + "): " + e.message;
      return e;
    };
    switch (d.kind) {
      case Declarator::Kind::kCoreType: {
        auto t = core_type(s, *d.core_type);
        if (!t) return in(t.take_error(), "core type");
        s.core_types.push_back(std::move(*t));
        return {};
      }
      case Declarator::Kind::kType: {
        auto t = type_definition(s, *d.type);
        if (!t) return in(t.take_error(), "type");
        s.types.push_back(std::move(*t));
        return {};
      }
      case Declarator::Kind::kAlias: {
        // Types declare types: their aliases bring in only types and (export aliases of
        // imported instances) instances (Explainer.md: `instancedecl`, `componentdecl`).
        const Sort sort = d.alias.sort;
        const bool allowed = d.alias.target == Alias::Target::kOuter
                                 ? sort == Sort::kType || sort == Sort::kCoreType
                                 : sort == Sort::kType || sort == Sort::kInstance;
        if (!allowed) {
          return in(invalid(std::string("an alias of a ") + sort_name(sort) +
                            " in a type declaration: aliases there may only refer to types or "
                            "instances"),
                    "alias");
        }
        return in(alias(s, d.alias), "alias");
      }
      case Declarator::Kind::kImport:
        if (s.kind != Scope::Kind::kComponentType) {
          return in(invalid("instance types cannot import"), "import");
        }
        return in(import(s, d.name, d.extern_type), "import");
      case Declarator::Kind::kExport:
        return in(type_export(s, d.name, d.extern_type), "export");
    }
    return {};
  }

  // ---- imports, exports and names ----

  // The resolved form of an `externtype`, and the resources it introduces (fresh ones: a
  // `(sub resource)` bound, and the abstract resources of an instance type).
  Result<ExternType> extern_type(Scope& s, const component::ExternType& t,
                                 std::vector<ResourceId>& introduced) {
    using Kind = component::ExternType::Kind;
    ExternType out;
    out.kind = t.kind;
    switch (t.kind) {
      case Kind::kCoreModule: {
        KILN_ASSIGN(const CoreTypeEntry* c, at_index(s.core_types, t.index, "core type"));
        if (c->unsupported) return not_supported(kGcTypeUse);
        if (!c->is_module) {
          return invalid("core type index " + std::to_string(t.index) + " is not a module type");
        }
        out.module = c->module;
        return out;
      }
      case Kind::kFunc: {
        KILN_ASSIGN(const TypeDefinition* f, at_index(s.types, t.index, "type"));
        if (f->kind != TypeDefinition::Kind::kFunction) {
          return invalid("type index " + std::to_string(t.index) + " is not a function type");
        }
        out.function = f->function;
        return out;
      }
      case Kind::kValue:
        if (t.bound == component::ExternType::Bound::kValueType) {
          KILN_SET(out.value, value_type(s, t.value_type));
        } else {
          KILN_ASSIGN(const ValueType* v, at_index(s.values, t.index, "value"));
          out.value = *v;
        }
        return out;
      case Kind::kType:
        if (t.bound == component::ExternType::Bound::kSubResource) {
          out.type.kind = TypeDefinition::Kind::kResource;
          out.type.resource = fresh_id();
          out.type.resource_name = fresh_id();
          introduced.push_back(out.type.resource);
          return out;
        }
        {
          KILN_ASSIGN(const TypeDefinition* eq, at_index(s.types, t.index, "type"));
          out.type = *eq;
        }
        return out;
      case Kind::kComponent: {
        KILN_ASSIGN(const TypeDefinition* c, at_index(s.types, t.index, "type"));
        if (c->kind != TypeDefinition::Kind::kComponent) {
          return invalid("type index " + std::to_string(t.index) + " is not a component type");
        }
        out.component = c->component;
        return out;
      }
      case Kind::kInstance: {
        KILN_ASSIGN(const TypeDefinition* i, at_index(s.types, t.index, "type"));
        if (i->kind != TypeDefinition::Kind::kInstance) {
          return invalid("type index " + std::to_string(t.index) + " is not an instance type");
        }
        ResourceMap fresh;
        for (ResourceId id : i->instance->defined_resources) {
          fresh[id] = fresh_id();
          introduced.push_back(fresh[id]);
        }
        auto instance = std::make_shared<InstanceType>();
        instance->exports = substitute(*i->instance, fresh).exports;
        out.instance = std::move(instance);
        return out;
      }
    }
    return out;
  }

  static InstanceType substitute(const InstanceType& t, const ResourceMap& map) {
    InstanceType out;
    for (const NamedExtern& e : t.exports)
      out.exports.push_back({e.name, resolved::substitute(e.type, map)});
    for (ResourceId id : t.defined_resources) {
      auto it = map.find(id);
      out.defined_resources.push_back(it == map.end() ? id : it->second);
    }
    return out;
  }

  // Checks and records an import or export of `type` named `name` in scope `s`.
  Result<void> add_extern(Scope& s, const ExternName& name, ExternType type, bool is_import) {
    Namespace& ns = is_import ? s.imports_namespace : s.exports_namespace;
    KILN_TRY(check_name(ns, name, type));
    // Instance types defer the check to the import or export that uses them (Explainer.md);
    // component types check eagerly. (The names visible are gathered only then: a copy of them
    // for each export of an instance type was most of validating WASI's interfaces.)
    if (s.kind != Scope::Kind::kInstanceType) {
      std::set<TypeName> names = s.imports_namespace.names;
      if (!is_import)
        names.insert(s.exports_namespace.names.begin(), s.exports_namespace.names.end());
      introduced_names(type, names);
      if (!extern_visible(type, names)) return not_visible(type, is_import ? "import" : "export");
    }
    register_names(ns, name.name, type);
    add_item(s, type);
    (is_import ? s.imports : s.exports).push_back({name.name, std::move(type)});
    return {};
  }

  static void add_item(Scope& s, const ExternType& t) {
    switch (t.kind) {
      case ExternType::Kind::kCoreModule:
        s.core_modules.push_back(t.module);
        break;
      case ExternType::Kind::kFunc:
        s.functions.push_back(t.function);
        break;
      case ExternType::Kind::kValue:
        s.values.push_back(t.value);
        break;
      case ExternType::Kind::kType:
        s.types.push_back(t.type);
        break;
      case ExternType::Kind::kComponent:
        s.components.push_back(t.component);
        break;
      case ExternType::Kind::kInstance:
        s.instances.push_back(t.instance);
        break;
    }
  }

  Result<void> import(Scope& s, const ExternName& name, const component::ExternType& t) {
    std::vector<ResourceId> introduced;
    KILN_ASSIGN(ExternType type, extern_type(s, t, introduced));
    KILN_TRY(add_extern(s, name, renamed(std::move(type)), /*is_import=*/true));
    s.imported_resources.insert(s.imported_resources.end(), introduced.begin(), introduced.end());
    return {};
  }

  // An export declarator of a component or instance type.
  Result<void> type_export(Scope& s, const ExternName& name, const component::ExternType& t) {
    std::vector<ResourceId> introduced;
    KILN_ASSIGN(ExternType type, extern_type(s, t, introduced));
    KILN_TRY(add_extern(s, name, renamed(std::move(type)), /*is_import=*/false));
    s.defined_resources.insert(s.defined_resources.end(), introduced.begin(), introduced.end());
    return {};
  }

  Result<ExternType> item_type(Scope& s, const SortIndex& item) {
    ExternType t;
    switch (item.sort) {
      case Sort::kCoreModule: {
        t.kind = ExternType::Kind::kCoreModule;
        KILN_ASSIGN(const auto* m, at_index(s.core_modules, item.index, "module"));
        t.module = *m;
        return t;
      }
      case Sort::kFunc: {
        t.kind = ExternType::Kind::kFunc;
        KILN_ASSIGN(const auto* f, at_index(s.functions, item.index, "func"));
        t.function = *f;
        return t;
      }
      case Sort::kValue: {
        t.kind = ExternType::Kind::kValue;
        KILN_ASSIGN(const auto* v, at_index(s.values, item.index, "value"));
        t.value = *v;
        return t;
      }
      case Sort::kType: {
        t.kind = ExternType::Kind::kType;
        KILN_ASSIGN(const auto* d, at_index(s.types, item.index, "type"));
        t.type = *d;
        return t;
      }
      case Sort::kComponent: {
        t.kind = ExternType::Kind::kComponent;
        KILN_ASSIGN(const auto* c, at_index(s.components, item.index, "component"));
        t.component = *c;
        return t;
      }
      case Sort::kInstance: {
        t.kind = ExternType::Kind::kInstance;
        KILN_ASSIGN(const auto* i, at_index(s.instances, item.index, "instance"));
        t.instance = *i;
        return t;
      }
      default:
        return invalid(std::string("a ") + sort_name(item.sort) +
                       " cannot be an export or an instantiation argument of a component");
    }
  }

  Result<void> component_export(Scope& s, const ComponentExport& e) {
    KILN_ASSIGN(ExternType type, item_type(s, e.item));
    std::vector<ResourceId> introduced;
    if (e.type) {
      KILN_ASSIGN(ExternType ascribed, extern_type(s, *e.type, introduced));
      // A `(sub resource)` in the ascription accepts any resource, and the export then has an
      // abstract resource type of its own (a fresh one per instance, as for a definition).
      ResourceMap bound;
      std::set<ResourceId> bindable(introduced.begin(), introduced.end());
      bind_resources(ascribed, type, bindable, bound);
      if (auto r = check_subtype(type, resolved::substitute(ascribed, bound)); !r) {
        Error err = r.take_error();
        err.message = "type mismatch in export " + quoted(e.name.name) + ": " + err.message;
        return err;
      }
      type = std::move(ascribed);
    }
    KILN_TRY(add_extern(s, e.name, renamed(std::move(type)), /*is_import=*/false));
    s.defined_resources.insert(s.defined_resources.end(), introduced.begin(), introduced.end());
    return {};
  }

  // ---- instances ----

  Result<void> instance(Scope& s, const Instance& i) {
    auto type = std::make_shared<InstanceType>();
    if (!i.instantiate) {
      Namespace names{"export"};  // the bundle's own
      for (const auto& [name, item] : i.exports) {
        KILN_ASSIGN(ExternType t, item_type(s, item));
        t = renamed(std::move(t));
        KILN_TRY(check_name(names, name, t));
        register_names(names, name.name, t);
        type->exports.push_back({name.name, std::move(t)});
      }
      s.instances.push_back(std::move(type));
      return {};
    }
    KILN_ASSIGN(const auto* component_type, at_index(s.components, i.component, "component"));
    const ComponentType& c = **component_type;
    std::map<std::string, ExternType> args;
    for (const auto& [name, item] : i.args) {
      KILN_ASSIGN(ExternType t, item_type(s, item));
      if (!args.emplace(name, std::move(t)).second) {
        return invalid("instantiation argument " + quoted(name) +
                       " conflicts with previous argument");
      }
    }
    ResourceMap map;
    const std::set<ResourceId> bindable(c.imported_resources.begin(), c.imported_resources.end());
    for (const NamedExtern& import : c.imports) {
      auto arg = args.find(import.name);
      if (arg == args.end()) return invalid("missing import named " + quoted(import.name));
      bind_resources(import.type, arg->second, bindable, map);
      const ExternType expected = resolved::substitute(import.type, map);
      if (auto r = check_subtype(arg->second, expected); !r) {
        Error e = r.take_error();
        e.message = "type mismatch for component instantiation argument " + quoted(import.name) +
                    ": " + e.message;
        return e;
      }
    }
    // Each instance has its own resources (generativity): fresh ids for the defined ones.
    for (ResourceId id : c.defined_resources) {
      const ResourceId fresh = fresh_id();
      map[id] = fresh;
      s.defined_resources.push_back(fresh);
    }
    for (const NamedExtern& e : c.exports) {
      type->exports.push_back({e.name, resolved::substitute(e.type, map)});
    }
    s.instances.push_back(std::move(type));
    return {};
  }

  // ---- aliases ----

  static Result<Scope*> outer_scope(Scope& s, uint32_t count) {
    Scope* target = &s;
    for (uint32_t i = 0; i < count; ++i) {
      if (!target->parent) return invalid("invalid outer alias count of " + std::to_string(count));
      target = target->parent;
    }
    return target;
  }

  static bool sort_matches(Sort sort, ExternType::Kind kind) {
    switch (kind) {
      case ExternType::Kind::kCoreModule:
        return sort == Sort::kCoreModule;
      case ExternType::Kind::kFunc:
        return sort == Sort::kFunc;
      case ExternType::Kind::kValue:
        return sort == Sort::kValue;
      case ExternType::Kind::kType:
        return sort == Sort::kType;
      case ExternType::Kind::kComponent:
        return sort == Sort::kComponent;
      case ExternType::Kind::kInstance:
        return sort == Sort::kInstance;
    }
    return false;
  }

  static bool core_sort_matches(Sort sort, ExternKind kind) {
    switch (kind) {
      case ExternKind::kFunction:
        return sort == Sort::kCoreFunc;
      case ExternKind::kTable:
        return sort == Sort::kCoreTable;
      case ExternKind::kMemory:
        return sort == Sort::kCoreMemory;
      case ExternKind::kGlobal:
        return sort == Sort::kCoreGlobal;
      case ExternKind::kTag:
        return sort == Sort::kCoreTag;
    }
    return false;
  }

  // `position`: an export alias's export's position in its instance's type
  // (ValidatedComponent::alias_positions).
  Result<void> alias(Scope& s, const Alias& a, size_t* position = nullptr) {
    switch (a.target) {
      case Alias::Target::kCoreExport: {
        KILN_ASSIGN(const auto* instance, at_index(s.core_instances, a.instance, "core instance"));
        const size_t at = (*instance)->position(a.name);
        if (position) *position = at;
        const CoreExternType* e = at == SIZE_MAX ? nullptr : &(*instance)->exports[at].second;
        if (!e) {
          return invalid("core instance " + std::to_string(a.instance) + " has no export named " +
                         quoted(a.name));
        }
        if (!core_sort_matches(a.sort, e->kind)) {
          return invalid("export " + quoted(a.name) + " of core instance " +
                         std::to_string(a.instance) + " is not a " + sort_name(a.sort));
        }
        add_core(s, *e);
        return {};
      }
      case Alias::Target::kExport: {
        KILN_ASSIGN(const auto* instance, at_index(s.instances, a.instance, "instance"));
        const size_t at = (*instance)->position(a.name);
        if (position) *position = at;
        const ExternType* e = at == SIZE_MAX ? nullptr : &(*instance)->exports[at].type;
        if (!e) {
          return invalid("instance " + std::to_string(a.instance) + " has no export named " +
                         quoted(a.name));
        }
        if (!sort_matches(a.sort, e->kind)) {
          return invalid("export " + quoted(a.name) + " of instance " + std::to_string(a.instance) +
                         " is not a " + sort_name(a.sort));
        }
        add_item(s, *e);
        return {};
      }
      case Alias::Target::kOuter: {
        KILN_ASSIGN(Scope * target, outer_scope(s, a.outer_count));
        // Crossing a concrete component's boundary, a type may not carry resources: they are
        // generative per instance of the enclosing component (Explainer.md "outer aliases").
        bool crosses_component = false;
        for (Scope* walk = &s; walk != target; walk = walk->parent) {
          crosses_component |= walk->concrete();
        }
        switch (a.sort) {
          case Sort::kCoreModule: {
            KILN_ASSIGN(const auto* m, at_index(target->core_modules, a.outer_index, "module"));
            s.core_modules.push_back(*m);
            return {};
          }
          case Sort::kCoreType: {
            KILN_ASSIGN(const auto* t, at_index(target->core_types, a.outer_index, "core type"));
            s.core_types.push_back(*t);
            return {};
          }
          case Sort::kComponent: {
            KILN_ASSIGN(const auto* c, at_index(target->components, a.outer_index, "component"));
            s.components.push_back(*c);
            return {};
          }
          case Sort::kType: {
            KILN_ASSIGN(const auto* t, at_index(target->types, a.outer_index, "type"));
            if (crosses_component) {
              ExternType as_extern;
              as_extern.kind = ExternType::Kind::kType;
              as_extern.type = *t;
              std::vector<ResourceId> used;
              collect_resources(as_extern, used);
              if (!used.empty()) {
                return invalid("type index " + std::to_string(a.outer_index) +
                               " transitively refers to resources not defined in the current "
                               "component");
              }
            }
            s.types.push_back(*t);
            return {};
          }
          default:
            return invalid("outer aliases may only refer to types, modules and components");
        }
      }
    }
    return {};
  }

  // ---- canonical definitions ----

  // The options' general rules (CanonicalABI.md "canonopt Validation"), then what the
  // function's type requires of them.
  Result<void> canon_options(Scope& s, const CanonOptions& o) {
    if (o.memory) {
      KILN_ASSIGN(const MemoryType* m, at_index(s.core_memories, *o.memory, "memory"));
      (void)m;
    }
    if (o.realloc) {
      KILN_ASSIGN(const FuncType* f, at_index(s.core_functions, *o.realloc, "func"));
      const FuncType expected{{ValType::kI32, ValType::kI32, ValType::kI32, ValType::kI32},
                              {ValType::kI32}};
      if (*f != expected) {
        return invalid(
            "canonical option `realloc` uses a core function with an incorrect "
            "signature (expected (func (param i32 i32 i32 i32) (result i32)))");
      }
      if (!o.memory) return invalid("canonical option `realloc` requires `memory`");
    }
    return {};
  }

  static Result<void> require(bool condition, bool present, const char* option, const char* why) {
    if (condition && !present) {
      return invalid(std::string("canonical option `") + option + "` is required (" + why + ")");
    }
    return {};
  }

  Result<void> canon(Scope& s, const Canon& c, uint32_t index) {
    if (s.canon_signatures.size() <= index) s.canon_signatures.resize(index + 1);
    if (c.kind == Canon::Kind::kUnsupported) {
      return not_supported(c.unsupported);
    }
    if (!c.unsupported.empty()) return not_supported(c.unsupported);
    switch (c.kind) {
      case Canon::Kind::kLift: {
        KILN_ASSIGN(const FuncType* core, at_index(s.core_functions, c.function, "core func"));
        KILN_ASSIGN(const TypeDefinition* t, at_index(s.types, c.type, "type"));
        if (t->kind != TypeDefinition::Kind::kFunction) {
          return invalid("type index " + std::to_string(c.type) + " is not a function type");
        }
        const FunctionType& f = *t->function;
        KILN_TRY(check_abi_types(f));
        KILN_TRY(canon_options(s, c.options));
        auto signature = abi::abi_signature(f, abi::Context::kLift);
        const abi::FlatSignature& flat = signature->flat;
        bool params_need_realloc = flat.params_in_memory;
        for (const Field& p : f.params) params_need_realloc |= abi::contains_string_or_list(p.type);
        const bool result_needs_memory =
            flat.results_in_memory || (f.result && abi::contains_string_or_list(*f.result));
        KILN_TRY(require(params_need_realloc, c.options.realloc.has_value(), "realloc",
                         "the parameters are passed in memory or hold strings or lists"));
        KILN_TRY(require(params_need_realloc || result_needs_memory, c.options.memory.has_value(),
                         "memory", "values are passed in memory"));
        if (*core != flat.core) {
          return invalid("lowered function type " + core_signature(flat.core) +
                         " does not match core function " + std::to_string(c.function) +
                         "'s type " + core_signature(*core));
        }
        if (c.options.post_return) {
          KILN_ASSIGN(const FuncType* pr,
                      at_index(s.core_functions, *c.options.post_return, "func"));
          const FuncType expected{flat.core.results, {}};
          if (*pr != expected) {
            return invalid(
                "canonical option `post-return` uses a core function with an "
                "incorrect signature: expected " +
                core_signature(expected) + ", found " + core_signature(*pr));
          }
        }
        s.functions.push_back(t->function);
        s.canon_signatures[index] = std::move(signature);
        return {};
      }
      case Canon::Kind::kLower: {
        KILN_ASSIGN(const auto* function, at_index(s.functions, c.function, "func"));
        const FunctionType& f = **function;
        KILN_TRY(check_abi_types(f));
        KILN_TRY(canon_options(s, c.options));
        if (c.options.post_return) {
          return invalid("canonical option `post-return` cannot be specified for lowerings");
        }
        auto signature = abi::abi_signature(f, abi::Context::kLower);
        const abi::FlatSignature& flat = signature->flat;
        bool params_need_memory = flat.params_in_memory;
        for (const Field& p : f.params) params_need_memory |= abi::contains_string_or_list(p.type);
        const bool result_needs_realloc = f.result && abi::contains_string_or_list(*f.result);
        KILN_TRY(require(result_needs_realloc, c.options.realloc.has_value(), "realloc",
                         "the result holds strings or lists"));
        KILN_TRY(require(params_need_memory || flat.results_in_memory || result_needs_realloc,
                         c.options.memory.has_value(), "memory", "values are passed in memory"));
        s.core_functions.push_back(flat.core);
        if (!s.lowered_core_types.registry()) {
          s.lowered_core_types = TypeReferences(engine_.shared_types());
        }
        signature->registry = s.lowered_core_types.registry();
        signature->core = s.lowered_core_types.intern(flat.core);
        s.canon_signatures[index] = std::move(signature);
        return {};
      }
      case Canon::Kind::kResourceNew:
      case Canon::Kind::kResourceRep: {
        KILN_ASSIGN(const TypeDefinition* resource, resource_of(s, c.type));
        if (!s.local_resources.count(resource->resource)) {
          return invalid("type index " + std::to_string(c.type) + " is not a local resource");
        }
        s.core_functions.push_back(FuncType{{ValType::kI32}, {ValType::kI32}});
        return {};
      }
      case Canon::Kind::kResourceDrop: {
        KILN_TRY(resource_of(s, c.type));
        s.core_functions.push_back(FuncType{{ValType::kI32}, {}});
        return {};
      }
      case Canon::Kind::kUnsupported:
        break;
    }
    return {};
  }

  static Result<void> check_abi_types(const FunctionType& f) {
    for (const Field& p : f.params) {
      if (abi::contains_async_value(p.type)) {
        return not_supported("a function with a stream, future or error-context parameter");
      }
    }
    if (f.result && abi::contains_async_value(*f.result)) {
      return not_supported("a function with a stream, future or error-context result");
    }
    return {};
  }

  static std::string core_signature(const FuncType& f) {
    std::string out = "[";
    for (size_t i = 0; i < f.params.size(); ++i) {
      if (i) out += " ";
      out += valtype_name(f.params[i]);
    }
    out += "] -> [";
    for (size_t i = 0; i < f.results.size(); ++i) {
      if (i) out += " ";
      out += valtype_name(f.results[i]);
    }
    return out + "]";
  }

  Result<void> start(Scope& s, const Start& st) {
    KILN_ASSIGN(const auto* function, at_index(s.functions, st.function, "func"));
    const FunctionType& f = **function;
    if (st.args.size() != f.params.size()) {
      return invalid("start function takes " + std::to_string(f.params.size()) +
                     " arguments, given " + std::to_string(st.args.size()));
    }
    for (size_t i = 0; i < st.args.size(); ++i) {
      KILN_ASSIGN(const ValueType* v, at_index(s.values, st.args[i], "value"));
      KILN_TRY(check_subtype(*v, f.params[i].type));
    }
    if (st.results != (f.result ? 1u : 0u)) {
      return invalid("start function returns " + std::to_string(f.result ? 1 : 0) +
                     " results, expected " + std::to_string(st.results));
    }
    if (f.result) s.values.push_back(*f.result);
    return {};
  }

  // The function bodies of a core module compile_structure has validated. A large module's
  // in the top-level component (`where` names it) are validated and translated on a thread of
  // their own while the rest of the component is validated (a command component's program
  // module, beside the WASI adapter and the component's own types), and finish_bodies joins in
  // once that is done; a nested component's, and a small module's, at once. A WASI 0.2
  // hello-world (medians of 250 interleaved runs on 2 cores): 3.45 ms with every module on the
  // validating thread, 3.09 ms with its 26 KB program module on a thread of its own, 3.13 ms
  // with the 7 KB adapter on a third as well; in another set, 3.20 ms on one thread, 2.88 ms with
  // the validating thread joining in (CPU +0.3 ms).
  Result<void> compile_bodies(const std::shared_ptr<Module>& module, std::string where) {
    constexpr size_t kBackgroundBytes = 16 * 1024;
    // At most this many at once (beside the validating thread, as validate_bodies's 4): a
    // component of a thousand large modules must not start a thousand threads. The rest are
    // compiled at once, after which their errors still come after the earlier modules'.
    constexpr size_t kMaxBackgroundModules = 3;
    size_t bytes = 0;
    for (const FunctionBody& b : module->bodies) bytes += b.code.size();
    if (where.empty() || bytes < kBackgroundBytes || !engine_.config().parallel_compilation ||
        jobs_.size() >= kMaxBackgroundModules) {
      return Module::compile_bodies(engine_, *module);
    }
    auto job = std::make_unique<BodiesJob>();
    job->where = std::move(where);
    job->compilation = std::make_shared<Module::BodyCompilation>(engine_, module);
    try {
      job->thread = std::thread([compilation = job->compilation] { compilation->work(); });
    } catch (...) {  // no thread to be had: finish_bodies does it all
    }
    jobs_.push_back(std::move(job));
    return {};
  }

 public:
  // Finishes the bodies compile_bodies left to threads, this thread joining in (it has nothing
  // else to do: what its work left of a program module's translation, about half, is shared
  // instead of waited for): the first error among them, in the component's order, or none.
  // Its module comes before whatever definition the validation of the rest stopped at, so it is
  // the error that validating in order finds first.
  Result<void> finish_bodies() {
    for (auto& job : jobs_) {
      job->compilation->work();
      if (job->thread.joinable()) job->thread.join();
    }
    std::vector<std::unique_ptr<BodiesJob>> jobs = std::move(jobs_);
    jobs_.clear();
    for (auto& job : jobs) {
      if (auto r = job->compilation->finish(); !r) {
        Error e = r.take_error();
        e.message = "in " + job->where + ": " + e.message;
        return e;
      }
    }
    return {};
  }
  ~Validator() { (void)finish_bodies(); }

 private:
  struct BodiesJob {
    std::thread thread;
    std::shared_ptr<Module::BodyCompilation> compilation;
    std::string where;
  };
  Engine& engine_;
  std::vector<std::unique_ptr<BodiesJob>> jobs_;
};

}  // namespace

Result<std::unique_ptr<ValidatedComponent>> validate_component(Engine& engine,
                                                               const Component& component) {
  Validator v(engine);
  auto validated = v.component(component, nullptr);
  KILN_TRY(v.finish_bodies());
  return validated;
}

Result<LoadedComponent> load_component(Engine& engine, std::span<const uint8_t> bytes) {
  return load_component(engine, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Result<LoadedComponent> load_component(Engine& engine, std::vector<uint8_t>&& bytes) {
  LoadedComponent loaded;
  KILN_SET(loaded.decoded,
           decode_component(std::make_shared<const std::vector<uint8_t>>(std::move(bytes))));
  KILN_SET(loaded.validated, validate_component(engine, *loaded.decoded));
  return loaded;
}

}  // namespace kiln::component
