// Whether this build runs under AddressSanitizer: KILN_UNDER_ASAN is defined then. GCC defines
// __SANITIZE_ADDRESS__; clang answers __has_feature. What depends on it: the native stack's
// reserve (ASan's frames are larger), kiln run's teardown at exit (kept for LeakSanitizer),
// tests that need ASan's allowances.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define KILN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_UNDER_ASAN 1
#endif
#endif
