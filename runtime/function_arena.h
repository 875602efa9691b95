// The function instances of a store, allocated a block at a time and never moved (code, tables
// and the VM context point at them). An instance's defined functions take one block of their
// own; host functions share blocks that double in size. kiln serve makes a store per request,
// where an allocation (and a free) per function was a quarter of instantiating a component.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace kiln {

template <class Function>
class FunctionArena {
 public:
  // `count` new default-constructed functions, contiguous.
  Function* allocate(size_t count) {
    if (blocks_.empty() || blocks_.back().capacity - blocks_.back().used < count) {
      const size_t capacity = std::max(count, next_capacity_);
      if (count < next_capacity_) next_capacity_ = std::min(next_capacity_ * 2, kLargestShared);
      blocks_.push_back({std::make_unique<Function[]>(capacity), 0, capacity});
    }
    Block& block = blocks_.back();
    Function* first = block.functions.get() + block.used;
    block.used += count;
    return first;
  }

  // Calls `visit` on every function allocated, oldest first.
  template <class Visit>
  void for_each(Visit visit) const {
    for (const Block& block : blocks_) {
      for (size_t i = 0; i < block.used; ++i) visit(block.functions[i]);
    }
  }

 private:
  static constexpr size_t kLargestShared = 256;
  struct Block {
    std::unique_ptr<Function[]> functions;
    size_t used = 0, capacity = 0;
  };
  std::vector<Block> blocks_;
  size_t next_capacity_ = 8;
};

}  // namespace kiln
