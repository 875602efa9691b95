#include "component/extern_rules.h"

#include "component/names.h"

namespace kiln::component::rules {

// The resolved types, over the decoder's types of the same names.
using resolved::Case;
using resolved::DefinedType;
using resolved::extern_kind_name;
using resolved::ExternType;
using resolved::Field;
using resolved::fresh_id;
using resolved::FunctionType;
using resolved::NamedExtern;
using resolved::TypeDefinition;
using resolved::TypeName;
using resolved::ValueType;

static Error invalid(std::string message) {
  return Error{ErrorKind::kInvalid, std::move(message)};
}
static std::string quoted(const std::string& name) {
  return "`" + name + "`";
}
static Result<void> check_annotated_function(const Namespace& ns, const ExternNameParts& parts,
                                             const ExternType& type);
static void handle_names(const ValueType& v, std::vector<TypeName>& out);
static void handle_names(const ExternType& type, std::vector<TypeName>& out);
static bool parts_visible(const DefinedType& t, const std::set<TypeName>& names);
static bool visible(const ValueType& v, const std::set<TypeName>& names);

// The extern name rules (Explainer.md "Import and Export Definitions"), in namespace `ns`
// (a scope's imports, its exports, or a bundle of exports).
Result<void> check_name(Namespace& ns, const ExternName& name, const ExternType& type) {
  auto parsed = parse_extern_name(name.name);
  if (!parsed) return parsed.take_error();
  if (name.implements) {
    if (type.kind != ExternType::Kind::kInstance) {
      return invalid("only instances can have an `implements` attribute");
    }
    auto implemented = parse_extern_name(*name.implements);
    if (!implemented || implemented->kind != ExternNameParts::Kind::kInterface) {
      return invalid("`implements` " + quoted(*name.implements) + " must be an interface name");
    }
    if (parsed->kind != ExternNameParts::Kind::kLabel) {
      return invalid("name " + quoted(name.name) + " is not valid with `implements`");
    }
  }
  auto [it, inserted] = ns.keys.emplace(strongly_unique_key(name.name), name.name);
  if (!inserted) {
    return invalid(std::string(ns.what) + " name " + quoted(name.name) +
                   " conflicts with previous name " + quoted(it->second));
  }
  return check_annotated_function(ns, *parsed, type);
}

// [constructor]R, [method]R.f and [static]R.f name functions of a resource that the same
// namespace names R (Explainer.md: the annotations' type rules).
static Result<void> check_annotated_function(const Namespace& ns, const ExternNameParts& parts,
                                             const ExternType& type) {
  using Kind = ExternNameParts::Kind;
  if (parts.kind != Kind::kConstructor && parts.kind != Kind::kMethod &&
      parts.kind != Kind::kStatic) {
    return {};
  }
  if (type.kind != ExternType::Kind::kFunc) {
    return invalid("annotated name " + quoted(parts.resource) + " is not a func");
  }
  if (parts.kind == Kind::kStatic && !ns.resource_labels.count(parts.resource)) {
    return invalid("static resource name is not known in this context: " + quoted(parts.resource));
  }
  const FunctionType& f = *type.function;
  ExternType as_extern = type;
  std::vector<TypeName> used;
  handle_names(as_extern, used);
  for (TypeName n : used) {
    if (!ns.resource_by_name.count(n)) {
      return invalid("resource used in function does not have a name in this context");
    }
  }
  // The label of the resource a handle type names, or "" when it is not a handle.
  auto label_of = [&](const ValueType& v, DefinedType::Kind kind) -> std::string {
    if (!v.defined || v.defined->kind != kind) return "";
    return ns.resource_by_name.at(v.defined->name);
  };
  auto expect_label = [&](const std::string& found) -> Result<void> {
    if (found != parts.resource) {
      return invalid("function does not match expected resource name " + quoted(found));
    }
    return {};
  };
  switch (parts.kind) {
    case Kind::kConstructor: {
      if (!f.result) return invalid("function should return one value");
      const ValueType& r = *f.result;
      std::string found = label_of(r, DefinedType::Kind::kOwn);
      if (found.empty() && r.defined && r.defined->kind == DefinedType::Kind::kResult &&
          r.defined->ok) {
        found = label_of(*r.defined->ok, DefinedType::Kind::kOwn);
      }
      if (found.empty()) {
        return invalid("function should return `(own $T)` or `(result (own $T))`");
      }
      return expect_label(found);
    }
    case Kind::kMethod: {
      if (f.params.empty()) return invalid("function should have at least one argument");
      if (f.params[0].label != "self") {
        return invalid("function should have a first argument called `self`");
      }
      const std::string found = label_of(f.params[0].type, DefinedType::Kind::kBorrow);
      if (found.empty()) return invalid("function should take a first argument of `(borrow $T)`");
      return expect_label(found);
    }
    default:
      return {};
  }
}

// The names of the resources that handles in `type` were made from.
static void handle_names(const ValueType& v, std::vector<TypeName>& out) {
  if (!v.defined) return;
  const DefinedType& t = *v.defined;
  if (t.kind == DefinedType::Kind::kOwn || t.kind == DefinedType::Kind::kBorrow) {
    out.push_back(t.name);
    return;
  }
  for (const Field& f : t.fields) handle_names(f.type, out);
  for (const Case& c : t.cases) {
    if (c.type) handle_names(*c.type, out);
  }
  for (const ValueType& part : t.types) handle_names(part, out);
  if (t.ok) handle_names(*t.ok, out);
  if (t.error) handle_names(*t.error, out);
}
static void handle_names(const ExternType& type, std::vector<TypeName>& out) {
  if (type.kind != ExternType::Kind::kFunc) return;
  for (const Field& p : type.function->params) handle_names(p.type, out);
  if (type.function->result) handle_names(*type.function->result, out);
}

bool nominal(DefinedType::Kind kind) {
  using Kind = DefinedType::Kind;
  return kind == Kind::kRecord || kind == Kind::kVariant || kind == Kind::kEnum ||
         kind == Kind::kFlags;
}

// The parts of `v` (not `v` itself) name only types in `names` (Explainer.md "External
// Visibility of Types": resources, records, variants, enums and flags need a name).
static bool parts_visible(const DefinedType& t, const std::set<TypeName>& names) {
  for (const Field& f : t.fields) {
    if (!visible(f.type, names)) return false;
  }
  for (const Case& c : t.cases) {
    if (c.type && !visible(*c.type, names)) return false;
  }
  for (const ValueType& part : t.types) {
    if (!visible(part, names)) return false;
  }
  return (!t.ok || visible(*t.ok, names)) && (!t.error || visible(*t.error, names));
}
static bool visible(const ValueType& v, const std::set<TypeName>& names) {
  if (!v.defined) return true;
  const DefinedType& t = *v.defined;
  if (nominal(t.kind) || t.kind == DefinedType::Kind::kOwn ||
      t.kind == DefinedType::Kind::kBorrow) {
    return names.count(t.name) != 0;  // a named type's parts were checked when named
  }
  return parts_visible(t, names);
}

// The type names an import or export of `type` introduces: a type's own, and those of the
// types an instance exports.
void introduced_names(const ExternType& type, std::set<TypeName>& out) {
  if (type.kind == ExternType::Kind::kType) {
    if (type.type.kind == TypeDefinition::Kind::kResource) out.insert(type.type.resource_name);
    if (type.type.kind == TypeDefinition::Kind::kValue && type.type.value.defined &&
        nominal(type.type.value.defined->kind)) {
      out.insert(type.type.value.defined->name);
    }
  }
  if (type.kind == ExternType::Kind::kInstance) {
    for (const NamedExtern& e : type.instance->exports) introduced_names(e.type, out);
  }
}

bool extern_visible(const ExternType& type, const std::set<TypeName>& names) {
  switch (type.kind) {
    case ExternType::Kind::kFunc:
      for (const Field& p : type.function->params) {
        if (!visible(p.type, names)) return false;
      }
      return !type.function->result || visible(*type.function->result, names);
    case ExternType::Kind::kValue:
      return visible(type.value, names);
    case ExternType::Kind::kType:
      switch (type.type.kind) {
        case TypeDefinition::Kind::kValue:
          return !type.type.value.defined || parts_visible(*type.type.value.defined, names);
        case TypeDefinition::Kind::kFunction: {
          ExternType f;
          f.kind = ExternType::Kind::kFunc;
          f.function = type.type.function;
          return extern_visible(f, names);
        }
        case TypeDefinition::Kind::kInstance: {
          ExternType i;
          i.kind = ExternType::Kind::kInstance;
          i.instance = type.type.instance;
          std::set<TypeName> with_own = names;
          introduced_names(i, with_own);
          return extern_visible(i, with_own);
        }
        case TypeDefinition::Kind::kResource:
        case TypeDefinition::Kind::kComponent:
          return true;
      }
      return true;
    case ExternType::Kind::kInstance:
      for (const NamedExtern& e : type.instance->exports) {
        if (!extern_visible(e.type, names)) return false;
      }
      return true;
    case ExternType::Kind::kCoreModule:
    case ExternType::Kind::kComponent:
      return true;  // closed types
  }
  return true;
}

// An import or export of a type introduces a new type index with a new name (the index
// passed in is not named retroactively).
ExternType renamed(ExternType type) {
  if (type.kind != ExternType::Kind::kType) return type;
  if (type.type.kind == TypeDefinition::Kind::kResource) {
    type.type.resource_name = fresh_id();
  } else if (type.type.kind == TypeDefinition::Kind::kValue && type.type.value.defined &&
             nominal(type.type.value.defined->kind)) {
    auto copy = std::make_shared<DefinedType>(*type.type.value.defined);
    copy->name = fresh_id();
    type.type.value.defined = std::move(copy);
  }
  return type;
}

// Records what an import or export (or a bundle's export) named `name` of `type` names.
void register_names(Namespace& ns, const std::string& name, const ExternType& type) {
  introduced_names(type, ns.names);
  if (type.kind == ExternType::Kind::kType && type.type.kind == TypeDefinition::Kind::kResource) {
    auto parsed = parse_extern_name(name);
    if (parsed && parsed->kind == ExternNameParts::Kind::kLabel) {
      ns.resource_labels[name] = type.type.resource_name;
      ns.resource_by_name[type.type.resource_name] = name;
    }
  }
}

Error not_visible(const ExternType& type, const char* as) {
  return invalid(
      std::string(extern_kind_name(type.kind)) + " not valid to be used as " + as +
      ": its type uses a resource, record, variant, enum or flags type that has "
      "no name " +
      (std::string(as) == "import" ? "imported before it" : "imported or exported before it"));
}

}  // namespace kiln::component::rules
