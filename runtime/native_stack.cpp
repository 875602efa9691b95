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

NativeStackBounds find_bounds() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return {};
  void* low = nullptr;
  size_t size = 0;
  const int got = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  if (got != 0 || !low || size == 0) return {};
  const auto base = reinterpret_cast<uintptr_t>(low);
  return {base, base + size, base + std::min(kReserve, size / 4)};
}

}  // namespace

NativeStackBounds native_stack_bounds() {
  thread_local const NativeStackBounds bounds = find_bounds();
  return bounds;
}

}  // namespace kiln
