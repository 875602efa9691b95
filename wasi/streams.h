// Host streams shaped like WASI 0.2's wasi:io/streams (input-stream, output-stream and their
// stream-error), over host file descriptors: the host side of the guest's stdio. Preview1's
// fd_read/fd_write on descriptors 0-2 are a layer over these (DESIGN-NOTES section 8).
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "runtime/result.h"
#include "wasi/filesystem.h"

namespace kiln::wasi {

// wasi:io/streams.stream-error: the last operation failed (with a filesystem-style error code
// for preview1's errno), or the stream is closed.
struct StreamError {
  bool closed = false;
  ErrorCode error = ErrorCode::kIo;
  bool interrupted = false;  // the wait was ended by its WaitInterrupt (a deadline)
  // A socket stream's failure: the errno behind it (wasi:sockets/network.network-error-code
  // names it); 0 for other streams.
  int socket_errno = 0;
  // An HTTP body's failure: the case of wasi:http's error-code (http-error-code names it).
  std::optional<uint32_t> http_error_code = std::nullopt;
};

// Says whether a blocking wait must end now: the store's deadline has passed. Waits ask it
// every few milliseconds, so a guest blocked in a host call still honours its deadline.
using WaitInterrupt = std::function<bool()>;

// ppoll over `fds` that also ends when `interrupt` says so: the number of ready descriptors, 0
// when `timeout_ns` passed (negative: no timeout), -1 with errno on failure, or
// kWaitInterrupted.
constexpr int kWaitInterrupted = -2;
int interruptible_poll(struct pollfd* fds, size_t count, int64_t timeout_ns,
                       const WaitInterrupt& interrupt);

// What a guest wrote to a stdout or stderr the host keeps in memory (kiln.h's
// kiln_wasi_config_capture_stdout): at most `max_bytes`; a write past them fails (no space).
struct CapturedOutput {
  explicit CapturedOutput(size_t max) : max_bytes(max) {}
  std::string read() {
    std::lock_guard<std::mutex> lock(mutex);
    return bytes;
  }
  std::mutex mutex;
  std::string bytes;
  const size_t max_bytes;
};

class InputStream {
 public:
  // A host descriptor to read from; -1 gives a stream that is closed from the start.
  explicit InputStream(int host_fd) : fd_(host_fd) {}
  // The guest reads `bytes`, then the end (host_fd() is -1: always ready).
  explicit InputStream(std::string bytes) : fd_(-1), bytes_(std::move(bytes)), in_memory_(true) {}
  // Blocking read of at most `buffer.size()` bytes; 0 bytes means end of stream. The wait for
  // data ends early (StreamError::interrupted) when `interrupt` says so.
  Result<size_t, StreamError> blocking_read(std::span<uint8_t> buffer,
                                            const WaitInterrupt& interrupt = {});
  int host_fd() const { return fd_; }

 private:
  int fd_;
  std::string bytes_;  // in memory: what is left to read
  size_t position_ = 0;
  bool in_memory_ = false;
};

class OutputStream {
 public:
  // A host descriptor to write to; -1 gives a stream that discards what it is given.
  explicit OutputStream(int host_fd) : fd_(host_fd) {}
  // Writes go into `capture` (host_fd() is -1).
  explicit OutputStream(std::shared_ptr<CapturedOutput> capture)
      : fd_(-1), capture_(std::move(capture)) {}
  // Writes all of `data`, blocking until done or until `interrupt` ends the wait.
  Result<void, StreamError> blocking_write_and_flush(std::span<const uint8_t> data,
                                                     const WaitInterrupt& interrupt = {});
  int host_fd() const { return fd_; }

 private:
  int fd_;
  std::shared_ptr<CapturedOutput> capture_;
};

}  // namespace kiln::wasi
