#include "component/component_linker.h"

#include "component/canonical_abi.h"
#include "component/names.h"

namespace kiln::component {

namespace {

Error unlinkable(std::string message) {
  return Error{ErrorKind::kUnlinkable, std::move(message)};
}

const char* kind_name(resolved::ExternType::Kind kind) {
  return resolved::extern_kind_name(kind);
}

// "wasi:cli/environment@0.2.12#get-arguments" -> "wasi:cli/environment@0.2#get-arguments".
std::string canonical_path(const std::string& path) {
  const size_t hash = path.find('#');
  if (hash == std::string::npos) return canonical_name(path);
  return canonical_name(path.substr(0, hash)) + path.substr(hash);
}

}  // namespace

Result<std::string> ComponentLinker::checked_key(const std::string& path) {
  const size_t hash = path.find('#');
  const std::string_view first = std::string_view(path).substr(0, hash);
  auto interface = interfaces_.find(first);
  if (interface == interfaces_.end()) {
    if (auto parsed = parse_extern_name(first); !parsed) {
      return Error{ErrorKind::kUsage,
                   "`" + path + "` is not a valid path: " + parsed.error().message};
    }
    interface = interfaces_.emplace(std::string(first), canonical_name(first)).first;
  }
  if (hash == std::string::npos) return interface->second;
  const std::string_view item = std::string_view(path).substr(hash + 1);
  if (auto parsed = parse_extern_name(item); !parsed || item.find('#') != std::string::npos) {
    return Error{ErrorKind::kUsage, "`" + path + "` is not a valid path: `" + std::string(item) +
                                        "` is not a valid export name"};
  }
  std::string key;
  key.reserve(interface->second.size() + path.size() - hash);
  key.append(interface->second).append(path, hash, std::string::npos);
  return key;
}

namespace {

// check_import with the import's path in `name`, which an imported instance's exports extend
// in place (and restore): instantiation checks every import (kiln serve: once per request), so
// no string is made for a check that passes.
Result<void> check_import_at(std::string& name, const resolved::ExternType& type,
                             const RuntimeItem& item) {
  using K = resolved::ExternType::Kind;
  if (item.kind != type.kind) {
    return unlinkable("import `" + name + "` expects a " + kind_name(type.kind) + ", given a " +
                      kind_name(item.kind));
  }
  switch (type.kind) {
    case K::kFunc:
      if (!item.function) return unlinkable("import `" + name + "`: no function given");
      if (!item.function->host) {
        if (auto r = resolved::check_subtype(*item.function->type, *type.function); !r) {
          return unlinkable("import `" + name + "`: " + r.error().message);
        }
      }
      return {};
    case K::kType:
      if (type.type.kind == resolved::TypeDefinition::Kind::kResource && !item.resource) {
        return unlinkable("import `" + name + "` expects a resource type");
      }
      if (type.type.kind != resolved::TypeDefinition::Kind::kResource && item.resource) {
        return unlinkable("import `" + name + "` expects a type that is not a resource");
      }
      return {};
    case K::kInstance:
      if (!item.instance) return unlinkable("import `" + name + "`: no instance given");
      for (size_t i = 0; i < type.instance->exports.size(); ++i) {
        const auto& e = type.instance->exports[i];
        const RuntimeItem* found = item.instance->find(e.name, i);
        if (!found) {
          return unlinkable("import `" + name + "` has no export named `" + e.name + "`");
        }
        const size_t length = name.size();
        name += '#';
        name += e.name;
        KILN_TRY(check_import_at(name, e.type, *found));
        name.resize(length);
      }
      return {};
    case K::kComponent: {
      if (!item.component.validated) return unlinkable("import `" + name + "`: no component given");
      resolved::ExternType actual;
      actual.kind = K::kComponent;
      actual.component = item.component.validated->type;
      if (auto r = resolved::check_subtype(actual, type); !r) {
        return unlinkable("import `" + name + "`: " + r.error().message);
      }
      return {};
    }
    case K::kCoreModule:
      if (!item.module) return unlinkable("import `" + name + "`: no module given");
      return {};
    case K::kValue:
      if (!value_matches(item.value, type.value)) {
        return unlinkable("import `" + name + "`: the value is not of the imported type");
      }
      return {};
  }
  return {};
}

}  // namespace

Result<void> check_import(const std::string& name, const resolved::ExternType& type,
                          const RuntimeItem& item) {
  std::string path = name;
  return check_import_at(path, type, item);
}

Result<void> ComponentLinker::define(const std::string& path, RuntimeItem item) {
  KILN_ASSIGN(const std::string key, checked_key(path));
  if (items_.count(key) || functions_.count(key)) {
    return Error{ErrorKind::kUsage, "`" + path + "` is defined already"};
  }
  items_.emplace(key, std::move(item));
  return {};
}

Result<void> ComponentLinker::define_function(const std::string& path,
                                              HostFunctionCallback callback) {
  KILN_ASSIGN(const std::string key, checked_key(path));
  if (!callback) return Error{ErrorKind::kUsage, "no callback for `" + path + "`"};
  if (items_.count(key) || functions_.count(key)) {
    return Error{ErrorKind::kUsage, "`" + path + "` is defined already"};
  }
  functions_.emplace(key, std::make_shared<const HostFunctionCallback>(std::move(callback)));
  return {};
}

const HostFunctionCallback* ComponentLinker::host_function(const std::string& path) const {
  auto it = functions_.find(canonical_path(path));
  return it == functions_.end() ? nullptr : it->second.get();
}

Result<const RuntimeResourceType*> ComponentLinker::define_resource(
    const std::string& path, HostResourceDestructor destructor) {
  auto rt = std::make_unique<RuntimeResourceType>();
  rt->host_destructor = std::move(destructor);
  RuntimeItem item;
  item.kind = resolved::ExternType::Kind::kType;
  item.resource = rt.get();
  KILN_TRY(define(path, std::move(item)));
  resources_.push_back(std::move(rt));
  return resources_.back().get();
}

Result<RuntimeItem> ComponentLinker::resolve(const std::string& name,
                                             const resolved::ExternType& type) const {
  return resolve_canonical(name, canonical_path(name), type);
}

Result<RuntimeItem> ComponentLinker::resolve_canonical(const std::string& name,
                                                       const std::string& key,
                                                       const resolved::ExternType& type) const {
  using K = resolved::ExternType::Kind;
  if (auto it = items_.find(key); it != items_.end()) return it->second;
  if (type.kind == K::kFunc) {
    auto it = functions_.find(key);
    if (it == functions_.end()) return unlinkable("no definition for the import `" + name + "`");
    RuntimeItem item;
    item.kind = K::kFunc;
    auto f = std::make_shared<ComponentFunction>();
    f->type = type.function;  // the host sees the function as the component imports it
    std::shared_ptr<const HostFunctionCallback> callback = it->second;
    auto function_type = type.function;
    f->host = [callback = std::move(callback), function_type = std::move(function_type)](
                  Store& store, const std::vector<ComponentValue>& args,
                  std::optional<ComponentValue>& result) {
      return (*callback)(store, *function_type, args, result);
    };
    item.function = std::move(f);
    return item;
  }
  if (type.kind == K::kInstance) {
    // An interface: its exports from the definitions under `name#`.
    auto instance = std::make_shared<RuntimeInstance>();
    for (const auto& e : type.instance->exports) {
      KILN_ASSIGN(RuntimeItem item,
                  resolve_canonical(name + "#" + e.name, key + "#" + e.name, e.type));
      instance->exports.emplace_back(e.name, std::move(item));
    }
    RuntimeItem item;
    item.kind = K::kInstance;
    item.instance = std::move(instance);
    return item;
  }
  if (type.kind == K::kType && type.type.kind != resolved::TypeDefinition::Kind::kResource) {
    // A type that is not a resource (an interface's `record`, `enum`, ...): the import only
    // says what the type is; there is nothing to define.
    RuntimeItem item;
    item.kind = K::kType;
    return item;
  }
  return unlinkable("no definition for the import `" + name + "`");
}

void ComponentLinker::collect_missing(
    const std::string& name, const std::string& key, const resolved::ExternType& type,
    std::vector<std::pair<std::string, const resolved::ExternType*>>& out) const {
  using K = resolved::ExternType::Kind;
  if (items_.count(key)) return;
  switch (type.kind) {
    case K::kFunc:
      if (!functions_.count(key)) out.emplace_back(name, &type);
      return;
    case K::kInstance:
      for (const auto& e : type.instance->exports)
        collect_missing(name + "#" + e.name, key + "#" + e.name, e.type, out);
      return;
    case K::kType:
      if (type.type.kind == resolved::TypeDefinition::Kind::kResource)
        out.emplace_back(name, &type);
      return;
    default:
      out.emplace_back(name, &type);
      return;
  }
}

std::vector<std::pair<std::string, const resolved::ExternType*>> ComponentLinker::missing(
    const ValidatedComponent& component) const {
  std::vector<std::pair<std::string, const resolved::ExternType*>> out;
  for (const auto& import : component.type->imports) {
    collect_missing(import.name, canonical_path(import.name), import.type, out);
  }
  return out;
}

std::vector<std::string> ComponentLinker::missing_imports(
    const ValidatedComponent& component) const {
  std::vector<std::string> names;
  for (auto& [name, type] : missing(component)) names.push_back(name);
  return names;
}

Result<void> ComponentLinker::define_unknown_imports_as_traps(const ValidatedComponent& component) {
  using K = resolved::ExternType::Kind;
  for (const auto& [name, type] : missing(component)) {
    if (type->kind == K::kFunc) {
      const std::string message = "unknown import `" + name + "` called";
      KILN_TRY(define_function(
          name, [message](Store&, const resolved::FunctionType&, const std::vector<ComponentValue>&,
                          std::optional<ComponentValue>&) { return abi_trap(message); }));
    } else if (type->kind == K::kType) {
      if (auto defined = define_resource(name, {}); !defined) return defined.take_error();
    }
  }
  return {};
}

Result<CheckedImports> ComponentLinker::resolve_imports(const ValidatedComponent& component) const {
  std::vector<std::pair<std::string, RuntimeItem>> imports;
  for (const auto& import : component.type->imports) {
    KILN_ASSIGN(RuntimeItem item, resolve(import.name, import.type));
    imports.emplace_back(import.name, std::move(item));
  }
  return check_imports(component, imports);
}

Result<std::unique_ptr<ComponentInstance>> ComponentLinker::instantiate(
    Store& store, const ValidatedComponent& component, TrapPtr* trap) const {
  KILN_ASSIGN(CheckedImports imports, resolve_imports(component));
  return instantiate_component(store, imports, trap);
}

}  // namespace kiln::component
