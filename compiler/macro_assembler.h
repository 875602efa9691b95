// The ISA-neutral macro-assembler the code generator is written against (DESIGN-NOTES
// section 7). Operations are named in Wasm's terms (an i32 add, a checked load from memory 0,
// a fuel charge); each backend (compiler/x64/, later compiler/arm64/) chooses the machine
// instructions. The generator owns the value stack and register allocation; the backend owns
// the fixed registers (frame pointer, VM context, memory base) and its scratch registers.
//
// The JIT's calling convention (the same on every backend): a function's frame is an array of
// 64-bit cells on the store's value stack, laid out as the interpreter's (parameters, declared
// locals, then the operand stack; a v128 takes two cells), so a call's arguments are the top
// cells of the caller's operand stack and become the callee's first cells, and results come
// back there. The frame pointer and the VM context live in callee-preserved registers; a
// function returns a status: 0, or 1 when a trap is pending in the store's context.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/tier.h"
#include "runtime/types.h"

namespace kiln::jit {

using Reg = uint8_t;  // a backend register number, general-purpose or float by the value type
using Label = uint32_t;

enum class RegisterClass : uint8_t { kGeneral, kFloat };
inline RegisterClass register_class(ValType t) {
  return t == ValType::kF32 || t == ValType::kF64 ? RegisterClass::kFloat : RegisterClass::kGeneral;
}

// The second operand of an operator: a register, a frame cell (byte offset from the frame
// pointer) or an immediate.
struct Source {
  enum class Kind : uint8_t { kRegister, kSlot, kImmediate } kind = Kind::kRegister;
  Reg reg = 0;
  int32_t slot = 0;
  int64_t immediate = 0;
  static Source of_register(Reg r) { return {Kind::kRegister, r, 0, 0}; }
  static Source of_slot(int32_t s) { return {Kind::kSlot, 0, s, 0}; }
  static Source of_immediate(int64_t v) { return {Kind::kImmediate, 0, 0, v}; }
};

enum class Width : uint8_t { k32, k64 };

enum class IntBinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kAnd,
  kOr,
  kXor,
  kShl,
  kShrS,
  kShrU,
  kRotl,
  kRotr
};
enum class IntUnaryOp : uint8_t { kEqz, kClz, kCtz, kPopcnt, kExtend8S, kExtend16S, kExtend32S };
enum class IntDivideOp : uint8_t { kDivS, kDivU, kRemS, kRemU };
inline bool is_signed_division(IntDivideOp op) {
  return op == IntDivideOp::kDivS || op == IntDivideOp::kRemS;
}
inline bool is_remainder(IntDivideOp op) {
  return op == IntDivideOp::kRemS || op == IntDivideOp::kRemU;
}
enum class Condition : uint8_t { kEq, kNe, kLtS, kLtU, kGtS, kGtU, kLeS, kLeU, kGeS, kGeU };
// The condition that holds exactly when `c` does not.
inline Condition negate(Condition c) {
  // Each condition's negation, in Condition's order.
  static constexpr Condition kNegations[] = {
      Condition::kNe,  Condition::kEq,  Condition::kGeS, Condition::kGeU, Condition::kLeS,
      Condition::kLeU, Condition::kGtS, Condition::kGtU, Condition::kLtS, Condition::kLtU};
  return kNegations[static_cast<size_t>(c)];
}
enum class FloatBinaryOp : uint8_t { kAdd, kSub, kMul, kDiv, kMin, kMax, kCopysign };
enum class FloatUnaryOp : uint8_t { kAbs, kNeg, kSqrt, kCeil, kFloor, kTrunc, kNearest };
enum class FloatCondition : uint8_t { kEq, kNe, kLt, kGt, kLe, kGe };
enum class Conversion : uint8_t {
  kI32WrapI64,
  kI64ExtendI32S,
  kI64ExtendI32U,
  kF32ConvertI32S,
  kF32ConvertI64S,
  kF32ConvertI32U,
  kF64ConvertI32S,
  kF64ConvertI64S,
  kF64ConvertI32U,
  kF32DemoteF64,
  kF64PromoteF32,
  kI32ReinterpretF32,
  kI64ReinterpretF64,
  kF32ReinterpretI32,
  kF64ReinterpretI64,
};
// A scalar access to memory 0: the value's type and the bytes in memory.
struct MemoryAccess {
  ValType type = ValType::kI32;
  uint8_t bytes = 4;
  bool sign_extend = false;
};

