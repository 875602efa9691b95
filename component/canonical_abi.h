// The canonical ABI's dynamic half (CanonicalABI.md "Loading", "Storing", "Flat Lifting",
// "Flat Lowering", "Lifting and Lowering Values"): component values to and from core values and
// linear memory, for every value type, with the spec's traps. Strings are transcoded between
// utf8, utf16 and latin1+utf16 with the spec's allocation sequence (realloc calls are
// observable, and the conformance tests observe them).
//
// Flat core values are raw 64-bit cells, as the runtime's cell ABI holds them: i32 and f32
// zero-extended bits, i64 and f64 bits. Variant payloads then need no coercion beyond taking the
// low 32 bits where an i32 or f32 is wanted (CanonicalABI.md `join`).
//
// Traps are returned as TrapPtr (null: no trap); a trap in a core function called on the way
// (realloc) comes back with its backtrace.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "component/abi_layout.h"
#include "component/component_types.h"
#include "component/component_value.h"
#include "runtime/store.h"
#include "runtime/trap.h"

namespace kiln::component {

struct ComponentInstance;

// The `canonopt`s of a lift or lower, resolved to the instance's runtime objects.
struct RuntimeOptions {
  CanonOptions::StringEncoding encoding = CanonOptions::StringEncoding::kUtf8;
  MemoryInstance* memory = nullptr;
  FunctionInstance* realloc = nullptr;
  FunctionInstance* post_return = nullptr;
};

// The borrows of one call (CanonicalABI.md Task/Subtask): borrow handles lowered into the
// callee (which it must drop before returning), and own handles lent out by the caller (whose
// lends end with the call).
struct CallScope {
  using Lender = std::pair<ComponentInstance*, uint32_t>;  // (instance, handle index)
  uint32_t borrows = 0;
  void lend(ComponentInstance* instance, uint32_t index) {
    if (lender_count_ < kInlineLenders) {
      inline_lenders_[lender_count_++] = {instance, index};
    } else {
      more_lenders_.emplace_back(instance, index);
    }
  }
  // Calls `visit` on each lender, then forgets them.
  template <class Visit>
  void end_lends(Visit visit) {
    for (size_t i = 0; i < lender_count_; ++i) visit(inline_lenders_[i]);
    for (const Lender& lender : more_lenders_) visit(lender);
    lender_count_ = 0;
    more_lenders_.clear();
  }

 private:
  // Most calls lend a handle or two: those are kept here rather than in an allocation per call.
  static constexpr size_t kInlineLenders = 4;
  Lender inline_lenders_[kInlineLenders];
  size_t lender_count_ = 0;
  std::vector<Lender> more_lenders_;
};

// LiftLowerContext.
struct AbiContext {
  Store& store;
  ComponentInstance& instance;
  const RuntimeOptions& options;
  CallScope* scope = nullptr;
  // Host memory the call's lifted values take (strings' bytes, list elements): at most the
  // store's memory budget (StoreLimits::max_total_memory_bytes). Lifting copies, so a list of
  // strings that all point at the same bytes would otherwise make the host allocate the square
  // of the guest's memory (wasmtime's GHSA-243v-98vx-264h). The copies last the call: counted
  // against the whole budget, not what is left of it, so that a guest near its budget still
  // gets the host's own answer (a stream error for a body, say) rather than a trap here.
  uint64_t lifted_bytes = 0;
};

TrapPtr abi_trap(std::string message);

// The core values of one call's flattened parameters or results. Flattening bounds them
// (abi::kMaxFlatParams, and a return-area pointer), so they live in the caller's frame instead
// of a heap allocation per call; more (a lowered function's core signature can be larger) move
// to the heap.
class FlatValues {
 public:
  static constexpr size_t kInline = abi::kMaxFlatParams + 2;
  FlatValues() = default;
  FlatValues(const uint64_t* values, size_t count) {
    resize(count);
    std::copy_n(values, count, data());
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint64_t* data() { return on_heap_ ? heap_.data() : inline_; }
  const uint64_t* data() const { return on_heap_ ? heap_.data() : inline_; }
  uint64_t& operator[](size_t i) { return data()[i]; }
  uint64_t operator[](size_t i) const { return data()[i]; }
  void push_back(uint64_t value) {
    if (!on_heap_ && size_ < kInline) {
      inline_[size_++] = value;
      return;
    }
    resize(size_ + 1);
    data()[size_ - 1] = value;
  }
  // Grows with zeros, or shrinks.
  void resize(size_t count) {
    if (!on_heap_ && count > kInline) {
      heap_.assign(inline_, inline_ + size_);
      on_heap_ = true;
    }
    if (on_heap_) {
      heap_.resize(count, 0);
    } else if (count > size_) {
      std::fill(inline_ + size_, inline_ + count, uint64_t{0});
    }
    size_ = count;
  }

 private:
  uint64_t inline_[kInline];
  std::vector<uint64_t> heap_;
  size_t size_ = 0;
  bool on_heap_ = false;
};

// lift_flat_values / lower_flat_values. `flat` is read from `*position` on (lifting), or
// appended to (lowering). With `in_memory` (more flat values than MAX_FLAT_PARAMS or
// MAX_FLAT_RESULTS: abi::flatten_function says which), the values travel in memory: lifting
// reads a pointer; lowering allocates with realloc and appends the pointer, or, given
// `out_pointer`, stores there.
// `out` has room for types.size() values.
TrapPtr lift_flat_values(AbiContext& cx, bool in_memory, const FlatValues& flat, size_t* position,
                         const std::vector<resolved::ValueType>& types, ComponentValue* out);
TrapPtr lower_flat_values(AbiContext& cx, bool in_memory, std::span<const ComponentValue> values,
                          const std::vector<resolved::ValueType>& types, FlatValues& flat,
                          std::optional<uint32_t> out_pointer = std::nullopt);

// load / store of one value at `pointer` (aligned and in bounds: the callers check).
TrapPtr load(AbiContext& cx, uint32_t pointer, const resolved::ValueType& type,
             ComponentValue& out);
TrapPtr store(AbiContext& cx, const ComponentValue& value, const resolved::ValueType& type,
              uint32_t pointer);

// Whether `value` is a value of `type` (a host's argument, before lowering): kinds, case
// indices, lengths of fixed lists, valid chars, flags within the labels.
bool value_matches(const ComponentValue& value, const resolved::ValueType& type);

// Value equality for tests and hosts (NaNs equal NaNs; string hints ignored).
bool same_value(const ComponentValue& a, const ComponentValue& b);

}  // namespace kiln::component
