// The JIT's single-pass code generator (DESIGN-NOTES sections 1 and 7): a consumer of the one
// function-body decoder that emits machine code through the macro-assembler, in the style of
// V8's Liftoff and wasmtime's Winch. It keeps an abstract value stack whose entries are in
// their own frame cell, in a register, a constant, or a local's cell not yet copied (so
// `local.get` and constants emit nothing until used), allocates registers from the backend's
// pool, and brings every value to its cell at control-flow merges and calls.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "compiler/inline_closure.h"
#include "compiler/macro_assembler.h"
#include "compiler/runtime_calls.h"
#include "runtime/flat_stack.h"
#include "runtime/function_validator.h"
#include "runtime/tier.h"

namespace kiln::jit {

class CodeGenerator {
 public:
  // The generator's working vectors, lent to one generator at a time and taken back cleared,
  // their capacity kept: a thread compiling function after function keeps one (a generator of
  // its own allocated about twenty times per function compiled).
  struct Buffers;
  // With `buffers`, the generator works in those (and gives them back when destroyed).
  CodeGenerator(const Module& module, MacroAssembler& masm, const CodeTierOptions& options,
                Buffers* buffers = nullptr);
  ~CodeGenerator();
  CodeGenerator(const CodeGenerator&) = delete;
  CodeGenerator& operator=(const CodeGenerator&) = delete;

  void begin_function(const FunctionValidator& v);
  // Table-driven operators (the most frequent instructions) go to their own function, whose
  // frame is light; the rest to the one with the large switch (its prologue and epilogue cost
  // 16 host instructions per call).
  KILN_ALWAYS_INLINE void on_instruction(const Instruction& ins, const FunctionValidator& v) {
    if (failed_) return;
    if (ins.operand_count || ins.result != ValType::kUnknown) {
      on_operator(ins);
    } else if (!push_without_code(ins, v)) {
      on_other_instruction(ins, v);
    }
  }
  void end_function(const FunctionValidator& v);

  // Whether the function could not be compiled (the interpreter then runs it).
  bool failed() const { return failed_; }
  // With guard-page bounds: (native offset, module offset) of every memory access, and the
  // label of the stub a faulting access resumes at.
  const std::vector<std::pair<uint32_t, uint32_t>>& memory_access_sites() const {
    return memory_access_sites_;
  }
  Label memory_fault_label() const { return memory_fault_; }
  // The entries at loop headers (on-stack replacement, NativeFunction::loop_entries), in the
  // order of the loops.
  struct LoopEntry {
    uint32_t module_offset;
    Label loop;               // the loop's label
    Label entry;              // the entry, after the body
    uint32_t pinned_set = 0;  // the locals in registers in the loop (PinnedSet)
  };
  const std::vector<LoopEntry>& loop_entries() const { return loop_entries_; }
  // Data the generated code points at, for its NativeFunction to keep.
  std::vector<std::shared_ptr<const void>> take_code_data() { return std::move(code_data_); }

