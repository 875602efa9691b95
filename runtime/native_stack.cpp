#include "runtime/native_stack.h"

#include <pthread.h>

#include <algorithm>
#include <cstddef>

namespace kiln {
namespace {

// What an entry into wasm may still need below the check: the interpreter's frame, a host
// function (the C API's conversions, WASI's calls into libc) and, under the sanitizers, their
// much larger frames. A quarter of a small thread stack at most, so such threads can still
// call into wasm.
#if defined(__SANITIZE_ADDRESS__)
#define KILN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_ASAN 1
#endif
#endif
#ifdef KILN_ASAN
constexpr size_t kReserve = size_t{1} << 20;
#else
constexpr size_t kReserve = size_t{256} << 10;
#endif

uintptr_t find_limit() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* low = nullptr;
  size_t size = 0;
  const int got = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  if (got != 0 || !low || size == 0) return 0;
  return reinterpret_cast<uintptr_t>(low) + std::min(kReserve, size / 4);
}

}  // namespace

uintptr_t native_stack_limit() {
  thread_local const uintptr_t limit = find_limit();
  return limit;
}

bool native_stack_exhausted() {
  // The frame address is on the real stack (a local's address may be on ASan's fake stack);
  // stacks grow down on every target kiln supports (x86-64, ARM64).
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return here < native_stack_limit();
}

}  // namespace kiln
