// The canonical ABI's static layout of value types (CanonicalABI.md "Despecialization",
// "Alignment", "Element Size", "Flattening"), for 32-bit memories (and 64-bit where validation
// asks, for the element-size bound). Used by validation (canon lift/lower signatures, required
// options) and by lifting and lowering.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "component/component_types.h"
#include "runtime/types.h"

namespace kiln::component::abi {

constexpr size_t kMaxFlatParams = 16;
constexpr size_t kMaxFlatResults = 1;
// Validation requires elem_size(t, i64) < 2^28 of every defined value type (Element Size).
constexpr uint64_t kMaxValueByteSize = uint64_t{1} << 28;

enum class PointerSize : uint8_t { k32 = 4, k64 = 8 };

// Fills in a new defined type's computed fields (depth, size, layout, predicates) from its
// parts', which are finished already.
void finish_defined_type(resolved::DefinedType& type);

uint32_t alignment(const resolved::ValueType& type, PointerSize pointer = PointerSize::k32);
// Saturates at UINT64_MAX (types past kMaxValueByteSize are refused when defined).
uint64_t element_size(const resolved::ValueType& type, PointerSize pointer = PointerSize::k32);

// The variant discriminant's size in bytes (1, 2 or 4) for `cases` cases.
uint32_t discriminant_size(size_t cases);
// A flags type's size and alignment in bytes (1, 2 or 4) for `labels` labels.
uint32_t flags_size(size_t labels);
// `offset` rounded up to `alignment`, a power of two as every canonical ABI alignment is
// (saturating). Inline and without a division: every load and store of a field asks.
inline uint64_t align_to(uint64_t offset, uint64_t alignment) {
  if (offset > std::numeric_limits<uint64_t>::max() - alignment) {
    return std::numeric_limits<uint64_t>::max();
  }
  return (offset + alignment - 1) & ~(alignment - 1);
}

// CanonicalABI.md `despecialize`, as lifting, lowering and layout need it: the payload types of
// a variant-like type (variant, option, result, enum; null for a case without payload), and the
// field types of a record-like one (record, tuple).
// Views into the type, not copies: a variant is lifted or lowered at every call that passes one
// (every WASI result<_, error-code>), and a vector of its cases was a heap allocation each time.
template <class View>
class TypeViewIterator {
 public:
  TypeViewIterator(const View* view, size_t index) : view_(view), index_(index) {}
  const resolved::ValueType* operator*() const { return (*view_)[index_]; }
  TypeViewIterator& operator++() {
    ++index_;
    return *this;
  }
  bool operator!=(const TypeViewIterator& other) const { return index_ != other.index_; }

 private:
  const View* view_;
  size_t index_;
};

class CaseTypes {
 public:
  explicit CaseTypes(const resolved::DefinedType& type) : type_(&type) {}
  size_t size() const;
  const resolved::ValueType* operator[](size_t index) const;
  TypeViewIterator<CaseTypes> begin() const { return {this, 0}; }
  TypeViewIterator<CaseTypes> end() const { return {this, size()}; }

 private:
  const resolved::DefinedType* type_;
};

class FieldTypes {
 public:
  explicit FieldTypes(const resolved::DefinedType& type) : type_(&type) {}
  size_t size() const;
  const resolved::ValueType* operator[](size_t index) const;
  TypeViewIterator<FieldTypes> begin() const { return {this, 0}; }
  TypeViewIterator<FieldTypes> end() const { return {this, size()}; }

 private:
  const resolved::DefinedType* type_;
};

inline CaseTypes case_types(const resolved::DefinedType& type) {
  return CaseTypes(type);
}
inline FieldTypes field_types(const resolved::DefinedType& type) {
  return FieldTypes(type);
}
// The largest alignment of the cases' payloads (1 when none has one).
uint32_t max_case_alignment(const CaseTypes& cases, PointerSize pointer = PointerSize::k32);

// Appends the flattening of `type` to `out`, stopping (and returning false) once `out` would
// hold more than `limit` types: a fixed-length list can flatten to millions of values.
bool flatten(const resolved::ValueType& type, std::vector<ValType>& out, size_t limit);

// How many core values flatten() gives a type (saturating), from the defined types' cache.
uint64_t flat_count(const resolved::ValueType& type);

// flatten_functype for synchronous functions.
enum class Context : uint8_t { kLift, kLower };
struct FlatSignature {
  FuncType core;
  bool params_in_memory = false;   // more than kMaxFlatParams: one pointer
  bool results_in_memory = false;  // more than kMaxFlatResults: a pointer (returned or passed)
};
FlatSignature flatten_function(const resolved::FunctionType& type, Context context);

// A function type as one canon definition passes it (lifted or lowered): its flattening and
// its parameter and result types, made once when the component is validated
// (ValidatedComponent::canon_signatures) and shared by every instance and call.
struct AbiSignature {
  FlatSignature flat;
  std::vector<resolved::ValueType> param_types, result_types;
  // A lowering's core type as the validating engine interned it (`registry`), so that each
  // instance's host function takes it without a lookup (the reference is the component's:
  // ValidatedComponent::lowered_core_types).
  const TypeRegistry* registry = nullptr;
  TypeRegistry::Interned core{};
};
std::shared_ptr<AbiSignature> abi_signature(const resolved::FunctionType& type, Context context);

// CanonicalABI.md "Type Predicates" and the option rules.
bool contains_borrow(const resolved::ValueType& type);
bool contains_string_or_list(const resolved::ValueType& type);  // needs memory and realloc
bool contains_async_value(const resolved::ValueType& type);     // stream, future, error-context

}  // namespace kiln::component::abi
