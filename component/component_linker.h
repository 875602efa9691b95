// A name-based linker for components (issue 14): the host defines functions and resource types
// by WIT path, and a component's imports are matched by name, with semver compatibility for
// interface versions (a guest importing `wasi:cli/environment@0.2.3` links to a host that
// defines `wasi:cli/environment@0.2.12`; a `0.3` import does not: names.h canonical_name).
//
// Paths: a root import's name ("log", "wasi:cli/run@0.2.0"), or an interface's export
// ("local:app/logger#log", "wasi:io/streams@0.2.12#output-stream"). An imported instance is
// assembled from the definitions under its name; what it lacks makes the component unlinkable
// with a message naming the missing item.
//
// Host functions are dynamic: they receive the component values and the function type the
// component imports them with (each call's arguments are checked against it before the host
// sees them, and the host's result after).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "component/component_instance.h"

namespace kiln::component {

// `store` is the store of the calling instance: a host that serves many stores from one linker
// keeps its per-store state there (Store::host_data).
using HostFunctionCallback = std::function<TrapPtr(Store& store, const resolved::FunctionType& type,
                                                   const std::vector<ComponentValue>& args,
                                                   std::optional<ComponentValue>& result)>;
using HostResourceDestructor = std::function<void(Store& store, uint32_t rep)>;

class ComponentLinker {
 public:
  // Defines a host function at `path`. An Error for a malformed path or one defined already.
  Result<void> define_function(const std::string& path, HostFunctionCallback callback);
  // Defines a host resource type at `path`; `destructor` (may be empty) runs when a guest drops
  // the last owning handle of one, in the store that held it. The returned type makes host-side
  // `own` values (ComponentValue::own); it is the same type in every store the linker serves.
  Result<const RuntimeResourceType*> define_resource(const std::string& path,
                                                     HostResourceDestructor destructor);
  // The host function defined at `path` (any semver-compatible spelling), or null.
  const HostFunctionCallback* host_function(const std::string& path) const;
  // Defines any runtime item (an export of another instance, say) at `path`.
  Result<void> define(const std::string& path, RuntimeItem item);

  // The imports of `component` that nothing here defines, as paths ("wasi:cli/stdout@0.2.0",
  // "local:app/logger#log"; an imported instance is looked into, so each missing function or
  // resource of it is named), in import order.
  std::vector<std::string> missing_imports(const ValidatedComponent& component) const;
  // Defines every missing import of `component` that can be: a function as one that traps
  // ("unknown import `PATH` called") and a resource type as a host resource without a
  // destructor (as wasmtime's define_unknown_imports_as_traps). Missing modules, components and
  // values stay missing.
  Result<void> define_unknown_imports_as_traps(const ValidatedComponent& component);

  // Instantiates `component` with its imports resolved here.
  Result<std::unique_ptr<ComponentInstance>> instantiate(Store& store,
                                                         const ValidatedComponent& component,
                                                         TrapPtr* trap = nullptr) const;
  // `component`'s imports as defined here, for instantiate_component (wasmtime's InstancePre):
  // a host that makes many instances of one component (kiln serve: one per request) looks
  // each import up by name once. The items do not refer to the linker; they are shared by the
  // instances made from them, in any store and on any thread.
  // Checked against their import types (check_imports).
  Result<CheckedImports> resolve_imports(const ValidatedComponent& component) const;

 private:
  // Definitions by canonical path (versions canonicalized: names.h).
  std::map<std::string, RuntimeItem> items_;
  // Shared with the functions resolved from them: an import copies a pointer, not the callback
  // and what it captured.
  std::map<std::string, std::shared_ptr<const HostFunctionCallback>> functions_;
  std::vector<std::unique_ptr<RuntimeResourceType>> resources_;
  // The interface names (before `#`) of paths defined so far, each checked once and mapped to
  // its canonical name: a host defines many functions of one interface (the WASI host: ~200 of
  // ~30).
  std::map<std::string, std::string, std::less<>> interfaces_;

  // Checks that `path` is an interface or plain name, with `#item` (a label) or not, and returns
  // its canonical form, the key of items_ and functions_.
  Result<std::string> checked_key(const std::string& path);

  Result<RuntimeItem> resolve(const std::string& name, const resolved::ExternType& type) const;
  // The same, with `key` the canonical path of `name` (an interface's exports extend their
  // interface's key: its version is parsed once).
  Result<RuntimeItem> resolve_canonical(const std::string& name, const std::string& key,
                                        const resolved::ExternType& type) const;
  // The paths `component` imports that have no definition, each with its type.
  std::vector<std::pair<std::string, const resolved::ExternType*>> missing(
      const ValidatedComponent& component) const;
  // Appends the paths under `name` that have no definition, each with its type.
  void collect_missing(const std::string& name, const std::string& key,
                       const resolved::ExternType& type,
                       std::vector<std::pair<std::string, const resolved::ExternType*>>& out) const;
};

// Checks that `item` can stand for an import of `type` (its kind, and recursively the exports an
// imported instance must have), so instantiation never reads an item of the wrong kind.
Result<void> check_import(const std::string& name, const resolved::ExternType& type,
                          const RuntimeItem& item);

}  // namespace kiln::component
