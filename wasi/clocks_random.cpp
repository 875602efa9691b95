#include "wasi/clocks_random.h"

#include <sys/random.h>

#include <cerrno>

namespace kiln::wasi {

uint64_t clock_now_ns(clockid_t clock) {
  struct timespec ts {};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t clock_resolution_ns(clockid_t clock) {
  struct timespec ts {};
  clock_getres(clock, &ts);
  const uint64_t ns =
      static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  return ns == 0 ? 1 : ns;
}

bool fill_random(void* buffer, size_t size) {
  auto* out = static_cast<unsigned char*>(buffer);
  for (size_t done = 0; done < size;) {
    const ssize_t r = ::getrandom(out + done, size - done, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace kiln::wasi
