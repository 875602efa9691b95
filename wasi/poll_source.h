// What a wasi:io pollable waits on beside timers and stdin: a socket operation, a socket's
// stream, a name lookup (wasi:sockets). Held by the pollable, so what it watches lives as long
// as the pollable does, whatever the guest drops first.
#pragma once

#include <poll.h>

#include <memory>

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

}  // namespace kiln::wasi
