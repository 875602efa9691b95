#include "component/abi_layout.h"

#include <algorithm>
#include <limits>

namespace kiln::component::abi {

namespace {

using resolved::DefinedType;
using resolved::ValueType;
using Kind = DefinedType::Kind;

uint64_t add_saturating(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

uint64_t multiply_saturating(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

uint32_t primitive_size(PrimitiveType p, PointerSize pointer) {
  switch (p) {
    case PrimitiveType::kBool:
    case PrimitiveType::kS8:
    case PrimitiveType::kU8:
      return 1;
    case PrimitiveType::kS16:
    case PrimitiveType::kU16:
      return 2;
    case PrimitiveType::kS32:
    case PrimitiveType::kU32:
    case PrimitiveType::kF32:
    case PrimitiveType::kChar:
    case PrimitiveType::kErrorContext:
      return 4;
    case PrimitiveType::kS64:
    case PrimitiveType::kU64:
    case PrimitiveType::kF64:
      return 8;
    case PrimitiveType::kString:
      return 2 * static_cast<uint32_t>(pointer);
  }
  return 4;
}

uint32_t primitive_alignment(PrimitiveType p, PointerSize pointer) {
  return p == PrimitiveType::kString ? static_cast<uint32_t>(pointer) : primitive_size(p, pointer);
}

ValType join(ValType a, ValType b) {
  if (a == b) return a;
  if ((a == ValType::kI32 && b == ValType::kF32) || (a == ValType::kF32 && b == ValType::kI32)) {
    return ValType::kI32;
  }
  return ValType::kI64;
}

}  // namespace

uint32_t flags_size(size_t labels) {
  return labels <= 8 ? 1 : labels <= 16 ? 2 : 4;
}

size_t CaseTypes::size() const {
  switch (type_->kind) {
    case Kind::kVariant:
      return type_->cases.size();
    case Kind::kOption:
    case Kind::kResult:
      return 2;
    case Kind::kEnum:
      return type_->labels.size();
    default:
      return 0;
  }
}

const ValueType* CaseTypes::operator[](size_t index) const {
  const DefinedType& t = *type_;
  switch (t.kind) {
    case Kind::kVariant:
      return t.cases[index].type ? &*t.cases[index].type : nullptr;
    case Kind::kOption:
      return index == 0 ? nullptr : &t.types[0];
    case Kind::kResult: {
      const auto& payload = index == 0 ? t.ok : t.error;
      return payload ? &*payload : nullptr;
    }
    default:
      return nullptr;
  }
}

size_t FieldTypes::size() const {
  return type_->kind == Kind::kRecord ? type_->fields.size() : type_->types.size();
}

const ValueType* FieldTypes::operator[](size_t index) const {
  return type_->kind == Kind::kRecord ? &type_->fields[index].type : &type_->types[index];
}

uint32_t max_case_alignment(const CaseTypes& cases, PointerSize pointer) {
  uint32_t a = 1;
  for (const ValueType* c : cases) {
    if (c) a = std::max(a, alignment(*c, pointer));
  }
  return a;
}

uint32_t discriminant_size(size_t cases) {
  return cases <= (size_t{1} << 8) ? 1 : cases <= (size_t{1} << 16) ? 2 : 4;
}

namespace {

uint32_t compute_alignment(const DefinedType& t, PointerSize pointer) {
  switch (t.kind) {
    case Kind::kPrimitive:
      return primitive_alignment(t.primitive, pointer);
    case Kind::kList:
    case Kind::kMap:
      return static_cast<uint32_t>(pointer);
    case Kind::kFixedList:
      return alignment(t.types[0], pointer);
    case Kind::kRecord:
    case Kind::kTuple: {
      uint32_t a = 1;
      for (const ValueType* f : field_types(t)) a = std::max(a, alignment(*f, pointer));
      return a;
    }
    case Kind::kVariant:
    case Kind::kOption:
    case Kind::kResult:
    case Kind::kEnum: {
      const auto cases = case_types(t);
      return std::max(discriminant_size(cases.size()), max_case_alignment(cases, pointer));
    }
    case Kind::kFlags:
      return flags_size(t.labels.size());
    case Kind::kOwn:
    case Kind::kBorrow:
    case Kind::kStream:
    case Kind::kFuture:
      return 4;
  }
  return 4;
}

// `own_alignment`: the type's own alignment, computed just before.
uint64_t compute_size(const DefinedType& t, PointerSize pointer, uint32_t own_alignment) {
  switch (t.kind) {
    case Kind::kPrimitive:
      return primitive_size(t.primitive, pointer);
    case Kind::kList:
    case Kind::kMap:
      return 2 * static_cast<uint64_t>(pointer);
    case Kind::kFixedList:
      return multiply_saturating(t.length, element_size(t.types[0], pointer));
    case Kind::kRecord:
    case Kind::kTuple: {
      uint64_t s = 0;
      for (const ValueType* f : field_types(t)) {
        s = add_saturating(align_to(s, alignment(*f, pointer)), element_size(*f, pointer));
      }
      return align_to(s, own_alignment);
    }
    case Kind::kVariant:
    case Kind::kOption:
    case Kind::kResult:
    case Kind::kEnum: {
      const auto cases = case_types(t);
      uint64_t s = align_to(discriminant_size(cases.size()), max_case_alignment(cases, pointer));
      uint64_t payload = 0;
      for (const ValueType* c : cases) {
        if (c) payload = std::max(payload, element_size(*c, pointer));
      }
      return align_to(add_saturating(s, payload), own_alignment);
    }
    case Kind::kFlags:
      return flags_size(t.labels.size());
    case Kind::kOwn:
    case Kind::kBorrow:
    case Kind::kStream:
    case Kind::kFuture:
      return 4;
  }
  return 4;
}

// flatten_type's length: as flatten() counts, without building the list (a variant's cases
// join into the longest payload's length).
uint64_t compute_flat_count(const DefinedType& t) {
  switch (t.kind) {
    case Kind::kPrimitive:
      return t.primitive == PrimitiveType::kString ? 2 : 1;
    case Kind::kList:
    case Kind::kMap:
      return 2;
    case Kind::kFixedList:
      return multiply_saturating(t.length, flat_count(t.types[0]));
    case Kind::kRecord:
    case Kind::kTuple: {
      uint64_t n = 0;
      for (const ValueType* f : field_types(t)) n = add_saturating(n, flat_count(*f));
      return n;
    }
    case Kind::kVariant:
    case Kind::kOption:
    case Kind::kResult:
    case Kind::kEnum: {
      uint64_t payload = 0;
      for (const ValueType* c : case_types(t)) {
        if (c) payload = std::max(payload, flat_count(*c));
      }
      return add_saturating(1, payload);
    }
    default:
      return 1;
  }
}

}  // namespace

uint64_t flat_count(const ValueType& type) {
  if (!type.defined) return type.primitive == PrimitiveType::kString ? 2 : 1;
  return type.defined->flat_count;
}

void finish_defined_type(DefinedType& t) {
  uint32_t depth = 0;
  uint64_t size = 1;
  auto part = [&](const ValueType& v) {
    if (!v.defined) {
      size = add_saturating(size, 1);
      if (v.primitive == PrimitiveType::kString) t.has_string_or_list = true;
      if (v.primitive == PrimitiveType::kErrorContext) t.has_async_value = true;
      return;
    }
    depth = std::max(depth, v.defined->depth);
    size = add_saturating(size, v.defined->type_size);
    t.has_borrow |= v.defined->has_borrow;
    t.has_string_or_list |= v.defined->has_string_or_list;
    t.has_async_value |= v.defined->has_async_value;
  };
  for (const auto& f : t.fields) part(f.type);
  for (const auto& c : t.cases) {
    if (c.type) part(*c.type);
  }
  for (const ValueType& v : t.types) part(v);
  if (t.ok) part(*t.ok);
  if (t.error) part(*t.error);
  t.depth = depth + 1;
  t.type_size = size;
  switch (t.kind) {
    case Kind::kPrimitive:
      t.has_string_or_list = t.primitive == PrimitiveType::kString;
      t.has_async_value = t.primitive == PrimitiveType::kErrorContext;
      break;
    case Kind::kBorrow:
      t.has_borrow = true;
      break;
    case Kind::kList:
    case Kind::kMap:
      t.has_string_or_list = true;
      break;
    case Kind::kStream:
    case Kind::kFuture:
      t.has_async_value = true;
      break;
    default:
      break;
  }
  t.alignment32 = compute_alignment(t, PointerSize::k32);
  t.alignment64 = compute_alignment(t, PointerSize::k64);
  t.size32 = compute_size(t, PointerSize::k32, t.alignment32);
  t.size64 = compute_size(t, PointerSize::k64, t.alignment64);
  t.flat_count = compute_flat_count(t);
}

uint32_t alignment(const ValueType& type, PointerSize pointer) {
  if (!type.defined) return primitive_alignment(type.primitive, pointer);
  return pointer == PointerSize::k32 ? type.defined->alignment32 : type.defined->alignment64;
}

uint64_t element_size(const ValueType& type, PointerSize pointer) {
  if (!type.defined) return primitive_size(type.primitive, pointer);
  return pointer == PointerSize::k32 ? type.defined->size32 : type.defined->size64;
}

bool flatten(const ValueType& type, std::vector<ValType>& out, size_t limit) {
  auto push = [&](ValType v) {
    if (out.size() >= limit) return false;
    out.push_back(v);
    return true;
  };
  auto primitive = [&](PrimitiveType p) {
    switch (p) {
      case PrimitiveType::kS64:
      case PrimitiveType::kU64:
        return push(ValType::kI64);
      case PrimitiveType::kF32:
        return push(ValType::kF32);
      case PrimitiveType::kF64:
        return push(ValType::kF64);
      case PrimitiveType::kString:
        return push(ValType::kI32) && push(ValType::kI32);
      default:
        return push(ValType::kI32);
    }
  };
  if (!type.defined) return primitive(type.primitive);
  const DefinedType& t = *type.defined;
  switch (t.kind) {
    case Kind::kPrimitive:
      return primitive(t.primitive);
    case Kind::kList:
    case Kind::kMap:
      return push(ValType::kI32) && push(ValType::kI32);
    case Kind::kFixedList:
      for (uint32_t i = 0; i < t.length; ++i) {
        if (!flatten(t.types[0], out, limit)) return false;
      }
      return true;
    case Kind::kRecord:
    case Kind::kTuple:
      for (const ValueType* f : field_types(t)) {
        if (!flatten(*f, out, limit)) return false;
      }
      return true;
    case Kind::kVariant:
    case Kind::kOption:
    case Kind::kResult:
    case Kind::kEnum: {
      if (!push(ValType::kI32)) return false;
      const size_t start = out.size();
      std::vector<ValType> joined;
      for (const ValueType* c : case_types(t)) {
        if (!c) continue;
        std::vector<ValType> flat;
        if (!flatten(*c, flat, limit - start)) return false;
        for (size_t i = 0; i < flat.size(); ++i) {
          if (i < joined.size()) {
            joined[i] = join(joined[i], flat[i]);
          } else {
            joined.push_back(flat[i]);
          }
        }
      }
      for (ValType v : joined) {
        if (!push(v)) return false;
      }
      return true;
    }
    case Kind::kFlags:
    case Kind::kOwn:
    case Kind::kBorrow:
    case Kind::kStream:
    case Kind::kFuture:
      return push(ValType::kI32);
  }
  return push(ValType::kI32);
}

std::shared_ptr<AbiSignature> abi_signature(const resolved::FunctionType& type, Context context) {
  auto signature = std::make_shared<AbiSignature>();
  signature->flat = flatten_function(type, context);
  for (const auto& p : type.params) signature->param_types.push_back(p.type);
  if (type.result) signature->result_types.push_back(*type.result);
  return signature;
}

FlatSignature flatten_function(const resolved::FunctionType& type, Context context) {
  FlatSignature s;
  std::vector<ValType> params;
  bool fits = true;
  for (const auto& p : type.params) {
    if (!flatten(p.type, params, kMaxFlatParams)) {
      fits = false;
      break;
    }
  }
  if (fits) {
    s.core.params = std::move(params);
  } else {
    s.params_in_memory = true;
    s.core.params = {ValType::kI32};
  }
  if (type.result) {
    std::vector<ValType> results;
    if (flatten(*type.result, results, kMaxFlatResults)) {
      s.core.results = std::move(results);
    } else {
      s.results_in_memory = true;
      if (context == Context::kLift) {
        s.core.results = {ValType::kI32};
      } else {
        s.core.params.push_back(ValType::kI32);
      }
    }
  }
  return s;
}

bool contains_borrow(const ValueType& type) {
  return type.defined && type.defined->has_borrow;
}

bool contains_string_or_list(const ValueType& type) {
  return type.defined ? type.defined->has_string_or_list : type.primitive == PrimitiveType::kString;
}

bool contains_async_value(const ValueType& type) {
  return type.defined ? type.defined->has_async_value
                      : type.primitive == PrimitiveType::kErrorContext;
}

}  // namespace kiln::component::abi
