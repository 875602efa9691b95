#include "runtime/linear_memory.h"

#include <sys/mman.h>

#include <algorithm>

namespace kiln {
namespace {
constexpr size_t kReservation = size_t{8} << 30;  // 4 GiB addressable + 4 GiB guard
}

Result<std::unique_ptr<LinearMemory>> LinearMemory::create(const MemoryType& type,
                                                           std::optional<uint64_t> page_limit) {
  std::unique_ptr<LinearMemory> memory(new LinearMemory());
  memory->type_ = type;
  memory->max_pages_ = std::min<uint64_t>(type.limits.max.value_or(65536), 65536);
  if (page_limit) memory->max_pages_ = std::min(memory->max_pages_, *page_limit);
  if (type.limits.min > memory->max_pages_) {
    return Error{ErrorKind::kLimit, "memory of " + std::to_string(type.limits.min) +
                                        " pages exceeds the limit of " +
                                        std::to_string(memory->max_pages_) + " pages"};
  }
  void* p =
      mmap(nullptr, kReservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Error{ErrorKind::kLimit, "cannot reserve address space for a linear memory"};
  }
  memory->base_ = static_cast<uint8_t*>(p);
  memory->reserved_ = kReservation;
  if (memory->grow(type.limits.min) < 0) {
    return Error{ErrorKind::kLimit, "cannot commit the initial pages of a linear memory"};
  }
  return memory;
}

LinearMemory::~LinearMemory() {
  if (base_) munmap(base_, reserved_);
}

int64_t LinearMemory::grow(uint64_t delta_pages) {
  const uint64_t old_pages = pages_;
  if (delta_pages > max_pages_ - old_pages) return -1;
  if (delta_pages == 0) return static_cast<int64_t>(old_pages);
  const uint64_t new_pages = old_pages + delta_pages;
  if (mprotect(base_ + old_pages * kWasmPageSize, delta_pages * kWasmPageSize,
               PROT_READ | PROT_WRITE) != 0) {
    return -1;
  }
  pages_ = new_pages;
  size_bytes_ = new_pages * kWasmPageSize;
  type_.limits.min = new_pages;
  return static_cast<int64_t>(old_pages);
}

}  // namespace kiln
