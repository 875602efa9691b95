#include "component/canonical_abi.h"

#include <cmath>
#include <cstring>

#include "component/abi_layout.h"
#include "component/component_instance.h"
#include "component/unicode.h"

namespace kiln::component {

namespace {

using resolved::DefinedType;
using resolved::ValueType;
using Kind = DefinedType::Kind;
using VKind = ComponentValue::Kind;
using abi::align_to;
using abi::case_types;
using abi::field_types;
using abi::flags_size;
using abi::max_case_alignment;
using resolved::primitive_of;

// CanonicalABI.md MAX_STRING_BYTE_LENGTH and MAX_LIST_BYTE_LENGTH.
constexpr uint64_t kMaxStringByteLength = (uint64_t{1} << 28) - 1;
constexpr uint64_t kMaxListByteLength = (uint64_t{1} << 28) - 1;
constexpr uint64_t kUtf16Tag = uint64_t{1} << 31;
constexpr uint64_t kReallocMax = 0xffffffffu;

uint64_t memory_size(AbiContext& cx) {
  return cx.options.memory ? cx.options.memory->memory->size_bytes() : 0;
}
uint8_t* memory_base(AbiContext& cx) {
  return cx.options.memory->memory->base();
}

// [pointer, pointer + length) lies in the memory.
bool in_bounds(AbiContext& cx, uint64_t pointer, uint64_t length) {
  return cx.options.memory && pointer <= memory_size(cx) && length <= memory_size(cx) - pointer;
}

uint64_t read_int(AbiContext& cx, uint64_t pointer, uint32_t bytes) {
  uint64_t v = 0;
  std::memcpy(&v, memory_base(cx) + pointer, bytes);  // little-endian host (x86-64, ARM64)
  return v;
}

void write_int(AbiContext& cx, uint64_t pointer, uint64_t value, uint32_t bytes) {
  std::memcpy(memory_base(cx) + pointer, &value, bytes);
}

// Size and alignment of a sequence of types as a tuple (parameters or results in memory); the
// offsets are walked by next_field_offset.
struct TupleLayout {
  uint64_t size = 0;
  uint32_t alignment = 1;
};
TupleLayout tuple_layout(const std::vector<ValueType>& types) {
  TupleLayout l;
  if (types.size() == 1) {  // a function's result, or one parameter: no loop
    l.alignment = abi::alignment(types[0]);
    l.size = align_to(abi::element_size(types[0]), l.alignment);
    return l;
  }
  for (const ValueType& t : types) {
    const uint32_t a = abi::alignment(t);
    l.alignment = std::max(l.alignment, a);
    l.size = align_to(l.size, a) + abi::element_size(t);
  }
  l.size = align_to(l.size, l.alignment);
  return l;
}
// The offset of the field of type `t` that follows `end` (the end of the previous field).
uint64_t next_field_offset(uint64_t end, const ValueType& t) {
  return align_to(end, abi::alignment(t));
}

VKind variant_value_kind(Kind k) {
  switch (k) {
    case Kind::kOption:
      return VKind::kOption;
    case Kind::kResult:
      return VKind::kResult;
    case Kind::kEnum:
      return VKind::kEnum;
    default:
      return VKind::kVariant;
  }
}
uint64_t flags_mask(size_t labels) {
  return labels >= 64 ? ~uint64_t{0} : (uint64_t{1} << labels) - 1;
}

float canonical_f32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  if (std::isnan(f)) {
    const uint32_t canonical = 0x7fc00000;
    std::memcpy(&f, &canonical, 4);
  }
  return f;
}
double canonical_f64(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  if (std::isnan(d)) {
    const uint64_t canonical = 0x7ff8000000000000;
    std::memcpy(&d, &canonical, 8);
  }
  return d;
}
uint32_t f32_bits(float f) {
  if (std::isnan(f)) return 0x7fc00000;
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
uint64_t f64_bits(double d) {
  if (std::isnan(d)) return 0x7ff8000000000000;
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// ---- allocation ----

// cx.reallocate: realloc is called with may_leave cleared (CanonicalABI.md).
TrapPtr reallocate(AbiContext& cx, uint32_t old_pointer, uint32_t old_size, uint32_t alignment,
                   uint32_t new_size, uint32_t& out) {
  if (!cx.options.realloc) return abi_trap("no `realloc` to allocate with");
  uint64_t cells[4] = {old_pointer, old_size, alignment, new_size};
  cx.instance.may_leave = false;
  TrapPtr trap = cx.store.invoke(cx.options.realloc, cells);
  cx.instance.may_leave = true;
  if (trap) return trap;
  out = static_cast<uint32_t>(cells[0]);
  return nullptr;
}

TrapPtr allocate(AbiContext& cx, uint32_t alignment, uint64_t size, uint32_t& out) {
  if (size > kReallocMax) return abi_trap("allocation too large for a 32-bit memory");
  return reallocate(cx, 0, 0, alignment, static_cast<uint32_t>(size), out);
}

// The checks on what realloc returned.
TrapPtr check_allocation(AbiContext& cx, uint64_t pointer, uint32_t alignment, uint64_t size) {
  if (pointer % alignment != 0) return abi_trap("realloc return: result not aligned");
  if (!in_bounds(cx, pointer, size)) return abi_trap("realloc return: beyond end of memory");
  return nullptr;
}

TrapPtr lift_flat(AbiContext& cx, const FlatValues& flat, size_t& pos, const ValueType& t,
                  ComponentValue& out);
TrapPtr lower_flat(AbiContext& cx, const ComponentValue& v, const ValueType& t, FlatValues& out);

// Counts `bytes` more of host memory lifted by this call (AbiContext::lifted_bytes).
TrapPtr count_lifted(AbiContext& cx, uint64_t bytes) {
  cx.lifted_bytes += bytes;
  if (cx.lifted_bytes > cx.store.limits().max_total_memory_bytes) {
    return abi_trap("values lifted past the store's memory budget");
  }
  return nullptr;
}

// ---- strings ----

// `out_of_bounds`: the trap's message (a string from flat values or from memory: the messages
// wasmtime gives, which the conformance tests name).
TrapPtr load_string_from_range(AbiContext& cx, uint64_t pointer, uint64_t tagged_units,
                               ComponentValue& out,
                               const char* out_of_bounds = "string content out-of-bounds") {
  uint32_t alignment = 1;
  uint64_t byte_length = tagged_units;
  int encoding = 0;  // 0 utf8, 1 utf16, 2 latin1
  switch (cx.options.encoding) {
    case CanonOptions::StringEncoding::kUtf8:
      break;
    case CanonOptions::StringEncoding::kUtf16:
      alignment = 2;
      byte_length = 2 * tagged_units;
      encoding = 1;
      break;
    case CanonOptions::StringEncoding::kLatin1Utf16:
      alignment = 2;
      if (tagged_units & kUtf16Tag) {
        byte_length = 2 * (tagged_units ^ kUtf16Tag);
        encoding = 1;
      } else {
        encoding = 2;
      }
      break;
  }
  if (byte_length > kMaxStringByteLength) return abi_trap("string content out-of-bounds");
  if (pointer % alignment != 0) return abi_trap("unaligned pointer");
  if (!in_bounds(cx, pointer, byte_length)) return abi_trap(out_of_bounds);
  // UTF-8 takes at most 3 bytes for 2 of UTF-16 and 2 for 1 of Latin-1.
  if (TrapPtr t = count_lifted(cx, encoding == 0 ? byte_length : 2 * byte_length)) return t;
  const uint8_t* p = memory_base(cx) + pointer;
  // Lifted into `out` in place (a fresh value: lifting fills default-constructed ones).
  out.kind = VKind::kString;
  out.text.clear();
  if (encoding == 0) {
    if (auto fault = validate_utf8(p, byte_length)) return abi_trap(*fault);
    out.text.assign(reinterpret_cast<const char*>(p), byte_length);
  } else if (encoding == 1) {
    if (auto fault = utf16_to_utf8(p, byte_length / 2, out.text)) return abi_trap(*fault);
  } else {
    std::vector<char32_t> cps(p, p + byte_length);
    out.text = encode_utf8(cps);
  }
  out.source_encoding = static_cast<uint8_t>(cx.options.encoding);
  out.source_code_units = tagged_units;
  return nullptr;
}

// store_string_copy: the destination size is known up front.
TrapPtr store_string_copy(AbiContext& cx, const uint8_t* encoded, size_t size, uint64_t code_units,
                          uint32_t alignment, uint32_t& pointer, uint64_t& units_out) {
  uint32_t p = 0;
  if (TrapPtr t = allocate(cx, alignment, size, p)) return t;
  if (TrapPtr t = check_allocation(cx, p, alignment, size)) return t;
  if (size) std::memcpy(memory_base(cx) + p, encoded, size);
  pointer = p;
  units_out = code_units;
  return nullptr;
}

TrapPtr store_string_to_utf8(AbiContext& cx, const std::vector<char32_t>& src, uint64_t src_units,
                             uint64_t worst_case, uint32_t& pointer, uint64_t& units_out) {
  uint32_t p = 0;
  if (TrapPtr t = allocate(cx, 1, src_units, p)) return t;
  if (!in_bounds(cx, p, src_units)) return abi_trap("realloc return: beyond end of memory");
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] < 0x80) {
      if (i >= src_units) return abi_trap("string longer than its code units say");
      memory_base(cx)[p + i] = static_cast<uint8_t>(src[i]);
      continue;
    }
    if (worst_case > kReallocMax) return abi_trap("allocation too large for a 32-bit memory");
    if (TrapPtr t = reallocate(cx, p, static_cast<uint32_t>(src_units), 1,
                               static_cast<uint32_t>(worst_case), p)) {
      return t;
    }
    if (!in_bounds(cx, p, worst_case)) return abi_trap("realloc return: beyond end of memory");
    const std::string encoded = encode_utf8(src);
    if (encoded.size() > worst_case) return abi_trap("string longer than its code units say");
    std::memcpy(memory_base(cx) + p + i, encoded.data() + i, encoded.size() - i);
    if (worst_case > encoded.size()) {
      if (TrapPtr t = reallocate(cx, p, static_cast<uint32_t>(worst_case), 1,
                                 static_cast<uint32_t>(encoded.size()), p)) {
        return t;
      }
      if (!in_bounds(cx, p, encoded.size())) {
        return abi_trap("realloc return: beyond end of memory");
      }
    }
    pointer = p;
    units_out = encoded.size();
    return nullptr;
  }
  pointer = p;
  units_out = src_units;
  return nullptr;
}