// An argument of a call into the runtime (C calling convention, integer arguments only).
struct RuntimeArgument {
  enum class Kind : uint8_t { kVmContext, kSlotAddress, kImmediate, kPreset } kind;
  int64_t value = 0;  // the slot's byte offset, or the immediate
  static RuntimeArgument vm() { return {Kind::kVmContext, 0}; }
  static RuntimeArgument slot_address(int32_t slot) { return {Kind::kSlotAddress, slot}; }
  static RuntimeArgument immediate(int64_t v) { return {Kind::kImmediate, v}; }
  // Already in its register (set_runtime_argument): code that several sites jump to, each
  // after loading its own value.
  static RuntimeArgument preset() { return {Kind::kPreset, 0}; }
};

// What a function's prologue checks beyond the stack pointer (which stands for the native
// stack, the call depth and the deadline): a leaf's caller's checks may cover its frame.
struct EntryChecks {
  bool value_stack = true;  // the frame against the value stack's end
};

class MacroAssembler {
 public:
  virtual ~MacroAssembler() = default;

  // The registers the generator may keep values in; everything else is the backend's.
  virtual std::span<const Reg> value_registers(RegisterClass c) const = 0;

  virtual Label new_label() = 0;
  virtual void bind(Label label) = 0;
  virtual void jump(Label label) = 0;
  virtual uint32_t position() const = 0;  // native offset of the next instruction

  // Function entry: checks the value stack (the frame's size in bytes from the frame pointer
  // must fit: set later with patch() on the returned id, once the operand stack's height is
  // known), jumping to `stack_exhausted` if not, then the native stack pointer against
  // StoreContext::native_stack_limit (the native stack, the call depth, the deadline), jumping
  // to `stack_check_failed` if below; the code after it is where that path comes back to.
  // Without the value-stack check (`checks`), the returned id is kNoPatch. zero_frame then
  // zeroes bytes [from, to) of the frame (the declared locals).
  static constexpr uint32_t kNoPatch = UINT32_MAX;
  virtual uint32_t enter_function(const EntryChecks& checks, Label stack_exhausted,
                                  Label stack_check_failed) = 0;
  virtual void zero_frame(uint32_t from, uint32_t to) = 0;
  // Jumps to `target` when the native stack pointer is below StoreContext::stack_limit (the
  // thread's own limit, which native_stack_limit is unless the store is interrupted).
  virtual void branch_if_below_stack_limit(Label target) = 0;
  virtual void return_from_function() = 0;  // status 0
  virtual void return_trapped() = 0;        // status 1

  // Frame cells and registers.
  virtual void load_slot(ValType t, Reg dst, int32_t slot) = 0;
  virtual void store_slot(ValType t, int32_t slot, Reg src) = 0;
  virtual void store_slot_constant(int32_t slot, uint64_t bits) = 0;  // a whole cell
  virtual void copy_slots(int32_t dst, int32_t src, uint32_t cells) = 0;
  virtual void move(ValType t, Reg dst, Reg src) = 0;
  virtual void load_constant(ValType t, Reg dst, uint64_t bits) = 0;

  // Globals of the instance (scalar ones in registers; v128 ones cell by cell).
  virtual void load_global(ValType t, Reg dst, uint32_t index) = 0;
  virtual void store_global(ValType t, uint32_t index, Reg src) = 0;
  virtual void copy_global_to_slot(uint32_t index, int32_t slot, uint32_t cells) = 0;
  virtual void copy_slot_to_global(uint32_t index, int32_t slot, uint32_t cells) = 0;
  virtual void load_function_reference(Reg dst, uint32_t function_index) = 0;

