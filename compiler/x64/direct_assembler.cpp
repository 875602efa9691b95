#include "compiler/x64/direct_assembler.h"

#include <cstring>
#include <iterator>
#include <optional>

#include "runtime/result.h"

namespace kiln::jit {

namespace {

using namespace asmjit;

// The forms encoded here, per instruction (Intel SDM vol. 2): the opcode of `op r/m, reg` (MR),
// of `op reg, r/m` (RM), and the ModRM.reg digit of `op r/m, imm` (0x81 /digit id, 0x83 /digit
// ib). 0 marks a form the instruction does not have.
struct Form {
  uint8_t mr = 0;
  uint8_t rm = 0;
  int8_t imm_digit = -1;
};

KILN_ALWAYS_INLINE Form form_of(InstId id) {
  switch (id) {
    case x86::Inst::kIdMov:
      return {0x89, 0x8b, 0};
    case x86::Inst::kIdAdd:
      return {0x01, 0x03, 0};
    case x86::Inst::kIdOr:
      return {0x09, 0x0b, 1};
    case x86::Inst::kIdAnd:
      return {0x21, 0x23, 4};
    case x86::Inst::kIdSub:
      return {0x29, 0x2b, 5};
    case x86::Inst::kIdXor:
      return {0x31, 0x33, 6};
    case x86::Inst::kIdCmp:
      return {0x39, 0x3b, 7};
    case x86::Inst::kIdTest:
      return {0x85, 0, -1};  // test r/m, imm (0xf7 /0) is left to asmjit
    default:
      return {};
  }
}

// A general-purpose register operand of 4 or 8 bytes: its id, or -1. One compare of the whole
// operand signature each (the field-by-field accessors cost more than the encoding).
int gp_id(const Operand_& o, uint32_t& size) {
  const uint32_t signature = o.signature().bits();
  if (signature == x86::Gpq::kSignature) {
    size = 8;
  } else if (signature == x86::Gpd::kSignature) {
    size = 4;
  } else {
    return -1;
  }
  return static_cast<int>(o.id());
}

// An asmjit memory operand encoded here: a DirectAssembler::Memory (64-bit registers, nothing
// else: no label, segment, RIP-relative or absolute address, broadcast or register home), with
// its size as written.
struct Address : DirectAssembler::Memory {
  uint32_t size = 0;  // the operand's size in bytes as written (0: not given)
};

constexpr uint32_t kMemoryWithBase = OperandSignature::fromOpType(OperandType::kMem).bits() |
                                     OperandSignature::fromMemBaseType(RegType::kX86_Gpq).bits();
constexpr uint32_t kIndexGpq = OperandSignature::fromMemIndexType(RegType::kX86_Gpq).bits();
// The fields that may vary in an address encoded here: its size, index and scale.
constexpr uint32_t kAddressFreeFields = OperandSignature::kSizeMask |
                                        OperandSignature::kMemIndexTypeMask |
                                        x86::Mem::kSignatureMemShiftValueMask;

bool address_of(const Operand_& o, Address& out) {
  const uint32_t signature = o.signature().bits();
  if ((signature & ~kAddressFreeFields) != kMemoryWithBase) return false;
  const x86::Mem& m = o.as<x86::Mem>();
  const uint32_t index_type = signature & OperandSignature::kMemIndexTypeMask;
  if (index_type != 0) {
    if (index_type != kIndexGpq || m.indexId() == x86::Gp::kIdSp) return false;
    out.index = static_cast<int32_t>(m.indexId());
    out.shift = m.shift();
  }
  out.base = m.baseId();
  out.disp = m.offsetLo32();
  out.size = m.size();
  return true;
}

bool fits_int8(int64_t v) {
  return v >= -128 && v <= 127;
}

// The 32-bit immediate of an operation on 32 or 64 bits (`wide`) for `value`, as asmjit takes
// it: a 32-bit operation any 32-bit pattern, a 64-bit one (sign-extending it) only a value that
// fits in int32; nullopt for anything else.
std::optional<int32_t> immediate32(bool wide, int64_t value) {
  if (value < INT32_MIN || value > (wide ? int64_t{INT32_MAX} : int64_t{UINT32_MAX})) {
    return std::nullopt;
  }
  return static_cast<int32_t>(static_cast<uint32_t>(value));
}

// The bytes of one instruction, written through a cursor (a byte store may alias anything, so
// the operands are read into locals before the first one).
class Encoding {
 public:
  explicit Encoding(uint8_t* out) : start_(out), cursor_(out) {}
  size_t size() const { return static_cast<size_t>(cursor_ - start_); }

