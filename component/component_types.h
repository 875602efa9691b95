// Component types as the validator resolves them (Explainer.md "Type Definitions" and "Type
// Checking"): what the decoder's type indices refer to, independent of any index space, so that
// types can move between components (imports, instantiation, outer aliases) and be compared.
//
// Types are immutable and shared. Resource types are identities (ResourceId): every resource
// definition, every `(sub resource)` import and every instantiation of a component makes fresh
// ones (resource types are generative), and instantiation substitutes the arguments' resources
// for a component's imported ones.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "component/component.h"
#include "runtime/types.h"

namespace kiln::component::resolved {

// A resource type's identity; unique in the process (ids are never reused).
using ResourceId = uint64_t;
// A type's name for external visibility (Explainer.md "External Visibility of Types"): every
// definition, import and export of a resource, record, variant, enum or flags type gets one.
using TypeName = uint64_t;
// A new resource id or type name (one counter for both; never reused).
uint64_t fresh_id();

struct DefinedType;

// A value type: a primitive, or a defined type.
struct ValueType {
  PrimitiveType primitive = PrimitiveType::kBool;
  std::shared_ptr<const DefinedType> defined;  // null for a primitive

  bool is_primitive() const { return defined == nullptr; }
};

// The primitive a value type is, if it is one: directly, or as a defined `(type u32)`.
std::optional<PrimitiveType> primitive_of(const ValueType& type);

struct Field {
  std::string label;
  ValueType type;
};

struct Case {
  std::string label;
  std::optional<ValueType> type;
};

// A defined value type (`defvaltype`), with its own ValueTypes resolved.
struct DefinedType {
  using Kind = DefinedValueType::Kind;
  Kind kind = Kind::kPrimitive;
  PrimitiveType primitive = PrimitiveType::kBool;  // kPrimitive
  std::vector<Field> fields;                       // kRecord
  std::vector<Case> cases;                         // kVariant
  // kTuple: its types; kList, kFixedList, kOption: the element; kMap: key then value.
  std::vector<ValueType> types;
  std::vector<std::string> labels;     // kFlags, kEnum
  std::optional<ValueType> ok, error;  // kResult
  ResourceId resource = 0;             // kOwn, kBorrow
  uint32_t length = 0;                 // kFixedList
  // kRecord, kVariant, kEnum, kFlags: this type's name; kOwn, kBorrow: the name of the
  // resource type it was made from. Not part of the type's identity for subtyping.
  TypeName name = 0;