TrapPtr store_utf8_to_utf16(AbiContext& cx, const std::string& src, uint64_t src_units,
                            uint32_t& pointer, uint64_t& units_out) {
  const uint64_t worst_case = 2 * src_units;
  uint32_t p = 0;
  if (TrapPtr t = allocate(cx, 2, worst_case, p)) return t;
  if (TrapPtr t = check_allocation(cx, p, 2, worst_case)) return t;
  // Written straight into the allocation: UTF-16 takes at most two bytes per UTF-8 byte.
  if (src.size() != src_units) return abi_trap("string longer than its code units say");
  const size_t written = utf8_to_utf16_into(src, memory_base(cx) + p);
  if (written < worst_case) {
    if (TrapPtr t = reallocate(cx, p, static_cast<uint32_t>(worst_case), 2,
                               static_cast<uint32_t>(written), p)) {
      return t;
    }
    if (TrapPtr t = check_allocation(cx, p, 2, written)) return t;
  }
  pointer = p;
  units_out = written / 2;
  return nullptr;
}

TrapPtr store_string_to_latin1_or_utf16(AbiContext& cx, const std::vector<char32_t>& src,
                                        uint64_t src_units, uint32_t& pointer,
                                        uint64_t& units_out) {
  uint32_t p = 0;
  if (TrapPtr t = allocate(cx, 2, src_units, p)) return t;
  if (TrapPtr t = check_allocation(cx, p, 2, src_units)) return t;
  uint64_t length = 0;
  for (char32_t c : src) {
    if (c < 0x100) {
      if (length >= src_units) return abi_trap("string longer than its code units say");
      memory_base(cx)[p + length++] = static_cast<uint8_t>(c);
      continue;
    }
    const uint64_t worst_case = 2 * src_units;
    if (TrapPtr t = reallocate(cx, p, static_cast<uint32_t>(src_units), 2,
                               static_cast<uint32_t>(worst_case), p)) {
      return t;
    }
    if (TrapPtr t = check_allocation(cx, p, 2, worst_case)) return t;
    uint8_t* m = memory_base(cx) + p;
    for (uint64_t j = length; j-- > 0;) {
      m[2 * j] = m[j];
      m[2 * j + 1] = 0;
    }
    const std::vector<uint8_t> encoded = encode_utf16(src);
    if (encoded.size() > worst_case) return abi_trap("string longer than its code units say");
    std::memcpy(m + 2 * length, encoded.data() + 2 * length, encoded.size() - 2 * length);
    if (worst_case > encoded.size()) {
      if (TrapPtr t = reallocate(cx, p, static_cast<uint32_t>(worst_case), 2,
                                 static_cast<uint32_t>(encoded.size()), p)) {
        return t;
      }
      if (TrapPtr t = check_allocation(cx, p, 2, encoded.size())) return t;
    }
    pointer = p;
    units_out = (encoded.size() / 2) | kUtf16Tag;
    return nullptr;
  }
  if (length < src_units) {
    if (TrapPtr t = reallocate(cx, p, static_cast<uint32_t>(src_units), 2,
                               static_cast<uint32_t>(length), p)) {
      return t;
    }
    if (TrapPtr t = check_allocation(cx, p, 2, length)) return t;
  }
  pointer = p;
  units_out = length;
  return nullptr;
}

