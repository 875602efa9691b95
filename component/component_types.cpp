#include "component/component_types.h"

#include <atomic>

namespace kiln::component::resolved {

uint64_t fresh_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::optional<PrimitiveType> primitive_of(const ValueType& type) {
  if (!type.defined) return type.primitive;
  if (type.defined->kind == DefinedType::Kind::kPrimitive) return type.defined->primitive;
  return std::nullopt;
}

const CoreExternType* CoreInstanceType::find(const std::string& name) const {
  const size_t at = position(name);
  return at == SIZE_MAX ? nullptr : &exports[at].second;
}

size_t CoreInstanceType::position(std::string_view name) const {
  for (size_t i = 0; i < exports.size(); ++i) {
    if (exports[i].first == name) return i;
  }
  return SIZE_MAX;
}

const ExternType* InstanceType::find(const std::string& name) const {
  const size_t at = position(name);
  return at == SIZE_MAX ? nullptr : &exports[at].type;
}

size_t InstanceType::position(std::string_view name) const {
  for (size_t i = 0; i < exports.size(); ++i) {
    if (exports[i].name == name) return i;
  }
  return SIZE_MAX;
}

namespace {

bool refers_to(const ValueType& type, const ResourceMap& map);

bool refers_to(const DefinedType& t, const ResourceMap& map) {
  using Kind = DefinedType::Kind;
  if (map.count(t.name)) return true;
  if (t.kind == Kind::kOwn || t.kind == Kind::kBorrow) return map.count(t.resource) != 0;
  for (const Field& f : t.fields) {
    if (refers_to(f.type, map)) return true;
  }
  for (const Case& c : t.cases) {
    if (c.type && refers_to(*c.type, map)) return true;
  }
  for (const ValueType& v : t.types) {
    if (refers_to(v, map)) return true;
  }
  return (t.ok && refers_to(*t.ok, map)) || (t.error && refers_to(*t.error, map));
}

bool refers_to(const ValueType& type, const ResourceMap& map) {
  return type.defined && refers_to(*type.defined, map);
}

std::optional<ValueType> substitute(const std::optional<ValueType>& type, const ResourceMap& map) {
  if (!type) return std::nullopt;
  return substitute(*type, map);
}

std::vector<NamedExtern> substitute(const std::vector<NamedExtern>& externs,
                                    const ResourceMap& map) {
  std::vector<NamedExtern> out;
  out.reserve(externs.size());
  for (const NamedExtern& e : externs) out.push_back({e.name, substitute(e.type, map)});
  return out;
}

ResourceId mapped(ResourceId id, const ResourceMap& map) {
  auto it = map.find(id);
  return it == map.end() ? id : it->second;
}

std::vector<ResourceId> mapped(const std::vector<ResourceId>& ids, const ResourceMap& map) {
  std::vector<ResourceId> out;
  out.reserve(ids.size());
  for (ResourceId id : ids) out.push_back(mapped(id, map));
  return out;
}

std::shared_ptr<const InstanceType> substitute(const std::shared_ptr<const InstanceType>& type,
                                               const ResourceMap& map) {
  auto out = std::make_shared<InstanceType>();
  out->exports = substitute(type->exports, map);
  out->defined_resources = mapped(type->defined_resources, map);
  return out;
}

std::shared_ptr<const ComponentType> substitute(const std::shared_ptr<const ComponentType>& type,
                                                const ResourceMap& map) {
  auto out = std::make_shared<ComponentType>();
  out->imports = substitute(type->imports, map);
  out->exports = substitute(type->exports, map);
  out->imported_resources = mapped(type->imported_resources, map);
  out->defined_resources = mapped(type->defined_resources, map);
  return out;
}

Error mismatch(const std::string& message) {
  return Error{ErrorKind::kInvalid, message};
}

// "type mismatch in record field `x`: " + the inner reason.
Error in_context(const std::string& where, Error inner) {
  inner.message = "type mismatch in " + where + ": " + inner.message;
  return inner;
}

bool same_labels(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a == b;
}

}  // namespace

ValueType substitute(const ValueType& type, const ResourceMap& map) {
  if (map.empty() || !refers_to(type, map)) return type;
  auto out = std::make_shared<DefinedType>(*type.defined);
  out->resource = mapped(out->resource, map);
  out->name = mapped(out->name, map);
  for (Field& f : out->fields) f.type = substitute(f.type, map);
  for (Case& c : out->cases) c.type = substitute(c.type, map);
  for (ValueType& v : out->types) v = substitute(v, map);
  out->ok = substitute(out->ok, map);
  out->error = substitute(out->error, map);
  return ValueType{type.primitive, std::move(out)};
}

std::shared_ptr<const FunctionType> substitute(const std::shared_ptr<const FunctionType>& type,
                                               const ResourceMap& map) {
  if (map.empty() || !type) return type;
  auto out = std::make_shared<FunctionType>();
  for (const Field& p : type->params) out->params.push_back({p.label, substitute(p.type, map)});
  out->result = substitute(type->result, map);
  return out;
}

TypeDefinition substitute(const TypeDefinition& type, const ResourceMap& map) {
  if (map.empty()) return type;
  TypeDefinition out = type;
  switch (type.kind) {
    case TypeDefinition::Kind::kValue:
      out.value = substitute(type.value, map);
      break;
    case TypeDefinition::Kind::kFunction:
      out.function = substitute(type.function, map);
      break;
    case TypeDefinition::Kind::kComponent:
      out.component = substitute(type.component, map);
      break;
    case TypeDefinition::Kind::kInstance:
      out.instance = substitute(type.instance, map);
      break;
    case TypeDefinition::Kind::kResource:
      out.resource = mapped(type.resource, map);
      out.resource_name = mapped(type.resource_name, map);
      break;
  }
  return out;
}

ExternType substitute(const ExternType& type, const ResourceMap& map) {
  if (map.empty()) return type;
  ExternType out = type;
  switch (type.kind) {
    case ExternType::Kind::kCoreModule:
      break;
    case ExternType::Kind::kFunc:
      out.function = substitute(type.function, map);
      break;
    case ExternType::Kind::kValue:
      out.value = substitute(type.value, map);
      break;
    case ExternType::Kind::kType:
      out.type = substitute(type.type, map);
      break;
    case ExternType::Kind::kComponent:
      out.component = substitute(type.component, map);
      break;
    case ExternType::Kind::kInstance:
      out.instance = substitute(type.instance, map);
      break;
  }
  return out;
}

void bind_resources(const ExternType& expected, const ExternType& actual,
                    const std::set<ResourceId>& bindable, ResourceMap& map) {
  if (expected.kind != actual.kind) return;
  auto bind_name = [&](uint64_t from, uint64_t to) {
    if (from != 0 && to != 0 && from != to && !map.count(from)) map[from] = to;
  };
  if (expected.kind == ExternType::Kind::kType) {
    const TypeDefinition& e = expected.type;
    const TypeDefinition& a = actual.type;
    if (e.kind == TypeDefinition::Kind::kResource && a.kind == TypeDefinition::Kind::kResource) {
      if (bindable.count(e.resource) && !map.count(e.resource)) map[e.resource] = a.resource;
      bind_name(e.resource_name, a.resource_name);
    }
    if (e.kind == TypeDefinition::Kind::kValue && a.kind == TypeDefinition::Kind::kValue &&
        e.value.defined && a.value.defined) {
      bind_name(e.value.defined->name, a.value.defined->name);
    }
    return;
  }
  if (expected.kind == ExternType::Kind::kInstance) {
    for (const NamedExtern& e : expected.instance->exports) {
      if (const ExternType* a = actual.instance->find(e.name))
        bind_resources(e.type, *a, bindable, map);
    }
  }
}

void collect_resources(const ValueType& type, std::vector<ResourceId>& out) {
  if (!type.defined) return;
  const DefinedType& t = *type.defined;
  if (t.kind == DefinedType::Kind::kOwn || t.kind == DefinedType::Kind::kBorrow) {
    for (ResourceId id : out) {
      if (id == t.resource) return;
    }
    out.push_back(t.resource);
    return;
  }
  for (const Field& f : t.fields) collect_resources(f.type, out);
  for (const Case& c : t.cases) {
    if (c.type) collect_resources(*c.type, out);
  }
  for (const ValueType& v : t.types) collect_resources(v, out);
  if (t.ok) collect_resources(*t.ok, out);
  if (t.error) collect_resources(*t.error, out);
}

void collect_resources(const ExternType& type, std::vector<ResourceId>& out) {
  auto add = [&](ResourceId id) {
    for (ResourceId seen : out) {
      if (seen == id) return;
    }
    out.push_back(id);
  };
  auto function = [&](const FunctionType& f) {
    for (const Field& p : f.params) collect_resources(p.type, out);
    if (f.result) collect_resources(*f.result, out);
  };
  switch (type.kind) {
    case ExternType::Kind::kCoreModule:
      return;
    case ExternType::Kind::kFunc:
      function(*type.function);
      return;
    case ExternType::Kind::kValue:
      collect_resources(type.value, out);
      return;
    case ExternType::Kind::kType:
      switch (type.type.kind) {
        case TypeDefinition::Kind::kResource:
          add(type.type.resource);
          return;
        case TypeDefinition::Kind::kValue:
          collect_resources(type.type.value, out);
          return;
        case TypeDefinition::Kind::kFunction:
          function(*type.type.function);
          return;
        case TypeDefinition::Kind::kInstance:
          for (const NamedExtern& e : type.type.instance->exports) collect_resources(e.type, out);
          return;
        case TypeDefinition::Kind::kComponent:
          for (const NamedExtern& e : type.type.component->imports) collect_resources(e.type, out);
          for (const NamedExtern& e : type.type.component->exports) collect_resources(e.type, out);
          return;
      }
      return;
    case ExternType::Kind::kComponent:
      for (const NamedExtern& e : type.component->imports) collect_resources(e.type, out);
      for (const NamedExtern& e : type.component->exports) collect_resources(e.type, out);
      return;
    case ExternType::Kind::kInstance:
      for (const NamedExtern& e : type.instance->exports) collect_resources(e.type, out);
      return;
  }
}

Result<void> check_subtype(const ValueType& actual, const ValueType& expected) {
  using Kind = DefinedType::Kind;
  // A defined primitive (`(type u32)`) is that primitive.
  const auto pa = primitive_of(actual), pe = primitive_of(expected);
  if (pa || pe) {
    if (pa && pe && *pa == *pe) return {};
    return mismatch("expected " + to_string(expected) + ", found " + to_string(actual));
  }
  if (actual.defined == expected.defined) return {};
  const DefinedType& a = *actual.defined;
  const DefinedType& e = *expected.defined;
  if (a.kind != e.kind) {
    if ((a.kind == Kind::kOwn || a.kind == Kind::kBorrow) &&
        (e.kind == Kind::kOwn || e.kind == Kind::kBorrow)) {
      return mismatch(std::string("expected ") + (e.kind == Kind::kOwn ? "own" : "borrow") +
                      ", found " + (a.kind == Kind::kOwn ? "own" : "borrow"));
    }
    return mismatch("expected " + to_string(expected) + ", found " + to_string(actual));
  }
  auto optional = [](const std::optional<ValueType>& x, const std::optional<ValueType>& y,
                     const std::string& where) -> Result<void> {
    if (x.has_value() != y.has_value()) {
      return mismatch("type mismatch in " + where + ": one has a type, the other none");
    }
    if (!x) return {};
    if (auto r = check_subtype(*x, *y); !r) return in_context(where, r.take_error());
    return {};
  };
  switch (a.kind) {
    case Kind::kPrimitive:
      return {};  // handled above
    case Kind::kRecord:
      if (a.fields.size() != e.fields.size()) {
        return mismatch("expected a record of " + std::to_string(e.fields.size()) +
                        " fields, found " + std::to_string(a.fields.size()));
      }
      for (size_t i = 0; i < a.fields.size(); ++i) {
        if (a.fields[i].label != e.fields[i].label) {
          return mismatch("expected record field `" + e.fields[i].label + "`, found `" +
                          a.fields[i].label + "`");
        }
        if (auto r = check_subtype(a.fields[i].type, e.fields[i].type); !r) {
          return in_context("record field `" + a.fields[i].label + "`", r.take_error());
        }
      }
      return {};
    case Kind::kVariant:
      if (a.cases.size() != e.cases.size()) {
        return mismatch("expected a variant of " + std::to_string(e.cases.size()) +
                        " cases, found " + std::to_string(a.cases.size()));
      }
      for (size_t i = 0; i < a.cases.size(); ++i) {
        if (a.cases[i].label != e.cases[i].label) {
          return mismatch("expected variant case `" + e.cases[i].label + "`, found `" +
                          a.cases[i].label + "`");
        }
        KILN_TRY(
            optional(a.cases[i].type, e.cases[i].type, "variant case `" + a.cases[i].label + "`"));
      }
      return {};
    case Kind::kList:
    case Kind::kOption:
    case Kind::kStream:
    case Kind::kFuture:
      if (auto r = check_subtype(a.types[0], e.types[0]); !r) {
        return in_context("element type", r.take_error());
      }
      return {};
    case Kind::kFixedList:
      if (a.length != e.length) {
        return mismatch("expected a list of length " + std::to_string(e.length) + ", found " +
                        std::to_string(a.length));
      }
      if (auto r = check_subtype(a.types[0], e.types[0]); !r) {
        return in_context("element type", r.take_error());
      }
      return {};
    case Kind::kMap:
    case Kind::kTuple:
      if (a.types.size() != e.types.size()) {
        return mismatch("expected a tuple of " + std::to_string(e.types.size()) + " types, found " +
                        std::to_string(a.types.size()));
      }
      for (size_t i = 0; i < a.types.size(); ++i) {
        if (auto r = check_subtype(a.types[i], e.types[i]); !r) {
          return in_context((a.kind == Kind::kMap ? "map " : "tuple field ") + std::to_string(i),
                            r.take_error());
        }
      }
      return {};
    case Kind::kFlags:
      if (!same_labels(a.labels, e.labels)) return mismatch("mismatch in flags elements");
      return {};
    case Kind::kEnum:
      if (!same_labels(a.labels, e.labels)) return mismatch("mismatch in enum elements");
      return {};
    case Kind::kResult:
      KILN_TRY(optional(a.ok, e.ok, "ok variant"));
      KILN_TRY(optional(a.error, e.error, "err variant"));
      return {};
    case Kind::kOwn:
    case Kind::kBorrow:
      if (a.resource != e.resource) return mismatch("resource types are not the same");
      return {};
  }
  return {};
}

Result<void> check_subtype(const FunctionType& actual, const FunctionType& expected) {
  if (actual.params.size() != expected.params.size()) {
    return mismatch("expected " + std::to_string(expected.params.size()) + " parameters, found " +
                    std::to_string(actual.params.size()));
  }
  for (size_t i = 0; i < actual.params.size(); ++i) {
    if (actual.params[i].label != expected.params[i].label) {
      return mismatch("expected parameter named `" + expected.params[i].label + "`, found `" +
                      actual.params[i].label + "`");
    }
    // Parameters are contravariant; with value subtyping being equality, either order works.
    if (auto r = check_subtype(expected.params[i].type, actual.params[i].type); !r) {
      return in_context("function parameter `" + actual.params[i].label + "`", r.take_error());
    }
  }
  if (actual.result.has_value() != expected.result.has_value()) {
    return mismatch(expected.result ? "expected a result, found none"
                                    : "expected no result, found one");
  }
  if (actual.result) {
    if (auto r = check_subtype(*actual.result, *expected.result); !r) {
      Error e = r.take_error();
      e.message = "type mismatch with result type: " + e.message;
      return e;
    }
  }
  return {};
}

namespace {

Result<void> check_type_definition(const TypeDefinition& actual, const TypeDefinition& expected) {
  using Kind = TypeDefinition::Kind;
  if (actual.kind != expected.kind) {
    return mismatch(std::string("expected ") + type_kind_name(expected.kind) + " type, found " +
                    type_kind_name(actual.kind) + " type");
  }
  switch (actual.kind) {
    case Kind::kResource:
      if (actual.resource != expected.resource) {
        return mismatch("resource types are not the same");
      }
      return {};
    case Kind::kValue:
      return check_subtype(actual.value, expected.value);
    case Kind::kFunction:
      return check_subtype(*actual.function, *expected.function);
    case Kind::kInstance: {
      ExternType a, e;
      a.kind = e.kind = ExternType::Kind::kInstance;
      a.instance = actual.instance;
      e.instance = expected.instance;
      return check_subtype(a, e);
    }
    case Kind::kComponent: {
      ExternType a, e;
      a.kind = e.kind = ExternType::Kind::kComponent;
      a.component = actual.component;
      e.component = expected.component;
      return check_subtype(a, e);
    }
  }
  return {};
}

const ExternType* find_extern(const std::vector<NamedExtern>& externs, const std::string& name) {
  for (const NamedExtern& e : externs) {
    if (e.name == name) return &e.type;
  }
  return nullptr;
}

}  // namespace

Result<void> check_subtype(const ExternType& actual, const ExternType& expected) {
  using Kind = ExternType::Kind;
  if (actual.kind != expected.kind) {
    return mismatch(std::string("expected ") + extern_kind_name(expected.kind) + ", found " +
                    extern_kind_name(actual.kind));
  }
  switch (actual.kind) {
    case Kind::kCoreModule:
      return check_subtype(*actual.module, *expected.module);
    case Kind::kFunc:
      return check_subtype(*actual.function, *expected.function);
    case Kind::kValue:
      return check_subtype(actual.value, expected.value);
    case Kind::kType:
      return check_type_definition(actual.type, expected.type);
    case Kind::kInstance: {
      // The expected type's own abstract resources stand for whatever the actual exports.
      ResourceMap map;
      const std::set<ResourceId> defined(expected.instance->defined_resources.begin(),
                                         expected.instance->defined_resources.end());
      if (!defined.empty()) bind_resources(expected, actual, defined, map);
      for (const NamedExtern& e : expected.instance->exports) {
        const ExternType* a = actual.instance->find(e.name);
        if (!a) return mismatch("missing expected export `" + e.name + "`");
        if (auto r = check_subtype(*a, substitute(e.type, map)); !r) {
          return in_context("instance export `" + e.name + "`", r.take_error());
        }
      }
      return {};
    }
    case Kind::kComponent: {
      // Contravariant imports: whatever the actual component imports, the expected type must
      // promise to supply, with a type the actual import accepts. The actual component's
      // abstract imported resources are bound to what the expected imports supply; the
      // expected type's abstract exported resources to what the actual component exports.
      const ComponentType& a = *actual.component;
      const ComponentType& x = *expected.component;
      ResourceMap imports_map;
      const std::set<ResourceId> imported(a.imported_resources.begin(), a.imported_resources.end());
      for (const NamedExtern& i : a.imports) {
        if (const ExternType* e = find_extern(x.imports, i.name))
          bind_resources(i.type, *e, imported, imports_map);
      }
      for (const NamedExtern& i : a.imports) {
        const ExternType* e = find_extern(x.imports, i.name);
        if (!e) return mismatch("missing expected import `" + i.name + "`");
        if (auto r = check_subtype(*e, substitute(i.type, imports_map)); !r) {
          return in_context("import `" + i.name + "`", r.take_error());
        }
      }
      ResourceMap exports_map;
      const std::set<ResourceId> defined(x.defined_resources.begin(), x.defined_resources.end());
      for (const NamedExtern& e : x.exports) {
        if (const ExternType* found = find_extern(a.exports, e.name)) {
          bind_resources(e.type, substitute(*found, imports_map), defined, exports_map);
        }
      }
      for (const NamedExtern& e : x.exports) {
        const ExternType* found = find_extern(a.exports, e.name);
        if (!found) return mismatch("missing expected export `" + e.name + "`");
        if (auto r =
                check_subtype(substitute(*found, imports_map), substitute(e.type, exports_map));
            !r) {
          return in_context("export `" + e.name + "`", r.take_error());
        }
      }
      return {};
    }
  }
  return {};
}

Result<void> check_subtype(const CoreExternType& actual, const CoreExternType& expected) {
  if (actual.kind != expected.kind) {
    return mismatch(std::string("expected ") + kiln::extern_kind_name(expected.kind) + ", found " +
                    kiln::extern_kind_name(actual.kind));
  }
  switch (actual.kind) {
    case ExternKind::kFunction:
      if (actual.function != expected.function) {
        return mismatch("type mismatch: expected " + to_string(expected) + ", found " +
                        to_string(actual));
      }
      return {};
    case ExternKind::kTable:
      if (actual.table.element != expected.table.element ||
          !limits_match(actual.table.limits, expected.table.limits)) {
        return mismatch("mismatch in table limits");
      }
      return {};
    case ExternKind::kMemory:
      if (!limits_match(actual.memory.limits, expected.memory.limits)) {
        return mismatch("mismatch in memory limits");
      }
      return {};
    case ExternKind::kGlobal:
      if (actual.global.type != expected.global.type ||
          actual.global.mutable_ != expected.global.mutable_) {
        return mismatch("type mismatch: expected " + to_string(expected) + ", found " +
                        to_string(actual));
      }
      return {};
    case ExternKind::kTag:  // tag types match when they are the same (Wasm 3.0)
      if (actual.function != expected.function) {
        return mismatch("type mismatch: expected " + to_string(expected) + ", found " +
                        to_string(actual));
      }
      return {};
  }
  return {};
}

Result<void> check_subtype(const ModuleType& actual, const ModuleType& expected) {
  for (const CoreImport& i : actual.imports) {
    const CoreImport* e = nullptr;
    for (const CoreImport& candidate : expected.imports) {
      if (candidate.module == i.module && candidate.name == i.name) e = &candidate;
    }
    if (!e) return mismatch("missing expected import `" + i.module + "::" + i.name + "`");
    if (auto r = check_subtype(e->type, i.type); !r) {
      return in_context("import `" + i.module + "::" + i.name + "`", r.take_error());
    }
  }
  for (const auto& [name, type] : expected.exports) {
    const CoreExternType* a = nullptr;
    for (const auto& [candidate, candidate_type] : actual.exports) {
      if (candidate == name) a = &candidate_type;
    }
    if (!a) return mismatch("missing expected export `" + name + "`");
    if (auto r = check_subtype(*a, type); !r) {
      return in_context("export `" + name + "`", r.take_error());
    }
  }
  return {};
}

std::string to_string(const ValueType& type) {
  using Kind = DefinedType::Kind;
  if (!type.defined) return primitive_name(type.primitive);
  const DefinedType& t = *type.defined;
  switch (t.kind) {
    case Kind::kPrimitive:
      return primitive_name(t.primitive);
    case Kind::kRecord:
      return "record";
    case Kind::kVariant:
      return "variant";
    case Kind::kList:
      return "list<" + to_string(t.types[0]) + ">";
    case Kind::kFixedList:
      return "list<" + to_string(t.types[0]) + ", " + std::to_string(t.length) + ">";
    case Kind::kTuple:
      return "tuple";
    case Kind::kFlags:
      return "flags";
    case Kind::kEnum:
      return "enum";
    case Kind::kOption:
      return "option<" + to_string(t.types[0]) + ">";
    case Kind::kResult:
      return "result";
    case Kind::kOwn:
      return "own";
    case Kind::kBorrow:
      return "borrow";
    case Kind::kStream:
      return "stream";
    case Kind::kFuture:
      return "future";
    case Kind::kMap:
      return "map<" + to_string(t.types[0]) + ", " + to_string(t.types[1]) + ">";
  }
  return "?";
}

std::string to_string(const CoreExternType& type) {
  std::string out;
  switch (type.kind) {
    case ExternKind::kFunction: {
      out = "(func (param";
      for (ValType v : type.function.params) out.append(" ").append(valtype_name(v));
      out += ") (result";
      for (ValType v : type.function.results) out.append(" ").append(valtype_name(v));
      out += "))";
      return out;
    }
    case ExternKind::kTable:
      return "table";
    case ExternKind::kMemory:
      return "memory";
    case ExternKind::kTag:
      out = "(tag (param";
      for (ValType v : type.function.params) out.append(" ").append(valtype_name(v));
      return out + "))";
    case ExternKind::kGlobal:
      out = "(global ";
      out += type.global.mutable_ ? "(mut " : "";
      out += valtype_name(type.global.type);
      out += type.global.mutable_ ? "))" : ")";
      return out;
  }
  return out;
}

void collect_type_names(const std::vector<NamedExtern>& externs, TypeNames& names) {
  for (const NamedExtern& e : externs) {
    // An instance's types are named by its exports (an interface's `counter`).
    if (e.type.kind == ExternType::Kind::kInstance)
      collect_type_names(e.type.instance->exports, names);
    if (e.type.kind != ExternType::Kind::kType) continue;
    if (e.type.type.kind == TypeDefinition::Kind::kResource) {
      names[e.type.type.resource_name] = e.name;
    } else if (e.type.type.kind == TypeDefinition::Kind::kValue && e.type.type.value.defined &&
               e.type.type.value.defined->name != 0) {
      names[e.type.type.value.defined->name] = e.name;
    }
  }
}

namespace {

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ", ";
    out += parts[i];
  }
  return out;
}