  // Computed once when the type is made (abi::finish_defined_type), from its parts': every
  // walk over a type is bounded by these, so that a type built by sharing (a tuple of a tuple of
  // ... the same type) cannot make the validator's or the ABI's work exponential.
  uint32_t depth = 1;      // nesting depth; bounded by kMaxTypeDepth
  uint64_t type_size = 1;  // nodes when expanded as a tree; bounded by kMaxTypeSize
  uint32_t alignment32 = 1, alignment64 = 1;
  uint64_t size32 = 0, size64 = 0;  // elem_size for 32- and 64-bit memories (saturating)
  bool has_borrow = false, has_string_or_list = false, has_async_value = false;
  uint64_t flat_count = 1;  // core values flatten_type gives it (saturating)
};

constexpr uint32_t kMaxTypeDepth = 100;
constexpr uint64_t kMaxTypeSize = 1000000;

struct FunctionType {
  std::vector<Field> params;
  std::optional<ValueType> result;
};

// A core extern type: what a core module imports or exports, or a core instance exports.
struct CoreExternType {
  ExternKind kind = ExternKind::kFunction;
  FuncType function;
  TableType table;
  MemoryType memory;
  GlobalType global;
};

struct CoreImport {
  std::string module, name;
  CoreExternType type;
};

struct ModuleType {
  std::vector<CoreImport> imports;
  std::vector<std::pair<std::string, CoreExternType>> exports;
};

struct CoreInstanceType {
  std::vector<std::pair<std::string, CoreExternType>> exports;
  const CoreExternType* find(const std::string& name) const;
  // The position in `exports` of the export named `name`, or SIZE_MAX.
  size_t position(std::string_view name) const;
};

struct InstanceType;
struct ComponentType;

// What the type index space holds (`deftype`, or a resource).
struct TypeDefinition {
  enum class Kind : uint8_t { kValue, kFunction, kComponent, kInstance, kResource };
  Kind kind = Kind::kValue;
  ValueType value;                                 // kValue
  std::shared_ptr<const FunctionType> function;    // kFunction
  std::shared_ptr<const ComponentType> component;  // kComponent
  std::shared_ptr<const InstanceType> instance;    // kInstance
  ResourceId resource = 0;                         // kResource
  TypeName resource_name = 0;                      // kResource: this index's name
};

// The type of an import or an export.
struct ExternType {
  using Kind = component::ExternType::Kind;
  Kind kind = Kind::kFunc;
  std::shared_ptr<const ModuleType> module;        // kCoreModule
  std::shared_ptr<const FunctionType> function;    // kFunc
  ValueType value;                                 // kValue
  TypeDefinition type;                             // kType: the type it is (a resource, or eq)
  std::shared_ptr<const ComponentType> component;  // kComponent
  std::shared_ptr<const InstanceType> instance;    // kInstance
};

struct NamedExtern {
  std::string name;
  ExternType type;
};

// An instance type: its exports; `defined_resources` are the resources its exports introduce
// (abstract: whoever imports an instance of this type gets fresh ones).
struct InstanceType {
  std::vector<NamedExtern> exports;
  std::vector<ResourceId> defined_resources;
  const ExternType* find(const std::string& name) const;
  // The position in `exports` of the export named `name`, or SIZE_MAX.
  size_t position(std::string_view name) const;
};

// A component type: resources its imports introduce (`imported_resources`, bound by each
// instantiation's arguments) and resources its exports introduce (`defined_resources`, fresh
// for every instance).
struct ComponentType {
  std::vector<NamedExtern> imports;
  std::vector<NamedExtern> exports;
  std::vector<ResourceId> imported_resources;
  std::vector<ResourceId> defined_resources;
};

// Resource ids to replace, and by what.
using ResourceMap = std::map<ResourceId, ResourceId>;

// `type` with every resource in `map` replaced (shared unchanged parts).
ValueType substitute(const ValueType& type, const ResourceMap& map);
std::shared_ptr<const FunctionType> substitute(const std::shared_ptr<const FunctionType>& type,
                                               const ResourceMap& map);
ExternType substitute(const ExternType& type, const ResourceMap& map);
TypeDefinition substitute(const TypeDefinition& type, const ResourceMap& map);

// Binds the abstract resources of `expected` (those in `bindable` not yet in `map`) to what
// `actual` gives in their place, through type imports and exports and instance exports; type
// names are bound likewise (so that visibility follows a type through instantiation).
void bind_resources(const ExternType& expected, const ExternType& actual,
                    const std::set<ResourceId>& bindable, ResourceMap& map);

// Every resource a type refers to, in first-seen order.
void collect_resources(const ValueType& type, std::vector<ResourceId>& out);
void collect_resources(const ExternType& type, std::vector<ResourceId>& out);

// Explainer.md "Subtyping": whether a value of `actual` may be given where `expected` is
// asked for. An Error says where they differ ("type mismatch in record field `x`", "resource
// types are not the same").
Result<void> check_subtype(const ValueType& actual, const ValueType& expected);
Result<void> check_subtype(const FunctionType& actual, const FunctionType& expected);
Result<void> check_subtype(const ExternType& actual, const ExternType& expected);
Result<void> check_subtype(const CoreExternType& actual, const CoreExternType& expected);
Result<void> check_subtype(const ModuleType& actual, const ModuleType& expected);

// A readable rendering, for error messages: "u32", "list<string>", "own<resource 3>".
std::string to_string(const ValueType& type);
std::string to_string(const CoreExternType& type);
const char* extern_kind_name(ExternType::Kind kind);
// A type written as WIT ("func(x: u32) -> string", "record { a: u8 }", "instance { f: func() }",
// "resource").
// With `names` (type names to the labels that imports and exports give them, those of imported
// and exported instances included: collect_type_names),
// named resources and records, variants, enums and flags are written by name (`own<counter>`).
using TypeNames = std::map<TypeName, std::string>;
void collect_type_names(const std::vector<NamedExtern>& externs, TypeNames& names);
std::string to_wit(const ValueType& type, const TypeNames* names = nullptr);
std::string to_wit(const ExternType& type, const TypeNames* names = nullptr);
const char* type_kind_name(TypeDefinition::Kind kind);
// A component's type as a WIT-like world, one import or export per line, imported and exported
// instances written out as `interface { ... }` with every member's full type:
//   world root {
//     import wasi:cli/stdout@0.2.0: interface {
//       get-stdout: func() -> own<output-stream>;
//     }
//     export greet: func(name: string) -> string;
//   }
std::string world_wit(const ComponentType& type);

}  // namespace kiln::component::resolved
