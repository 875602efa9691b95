// A stack of trivially copyable values whose push, pop and top are always inline: the decoder's
// operand types and the code generator's abstract values, pushed and popped for nearly every
// instruction compiled. (std::vector's push_back stayed out of line in those large loops.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "runtime/result.h"

namespace kiln {

template <typename T>
class FlatStack {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  FlatStack() = default;
  // A moved-from stack is empty and owns nothing (its storage, capacity included, moved on: a
  // code generator's stack is lent out and taken back between functions).
  FlatStack(FlatStack&& other) noexcept
      : data_(std::move(other.data_)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  FlatStack& operator=(FlatStack&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  KILN_ALWAYS_INLINE size_t size() const { return size_; }
  KILN_ALWAYS_INLINE bool empty() const { return size_ == 0; }
  KILN_ALWAYS_INLINE T& back() { return data_[size_ - 1]; }
  KILN_ALWAYS_INLINE const T& back() const { return data_[size_ - 1]; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* begin() { return data_.get(); }
  T* end() { return data_.get() + size_; }
  const T* begin() const { return data_.get(); }
  const T* end() const { return data_.get() + size_; }

  KILN_ALWAYS_INLINE void push_back(const T& value) {
    if (size_ == capacity_) [[unlikely]]
      grow();
    data_[size_++] = value;
  }
  KILN_ALWAYS_INLINE void pop_back() { --size_; }
  // Drops the values above `height` (never adds any).
  void truncate(size_t height) { size_ = std::min(height, size_); }

 private:
  [[gnu::noinline]] void grow() {
    const size_t capacity = capacity_ ? 2 * capacity_ : 64;
    std::unique_ptr<T[]> data(new T[capacity]);
    std::copy(data_.get(), data_.get() + size_, data.get());
    data_ = std::move(data);
    capacity_ = capacity;
  }

  std::unique_ptr<T[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace kiln