// A value type's structure (its parts by name where `names` knows them).
std::string structure_wit(const ValueType& type, const TypeNames* names) {
  using Kind = DefinedType::Kind;
  if (!type.defined) return primitive_name(type.primitive);
  const DefinedType& t = *type.defined;
  std::vector<std::string> parts;
  switch (t.kind) {
    case Kind::kPrimitive:
      return primitive_name(t.primitive);
    case Kind::kRecord:
      for (const Field& f : t.fields) parts.push_back(f.label + ": " + to_wit(f.type, names));
      return "record { " + join(parts) + " }";
    case Kind::kVariant:
      for (const Case& c : t.cases) {
        parts.push_back(c.type ? c.label + "(" + to_wit(*c.type, names) + ")" : c.label);
      }
      return "variant { " + join(parts) + " }";
    case Kind::kList:
      return "list<" + to_wit(t.types[0], names) + ">";
    case Kind::kFixedList:
      return "list<" + to_wit(t.types[0], names) + ", " + std::to_string(t.length) + ">";
    case Kind::kTuple:
      for (const ValueType& v : t.types) parts.push_back(to_wit(v, names));
      return "tuple<" + join(parts) + ">";
    case Kind::kFlags:
      return "flags { " + join(t.labels) + " }";
    case Kind::kEnum:
      return "enum { " + join(t.labels) + " }";
    case Kind::kOption:
      return "option<" + to_wit(t.types[0], names) + ">";
    case Kind::kResult:
      if (!t.ok && !t.error) return "result";
      if (!t.error) return "result<" + to_wit(*t.ok, names) + ">";
      return "result<" + (t.ok ? to_wit(*t.ok, names) : std::string("_")) + ", " +
             to_wit(*t.error, names) + ">";
    case Kind::kOwn:
    case Kind::kBorrow: {
      std::string resource = "resource";
      if (names) {
        if (auto it = names->find(t.name); it != names->end()) resource = it->second;
      }
      return (t.kind == Kind::kOwn ? "own<" : "borrow<") + resource + ">";
    }
    case Kind::kStream:
      return t.types.empty() ? "stream" : "stream<" + to_wit(t.types[0], names) + ">";
    case Kind::kFuture:
      return t.types.empty() ? "future" : "future<" + to_wit(t.types[0], names) + ">";
    case Kind::kMap:
      return "map<" + to_wit(t.types[0], names) + ", " + to_wit(t.types[1], names) + ">";
  }
  return "?";
}

