// What a wasi:io pollable waits on beside timers and stdin: a socket operation, a socket's
// stream, a name lookup (wasi:sockets). Held by the pollable, so what it watches lives as long
// as the pollable does, whatever the guest drops first.
#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <mutex>

namespace kiln::wasi {

class PollSource {
 public:
  virtual ~PollSource() = default;
  // Whether the operation the pollable stands for can go on now. May make progress on the way
  // (an output stream sends what it still holds).
  virtual bool ready() = 0;
  // What to wait for while not ready: a descriptor and poll events.
  virtual struct pollfd wait_on() const = 0;
};

// Ready when `fd` is ready for `events` (or hung up, or in error: the next call says which).
// `owner` keeps the descriptor open.
class DescriptorReady final : public PollSource {
 public:
  DescriptorReady(std::shared_ptr<const void> owner, int fd, short events)
      : owner_(std::move(owner)), fd_(fd), events_(events) {}
  bool ready() override {
    struct pollfd p = wait_on();
    return ::poll(&p, 1, 0) != 0;
  }
  struct pollfd wait_on() const override {
    return {fd_, events_, 0};
  }

 private:
  std::shared_ptr<const void> owner_;
  int fd_;
  short events_;
};

// What a host thread finishes for a guest (a name lookup, an outgoing HTTP request): `done`,
// and what the derived type keeps with it, under `mutex`; complete() sets it and signals an
// eventfd, which CompletionReady's pollables wait on.
class Completion {
 public:
  Completion() : event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~Completion() {
    if (event_fd_ >= 0) ::close(event_fd_);
  }
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  // False when no eventfd could be had (descriptors exhausted): nothing can wait for it.
  bool valid() const { return event_fd_ >= 0; }
  int event_fd() const { return event_fd_; }
  // On the finishing thread, once what it produced is stored (under `mutex`).
  void complete() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(event_fd_, &one, sizeof one);
  }

  std::mutex mutex;
  bool done = false;

 private:
  int event_fd_;
};

class CompletionReady final : public PollSource {
 public:
  explicit CompletionReady(std::shared_ptr<Completion> completion)
      : completion_(std::move(completion)) {}
  bool ready() override {
    std::lock_guard<std::mutex> lock(completion_->mutex);
    return completion_->done;
  }
  struct pollfd wait_on() const override {
    return {completion_->event_fd(), POLLIN, 0};
  }

 private:
  std::shared_ptr<Completion> completion_;
};

}  // namespace kiln::wasi
