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

}  // namespace kiln::wasi
