// The host's clocks and random source, as both WASI hosts serve them (preview1's clock_time_get,
// clock_res_get and random_get; WASI 0.2's wasi:clocks and wasi:random): one implementation.
#pragma once

#include <time.h>

#include <cstddef>
#include <cstdint>

namespace kiln::wasi {

// The clock's time in nanoseconds.
uint64_t clock_now_ns(clockid_t clock);
// The clock's resolution in nanoseconds (at least 1).
uint64_t clock_resolution_ns(clockid_t clock);
// Fills `buffer` from the host's cryptographically secure source (getrandom); false if it fails.
bool fill_random(void* buffer, size_t size);

}  // namespace kiln::wasi
