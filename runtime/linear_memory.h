// A linear memory (spec 4.2.8) with a fixed base address: 4 GiB plus a 4 GiB guard region of
// address space are reserved up front, and memory.grow commits pages with mprotect, so the
// memory never moves (DESIGN-NOTES section 3). Reservations are reused (mapping_pool.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "runtime/result.h"
#include "runtime/types.h"

namespace kiln {

class MemoryImage;

constexpr uint64_t kWasmPageSize = 65536;
// How much of a memory without an image is zeroed in place, rather than dropped, when it goes
// back to the mapping pool (~LinearMemory).
constexpr uint64_t kKeepResidentBytes = 1024 * 1024;

class LinearMemory {
 public:
  // `page_limit` caps growth below the type's maximum (a store limit); nullopt: none. With
  // `image`, the memory starts with the image's bytes (has_image() says whether it could be
  // mapped; if not, it starts zero and the data segments are to be copied).
  static Result<std::unique_ptr<LinearMemory>> create(const MemoryType& type,
                                                      std::optional<uint64_t> page_limit = {},
                                                      const MemoryImage* image = nullptr);
  bool has_image() const { return image_id_ != 0; }
  ~LinearMemory();
  LinearMemory(const LinearMemory&) = delete;
  LinearMemory& operator=(const LinearMemory&) = delete;

  uint8_t* base() const { return base_; }
  uint64_t size_bytes() const { return size_bytes_; }
  // Where size_bytes() is kept: generated code compares addresses with it.
  static constexpr size_t size_bytes_offset();
  uint64_t pages() const { return pages_; }
  const MemoryType& type() const { return type_; }  // limits.min follows the current size
  // Whether grow(delta_pages) stays within the memory's maximum and page limit.
  bool can_grow(uint64_t delta_pages) const { return delta_pages <= max_pages_ - pages_; }
  // Spec 4.4.7.10 memory.grow: the old size in pages, or -1 when it cannot grow.
  int64_t grow(uint64_t delta_pages);

 private:
  LinearMemory() = default;
  uint8_t* base_ = nullptr;
  size_t reserved_ = 0;
  uint64_t pages_ = 0;
  uint64_t size_bytes_ = 0;  // pages_ * kWasmPageSize
  uint64_t max_pages_ = 0;
  uint64_t image_id_ = 0, image_bytes_ = 0;  // the MemoryImage mapped at the start, if any
  MemoryType type_;
};

constexpr size_t LinearMemory::size_bytes_offset() {
  return offsetof(LinearMemory, size_bytes_);
}

}  // namespace kiln
