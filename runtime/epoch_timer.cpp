#include "runtime/epoch_timer.h"

#include "runtime/store.h"

namespace kiln {

EpochTimer::EpochTimer(Engine& engine, std::chrono::nanoseconds interval) {
  thread_ = std::thread([this, &engine, interval] {
    std::unique_lock lock(mutex_);
    auto next = std::chrono::steady_clock::now() + interval;
    while (!stop_requested_.wait_until(lock, next, [this] { return stop_; })) {
      engine.increment_epoch();
      next += interval;
    }
  });
}

EpochTimer::~EpochTimer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_requested_.notify_one();
  thread_.join();
}

}  // namespace kiln
