#include "compiler/code_memory.h"

#include <sys/mman.h>
#include <unistd.h>

namespace kiln::jit {

CodeMemory::CodeMemory() {
  page_size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* region =
      mmap(nullptr, kRegionBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) return;
  owners_bytes_ = kRegionBytes / page_size_ * sizeof(std::atomic<const NativeFunction*>);
  void* owners = mmap(nullptr, owners_bytes_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (owners == MAP_FAILED) {
    munmap(region, kRegionBytes);
    return;
  }
  base_ = static_cast<uint8_t*>(region);
  owners_ = static_cast<std::atomic<const NativeFunction*>*>(owners);  // zero: no owner
}

CodeMemory::~CodeMemory() {
  if (!base_) return;
  munmap(base_, kRegionBytes);
  munmap(owners_, owners_bytes_);
}

size_t CodeMemory::pages_for(size_t bytes) const {
  return (bytes + page_size_ - 1) / page_size_;
}

uint8_t* CodeMemory::allocate(size_t bytes) {
  if (!base_ || bytes == 0) return nullptr;
  const size_t pages = pages_for(bytes);
  size_t first = SIZE_MAX;
  {
    std::lock_guard lock(mutex_);
    for (auto it = free_runs_.begin(); it != free_runs_.end(); ++it) {
      if (it->second < pages) continue;
      first = it->first;
      it->first += pages;
      it->second -= pages;
      if (it->second == 0) free_runs_.erase(it);
      break;
    }
    if (first == SIZE_MAX) {
      if (pages > kRegionBytes / page_size_ - next_page_) return nullptr;
      first = next_page_;
      next_page_ += pages;
    }
  }
  uint8_t* code = base_ + first * page_size_;
  if (mprotect(code, pages * page_size_, PROT_READ | PROT_WRITE) != 0) {
    release(code, bytes);
    return nullptr;
  }
  return code;
}

bool CodeMemory::publish(uint8_t* code, size_t bytes, const NativeFunction* owner) {
  const size_t pages = pages_for(bytes);
  if (mprotect(code, pages * page_size_, PROT_READ | PROT_EXEC) != 0) return false;
  const size_t first = static_cast<size_t>(code - base_) / page_size_;
  for (size_t i = 0; i < pages; ++i) owners_[first + i].store(owner, std::memory_order_release);
  return true;
}

void CodeMemory::release(uint8_t* code, size_t bytes) {
  const size_t pages = pages_for(bytes);
  const size_t first = static_cast<size_t>(code - base_) / page_size_;
  for (size_t i = 0; i < pages; ++i) owners_[first + i].store(nullptr, std::memory_order_release);
  // Inaccessible again, and its memory given back.
  mmap(code, pages * page_size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
       -1, 0);
  std::lock_guard lock(mutex_);
  free_runs_.emplace_back(first, pages);
}

const NativeFunction* CodeMemory::owner_of(uintptr_t pc) const {
  const auto base = reinterpret_cast<uintptr_t>(base_);
  if (!base_ || pc < base || pc - base >= kRegionBytes) return nullptr;
  return owners_[(pc - base) / page_size_].load(std::memory_order_acquire);
}

}  // namespace kiln::jit
