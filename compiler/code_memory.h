// Where the JIT's machine code lives: one address range reserved for all of it. Code is never
// writable and executable at the same address (W^X): the range is shared memory mapped twice,
// once read-execute (where code runs) and once read-write (where the compiler writes it), so
// publishing code costs no mprotect and no TLB shootdown (which dominated compile time when
// each function's pages were flipped). Functions are placed at 64-byte granules; a table maps
// every granule to the function whose code it holds, so the fault handler
// (compiler/fault_handler.cpp) can tell, without locks or allocation, whether a faulting
// instruction is kiln's and whose it is.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace kiln {
struct NativeFunction;
}

namespace kiln::jit {

struct CodeSpan {
  uint8_t* writable = nullptr;    // where to write the code
  uint8_t* executable = nullptr;  // where it runs (the address to assemble for)
};

class CodeMemory {
 public:
  static constexpr size_t kRegionBytes = size_t{1} << 30;  // 1 GiB of address space
  static constexpr size_t kGranule = 64;

  // How the two views are mapped: shared anonymous memory (which perf can name), or a memfd
  // where that fails (under valgrind); kMemfd only, for tests of that path.
  enum class Views { kAnonymousOrMemfd, kMemfd };
  explicit CodeMemory(Views views = Views::kAnonymousOrMemfd);
  ~CodeMemory();
  CodeMemory(const CodeMemory&) = delete;
  CodeMemory& operator=(const CodeMemory&) = delete;
  bool usable() const { return executable_ != nullptr; }

  // Room for `bytes` of code; both pointers null when the region is full.
  CodeSpan allocate(size_t bytes);
  // Records `owner` for the code (written through span.writable) before it first runs.
  void publish(const CodeSpan& span, size_t bytes, const NativeFunction* owner);
  // Returns the room (its owner forgotten first; its whole pages given back to the OS).
  void release(uint8_t* executable, size_t bytes);

  // For the fault handler (async-signal-safe): the function whose code holds `pc`, or null.
  const NativeFunction* owner_of(uintptr_t pc) const;

 private:
  static size_t granules_for(size_t bytes) { return (bytes + kGranule - 1) / kGranule; }

  uint8_t* executable_ = nullptr;
  uint8_t* writable_ = nullptr;
  std::atomic<const NativeFunction*>* owners_ = nullptr;  // one per granule
  size_t owners_bytes_ = 0;
  std::mutex mutex_;
  // Granules at and above this one were never handed out, or were all returned.
  size_t next_granule_ = 0;
  // The room returned below next_granule_, by first granule: runs of granules, none adjacent to
  // another (a returned run merges with its free neighbours) or to next_granule_ (a run reaching
  // it lowers it instead). Modules compiled and dropped for as long as a process runs thus reuse
  // the same room: without merging, scraps too small for the next function piled up and the
  // region ran out.
  std::map<size_t, size_t> free_runs_;
};

}  // namespace kiln::jit
