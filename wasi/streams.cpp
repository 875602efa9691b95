#include "wasi/streams.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace kiln::wasi {
namespace {

// How often a wait asks its interrupt: the latency of a deadline in a blocked host call.
constexpr int64_t kInterruptSliceNs = 5'000'000;

// Waits until `fd` is ready for `events`: false (and `error` set) when interrupted or failed.
// Without an interrupt, and before a first try (`tried` false), the read or write itself
// blocks; a non-blocking host descriptor that said EAGAIN is waited for here.
bool wait_ready(int fd, short events, const WaitInterrupt& interrupt, bool tried,
                StreamError& error) {
  if (!interrupt && !tried) return true;
  struct pollfd p {
    fd, events, 0
  };
  const int r = interruptible_poll(&p, 1, -1, interrupt);
  if (r == kWaitInterrupted) {
    error = StreamError{false, ErrorCode::kInterrupted, true};
    return false;
  }
  if (r < 0) {
    error = StreamError{false, error_from_errno(errno)};
    return false;
  }
  return true;  // ready, or hung up / in error: the read or write says which
}

}  // namespace

int interruptible_poll(struct pollfd* fds, size_t count, int64_t timeout_ns,
                       const WaitInterrupt& interrupt) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::nanoseconds(std::max<int64_t>(timeout_ns, 0));
  for (bool waited = false;; waited = true) {
    int64_t slice = -1;  // no timeout
    if (timeout_ns >= 0) {
      slice = std::max<int64_t>((deadline - Clock::now()).count(), 0);
      if (waited && slice == 0) return 0;
    }
    if (interrupt && interrupt()) return kWaitInterrupted;
    if (interrupt) slice = slice < 0 ? kInterruptSliceNs : std::min(slice, kInterruptSliceNs);
    struct timespec ts {};
    if (slice >= 0) {
      ts.tv_sec = slice / 1000000000;
      ts.tv_nsec = slice % 1000000000;
    }
    const int r = ::ppoll(fds, count, slice < 0 ? nullptr : &ts, nullptr);
    if (r != 0 && !(r < 0 && errno == EINTR)) return r;
  }
}

Result<size_t, StreamError> InputStream::blocking_read(std::span<uint8_t> buffer,
                                                       const WaitInterrupt& interrupt) {
  if (in_memory_) {
    const size_t n = std::min(buffer.size(), bytes_.size() - position_);
    std::copy_n(bytes_.data() + position_, n, buffer.data());
    position_ += n;
    return n;
  }
  if (fd_ < 0) return size_t{0};
  for (bool tried = false;; tried = true) {
    StreamError error;
    if (!wait_ready(fd_, POLLIN, interrupt, tried, error)) return error;
    ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR && errno != EAGAIN) return StreamError{false, error_from_errno(errno)};
  }
}

Result<void, StreamError> OutputStream::blocking_write_and_flush(std::span<const uint8_t> data,
                                                                 const WaitInterrupt& interrupt) {
  if (capture_) {
    std::lock_guard<std::mutex> lock(capture_->mutex);
    const size_t room = capture_->max_bytes - capture_->bytes.size();
    capture_->bytes.append(reinterpret_cast<const char*>(data.data()), std::min(room, data.size()));
    if (data.size() > room) return StreamError{false, ErrorCode::kInsufficientSpace};
    return {};
  }
  if (fd_ < 0) return {};
  size_t done = 0;
  for (bool tried = false; done < data.size(); tried = true) {
    StreamError error;
    if (!wait_ready(fd_, POLLOUT, interrupt, tried, error)) return error;
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == EPIPE) return StreamError{true, ErrorCode::kPipe};
      return StreamError{false, error_from_errno(errno)};
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace kiln::wasi
