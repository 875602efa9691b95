#include "wasi/streams.h"

#include <unistd.h>

#include <cerrno>

namespace kiln::wasi {

Result<size_t, StreamError> InputStream::blocking_read(std::span<uint8_t> buffer) {
  if (fd_ < 0) return size_t{0};
  for (;;) {
    ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return StreamError{false, error_from_errno(errno)};
  }
}

Result<void, StreamError> OutputStream::blocking_write_and_flush(std::span<const uint8_t> data) {
  if (fd_ < 0) return {};
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return StreamError{true, ErrorCode::kPipe};
      return StreamError{false, error_from_errno(errno)};
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace kiln::wasi
