// The native (C++) stack of the calling thread, checked at every entry into wasm (DESIGN-NOTES
// section 4): wasm-to-wasm calls do not recurse natively, but host -> wasm -> host -> wasm
// re-entry does, about 2.5 KB per round trip, so deep re-entry must trap before the thread's
// stack runs out.
#pragma once

#include <cstdint>

namespace kiln {

// The calling thread's native stack: its lowest and highest address, and the lowest address an
// entry into wasm may start from (the low end plus the reserve). All zero when the thread's
// stack cannot be found (no check is then made).
struct NativeStackBounds {
  uintptr_t low = 0, high = 0, limit = 0;
};
NativeStackBounds native_stack_bounds();

// For one store: whether less than the reserve the runtime needs for one more entry into wasm
// (plus the host code it may call) is left on the calling thread's native stack. The bounds are
// cached: a store is used by one thread at a time, and a frame address outside the cached
// stack means another thread, whose bounds are looked up then. (The thread-local lookup costs
// a __tls_get_addr call in position-independent code, a fifth of a host-to-wasm call.)
class NativeStackCheck {
 public:
  bool exhausted() {
    const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    if (here - bounds_.low >= bounds_.high - bounds_.low) bounds_ = native_stack_bounds();
    return here < bounds_.limit;
  }
  // The lowest address an entry into wasm may start from, as found by the last exhausted().
  uintptr_t limit() const { return bounds_.limit; }

 private:
  NativeStackBounds bounds_;
};

}  // namespace kiln