 private:
  struct Value {
    // kCondition: an integer comparison not yet computed (reg compared with `b`), kept so that
    // a br_if or if right after it compares and branches in one step; anything else computes
    // it first (materialize_condition).
    //
    // kScaled and kAddress: an address for a load right after, not yet computed (guard pages
    // only). kScaled is an i32 `reg << shift` whose operand is small enough that the shift
    // cannot wrap; kAddress is `reg + (index << shift)`, an i32.add of a value and a kScaled.
    // A load of a kAddress puts the sum into its addressing (load_memory_scaled); anything else
    // computes it first (compute_lazy_address). Like kCondition, only ever the top value, and
    // its registers stay held.
    enum class Where : uint8_t {
      kCell,
      kRegister,
      kConstant,
      kLocal,
      kCondition,
      kScaled,
      kAddress
    } where = Where::kCell;
    ValType type = ValType::kI32;
    Reg reg = 0;
    Reg index = 0;                         // kAddress: the scaled operand's register
    uint8_t shift = 0;                     // kScaled, kAddress
    Condition condition = Condition::kEq;  // kCondition: reg `condition` b, at `width`
    Width width = Width::k32;
    uint32_t cell = 0;       // its own operand cell
    int32_t local_slot = 0;  // kLocal: the local's byte offset in the frame
    // kRegister, kScaled, kAddress (i32 only): the largest value it can hold, as far as the
    // generator knows (masks, narrow loads, shifts right, bitwise operators of such values);
    // for kScaled and kAddress, of the scaled operand.
    uint32_t max = UINT32_MAX;
    int16_t local_reg = -1;  // kLocal: the register the local lives in, if it is pinned
    uint64_t bits = 0;       // kConstant
    Source b;
  };
  struct Block {
    Label label = 0;       // where branches go: the loop's start, or the end
    Label else_label = 0;  // an if's else-branch (or its end, without one)
    bool is_loop = false;
    bool is_if = false;
    bool is_try = false;  // a live try_table: its catches are in try_tables_ while it is open
    bool has_else = false;
    bool live = false;
    uint32_t pinned_set = 0;    // the locals in registers at its label (PinnedSet)
    uint32_t height_cells = 0;  // operand cells below the block
    uint32_t label_cells = 0;   // cells a branch to the label carries
  };

  int32_t operand_slot(uint32_t cell) const {
    return static_cast<int32_t>((local_cells_ + cell) * 8);
  }
  KILN_ALWAYS_INLINE uint32_t top_cells() const;

  // Values and registers.
  KILN_ALWAYS_INLINE void push_register(ValType t, Reg r);
  void push_cell(ValType t, uint32_t cell);
  KILN_ALWAYS_INLINE void push_constant(ValType t, uint64_t bits);
  // local.get: the local itself, read when used (in its register if pinned). A v128 local is
  // copied to its cell instead (on_other_instruction).
  KILN_ALWAYS_INLINE void push_local(const Instruction& ins, const FunctionValidator& v);
  // i32.const, i64.const, f32.const, f64.const: the constant (a 32-bit one's bits zero-extended).
  KILN_ALWAYS_INLINE void push_scalar_constant(const Instruction& ins);
  // local.get of a scalar and the scalar constants, the most frequent of the instructions that
  // are not operators, emit nothing: they push the local or the constant. Done here, without
  // on_other_instruction's frame and checks, when none of those checks applies: the
  // instruction runs, the stack's top is neither a pending comparison nor a lazy address (which
  // on_other_instruction computes first), and the stack is as high as the decoder says. False,
  // nothing done, otherwise.
  KILN_ALWAYS_INLINE bool push_without_code(const Instruction& ins, const FunctionValidator& v);
  KILN_ALWAYS_INLINE Value pop();                 // its register, if any, stays held until released
  void release(const Value& v);                   // frees a popped value's register
  void free_register(RegisterClass c, Reg r);     // frees a held register
  bool has_free_register(RegisterClass c) const;  // one that allocate takes without a spill
  Reg allocate(RegisterClass c);      // spills the deepest register value if none is free
  Reg take_register(const Value& v);  // a register holding v that the caller may overwrite
  static bool is_pinned_local(const Value& v) {
    return v.where == Value::Where::kLocal && v.local_reg >= 0;
  }
  // Whether v reads the local kept in register r.
  static bool is_local_in(const Value& v, Reg r) {
    return v.where == Value::Where::kLocal && v.local_reg == static_cast<int16_t>(r);
  }
  // A register holding v for an instruction that only reads it: a pinned local's own register
  // (no copy), else take_register's. Freed after as any (freeing a pinned one does nothing).
  Reg read_register(const Value& v) {
    return is_pinned_local(v) ? static_cast<Reg>(v.local_reg) : take_register(v);
  }
  // a OP b into a newly allocated register pushed as a value of type t, when the macro-assembler
  // has a one-instruction form for it (MacroAssembler::int_binary_into); false, nothing
  // emitted or pushed, otherwise.
  bool int_binary_into_new_register(IntBinaryOp op, Width w, ValType t, const Source& a,
                                    const Source& b);
  Source source_of(const Value& v, bool immediate_ok);  // v as an operator's second operand
  void store_value(const Value& v, int32_t slot);
  void spill(Value& v);                  // to its own cell
  void spill_registers();                // every value held in a register
  void materialize_from(uint32_t cell);  // values at or above `cell` into their own cells
  void flush();                          // every value into its own cell (a merge point)
  void spill_local_aliases(int32_t local_slot);
  void reset_stack(uint32_t height_cells, std::span<const ValType> types);
  // A condition on top of the stack becomes an i32 in its register. Inline: asked before
  // almost every instruction, and almost always there is none.
  KILN_ALWAYS_INLINE void materialize_condition() {
    if (!stack_.empty() && stack_.back().where == Value::Where::kCondition) compute_condition();
  }
  void compute_condition();
  // A kScaled or kAddress on top of the stack is computed, unless `ins` consumes it (an i32.add
  // a kScaled, a load of memory 0 a kAddress). Inline: asked before every instruction.
  KILN_ALWAYS_INLINE void materialize_lazy_address(const Instruction& ins) {
    if (!stack_.empty() && stack_.back().where >= Value::Where::kScaled) [[unlikely]]
      materialize_lazy_address_for(ins);
  }
  void materialize_lazy_address_for(const Instruction& ins);
  void compute_lazy_address(Value& v);
  // `a` << `shift_count` (a constant) kept as a kScaled when it is a shift by 1-3 of a small
  // value; false, nothing emitted or pushed, when it is not.
  bool scale_lazily(const Value& a, const Value& shift_count);
  // `a` + `scaled` (a kScaled) kept as a kAddress.
  void add_lazily(const Value& a, const Value& scaled);
  // The largest value `v` (an i32) can hold, as far as the generator knows.
  KILN_ALWAYS_INLINE static uint32_t known_max(const Value& v);
  // The same for the result of the i32 operator `op` on a and b.
  KILN_ALWAYS_INLINE static uint32_t int_binary_max(IntBinaryOp op, const Value& a, const Value& b);
  // Everything but the lazy forms of an integer binary operator: its result pushed.
  KILN_ALWAYS_INLINE void emit_int_binary(IntBinaryOp op, Width w, const Value& a, const Value& b);
  // A load at a kAddress (popped), the sum in the access's addressing when it cannot wrap.
  void emit_scaled_load(const Instruction& ins, const MemoryAccess& access);
  // Branches to `target` when the i32 `condition` (popped) is nonzero, or zero with
  // `when_zero`: fused with the comparison when it is a pending one. Flushes the other values
  // first (a branch is a merge point).
  void branch_on(const Value& condition, bool when_zero, Label target);

