// The rules for the names of imports and exports and for the types they make visible
// (Explainer.md "Import and Export Definitions" and "External Visibility of Types"), used by the
// component validator: name syntax and strong uniqueness per namespace, `implements`, the
// [constructor]/[method]/[static] signatures, and which record, variant, enum, flags and
// resource types an import or export may mention.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "component/component.h"
#include "component/component_types.h"
#include "runtime/result.h"

namespace kiln::component::rules {

// The names of a scope's imports or of its exports (two namespaces), or of a bundle's exports.
struct Namespace {
  explicit Namespace(const char* what) : what(what) {}
  const char* what;                         // "import" or "export", for messages
  std::map<std::string, std::string> keys;  // strongly-unique key -> the name it came from
  std::set<resolved::TypeName> names;       // type names its imports or exports introduced
  std::map<std::string, resolved::TypeName> resource_labels;  // "r" -> the resource's name
  std::map<resolved::TypeName, std::string> resource_by_name;
};

// The extern name rules, in namespace `ns`.
Result<void> check_name(Namespace& ns, const ExternName& name, const resolved::ExternType& type);

// An import or export of a type introduces a new type index with a new name (the index passed
// in is not named retroactively).
resolved::ExternType renamed(resolved::ExternType type);
// Records what an import or export (or a bundle's export) named `name` of `type` names.
void register_names(Namespace& ns, const std::string& name, const resolved::ExternType& type);
// The type names an import or export of `type` introduces: a type's own, and those of the
// types an instance exports.
void introduced_names(const resolved::ExternType& type, std::set<resolved::TypeName>& out);
// Whether every record, variant, enum, flags and resource type `type` mentions is in `names`.
bool extern_visible(const resolved::ExternType& type, const std::set<resolved::TypeName>& names);
// Records, variants, enums and flags: the types that need names.
bool nominal(resolved::DefinedType::Kind kind);
// The error for an import or export (`as`) whose type is not visible.
Error not_visible(const resolved::ExternType& type, const char* as);

}  // namespace kiln::component::rules