TrapPtr store_probably_utf16_to_latin1_or_utf16(AbiContext& cx, const std::vector<char32_t>& src,
                                                uint64_t src_units, uint32_t& pointer,
                                                uint64_t& units_out) {
  const uint64_t src_bytes = 2 * src_units;
  uint32_t p = 0;
  if (TrapPtr t = allocate(cx, 2, src_bytes, p)) return t;
  if (TrapPtr t = check_allocation(cx, p, 2, src_bytes)) return t;
  const std::vector<uint8_t> encoded = encode_utf16(src);
  if (encoded.size() > src_bytes) return abi_trap("string longer than its code units say");
  uint8_t* m = memory_base(cx) + p;
  if (!encoded.empty()) std::memcpy(m, encoded.data(), encoded.size());
  for (char32_t c : src) {
    if (c >= 0x100) {
      pointer = p;
      units_out = (encoded.size() / 2) | kUtf16Tag;
      return nullptr;
    }
  }
  const uint64_t latin1_size = encoded.size() / 2;
  for (uint64_t i = 0; i < latin1_size; ++i) m[i] = m[2 * i];
  if (TrapPtr t = reallocate(cx, p, static_cast<uint32_t>(src_bytes), 1,
                             static_cast<uint32_t>(latin1_size), p)) {
    return t;
  }
  if (!in_bounds(cx, p, latin1_size)) return abi_trap("realloc return: beyond end of memory");
  pointer = p;
  units_out = latin1_size;
  return nullptr;
}

// store_string_into_range: picks the algorithm by the source's and the destination's
// encodings (CanonicalABI.md), so that realloc is called as the spec calls it.
TrapPtr store_string_into_range(AbiContext& cx, const ComponentValue& v, uint32_t& pointer,
                                uint64_t& units_out) {
  // The text is valid UTF-8 (value_matches checks a host's; lifting checks a guest's). Its
  // code points are decoded only for the transcodings that need them.
  std::vector<char32_t> src;
  auto code_points = [&]() -> const std::vector<char32_t>& {
    if (src.empty() && !v.text.empty()) {
      decode_utf8(reinterpret_cast<const uint8_t*>(v.text.data()), v.text.size(), src);
    }
    return src;
  };
  using E = CanonOptions::StringEncoding;
  const E src_encoding = static_cast<E>(v.source_encoding);
  E simple = src_encoding;  // kLatin1Utf16 below means plain latin1
  uint64_t src_units = v.source_code_units;
  bool src_latin1 = false;
  if (src_encoding == E::kLatin1Utf16) {
    if (src_units & kUtf16Tag) {
      simple = E::kUtf16;
      src_units ^= kUtf16Tag;
    } else {
      src_latin1 = true;
    }
  }
  // A UTF-8 source's code units are its bytes (a value built without the hint still works).
  if (src_encoding == E::kUtf8) src_units = v.text.size();
  if (src_units > kMaxStringByteLength) return abi_trap("string too large");
  auto latin1 = [&]() {
    std::vector<uint8_t> out;
    for (char32_t c : code_points()) out.push_back(static_cast<uint8_t>(c));
    return out;
  };
  switch (cx.options.encoding) {
    case E::kUtf8:
      if (src_latin1) {
        return store_string_to_utf8(cx, code_points(), src_units, 2 * src_units, pointer,
                                    units_out);
      }
      if (simple == E::kUtf16) {
        return store_string_to_utf8(cx, code_points(), src_units, 3 * src_units, pointer,
                                    units_out);
      }
      if (v.text.size() != src_units) return abi_trap("string longer than its code units say");
      return store_string_copy(cx, reinterpret_cast<const uint8_t*>(v.text.data()), v.text.size(),
                               src_units, 1, pointer, units_out);
    case E::kUtf16:
      if (src_latin1 || simple == E::kUtf16) {
        const std::vector<uint8_t> encoded = utf8_to_utf16(v.text);
        if (encoded.size() != 2 * src_units) {
          return abi_trap("string longer than its code units say");
        }
        return store_string_copy(cx, encoded.data(), encoded.size(), src_units, 2, pointer,
                                 units_out);
      }
      return store_utf8_to_utf16(cx, v.text, src_units, pointer, units_out);
    case E::kLatin1Utf16:
      if (src_encoding != E::kLatin1Utf16) {
        return store_string_to_latin1_or_utf16(cx, code_points(), src_units, pointer, units_out);
      }
      if (src_latin1) {
        const std::vector<uint8_t> bytes = latin1();
        if (bytes.size() != src_units) return abi_trap("string longer than its code units say");
        return store_string_copy(cx, bytes.data(), bytes.size(), src_units, 2, pointer, units_out);
      }
      return store_probably_utf16_to_latin1_or_utf16(cx, code_points(), src_units, pointer,
                                                     units_out);
  }
  return nullptr;
}

