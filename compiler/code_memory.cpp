#include "compiler/code_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

namespace kiln::jit {

namespace {

// Shared anonymous memory, mapped a second time by mremap (an old size of 0 maps the same pages
// again). Preferred: Linux perf reads /tmp/perf-PID.map (--profile perfmap) only for executable
// memory it takes for anonymous, "//anon" or "/dev/zero" in /proc/PID/maps, and a shared
// anonymous mapping is "/dev/zero (deleted)" there, where a memfd is a "/memfd:" file whose
// code perf cannot name.
bool map_anonymous_views(size_t bytes, void*& writable, void*& executable) {
  writable = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (writable == MAP_FAILED) return false;
  executable = mremap(writable, 0, bytes, MREMAP_MAYMOVE);
  if (executable == MAP_FAILED || mprotect(executable, bytes, PROT_READ | PROT_EXEC) != 0) {
    if (executable != MAP_FAILED) munmap(executable, bytes);
    munmap(writable, bytes);
    return false;
  }
  return true;
}

// A memfd mapped twice: where mremap cannot map shared pages again (valgrind refuses an old size
// of 0, and without this fallback callgrind profiles of the JIT ran everything interpreted).
// The descriptor is closed once both views exist; the mappings keep the memory.
bool map_memfd_views(size_t bytes, void*& writable, void*& executable) {
  const int fd = memfd_create("kiln-jit-code", MFD_CLOEXEC);
  if (fd < 0) return false;
  bool mapped = false;
  if (ftruncate(fd, static_cast<off_t>(bytes)) == 0) {  // sparse
    writable = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    executable = mmap(nullptr, bytes, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_NORESERVE, fd, 0);
    mapped = writable != MAP_FAILED && executable != MAP_FAILED;
    if (!mapped && writable != MAP_FAILED) munmap(writable, bytes);
    if (!mapped && executable != MAP_FAILED) munmap(executable, bytes);
  }
  close(fd);
  return mapped;
}

}  // namespace

CodeMemory::CodeMemory(Views views) {
  void* writable = nullptr;
  void* executable = nullptr;
  const bool mapped = (views == Views::kAnonymousOrMemfd &&
                       map_anonymous_views(kRegionBytes, writable, executable)) ||
                      map_memfd_views(kRegionBytes, writable, executable);
  if (!mapped) return;
  // A core dump holds the code once, from the executable view (the two views share their pages,
  // so without this it held every touched code page twice).
  madvise(writable, kRegionBytes, MADV_DONTDUMP);
  owners_bytes_ = kRegionBytes / kGranule * sizeof(std::atomic<const NativeFunction*>);
  void* owners = mmap(nullptr, owners_bytes_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (owners == MAP_FAILED) {
    munmap(executable, kRegionBytes);
    munmap(writable, kRegionBytes);
    return;
  }
  owners_ = static_cast<std::atomic<const NativeFunction*>*>(owners);  // zero: no owner
  writable_ = static_cast<uint8_t*>(writable);
  executable_ = static_cast<uint8_t*>(executable);
}

CodeMemory::~CodeMemory() {
  if (executable_) {
    munmap(executable_, kRegionBytes);
    munmap(writable_, kRegionBytes);
    munmap(owners_, owners_bytes_);
  }
}

CodeSpan CodeMemory::allocate(size_t bytes) {
  if (!executable_ || bytes == 0) return {};
  const size_t granules = granules_for(bytes);
  size_t first = SIZE_MAX;
  std::lock_guard lock(mutex_);
  // The lowest run with room enough (first fit keeps the live code low and the runs few).
  for (auto it = free_runs_.begin(); it != free_runs_.end(); ++it) {
    if (it->second < granules) continue;
    first = it->first;
    const size_t left = it->second - granules;
    free_runs_.erase(it);
    if (left != 0) free_runs_.emplace(first + granules, left);
    break;
  }
  if (first == SIZE_MAX) {
    if (granules > kRegionBytes / kGranule - next_granule_) return {};
    first = next_granule_;
    next_granule_ += granules;
  }
  return {writable_ + first * kGranule, executable_ + first * kGranule};
}

void CodeMemory::publish(const CodeSpan& span, size_t bytes, const NativeFunction* owner) {
  const size_t first = static_cast<size_t>(span.executable - executable_) / kGranule;
  for (size_t i = 0, n = granules_for(bytes); i < n; ++i) {
    owners_[first + i].store(owner, std::memory_order_release);
  }
}

void CodeMemory::release(uint8_t* executable, size_t bytes) {
  const size_t first = static_cast<size_t>(executable - executable_) / kGranule;
  const size_t granules = granules_for(bytes);
  for (size_t i = 0; i < granules; ++i)
    owners_[first + i].store(nullptr, std::memory_order_release);
  std::lock_guard lock(mutex_);
  // Merged with the free runs on either side.
  size_t run_first = first, run_end = first + granules;
  auto next = free_runs_.lower_bound(first);
  if (next != free_runs_.begin()) {
    if (auto previous = std::prev(next); previous->first + previous->second == first) {
      run_first = previous->first;
      free_runs_.erase(previous);
    }
  }
  if (next != free_runs_.end() && next->first == run_end) {
    run_end += next->second;
    free_runs_.erase(next);
  }
  // The pages this room completes (wholly inside the merged run, and touching the room) go back
  // to the OS; they read as zeros when reused. Done under the lock: no other thread can be handed
  // any of this run, and write code into it, before they are gone.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t begin =
      std::max((run_first * kGranule + page - 1) / page * page, first * kGranule / page * page);
  const size_t end = std::min(run_end * kGranule / page * page,
                              ((first + granules) * kGranule + page - 1) / page * page);
  // (MADV_REMOVE punches the hole in the shared memory behind both views, anonymous or memfd.)
  if (end > begin) madvise(writable_ + begin, end - begin, MADV_REMOVE);
  if (run_end == next_granule_) {
    next_granule_ = run_first;  // the top of what was handed out: no run, a lower top
  } else {
    free_runs_.emplace(run_first, run_end - run_first);
  }
}

const NativeFunction* CodeMemory::owner_of(uintptr_t pc) const {
  const auto base = reinterpret_cast<uintptr_t>(executable_);
  if (!executable_ || pc < base || pc - base >= kRegionBytes) return nullptr;
  return owners_[(pc - base) / kGranule].load(std::memory_order_acquire);
}

}  // namespace kiln::jit
