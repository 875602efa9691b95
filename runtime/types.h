// Value, function, table, memory and global types (spec 2.3).
#pragma once

#include <cstdint>
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
// also across instances and modules (DESIGN-NOTES section 6).
class TypeRegistry {
 public:
  uint32_t intern(const FuncType& type);
  // The id and the registry's copy of `type` (whose address lasts as long as the registry), in
  // one lookup: what a function instance records of its type.
  struct Interned {
    uint32_t id;
    const FuncType* type;
  };
  Interned intern_with_type(const FuncType& type);
  const FuncType& get(uint32_t id) const;

 private:
  struct Hash {
    size_t operator()(const FuncType& t) const;
  };
  mutable std::mutex mutex_;
  std::unordered_map<FuncType, uint32_t, Hash> ids_;
  std::vector<const FuncType*> by_id_;
};

}  // namespace kiln
