// The one function-body decoder (DESIGN-NOTES section 1): walks the opcodes of a body once,
// validates them (spec 3.3 and the algorithm of appendix 7.3), and hands every validated
// instruction to a consumer (the interpreter translator, the JIT's code generator).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "runtime/binary_reader.h"
#include "runtime/flat_stack.h"
#include "runtime/interpreter_code.h"
#include "runtime/module.h"
#include "runtime/result.h"

namespace kiln {

struct ControlFrame {
  uint32_t opcode =
      0;  // kBlock, kLoop, kIf, kElse, kTryTable, or kEnd for the function's own frame
  // The block type's values. They live in the module's types (a type index, the function's
  // own type) or in a static one-value table, never in the frame: frames are pushed, popped
  // and copied without allocating.
  std::span<const ValType> params;
  std::span<const ValType> results;
  uint32_t height = 0;        // operand-stack entries below the frame
  uint32_t height_cells = 0;  // the same, in 64-bit cells
  bool unreachable = false;
  // Opened inside unreachable code (or inside such a frame): nothing in it ever runs, though
  // the validator checks it as if it could (spec 3.3.8: a new frame starts reachable).
  bool dead = false;
  // The label's arity: a branch to a loop carries its parameters, to anything else its results.
  std::span<const ValType> label_types() const { return opcode == 0x03 ? params : results; }
};

// A catch clause of try_table (Wasm 3.0 exception handling, spec 5.4.1): which exceptions it
// catches (one tag's, or all), whether the exception's reference joins its values, and the label
// it branches to, counted from outside the try_table (its own label is not visible to it).
struct CatchClause {
  enum Kind : uint8_t { kCatch = 0, kCatchRef = 1, kCatchAll = 2, kCatchAllRef = 3 };
  Kind kind = kCatch;
  uint32_t tag = 0;    // kCatch and kCatchRef
  uint32_t label = 0;  // label depth outside the try_table
  bool catches_all() const { return kind == kCatchAll || kind == kCatchAllRef; }
  bool passes_reference() const { return kind == kCatchRef || kind == kCatchAllRef; }
};

// One validated instruction, with what the consumer needs to know about the stack around it.
struct Instruction {
  uint32_t opcode = 0;
  size_t offset = 0;      // absolute byte offset of the opcode in the module
  bool reachable = true;  // false inside unreachable code (after br, return, unreachable...)
  // The instruction can run: reachable, and not inside a dead frame. For block, loop, if, else
  // and end: the frame they open, continue or close is not dead (its label can be reached).
  // Code generators emit nothing for an instruction that is not live.
  bool live = true;
  // Fuel (DESIGN-NOTES section 5, docs/BUDGETS.md), decided here once for every tier: what
  // the instruction adds to its segment's cost (1, or 0 for the free structured instructions
  // and dead code), and whether a new straight-line segment starts right after it (a loop's
  // header, an if's then-branch, else, the code after a block, a br_if's fall-through, the
  // return from a call). A segment also starts at function entry.
  uint32_t fuel_cost = 0;
  bool starts_segment = false;
  uint32_t cells_before = 0;  // operand-stack height in cells before the instruction
  // From here to the end: cleared before each instruction (FunctionValidator::reset_instruction).
  uint32_t index = 0;          // local/global/function/type/table/label/segment/tag index, or lane
  uint32_t index2 = 0;         // call_indirect's table, table.init's table, table.copy's source
  uint64_t bits = 0;           // t.const value; float constants as bits; v128 low half
  uint64_t bits_hi = 0;        // v128.const / i8x16.shuffle: the high 8 bytes
  uint32_t memory_offset = 0;  // memarg offset
  // The memory a load, store, lane, memory.size/grow/init/fill instruction names, and
  // memory.copy's destination (its source is index2). Non-zero only with multi-memory.
  uint32_t memory_index = 0;
  ValType type = ValType::kUnknown;  // select's, local's, global's or ref.null's value type
  // The operand types a table-driven operator (opcodes.h, simd_ops.h: operators, loads,
  // stores, lane operators) pops, deepest first, and the type it pushes (kUnknown: none).
  uint8_t operand_count = 0;
  ValType operands[2] = {ValType::kUnknown, ValType::kUnknown};
  ValType result = ValType::kUnknown;
  const std::vector<uint32_t>* br_table = nullptr;    // label depths; the last one is the default
  const ControlFrame* closed = nullptr;               // for `end` and `else`: the frame just closed
  const std::vector<CatchClause>* catches = nullptr;  // try_table's, in order
};

class FunctionValidator;

// What FunctionValidator::run hands a body to: begin_function before the first instruction,
// on_instruction after each validated instruction (the validator's control stack as after it,
// except that for branches the target frames are still in place), end_function after the
// function's final `end`. A template parameter, not a virtual interface: each consumer's calls
// are direct, and the validator's state stays in registers around them.
template <class T>
concept FunctionBodyConsumer = requires(T& consumer, const Instruction& ins,
                                        const FunctionValidator& validator) {
  consumer.begin_function(validator);
  consumer.on_instruction(ins, validator);
  consumer.end_function(validator);
};

class FunctionValidator {
 public:
  FunctionValidator(const Module& module, uint32_t function_index);
  // Starts over on another function of the same module (the buffers are kept: a module's
  // functions validated in turn by one validator allocate nothing each).
  void reset(uint32_t function_index);
  // Starts over on a function of another module (a thread that compiles functions of any
  // module keeps one validator for them all).
  void reset(const Module& module, uint32_t function_index) {
    module_ = &module;
    reset(function_index);
  }

