// A component as decoded from its binary (../shared/component-model/design/mvp/Binary.md):
// every definition in binary order, since each index space grows in that order. Decoded, not
// yet validated (types are checked by the component validator). Core modules inside are kept as
// their bytes and compiled by runtime/ like any module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/module.h"
#include "runtime/types.h"

namespace kiln::component {

// Binary.md `sort` and `core:sort`, as one enumeration.
enum class Sort : uint8_t {
  kCoreFunc,
  kCoreTable,
  kCoreMemory,
  kCoreGlobal,
  kCoreTag,
  kCoreType,
  kCoreModule,
  kCoreInstance,
  kFunc,
  kValue,
  kType,
  kComponent,
  kInstance,
};
const char* sort_name(Sort sort);

struct SortIndex {
  Sort sort = Sort::kFunc;
  uint32_t index = 0;
};

enum class PrimitiveType : uint8_t {
  kBool,
  kS8,
  kU8,
  kS16,
  kU16,
  kS32,
  kU32,
  kS64,
  kU64,
  kF32,
  kF64,
  kChar,
  kString,
  kErrorContext,
};
const char* primitive_name(PrimitiveType type);

// `valtype`: a primitive, or an index into the type index space.
struct ValueType {
  bool is_primitive = true;
  PrimitiveType primitive = PrimitiveType::kBool;
  uint32_t index = 0;
};

struct LabeledType {
  std::string label;
  ValueType type;
};

struct VariantCase {
  std::string label;
  std::optional<ValueType> type;
};

// `defvaltype`.
struct DefinedValueType {
  enum class Kind : uint8_t {
    kPrimitive,
    kRecord,
    kVariant,
    kList,
    kFixedList,
    kTuple,
    kFlags,
    kEnum,
    kOption,
    kResult,
    kOwn,
    kBorrow,
    kStream,
    kFuture,
    kMap,
  };
  Kind kind = Kind::kPrimitive;
  PrimitiveType primitive = PrimitiveType::kBool;  // kPrimitive
  std::vector<LabeledType> fields;                 // kRecord
  std::vector<VariantCase> cases;                  // kVariant
  // kTuple: its types; kList, kFixedList, kOption: the element; kMap: key then value.
  std::vector<ValueType> types;
  std::vector<std::string> labels;     // kFlags, kEnum
  std::optional<ValueType> ok, error;  // kResult; kStream and kFuture: the element in `ok`
  uint32_t resource = 0;               // kOwn, kBorrow: a type index
  uint32_t length = 0;                 // kFixedList
};

struct FunctionType {
  bool async = false;
  std::vector<LabeledType> params;
  std::optional<ValueType> result;
};

struct ResourceType {
  ValType representation = ValType::kI32;  // a core value type
  std::optional<uint32_t> destructor;      // a core function index
};

// `nameattributes`: the name and its optional attributes.
struct ExternName {
  std::string name;
  std::optional<std::string> implements, version_suffix, external_id;
};

// `externtype`: what an import or export is, and its type.
struct ExternType {
  enum class Kind : uint8_t { kCoreModule, kFunc, kValue, kType, kComponent, kInstance };
  Kind kind = Kind::kFunc;
  // kCoreModule: a core type index; kFunc, kComponent, kInstance: a type index; kType with
  // kEq: the type it equals; kValue with kEq: a value index.
  uint32_t index = 0;
  enum class Bound : uint8_t { kEq, kSubResource, kValueType } bound = Bound::kEq;
  ValueType value_type;  // kValue with kValueType
};

struct Alias {
  Sort sort = Sort::kFunc;
  enum class Target : uint8_t { kExport, kCoreExport, kOuter } target = Target::kExport;
  uint32_t instance = 0;  // kExport, kCoreExport
  std::string name;       // kExport, kCoreExport
  uint32_t outer_count = 0, outer_index = 0;
  size_t offset = 0;
};

struct CoreType;
struct Type;

// One declarator of a component or instance type (`componentdecl`, `instancedecl`).
struct Declarator {
  enum class Kind : uint8_t { kCoreType, kType, kAlias, kExport, kImport };
  Kind kind = Kind::kType;
  std::shared_ptr<CoreType> core_type;  // kCoreType
  std::shared_ptr<Type> type;           // kType
  Alias alias;                          // kAlias
  ExternName name;                      // kExport, kImport
  ExternType extern_type;               // kExport, kImport
  size_t offset = 0;
};

// `deftype`.
struct Type {
  enum class Kind : uint8_t { kValue, kFunction, kComponent, kInstance, kResource };
  Kind kind = Kind::kValue;
  DefinedValueType value;               // kValue
  FunctionType function;                // kFunction
  std::vector<Declarator> declarators;  // kComponent, kInstance
  ResourceType resource;                // kResource
  size_t offset = 0;
};

// One declarator of a core module type (`core:moduledecl`).
struct CoreModuleDeclarator {
  enum class Kind : uint8_t { kImport, kType, kAlias, kExport };
  Kind kind = Kind::kImport;
  Import import;                   // kImport (module, name, description); kExport: the description
  std::shared_ptr<CoreType> type;  // kType
  uint32_t outer_count = 0, outer_index = 0;  // kAlias (outer, of a core type)
  std::string export_name;                    // kExport
  size_t offset = 0;
};

// `core:type`: a core function type (the one Wasm 2.0 form of `core:rectype`) or a module type.
// Wasm 3.0's other types (recursive groups, subtypes, structs, arrays) are decoded but kept only
// as kUnsupported: kiln's core language is Wasm 2.0, and the validator says so.
struct CoreType {
  enum class Kind : uint8_t { kFunction, kModule, kUnsupported };
  Kind kind = Kind::kFunction;
  FuncType function;
  std::vector<CoreModuleDeclarator> declarators;
  size_t offset = 0;
};

struct CoreInstance {
  bool instantiate = true;  // (instantiate module args) or a bundle of exports
  uint32_t module = 0;
  std::vector<std::pair<std::string, uint32_t>> args;  // (with name (instance i))
  std::vector<std::pair<std::string, SortIndex>> exports;
  size_t offset = 0;
};

struct Instance {
  bool instantiate = true;  // (instantiate component args) or a bundle of exports
  uint32_t component = 0;
  std::vector<std::pair<std::string, SortIndex>> args;
  std::vector<std::pair<ExternName, SortIndex>> exports;
  size_t offset = 0;
};

struct CanonOptions {
  enum class StringEncoding : uint8_t { kUtf8, kUtf16, kLatin1Utf16 };
  std::optional<StringEncoding> string_encoding;
  std::optional<uint32_t> memory, realloc, post_return, callback;
  bool async = false;
};

// Canonical definitions. The async ABI's and threads' built-ins (and the async and callback
// options) are decoded as kUnsupported, named in `unsupported`: the validator refuses them.
struct Canon {
  enum class Kind : uint8_t {
    kLift,
    kLower,
    kResourceNew,
    kResourceDrop,
    kResourceRep,
    kUnsupported
  };
  Kind kind = Kind::kLift;
  std::string unsupported;  // what is not supported (kUnsupported, or an option of lift/lower)
  uint32_t function = 0;    // kLift: a core function; kLower: a function
  uint32_t type = 0;        // kLift: the function type; kResource*: the resource type
  CanonOptions options;
  size_t offset = 0;
};

struct Start {
  uint32_t function = 0;
  std::vector<uint32_t> args;  // value indices
  uint32_t results = 0;
  size_t offset = 0;
};

struct ComponentImport {
  ExternName name;
  ExternType type;
  size_t offset = 0;
};

struct ComponentExport {
  ExternName name;
  SortIndex item;
  std::optional<ExternType> type;
  size_t offset = 0;
};

struct CoreModuleBytes {
  // The core module as decode_module left it (it owns its bytes, preamble included): the
  // component's validation compiles this module in place (Module::compile_decoded) rather than
  // decoding it a second time.
  std::shared_ptr<Module> decoded;
  size_t offset = 0;  // where it starts in the component's binary
  std::span<const uint8_t> bytes() const { return decoded->bytes; }
};

// A definition in binary order: `index` is its place in the Component vector of its kind.
struct Definition {
  enum class Kind : uint8_t {
    kCoreModule,
    kCoreInstance,
    kCoreType,
    kComponent,
    kInstance,
    kAlias,
    kType,
    kCanon,
    kStart,
    kImport,
    kExport,
  };
  Kind kind = Kind::kType;
  uint32_t index = 0;
};

struct Component {
  std::vector<CoreModuleBytes> core_modules;
  std::vector<CoreInstance> core_instances;
  std::vector<CoreType> core_types;
  std::vector<std::unique_ptr<Component>> components;
  std::vector<Instance> instances;
  std::vector<Alias> aliases;
  std::vector<Type> types;
  std::vector<Canon> canons;
  std::vector<Start> starts;
  std::vector<ComponentImport> imports;
  std::vector<ComponentExport> exports;
  std::vector<Definition> definitions;
  size_t offset = 0;  // where this component's preamble starts in the outermost binary
};

}  // namespace kiln::component