std::string function_wit(const FunctionType& f, const TypeNames* names) {
  std::string out = "func(";
  for (size_t i = 0; i < f.params.size(); ++i) {
    if (i) out += ", ";
    out += f.params[i].label + ": " + to_wit(f.params[i].type, names);
  }
  out += ")";
  if (f.result) out += " -> " + to_wit(*f.result, names);
  return out;
}

std::string externs_wit(const std::vector<NamedExtern>& externs, const char* prefix,
                        const TypeNames* names) {
  std::string out;
  for (const NamedExtern& e : externs) {
    out += std::string(prefix) + e.name + ": " + to_wit(e.type, names) + "; ";
  }
  return out;
}

}  // namespace

std::string to_wit(const ValueType& type, const TypeNames* names) {
  using Kind = DefinedType::Kind;
  if (type.defined && names) {
    const DefinedType& t = *type.defined;
    if (t.kind == Kind::kRecord || t.kind == Kind::kVariant || t.kind == Kind::kEnum ||
        t.kind == Kind::kFlags) {
      if (auto it = names->find(t.name); it != names->end()) return it->second;
    }
  }
  return structure_wit(type, names);
}

std::string to_wit(const ExternType& type, const TypeNames* names) {
  switch (type.kind) {
    case ExternType::Kind::kCoreModule:
      return "core module";
    case ExternType::Kind::kFunc:
      return function_wit(*type.function, names);
    case ExternType::Kind::kValue:
      return "value " + to_wit(type.value, names);
    case ExternType::Kind::kType:
      switch (type.type.kind) {
        case TypeDefinition::Kind::kResource:
          return "resource";
        // The type itself is spelled out; its parts go by name.
        case TypeDefinition::Kind::kValue:
          return "type = " + structure_wit(type.type.value, names);
        case TypeDefinition::Kind::kFunction:
          return "type = " + function_wit(*type.type.function, names);
        case TypeDefinition::Kind::kInstance: {
          ExternType i;
          i.kind = ExternType::Kind::kInstance;
          i.instance = type.type.instance;
          return "type = " + to_wit(i, names);
        }
        case TypeDefinition::Kind::kComponent: {
          ExternType c;
          c.kind = ExternType::Kind::kComponent;
          c.component = type.type.component;
          return "type = " + to_wit(c, names);
        }
      }
      return "type";
    case ExternType::Kind::kComponent: {
      TypeNames inner = names ? *names : TypeNames{};
      collect_type_names(type.component->imports, inner);
      collect_type_names(type.component->exports, inner);
      return "component { " + externs_wit(type.component->imports, "import ", &inner) +
             externs_wit(type.component->exports, "export ", &inner) + "}";
    }
    case ExternType::Kind::kInstance: {
      TypeNames inner = names ? *names : TypeNames{};
      collect_type_names(type.instance->exports, inner);
      std::vector<std::string> parts;
      for (const NamedExtern& e : type.instance->exports) {
        parts.push_back(e.name + ": " + to_wit(e.type, &inner));
      }
      return "instance { " + join(parts) + " }";
    }
  }
  return "?";
}