// ---- handles ----

TrapPtr expected_resource(AbiContext& cx, const DefinedType& t, const RuntimeResourceType*& out) {
  auto it = cx.instance.resources.find(t.resource);
  if (it == cx.instance.resources.end()) {
    return abi_trap("a handle of a resource type this instance does not know");
  }
  out = it->second;
  return nullptr;
}

std::string wrong_type(uint32_t index) {
  return "handle index " + std::to_string(index) +
         " used with the wrong type, expected guest-defined resource but found a different "
         "guest-defined resource";
}

TrapPtr lift_own(AbiContext& cx, uint32_t index, const DefinedType& t, ComponentValue& out) {
  const RuntimeResourceType* rt = nullptr;
  if (TrapPtr trap = expected_resource(cx, t, rt)) return trap;
  ResourceHandle* h = nullptr;
  if (TrapPtr trap = cx.instance.handles.get(index, h)) return trap;
  if (h->type != rt) return abi_trap(wrong_type(index));
  if (h->lends != 0) return abi_trap("cannot remove owned resource while borrowed");
  if (!h->own)
    return abi_trap("handle index " + std::to_string(index) + " is a borrow, not an own");
  ResourceHandle removed;
  if (TrapPtr trap = cx.instance.handles.remove(index, removed)) return trap;
  out = ComponentValue{};
  out.kind = VKind::kOwn;
  out.resource = rt;
  out.rep = removed.rep;
  return nullptr;
}

TrapPtr lift_borrow(AbiContext& cx, uint32_t index, const DefinedType& t, ComponentValue& out) {
  const RuntimeResourceType* rt = nullptr;
  if (TrapPtr trap = expected_resource(cx, t, rt)) return trap;
  ResourceHandle* h = nullptr;
  if (TrapPtr trap = cx.instance.handles.get(index, h)) return trap;
  if (h->type != rt) return abi_trap(wrong_type(index));
  if (cx.scope) {
    h->lends += 1;
    cx.scope->lend(&cx.instance, index);
  }
  out = ComponentValue{};
  out.kind = VKind::kBorrow;
  out.resource = rt;
  out.rep = h->rep;
  return nullptr;
}

TrapPtr lower_own(AbiContext& cx, const ComponentValue& v, uint32_t& index) {
  ResourceHandle h;
  h.type = v.resource;
  h.rep = v.rep;
  h.own = true;
  return cx.instance.handles.add(h, index, *cx.instance.store);
}

TrapPtr lower_borrow(AbiContext& cx, const ComponentValue& v, uint32_t& index) {
  if (v.resource && v.resource->implementation == &cx.instance) {
    index = v.rep;  // the implementation gets the representation itself
    return nullptr;
  }
  ResourceHandle h;
  h.type = v.resource;
  h.rep = v.rep;
  h.own = false;
  h.borrow_scope = cx.scope;
  if (cx.scope) cx.scope->borrows += 1;
  return cx.instance.handles.add(h, index, *cx.instance.store);
}

// ---- lists ----

// An element type that lists move without per-element dispatch: a primitive that is neither a
// char (validated) nor a string.
std::optional<PrimitiveType> plain_element(const ValueType& t) {
  auto p = primitive_of(t);
  if (!p || *p == PrimitiveType::kChar || *p == PrimitiveType::kString ||
      *p == PrimitiveType::kErrorContext) {
    return std::nullopt;
  }
  return p;
}

ComponentValue primitive_value(PrimitiveType p, uint64_t raw);
uint64_t primitive_raw(const ComponentValue& v);
uint32_t primitive_width(PrimitiveType p);

TrapPtr load_list_from_range(AbiContext& cx, uint64_t pointer, uint64_t length,
                             const ValueType& element, ComponentValue& out) {
  const uint64_t size = abi::element_size(element);
  if (length > 0 && size > kMaxListByteLength / length) {
    return abi_trap("list content out-of-bounds");
  }
  if (pointer % abi::alignment(element) != 0) return abi_trap("unaligned pointer");
  if (!in_bounds(cx, pointer, length * size)) return abi_trap("list content out-of-bounds");
  out = ComponentValue{};
  out.kind = VKind::kList;
  const std::optional<PrimitiveType> plain = plain_element(element);
  const bool packed = plain && (*plain == PrimitiveType::kU8 || *plain == PrimitiveType::kS8);
  if (TrapPtr t = count_lifted(cx, length * (packed ? 1 : sizeof(ComponentValue)))) return t;
  if (packed) {
    // list<u8> and list<s8>: packed, one copy.
    out = ComponentValue::bytes(
        std::string(reinterpret_cast<const char*>(memory_base(cx) + pointer), length),
        *plain == PrimitiveType::kU8 ? VKind::kU8 : VKind::kS8);
    return nullptr;
  }
  if (plain) {
    out.items.reserve(length);
    const uint32_t width = primitive_width(*plain);
    for (uint64_t i = 0; i < length; ++i) {
      out.items.push_back(primitive_value(*plain, read_int(cx, pointer + i * size, width)));
    }
    return nullptr;
  }
  out.items.resize(length);
  for (uint64_t i = 0; i < length; ++i) {
    if (TrapPtr t = load(cx, static_cast<uint32_t>(pointer + i * size), element, out.items[i])) {
      return t;
    }
  }
  return nullptr;
}