  // Code.
  // `frame`: the function the trap is in (kNoFrame: at the caller's call).
  void emit_raise(uint32_t code, RuntimeArgument module_offset, uint32_t frame);
  void emit_raise(uint32_t code, uint32_t module_offset, uint32_t frame) {
    emit_raise(code, RuntimeArgument::immediate(module_offset), frame);
  }
  // A site's way out with trap `code` (a TrapCode, or kPendingTrap: a runtime call or callee
  // trapped): a stub that loads the site's offset and jumps to the function's one raise block
  // for `code` (emitted after the stubs), rather than a whole runtime call per site.
  Label raise_stub(uint32_t code, uint32_t module_offset);
  Label trap_stub(TrapCode code, uint32_t module_offset) {
    return raise_stub(static_cast<uint32_t>(code), module_offset);
  }
  Label pending_trap_stub(uint32_t module_offset) {
    return raise_stub(kPendingTrap, module_offset);
  }
  void emit_prologue(uint32_t module_offset);
  bool enterable_loop(const Instruction& ins) const;
  void emit_loop_entries();
  std::vector<LoopEntry> loop_entries_;
  void start_segment(const Instruction& ins);
  // Charges the segment first if it has not been (open_charge). Inline: at every instruction.
  KILN_ALWAYS_INLINE void add_cost(const Instruction& ins) {
    if (ins.fuel_cost && charge_pending_) [[unlikely]]
      open_charge();
    segment_cost_ += ins.fuel_cost;
  }
  void open_charge();
  void end_segment();
  void epoch_check(uint32_t module_offset);
  void branch_to(uint32_t depth, uint32_t values_top);  // values already in their cells
  void emit_return(uint32_t values_top);
  void emit_control(const Instruction& ins, const FunctionValidator& v);
  bool emit_inline(const Instruction& ins);
  void on_operator(const Instruction& ins);
  void on_other_instruction(const Instruction& ins, const FunctionValidator& v);
  void emit_out_of_line(const Instruction& ins, uint32_t operand_cells, ValType result,
                        uint64_t immediate, uint64_t immediate2);
  void emit_call(const Instruction& ins, uint32_t param_cells, const std::vector<ValType>& results);

