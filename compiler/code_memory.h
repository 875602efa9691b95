// Where the JIT's machine code lives: one address range reserved for all of it, handed out in
// whole pages. Code is written while its pages are read-write and runs once they are
// read-execute: never both at once (W^X). A page table maps every page to the function whose
// code it holds, so the fault handler (compiler/fault_handler.cpp) can tell, without locks or
// allocation, whether a faulting instruction is kiln's and whose it is.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace kiln {
struct NativeFunction;
}

namespace kiln::jit {

class CodeMemory {
 public:
  static constexpr size_t kRegionBytes = size_t{1} << 30;  // 1 GiB of address space

  CodeMemory();
  ~CodeMemory();
  CodeMemory(const CodeMemory&) = delete;
  CodeMemory& operator=(const CodeMemory&) = delete;
  bool usable() const { return base_ != nullptr; }

  // Read-write pages for `bytes` of code; null when the region is full.
  uint8_t* allocate(size_t bytes);
  // Makes the pages read-execute and records `owner` for them.
  bool publish(uint8_t* code, size_t bytes, const NativeFunction* owner);
  // Returns the pages (their owner forgotten first).
  void release(uint8_t* code, size_t bytes);

  // For the fault handler (async-signal-safe): the function whose code holds `pc`, or null.
  const NativeFunction* owner_of(uintptr_t pc) const;

 private:
  size_t pages_for(size_t bytes) const;

  uint8_t* base_ = nullptr;
  size_t page_size_ = 4096;
  std::atomic<const NativeFunction*>* owners_ = nullptr;  // one per page
  size_t owners_bytes_ = 0;
  std::mutex mutex_;
  size_t next_page_ = 0;                              // pages below were handed out once
  std::vector<std::pair<size_t, size_t>> free_runs_;  // (first page, pages) returned
};

}  // namespace kiln::jit
