// Translates validated function bodies into interpreter code (a FunctionBodyConsumer).
#pragma once

#include <optional>

#include "runtime/function_validator.h"
#include "runtime/interpreter_code.h"
#include "runtime/opcodes.h"

namespace kiln {

class InterpreterTranslator {
 public:
  // `compiled` holds the CompiledFunction of every defined function (for direct calls).
  // `fuel` and `epoch` compile fuel charges and deadline checks into the code.
  // `loop_entries`: loop headers count iterations and hand the frame over to machine code
  // when hot (Handler::loop_header).
  InterpreterTranslator(const Module& module, CompiledFunction& out, bool fuel, bool epoch,
                        bool loop_entries = false);

  // Translates the next function into `out` instead (a module's functions translated in turn
  // by one translator keep its buffers).
  void retarget(CompiledFunction& out);

  void begin_function(const FunctionValidator& v);
  // Inline in the decoder's loop: a third of the instructions of compiled C are local.get (one
  // lazy operand each) and a sixth i32.const, recorded here without a call to the general
  // path (whose prologue saves every register).
  KILN_ALWAYS_INLINE void on_instruction(const Instruction& ins, const FunctionValidator& v) {
    if (ins.opcode == kLocalGet && ins.type != ValType::kV128) {
      if (!ins.live) return;
      charge(ins.fuel_cost);
      lazy_.push_back({ins.cells_before, local_slot(v, ins.index), kNotSum});
      return;
    }
    if (ins.opcode == kI32Const) {
      if (!ins.live) return;
      charge(ins.fuel_cost);
      push_constant(ins, ins.cells_before, static_cast<uint32_t>(ins.bits), false);
      return;
    }
    on_other_instruction(ins, v);
  }
  void end_function(const FunctionValidator& v);

  // A function's frame as the translation lays it out, without translating (a code tier's
  // functions are translated only when it cannot compile them, but entries from the host check
  // the interpreter's frame against the value stack under every tier): set_frame_layout fills
  // in `out`'s function index and parameter, result and local cells once `v` has begun the
  // function; frame_cells is the whole frame (constants and the operand stack included) once
  // `v` has read it, its constant cells set down in `out` for the translation to come.
  static void set_frame_layout(const FunctionValidator& v, CompiledFunction& out);
  static uint32_t frame_cells(const FunctionValidator& v, CompiledFunction& out);

 private:
  static constexpr uint32_t kNoFixup = UINT32_MAX;
  // A forward branch's distance, patched when its label's end is reached: the branch
  // instruction's start and the unit holding the distance. Kept in one pool for the function
  // (a vector per label allocated for most blocks), chained per label through `next`.
  struct Fixup {
    uint32_t instruction_start = 0;
    uint32_t delta_unit = 0;
    uint32_t next = kNoFixup;
  };
  struct Label {
    uint32_t loop_start = 0;
    bool is_loop = false;
    bool dead = false;  // opened in unreachable code: nothing inside is emitted
    // An if's branch to its else-branch, patched at `else` (or at `end` without one).
    std::optional<Fixup> else_branch;
    uint32_t fixups = kNoFixup;  // the last of the branches to this label's end, in fixups_
    // A try_table's entry in out_->exception_handlers (UINT32_MAX: not one), and the catches
    // (handler, catch) that land at this label's end.
    uint32_t handler = UINT32_MAX;
    std::vector<std::pair<uint32_t, uint32_t>> catch_fixups;
  };

  uint32_t pc() const { return static_cast<uint32_t>(cursor_ - code_->data()); }
  uint32_t slot(uint32_t operand_cell) const {
    return (local_cells_ + constant_cells_ + operand_cell) * 8;
  }
  uint32_t local_slot(const FunctionValidator& v, uint32_t local) const {
    return v.local_cell(local) * 8;
  }
  void begin(Handler h, const Instruction& ins);
  // The code is written through a cursor into code_, which is kept larger than what is
  // written (a push_back per unit was a call each) and cut to size at the end.
  KILN_ALWAYS_INLINE void unit(uint32_t u) {
    if (cursor_ == end_) [[unlikely]]
      grow_code();
    *cursor_++ = u;
  }
  void grow_code();
  void truncate_code(uint32_t units) { cursor_ = code_->data() + units; }
  void pointer(const void* p);
  void set_handler(uint32_t instruction_start, Handler h);  // rewrites an emitted instruction
  void v128_immediate(const Instruction& ins);              // 16 bytes as four units
  // Emits the target distance of a branch to label `depth` (patched later for forward ones).
  void branch_target(uint32_t instruction_start, uint32_t depth);
  void patch(uint32_t instruction_start, uint32_t delta_unit, uint32_t target);
  // A branch to `label`'s end, to be patched there.
  void add_fixup(Label& label, uint32_t instruction_start, uint32_t delta_unit);
  void emit_branch(const Instruction& ins, const FunctionValidator& v, uint32_t depth,
                   uint32_t values_top);
  void emit_control(const Instruction& ins, const FunctionValidator& v);
  void on_other_instruction(const Instruction& ins, const FunctionValidator& v);
  // Everything but control instructions, for on_other_instruction (which selects the memory
  // first). Inlined into its one caller: a call more per instruction cost 3 % of a WASI
  // hello-world's start-up in register saves and restores.
  KILN_ALWAYS_INLINE void emit_operation(const Instruction& ins, const FunctionValidator& v);
  // A loop header's hand-over to machine code, if the loop can take one (on-stack replacement).
  void emit_loop_header(const Instruction& ins);
  // A live try_table's handler entry (its catches' targets are patched at their labels).
  void begin_exception_handler(const Instruction& ins, const FunctionValidator& v, Label& label);
  // Fuel (docs/BUDGETS.md): a `fuel` instruction opens each straight-line segment, and each
  // instruction of the segment adds its cost to that instruction's operand.
  void start_segment(const Instruction& ins);
  void charge(uint32_t cost) {
    if (fuel_ && segment_cost_unit_ != UINT32_MAX) (*code_)[segment_cost_unit_] += cost;
  }

