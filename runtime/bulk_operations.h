// Bulk memory and table operators (spec 4.4.7.x, 4.4.6.x), shared by every tier: bounds are
// checked before any write, so an out-of-bounds operation changes nothing. Operands are the
// instruction's three i32 cells (destination, source or value, count); each returns false when
// out of bounds (the trap is the caller's: out of bounds memory or table access).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "runtime/store.h"

namespace kiln {

inline bool memory_init(uint8_t* base, uint64_t size, std::span<const uint8_t> segment,
                        const uint64_t* args) {
  const uint64_t d = static_cast<uint32_t>(args[0]), s = static_cast<uint32_t>(args[1]),
                 n = static_cast<uint32_t>(args[2]);
  if (s + n > segment.size() || d + n > size) return false;
  if (n) std::memcpy(base + d, segment.data() + s, n);
  return true;
}

// memory.copy from one memory to another (multi-memory) or within one.
inline bool memory_copy(uint8_t* dst_base, uint64_t dst_size, const uint8_t* src_base,
                        uint64_t src_size, const uint64_t* args) {
  const uint64_t d = static_cast<uint32_t>(args[0]), s = static_cast<uint32_t>(args[1]),
                 n = static_cast<uint32_t>(args[2]);
  if (s + n > src_size || d + n > dst_size) return false;
  if (n) std::memmove(dst_base + d, src_base + s, n);
  return true;
}
inline bool memory_copy(uint8_t* base, uint64_t size, const uint64_t* args) {
  return memory_copy(base, size, base, size, args);
}

inline bool memory_fill(uint8_t* base, uint64_t size, const uint64_t* args) {
  const uint64_t d = static_cast<uint32_t>(args[0]), n = static_cast<uint32_t>(args[2]);
  if (d + n > size) return false;
  if (n) std::memset(base + d, static_cast<uint8_t>(args[1]), n);
  return true;
}

inline bool table_init(TableInstance& table, const std::vector<uint64_t>& elements,
                       const uint64_t* args) {
  const uint64_t d = static_cast<uint32_t>(args[0]), s = static_cast<uint32_t>(args[1]),
                 n = static_cast<uint32_t>(args[2]);
  if (s + n > elements.size() || d + n > table.elements.size()) return false;
  std::copy_n(elements.begin() + s, n, table.elements.begin() + d);
  return true;
}

inline bool table_copy(TableInstance& dst, const TableInstance& src, const uint64_t* args) {
  const uint64_t d = static_cast<uint32_t>(args[0]), s = static_cast<uint32_t>(args[1]),
                 n = static_cast<uint32_t>(args[2]);
  if (s + n > src.elements.size() || d + n > dst.elements.size()) return false;
  if (n) std::memmove(dst.elements.data() + d, src.elements.data() + s, n * sizeof(uint64_t));
  return true;
}

inline bool table_fill(TableInstance& table, const uint64_t* args) {
  const uint64_t i = static_cast<uint32_t>(args[0]), n = static_cast<uint32_t>(args[2]);
  if (i + n > table.elements.size()) return false;
  std::fill_n(table.elements.begin() + i, n, args[1]);
  return true;
}

// table.grow: args[0] is the initial value and receives the old size (or -1), args[1] the delta.
inline void table_grow(TableInstance& table, uint64_t* args) {
  const int64_t old = table.grow(static_cast<uint32_t>(args[1]), args[0]);
  args[0] = static_cast<uint32_t>(old);
}

}  // namespace kiln
