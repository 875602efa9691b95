// Validation of decoded components (Explainer.md "Type Checking", "Import and Export
// Definitions", CanonicalABI.md "Canonical Definitions"): index spaces, type definitions and
// their well-formedness, instantiation and alias type checking with resource types bound and
// made fresh as the spec says, canonical options, and name rules (names.h).
//
// Validation compiles the core modules inside (runtime/ Module::compile, which validates them),
// so an instance of a validated component re-validates and re-translates nothing.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "component/abi_layout.h"
#include "component/component.h"
#include "component/component_types.h"
#include "runtime/module.h"
#include "runtime/result.h"

namespace kiln {
class Engine;
}

namespace kiln::component {

// A component that validated: its decoded form, its type, its compiled core modules, nested
// components (validated likewise) and the types its index spaces hold, for instantiation.
struct ValidatedComponent {
  const Component* component = nullptr;  // owned by the caller (or the enclosing component)
  std::shared_ptr<const resolved::ComponentType> type;
  std::vector<std::shared_ptr<const Module>> core_modules;      // by core module index
  std::vector<std::unique_ptr<ValidatedComponent>> components;  // nested, in binary order
  // The component's index spaces once validated (imports, definitions and exports in order).
  std::vector<std::shared_ptr<const resolved::FunctionType>> functions;
  std::vector<resolved::TypeDefinition> types;
  std::vector<std::shared_ptr<const resolved::InstanceType>> instances;
  std::vector<FuncType> core_functions;
  // How many items each other index space ends up with: an instance reserves them all at once.
  struct IndexSpaceSizes {
    size_t core_tables = 0, core_memories = 0, core_globals = 0, core_tags = 0, core_modules = 0,
           core_instances = 0, values = 0, components = 0;
  } sizes;
  // By canon index (Component::canons): each lift's and lower's signature (null for the
  // resource built-ins).
  std::vector<std::shared_ptr<const abi::AbiSignature>> canon_signatures;
  // References on the lowerings' core types (AbiSignature::core), which the instances' host
  // functions take: held as long as the component is.
  TypeReferences lowered_core_types;
  // Where names were found, so that instantiating (once per request in kiln serve) looks each up
  // with one comparison instead of a search: for each module instantiation (by core instance
  // definition index; empty for bundles), per import of its module type, the argument it names
  // (its index in CoreInstance::args) and the export's position in that argument's type; and
  // for each alias of an export (by alias index), the export's position. Both are hints, their
  // names checked before use: a module or instance given to a nested component may list its
  // imports or exports in another order than the type the component declares.
  struct ImportSource {
    uint32_t argument = 0;
    size_t position = SIZE_MAX;
  };
  std::vector<std::vector<ImportSource>> core_instance_imports;
  std::vector<size_t> alias_positions;
};

// Component types, core types and nesting are bounded by the decoder; the limits here bound
// what validation builds (type size and depth: component_types.h).
Result<std::unique_ptr<ValidatedComponent>> validate_component(Engine& engine,
                                                               const Component& component);

// A component decoded and validated, owning both (the validated form points into the decoded
// one, so they live together).
struct LoadedComponent {
  std::unique_ptr<Component> decoded;
  std::unique_ptr<ValidatedComponent> validated;
};
// decode_component then validate_component.
Result<LoadedComponent> load_component(Engine& engine, std::span<const uint8_t> bytes);
// The same, taking the bytes over (the core modules view them instead of copies).
Result<LoadedComponent> load_component(Engine& engine, std::vector<uint8_t>&& bytes);

}  // namespace kiln::component