  // Validates the body.
  Result<void> validate();
  // Validates the body and hands every instruction to `consumer`. Defined in
  // function_validator_run.h, which the caller includes.
  template <FunctionBodyConsumer Consumer>
  Result<void> run(Consumer& consumer);

  const Module& module() const { return *module_; }
  uint32_t function_index() const { return function_index_; }
  const FuncType& type() const { return *type_; }
  const std::vector<ValType>& local_types() const { return local_types_; }  // params first
  uint32_t local_cell(uint32_t local_index) const { return local_cells_[local_index]; }
  uint32_t total_local_cells() const { return total_local_cells_; }
  uint32_t max_operand_cells() const { return max_cells_; }
  // In a consumer's on_instruction during run(): the body's bytes after the instruction handed
  // to it, from the next instruction's opcode on (a consumer may look one instruction ahead).
  std::span<const uint8_t> bytes_after() const { return {reader_.cursor(), reader_.remaining()}; }
  uint32_t operand_cells() const { return cells_; }
  size_t control_depth() const { return ctrls_.size(); }
  // After run() or validate(), once: for each loop outside every other loop, in body order (dead
  // code's too), up to kHotLocalsPerLoop locals (parameters included) used inside it, most used
  // first: each local.get, local.set or local.tee weighs 16 to the power of its loop depth.
  // Code generators keep these in registers while the loop runs: which locals are hot differs
  // from loop to loop (memcpy's word loop and its byte loops share few).
  static constexpr size_t kHotLocalsPerLoop = 16;
  LoopHotLocals take_loop_locals() { return std::move(loop_locals_); }
  // After run(): whether the body calls (call, call_indirect) anywhere, dead code included.
  bool makes_calls() const { return makes_calls_; }
  // Whether the body has a `loop` (a function without one runs in bounded time per call).
  bool has_loops() const { return has_loops_; }
  const ControlFrame& control(uint32_t depth) const { return ctrls_[ctrls_.size() - 1 - depth]; }

 private:
  // The consumer of validation alone: nothing is delivered.
  struct NoConsumer {};
  template <class Consumer>
  static constexpr bool kDelivers = !std::is_same_v<Consumer, NoConsumer>;
  // Inlined into run() (function_validator_run.h): one loop, no call and no Result in memory per
  // instruction.
  template <class Consumer>
  inline Result<void> step(Consumer* consumer);
  // The body's instructions up to the function's final `end`, one step each.
  template <class Consumer>
  Result<void> read_instructions(Consumer* consumer);
  // After the final `end`: nothing may follow in the body.
  Result<void> check_body_ends();
  Error fail(const std::string& message) const;
  Error fail_at(const std::string& message, size_t offset) const;

  KILN_ALWAYS_INLINE void push(ValType t) {
    vals_.push_back(t);
    cells_ += cell_count(t);
    if (cells_ > max_cells_) max_cells_ = cells_;
  }
  Result<ValType> pop();
  // The common case inline: the expected type is on top, above the frame's base.
  KILN_ALWAYS_INLINE Result<ValType> pop(ValType expected) {
    if (vals_.size() > frame_height_ && vals_.back() == expected) [[likely]] {
      vals_.pop_back();
      cells_ -= cell_count(expected);
      return expected;
    }
    return pop_checked(expected);
  }
  Result<ValType> pop_checked(ValType expected);
  // Whether an operand of type `actual` may stand where `expected` is asked (kUnknown, the
  // bottom type of unreachable code, matches anything).
  Result<void> match(ValType actual, ValType expected) const;
  Result<void> pop_all(std::span<const ValType> types);
  // Checks that the stack's top holds `types` (as pop_all would) without popping them.
  Result<void> check_top(std::span<const ValType> types);
  void push_all(std::span<const ValType> types);
  void push_ctrl(uint32_t opcode, std::span<const ValType> params, std::span<const ValType> results,
                 bool dead);
  // Pops the innermost frame into closed_.
  Result<void> pop_ctrl();
  void mark_unreachable();
  // Clears what step() fills of `instruction_` for the next instruction (its fields from
  // `index` on: keep them last).
  inline void reset_instruction();