  // Operators. Results replace `dst` unless said otherwise; i32 results are zero-extended.
  virtual void int_binary(IntBinaryOp op, Width w, Reg dst, const Source& b) = 0;
  // dst = a OP b in one instruction, leaving `a` (a register or a slot: a local's) as it is,
  // where the ISA has such a form; false where it has not, and nothing emitted: the caller
  // copies `a` into dst and uses int_binary. It saves the copy, and the copy's latency where
  // the processor does not eliminate it (x64: lea for add and sub, three-operand imul, movzx
  // for an and with 0xff or 0xffff; a crc32 loop goes 10 % faster).
  virtual bool int_binary_into(IntBinaryOp op, Width w, Reg dst, const Source& a,
                               const Source& b) = 0;
  // Whether int_binary_into has a form for these operands (asked before a register is taken
  // for its result).
  virtual bool has_int_binary_into(IntBinaryOp op, const Source& a, const Source& b) const = 0;
  virtual void int_unary(IntUnaryOp op, Width w, Reg dst) = 0;
  virtual void int_divide(IntDivideOp op, Width w, Reg dst, Reg divisor, Label divide_by_zero,
                          Label overflow) = 0;
  // dst = dst `op` divisor, a constant that cannot trap (not 0, and for kDivS and kRemS
  // positive), without a divide instruction, where has_int_divide_by_constant (asked before a
  // register is taken) says the backend has a form for it (else int_divide). clang divides by
  // constants in Wasm (its WebAssembly target calls division cheap, leaving the strength
  // reduction to engines): a hash's `% 14`, a midpoint's `/ 2`.
  virtual bool has_int_divide_by_constant(IntDivideOp op, Width w, uint64_t divisor) const = 0;
  virtual void int_divide_by_constant(IntDivideOp op, Width w, Reg dst, uint64_t divisor) = 0;
  virtual void int_compare(Condition c, Width w, Reg dst, Reg a, const Source& b) = 0;
  virtual void float_binary(FloatBinaryOp op, Width w, Reg dst, Reg b) = 0;
  virtual void float_unary(FloatUnaryOp op, Width w, Reg dst) = 0;
  virtual void float_compare(FloatCondition c, Width w, Reg dst, Reg a, Reg b) = 0;
  virtual void convert(Conversion c, Reg dst, Reg src) = 0;
  // dst = condition != 0 ? dst : other; with `when_zero`, dst = condition != 0 ? other : dst
  virtual void select(ValType t, Reg dst, Reg other, Reg condition, bool when_zero = false) = 0;
  // Whether the backend compiles these itself (else the generator calls out of line).
  virtual bool has_int_unary(IntUnaryOp op) const = 0;
  virtual bool has_float_unary(FloatUnaryOp op) const = 0;
  virtual bool has_float_binary(FloatBinaryOp op) const = 0;
  virtual bool has_conversion(Conversion c) const = 0;

  // Memory 0. With explicit bounds checks (the backend's BoundsChecks) an access outside jumps
  // to `out_of_bounds`; with guard pages there is no check and the access itself faults.
  // Returns the native offset of the instruction that accesses memory.
  virtual uint32_t load_memory(const MemoryAccess& a, Reg dst, Reg address, uint64_t offset,
                               Label out_of_bounds) = 0;
  virtual uint32_t store_memory(const MemoryAccess& a, Reg address, uint64_t offset,
                                const Source& value, Label out_of_bounds) = 0;
  virtual void memory_size(Reg dst) = 0;
  // Guard pages only: a load of memory 0 at the i32 sum `base + (index << shift)` plus
  // `offset` (at most INT32_MAX), where `index << shift` is at most `max_scaled` (it does not
  // wrap). When base + max_scaled cannot pass 2^32 either, the sum goes into the access's own
  // addressing (nothing between the index and the value); otherwise it branches to `wrapped`,
  // where load_memory_scaled_wrapped computes the sum modulo 2^32 as Wasm's i32.add does.
  // Each returns the native offset of its access.
  virtual uint32_t load_memory_scaled(const MemoryAccess& a, Reg dst, Reg base, Reg index,
                                      uint32_t shift, uint32_t max_scaled, uint32_t offset,
                                      Label wrapped) = 0;
  virtual uint32_t load_memory_scaled_wrapped(const MemoryAccess& a, Reg dst, Reg base, Reg index,
                                              uint32_t shift, uint32_t offset) = 0;