  const Module& module_;
  CompiledFunction* out_;
  CodeUnits* code_;
  uint32_t* cursor_ = nullptr;  // where the next unit goes, in code_
  uint32_t* end_ = nullptr;     // code_'s end
  const void* const* handlers_;
  // Lazy operands (DESIGN-NOTES section 2: operands read from frame slots). A local.get emits
  // nothing: its operand cell is recorded as living in the local's slot, and operators read it
  // from there. Before anything that needs operands in their own cells (branches, calls, block
  // boundaries, and writes to that local) the pending ones are copied into place.
  //
  // An `i32.add` of two such operands is lazy as well (a lazy sum): nothing is emitted until
  // its sum is used. A load or store at the sum takes both addends (NAME_add); anything else
  // gets the add emitted just before it, into the sum's own cell.
  struct LazyOperand {
    uint32_t cell;    // the operand's cell
    uint32_t source;  // the slot it is read from (a local's or a constant's)
    uint32_t addend;  // a lazy sum's second addend's slot, or kNotSum
  };
  static constexpr uint32_t kNotSum = UINT32_MAX;
  // Where the operand at this cell is (byte offset), or kPendingSum for a lazy sum, which must
  // be materialized first.
  static constexpr uint32_t kPendingSum = UINT32_MAX;
  uint32_t in(uint32_t operand_cell) const;
  const LazyOperand* lazy_at(uint32_t operand_cell) const;   // the lazy operand at this cell
  const LazyOperand* lazy_sum(uint32_t operand_cell) const;  // the lazy sum at this cell, if any
  // copy (or copy2 for a v128) from one frame slot to another.
  void emit_copy(const Instruction& ins, uint32_t from, uint32_t to, uint32_t cells = 1);
  void emit_sum(const Instruction& ins, uint32_t a, uint32_t b, uint32_t to);  // an i32.add
  void materialize(const Instruction& ins, const LazyOperand& operand);
  // Emits and forgets the lazy operands for which `which(operand)` holds; true if any.
  template <typename Predicate>
  bool materialize_where(const Instruction& ins, Predicate which);
  void materialize_all(const Instruction& ins);
  bool materialize_local(const Instruction& ins, uint32_t local_slot);  // true if any emitted
  void materialize_sums(const Instruction& ins, uint32_t from_cell);    // at these cells
  void consume_from(uint32_t operand_cell);  // operands at these cells were used up
  // A load or store whose address is a lazy sum: emits its NAME_add form.
  bool emit_sum_address(const Instruction& ins, Handler access, uint32_t first, bool load);
  // `local.set`/`local.tee` of the value the last emitted instruction wrote: write it directly.
  bool retarget_last_result(uint32_t from_slot, uint32_t to_slot);
  // Superinstructions (interpreter_code.h). When the last instruction emitted is a test or
  // comparison whose result is the operand at `cell`, turns it into a branch taken when the
  // result is true (`br_if`) or false (`if`), whose distance unit is then to be emitted.
  bool fuse_condition(uint32_t cell, bool jump_when_true);
  // When the last instruction emitted is an i32.add whose sum is the operand at `cell`, turns
  // it into `load` of that sum.
  bool fuse_load_address(const Instruction& ins, Handler load, uint32_t cell);
  // When the last instruction emitted is an i32.shl whose result is one operand of the
  // i32.add at `first`, `first + 1`, turns it into the scaled sum.
  bool fuse_scaled_add(uint32_t first);
  // When the last instruction emitted is a plain load of one of the two operands of `op` (at
  // `first` and `first + 1`), turns it into op's NAME_load form.
  bool fuse_memory_operand(Handler op, uint32_t first);

  // A constant is lazy too: it lives in a constant cell of the frame (interpreter_code.h), and
  // operators read it from there, as from a local that is never written.
  void push_constant(const Instruction& ins, uint32_t cell, uint64_t bits, bool wide);
  bool is_zero_constant(uint32_t source) const;  // a constant cell holding 0
  // The constant cell (from 0) holding `bits`, made if there is room; UINT32_MAX if not.
  uint32_t constant_index(uint64_t bits);
  std::vector<std::pair<uint64_t, uint32_t>> constant_table_;  // constant_index's table

  std::vector<LazyOperand> lazy_;        // cells rising
  uint32_t last_dst_unit_ = UINT32_MAX;  // the dst operand of the instruction just emitted
  uint32_t last_start_ = 0;              // where the instruction just emitted starts
  Handler last_handler_ = Handler::kCount;
  uint32_t label_barrier_ = 0;  // code from here on may be a branch target: no pair across it
  uint32_t local_cells_ = 0;
  uint32_t constant_cells_ = 0;    // reserved for constants; out_->constants holds those used
  bool entered_loop_ = false;      // a loop has begun: code may run more than once per call
  std::vector<bool> zero_locals_;  // per local cell: known to hold its initial zero
  bool fuel_ = false;
  bool epoch_ = false;
  bool loop_entries_ = false;
  uint32_t segment_cost_unit_ = UINT32_MAX;
  std::vector<Label> labels_;
  std::vector<Fixup> fixups_;
};

// Instantiated once, in interpreter_translator.cpp.
extern template Result<void> FunctionValidator::run(InterpreterTranslator& consumer);

}  // namespace kiln
