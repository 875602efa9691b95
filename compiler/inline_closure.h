// A callable `void()` stored inline: the code generator keeps one per out-of-line stub (a slow
// path per call site, a trap per check), and std::function allocates for any capture larger
// than two pointers (a stub's labels and arguments always are): an allocation and a free per
// stub were a few percent of compile time.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace kiln::jit {

class InlineClosure {
 public:
  static constexpr size_t kCapacity = 96;

  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InlineClosure>>>
  InlineClosure(F&& f) {  // implicit, as std::function's
    using T = std::decay_t<F>;
    static_assert(sizeof(T) <= kCapacity, "capture less, or raise kCapacity");
    static_assert(alignof(T) <= alignof(std::max_align_t));
    static_assert(std::is_nothrow_move_constructible_v<T>);
    ::new (static_cast<void*>(storage_)) T(std::forward<F>(f));
    operations_ = &kOperations<T>;
  }
  InlineClosure(InlineClosure&& other) noexcept : operations_(other.operations_) {
    operations_->move(storage_, other.storage_);
  }
  InlineClosure(const InlineClosure&) = delete;
  InlineClosure& operator=(const InlineClosure&) = delete;
  InlineClosure& operator=(InlineClosure&&) = delete;
  ~InlineClosure() { operations_->destroy(storage_); }

  void operator()() { operations_->call(storage_); }

 private:
  struct Operations {
    void (*call)(void* closure);
    void (*move)(void* to, void* from);  // move-constructs at `to`
    void (*destroy)(void* closure);
  };
  template <class T>
  static constexpr Operations kOperations = {
      [](void* closure) { (*static_cast<T*>(closure))(); },
      [](void* to, void* from) { ::new (to) T(std::move(*static_cast<T*>(from))); },
      [](void* closure) { static_cast<T*>(closure)->~T(); },
  };

  alignas(std::max_align_t) unsigned char storage_[kCapacity];
  const Operations* operations_;
};

}  // namespace kiln::jit
