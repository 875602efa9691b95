// Host streams shaped like WASI 0.2's wasi:io/streams (input-stream, output-stream and their
// stream-error), over host file descriptors: the host side of the guest's stdio. Preview1's
// fd_read/fd_write on descriptors 0-2 are a layer over these (DESIGN-NOTES section 8).
#pragma once

#include <cstdint>
#include <span>

#include "runtime/result.h"
#include "wasi/filesystem.h"

namespace kiln::wasi {

// wasi:io/streams.stream-error: the last operation failed (with a filesystem-style error code
// for preview1's errno), or the stream is closed.
struct StreamError {
  bool closed = false;
  ErrorCode error = ErrorCode::kIo;
};

class InputStream {
 public:
  // A host descriptor to read from; -1 gives a stream that is closed from the start.
  explicit InputStream(int host_fd) : fd_(host_fd) {}
  // Blocking read of at most `buffer.size()` bytes; 0 bytes means end of stream.
  Result<size_t, StreamError> blocking_read(std::span<uint8_t> buffer);
  int host_fd() const { return fd_; }

 private:
  int fd_;
};

class OutputStream {
 public:
  // A host descriptor to write to; -1 gives a stream that discards what it is given.
  explicit OutputStream(int host_fd) : fd_(host_fd) {}
  // Writes all of `data`, blocking until done.
  Result<void, StreamError> blocking_write_and_flush(std::span<const uint8_t> data);
  int host_fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace kiln::wasi