  // Wasm 3.0 exception handling. Each open try_table: the catches of it and of the try_tables
  // around it (innermost first), and where each lands: a label, or the function's return.
  struct TryTable {
    std::shared_ptr<const JitCatches> catches;
    struct Landing {
      Label label;
      bool returns = false;  // the catch's label is the function's: it returns
      uint32_t pinned_set = 0;
    };
    std::vector<Landing> landings;
  };
  void open_try_table(const Instruction& ins, const FunctionValidator& v);
  // Where a call or throw goes when it returns a trap: with try_tables open, a stub that asks
  // kiln_jit_catch and lands at the catch's label; else the pending trap's stub.
  Label exception_path(uint32_t module_offset);
  std::vector<TryTable> try_tables_;
  std::vector<std::shared_ptr<const void>> code_data_;

  // Locals kept in registers while a loop runs (DESIGN-NOTES section 7): at the header of each
  // loop outside every other loop, the hottest locals inside it, as the decoder counted them
  // (CompiledFunction::loop_locals), are loaded into registers that leave the value pool until
  // the loop's end; outside such loops every local is in its cell. While the loop runs, the
  // cells of the locals it sets are stale: they are written back before whatever reads them
  // or clobbers the registers: calls (save_pinned before, restore_pinned after), branches out
  // of the loop (branch_to) and the loop's end. A function with one such loop keeps its
  // locals in registers from entry to return instead (nothing to write back when the loop
  // ends: fib's loop around its recursive call is left once per call).
  struct PinnedLocal {
    uint32_t index;
    int32_t slot;
    ValType type;
    Reg reg;
    bool written;      // the loop sets it (HotLocal::written): its cell is stale
    bool loop_writes;  // the loop itself sets it (written may count code before the loop too)
  };
  // A set of pinned locals: an index into pinned_sets_, where 0 is the empty set (outside
  // loops). Out-of-line code emitted after the body names the set of its site.
  using PinnedSet = uint32_t;
  // Inline: asked at every local instruction, mostly outside loops (no set).
  KILN_ALWAYS_INLINE const PinnedLocal* pinned(int32_t local_slot) const {
    return pinned_set_ == 0 ? nullptr : pinned_in_set(local_slot);
  }
  const PinnedLocal* pinned_in_set(int32_t local_slot) const;
  // The pinned local of type t that the next instruction sets, when it is a local.set or
  // local.tee of one (looked up in the bytes after the current instruction), else null. An
  // operator whose result it is computes straight into the local's register and pushes the
  // local (the set then copies nothing): on a loop's induction variable (i = i + 1) that is
  // one instruction less on the chain each iteration carries.
  const PinnedLocal* next_sets_pinned_local(ValType t) const {
    return pinned_set_ == 0 ? nullptr : next_sets_pinned_local_in_set(t);
  }
  const PinnedLocal* next_sets_pinned_local_in_set(ValType t) const;
  // a OP b into `target`'s register, pushed as the local; false, nothing emitted, when the
  // register must hold b while a is written to it (a non-commutative OP with b the local).
  bool int_binary_into_local(IntBinaryOp op, Width w, const Value& a, const Value& b,
                             const PinnedLocal& target);
  bool float_binary_into_local(FloatBinaryOp op, Width w, const Value& a, const Value& b,
                               const PinnedLocal& target);
  // Copies v's value into register r (of v's class); v is left as it is.
  KILN_ALWAYS_INLINE void load_into(Reg r, const Value& v);
  // Pushes the pinned local `target` (a value the stack reads from its register).
  void push_pinned_local(const PinnedLocal& target);
  void save_pinned() { save_pinned(pinned_set_); }        // the written locals to their cells
  void restore_pinned() { restore_pinned(pinned_set_); }  // every one from its cell
  void save_pinned(PinnedSet set);
  void restore_pinned(PinnedSet set);
  // At the header of the `ordinal`th loop outside every other loop (every value in its cell):
  // its hot locals into registers. `written_outside`: code outside the loop may set them too
  // (a function's one loop's set, kept from entry to return), so each counts as written.
  void pin_loop_locals(uint32_t ordinal, const FunctionValidator& v, bool written_outside);
  // Makes `set` the current one: its registers leave the value pool, the current set's return
  // (no value may be in a register). Emits nothing.
  void switch_pinned_set(PinnedSet set);
  // At the header of a function's one loop (its set kept from entry, every local counted as
  // written): the locals the loop never sets go to their cells once, here on the way in, and
  // the loop runs with a set of the same registers that does not store them before each call
  // (only for a loop with calls).
  void enter_function_loop();
  // What the runtime holds of the function being compiled (its validation pass's findings).
  const CompiledFunction& compiled_function() const {
    return *module_.compiled[function_index_ - module_.imported_functions];
  }
  // Whether going from the current set to `target` moves locals between registers and cells:
  // not between the from-entry set and its in-loop twin (the same registers).
  bool changes_pinned(PinnedSet target) const {
    return registers_of(target) != registers_of(pinned_set_);
  }
  // The first set with the same locals in the same registers as `set`.
  PinnedSet registers_of(PinnedSet set) const {
    return set == loop_twin_ && set != 0 ? from_entry_set_ : set;
  }
  const std::vector<PinnedLocal>& current_pinned() const { return pinned_sets_[pinned_set_]; }
  std::vector<std::vector<PinnedLocal>> pinned_sets_;
  // The function's one loop's in-loop set (enter_function_loop) and the from-entry set it is
  // the twin of; 0 when there is none.
  PinnedSet loop_twin_ = 0, from_entry_set_ = 0;
  PinnedSet pinned_set_ = 0;
  // For each local cell, its index in the current set, or -1 (pinned's lookup).
  std::vector<int8_t> pinned_at_cell_;
  uint32_t open_loops_ = 0;           // loops among blocks_, dead ones too
  uint32_t outermost_loops_ = 0;      // loops outside every other loop so far, dead ones too
  bool pinned_for_function_ = false;  // the one loop's set, from entry to return
  std::vector<Reg> general_pool_, float_pool_;  // value registers left for the value stack