  // REX (0100WRXB) when any of its bits is needed, and a bare 0x40 when `byte_register`: reg is
  // a byte register, whose ids 4-7 (spl, bpl, sil, dil) need one (without it they name ah, ch,
  // dh, bh).
  void rex(bool wide, uint32_t reg, uint32_t index, uint32_t base, bool byte_register = false) {
    const uint8_t bits = static_cast<uint8_t>((wide ? 8 : 0) | ((reg >> 3) & 1) << 2 |
                                              ((index >> 3) & 1) << 1 | ((base >> 3) & 1));
    if (bits || (byte_register && reg >= 4 && reg < 8)) byte(0x40 | bits);
  }
  void byte(uint8_t b) { *cursor_++ = b; }
  void imm32(int64_t v) {
    const uint32_t bits = static_cast<uint32_t>(v);
    std::memcpy(cursor_, &bits, 4);
    cursor_ += 4;
  }
  void imm64(uint64_t v) {
    std::memcpy(cursor_, &v, 8);
    cursor_ += 8;
  }

  // opcode reg, r/m with r/m a register.
  // Opcodes above 0xff are two bytes, 0x0f first.
  void opcode(uint16_t value) {
    if (value > 0xff) byte(0x0f);
    byte(static_cast<uint8_t>(value));
  }

  void register_form(bool wide, uint16_t op, uint32_t reg, uint32_t rm) {
    rex(wide, reg, 0, rm);
    opcode(op);
    byte(static_cast<uint8_t>(0xc0 | (reg & 7) << 3 | (rm & 7)));
  }

  // opcode reg, [address]: ModRM, SIB when there is an index or the base is rsp/r12, and the
  // shortest displacement (rbp/r13 as base always take one: mod 00 with them means no base).
  void memory_form(bool wide, uint16_t op, uint32_t reg, const DirectAssembler::Memory& a,
                   bool byte_register = false) {
    const uint32_t base = a.base;
    const int32_t disp = a.disp;
    const bool indexed = a.index >= 0;
    const uint32_t index = indexed ? static_cast<uint32_t>(a.index) : 0;
    const uint32_t shift = a.shift;
    rex(wide, reg, index, base, byte_register);
    opcode(op);
    const bool sib = indexed || (base & 7) == 4;
    uint8_t mod;
    if (disp == 0 && (base & 7) != 5) {
      mod = 0;
    } else if (fits_int8(disp)) {
      mod = 1;
    } else {
      mod = 2;
    }
    byte(static_cast<uint8_t>(mod << 6 | (reg & 7) << 3 | (sib ? 4 : (base & 7))));
    if (sib) {
      const uint32_t index_bits = indexed ? (index & 7) : 4;
      byte(static_cast<uint8_t>(shift << 6 | index_bits << 3 | (base & 7)));
    }
    if (mod == 1) {
      byte(static_cast<uint8_t>(disp));
    } else if (mod == 2) {
      imm32(disp);
    }
  }