  // Branches to `target` when `a c b` holds (a compare fused with br_if or if).
  virtual void branch_if_compare(Condition c, Width w, Reg a, const Source& b, Label target) = 0;
  // Branches on an i32.
  virtual void branch_if_zero(Reg r, Label target) = 0;
  virtual void branch_if_nonzero(Reg r, Label target) = 0;
  // Jumps to targets[min(index, targets.size() - 1)].
  virtual void branch_table(Reg index, std::span<const Label> targets) = 0;

  // Budgets. charge_fuel subtracts a segment's cost (set later with patch() on the returned
  // id, once the segment is read) from the store's fuel, jumping to `out_of_fuel` if the fuel
  // does not cover it; there, refund_fuel (after the patch) gives the cost back, so a segment
  // that does not start takes nothing. check_interrupt jumps to `reached` when the store is
  // interrupted (StoreContext::native_stack_limit: the engine's epoch has reached the store's
  // deadline, or may have).
  virtual uint32_t charge_fuel(Label out_of_fuel) = 0;
  virtual void refund_fuel(uint32_t charge) = 0;
  virtual void check_interrupt(Label reached) = 0;
  // Sets a 32-bit immediate left open by enter_function or charge_fuel.
  virtual void patch(uint32_t id, uint32_t value) = 0;

  // Calls. call_direct calls the function whose entry is at `*entry` (jumping to
  // `not_compiled` while it is null) with its frame `frame_offset` bytes up from this one's,
  // then to `trapped` if it returned a trap; returns the native offset after the call.
  virtual uint32_t call_direct(const std::atomic<const void*>* entry, int32_t frame_offset,
                               Label not_compiled, Label trapped) = 0;
  // The same for a callee whose machine code is known now: at `target` (a label of this code:
  // the function itself) or at `code` (compiled before this function, freed with it).
  virtual void call_label(Label target, int32_t frame_offset, Label trapped) = 0;
  virtual void call_address(const void* code, int32_t frame_offset, Label trapped) = 0;
  // call_indirect's fast path: the element (the i32 `index`: a general register, a cell or an
  // immediate; the register is read before anything else) of table `table_index` is a function
  // of type `type_id`, of this instance, with machine code: called with its frame
  // `frame_offset` bytes up, then to `trapped` if it returned a trap. Anything else (out of
  // bounds, null, another type, instance or tier) jumps to `slow`. The index is masked after
  // its bounds check, so a mispredicted check cannot read past the table (Spectre v1).
  virtual void call_indirect(uint32_t table_index, uint32_t type_id, Source index,
                             int32_t frame_offset, Label slow, Label trapped) = 0;
  // At call_indirect's `slow` label: stores the element index (which the fast path keeps in a
  // scratch register up to every jump there) to the cell at byte offset `slot`, where the
  // runtime reads it. The fast path itself stores nothing.
  virtual void store_indirect_index(int32_t slot) = 0;
  // Calls a C function of the runtime (value registers are not preserved: the generator
  // spills them first); its integer result is then available to move_result and
  // branch_if_result_nonzero.
  virtual void call_runtime(const void* function, std::span<const RuntimeArgument> args) = 0;
  // Loads `value` into the register of runtime-call argument `index`, for a later call_runtime
  // that passes that argument as RuntimeArgument::preset().
  virtual void set_runtime_argument(size_t index, int64_t value) = 0;
  virtual void branch_if_result_nonzero(Label target) = 0;
  virtual void move_result(Reg dst) = 0;

  // Finishes the code (false if the assembler failed); then size() bytes are copied to
  // `destination`, relocated for running at address `base` (false, nothing copied, when the
  // code cannot run there: a direct call would not reach its target).
  virtual bool finish() = 0;
  // After finish(): where `label` was bound, from the code's start.
  virtual uint32_t label_offset(Label label) const = 0;
  virtual size_t size() const = 0;
  [[nodiscard]] virtual bool copy_to(uint8_t* destination, uintptr_t base) = 0;
  // Starts over, empty, for another function with the same options (what it allocated kept:
  // a thread compiling function after function reuses one).
  virtual void reset() = 0;
};

}  // namespace kiln::jit
