#include "runtime/linear_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "runtime/mapping_pool.h"
#include "runtime/memory_image.h"

namespace kiln {
namespace {
constexpr size_t kReservation = size_t{8} << 30;  // 4 GiB addressable + 4 GiB guard

// Zeroes the page-aligned range [base, base + bytes) and keeps what is resident resident. Only
// the pages mincore(2) finds in memory are written: a store per request (kiln serve) zeroed its
// whole memory each time, most of it pages no guest had touched (hello_handler's 128 KiB: the
// largest single cost of a request). The others are dropped instead: mincore does not count a
// swapped-out page, which still holds the guest's data, and dropping a page that was never
// touched costs no TLB shootdown. False when the kernel refuses either call.
bool zero_resident_pages(uint8_t* base, uint64_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t pages = bytes / page;
  unsigned char present[kKeepResidentBytes / 4096];
  if (pages > sizeof(present) || mincore(base, bytes, present) != 0) {
    std::memset(base, 0, bytes);
    return true;
  }
  for (size_t first = 0; first < pages;) {
    const bool in_memory = present[first] & 1;
    size_t end = first + 1;
    while (end < pages && (present[end] & 1) == in_memory) ++end;
    uint8_t* start = base + first * page;
    const size_t length = (end - first) * page;
    if (in_memory) {
      std::memset(start, 0, length);
    } else if (madvise(start, length, MADV_DONTNEED) != 0) {
      return false;
    }
    first = end;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<LinearMemory>> LinearMemory::create(const MemoryType& type,
                                                           std::optional<uint64_t> page_limit,
                                                           const MemoryImage* image) {
  std::unique_ptr<LinearMemory> memory(new LinearMemory());
  memory->type_ = type;
  memory->max_pages_ = std::min<uint64_t>(type.limits.max.value_or(65536), 65536);
  if (page_limit) memory->max_pages_ = std::min(memory->max_pages_, *page_limit);
  if (type.limits.min > memory->max_pages_) {
    return Error{ErrorKind::kLimit, "memory of " + std::to_string(type.limits.min) +
                                        " pages exceeds the limit of " +
                                        std::to_string(memory->max_pages_) + " pages"};
  }
  // A pooled reservation as its last memory left it (mapping_pool.h), or a new one.
  PooledMapping reservation;
  if (auto pooled = take_pooled_mapping(kReservation)) {
    reservation = *pooled;
  } else {
    void* p =
        mmap(nullptr, kReservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      return Error{ErrorKind::kLimit, "cannot reserve address space for a linear memory"};
    }
    reservation.base = p;
    reservation.bytes = kReservation;
  }
  uint8_t* base = static_cast<uint8_t*>(reservation.base);
  memory->base_ = base;
  memory->reserved_ = kReservation;
  const uint64_t image_id = image ? image->id() : 0;
  auto fail = [&] {
    munmap(base, kReservation);
    memory->base_ = nullptr;
    return Error{ErrorKind::kLimit, "cannot commit the initial pages of a linear memory"};
  };
  // Another image than this memory's: its pages become inaccessible anonymous ones again.
  if (reservation.image_id && reservation.image_id != image_id) {
    if (mmap(base, reservation.accessible, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != base) {
      return fail();
    }
    reservation.accessible = 0;
    reservation.image_id = 0;
  }
  // Exactly the initial pages accessible: guard-page bounds depend on it.
  const uint64_t initial = type.limits.min * kWasmPageSize;
  if (reservation.accessible > initial &&
      mprotect(base + initial, reservation.accessible - initial, PROT_NONE) != 0) {
    return fail();
  }
  if (reservation.accessible < initial &&
      mprotect(base + reservation.accessible, initial - reservation.accessible,
               PROT_READ | PROT_WRITE) != 0) {
    return fail();
  }
  memory->pages_ = type.limits.min;
  memory->size_bytes_ = initial;
  if (reservation.image_id) {  // this memory's image is there already
    memory->image_id_ = image_id;
    memory->image_bytes_ = reservation.image_bytes;
  } else if (image && image->size() <= initial) {
    if (mmap(base, image->size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, image->fd(),
             0) == base) {
      memory->image_id_ = image_id;
      memory->image_bytes_ = image->size();
    } else if (mmap(base, image->size(), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != base) {
      return fail();  // a failed MAP_FIXED may have unmapped the range, and zero pages did not
                      // go back either
    }
  }
  return memory;
}

LinearMemory::~LinearMemory() {
  if (!base_) return;
  // It goes back to the pool with every byte zero again (or the image's). Dropping pages costs
  // a TLB shootdown on every core that runs one of the process's threads, and each page faults
  // again when the next memory touches it; so the first kKeepResidentBytes of a memory without
  // an image are zeroed in place instead and stay resident (as wasmtime's pooling allocator
  // keeps memory resident), and only what lies beyond them is dropped. (An image's pages are
  // dropped: they go back to the image's.)
  // Nothing to restore for a pool that would not keep it (full, or off: kiln run, which makes
  // one store and exits, where zeroing faulted in every page its guest never touched).
  if (!pool_would_keep(reserved_)) {
    munmap(base_, reserved_);
    return;
  }
  const uint64_t resident = image_id_ ? 0 : std::min(size_bytes_, kKeepResidentBytes);
  if (resident && !zero_resident_pages(base_, resident)) {
    munmap(base_, reserved_);
    return;
  }
  if (size_bytes_ > resident &&
      madvise(base_ + resident, size_bytes_ - resident, MADV_DONTNEED) != 0) {
    munmap(base_, reserved_);
    return;
  }
  release_pooled_mapping({base_, reserved_, size_bytes_, image_id_, image_bytes_});
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