TrapPtr store_list_into_range(AbiContext& cx, const ComponentValue& v, const ValueType& element,
                              uint32_t& pointer) {
  if (v.packed && abi::element_size(element) != 1) {  // value_matches refuses this; be safe
    ComponentValue unpacked = v;
    unpacked.unpack();
    return store_list_into_range(cx, unpacked, element, pointer);
  }
  const uint64_t size = abi::element_size(element);
  const size_t count = v.list_size();
  const uint64_t bytes = count * size;
  const uint32_t alignment = abi::alignment(element);
  if (count > 0 && size > kReallocMax / count) {
    return abi_trap("list too large for a 32-bit memory");
  }
  if (TrapPtr t = allocate(cx, alignment, bytes, pointer)) return t;
  if (pointer % alignment != 0) return abi_trap("unaligned pointer");
  if (!in_bounds(cx, pointer, bytes)) return abi_trap("list content out-of-bounds");
  if (v.packed) {
    if (count) std::memcpy(memory_base(cx) + pointer, v.text.data(), count);
    return nullptr;
  }
  if (auto p = plain_element(element)) {
    const uint32_t width = primitive_width(*p);
    uint8_t* base = memory_base(cx) + pointer;
    if (width == 1) {
      for (size_t i = 0; i < v.items.size(); ++i) base[i] = static_cast<uint8_t>(v.items[i].bits);
    } else {
      for (size_t i = 0; i < v.items.size(); ++i) {
        const uint64_t raw = primitive_raw(v.items[i]);
        std::memcpy(base + i * width, &raw, width);
      }
    }
    return nullptr;
  }
  for (size_t i = 0; i < v.items.size(); ++i) {
    if (TrapPtr t = store(cx, v.items[i], element, static_cast<uint32_t>(pointer + i * size))) {
      return t;
    }
  }
  return nullptr;
}

// The element type of a list or map (a map's element is its (key, value) tuple: despecialize).
ValueType list_element(const DefinedType& t) {
  if (t.kind != Kind::kMap) return t.types[0];
  auto tuple = std::make_shared<DefinedType>();
  tuple->kind = Kind::kTuple;
  tuple->types = t.types;
  abi::finish_defined_type(*tuple);
  return ValueType{PrimitiveType::kBool, std::move(tuple)};
}

// ---- lifting and lowering one value ----

ComponentValue primitive_value(PrimitiveType p, uint64_t raw) {
  switch (p) {
    case PrimitiveType::kBool:
      return ComponentValue::integer(VKind::kBool, raw != 0);
    case PrimitiveType::kU8:
      return ComponentValue::integer(VKind::kU8, raw & 0xff);
    case PrimitiveType::kS8:
      return ComponentValue::integer(
          VKind::kS8, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(raw))));
    case PrimitiveType::kU16:
      return ComponentValue::integer(VKind::kU16, raw & 0xffff);
    case PrimitiveType::kS16:
      return ComponentValue::integer(
          VKind::kS16, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(raw))));
    case PrimitiveType::kU32:
      return ComponentValue::integer(VKind::kU32, raw & 0xffffffffu);
    case PrimitiveType::kS32:
      return ComponentValue::integer(
          VKind::kS32, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(raw))));
    case PrimitiveType::kU64:
      return ComponentValue::integer(VKind::kU64, raw);
    case PrimitiveType::kS64:
      return ComponentValue::integer(VKind::kS64, raw);
    case PrimitiveType::kF32: {
      ComponentValue v;
      v.kind = VKind::kF32;
      v.f32 = canonical_f32(static_cast<uint32_t>(raw));
      return v;
    }
    case PrimitiveType::kF64: {
      ComponentValue v;
      v.kind = VKind::kF64;
      v.f64 = canonical_f64(raw);
      return v;
    }
    default:
      return ComponentValue{};
  }
}

TrapPtr char_value(uint64_t raw, ComponentValue& out) {
  const uint32_t c = static_cast<uint32_t>(raw);
  if (c >= 0x110000 || (c >= 0xd800 && c <= 0xdfff)) return abi_trap("invalid `char` bit pattern");
  out = ComponentValue::integer(VKind::kChar, c);
  return nullptr;
}

uint64_t primitive_raw(const ComponentValue& v) {
  switch (v.kind) {
    case VKind::kF32:
      return f32_bits(v.f32);
    case VKind::kF64:
      return f64_bits(v.f64);
    case VKind::kS8:
    case VKind::kS16:
    case VKind::kS32:
      return static_cast<uint32_t>(v.bits);
    case VKind::kU8:
      return v.bits & 0xff;
    case VKind::kU16:
      return v.bits & 0xffff;
    case VKind::kU32:
      return v.bits & 0xffffffffu;
    default:
      return v.bits;
  }
}

// A (non-string) primitive's size in memory: the layout's element size.
uint32_t primitive_width(PrimitiveType p) {
  return static_cast<uint32_t>(abi::element_size(ValueType{p, nullptr}));
}

TrapPtr lift_flat(AbiContext& cx, const FlatValues& flat, size_t& pos, const ValueType& t,
                  ComponentValue& out) {
  auto next = [&]() -> uint64_t { return pos < flat.size() ? flat[pos++] : 0; };
  if (auto p = primitive_of(t)) {
    switch (*p) {
      case PrimitiveType::kChar:
        return char_value(next(), out);
      case PrimitiveType::kString: {
        const uint64_t pointer = static_cast<uint32_t>(next());
        const uint64_t units = static_cast<uint32_t>(next());
        return load_string_from_range(cx, pointer, units, out);
      }
      case PrimitiveType::kErrorContext:
        return abi_trap("error-context values are not supported yet");
      default:
        out = primitive_value(*p, next());
        return nullptr;
    }
  }
  const DefinedType& d = *t.defined;
  switch (d.kind) {
    case Kind::kList:
    case Kind::kMap: {
      const uint64_t pointer = static_cast<uint32_t>(next());
      const uint64_t length = static_cast<uint32_t>(next());
      return load_list_from_range(cx, pointer, length, list_element(d), out);
    }
    case Kind::kFixedList:
      out = ComponentValue{};
      out.kind = VKind::kList;
      out.items.resize(d.length);
      for (uint32_t i = 0; i < d.length; ++i) {
        if (TrapPtr trap = lift_flat(cx, flat, pos, d.types[0], out.items[i])) return trap;
      }
      return nullptr;
    case Kind::kRecord:
    case Kind::kTuple: {
      out = ComponentValue{};
      out.kind = d.kind == Kind::kRecord ? VKind::kRecord : VKind::kTuple;
      const auto fields = field_types(d);
      out.items.resize(fields.size());
      for (size_t i = 0; i < fields.size(); ++i) {
        if (TrapPtr trap = lift_flat(cx, flat, pos, *fields[i], out.items[i])) return trap;
      }
      return nullptr;
    }
    case Kind::kFlags:
      out = ComponentValue::integer(VKind::kFlags, next() & flags_mask(d.labels.size()));
      return nullptr;
    case Kind::kOwn:
      return lift_own(cx, static_cast<uint32_t>(next()), d, out);
    case Kind::kBorrow:
      return lift_borrow(cx, static_cast<uint32_t>(next()), d, out);
    case Kind::kStream:
    case Kind::kFuture:
      return abi_trap("streams and futures are not supported yet");
    case Kind::kPrimitive:
      return nullptr;  // handled above
    default:
      break;
  }
  // Variant-like: the discriminant, the case's payload, then what the join leaves unused.
  const auto cases = case_types(d);
  const size_t slots = abi::flat_count(t) - 1;
  const uint64_t index = static_cast<uint32_t>(next());
  if (index >= cases.size()) return abi_trap("invalid variant discriminant");
  out = ComponentValue{};
  out.kind = variant_value_kind(d.kind);
  out.index = static_cast<uint32_t>(index);
  const size_t start = pos;
  if (cases[index]) {
    out.items.resize(1);
    if (TrapPtr trap = lift_flat(cx, flat, pos, *cases[index], out.items[0])) return trap;
  }
  pos = start + slots;
  return nullptr;
}