  const Module& module_;
  const FunctionValidator* validator_ = nullptr;  // the function's, from begin_function
  MacroAssembler& masm_;
  CodeTierOptions options_;
  bool failed_ = false;
  uint32_t function_index_ = 0;
  uint32_t local_cells_ = 0;
  FlatStack<Value> stack_;
  std::vector<Block> blocks_;
  static constexpr int kFree = -1, kHeld = -2, kPinned = -3;
  int general_owner_[32];
  int float_owner_[32];
  std::vector<InlineClosure> stubs_;  // out-of-line code, emitted after the body
  std::vector<std::pair<uint32_t, Label>> raise_blocks_;  // (trap code, its raise block)
  // raise_stub's stubs (the most frequent out-of-line code: plain data, not closures).
  struct RaiseSite {
    Label stub;
    Label block;
    uint32_t module_offset;
  };
  std::vector<RaiseSite> raise_sites_;
  // Fuel: the charge of the current straight-line segment, and its cost so far.
  uint32_t charge_ = UINT32_MAX;  // the open segment's charge, once emitted
  uint32_t segment_cost_ = 0;
  uint32_t segment_offset_ = 0;  // where the open segment starts (an out-of-fuel trap's place)
  bool charge_pending_ = false;  // the open segment has cost nothing yet
  Label stack_exhausted_ = 0;
  std::vector<uint32_t> frame_size_patches_;  // the prologues' frame sizes (emit_prologue)
  EntryChecks entry_checks_;
  Label function_entry_ = 0;  // bound at the code's first byte (recursive calls)
  Label memory_fault_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> memory_access_sites_;
  // The out-of-bounds trap of a memory access at `module_offset`: a stub to jump to with
  // explicit checks; none with guard pages (the access's site is recorded instead).
  Label out_of_bounds(uint32_t module_offset);