  Result<void> read_block_type(std::span<const ValType>& params, std::span<const ValType>& results);
  // Reads a memarg into `ins` (memory_index, memory_offset) and checks it. The common form
  // inline (a one-byte alignment no larger than natural, memory 0, a one-byte offset); the
  // rest, and every error, in read_memarg_general.
  KILN_ALWAYS_INLINE Result<void> read_memarg(uint32_t natural_alignment_log2, Instruction& ins) {
    const uint8_t* at = reader_.cursor();
    if (reader_.remaining() >= 2 && at[0] <= natural_alignment_log2 && at[1] < 0x80 &&
        !module_->memories.empty()) [[likely]] {
      ins.memory_index = 0;
      ins.memory_offset = at[1];
      reader_.skip_checked_bytes(2);
      return {};
    }
    return read_memarg_general(natural_alignment_log2, ins);
  }
  Result<void> read_memarg_general(uint32_t natural_alignment_log2, Instruction& ins);
  Result<void> read_lane_index(uint32_t lanes, Instruction& ins);
  template <class Consumer>
  Result<void> step_simd(Instruction& ins, Consumer* consumer);
  // What an instruction is to fuel and liveness: an operator (its own segment cost), one that
  // ends a segment after it (br_if, call, call_indirect), a structured one that opens or
  // continues a frame (block, loop, if, else, try_table), or end.
  enum class Delivery { kOperator, kSegmentEnd, kStructured, kEnd };
  // Fills in `ins.live`, its fuel cost and segment start, then hands it to the consumer
  // (inline: validation alone pays nothing).
  template <Delivery kind = Delivery::kOperator, class Consumer>
  void deliver(Instruction& ins, Consumer* consumer);
  Result<void> require_memory(uint32_t index);
  Result<void> require_table(uint32_t index);
  Result<void> require_data(uint32_t index);
  Result<void> require_elem(uint32_t index);
  Result<void> require_tag(uint32_t index);
  Result<void> read_catch_clauses();
  Result<void> read_zero_byte();
  // A memory index immediate: a u32 with multi-memory, else Wasm 2.0's zero byte.
  Result<uint32_t> read_memory_index();

  const Module* module_;
  uint32_t function_index_ = 0;
  const FuncType* type_ = nullptr;
  const FunctionBody* body_ = nullptr;
  std::vector<ValType> local_types_;
  std::vector<uint32_t> local_cells_;
  uint32_t total_local_cells_ = 0;

  BinaryReader reader_;

  FlatStack<ValType> vals_;
  uint32_t cells_ = 0;
  uint32_t max_cells_ = 0;
  std::vector<ControlFrame> ctrls_;
  uint32_t frame_height_ = 0;  // ctrls_.back().height, kept at hand for pop's fast path
  uint32_t loop_depth_ = 0;    // loops among ctrls_
  // loop_locals: per local, its weight in the current outermost loop, with kLocalWritten set
  // once the loop sets it, and the locals it uses (both cleared when the loop closes).
  static constexpr uint64_t kLocalWritten = 1;
  std::vector<uint64_t> local_weights_;
  std::vector<uint32_t> loop_used_locals_;
  LoopHotLocals loop_locals_;
  // While an outermost loop is open: the operand cells below it, and max_cells_ and makes_calls_
  // before it (they count the loop's own meanwhile).
  uint32_t loop_base_cells_ = 0;
  uint32_t max_cells_before_loop_ = 0;
  bool calls_before_loop_ = false;
  uint64_t loop_call_weight_ = 0;  // the open outermost loop's calls (LoopHotLocals::call_weight)
  // What one use weighs at the current loop depth (HotLocal::weight).
  uint64_t loop_use_weight() const { return uint64_t{1} << (4 * std::min(loop_depth_, 7u)); }
  // A call or call_indirect: the body makes calls, and the open loop's call weight grows.
  void note_call() {
    makes_calls_ = true;
    if (loop_depth_) loop_call_weight_ += loop_use_weight();
  }
  // At the end of a loop outside every other loop: its hot locals into loop_locals_.
  void close_outermost_loop();
  bool makes_calls_ = false;
  bool has_loops_ = false;
  ControlFrame closed_;
  Instruction instruction_;  // reused: step() clears only what it may set
  std::vector<uint32_t> br_table_;
  std::vector<CatchClause> catches_;
  size_t instruction_offset_ = 0;
};

// Validates everything but function bodies (spec 3.4: module-level rules).
Result<void> validate_module_structure(Module& module);

// Spec 3.2.4-3.2.5: limits of memory and table types (also of the component model's core module
// types). `where` names the item in the error.
Result<void> validate_memory_type(const MemoryType& type, const std::string& where);
Result<void> validate_table_type(const TableType& type, const std::string& where);
// Wasm 3.0 exception handling (spec 3.2.9): a tag's type is a function type without results
// (given, or by its index in `module`; also for the component model's core module types).
Result<void> validate_tag_type(const FuncType& type, const std::string& where);
Result<void> validate_tag_type(const Module& module, uint32_t type_index, const std::string& where);

}  // namespace kiln
