#include "wasi/http_exchange.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace kiln::wasi {

class HttpExchange::BodyReady final : public PollSource {
 public:
  explicit BodyReady(std::shared_ptr<HttpExchange> exchange) : exchange_(std::move(exchange)) {}
  bool ready() override {
    std::lock_guard<std::mutex> lock(exchange_->mutex);
    return exchange_->body_ready();
  }
  struct pollfd wait_on() const override {
    return {exchange_->body_event_, POLLIN, 0};
  }

 private:
  std::shared_ptr<HttpExchange> exchange_;
};

HttpExchange::HttpExchange() : body_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

HttpExchange::~HttpExchange() {
  if (body_event_ >= 0) ::close(body_event_);
}

void HttpExchange::head(uint16_t status, HttpHeaders headers) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (head_given_) return;
    head_given_ = true;
    HttpResponse response;
    response.status = status;
    response.headers = std::move(headers);
    response_head = std::move(response);
  }
  complete();
}

bool HttpExchange::body(std::string_view bytes) {
  std::unique_lock<std::mutex> lock(mutex);
  if (!head_given_) return false;  // a sender must give the head first
  while (!bytes.empty()) {
    // Wait for room, asking about once every 100 ms whether the guest has given up.
    while (unread_.size() - next_ >= kMaxUnread && !abandoned_) {
      room_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (abandoned_) return false;
    if (next_ > 0) {  // what the guest read goes, so that the buffer does not grow
      unread_.erase(0, next_);
      next_ = 0;
    }
    const size_t n = std::min(bytes.size(), kMaxUnread - unread_.size());
    unread_.append(bytes.data(), n);
    bytes.remove_prefix(n);
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(body_event_, &one, sizeof one);
  }
  return true;
}

void HttpExchange::finish(Result<void, HttpFailure> outcome) {
  bool completes = false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!head_given_) {
      failure = outcome ? HttpFailure{HttpFailure::kInternalError, "the sender gave no response"}
                        : outcome.error();
      completes = true;
    } else if (!outcome) {
      body_failure_ = outcome.error();
    }
    body_done_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(body_event_, &one, sizeof one);
  }
  if (completes) complete();
}

void HttpExchange::abandon() {
  abandoned_ = true;
  std::lock_guard<std::mutex> lock(mutex);
  room_.notify_all();
}

Result<size_t, StreamError> HttpExchange::read(std::span<uint8_t> buffer, bool blocking,
                                               bool& would_block, const WaitInterrupt& interrupt) {
  would_block = false;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (next_ < unread_.size()) {
        const size_t n = std::min(buffer.size(), unread_.size() - next_);
        std::copy_n(unread_.data() + next_, n, buffer.data());
        next_ += n;
        if (next_ == unread_.size()) {
          unread_.clear();
          next_ = 0;
          if (!body_done_) {  // nothing to read until the sender signals again
            uint64_t count = 0;
            [[maybe_unused]] ssize_t got = ::read(body_event_, &count, sizeof count);
          }
        }
        room_.notify_all();
        return n;
      }
      if (body_failure_) {
        StreamError error;
        error.http_error_code = body_failure_->error_code;
        return error;
      }
      if (body_done_) return size_t{0};
    }
    if (!blocking) {
      would_block = true;
      return size_t{0};
    }
    struct pollfd p {
      body_event_, POLLIN, 0
    };
    if (interruptible_poll(&p, 1, -1, interrupt) == kWaitInterrupted) {
      StreamError error;
      error.interrupted = true;
      return error;
    }
  }
}

std::shared_ptr<PollSource> HttpExchange::readable() {
  return std::make_shared<BodyReady>(shared_from_this());
}

class HttpBodyPipe::RoomReady final : public PollSource {
 public:
  explicit RoomReady(std::shared_ptr<HttpBodyPipe> pipe) : pipe_(std::move(pipe)) {}
  bool ready() override {
    std::lock_guard<std::mutex> lock(pipe_->mutex_);
    return pipe_->has_room();
  }
  struct pollfd wait_on() const override {
    return {pipe_->room_event_, POLLIN, 0};
  }

 private:
  std::shared_ptr<HttpBodyPipe> pipe_;
};

HttpBodyPipe::HttpBodyPipe(std::string written_before)
    : room_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), unsent_(std::move(written_before)) {
  std::lock_guard<std::mutex> lock(mutex_);
  update_room_event();
}

HttpBodyPipe::~HttpBodyPipe() {
  if (room_event_ >= 0) ::close(room_event_);
}

void HttpBodyPipe::update_room_event() {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t got = ::read(room_event_, &count, sizeof count);  // now unreadable
  if (has_room()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(room_event_, &one, sizeof one);
  }
}

Result<size_t, StreamError> HttpBodyPipe::room() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reader_gone_) return StreamError{};
  return kMaxUnsent - std::min(kMaxUnsent, unsent_.size() - next_);
}

Result<void, StreamError> HttpBodyPipe::write(std::string_view bytes,
                                              const WaitInterrupt& interrupt) {
  while (!bytes.empty()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (reader_gone_) return StreamError{};
      if (has_room()) {
        if (next_ > 0) {  // what the sender read goes, so that the buffer does not grow
          unsent_.erase(0, next_);
          next_ = 0;
        }
        const size_t n = std::min(bytes.size(), kMaxUnsent - unsent_.size());
        unsent_.append(bytes.data(), n);
        bytes.remove_prefix(n);
        update_room_event();
        changed_.notify_all();
        continue;
      }
    }
    struct pollfd p {
      room_event_, POLLIN, 0
    };
    if (interruptible_poll(&p, 1, -1, interrupt) == kWaitInterrupted) {
      StreamError error;
      error.interrupted = true;
      return error;
    }
  }
  return {};
}

void HttpBodyPipe::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ = true;
  changed_.notify_all();
}

void HttpBodyPipe::abort() {
  std::lock_guard<std::mutex> lock(mutex_);
  aborted_ = true;
  changed_.notify_all();
}

std::shared_ptr<PollSource> HttpBodyPipe::writable() {
  return std::make_shared<RoomReady>(shared_from_this());
}

Result<size_t, StreamError> HttpBodyPipe::read(std::span<uint8_t> buffer, bool blocking,
                                               bool& would_block, const WaitInterrupt& interrupt) {
  would_block = false;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (next_ < unsent_.size()) {
      const size_t n = std::min(buffer.size(), unsent_.size() - next_);
      std::copy_n(unsent_.data() + next_, n, buffer.data());
      next_ += n;
      update_room_event();
      return n;
    }
    if (aborted_) return StreamError{};
    if (finished_) return size_t{0};
    if (!blocking) {
      would_block = true;
      return size_t{0};
    }
    // Asking about once every 100 ms whether the guest has given up on the request.
    if (interrupt && interrupt()) {
      StreamError error;
      error.interrupted = true;
      return error;
    }
    changed_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

void HttpBodyPipe::reader_gone() {
  std::lock_guard<std::mutex> lock(mutex_);
  reader_gone_ = true;
  update_room_event();
}

}  // namespace kiln::wasi
