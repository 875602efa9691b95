#include "compiler/x64/macro_assembler_x64.h"

#include <asmjit/x86.h>
#include <cpuid.h>
#if __has_include(<sys/platform/x86.h>)
// A C header: its inline functions return _Bool, which clang's C++ does not know.
#define _Bool bool
#include <sys/platform/x86.h>
#undef _Bool
#endif

#include <bit>
#include <cstring>
#include <optional>
#include <vector>

#include "compiler/x64/direct_assembler.h"
#include "runtime/linear_memory.h"
#include "runtime/store.h"
#include "runtime/vm_context.h"

namespace kiln::jit {

namespace {

using namespace asmjit;
using Memory = DirectAssembler::Memory;
using Move = DirectAssembler::MemoryMove;

const x86::Gp kFrame = x86::rbx;
const x86::Gp kVm = x86::r12;
const x86::Gp kMemoryBase = x86::r13;

// With fuel, r15 holds the store's remaining fuel instead (DESIGN-NOTES section 5: a pinned
// register, written back to the StoreContext around every call into C++): the last entry is
// left out.
const x86::Gp kFuel = x86::r15;
// The System V ABI's integer argument registers, in order.
const x86::Gp kRuntimeArguments[] = {x86::rdi, x86::rsi, x86::rdx, x86::rcx, x86::r8, x86::r9};
constexpr Reg kGeneralValueRegisters[] = {x86::Gp::kIdSi,  x86::Gp::kIdDi,  x86::Gp::kIdR8,
                                          x86::Gp::kIdR9,  x86::Gp::kIdR10, x86::Gp::kIdR11,
                                          x86::Gp::kIdR14, x86::Gp::kIdR15};
constexpr Reg kFloatValueRegisters[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

x86::Gp q(Reg r) {
  return x86::gpq(r);
}
x86::Gp d(Reg r) {
  return x86::gpd(r);
}
x86::Gp gp(Width w, Reg r) {
  return w == Width::k64 ? q(r) : d(r);
}
x86::Xmm xmm(Reg r) {
  return x86::xmm(r);
}
x86::Mem slot_mem(int32_t slot, uint32_t size) {
  return x86::ptr(kFrame, slot, size);
}
Memory slot_memory(int32_t slot) {
  return {.base = kFrame.id(), .disp = slot};
}
bool is_float(ValType t) {
  return t == ValType::kF32 || t == ValType::kF64;
}
bool fits_int32(int64_t v) {
  return v >= INT32_MIN && v <= INT32_MAX;
}

class X64MacroAssembler final : public MacroAssembler {
 public:
  X64MacroAssembler(const X64Features& features, const CodeTierOptions& options)
      : features_(features), bounds_(options.bounds), fuel_in_register_(options.consume_fuel) {
    start_code();
  }

  void reset() override {
    code_.reset();  // (soft: its zone's blocks are kept; asmjit's labels and code are gone)
    start_code();
    error_handler_.failed = false;
    labels_.clear();
    fixups_.clear();
    tables_.clear();
    table_entries_.clear();
    patches_.clear();
    direct_calls_.clear();
  }

  std::span<const Reg> value_registers(RegisterClass c) const override {
    if (c == RegisterClass::kGeneral) {
      return std::span<const Reg>(kGeneralValueRegisters)
          .first(std::size(kGeneralValueRegisters) - (fuel_in_register_ ? 1 : 0));
    }
    return kFloatValueRegisters;
  }

  jit::Label new_label() override {
    labels_.push_back({});
    return static_cast<jit::Label>(labels_.size() - 1);
  }
  void bind(jit::Label label) override {
    LabelState& l = labels_[label];
    l.offset = static_cast<int32_t>(position());
    uint8_t* const code = a_.bufferData();
    for (uint32_t f = l.fixups; f != kNoFixup; f = fixups_[f].next) {
      const int32_t rel = l.offset - static_cast<int32_t>(fixups_[f].at + 4);
      std::memcpy(code + fixups_[f].at, &rel, 4);
    }
    l.fixups = kNoFixup;
  }
  void jump(jit::Label label) override { emit_jump(kJmp, label); }
  uint32_t position() const override { return static_cast<uint32_t>(a_.offset()); }

  uint32_t enter_function(const EntryChecks& checks, jit::Label stack_exhausted,
                          jit::Label stack_check_failed) override {
    static constexpr uint8_t kPushRbp[] = {0x55};
    a_.raw(kPushRbp, sizeof(kPushRbp));
    a_.alu_register(x86::Inst::kIdMov, true, x86::Gp::kIdBp, x86::Gp::kIdSp);
    a_.alu_memory(x86::Inst::kIdMov, true, x86::Gp::kIdAx, kVm.id(), VmOffsets::kStore);
    uint32_t frame_bytes = kNoPatch;
    if (checks.value_stack) {
      // lea rcx, [frame + size]: the size (a placeholder until patch) is the last 4 bytes.
      a_.load_address(true, x86::Gp::kIdCx, kFrame.id(), 0x7fffffff);
      patches_.push_back({position() - 4, 0});
      frame_bytes = static_cast<uint32_t>(patches_.size() - 1);
      a_.alu_memory(x86::Inst::kIdCmp, true, x86::Gp::kIdCx, x86::Gp::kIdAx, VmOffsets::kCellsEnd);
      branch(x86::CondCode::kA, stack_exhausted);
    }
    // The native stack, the call depth (StoreContext::stack_limit) and the deadline in one.
    a_.alu_memory(x86::Inst::kIdCmp, true, x86::Gp::kIdSp, x86::Gp::kIdAx,
                  VmOffsets::kNativeStackLimit);
    branch(x86::CondCode::kB, stack_check_failed);
    return frame_bytes;
  }
  void zero_frame(uint32_t from, uint32_t to) override { zero_cells(from, (to - from) / 8); }
  void branch_if_below_stack_limit(jit::Label target) override {
    a_.alu_memory(x86::Inst::kIdMov, true, x86::Gp::kIdAx, kVm.id(), VmOffsets::kStore);
    a_.alu_memory(x86::Inst::kIdCmp, true, x86::Gp::kIdSp, x86::Gp::kIdAx, VmOffsets::kStackLimit);
    branch(x86::CondCode::kB, target);
  }
  void zero_cells(uint32_t zero_from, uint32_t cells) {
    if (cells == 0) return;
    a_.alu_register(x86::Inst::kIdXor, false, x86::Gp::kIdAx, x86::Gp::kIdAx);
    if (cells <= 16) {
      for (uint32_t i = 0; i < cells; ++i) {
        a_.store(true, kFrame.id(), static_cast<int32_t>(zero_from + 8 * i), x86::Gp::kIdAx);
      }
      return;
    }
    // rdi is a value register, but nothing lives in registers at entry.
    a_.lea(x86::rdi, slot_mem(static_cast<int32_t>(zero_from), 8));
    a_.mov(x86::ecx, cells);
    a_.rep().stosq();
  }
  void return_from_function() override {
    a_.alu_register(x86::Inst::kIdXor, false, x86::Gp::kIdAx, x86::Gp::kIdAx);
    leave_and_return();
  }
  void return_trapped() override {
    a_.mov_immediate(false, x86::Gp::kIdAx, 1);
    leave_and_return();
  }
  // leave; ret (encoded here: asmjit's general path cost ten times as much).
  void leave_and_return() {
    static constexpr uint8_t kLeaveRet[] = {0xc9, 0xc3};
    a_.raw(kLeaveRet, sizeof(kLeaveRet));
  }

  void load_slot(ValType t, Reg dst, int32_t slot) override {
    switch (t) {
      case ValType::kI32:
        a_.alu_memory(x86::Inst::kIdMov, false, dst, kFrame.id(), slot);
        break;
      case ValType::kF32:
        a_.move_memory(Move::kLoadF32, dst, slot_memory(slot));
        break;
      case ValType::kF64:
        a_.move_memory(Move::kLoadF64, dst, slot_memory(slot));
        break;
      default:
        a_.alu_memory(x86::Inst::kIdMov, true, dst, kFrame.id(), slot);
    }
  }
  void store_slot(ValType t, int32_t slot, Reg src) override {
    switch (t) {
      case ValType::kF32:
        // The whole cell, zero-extended, as the interpreter writes it.
        a_.movd(x86::eax, xmm(src));
        a_.store(true, kFrame.id(), slot, x86::Gp::kIdAx);
        break;
      case ValType::kF64:
        a_.move_memory(Move::kStoreF64, src, slot_memory(slot));
        break;
      default:
        a_.store(true, kFrame.id(), slot, src);
    }
  }
  void store_slot_constant(int32_t slot, uint64_t bits) override {
    const auto v = static_cast<int64_t>(bits);
    if (fits_int32(v)) {
      a_.store_immediate(8, slot_memory(slot), v);
    } else {
      a_.mov_immediate(true, x86::Gp::kIdAx, v);
      a_.store(true, kFrame.id(), slot, x86::Gp::kIdAx);
    }
  }
  void copy_slots(int32_t dst, int32_t src, uint32_t cells) override {
    for (uint32_t i = 0; i < cells; ++i) {
      a_.alu_memory(x86::Inst::kIdMov, true, x86::Gp::kIdAx, kFrame.id(),
                    src + 8 * static_cast<int32_t>(i));
      a_.store(true, kFrame.id(), dst + 8 * static_cast<int32_t>(i), x86::Gp::kIdAx);
    }
  }
  void move(ValType t, Reg dst, Reg src) override {
    if (dst == src) return;
    if (is_float(t)) {
      a_.movaps(xmm(dst), xmm(src));
    } else {
      a_.alu_register(x86::Inst::kIdMov, true, dst, src);
    }
  }
  void load_constant(ValType t, Reg dst, uint64_t bits) override {
    switch (t) {
      case ValType::kI32:
        a_.mov_immediate(false, dst, static_cast<uint32_t>(bits));
        break;
      case ValType::kF32:
      case ValType::kF64:
        if (bits == 0) {
          a_.xorps(xmm(dst), xmm(dst));
        } else {
          a_.mov_immediate(true, x86::Gp::kIdAx, static_cast<int64_t>(bits));
          a_.movq(xmm(dst), x86::rax);
        }
        break;
      default:
        a_.mov_immediate(true, dst, static_cast<int64_t>(bits));
    }
  }

  void load_global(ValType t, Reg dst, uint32_t index) override {
    global_address(index);
    const int32_t cells = offsetof(GlobalInstance, cells);
    switch (t) {
      case ValType::kI32:
        a_.mov(d(dst), x86::dword_ptr(x86::rax, cells));
        break;
      case ValType::kF32:
        a_.movss(xmm(dst), x86::dword_ptr(x86::rax, cells));
        break;
      case ValType::kF64:
        a_.movsd(xmm(dst), x86::qword_ptr(x86::rax, cells));
        break;
      default:
        a_.mov(q(dst), x86::qword_ptr(x86::rax, cells));
    }
  }
  void store_global(ValType t, uint32_t index, Reg src) override {
    global_address(index);
    const int32_t cells = offsetof(GlobalInstance, cells);
    switch (t) {
      case ValType::kF32:
        a_.movd(x86::ecx, xmm(src));
        a_.mov(x86::qword_ptr(x86::rax, cells), x86::rcx);
        break;
      case ValType::kF64:
        a_.movsd(x86::qword_ptr(x86::rax, cells), xmm(src));
        break;
      default:
        a_.mov(x86::qword_ptr(x86::rax, cells), q(src));
    }
  }
  void copy_global_to_slot(uint32_t index, int32_t slot, uint32_t cells) override {
    global_address(index);
    for (uint32_t i = 0; i < cells; ++i) {
      a_.mov(x86::rcx, x86::qword_ptr(x86::rax, offsetof(GlobalInstance, cells) + 8 * i));
      a_.mov(slot_mem(slot + 8 * static_cast<int32_t>(i), 8), x86::rcx);
    }
  }
  void copy_slot_to_global(uint32_t index, int32_t slot, uint32_t cells) override {
    global_address(index);
    for (uint32_t i = 0; i < cells; ++i) {
      a_.mov(x86::rcx, slot_mem(slot + 8 * static_cast<int32_t>(i), 8));
      a_.mov(x86::qword_ptr(x86::rax, offsetof(GlobalInstance, cells) + 8 * i), x86::rcx);
    }
  }
  void load_function_reference(Reg dst, uint32_t function_index) override {
    a_.mov(x86::rax, x86::qword_ptr(kVm, VmOffsets::kFunctions));
    a_.mov(q(dst), x86::qword_ptr(x86::rax, static_cast<int32_t>(8 * function_index)));
  }

  void int_binary(IntBinaryOp op, Width w, Reg dst, const Source& b) override {
    const x86::Gp r = gp(w, dst);
    const uint32_t size = w == Width::k64 ? 8 : 4;
    switch (op) {
      case IntBinaryOp::kShl:
      case IntBinaryOp::kShrS:
      case IntBinaryOp::kShrU:
      case IntBinaryOp::kRotl:
      case IntBinaryOp::kRotr: {
        InstId id = op == IntBinaryOp::kShl    ? x86::Inst::kIdShl
                    : op == IntBinaryOp::kShrS ? x86::Inst::kIdSar
                    : op == IntBinaryOp::kShrU ? x86::Inst::kIdShr
                    : op == IntBinaryOp::kRotl ? x86::Inst::kIdRol
                                               : x86::Inst::kIdRor;
        if (b.kind == Source::Kind::kImmediate) {
          a_.shift_immediate(id, w == Width::k64, dst,
                             static_cast<uint32_t>(b.immediate & (size * 8 - 1)));
          return;
        }
        if (b.kind == Source::Kind::kRegister) {
          a_.alu_register(x86::Inst::kIdMov, false, x86::Gp::kIdCx, b.reg);
        } else {
          a_.alu_memory(x86::Inst::kIdMov, false, x86::Gp::kIdCx, kFrame.id(), b.slot);
        }
        a_.shift_by_cl(id, w == Width::k64, dst);  // the hardware masks the count as Wasm does
        return;
      }
      case IntBinaryOp::kMul:
        if (b.kind == Source::Kind::kImmediate && fits_int32(b.immediate)) {
          a_.imul_immediate(w == Width::k64, dst, dst, static_cast<int32_t>(b.immediate));
        } else if (b.kind == Source::Kind::kRegister) {
          a_.multiply(w == Width::k64, dst, b.reg);
        } else if (b.kind == Source::Kind::kSlot) {
          a_.multiply_memory(w == Width::k64, dst, kFrame.id(), b.slot);
        } else {
          a_.emit(x86::Inst::kIdImul, r, source_operand(w, b));
        }
        return;
      default: {
        InstId id = op == IntBinaryOp::kAdd   ? x86::Inst::kIdAdd
                    : op == IntBinaryOp::kSub ? x86::Inst::kIdSub
                    : op == IntBinaryOp::kAnd ? x86::Inst::kIdAnd
                    : op == IntBinaryOp::kOr  ? x86::Inst::kIdOr
                                              : x86::Inst::kIdXor;
        alu_source(id, w, dst, b);
      }
    }
  }
  // The displacement of lea for a + b (kAdd) or a - b (kSub) with b an immediate, when it
  // fits 32 bits. b is checked before it is negated: an i64.sub of INT64_MIN has no negation.
  static std::optional<int32_t> lea_displacement(IntBinaryOp op, int64_t b) {
    if (!fits_int32(b)) return std::nullopt;
    const int64_t displacement = op == IntBinaryOp::kAdd ? b : -b;
    if (!fits_int32(displacement)) return std::nullopt;
    return static_cast<int32_t>(displacement);
  }
  static bool is_zero_extension(IntBinaryOp op, const Source& b) {
    return op == IntBinaryOp::kAnd && b.kind == Source::Kind::kImmediate &&
           (b.immediate == 0xff || b.immediate == 0xffff);
  }
  bool has_int_binary_into(IntBinaryOp op, const Source& a, const Source& b) const override {
    if (is_zero_extension(op, b)) return true;
    if (a.kind != Source::Kind::kRegister) return false;
    const bool immediate = b.kind == Source::Kind::kImmediate;
    switch (op) {
      case IntBinaryOp::kAdd:
      case IntBinaryOp::kSub:
        if (b.kind == Source::Kind::kRegister) return op == IntBinaryOp::kAdd;
        return immediate && lea_displacement(op, b.immediate).has_value();
      case IntBinaryOp::kMul:
        return immediate && fits_int32(b.immediate);
      default:
        return false;
    }
  }
  bool int_binary_into(IntBinaryOp op, Width w, Reg dst, const Source& a,
                       const Source& b) override {
    if (!has_int_binary_into(op, a, b)) return false;
    if (is_zero_extension(op, b)) {
      // Zero-extending the low byte or word is the and, for both widths (the i64's high half
      // is zero too); from a slot, the low bytes come first (little-endian).
      const uint32_t size = b.immediate == 0xff ? 1 : 2;
      if (a.kind == Source::Kind::kSlot) {
        a_.movzx(d(dst), slot_mem(a.slot, size));
      } else if (size == 1) {
        a_.movzx(d(dst), x86::gpb_lo(a.reg));
      } else {
        a_.movzx(d(dst), x86::gpw(a.reg));
      }
      return true;
    }
    if (op == IntBinaryOp::kMul) {
      a_.imul_immediate(w == Width::k64, dst, a.reg, static_cast<int32_t>(b.immediate));
      return true;
    }
    // kAdd or kSub: lea computes the 64-bit sum; a 32-bit destination keeps its low half, the
    // i32 sum.
    if (b.kind == Source::Kind::kRegister) {
      a_.lea(gp(w, dst), x86::ptr(q(a.reg), q(b.reg)));
    } else {
      a_.lea(gp(w, dst), x86::ptr(q(a.reg), *lea_displacement(op, b.immediate)));
    }
    return true;
  }
  void int_unary(IntUnaryOp op, Width w, Reg dst) override {
    const x86::Gp r = gp(w, dst);
    switch (op) {
      case IntUnaryOp::kEqz:
        a_.alu_register(x86::Inst::kIdTest, w == Width::k64, dst, dst);
        a_.set_condition(x86::CondCode::kE, dst);
        return;
      case IntUnaryOp::kClz:
        a_.lzcnt(r, r);
        return;
      case IntUnaryOp::kCtz:
        a_.tzcnt(r, r);
        return;
      case IntUnaryOp::kPopcnt:
        a_.popcnt(r, r);
        return;
      case IntUnaryOp::kExtend8S:
        a_.movsx(r, x86::gpb_lo(dst));
        return;
      case IntUnaryOp::kExtend16S:
        a_.movsx(r, x86::gpw(dst));
        return;
      case IntUnaryOp::kExtend32S:
        a_.movsxd(q(dst), d(dst));
        return;
    }
  }
  void int_divide(IntDivideOp op, Width w, Reg dst, Reg divisor, jit::Label divide_by_zero,
                  jit::Label overflow) override {
    const x86::Gp r = gp(w, dst), b = gp(w, divisor);
    const x86::Gp ax = gp(w, x86::Gp::kIdAx), dx = gp(w, x86::Gp::kIdDx);
    a_.test(b, b);
    branch(x86::CondCode::kE, divide_by_zero);
    asmjit::Label divide = a_.newLabel(), done = a_.newLabel();
    if (is_signed_division(op)) {
      a_.cmp(b, -1);
      a_.jne(divide);
      if (op == IntDivideOp::kRemS) {
        a_.xor_(d(dst), d(dst));  // x rem -1 = 0 (idiv would fault on INT_MIN)
        a_.jmp(done);
      } else {
        if (w == Width::k64) {
          a_.mov(x86::rax, INT64_MIN);
          a_.cmp(r, x86::rax);
        } else {
          a_.cmp(r, INT32_MIN);
        }
        branch(x86::CondCode::kE, overflow);
      }
    }
    a_.bind(divide);
    a_.mov(ax, r);
    if (is_signed_division(op)) {
      if (w == Width::k64) {
        a_.cqo();
      } else {
        a_.cdq();
      }
      a_.idiv(b);
    } else {
      a_.xor_(x86::edx, x86::edx);
      a_.div(b);
    }
    a_.mov(r, is_remainder(op) ? dx : ax);
    a_.bind(done);
  }
  // A constant divisor as the operator sees it: an i32's low 32 bits.
  static uint64_t divisor_bits(Width w, uint64_t divisor) {
    return w == Width::k32 ? divisor & 0xffffffff : divisor;
  }
  bool has_int_divide_by_constant(IntDivideOp op, Width w, uint64_t divisor) const override {
    const bool is_signed = is_signed_division(op);
    const uint64_t d = divisor_bits(w, divisor);
    // Every divisor that cannot trap: not 0, and for the signed operators positive.
    return d != 0 && !(is_signed && (w == Width::k32 ? d > INT32_MAX : d > INT64_MAX));
  }
  void int_divide_by_constant(IntDivideOp op, Width w, Reg dst, uint64_t divisor) override {
    const bool is_signed = is_signed_division(op);
    const bool is_rem = is_remainder(op);
    const uint64_t d = divisor_bits(w, divisor);
    const bool wide = w == Width::k64;
    const x86::Gp r = gp(w, dst);
    if (d == 1) {  // x / 1 = x; x rem 1 = 0
      if (is_rem) a_.alu_register(x86::Inst::kIdXor, false, dst, dst);
      return;
    }
    const uint32_t bits = wide ? 64 : 32;
    if (std::has_single_bit(d)) {
      const uint32_t k = static_cast<uint32_t>(std::countr_zero(d));
      switch (op) {
        case IntDivideOp::kDivU:
          a_.shift_immediate(x86::Inst::kIdShr, wide, dst, k);
          return;
        case IntDivideOp::kRemU:
          if (k < 32) {
            a_.alu_immediate(x86::Inst::kIdAnd, wide, dst, static_cast<int64_t>(d - 1));
          } else {  // (64-bit only) a mask wider than an immediate: keep the low k bits
            a_.shift_immediate(x86::Inst::kIdShl, true, dst, 64 - k);
            a_.shift_immediate(x86::Inst::kIdShr, true, dst, 64 - k);
          }
          return;
        case IntDivideOp::kDivS: {
          // Rounds toward zero: a negative dividend gets d - 1 added first (its sign bit
          // shifted down to the low k bits), then an arithmetic shift.
          const x86::Gp t = gp(w, x86::Gp::kIdAx);
          a_.mov(t, r);
          a_.sar(t, bits - 1);
          a_.shr(t, bits - k);
          a_.add(r, t);
          a_.sar(r, k);
          return;
        }
        case IntDivideOp::kRemS:
          break;  // below, as any other divisor
      }
    }
    if (wide) {
      divide_by_constant_64(is_signed, is_rem, dst, d);
      return;
    }
    // 32-bit: with M = ceil(2^64 / d), the quotient of any 32-bit x is the high half of M x
    // (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019: exact when the
    // fraction has at least 32 + log2(d) bits). For any d >= 2, ceil(2^64 / d) =
    // floor((2^64 - 1) / d) + 1. Signed: the magnitude is divided, and the quotient takes the
    // dividend's sign (truncation, as i32.div_s); the remainder is x - q d (its sign the
    // dividend's, as i32.rem_s).
    const uint64_t m = UINT64_MAX / d + 1;
    if (is_signed) {
      a_.mov(x86::eax, r);
      a_.cdq();
      a_.mov(x86::ecx, x86::edx);  // the dividend's sign: 0 or -1
      a_.xor_(x86::eax, x86::edx);
      a_.sub(x86::eax, x86::edx);  // |x| (INT32_MIN's is 2^31 unsigned), zero-extended
    } else {
      a_.mov(x86::eax, r);  // zero-extended
    }
    a_.mov(x86::rdx, m);
    a_.mul(x86::rdx);  // rdx:rax = M |x|; rdx = |x| / d
    if (is_signed) {
      a_.xor_(x86::edx, x86::ecx);
      a_.sub(x86::edx, x86::ecx);
    }
    if (is_rem) {
      a_.imul(x86::edx, x86::edx, static_cast<int32_t>(static_cast<uint32_t>(d)));  // q d mod 2^32
      a_.sub(r, x86::edx);
    } else {
      a_.mov(r, x86::edx);
    }
  }
  // 64-bit x `op` d for d >= 2 (int_divide_by_constant): the quotient of a 64-bit x needs a
  // 65-bit reciprocal, so Granlund and Montgomery's ("Division by invariant integers using
  // multiplication", 1994, figure 4.1) with l = ceil(log2 d) and m = floor(2^64 (2^l - d) / d)
  // + 1: t = the high half of m x, q = (t + ((x - t) >> 1)) >> (l - 1), exact for every x
  // (powers of two included: m = 1). Signed: on the magnitude in dst, its sign kept in rcx.
  void divide_by_constant_64(bool is_signed, bool is_rem, Reg dst, uint64_t d) {
    const x86::Gp r = q(dst);
    const uint32_t l = 64 - static_cast<uint32_t>(std::countl_zero(d - 1));  // ceil(log2 d)
    const auto two_l = static_cast<unsigned __int128>(1) << l;
    const auto m = static_cast<uint64_t>(((two_l - d) << 64) / d + 1);
    if (is_signed) {
      a_.mov(x86::rcx, r);
      a_.sar(x86::rcx, 63);  // the dividend's sign: 0 or -1
      a_.xor_(r, x86::rcx);
      a_.sub(r, x86::rcx);  // |x| (INT64_MIN's is 2^63 unsigned)
    }
    a_.mov(x86::rax, m);
    a_.mul(r);  // rdx = t
    a_.mov(x86::rax, r);
    a_.sub(x86::rax, x86::rdx);
    a_.shr(x86::rax, 1);
    a_.add(x86::rax, x86::rdx);
    if (l > 1) a_.shr(x86::rax, l - 1);  // rax = |x| / d
    if (is_rem) {
      if (d <= static_cast<uint64_t>(INT32_MAX)) {
        a_.imul(x86::rax, x86::rax, static_cast<int32_t>(d));
      } else {
        a_.mov(x86::rdx, d);
        a_.imul(x86::rax, x86::rdx);
      }
      a_.sub(r, x86::rax);  // |x| - q d
    } else {
      a_.mov(r, x86::rax);
    }
    if (is_signed) {  // the dividend's sign, on the quotient or the remainder
      a_.xor_(r, x86::rcx);
      a_.sub(r, x86::rcx);
    }
  }
  void int_compare(Condition c, Width w, Reg dst, Reg a, const Source& b) override {
    emit_compare(w, a, b);
    a_.set_condition(condition_code(c), dst);
  }
  void emit_compare(Width w, Reg a, const Source& b) {
    if (b.kind == Source::Kind::kImmediate && b.immediate == 0) {
      a_.alu_register(x86::Inst::kIdTest, w == Width::k64, a, a);
    } else {
      alu_source(x86::Inst::kIdCmp, w, a, b);
    }
  }

  void float_binary(FloatBinaryOp op, Width w, Reg dst, Reg b) override {
    const bool f64 = w == Width::k64;
    InstId id = 0;
    switch (op) {
      case FloatBinaryOp::kAdd:
        id = f64 ? x86::Inst::kIdAddsd : x86::Inst::kIdAddss;
        break;
      case FloatBinaryOp::kSub:
        id = f64 ? x86::Inst::kIdSubsd : x86::Inst::kIdSubss;
        break;
      case FloatBinaryOp::kMul:
        id = f64 ? x86::Inst::kIdMulsd : x86::Inst::kIdMulss;
        break;
      case FloatBinaryOp::kDiv:
        id = f64 ? x86::Inst::kIdDivsd : x86::Inst::kIdDivss;
        break;
      default:
        return;  // not offered (has_float_binary)
    }
    a_.emit(id, xmm(dst), xmm(b));
  }
  void float_unary(FloatUnaryOp op, Width w, Reg dst) override {
    const bool f64 = w == Width::k64;
    switch (op) {
      case FloatUnaryOp::kAbs:
      case FloatUnaryOp::kNeg:
        // On the bits: the sign alone changes, NaN payloads included (spec 4.3.3).
        if (f64) {
          a_.movq(x86::rax, xmm(dst));
          if (op == FloatUnaryOp::kAbs) {
            a_.btr(x86::rax, 63);
          } else {
            a_.btc(x86::rax, 63);
          }
          a_.movq(xmm(dst), x86::rax);
        } else {
          a_.movd(x86::eax, xmm(dst));
          if (op == FloatUnaryOp::kAbs) {
            a_.and_(x86::eax, 0x7fffffff);
          } else {
            a_.xor_(x86::eax, 0x80000000u);
          }
          a_.movd(xmm(dst), x86::eax);
        }
        return;
      case FloatUnaryOp::kSqrt:
        if (f64) {
          a_.sqrtsd(xmm(dst), xmm(dst));
        } else {
          a_.sqrtss(xmm(dst), xmm(dst));
        }
        return;
      default: {
        // SSE4.1 round: 0 nearest (ties to even), 1 down, 2 up, 3 toward zero; 8 keeps the
        // precision exception quiet. A NaN comes back quiet, as Wasm asks.
        const uint32_t mode = op == FloatUnaryOp::kNearest ? 0
                              : op == FloatUnaryOp::kFloor ? 1
                              : op == FloatUnaryOp::kCeil  ? 2
                                                           : 3;
        if (f64) {
          a_.roundsd(xmm(dst), xmm(dst), mode | 8);
        } else {
          a_.roundss(xmm(dst), xmm(dst), mode | 8);
        }
      }
    }
  }
  void float_compare(FloatCondition c, Width w, Reg dst, Reg a, Reg b) override {
    auto compare = [&](Reg x, Reg y) {
      if (w == Width::k64) {
        a_.ucomisd(xmm(x), xmm(y));
      } else {
        a_.ucomiss(xmm(x), xmm(y));
      }
    };
    // Unordered (a NaN) sets ZF, PF and CF: "above" tests are false for it.
    switch (c) {
      case FloatCondition::kEq:
        compare(a, b);
        a_.sete(x86::al);
        a_.setnp(x86::cl);
        a_.and_(x86::al, x86::cl);
        break;
      case FloatCondition::kNe:
        compare(a, b);
        a_.setne(x86::al);
        a_.setp(x86::cl);
        a_.or_(x86::al, x86::cl);
        break;
      case FloatCondition::kLt:
        compare(b, a);
        a_.seta(x86::al);
        break;
      case FloatCondition::kGt:
        compare(a, b);
        a_.seta(x86::al);
        break;
      case FloatCondition::kLe:
        compare(b, a);
        a_.setae(x86::al);
        break;
      case FloatCondition::kGe:
        compare(a, b);
        a_.setae(x86::al);
        break;
    }
    a_.movzx(d(dst), x86::al);
  }
  void convert(Conversion c, Reg dst, Reg src) override {
    switch (c) {
      case Conversion::kI32WrapI64:
      case Conversion::kI64ExtendI32U:
        a_.mov(d(dst), d(src));
        return;
      case Conversion::kI64ExtendI32S:
        a_.movsxd(q(dst), d(src));
        return;
      case Conversion::kF32ConvertI32S:
        a_.xorps(xmm(dst), xmm(dst));
        a_.cvtsi2ss(xmm(dst), d(src));
        return;
      case Conversion::kF32ConvertI64S:
        a_.xorps(xmm(dst), xmm(dst));
        a_.cvtsi2ss(xmm(dst), q(src));
        return;
      case Conversion::kF32ConvertI32U:
        a_.mov(x86::eax, d(src));  // zero-extended: exact as a signed 64-bit value
        a_.xorps(xmm(dst), xmm(dst));
        a_.cvtsi2ss(xmm(dst), x86::rax);
        return;
      case Conversion::kF64ConvertI32S:
        a_.xorps(xmm(dst), xmm(dst));
        a_.cvtsi2sd(xmm(dst), d(src));
        return;
      case Conversion::kF64ConvertI64S:
        a_.xorps(xmm(dst), xmm(dst));
        a_.cvtsi2sd(xmm(dst), q(src));
        return;
      case Conversion::kF64ConvertI32U:
        a_.mov(x86::eax, d(src));
        a_.xorps(xmm(dst), xmm(dst));
        a_.cvtsi2sd(xmm(dst), x86::rax);
        return;
      case Conversion::kF32DemoteF64:
        a_.cvtsd2ss(xmm(dst), xmm(src));
        return;
      case Conversion::kF64PromoteF32:
        a_.cvtss2sd(xmm(dst), xmm(src));
        return;
      case Conversion::kI32ReinterpretF32:
        a_.movd(d(dst), xmm(src));
        return;
      case Conversion::kI64ReinterpretF64:
        a_.movq(q(dst), xmm(src));
        return;
      case Conversion::kF32ReinterpretI32:
        a_.movd(xmm(dst), d(src));
        return;
      case Conversion::kF64ReinterpretI64:
        a_.movq(xmm(dst), q(src));
        return;
    }
  }
  void select(ValType t, Reg dst, Reg other, Reg condition, bool when_zero) override {
    a_.alu_register(x86::Inst::kIdTest, false, condition, condition);
    if (is_float(t)) {
      asmjit::Label keep = a_.newLabel();
      if (when_zero) {
        a_.jz(keep);
      } else {
        a_.jnz(keep);
      }
      a_.movaps(xmm(dst), xmm(other));
      a_.bind(keep);
    } else {
      a_.conditional_move(when_zero ? x86::CondCode::kNE : x86::CondCode::kE, true, dst, other);
    }
  }
  bool has_int_unary(IntUnaryOp op) const override {
    switch (op) {
      case IntUnaryOp::kClz:
        return features_.lzcnt;
      case IntUnaryOp::kCtz:
        return features_.bmi1;
      case IntUnaryOp::kPopcnt:
        return features_.popcnt;
      default:
        return true;
    }
  }
  bool has_float_unary(FloatUnaryOp op) const override {
    switch (op) {
      case FloatUnaryOp::kCeil:
      case FloatUnaryOp::kFloor:
      case FloatUnaryOp::kTrunc:
      case FloatUnaryOp::kNearest:
        return features_.sse41;
      default:
        return true;
    }
  }
  bool has_float_binary(FloatBinaryOp op) const override {
    return op == FloatBinaryOp::kAdd || op == FloatBinaryOp::kSub || op == FloatBinaryOp::kMul ||
           op == FloatBinaryOp::kDiv;
  }
  bool has_conversion(Conversion) const override { return true; }

  uint32_t load_memory(const MemoryAccess& access, Reg dst, Reg address, uint64_t offset,
                       jit::Label out_of_bounds) override {
    const Memory m = memory_operand(address, offset, access.bytes, out_of_bounds);
    const uint32_t at = position();
    emit_load(access, dst, m);
    return at;
  }
  uint32_t load_memory_scaled(const MemoryAccess& access, Reg dst, Reg base, Reg index,
                              uint32_t shift, uint32_t max_scaled, uint32_t offset,
                              jit::Label wrapped) override {
    // i32 values in registers are zero-extended: below the bound, [memory base + base] plus
    // index << shift is the address without wrapping (and inside the guard region when out of
    // bounds: under 2^32 + 2^31 bytes). rcx is scratch, never a value register.
    a_.cmp(d(base), Imm(static_cast<int64_t>(UINT32_MAX - max_scaled)));
    branch(x86::CondCode::kA, wrapped);
    a_.lea(x86::rcx, x86::ptr(kMemoryBase, q(base)));
    const uint32_t at = position();
    emit_load(access, dst,
              Memory{.base = x86::Gp::kIdCx,
                     .index = static_cast<int32_t>(index),
                     .shift = shift,
                     .disp = static_cast<int32_t>(offset)});
    return at;
  }
  uint32_t load_memory_scaled_wrapped(const MemoryAccess& access, Reg dst, Reg base, Reg index,
                                      uint32_t shift, uint32_t offset) override {
    // A 32-bit lea keeps the low half of the sum: i32.add's wrap.
    a_.lea(x86::ecx, x86::ptr(q(base), q(index), shift));
    const uint32_t at = position();
    emit_load(access, dst,
              Memory{.base = kMemoryBase.id(),
                     .index = x86::Gp::kIdCx,
                     .disp = static_cast<int32_t>(offset)});
    return at;
  }
  void emit_load(const MemoryAccess& access, Reg dst, const Memory& m) {
    const bool wide = access.type == ValType::kI64;
    Move move;
    if (access.type == ValType::kF32) {
      move = Move::kLoadF32;
    } else if (access.type == ValType::kF64) {
      move = Move::kLoadF64;
    } else if (access.bytes == 1) {
      move = !access.sign_extend ? Move::kZeroExtend8
             : wide              ? Move::kSignExtend8To64
                                 : Move::kSignExtend8To32;
    } else if (access.bytes == 2) {
      move = !access.sign_extend ? Move::kZeroExtend16
             : wide              ? Move::kSignExtend16To64
                                 : Move::kSignExtend16To32;
    } else if (access.bytes == 4) {
      move = access.sign_extend && wide ? Move::kSignExtend32To64 : Move::kLoad32;
    } else {
      move = Move::kLoad64;
    }
    a_.move_memory(move, dst, m);
  }
  uint32_t store_memory(const MemoryAccess& access, Reg address, uint64_t offset,
                        const Source& value, jit::Label out_of_bounds) override {
    const Memory m = memory_operand(address, offset, access.bytes, out_of_bounds);
    if (value.kind == Source::Kind::kImmediate && access.bytes == 8 &&
        !fits_int32(value.immediate)) {
      a_.mov_immediate(true, x86::Gp::kIdAx, value.immediate);  // before: the access faults
      const uint32_t at = position();
      a_.move_memory(Move::kStore64, x86::Gp::kIdAx, m);
      return at;
    }
    const uint32_t at = position();
    emit_store(access, m, value);
    return at;
  }
  void emit_store(const MemoryAccess& access, const Memory& m, const Source& value) {
    if (value.kind == Source::Kind::kImmediate) {
      // (A 64-bit immediate that does not fit 32 bits went through rax in store_memory.)
      const int64_t v = value.immediate;
      const int64_t narrowed = access.bytes == 1   ? static_cast<int8_t>(v)
                               : access.bytes == 2 ? static_cast<int16_t>(v)
                               : access.bytes == 4 ? static_cast<int32_t>(v)
                                                   : v;
      a_.store_immediate(access.bytes, m, narrowed);
      return;
    }
    Move move;
    if (access.type == ValType::kF32) {
      move = Move::kStoreF32;
    } else if (access.type == ValType::kF64) {
      move = Move::kStoreF64;
    } else {
      move = access.bytes == 1   ? Move::kStore8
             : access.bytes == 2 ? Move::kStore16
             : access.bytes == 4 ? Move::kStore32
                                 : Move::kStore64;
    }
    a_.move_memory(move, value.reg, m);
  }
  void memory_size(Reg dst) override {
    a_.mov(x86::rax, x86::qword_ptr(kVm, VmOffsets::kMemory));
    a_.mov(q(dst),
           x86::qword_ptr(x86::rax, static_cast<int32_t>(LinearMemory::size_bytes_offset())));
    a_.shr(q(dst), 16);
  }

  void branch_if_compare(Condition c, Width w, Reg a, const Source& b, jit::Label target) override {
    emit_compare(w, a, b);
    branch(condition_code(c), target);
  }
  void branch_if_zero(Reg r, jit::Label target) override {
    a_.alu_register(x86::Inst::kIdTest, false, r, r);
    branch(x86::CondCode::kE, target);
  }
  void branch_if_nonzero(Reg r, jit::Label target) override {
    a_.alu_register(x86::Inst::kIdTest, false, r, r);
    branch(x86::CondCode::kNE, target);
  }
  void branch_table(Reg index, std::span<const jit::Label> targets) override {
    const auto last = static_cast<uint32_t>(targets.size() - 1);
    a_.cmp(d(index), last);
    branch(x86::CondCode::kAE, targets[last]);
    if (last == 0) return;
    const jit::Label table = new_label();
    static constexpr uint8_t kLeaRaxRip[] = {0x48, 0x8d, 0x05, 0, 0, 0, 0};  // lea rax, [rip+rel32]
    a_.raw(kLeaRaxRip, sizeof(kLeaRaxRip));
    add_fixup(table, position() - 4);
    a_.mov(x86::ecx, d(index));
    a_.jmp(x86::qword_ptr(x86::rax, x86::rcx, 3));
    tables_.push_back({table, std::vector<jit::Label>(targets.begin(), targets.end() - 1)});
  }

  uint32_t charge_fuel(jit::Label out_of_fuel) override {
    // `sub r15, imm32` (the immediate always 4 bytes, at the instruction's end): unsigned
    // borrow means the fuel did not cover the segment.
    a_.sub(kFuel, 0x7fffffff);
    patches_.push_back({position() - 4, 0});
    branch(x86::CondCode::kB, out_of_fuel);
    return static_cast<uint32_t>(patches_.size() - 1);
  }
  void refund_fuel(uint32_t charge) override { a_.add(kFuel, patches_[charge].second); }
  void patch(uint32_t id, uint32_t value) override { patches_[id].second = value; }
  void check_interrupt(jit::Label reached) override {
    a_.alu_memory(x86::Inst::kIdMov, true, x86::Gp::kIdAx, kVm.id(), VmOffsets::kStore);
    a_.alu_memory(x86::Inst::kIdCmp, true, x86::Gp::kIdSp, x86::Gp::kIdAx,
                  VmOffsets::kNativeStackLimit);
    branch(x86::CondCode::kB, reached);
  }

  uint32_t call_direct(const std::atomic<const void*>* entry, int32_t frame_offset,
                       jit::Label not_compiled, jit::Label trapped) override {
    a_.mov_immediate(true, x86::Gp::kIdAx,
                     static_cast<int64_t>(reinterpret_cast<uintptr_t>(entry)));
    a_.alu_memory(x86::Inst::kIdMov, true, x86::Gp::kIdAx, x86::Gp::kIdAx, 0);
    a_.alu_register(x86::Inst::kIdTest, true, x86::Gp::kIdAx, x86::Gp::kIdAx);
    branch(x86::CondCode::kE, not_compiled);
    if (frame_offset) a_.alu_immediate(x86::Inst::kIdAdd, true, kFrame.id(), frame_offset);
    a_.call_register(x86::Gp::kIdAx);
    const uint32_t after = position();
    after_call(frame_offset, trapped);
    return after;
  }
  void call_label(jit::Label target, int32_t frame_offset, jit::Label trapped) override {
    if (frame_offset) a_.alu_immediate(x86::Inst::kIdAdd, true, kFrame.id(), frame_offset);
    call_to(target);
    after_call(frame_offset, trapped);
  }
  void call_address(const void* code, int32_t frame_offset, jit::Label trapped) override {
    if (frame_offset) a_.alu_immediate(x86::Inst::kIdAdd, true, kFrame.id(), frame_offset);
    // call rel32: all generated code lives in one region of CodeMemory (1 GiB). Its distance is
    // known once the code's address is (copy_to); asmjit's relocation for an absolute target
    // cost 600 host instructions a call.
    static constexpr uint8_t kCallRel32[] = {0xe8, 0, 0, 0, 0};
    a_.raw(kCallRel32, sizeof(kCallRel32));
    direct_calls_.push_back({position() - 4, reinterpret_cast<uint64_t>(code)});
    after_call(frame_offset, trapped);
  }
  void after_call(int32_t frame_offset, jit::Label trapped) {
    if (frame_offset) a_.alu_immediate(x86::Inst::kIdSub, true, kFrame.id(), frame_offset);
    a_.alu_register(x86::Inst::kIdTest, false, x86::Gp::kIdAx, x86::Gp::kIdAx);
    branch(x86::CondCode::kNE, trapped);
  }
  void call_indirect(uint32_t table_index, uint32_t type_id, Source index, int32_t frame_offset,
                     jit::Label slow, jit::Label trapped) override {
    // After a mispredicted indirect call, the caller's next call_indirect waits for the
    // callee's address: it comes from the table's call_indirect cache (TableHeader), one load
    // from the index (in ecx from its register, up to every jump to `slow`, whose stub stores it
    // to its cell; table 0's header straight from the VM context), while the element, loaded in
    // parallel, is checked to be the function the cache entry names, of the type, of this
    // instance. Past the stores of the values and pinned locals, every value register but the
    // fuel's is free here: r8 and r9 serve as scratch.
    switch (index.kind) {
      case Source::Kind::kRegister:
        a_.mov(x86::ecx, d(index.reg));
        break;
      case Source::Kind::kSlot:
        a_.mov(x86::ecx, slot_mem(index.slot, 4));
        break;
      case Source::Kind::kImmediate:
        a_.mov(x86::ecx, static_cast<uint32_t>(index.immediate));
        break;
    }
    // The table's header: table 0's copy in the VM context, another table's own.
    x86::Gp header = kVm;
    int32_t header_offset = VmOffsets::kTable0;
    if (table_index != 0) {
      a_.mov(x86::rax, x86::qword_ptr(kVm, VmOffsets::kTables));
      a_.mov(x86::rax, x86::qword_ptr(x86::rax, static_cast<int32_t>(8 * table_index)));
      header = x86::rax;
      header_offset = 0;
    }
    // The index's low byte picks the cache entry: taken before the bounds check's mask, so the
    // callee's address waits for neither the compare nor the cmov. Any byte is inside the cache
    // (no out-of-bounds read even under a mispredicted jae), and the entry is used only once
    // the element, read with the masked index, is found to be the function it names.
    // (The load comes after the header's last use: another table's header is in rax.)
    static_assert(kDispatchEntries == 256);
    a_.movzx(x86::r9d, x86::cl);
    a_.mov(x86::r8, x86::qword_ptr(header, header_offset + TableHeaderOffsets::kDispatch));
    a_.xor_(x86::edx, x86::edx);
    a_.cmp(x86::rcx, x86::qword_ptr(header, header_offset + TableHeaderOffsets::kElementCount));
    branch(x86::CondCode::kAE, slow);
    a_.cmovae(x86::rcx, x86::rdx);  // under a mispredicted jae: element 0, not past the end
    a_.mov(x86::rdx, x86::qword_ptr(header, header_offset + TableHeaderOffsets::kElementData));
    a_.mov(x86::rax, x86::qword_ptr(x86::r8, x86::r9, 3, DispatchCacheOffsets::kEntries));
    a_.mov(x86::rdx, x86::qword_ptr(x86::rdx, x86::rcx, 3));
    a_.test(x86::rdx, x86::rdx);
    branch(x86::CondCode::kE, slow);
    a_.cmp(x86::rdx, x86::qword_ptr(x86::r8, x86::r9, 3, DispatchCacheOffsets::kFunctions));
    branch(x86::CondCode::kNE, slow);
    a_.cmp(x86::dword_ptr(x86::rdx, FunctionHeaderOffsets::kTypeId), type_id);
    branch(x86::CondCode::kNE, slow);
    a_.cmp(x86::qword_ptr(x86::rdx, FunctionHeaderOffsets::kVm), kVm);
    branch(x86::CondCode::kNE, slow);
    if (frame_offset) a_.alu_immediate(x86::Inst::kIdAdd, true, kFrame.id(), frame_offset);
    a_.call_register(x86::Gp::kIdAx);
    if (frame_offset) a_.alu_immediate(x86::Inst::kIdSub, true, kFrame.id(), frame_offset);
    a_.alu_register(x86::Inst::kIdTest, false, x86::Gp::kIdAx, x86::Gp::kIdAx);
    branch(x86::CondCode::kNE, trapped);
  }
  void store_indirect_index(int32_t slot) override {  // ecx: see call_indirect
    a_.store(true, kFrame.id(), slot, x86::Gp::kIdCx);
  }
  void set_runtime_argument(size_t index, int64_t value) override {
    if (index < std::size(kRuntimeArguments)) {
      a_.mov_immediate(true, kRuntimeArguments[index].id(), value);
    }
  }
  void call_runtime(const void* function, std::span<const RuntimeArgument> args) override {
    // C++ reads and writes the fuel in the StoreContext (the interpreter, host calls, traps),
    // and counts this code's frames from its stack pointer if it enters generated code again.
    a_.alu_memory(x86::Inst::kIdMov, true, x86::Gp::kIdAx, kVm.id(), VmOffsets::kStore);
    a_.store(true, x86::Gp::kIdAx, VmOffsets::kJitRsp, x86::Gp::kIdSp);
    if (fuel_in_register_) a_.store(true, x86::Gp::kIdAx, VmOffsets::kFuel, kFuel.id());
    for (size_t i = 0; i < args.size() && i < 6; ++i) {
      const RuntimeArgument& arg = args[i];
      switch (arg.kind) {
        case RuntimeArgument::Kind::kVmContext:
          a_.alu_register(x86::Inst::kIdMov, true, kRuntimeArguments[i].id(), kVm.id());
          break;
        case RuntimeArgument::Kind::kSlotAddress:
          a_.load_address(true, kRuntimeArguments[i].id(), kFrame.id(),
                          static_cast<int32_t>(arg.value));
          break;
        case RuntimeArgument::Kind::kImmediate:
          a_.mov_immediate(true, kRuntimeArguments[i].id(), arg.value);
          break;
        case RuntimeArgument::Kind::kPreset:
          break;
      }
    }
    a_.mov_immediate(true, x86::Gp::kIdAx,
                     static_cast<int64_t>(reinterpret_cast<uintptr_t>(function)));
    a_.call_register(x86::Gp::kIdAx);
    if (fuel_in_register_) {  // rax is the result
      a_.alu_memory(x86::Inst::kIdMov, true, kFuel.id(), kVm.id(), VmOffsets::kStore);
      a_.alu_memory(x86::Inst::kIdMov, true, kFuel.id(), kFuel.id(), VmOffsets::kFuel);
    }
  }
  void branch_if_result_nonzero(jit::Label target) override {
    a_.alu_register(x86::Inst::kIdTest, false, x86::Gp::kIdAx, x86::Gp::kIdAx);
    branch(x86::CondCode::kNE, target);
  }
  void move_result(Reg dst) override { a_.mov(q(dst), x86::rax); }

  bool finish() override {
    for (auto& [table, targets] : tables_) {
      a_.align(AlignMode::kData, 8);
      bind(table);
      static constexpr uint8_t kEntry[8] = {};  // the target's address, written by copy_to
      for (jit::Label target : targets) {
        table_entries_.push_back({position(), target});
        a_.raw(kEntry, sizeof(kEntry));
      }
    }
    tables_.clear();
    for (const LabelState& l : labels_) {
      if (l.fixups != kNoFixup) return false;  // a branch to a label never bound
    }
    for (const auto& [at, target] : table_entries_) {
      if (labels_[target].offset < 0) return false;
    }
    if (error_handler_.failed) return false;
    if (code_.flatten() != kErrorOk) return false;
    if (code_.resolveUnresolvedLinks() != kErrorOk) return false;
    return true;
  }
  size_t size() const override { return code_.codeSize(); }
  uint32_t label_offset(jit::Label label) const override {
    return static_cast<uint32_t>(labels_[label].offset);
  }
  bool copy_to(uint8_t* destination, uintptr_t base) override {
    // A direct call's rel32 counts from the end of the call, its field's 4 bytes.
    const auto distance = [base](uint32_t at, uint64_t target) {
      return static_cast<int64_t>(target - (base + at + 4));
    };
    for (const auto& [at, target] : direct_calls_) {
      if (!fits_int32(distance(at, target))) return false;
    }
    code_.relocateToBase(base);
    code_.copyFlattenedData(destination, code_.codeSize(), CopySectionFlags::kPadSectionBuffer);
    for (auto [at, value] : patches_) std::memcpy(destination + at, &value, 4);
    for (const auto& [at, target] : direct_calls_) {
      const auto rel32 = static_cast<int32_t>(distance(at, target));
      std::memcpy(destination + at, &rel32, 4);
    }
    for (const auto& [at, target] : table_entries_) {
      const uint64_t address = base + static_cast<uint64_t>(labels_[target].offset);
      std::memcpy(destination + at, &address, 8);
    }
    return true;
  }

 private:
  // An empty CodeHolder for the host, reporting to error_handler_, with a_ writing into it.
  void start_code() {
    code_.init(Environment::host());
    code_.setErrorHandler(&error_handler_);
    code_.attach(&a_);
  }
  struct Errors : ErrorHandler {
    bool failed = false;
    void handleError(asmjit::Error, const char*, BaseEmitter*) override { failed = true; }
  };

  void global_address(uint32_t index) {
    a_.mov(x86::rax, x86::qword_ptr(kVm, VmOffsets::kGlobals));
    a_.mov(x86::rax, x86::qword_ptr(x86::rax, static_cast<int32_t>(8 * index)));
  }
  // `id` dst, b (add, sub, and, or, xor, cmp) through DirectAssembler's operand-free entry
  // points; an immediate that does not fit in 32 bits goes through rax (source_operand).
  void alu_source(InstId id, Width w, Reg dst, const Source& b) {
    const bool wide = w == Width::k64;
    switch (b.kind) {
      case Source::Kind::kRegister:
        a_.alu_register(id, wide, dst, b.reg);
        return;
      case Source::Kind::kSlot:
        a_.alu_memory(id, wide, dst, kFrame.id(), b.slot);
        return;
      case Source::Kind::kImmediate:
        if (fits_int32(b.immediate)) {
          a_.alu_immediate(id, wide, dst, b.immediate);
          return;
        }
        a_.emit(id, gp(w, dst), source_operand(w, b));
        return;
    }
  }
  Operand_ source_operand(Width w, const Source& b) {
    switch (b.kind) {
      case Source::Kind::kRegister:
        return gp(w, b.reg);
      case Source::Kind::kSlot:
        return slot_mem(b.slot, w == Width::k64 ? 8 : 4);
      case Source::Kind::kImmediate:
        break;
    }
    a_.mov(x86::rax, static_cast<uint64_t>(b.immediate));
    return gp(w, x86::Gp::kIdAx);
  }
  // The x86 condition (for jcc and setcc) of each Condition.
  static x86::CondCode condition_code(Condition c) {
    using C = x86::CondCode;
    static constexpr C kCodes[] = {C::kE, C::kNE, C::kL,  C::kB,  C::kG,
                                   C::kA, C::kLE, C::kBE, C::kGE, C::kAE};  // Condition's order
    return kCodes[static_cast<size_t>(c)];
  }
  // The operand [memory base + address + offset] (64-bit: no wrap). With guard pages, a
  // 32-bit address plus a 32-bit offset stays inside the memory's 8 GiB reservation, so the
  // access itself faults when out of bounds; otherwise it is compared with memory 0's size.
  Memory memory_operand(Reg address, uint64_t offset, uint32_t bytes, jit::Label out_of_bounds) {
    if (bounds_ == BoundsChecks::kGuardPages) {
      // i32 values in registers are zero-extended, so the 64-bit register is the address.
      if (offset <= static_cast<uint64_t>(INT32_MAX)) {
        return {.base = kMemoryBase.id(),
                .index = static_cast<int32_t>(address),
                .disp = static_cast<int32_t>(offset)};
      }
      a_.mov(x86::rcx, offset);
      a_.add(x86::rcx, q(address));
      return {.base = kMemoryBase.id(), .index = x86::Gp::kIdCx};
    }
    return checked_address(address, offset, bytes, out_of_bounds);
  }
  // rcx = address + offset (64-bit: no wrap), checked against memory 0's size; the operand
  // [memory base + rcx].
  Memory checked_address(Reg address, uint64_t offset, uint32_t bytes, jit::Label out_of_bounds) {
    // i32 values in registers are zero-extended, so the 64-bit register is the address.
    if (offset <= static_cast<uint64_t>(INT32_MAX)) {
      a_.lea(x86::rcx, x86::ptr(q(address), static_cast<int32_t>(offset)));
    } else {
      a_.mov(x86::rcx, offset);
      a_.add(x86::rcx, q(address));
    }
    a_.lea(x86::rdx, x86::ptr(x86::rcx, static_cast<int32_t>(bytes)));
    a_.mov(x86::rax, x86::qword_ptr(kVm, VmOffsets::kMemory));
    a_.cmp(x86::rdx,
           x86::qword_ptr(x86::rax, static_cast<int32_t>(LinearMemory::size_bytes_offset())));
    branch(x86::CondCode::kA, out_of_bounds);
    return {.base = kMemoryBase.id(), .index = x86::Gp::kIdCx};
  }

  X64Features features_;
  BoundsChecks bounds_;
  bool fuel_in_register_;  // r15 holds the fuel
  CodeHolder code_;
  Errors error_handler_;
  DirectAssembler a_;  // asmjit, with the most frequent forms encoded directly
  // The generator's labels are kept here rather than as asmjit's (a zone entry and link list
  // each, with their jumps through asmjit's general encoder: a tenth of compile time): a label
  // is its offset once bound, or the chain of rel32 fields that wait for it.
  static constexpr uint32_t kNoFixup = UINT32_MAX;
  struct LabelState {
    int32_t offset = -1;  // -1: not bound yet
    uint32_t fixups = kNoFixup;
  };
  struct Fixup {
    uint32_t at;  // offset of a rel32 field, relative to the end of its instruction
    uint32_t next;
  };
  // jcc is 0x70+cc (rel8) or 0x0f 0x80+cc (rel32), cc the x86 condition code (asmjit's
  // CondCode; Intel SDM vol. 2, appendix B.1.4.7). kJmp stands for jmp in emit_jump.
  static constexpr int kJmp = -1;
  void add_fixup(jit::Label label, uint32_t at) {
    fixups_.push_back({at, labels_[label].fixups});
    labels_[label].fixups = static_cast<uint32_t>(fixups_.size() - 1);
  }
  void branch(x86::CondCode cc, jit::Label label) { emit_jump(static_cast<int>(cc), label); }
  // jmp (kJmp) or jcc to `label`: rel8 back to a bound label in reach, else rel32 (as asmjit
  // chose).
  void emit_jump(int cc, jit::Label label) {
    const int32_t target = labels_[label].offset;
    const auto here = static_cast<int32_t>(position());
    if (target >= 0 && target - (here + 2) >= -128) {
      const uint8_t bytes[] = {static_cast<uint8_t>(cc == kJmp ? 0xeb : 0x70 + cc),
                               static_cast<uint8_t>(target - (here + 2))};
      a_.raw(bytes, 2);
      return;
    }
    uint8_t bytes[6];
    size_t n = 0;
    if (cc == kJmp) {
      bytes[n++] = 0xe9;
    } else {
      bytes[n++] = 0x0f;
      bytes[n++] = static_cast<uint8_t>(0x80 + cc);
    }
    rel32_to(bytes, n, label);
  }
  void call_to(jit::Label label) {
    uint8_t bytes[5] = {0xe8};
    rel32_to(bytes, 1, label);
  }
  // Emits `bytes[0, n)` and a rel32 to `label` after them (patched when it is bound).
  void rel32_to(uint8_t* bytes, size_t n, jit::Label label) {
    const int32_t target = labels_[label].offset;
    const auto end = static_cast<int32_t>(position() + n + 4);
    const int32_t rel = target >= 0 ? target - end : 0;
    std::memcpy(bytes + n, &rel, 4);
    a_.raw(bytes, n + 4);
    if (target < 0) add_fixup(label, static_cast<uint32_t>(end - 4));
  }

  std::vector<LabelState> labels_;
  std::vector<Fixup> fixups_;
  std::vector<std::pair<jit::Label, std::vector<jit::Label>>> tables_;
  std::vector<std::pair<uint32_t, jit::Label>> table_entries_;  // (8-byte entry's offset, target)
  std::vector<std::pair<uint32_t, uint32_t>> patches_;          // (immediate's offset, value)
  // call_address's calls: (the rel32's offset, the target's address).
  std::vector<std::pair<uint32_t, uint64_t>> direct_calls_;
};

}  // namespace

X64Features X64Features::host() {
  // Not asmjit's CpuInfo::host, which reads every CPUID leaf: in a virtual machine each CPUID
  // traps to the hypervisor, and all of them took 0.14-0.2 ms of kiln's start-up. glibc (2.33
  // and later) has read the leaves at load time; elsewhere the four that matter are read here.
  X64Features f;
#if __has_include(<sys/platform/x86.h>)
  f.sse41 = CPU_FEATURE_ACTIVE(SSE4_1);
  f.popcnt = CPU_FEATURE_ACTIVE(POPCNT);
  f.bmi1 = CPU_FEATURE_ACTIVE(BMI1);
  f.lzcnt = CPU_FEATURE_ACTIVE(LZCNT);
#else
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const unsigned max_leaf = __get_cpuid_max(0, nullptr);
  __cpuid(1, eax, ebx, ecx, edx);
  f.sse41 = (ecx >> 19) & 1;
  f.popcnt = (ecx >> 23) & 1;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    f.bmi1 = (ebx >> 3) & 1;
  }
  __cpuid(0x80000001, eax, ebx, ecx, edx);  // every x86-64 processor has this leaf
  f.lzcnt = (ecx >> 5) & 1;
#endif
  return f;
}

std::unique_ptr<MacroAssembler> create_x64_macro_assembler(const X64Features& features,
                                                           const CodeTierOptions& options) {
  return std::make_unique<X64MacroAssembler>(features, options);
}

size_t assemble_x64_entry_stub(uint8_t* destination, uintptr_t base, bool fuel_in_register) {
  CodeHolder code;
  code.init(Environment::host());
  x86::Assembler a(&code);
  // rdi = VmContext*, rsi = frame, rdx = code. Six pushes after the return address keep the
  // stack 16-byte aligned at the call.
  a.push(x86::rbp);
  a.mov(x86::rbp, x86::rsp);
  a.push(x86::rbx);
  a.push(x86::r12);
  a.push(x86::r13);
  a.push(x86::r14);
  a.push(x86::r15);
  a.sub(x86::rsp, 8);
  a.mov(kVm, x86::rdi);
  a.mov(kFrame, x86::rsi);
  a.mov(kMemoryBase, x86::qword_ptr(kVm, VmOffsets::kMemoryBase));
  a.mov(x86::rax, x86::qword_ptr(kVm, VmOffsets::kStore));
  if (fuel_in_register) a.mov(kFuel, x86::qword_ptr(x86::rax, VmOffsets::kFuel));
  // The call depth as a stack limit (StoreContext::stack_limit): a function d calls deep runs
  // with rsp = entry_rsp - 16 d, so d > call_depth_left is rsp < entry_rsp - 16 call_depth_left.
  // No depth left: a limit above every stack pointer.
  {
    asmjit::Label no_depth = a.newLabel(), have_limit = a.newLabel(), keep = a.newLabel(),
                  interrupted = a.newLabel();
    a.mov(x86::qword_ptr(x86::rax, VmOffsets::kEntryRsp), x86::rsp);
    a.mov(x86::rcx, x86::qword_ptr(x86::rax, VmOffsets::kCallDepthLeft));
    a.mov(x86::r8, x86::rsp);
    a.test(x86::rcx, x86::rcx);
    a.jle(no_depth);
    a.shl(x86::rcx, 4);  // call_depth_left is at most StoreLimits::kMaxCallDepthLimit
    a.sub(x86::r8, x86::rcx);
    a.jae(have_limit);
    a.xor_(x86::r8d, x86::r8d);  // deeper than the stack: the thread's limit decides
    a.jmp(have_limit);
    a.bind(no_depth);
    a.mov(x86::r8, -1);
    a.bind(have_limit);
    a.cmp(x86::r8, x86::qword_ptr(x86::rax, VmOffsets::kStackLimit));
    a.jbe(keep);
    a.mov(x86::qword_ptr(x86::rax, VmOffsets::kStackLimit), x86::r8);
    a.bind(keep);
    // What the prologues check: the limit, unless the store is interrupted (a deadline).
    a.cmp(x86::qword_ptr(x86::rax, VmOffsets::kNativeStackLimit), -1);
    a.je(interrupted);
    a.mov(x86::r8, x86::qword_ptr(x86::rax, VmOffsets::kStackLimit));
    a.mov(x86::qword_ptr(x86::rax, VmOffsets::kNativeStackLimit), x86::r8);
    a.bind(interrupted);
  }
  a.call(x86::rdx);
  if (fuel_in_register) {  // eax is the status; r12 is the VmContext it was entered with
    a.mov(x86::rcx, x86::qword_ptr(kVm, VmOffsets::kStore));
    a.mov(x86::qword_ptr(x86::rcx, VmOffsets::kFuel), kFuel);
  }
  a.add(x86::rsp, 8);
  a.pop(x86::r15);
  a.pop(x86::r14);
  a.pop(x86::r13);
  a.pop(x86::r12);
  a.pop(x86::rbx);
  a.pop(x86::rbp);
  a.ret();
  code.flatten();
  code.resolveUnresolvedLinks();
  if (code.codeSize() > kEntryStubMaxBytes) return 0;
  code.relocateToBase(base);
  code.copyFlattenedData(destination, code.codeSize(), CopySectionFlags::kPadSectionBuffer);
  return code.codeSize();
}

}  // namespace kiln::jit
