// A thread that advances an engine's epoch at a fixed interval, for deadlines measured in time
// (DESIGN-NOTES section 5). Stops, and joins its thread, when destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kiln {

class Engine;

class EpochTimer {
 public:
  EpochTimer(Engine& engine, std::chrono::nanoseconds interval);
  ~EpochTimer();
  EpochTimer(const EpochTimer&) = delete;
  EpochTimer& operator=(const EpochTimer&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kiln