 private:
  uint8_t* start_;
  uint8_t* cursor_;
};

// cmovcc's condition code (the low nibble of 0x0f 0x40+cc), or -1.
int cmov_condition(InstId id) {
  switch (id) {
    case x86::Inst::kIdCmovo:
      return 0x0;
    case x86::Inst::kIdCmovno:
      return 0x1;
    case x86::Inst::kIdCmovb:
      return 0x2;
    case x86::Inst::kIdCmovae:
      return 0x3;
    case x86::Inst::kIdCmovz:
      return 0x4;
    case x86::Inst::kIdCmovnz:
      return 0x5;
    case x86::Inst::kIdCmovbe:
      return 0x6;
    case x86::Inst::kIdCmova:
      return 0x7;
    case x86::Inst::kIdCmovs:
      return 0x8;
    case x86::Inst::kIdCmovns:
      return 0x9;
    case x86::Inst::kIdCmovp:
      return 0xa;
    case x86::Inst::kIdCmovnp:
      return 0xb;
    case x86::Inst::kIdCmovl:
      return 0xc;
    case x86::Inst::kIdCmovge:
      return 0xd;
    case x86::Inst::kIdCmovle:
      return 0xe;
    case x86::Inst::kIdCmovg:
      return 0xf;
    default:
      return -1;
  }
}

// The ModRM.reg digit of a shift or rotate by an immediate (0xc1 /digit ib), or -1.
int shift_digit(InstId id) {
  switch (id) {
    case x86::Inst::kIdRol:
      return 0;
    case x86::Inst::kIdRor:
      return 1;
    case x86::Inst::kIdShl:
      return 4;
    case x86::Inst::kIdShr:
      return 5;
    case x86::Inst::kIdSar:
      return 7;
    default:
      return -1;
  }
}

// op reg, imm of an ALU form other than mov (0x83 /digit ib, the accumulator's short form, or
// 0x81 /digit id), as asmjit picks them; false when the value has no 32-bit form.
KILN_ALWAYS_INLINE bool encode_alu_immediate(const Form& form, bool wide, uint32_t reg,
                                             int64_t value, Encoding& e) {
  const std::optional<int32_t> immediate = immediate32(wide, value);
  if (!immediate || form.imm_digit < 0) return false;
  const int32_t v = *immediate;
  const auto digit = static_cast<uint32_t>(form.imm_digit);
  if (fits_int8(v)) {
    e.register_form(wide, 0x83, digit, reg);
    e.byte(static_cast<uint8_t>(v));
  } else if (reg == x86::Gp::kIdAx) {
    // The accumulator's short form, as asmjit picks it: op eax/rax, imm32.
    e.rex(wide, 0, 0, 0);
    e.byte(static_cast<uint8_t>(digit << 3 | 5));
    e.imm32(v);
  } else {
    e.register_form(wide, 0x81, digit, reg);
    e.imm32(v);
  }
  return true;
}

// mov reg, imm as asmjit encodes it: a 32-bit mov is B8+r id; a 64-bit one C7 /0 id when the
// value sign-extends from 32 bits, else the ten-byte B8+r io. False for a 32-bit mov of a value
// with no 32-bit pattern.
KILN_ALWAYS_INLINE bool encode_mov_immediate(bool wide, uint32_t reg, int64_t value, Encoding& e) {
  const std::optional<int32_t> v = immediate32(wide, value);
  if (!wide) {
    if (!v) return false;
    e.rex(false, 0, 0, reg);
    e.byte(static_cast<uint8_t>(0xb8 + (reg & 7)));
    e.imm32(*v);
  } else if (v) {
    e.register_form(true, 0xc7, 0, reg);
    e.imm32(*v);
  } else {
    e.rex(true, 0, 0, reg);
    e.byte(static_cast<uint8_t>(0xb8 + (reg & 7)));
    e.imm64(static_cast<uint64_t>(value));
  }
  return true;
}

x86::Gp gp_of(bool wide, uint32_t id) {
  return wide ? x86::Gp(x86::gpq(id)) : x86::Gp(x86::gpd(id));
}

// Each DirectAssembler::MemoryMove: its encoding (a mandatory prefix or 0, REX.W, the opcode)
// and, for asmjit's path, the instruction with its register's and memory's sizes.
struct MoveForm {
  uint8_t prefix;
  bool wide;
  uint16_t opcode;
  InstId id;
  uint8_t register_size;  // 1, 2, 4 or 8 bytes of a general register; 16: an xmm register
  uint8_t memory_size;
  bool store;
};
using Move = DirectAssembler::MemoryMove;
// Indexed by Move.
constexpr MoveForm kMoveForms[] = {
    {0, false, 0x8b, x86::Inst::kIdMov, 4, 4, false},          // kLoad32
    {0, true, 0x8b, x86::Inst::kIdMov, 8, 8, false},           // kLoad64
    {0, false, 0x0fb6, x86::Inst::kIdMovzx, 4, 1, false},      // kZeroExtend8
    {0, false, 0x0fb7, x86::Inst::kIdMovzx, 4, 2, false},      // kZeroExtend16
    {0, false, 0x0fbe, x86::Inst::kIdMovsx, 4, 1, false},      // kSignExtend8To32
    {0, true, 0x0fbe, x86::Inst::kIdMovsx, 8, 1, false},       // kSignExtend8To64
    {0, false, 0x0fbf, x86::Inst::kIdMovsx, 4, 2, false},      // kSignExtend16To32
    {0, true, 0x0fbf, x86::Inst::kIdMovsx, 8, 2, false},       // kSignExtend16To64
    {0, true, 0x63, x86::Inst::kIdMovsxd, 8, 4, false},        // kSignExtend32To64
    {0xf3, false, 0x0f10, x86::Inst::kIdMovss, 16, 4, false},  // kLoadF32
    {0xf2, false, 0x0f10, x86::Inst::kIdMovsd, 16, 8, false},  // kLoadF64
    {0, false, 0x88, x86::Inst::kIdMov, 1, 1, true},           // kStore8
    {0x66, false, 0x89, x86::Inst::kIdMov, 2, 2, true},        // kStore16
    {0, false, 0x89, x86::Inst::kIdMov, 4, 4, true},           // kStore32
    {0, true, 0x89, x86::Inst::kIdMov, 8, 8, true},            // kStore64
    {0xf3, false, 0x0f11, x86::Inst::kIdMovss, 16, 4, true},   // kStoreF32
    {0xf2, false, 0x0f11, x86::Inst::kIdMovsd, 16, 8, true},   // kStoreF64
};
static_assert(std::size(kMoveForms) == static_cast<size_t>(Move::kStoreF64) + 1);

x86::Mem mem_of(const DirectAssembler::Memory& m, uint32_t size) {
  if (m.index < 0) return x86::ptr(x86::gpq(m.base), m.disp, size);
  return x86::ptr(x86::gpq(m.base), x86::gpq(static_cast<uint32_t>(m.index)), m.shift, m.disp,
                  size);
}

}  // namespace

// The forms outside the ALU table: ret, leave, push and call of a register, lea, movzx/movsx
// loads, movsxd, imul, cmovcc, and shifts by an immediate.
size_t DirectAssembler::encode_other(InstId id, const Operand_& o0, const Operand_& o1,
                                     uint8_t* out) {
  Encoding e(out);
  uint32_t size0 = 0, size1 = 0;
  if (o0.isNone()) {
    if (id == x86::Inst::kIdRet) {
      e.byte(0xc3);
    } else if (id == x86::Inst::kIdLeave) {
      e.byte(0xc9);
    }
    return e.size();
  }
  const int r0 = gp_id(o0, size0);
  if (r0 < 0) return 0;
  const auto reg = static_cast<uint32_t>(r0);
  const bool wide = size0 == 8;
  if (o1.isNone()) {
    if (!wide) return 0;
    if (id == x86::Inst::kIdPush) {
      e.rex(false, 0, 0, reg);
      e.byte(static_cast<uint8_t>(0x50 + (reg & 7)));
    } else if (id == x86::Inst::kIdCall) {
      e.register_form(false, 0xff, 2, reg);
    }
    return e.size();
  }
  Address address;
  if (address_of(o1, address)) {
    switch (id) {
      case x86::Inst::kIdLea:
        e.memory_form(wide, 0x8d, reg, address);
        return e.size();
      case x86::Inst::kIdMovzx:
      case x86::Inst::kIdMovsx:
        if (address.size != 1 && address.size != 2) return 0;
        e.memory_form(wide,
                      static_cast<uint16_t>((id == x86::Inst::kIdMovzx ? 0x0fb6 : 0x0fbe) +
                                            (address.size == 2 ? 1 : 0)),
                      reg, address);
        return e.size();
      case x86::Inst::kIdMovsxd:
        if (!wide || address.size != 4) return 0;
        e.memory_form(true, 0x63, reg, address);
        return e.size();
      case x86::Inst::kIdImul:
        if (address.size != 0 && address.size != size0) return 0;
        e.memory_form(wide, 0x0faf, reg, address);
        return e.size();
      default:
        if (const int cc = cmov_condition(id); cc >= 0) {
          if (address.size != 0 && address.size != size0) return 0;
          e.memory_form(wide, static_cast<uint16_t>(0x0f40 + cc), reg, address);
        }
        return e.size();
    }
  }
  if (const int r1 = gp_id(o1, size1); r1 >= 0) {
    if (size1 != size0) return 0;
    if (id == x86::Inst::kIdImul) {
      e.register_form(wide, 0x0faf, reg, static_cast<uint32_t>(r1));
    } else if (const int cc = cmov_condition(id); cc >= 0) {
      e.register_form(wide, static_cast<uint16_t>(0x0f40 + cc), reg, static_cast<uint32_t>(r1));
    }
    return e.size();
  }
  if (o1.isImm()) {
    const int digit = shift_digit(id);
    const int64_t count = o1.as<Imm>().value();
    if (digit < 0 || count < 0 || count > 255) return 0;
    if (count == 1) {
      e.register_form(wide, 0xd1, static_cast<uint32_t>(digit), reg);
    } else {
      e.register_form(wide, 0xc1, static_cast<uint32_t>(digit), reg);
      e.byte(static_cast<uint8_t>(count));
    }
  }
  return e.size();
}

size_t DirectAssembler::encode(InstId id, const Operand_& o0, const Operand_& o1, uint8_t* out) {
  const Form form = form_of(id);
  if (!form.mr) return encode_other(id, o0, o1, out);
  Encoding e(out);
  uint32_t size0 = 0, size1 = 0;
  Address address;
  const int r0 = gp_id(o0, size0);
  if (r0 >= 0) {
    const bool wide = size0 == 8;
    if (const int r1 = gp_id(o1, size1); r1 >= 0) {
      if (size1 != size0) return 0;
      e.register_form(wide, form.mr, static_cast<uint32_t>(r1), static_cast<uint32_t>(r0));
      return e.size();
    }
    if (address_of(o1, address)) {
      if (!form.rm || (address.size != 0 && address.size != size0)) return 0;
      e.memory_form(wide, form.rm, static_cast<uint32_t>(r0), address);
      return e.size();
    }
    if (!o1.isImm() || form.imm_digit < 0) return 0;
    const int64_t value = o1.as<Imm>().value();
    if (id == x86::Inst::kIdMov) {
      return encode_mov_immediate(wide, static_cast<uint32_t>(r0), value, e) ? e.size() : 0;
    }
    return encode_alu_immediate(form, wide, static_cast<uint32_t>(r0), value, e) ? e.size() : 0;
  }
  if (!address_of(o0, address)) return 0;
  if (const int r1 = gp_id(o1, size1); r1 >= 0) {
    if (address.size != 0 && address.size != size1) return 0;
    e.memory_form(size1 == 8, form.mr, static_cast<uint32_t>(r1), address);
    return e.size();
  }
  if (!o1.isImm() || form.imm_digit < 0 || (address.size != 4 && address.size != 8)) return 0;
  const bool wide = address.size == 8;
  const std::optional<int32_t> immediate = immediate32(wide, o1.as<Imm>().value());
  if (!immediate) return 0;
  const int32_t v = *immediate;
  const auto digit = static_cast<uint32_t>(form.imm_digit);
  if (id == x86::Inst::kIdMov) {
    e.memory_form(wide, 0xc7, 0, address);
    e.imm32(v);
  } else if (fits_int8(v)) {
    e.memory_form(wide, 0x83, digit, address);
    e.byte(static_cast<uint8_t>(v));
  } else {
    e.memory_form(wide, 0x81, digit, address);
    e.imm32(v);
  }
  return e.size();
}

// Room in the buffer for the longest instruction (growing it is asmjit's). The typed entry
// points need no more: the macro-assembler sets no option, prefix or comment before calling
// them (its one prefix, rep, goes with an instruction asmjit emits). Checking those at every
// instruction was 2 % of compiling a function.
bool DirectAssembler::direct_ready() const {
  constexpr size_t kMaxInstructionBytes = 15;
  return remainingSpace() >= kMaxInstructionBytes;
}

// What _emit, asmjit's own entry, may be handed: only a plain instruction is encoded here,
// prefixes, options and comments are asmjit's.
bool DirectAssembler::plain_instruction_ready() const {
  return (instOptions() | forcedInstOptions()) == InstOptions::kNone && !hasExtraReg() &&
         !inlineComment() && direct_ready();
}

void DirectAssembler::commit(size_t n) {
  _bufferPtr += n;
  CodeBuffer& buffer = _section->_buffer;
  const size_t end = offset();
  if (end > buffer._size) buffer._size = end;
  ++direct_count_;
}

void DirectAssembler::raw(const uint8_t* bytes, size_t n) {
  if (n <= 15 && direct_ready()) {
    std::memcpy(_bufferPtr, bytes, n);
    commit(n);
    return;
  }
  embed(bytes, n);
}

asmjit::Error DirectAssembler::_emit(InstId id, const Operand_& o0, const Operand_& o1,
                                     const Operand_& o2, const Operand_* extra) {
  if (o2.isNone() && (!extra || extra[0].isNone()) && plain_instruction_ready()) {
    if (const size_t n = encode(id, o0, o1, _bufferPtr); n != 0) {
      commit(n);
      return kErrorOk;
    }
  }
  return asmjit::x86::Assembler::_emit(id, o0, o1, o2, extra);
}

void DirectAssembler::alu_register(InstId id, bool wide, uint32_t dst, uint32_t src) {
  const Form form = form_of(id);
  if (form.mr && direct_ready()) {
    Encoding e(_bufferPtr);
    e.register_form(wide, form.mr, src, dst);
    commit(e.size());
    return;
  }
  emit(id, gp_of(wide, dst), gp_of(wide, src));
}

void DirectAssembler::alu_immediate(InstId id, bool wide, uint32_t dst, int64_t imm) {
  const Form form = form_of(id);
  if (form.mr && id != x86::Inst::kIdMov && direct_ready()) {
    Encoding e(_bufferPtr);
    if (encode_alu_immediate(form, wide, dst, imm, e)) {
      commit(e.size());
      return;
    }
  }
  emit(id, gp_of(wide, dst), Imm(imm));
}

bool DirectAssembler::memory_form(bool wide, uint16_t op, uint32_t reg, uint32_t base,
                                  int32_t disp) {
  if (!direct_ready()) return false;
  Encoding e(_bufferPtr);
  e.memory_form(wide, op, reg, {.base = base, .disp = disp});
  commit(e.size());
  return true;
}

void DirectAssembler::alu_memory(InstId id, bool wide, uint32_t dst, uint32_t base, int32_t disp) {
  const Form form = form_of(id);
  if (form.rm && memory_form(wide, form.rm, dst, base, disp)) return;
  emit(id, gp_of(wide, dst), x86::ptr(x86::gpq(base), disp, wide ? 8 : 4));
}

void DirectAssembler::store(bool wide, uint32_t base, int32_t disp, uint32_t src) {
  // move_memory's kStore32/kStore64 without an index, specialized: slot stores are among the
  // most frequent instructions, and the general form costs about 40 % more to encode.
  if (memory_form(wide, 0x89, src, base, disp)) return;
  move_memory_through_asmjit(wide ? MemoryMove::kStore64 : MemoryMove::kStore32, src,
                             {.base = base, .disp = disp});
}

void DirectAssembler::shift_immediate(InstId id, bool wide, uint32_t dst, uint32_t count) {
  const int digit = shift_digit(id);
  if (digit >= 0 && count <= 255 && direct_ready()) {
    Encoding e(_bufferPtr);
    if (count == 1) {
      e.register_form(wide, 0xd1, static_cast<uint32_t>(digit), dst);
    } else {
      e.register_form(wide, 0xc1, static_cast<uint32_t>(digit), dst);
      e.byte(static_cast<uint8_t>(count));
    }
    commit(e.size());
    return;
  }
  emit(id, gp_of(wide, dst), Imm(count));
}

void DirectAssembler::imul_immediate(bool wide, uint32_t dst, uint32_t src, int32_t imm) {
  if (direct_ready()) {
    // imul r, r/m, imm8 (0x6b /r ib) when the value fits a sign-extended byte, else imm32
    // (0x69 /r id), as asmjit chooses.
    Encoding e(_bufferPtr);
    if (fits_int8(imm)) {
      e.register_form(wide, 0x6b, dst, src);
      e.byte(static_cast<uint8_t>(imm));
    } else {
      e.register_form(wide, 0x69, dst, src);
      e.imm32(imm);
    }
    commit(e.size());
    return;
  }
  emit(x86::Inst::kIdImul, gp_of(wide, dst), gp_of(wide, src), Imm(imm));
}

void DirectAssembler::mov_immediate(bool wide, uint32_t dst, int64_t value) {
  if (direct_ready()) {
    Encoding e(_bufferPtr);
    if (encode_mov_immediate(wide, dst, value, e)) {
      commit(e.size());
      return;
    }
  }
  emit(x86::Inst::kIdMov, gp_of(wide, dst), Imm(value));
}

void DirectAssembler::load_address(bool wide, uint32_t dst, uint32_t base, int32_t disp) {
  if (memory_form(wide, 0x8d, dst, base, disp)) return;
  emit(x86::Inst::kIdLea, gp_of(wide, dst), x86::ptr(x86::gpq(base), disp));
}

void DirectAssembler::call_register(uint32_t target) {
  if (direct_ready()) {
    Encoding e(_bufferPtr);
    e.register_form(false, 0xff, 2, target);
    commit(e.size());
    return;
  }
  emit(x86::Inst::kIdCall, x86::gpq(target));
}

void DirectAssembler::set_condition(x86::CondCode cc, uint32_t dst) {
  if (direct_ready()) {
    Encoding e(_bufferPtr);
    e.register_form(false, static_cast<uint16_t>(0x0f90 + static_cast<uint32_t>(cc)), 0,
                    x86::Gp::kIdAx);
    e.register_form(false, 0x0fb6, dst, x86::Gp::kIdAx);
    commit(e.size());
    return;
  }
  emit(x86::Inst::setccFromCond(cc), x86::al);
  emit(x86::Inst::kIdMovzx, x86::gpd(dst), x86::al);
}

bool DirectAssembler::register_form(bool wide, uint16_t op, uint32_t reg, uint32_t rm) {
  if (!direct_ready()) return false;
  Encoding e(_bufferPtr);
  e.register_form(wide, op, reg, rm);
  commit(e.size());
  return true;
}

void DirectAssembler::move_memory(MemoryMove move, uint32_t reg, const Memory& m) {
  const MoveForm& form = kMoveForms[static_cast<size_t>(move)];
  if (direct_ready()) [[likely]] {
    Encoding e(_bufferPtr);
    if (form.prefix) e.byte(form.prefix);
    e.memory_form(form.wide, form.opcode, reg, m, form.register_size == 1);
    commit(e.size());
    return;
  }
  move_memory_through_asmjit(move, reg, m);
}

void DirectAssembler::move_memory_through_asmjit(MemoryMove move, uint32_t reg, const Memory& m) {
  const MoveForm& form = kMoveForms[static_cast<size_t>(move)];
  Operand r;
  switch (form.register_size) {
    case 1:
      r = x86::gpb_lo(reg);
      break;
    case 2:
      r = x86::gpw(reg);
      break;
    case 16:
      r = x86::xmm(reg);
      break;
    default:
      r = gp_of(form.register_size == 8, reg);
  }
  const x86::Mem mem = mem_of(m, form.memory_size);
  if (form.store) {
    emit(form.id, mem, r);
  } else {
    emit(form.id, r, mem);
  }
}

void DirectAssembler::store_immediate(uint32_t bytes, const Memory& m, int64_t value) {
  if (direct_ready() && (bytes != 8 || (value >= INT32_MIN && value <= INT32_MAX))) {
    Encoding e(_bufferPtr);
    if (bytes == 2) e.byte(0x66);
    e.memory_form(bytes == 8, bytes == 1 ? 0xc6 : 0xc7, 0, m);
    if (bytes == 1) {
      e.byte(static_cast<uint8_t>(value));
    } else if (bytes == 2) {
      e.byte(static_cast<uint8_t>(value));
      e.byte(static_cast<uint8_t>(value >> 8));
    } else {
      e.imm32(value);
    }
    commit(e.size());
    return;
  }
  emit(x86::Inst::kIdMov, mem_of(m, bytes), Imm(value));
}

void DirectAssembler::shift_by_cl(InstId id, bool wide, uint32_t dst) {
  const int digit = shift_digit(id);
  if (digit >= 0 && register_form(wide, 0xd3, static_cast<uint32_t>(digit), dst)) return;
  emit(id, gp_of(wide, dst), x86::cl);
}

void DirectAssembler::multiply(bool wide, uint32_t dst, uint32_t src) {
  if (register_form(wide, 0x0faf, dst, src)) return;
  emit(x86::Inst::kIdImul, gp_of(wide, dst), gp_of(wide, src));
}

void DirectAssembler::multiply_memory(bool wide, uint32_t dst, uint32_t base, int32_t disp) {
  if (memory_form(wide, 0x0faf, dst, base, disp)) return;
  emit(x86::Inst::kIdImul, gp_of(wide, dst), x86::ptr(x86::gpq(base), disp, wide ? 8 : 4));
}

void DirectAssembler::conditional_move(x86::CondCode cc, bool wide, uint32_t dst, uint32_t src) {
  if (register_form(wide, static_cast<uint16_t>(0x0f40 + static_cast<uint32_t>(cc)), dst, src)) {
    return;
  }
  emit(x86::Inst::cmovccFromCond(cc), gp_of(wide, dst), gp_of(wide, src));
}

}  // namespace kiln::jit
