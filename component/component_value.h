// A component-level value as the host sees it (CanonicalABI.md: what lifting produces and
// lowering consumes), for every WIT type. One dynamic representation; the type that gives it
// meaning travels beside it (resolved::ValueType), so a value carries no labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::component {

struct RuntimeResourceType;

struct ComponentValue {
  enum class Kind : uint8_t {
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
    kList,     // items: the elements (also fixed-length lists and maps' (key, value) tuples)
    kRecord,   // items: the fields, in the type's order
    kTuple,    // items
    kVariant,  // index: the case; items: its payload, if it has one
    kEnum,     // index
    kOption,   // index 0 none, 1 some (items: the value)
    kResult,   // index 0 ok, 1 error (items: the payload, if the case has one)
    kFlags,    // bits: flag i is bit i
    kOwn,      // resource: the handle's resource type and representation
    kBorrow,
  };
  Kind kind = Kind::kBool;
  // kBool (0/1), the integers (two's complement in 64 bits), kChar (the code point), kFlags.
  uint64_t bits = 0;
  float f32 = 0;
  double f64 = 0;
  std::string text;  // kString, as UTF-8
  // kString: how the string was held where it was lifted from, as `load_string` reports it
  // (CanonicalABI.md): the encoding (0 utf8, 1 utf16, 2 latin1+utf16) and the tagged number of
  // code units. `store_string` sizes its allocations by them; host strings are utf8.
  uint8_t source_encoding = 0;
  uint64_t source_code_units = 0;
  std::vector<ComponentValue> items;
  // kList of u8 or s8 may be packed: its elements are the bytes of `text` (`items` empty), of
  // kind `packed_element`. Lifting makes list<u8> and list<s8> packed (they move at memcpy
  // speed); hosts may build either form (ComponentValue::bytes); unpack() gives the items.
  bool packed = false;
  Kind packed_element = Kind::kU8;
  uint32_t index = 0;                             // kVariant, kEnum, kOption, kResult
  const RuntimeResourceType* resource = nullptr;  // kOwn, kBorrow
  uint32_t rep = 0;                               // kOwn, kBorrow

  static ComponentValue integer(Kind kind, uint64_t bits) {
    ComponentValue v;
    v.kind = kind;
    v.bits = bits;
    return v;
  }
  // An owning handle of a resource of `type` with representation `rep` (host resources: see
  // ComponentLinker::define_resource).
  static ComponentValue own(const RuntimeResourceType* type, uint32_t rep) {
    ComponentValue v;
    v.kind = Kind::kOwn;
    v.resource = type;
    v.rep = rep;
    return v;
  }
  // A list<u8> (or list<s8>, with kind kS8) of `bytes`, packed.
  static ComponentValue bytes(std::string bytes, Kind element = Kind::kU8) {
    ComponentValue v;
    v.kind = Kind::kList;
    v.packed = true;
    v.packed_element = element;
    v.text = std::move(bytes);
    return v;
  }
  // The number of elements of a list, packed or not.
  size_t list_size() const { return packed ? text.size() : items.size(); }
  // A packed list's elements as items (no-op for others).
  void unpack() {
    if (!packed) return;
    items.clear();
    items.reserve(text.size());
    for (unsigned char b : text) {
      const uint64_t bits =
          packed_element == Kind::kS8
              ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(b)))
              : b;
      items.push_back(integer(packed_element, bits));
    }
    text.clear();
    packed = false;
  }
  static ComponentValue string(std::string text) {
    ComponentValue v;
    v.kind = Kind::kString;
    v.source_code_units = text.size();
    v.text = std::move(text);
    return v;
  }
};

}  // namespace kiln::component
