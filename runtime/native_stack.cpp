#include "runtime/native_stack.h"

#include <pthread.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>

#include "runtime/sanitizers.h"

// The top of the main thread's stack, as the kernel handed it to the program (glibc's).
extern "C" void* __libc_stack_end;

namespace kiln {
namespace {

// What an entry into wasm may still need below the check: the interpreter's frame, a host
// function (the C API's conversions, WASI's calls into libc) and, under the sanitizers, their
// much larger frames. A quarter of a small thread stack at most, so such threads can still
// call into wasm.
#ifdef KILN_UNDER_ASAN
constexpr size_t kReserve = size_t{1} << 20;
#else
constexpr size_t kReserve = size_t{256} << 10;
#endif

NativeStackBounds bounds_of(uintptr_t low, uintptr_t high) {
  return {low, high, low + std::min(kReserve, (high - low) / 4)};
}

// The main thread's stack, without pthread_getattr_np: for the main thread that reads and
// parses /proc/self/maps (a tenth of a WASI hello-world's start-up, system calls included).
// Linux lets the stack's mapping grow to RLIMIT_STACK below its top, short of a guard gap above
// any other mapping. The mapping's top is found where exec put the first string it copied
// there, the program's file name (AT_EXECFN), just below the top's last pointer-sized word; the
// extent is then what glibc reports. Other mappings normally start below the limit (mmap_base
// leaves it free), but not if the limit was raised after exec: a probe mapping over the extent
// below the stack's used part, guard gap included, must find it all free, else (or when this
// is not the main thread's stack, or the limit is unusually large) the answer is left to
// pthread_getattr_np, which clips the extent at the mapping below.
std::optional<NativeStackBounds> main_thread_bounds() {
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const auto stack_end = reinterpret_cast<uintptr_t>(__libc_stack_end);
  const auto* file_name = reinterpret_cast<const char*>(getauxval(AT_EXECFN));
  rlimit limit{};
  if (stack_end == 0 || !file_name || here >= stack_end || getrlimit(RLIMIT_STACK, &limit) != 0) {
    return std::nullopt;
  }
  constexpr rlim_t kLargest = rlim_t{1} << 30;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > kLargest) return std::nullopt;
  const auto size = static_cast<uintptr_t>(limit.rlim_cur);
  constexpr uintptr_t kPage = 4096;
  const uintptr_t name_end =
      reinterpret_cast<uintptr_t>(file_name) + std::strlen(file_name) + 1 + sizeof(void*);
  const uintptr_t mapping_top = (name_end + kPage - 1) & ~(kPage - 1);
  // The file name lies above the stack's end, within the mapping (else this is not the layout
  // exec makes, and glibc decides).
  if (name_end <= stack_end || mapping_top < size) return std::nullopt;
  // As glibc reports it: from the limit below the mapping's top to the page above the end.
  const uintptr_t low = (mapping_top - size) & ~(kPage - 1);
  const uintptr_t high = (stack_end & ~(kPage - 1)) + kPage;
  if (here <= low || high <= low) return std::nullopt;
  // The probe: from Linux's default stack guard gap (1 MB) below `low` to 1 MB below this
  // frame (the stack's mapping reaches down about as far as it has been used; if it reaches
  // into the probe, the probe fails and glibc decides).
  constexpr uintptr_t kGuardGap = uintptr_t{1} << 20;
  const uintptr_t probe_low = low - kGuardGap;
  const uintptr_t probe_high = (here & ~(kPage - 1)) - kGuardGap;
  if (low < kGuardGap || probe_high <= probe_low) return std::nullopt;
  void* probe = mmap(reinterpret_cast<void*>(probe_low), probe_high - probe_low, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (probe == MAP_FAILED) return std::nullopt;  // something is mapped there
  munmap(probe, probe_high - probe_low);
  // (Kernels before 4.17 take the address as a hint and map elsewhere when it is taken.)
  if (reinterpret_cast<uintptr_t>(probe) != probe_low) return std::nullopt;
  return bounds_of(low, high);
}

NativeStackBounds find_bounds() {
  if (const std::optional<NativeStackBounds> main = main_thread_bounds()) return *main;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return {};
  void* low = nullptr;
  size_t size = 0;
  const int got = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  if (got != 0 || !low || size == 0) return {};
  const auto base = reinterpret_cast<uintptr_t>(low);
  return bounds_of(base, base + size);
}

}  // namespace

NativeStackBounds native_stack_bounds() {
  thread_local const NativeStackBounds bounds = find_bounds();
  return bounds;
}

}  // namespace kiln