TrapPtr lower_flat(AbiContext& cx, const ComponentValue& v, const ValueType& t, FlatValues& out) {
  if (auto p = primitive_of(t)) {
    if (*p == PrimitiveType::kString) {
      uint32_t pointer = 0;
      uint64_t units = 0;
      if (TrapPtr trap = store_string_into_range(cx, v, pointer, units)) return trap;
      out.push_back(pointer);
      out.push_back(static_cast<uint32_t>(units));
      return nullptr;
    }
    out.push_back(primitive_raw(v));
    return nullptr;
  }
  const DefinedType& d = *t.defined;
  switch (d.kind) {
    case Kind::kList:
    case Kind::kMap: {
      uint32_t pointer = 0;
      if (TrapPtr trap = store_list_into_range(cx, v, list_element(d), pointer)) return trap;
      out.push_back(pointer);
      out.push_back(v.list_size());
      return nullptr;
    }
    case Kind::kFixedList:
      for (const ComponentValue& item : v.items) {
        if (TrapPtr trap = lower_flat(cx, item, d.types[0], out)) return trap;
      }
      return nullptr;
    case Kind::kRecord:
    case Kind::kTuple: {
      const auto fields = field_types(d);
      for (size_t i = 0; i < fields.size(); ++i) {
        if (TrapPtr trap = lower_flat(cx, v.items[i], *fields[i], out)) return trap;
      }
      return nullptr;
    }
    case Kind::kFlags:
      out.push_back(v.bits);
      return nullptr;
    case Kind::kOwn: {
      uint32_t index = 0;
      if (TrapPtr trap = lower_own(cx, v, index)) return trap;
      out.push_back(index);
      return nullptr;
    }
    case Kind::kBorrow: {
      uint32_t index = 0;
      if (TrapPtr trap = lower_borrow(cx, v, index)) return trap;
      out.push_back(index);
      return nullptr;
    }
    case Kind::kStream:
    case Kind::kFuture:
      return abi_trap("streams and futures are not supported yet");
    case Kind::kPrimitive:
      return nullptr;
    default:
      break;
  }
  const auto cases = case_types(d);
  const size_t slots = abi::flat_count(t) - 1;
  out.push_back(v.index);
  const size_t start = out.size();
  if (v.index < cases.size() && cases[v.index] && !v.items.empty()) {
    if (TrapPtr trap = lower_flat(cx, v.items[0], *cases[v.index], out)) return trap;
  }
  out.resize(start + slots);
  return nullptr;
}

}  // namespace

TrapPtr abi_trap(std::string message) {
  auto trap = std::make_unique<Trap>();
  trap->code = TrapCode::kHostError;
  trap->message = std::move(message);
  return trap;
}

TrapPtr load(AbiContext& cx, uint32_t pointer, const resolved::ValueType& t, ComponentValue& out) {
  if (auto p = primitive_of(t)) {
    switch (*p) {
      case PrimitiveType::kChar:
        return char_value(read_int(cx, pointer, 4), out);
      case PrimitiveType::kString: {
        const uint64_t begin = read_int(cx, pointer, 4);
        const uint64_t units = read_int(cx, pointer + 4, 4);
        return load_string_from_range(cx, begin, units, out,
                                      "string pointer/length out of bounds of memory");
      }
      case PrimitiveType::kErrorContext:
        return abi_trap("error-context values are not supported yet");
      default:
        out = primitive_value(*p, read_int(cx, pointer, primitive_width(*p)));
        return nullptr;
    }
  }
  const DefinedType& d = *t.defined;
  switch (d.kind) {
    case Kind::kList:
    case Kind::kMap:
      return load_list_from_range(cx, read_int(cx, pointer, 4), read_int(cx, pointer + 4, 4),
                                  list_element(d), out);
    case Kind::kFixedList: {
      out = ComponentValue{};
      out.kind = VKind::kList;
      out.items.resize(d.length);
      const uint64_t size = abi::element_size(d.types[0]);
      for (uint32_t i = 0; i < d.length; ++i) {
        if (TrapPtr trap =
                load(cx, static_cast<uint32_t>(pointer + i * size), d.types[0], out.items[i])) {
          return trap;
        }
      }
      return nullptr;
    }
    case Kind::kRecord:
    case Kind::kTuple: {
      out = ComponentValue{};
      out.kind = d.kind == Kind::kRecord ? VKind::kRecord : VKind::kTuple;
      const auto fields = field_types(d);
      out.items.resize(fields.size());
      uint64_t offset = pointer;
      for (size_t i = 0; i < fields.size(); ++i) {
        offset = align_to(offset, abi::alignment(*fields[i]));
        if (TrapPtr trap = load(cx, static_cast<uint32_t>(offset), *fields[i], out.items[i]))
          return trap;
        offset += abi::element_size(*fields[i]);
      }
      return nullptr;
    }
    case Kind::kFlags:
      out = ComponentValue::integer(
          VKind::kFlags,
          read_int(cx, pointer, flags_size(d.labels.size())) & flags_mask(d.labels.size()));
      return nullptr;
    case Kind::kOwn:
      return lift_own(cx, static_cast<uint32_t>(read_int(cx, pointer, 4)), d, out);
    case Kind::kBorrow:
      return lift_borrow(cx, static_cast<uint32_t>(read_int(cx, pointer, 4)), d, out);
    case Kind::kStream:
    case Kind::kFuture:
      return abi_trap("streams and futures are not supported yet");
    case Kind::kPrimitive:
      return nullptr;
    default:
      break;
  }
  const auto cases = case_types(d);
  const uint32_t discriminant = abi::discriminant_size(cases.size());
  const uint64_t index = read_int(cx, pointer, discriminant);
  if (index >= cases.size()) return abi_trap("invalid variant discriminant");
  out = ComponentValue{};
  out.kind = variant_value_kind(d.kind);
  out.index = static_cast<uint32_t>(index);
  if (cases[index]) {
    out.items.resize(1);
    const uint64_t payload = align_to(pointer + discriminant, max_case_alignment(cases));
    return load(cx, static_cast<uint32_t>(payload), *cases[index], out.items[0]);
  }
  return nullptr;
}