  Buffers* buffers_ = nullptr;
};

// Each of the generator's vectors that Buffers keeps.
#define KILN_CODE_GENERATOR_BUFFERS(X)                                                        \
  X(loop_entries_)                                                                            \
  X(try_tables_) X(pinned_sets_) X(pinned_at_cell_) X(general_pool_) X(float_pool_) X(stack_) \
      X(blocks_) X(stubs_) X(raise_blocks_) X(raise_sites_) X(frame_size_patches_)            \
          X(memory_access_sites_)

struct CodeGenerator::Buffers {
#define KILN_BUFFER_MEMBER(member) decltype(CodeGenerator::member) member;
  KILN_CODE_GENERATOR_BUFFERS(KILN_BUFFER_MEMBER)
#undef KILN_BUFFER_MEMBER
};

// Used by both parts of the generator (code_generator.cpp and code_generator_control.cpp).

inline uint32_t CodeGenerator::top_cells() const {
  if (stack_.empty()) return 0;
  return stack_.back().cell + cell_count(stack_.back().type);
}

inline void CodeGenerator::push_register(ValType t, Reg r) {
  Value v;
  v.where = Value::Where::kRegister;
  v.type = t;
  v.reg = r;
  v.cell = top_cells();
  (register_class(t) == RegisterClass::kGeneral ? general_owner_ : float_owner_)[r] =
      static_cast<int>(stack_.size());
  stack_.push_back(v);
}

inline void CodeGenerator::push_constant(ValType t, uint64_t bits) {
  Value v;
  v.where = Value::Where::kConstant;
  v.type = t;
  v.bits = bits;
  v.cell = top_cells();
  stack_.push_back(v);
}

inline void CodeGenerator::push_local(const Instruction& ins, const FunctionValidator& v) {
  const int32_t slot = static_cast<int32_t>(v.local_cell(ins.index) * 8);
  Value value;
  value.where = Value::Where::kLocal;
  value.type = ins.type;
  value.local_slot = slot;
  if (const PinnedLocal* p = pinned(slot)) value.local_reg = p->reg;
  value.cell = ins.cells_before;
  stack_.push_back(value);
}

inline bool CodeGenerator::push_without_code(const Instruction& ins, const FunctionValidator& v) {
  const uint32_t op = ins.opcode;
  if (op != kLocalGet && (op < kI32Const || op > kF64Const)) return false;
  if (!ins.live || ins.cells_before != top_cells()) return false;
  if (!stack_.empty() && stack_.back().where >= Value::Where::kCondition) return false;
  if (op == kLocalGet && ins.type == ValType::kV128) return false;
  add_cost(ins);
  if (op == kLocalGet) {
    push_local(ins, v);
  } else {
    push_scalar_constant(ins);
  }
  return true;
}

inline void CodeGenerator::push_scalar_constant(const Instruction& ins) {
  switch (ins.opcode) {
    case kI32Const:
      push_constant(ValType::kI32, static_cast<uint32_t>(ins.bits));
      break;
    case kI64Const:
      push_constant(ValType::kI64, ins.bits);
      break;
    case kF32Const:
      push_constant(ValType::kF32, static_cast<uint32_t>(ins.bits));
      break;
    default:  // kF64Const
      push_constant(ValType::kF64, ins.bits);
      break;
  }
}

inline CodeGenerator::Value CodeGenerator::pop() {
  Value v = stack_.back();
  stack_.pop_back();
  if (v.where == Value::Where::kRegister) {
    (register_class(v.type) == RegisterClass::kGeneral ? general_owner_ : float_owner_)[v.reg] =
        kHeld;
  }
  return v;
}

}  // namespace kiln::jit
