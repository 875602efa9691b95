// The native (C++) stack of the calling thread, checked at every entry into wasm (DESIGN-NOTES
// section 4): wasm-to-wasm calls do not recurse natively, but host -> wasm -> host -> wasm
// re-entry does, about 2.5 KB per round trip, so deep re-entry must trap before the thread's
// stack runs out.
#pragma once

#include <cstdint>

namespace kiln {

// True when less than the reserve the runtime needs for one more entry into wasm (plus the
// host code it may call) is left on this thread's native stack.
bool native_stack_exhausted();

// The lowest stack address an entry into wasm may start from on this thread (the thread's
// stack end plus the reserve); 0 when the thread's stack bounds cannot be found.
uintptr_t native_stack_limit();

}  // namespace kiln