TrapPtr store(AbiContext& cx, const ComponentValue& v, const resolved::ValueType& t,
              uint32_t pointer) {
  if (auto p = primitive_of(t)) {
    if (*p == PrimitiveType::kString) {
      uint32_t begin = 0;
      uint64_t units = 0;
      if (TrapPtr trap = store_string_into_range(cx, v, begin, units)) return trap;
      write_int(cx, pointer, begin, 4);
      write_int(cx, pointer + 4, units, 4);
      return nullptr;
    }
    write_int(cx, pointer, primitive_raw(v), primitive_width(*p));
    return nullptr;
  }
  const DefinedType& d = *t.defined;
  switch (d.kind) {
    case Kind::kList:
    case Kind::kMap: {
      uint32_t begin = 0;
      if (TrapPtr trap = store_list_into_range(cx, v, list_element(d), begin)) return trap;
      write_int(cx, pointer, begin, 4);
      write_int(cx, pointer + 4, v.list_size(), 4);
      return nullptr;
    }
    case Kind::kFixedList: {
      const uint64_t size = abi::element_size(d.types[0]);
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (TrapPtr trap =
                store(cx, v.items[i], d.types[0], static_cast<uint32_t>(pointer + i * size))) {
          return trap;
        }
      }
      return nullptr;
    }
    case Kind::kRecord:
    case Kind::kTuple: {
      const auto fields = field_types(d);
      uint64_t offset = pointer;
      for (size_t i = 0; i < fields.size(); ++i) {
        offset = align_to(offset, abi::alignment(*fields[i]));
        if (TrapPtr trap = store(cx, v.items[i], *fields[i], static_cast<uint32_t>(offset)))
          return trap;
        offset += abi::element_size(*fields[i]);
      }
      return nullptr;
    }
    case Kind::kFlags:
      write_int(cx, pointer, v.bits, flags_size(d.labels.size()));
      return nullptr;
    case Kind::kOwn: {
      uint32_t index = 0;
      if (TrapPtr trap = lower_own(cx, v, index)) return trap;
      write_int(cx, pointer, index, 4);
      return nullptr;
    }
    case Kind::kBorrow: {
      uint32_t index = 0;
      if (TrapPtr trap = lower_borrow(cx, v, index)) return trap;
      write_int(cx, pointer, index, 4);
      return nullptr;
    }
    case Kind::kStream:
    case Kind::kFuture:
      return abi_trap("streams and futures are not supported yet");
    case Kind::kPrimitive:
      return nullptr;
    default:
      break;
  }
  const auto cases = case_types(d);
  const uint32_t discriminant = abi::discriminant_size(cases.size());
  write_int(cx, pointer, v.index, discriminant);
  if (v.index < cases.size() && cases[v.index] && !v.items.empty()) {
    const uint64_t payload = align_to(pointer + discriminant, max_case_alignment(cases));
    return store(cx, v.items[0], *cases[v.index], static_cast<uint32_t>(payload));
  }
  return nullptr;
}

TrapPtr lift_flat_values(AbiContext& cx, bool in_memory, const FlatValues& flat, size_t* position,
                         const std::vector<resolved::ValueType>& types, ComponentValue* out) {
  size_t local = 0;
  size_t& pos = position ? *position : local;
  if (!in_memory) {
    for (size_t i = 0; i < types.size(); ++i) {
      if (TrapPtr trap = lift_flat(cx, flat, pos, types[i], out[i])) return trap;
    }
    return nullptr;
  }
  const uint64_t pointer = pos < flat.size() ? static_cast<uint32_t>(flat[pos++]) : 0;
  const TupleLayout layout = tuple_layout(types);
  if (pointer % layout.alignment != 0) return abi_trap("unaligned pointer");
  if (!in_bounds(cx, pointer, layout.size)) return abi_trap("pointer out of bounds of memory");
  uint64_t end = pointer;
  for (size_t i = 0; i < types.size(); ++i) {
    const uint64_t at = next_field_offset(end, types[i]);
    if (TrapPtr trap = load(cx, static_cast<uint32_t>(at), types[i], out[i])) return trap;
    end = at + abi::element_size(types[i]);
  }
  return nullptr;
}

