// Value, function, table, memory and global types (spec 2.3).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace kiln {

// Encodings are the binary format's type bytes (spec 5.3.1-5.3.3).
enum class ValType : uint8_t {
  kI32 = 0x7f,
  kI64 = 0x7e,
  kF32 = 0x7d,
  kF64 = 0x7c,
  kV128 = 0x7b,
  kFuncRef = 0x70,
  kExternRef = 0x6f,
  kExnRef = 0x69,   // Wasm 3.0 exception handling: a caught exception (spec 2.3.3, `exnref`)
  kUnknown = 0x00,  // the validator's bottom type in unreachable code
};

inline bool is_reference(ValType t) {
  return t == ValType::kFuncRef || t == ValType::kExternRef || t == ValType::kExnRef;
}
inline bool is_numeric(ValType t) {
  return t == ValType::kI32 || t == ValType::kI64 || t == ValType::kF32 || t == ValType::kF64;
}
// Every value occupies 64-bit cells in frames and host-call arrays; v128 takes two
// (DESIGN-NOTES section 6).
constexpr uint32_t cell_count(ValType t) {
  return t == ValType::kV128 ? 2 : 1;
}
// Cells taken by a sequence of values (parameters, results, a label's values).
uint32_t cell_count(std::span<const ValType> types);
const char* valtype_name(ValType t);
std::optional<ValType> valtype_from_byte(uint8_t byte);

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
  bool operator==(const FuncType& other) const = default;
  uint32_t param_cells() const;
  uint32_t result_cells() const;
  std::string to_string() const;
};

struct Limits {
  uint64_t min = 0;
  std::optional<uint64_t> max;
  bool operator==(const Limits& other) const = default;
};

struct TableType {
  ValType element = ValType::kFuncRef;
  Limits limits;
};

struct MemoryType {
  Limits limits;  // in 64 KiB pages
};

struct GlobalType {
  ValType type = ValType::kI32;
  bool mutable_ = false;
};

// kTag: Wasm 3.0 exception handling's tags (spec 2.5.7), whose type is a function type without
// results: the exception's payload.
enum class ExternKind : uint8_t { kFunction = 0, kTable = 1, kMemory = 2, kGlobal = 3, kTag = 4 };
const char* extern_kind_name(ExternKind kind);

// Spec 4.5.1 (import subtyping of limits): `actual` matches `expected`.
bool limits_match(const Limits& actual, const Limits& expected);

// Function types interned engine-wide into small ids, so call_indirect compares one integer,
// also across instances and modules (DESIGN-NOTES section 6). Interned types are reference
// counted: an engine that loads tenants' modules for as long as it runs forgets each type with
// the last module, store or component that uses it (TypeReferences), and hands its id out again.
// An id is therefore only meaningful while a reference to it is held; every holder of a function
// instance, a tag or code that embeds an id holds one (directly, or through the module it
// belongs to).
class TypeRegistry {
 public:
  // An interned type's id and the registry's copy of it (whose address lasts as long as the
  // type stays interned): what a function instance records of its type.
  struct Interned {
    uint32_t id;
    const FuncType* type;
  };
  // The type of a live id.
  const FuncType& get(uint32_t id) const;
  // How many distinct types are interned now.
  size_t size() const;

 private:
  friend class TypeReferences;
  Interned acquire(const FuncType& type);
  void release(std::span<const uint32_t> ids);

  struct Hash {
    size_t operator()(const FuncType& t) const;
  };
  struct Entry {
    const FuncType* type = nullptr;  // the key in ids_; null while the id is free
    uint32_t references = 0;
  };
  mutable std::mutex mutex_;
  std::unordered_map<FuncType, uint32_t, Hash> ids_;
  std::vector<Entry> by_id_;
  std::vector<uint32_t> free_ids_;
};

// The references one owner holds on interned types (a module on its types, a store on its host
// functions' and tags', a component on its lowerings'), all released when the owner goes. It
// shares the registry, so an owner may outlive the engine that made it.
class TypeReferences {
 public:
  TypeReferences() = default;
  explicit TypeReferences(std::shared_ptr<TypeRegistry> registry)
      : registry_(std::move(registry)) {}
  TypeReferences(TypeReferences&& other) noexcept = default;
  TypeReferences& operator=(TypeReferences&& other) noexcept;
  TypeReferences(const TypeReferences&) = delete;
  TypeReferences& operator=(const TypeReferences&) = delete;
  ~TypeReferences();

  // Interns `type` and holds a reference on it.
  TypeRegistry::Interned intern(const FuncType& type);
  const TypeRegistry* registry() const { return registry_.get(); }

 private:
  void release_all();
  std::shared_ptr<TypeRegistry> registry_;
  std::vector<uint32_t> ids_;
};

}  // namespace kiln