std::string world_wit(const ComponentType& type) {
  TypeNames names;
  collect_type_names(type.imports, names);
  collect_type_names(type.exports, names);
  std::string out = "world root {\n";
  auto write = [&](const char* direction, const NamedExtern& e) {
    out.append("  ").append(direction).append(e.name).append(": ");
    if (e.type.kind != ExternType::Kind::kInstance) {
      out.append(to_wit(e.type, &names)).append(";\n");
      return;
    }
    out += "interface {\n";
    for (const NamedExtern& member : e.type.instance->exports) {
      out.append("    ").append(member.name).append(": ");
      out.append(to_wit(member.type, &names)).append(";\n");
    }
    out += "  }\n";
  };
  for (const NamedExtern& e : type.imports) write("import ", e);
  for (const NamedExtern& e : type.exports) write("export ", e);
  out += "}\n";
  return out;
}

const char* extern_kind_name(ExternType::Kind kind) {
  switch (kind) {
    case ExternType::Kind::kCoreModule:
      return "module";
    case ExternType::Kind::kFunc:
      return "func";
    case ExternType::Kind::kValue:
      return "value";
    case ExternType::Kind::kType:
      return "type";
    case ExternType::Kind::kComponent:
      return "component";
    case ExternType::Kind::kInstance:
      return "instance";
  }
  return "?";
}

const char* type_kind_name(TypeDefinition::Kind kind) {
  switch (kind) {
    case TypeDefinition::Kind::kValue:
      return "a defined";
    case TypeDefinition::Kind::kFunction:
      return "a function";
    case TypeDefinition::Kind::kComponent:
      return "a component";
    case TypeDefinition::Kind::kInstance:
      return "an instance";
    case TypeDefinition::Kind::kResource:
      return "a resource";
  }
  return "?";
}

}  // namespace kiln::component::resolved