TrapPtr lower_flat_values(AbiContext& cx, bool in_memory, std::span<const ComponentValue> values,
                          const std::vector<resolved::ValueType>& types, FlatValues& flat,
                          std::optional<uint32_t> out_pointer) {
  if (!in_memory) {
    for (size_t i = 0; i < types.size(); ++i) {
      if (TrapPtr trap = lower_flat(cx, values[i], types[i], flat)) return trap;
    }
    return nullptr;
  }
  const TupleLayout layout = tuple_layout(types);
  uint32_t pointer = 0;
  if (out_pointer) {
    pointer = *out_pointer;
  } else {
    if (TrapPtr trap = allocate(cx, layout.alignment, layout.size, pointer)) return trap;
    flat.push_back(pointer);
  }
  if (pointer % layout.alignment != 0) return abi_trap("unaligned pointer");
  if (!in_bounds(cx, pointer, layout.size)) return abi_trap("pointer out of bounds of memory");
  uint64_t end = pointer;
  for (size_t i = 0; i < types.size(); ++i) {
    const uint64_t at = next_field_offset(end, types[i]);
    if (TrapPtr trap = store(cx, values[i], types[i], static_cast<uint32_t>(at))) return trap;
    end = at + abi::element_size(types[i]);
  }
  return nullptr;
}

bool value_matches(const ComponentValue& v, const resolved::ValueType& t) {
  if (auto p = primitive_of(t)) {
    switch (*p) {
      case PrimitiveType::kBool:
        return v.kind == VKind::kBool && v.bits <= 1;
      case PrimitiveType::kS8:
        return v.kind == VKind::kS8;
      case PrimitiveType::kU8:
        return v.kind == VKind::kU8 && v.bits <= 0xff;
      case PrimitiveType::kS16:
        return v.kind == VKind::kS16;
      case PrimitiveType::kU16:
        return v.kind == VKind::kU16 && v.bits <= 0xffff;
      case PrimitiveType::kS32:
        return v.kind == VKind::kS32;
      case PrimitiveType::kU32:
        return v.kind == VKind::kU32 && v.bits <= 0xffffffffu;
      case PrimitiveType::kS64:
        return v.kind == VKind::kS64;
      case PrimitiveType::kU64:
        return v.kind == VKind::kU64;
      case PrimitiveType::kF32:
        return v.kind == VKind::kF32;
      case PrimitiveType::kF64:
        return v.kind == VKind::kF64;
      case PrimitiveType::kChar:
        return v.kind == VKind::kChar && v.bits < 0x110000 &&
               !(v.bits >= 0xd800 && v.bits <= 0xdfff);
      case PrimitiveType::kString:
        return v.kind == VKind::kString &&
               !validate_utf8(reinterpret_cast<const uint8_t*>(v.text.data()), v.text.size());
      case PrimitiveType::kErrorContext:
        return false;
    }
  }
  const DefinedType& d = *t.defined;
  switch (d.kind) {
    case Kind::kList:
    case Kind::kMap: {
      if (v.kind != VKind::kList) return false;
      if (v.packed) {  // bytes: a list<u8> or list<s8> of the same kind
        const auto p = d.kind == Kind::kList ? primitive_of(d.types[0]) : std::nullopt;
        return p && ((*p == PrimitiveType::kU8 && v.packed_element == VKind::kU8) ||
                     (*p == PrimitiveType::kS8 && v.packed_element == VKind::kS8));
      }
      if (d.kind == Kind::kList) {
        if (auto p = plain_element(d.types[0])) {  // one kind, checked without recursion
          const VKind kind = primitive_value(*p, 0).kind;
          const uint32_t width = primitive_width(*p);
          const uint64_t limit = kind == VKind::kBool ? 1
                                 : width >= 8         ? ~uint64_t{0}
                                                      : (uint64_t{1} << (8 * width)) - 1;
          const bool is_unsigned = kind == VKind::kU8 || kind == VKind::kU16 ||
                                   kind == VKind::kU32 || kind == VKind::kBool;
          for (const ComponentValue& item : v.items) {
            if (item.kind != kind || (is_unsigned && item.bits > limit)) return false;
          }
          return true;
        }
      }
      const resolved::ValueType element = list_element(d);
      for (const ComponentValue& item : v.items) {
        if (!value_matches(item, element)) return false;
      }
      return true;
    }
    case Kind::kFixedList:
      if (v.kind != VKind::kList || v.packed || v.items.size() != d.length) return false;
      for (const ComponentValue& item : v.items) {
        if (!value_matches(item, d.types[0])) return false;
      }
      return true;
    case Kind::kRecord:
    case Kind::kTuple: {
      const auto fields = field_types(d);
      if (v.kind != (d.kind == Kind::kRecord ? VKind::kRecord : VKind::kTuple) ||
          v.items.size() != fields.size()) {
        return false;
      }
      for (size_t i = 0; i < fields.size(); ++i) {
        if (!value_matches(v.items[i], *fields[i])) return false;
      }
      return true;
    }
    case Kind::kFlags:
      return v.kind == VKind::kFlags && (v.bits & ~flags_mask(d.labels.size())) == 0;
    case Kind::kOwn:
      return v.kind == VKind::kOwn && v.resource;
    case Kind::kBorrow:
      return v.kind == VKind::kBorrow && v.resource;
    case Kind::kStream:
    case Kind::kFuture:
    case Kind::kPrimitive:
      return false;
    default:
      break;
  }
  const auto cases = case_types(d);
  if (v.kind != variant_value_kind(d.kind) || v.index >= cases.size()) return false;
  if (!cases[v.index]) return v.items.empty();
  return v.items.size() == 1 && value_matches(v.items[0], *cases[v.index]);
}

bool same_value(const ComponentValue& a, const ComponentValue& b) {
  if (a.kind != b.kind) return false;
  if (a.packed || b.packed) {  // compare element by element
    ComponentValue x = a, y = b;
    x.unpack();
    y.unpack();
    return same_value(x, y);
  }
  switch (a.kind) {
    case VKind::kF32:
      return (std::isnan(a.f32) && std::isnan(b.f32)) || a.f32 == b.f32;
    case VKind::kF64:
      return (std::isnan(a.f64) && std::isnan(b.f64)) || a.f64 == b.f64;
    case VKind::kString:
      return a.text == b.text;
    case VKind::kOwn:
    case VKind::kBorrow:
      return a.resource == b.resource && a.rep == b.rep;
    default:
      break;
  }
  if (a.bits != b.bits || a.index != b.index || a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (!same_value(a.items[i], b.items[i])) return false;
  }
  return true;
}

}  // namespace kiln::component
