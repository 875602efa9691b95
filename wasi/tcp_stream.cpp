#include "wasi/tcp_stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace kiln::wasi {
namespace {

StreamError socket_failure(int error) {
  return StreamError{false, error_from_errno(error), false, error};
}

StreamError interrupted() {
  return StreamError{false, ErrorCode::kInterrupted, true};
}

}  // namespace

// Ready when check-write would permit something: what was unsent has gone, or it failed.
class TcpStream::Writable final : public PollSource {
 public:
  explicit Writable(std::shared_ptr<TcpStream> stream) : stream_(std::move(stream)) {}
  bool ready() override {
    stream_->send_unsent();
    return stream_->unsent_.empty() || stream_->send_errno_ != 0 || stream_->send_closed_;
  }
  struct pollfd wait_on() const override {
    return {stream_->fd_, POLLOUT, 0};
  }

 private:
  std::shared_ptr<TcpStream> stream_;
};

TcpStream::~TcpStream() {
  if (fd_ >= 0) ::close(fd_);
}

Result<size_t, StreamError> TcpStream::receive(std::span<uint8_t> buffer, bool blocking,
                                               bool& would_block, const WaitInterrupt& interrupt) {
  would_block = false;
  if (receive_closed_) return size_t{0};
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return socket_failure(errno);
    if (!blocking) {
      would_block = true;
      return size_t{0};
    }
    struct pollfd p {
      fd_, POLLIN, 0
    };
    const int r = interruptible_poll(&p, 1, -1, interrupt);
    if (r == kWaitInterrupted) return interrupted();
    if (r < 0) return socket_failure(errno);
  }
}

void TcpStream::send_unsent() {
  while (!unsent_.empty() && send_errno_ == 0) {
    // MSG_NOSIGNAL: a peer that went away is EPIPE, not a SIGPIPE that ends the host.
    const ssize_t n = ::send(fd_, unsent_.data(), unsent_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) send_errno_ = errno;
      return;
    }
    unsent_.erase(0, static_cast<size_t>(n));
  }
}

Result<void, StreamError> TcpStream::failure() const {
  if (send_closed_) return StreamError{true, ErrorCode::kPipe};
  if (send_errno_ != 0) return socket_failure(send_errno_);
  return {};
}

Result<uint64_t, StreamError> TcpStream::check_write() {
  send_unsent();
  if (auto f = failure(); !f) return f.error();
  return unsent_.empty() ? kWritePermit : 0;
}

Result<void, StreamError> TcpStream::write(std::string_view bytes) {
  if (auto f = failure(); !f) return f.error();
  unsent_.append(bytes);
  send_unsent();
  return {};
}

Result<void, StreamError> TcpStream::flush(bool blocking, const WaitInterrupt& interrupt) {
  send_unsent();
  while (blocking && !unsent_.empty() && send_errno_ == 0) {
    struct pollfd p {
      fd_, POLLOUT, 0
    };
    const int r = interruptible_poll(&p, 1, -1, interrupt);
    if (r == kWaitInterrupted) return interrupted();
    if (r < 0) return socket_failure(errno);
    send_unsent();
  }
  return failure();
}

void TcpStream::shutdown(bool receive, bool send) {
  if (receive && !receive_closed_) {
    receive_closed_ = true;
    ::shutdown(fd_, SHUT_RD);
  }
  if (send && !send_closed_) {
    send_unsent();
    send_closed_ = true;
    ::shutdown(fd_, SHUT_WR);
  }
}

std::shared_ptr<PollSource> TcpStream::readable() {
  if (receive_closed_) return nullptr;  // ready at once: a read says closed
  return std::make_shared<DescriptorReady>(shared_from_this(), fd_, POLLIN);
}

std::shared_ptr<PollSource> TcpStream::writable() {
  return std::make_shared<Writable>(shared_from_this());
}

}  // namespace kiln::wasi
