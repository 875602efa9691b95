// The x64 backend's DirectAssembler encodes the most frequent instruction forms itself; for
// every form it takes (and the ones next to them it leaves to asmjit) it must give the bytes
// asmjit gives, and report the same errors. The x64 macro-assembler's own labels are checked
// here too: each jump reaches its label.
#include "compiler/x64/direct_assembler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "compiler/x64/macro_assembler_x64.h"

namespace kiln::jit {
namespace {

using namespace asmjit;

const InstId kInstructions[] = {x86::Inst::kIdMov, x86::Inst::kIdAdd, x86::Inst::kIdOr,
                                x86::Inst::kIdAnd, x86::Inst::kIdSub, x86::Inst::kIdXor,
                                x86::Inst::kIdCmp, x86::Inst::kIdTest};
const int32_t kDisplacements[] = {0, 1, -1, 127, -128, 128, -129, 0x12345678, INT32_MIN};
const int64_t kImmediates[] = {0,         1,           -1,          127,        128,
                               -128,      -129,        0x7fffffff,  0x80000000, 0xffffffff,
                               INT32_MIN, 0x100000000, -0x80000001, INT64_MIN,  INT64_MAX};

// Both assemblers, fed the same instructions; each instruction's bytes and result compared.
class Comparison {
 public:
  Comparison() {
    direct_code_.init(Environment::host());
    direct_code_.attach(&direct_);
    asmjit_code_.init(Environment::host());
    asmjit_code_.attach(&asmjit_);
  }

  void check(InstId id, const Operand_& a, const Operand_& b, const std::string& what) {
    Error direct_error = kErrorOk;
    compare([&](DirectAssembler& d) { direct_error = d.emit(id, a, b); }, id, a, b, direct_error,
            what);
  }

  // The typed entry point `direct` (called on the DirectAssembler) against asmjit's emit of
  // the same instruction.
  template <typename Direct>
  void check_typed(Direct direct, InstId id, const Operand_& a, const Operand_& b,
                   const std::string& what) {
    const Error ok = kErrorOk;
    compare(direct, id, a, b, ok, what);
  }

  // Runs `direct` on the DirectAssembler and asmjit's emit of the same instruction, and
  // compares their results (`direct_error`, as `direct` left it) and bytes.
  template <typename Direct>
  void compare(Direct direct, InstId id, const Operand_& a, const Operand_& b,
               const Error& direct_error, const std::string& what) {
    compare_with(
        direct, [&](x86::Assembler& reference) { return reference.emit(id, a, b); }, direct_error,
        what);
  }
  // The typed entry point `direct` against asmjit's emit of an instruction of three operands.
  template <typename Direct>
  void check_typed3(Direct direct, InstId id, const Operand_& a, const Operand_& b,
                    const Operand_& c, const std::string& what) {
    const Error ok = kErrorOk;
    compare_with(
        direct, [&](x86::Assembler& reference) { return reference.emit(id, a, b, c); }, ok, what);
  }
  // Runs `direct` on the DirectAssembler and `reference` on asmjit's, and compares their
  // results and bytes.
  template <typename Direct, typename Reference>
  void compare_with(Direct direct, Reference reference, const Error& direct_error,
                    const std::string& what) {
    const size_t direct_start = direct_.offset(), asmjit_start = asmjit_.offset();
    direct(direct_);
    const Error asmjit_error = reference(asmjit_);
    ++count_;
    ASSERT_EQ(direct_error, asmjit_error) << what;
    const std::vector<uint8_t> direct_bytes(direct_.bufferData() + direct_start,
                                            direct_.bufferPtr());
    const std::vector<uint8_t> asmjit_bytes(asmjit_.bufferData() + asmjit_start,
                                            asmjit_.bufferPtr());
    ASSERT_EQ(direct_bytes, asmjit_bytes) << what;
  }

  void check0(InstId id, const std::string& what) { check(id, Operand(), Operand(), what); }
  void check1(InstId id, const Operand_& a, const std::string& what) {
    check(id, a, Operand(), what);
  }

  void finish() {
    // The code buffers agree as a whole too (the section's size is what asmjit copies out).
    ASSERT_EQ(direct_code_.codeSize(), asmjit_code_.codeSize());
  }
  size_t count() const { return count_; }
  size_t direct_count() const { return direct_.direct_count(); }

 private:
  CodeHolder direct_code_, asmjit_code_;
  DirectAssembler direct_;
  x86::Assembler asmjit_;
  size_t count_ = 0;
};

std::string name(InstId id) {
  return std::to_string(id);
}

x86::Gp gp(uint32_t size, uint32_t id) {
  return size == 8 ? x86::Gp(x86::gpq(id)) : x86::Gp(x86::gpd(id));
}

std::vector<x86::Mem> addresses(uint32_t size) {
  std::vector<x86::Mem> out;
  for (uint32_t base = 0; base < 16; ++base) {
    for (int32_t disp : kDisplacements) {
      out.push_back(x86::ptr(x86::gpq(base), disp, size));
      // Indexes whose low three bits are special (rbp, r12, r13) and ordinary ones; every scale.
      for (uint32_t index : {0u, 5u, 12u, 13u, 15u}) {
        out.push_back(x86::ptr(x86::gpq(base), x86::gpq(index), (base + index) % 4, disp, size));
      }
    }
  }
  return out;
}

TEST(DirectAssembler, RegisterToRegisterMatchesAsmjit) {
  Comparison c;
  for (InstId id : kInstructions) {
    for (uint32_t size : {4u, 8u}) {
      for (uint32_t a = 0; a < 16; ++a) {
        for (uint32_t b = 0; b < 16; ++b) {
          c.check(id, gp(size, a), gp(size, b),
                  name(id) + " size " + std::to_string(size) + " r" + std::to_string(a) + ", r" +
                      std::to_string(b));
        }
      }
    }
  }
  c.finish();
  // All but the few that meet the end of the code buffer (asmjit grows it).
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

TEST(DirectAssembler, MemoryOperandsMatchAsmjit) {
  Comparison c;
  for (InstId id : kInstructions) {
    for (uint32_t size : {4u, 8u}) {
      // Sized like the register, and unsized (as kiln writes [memory base + address]).
      for (uint32_t mem_size : {size, 0u}) {
        const std::vector<x86::Mem> all = addresses(mem_size);
        for (size_t i = 0; i < all.size(); ++i) {
          const x86::Gp r = gp(size, static_cast<uint32_t>(i % 16));
          const std::string what = name(id) + " size " + std::to_string(size) + " address " +
                                   std::to_string(i) + " of " + std::to_string(mem_size);
          c.check(id, r, all[i], what + " (load form)");
          c.check(id, all[i], r, what + " (store form)");
        }
      }
    }
  }
  c.finish();
  // Everything but `test reg, [mem]` (which asmjit encodes) took the direct path.
  EXPECT_GT(c.direct_count(), c.count() * 7 / 10);
}

TEST(DirectAssembler, ImmediatesMatchAsmjit) {
  Comparison c;
  for (InstId id : kInstructions) {
    for (uint32_t size : {4u, 8u}) {
      for (int64_t value : kImmediates) {
        for (uint32_t r = 0; r < 16; ++r) {
          c.check(id, gp(size, r), Imm(value),
                  name(id) + " size " + std::to_string(size) + " r" + std::to_string(r) + ", " +
                      std::to_string(value));
        }
        for (const x86::Mem& m :
             {x86::ptr(x86::rbx, 8, size), x86::ptr(x86::r13, 0, size),
              x86::ptr(x86::rsp, -200, size), x86::ptr(x86::r12, x86::r13, 3, 0x1000, size)}) {
          c.check(id, m, Imm(value),
                  name(id) + " size " + std::to_string(size) + " [mem], " + std::to_string(value));
        }
      }
    }
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() / 2);
}

TEST(DirectAssembler, CallsLoadsShiftsAndMovesMatchAsmjit) {
  Comparison c;
  c.check0(x86::Inst::kIdRet, "ret");
  c.check0(x86::Inst::kIdLeave, "leave");
  for (uint32_t r = 0; r < 16; ++r) {
    c.check1(x86::Inst::kIdPush, x86::gpq(r), "push r" + std::to_string(r));
    c.check1(x86::Inst::kIdCall, x86::gpq(r), "call r" + std::to_string(r));
  }
  const InstId cmovs[] = {
      x86::Inst::kIdCmovo, x86::Inst::kIdCmovno, x86::Inst::kIdCmovb,  x86::Inst::kIdCmovae,
      x86::Inst::kIdCmovz, x86::Inst::kIdCmovnz, x86::Inst::kIdCmovbe, x86::Inst::kIdCmova,
      x86::Inst::kIdCmovs, x86::Inst::kIdCmovns, x86::Inst::kIdCmovp,  x86::Inst::kIdCmovnp,
      x86::Inst::kIdCmovl, x86::Inst::kIdCmovge, x86::Inst::kIdCmovle, x86::Inst::kIdCmovg};
  for (uint32_t size : {4u, 8u}) {
    for (uint32_t a = 0; a < 16; ++a) {
      const std::string what = "size " + std::to_string(size) + " r" + std::to_string(a);
      for (uint32_t b = 0; b < 16; ++b) {
        c.check(x86::Inst::kIdImul, gp(size, a), gp(size, b), "imul " + what);
        for (InstId id : cmovs) c.check(id, gp(size, a), gp(size, b), name(id) + " " + what);
      }
      for (InstId id : {x86::Inst::kIdShl, x86::Inst::kIdShr, x86::Inst::kIdSar, x86::Inst::kIdRol,
                        x86::Inst::kIdRor}) {
        for (int64_t count : {0, 1, 2, 31, 63, 255}) {
          c.check(id, gp(size, a), Imm(count),
                  name(id) + " " + what + " by " + std::to_string(count));
        }
      }
    }
    const std::vector<x86::Mem> unsized = addresses(0);
    for (size_t i = 0; i < unsized.size(); ++i) {
      const x86::Gp r = gp(size, static_cast<uint32_t>(i % 16));
      const std::string what = "size " + std::to_string(size) + " address " + std::to_string(i);
      c.check(x86::Inst::kIdLea, r, unsized[i], "lea " + what);
      c.check(x86::Inst::kIdImul, r, unsized[i], "imul " + what);
      c.check(cmovs[i % 16], r, unsized[i], "cmov " + what);
    }
    for (uint32_t from : {1u, 2u, 4u}) {
      const std::vector<x86::Mem> all = addresses(from);
      for (size_t i = 0; i < all.size(); ++i) {
        const x86::Gp r = gp(size, static_cast<uint32_t>(i % 16));
        const std::string what = "size " + std::to_string(size) + " from " + std::to_string(from) +
                                 " address " + std::to_string(i);
        if (from < 4) {
          c.check(x86::Inst::kIdMovzx, r, all[i], "movzx " + what);
          c.check(x86::Inst::kIdMovsx, r, all[i], "movsx " + what);
        } else if (size == 8) {
          c.check(x86::Inst::kIdMovsxd, r, all[i], "movsxd " + what);
        }
      }
    }
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

// The operand-free entry points (alu_register, alu_immediate, alu_memory, store) give the bytes
// asmjit gives for the same instruction, for every register, size, immediate class and base
// with every displacement class; forms they do not encode themselves (test with memory, an
// immediate that does not fit) come out as asmjit's too.
TEST(DirectAssembler, TypedEntryPointsMatchAsmjit) {
  Comparison c;
  for (InstId id : kInstructions) {
    for (bool wide : {false, true}) {
      const uint32_t size = wide ? 8 : 4;
      const std::string w = name(id) + (wide ? " 64" : " 32");
      for (uint32_t a = 0; a < 16; ++a) {
        for (uint32_t b = 0; b < 16; ++b) {
          c.check_typed([&](DirectAssembler& d) { d.alu_register(id, wide, a, b); }, id,
                        gp(size, a), gp(size, b),
                        w + " r" + std::to_string(a) + ", r" + std::to_string(b));
        }
        if (id != x86::Inst::kIdMov && id != x86::Inst::kIdTest) {
          for (int64_t value : kImmediates) {
            if (value < INT32_MIN || value > INT32_MAX) continue;  // asmjit refuses some
            c.check_typed([&](DirectAssembler& d) { d.alu_immediate(id, wide, a, value); }, id,
                          gp(size, a), Imm(value),
                          w + " r" + std::to_string(a) + ", " + std::to_string(value));
          }
        }
        for (uint32_t base = 0; base < 16; ++base) {
          for (int32_t disp : kDisplacements) {
            const std::string where =
                " [r" + std::to_string(base) + " + " + std::to_string(disp) + "]";
            if (id != x86::Inst::kIdTest) {
              c.check_typed([&](DirectAssembler& d) { d.alu_memory(id, wide, a, base, disp); }, id,
                            gp(size, a), x86::ptr(x86::gpq(base), disp, size),
                            w + " r" + std::to_string(a) + "," + where);
            }
            if (id == x86::Inst::kIdMov) {
              c.check_typed([&](DirectAssembler& d) { d.store(wide, base, disp, a); }, id,
                            x86::ptr(x86::gpq(base), disp, size), gp(size, a),
                            "store" + where + ", r" + std::to_string(a));
            }
          }
        }
      }
    }
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

// Shifts and rotates by an immediate count, and imul by an immediate into another register,
// through their typed entry points: asmjit's bytes for every register and count or value class.
TEST(DirectAssembler, ShiftsAndMultipliesByImmediatesMatchAsmjit) {
  Comparison c;
  const InstId shifts[] = {x86::Inst::kIdShl, x86::Inst::kIdShr, x86::Inst::kIdSar,
                           x86::Inst::kIdRol, x86::Inst::kIdRor};
  for (bool wide : {false, true}) {
    const uint32_t size = wide ? 8 : 4;
    for (uint32_t a = 0; a < 16; ++a) {
      for (InstId id : shifts) {
        for (uint32_t count : {0u, 1u, 2u, 31u, 32u, 63u, 64u, 255u}) {
          c.check_typed([&](DirectAssembler& d) { d.shift_immediate(id, wide, a, count); }, id,
                        gp(size, a), Imm(count),
                        name(id) + " r" + std::to_string(a) + ", " + std::to_string(count));
        }
      }
      for (uint32_t b = 0; b < 16; ++b) {
        for (int64_t value : kImmediates) {
          if (value < INT32_MIN || value > INT32_MAX) continue;
          const auto imm = static_cast<int32_t>(value);
          c.check_typed3([&](DirectAssembler& d) { d.imul_immediate(wide, a, b, imm); },
                         x86::Inst::kIdImul, gp(size, a), gp(size, b), Imm(imm),
                         std::string("imul") + (wide ? " 64" : " 32") + " r" + std::to_string(a) +
                             ", r" + std::to_string(b) + ", " + std::to_string(imm));
        }
      }
    }
  }
  c.finish();
  // (All but the few that met a full buffer, which asmjit grows.)
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

// mov of an immediate into a register, lea of [base + disp] and call of a register through
// their typed entry points: asmjit's bytes for every register, address and
// value class.
TEST(DirectAssembler, MovesOfImmediatesAddressesAndCallsMatchAsmjit) {
  Comparison c;
  for (uint32_t a = 0; a < 16; ++a) {
    const std::string r = " r" + std::to_string(a);
    for (int64_t value : kImmediates) {
      c.check_typed([&](DirectAssembler& d) { d.mov_immediate(true, a, value); }, x86::Inst::kIdMov,
                    x86::gpq(a), Imm(value), "mov 64" + r + ", " + std::to_string(value));
      if (value < INT32_MIN || value > int64_t{UINT32_MAX}) continue;  // no 32-bit pattern
      c.check_typed([&](DirectAssembler& d) { d.mov_immediate(false, a, value); },
                    x86::Inst::kIdMov, x86::gpd(a), Imm(value),
                    "mov 32" + r + ", " + std::to_string(value));
    }
    c.check_typed([&](DirectAssembler& d) { d.call_register(a); }, x86::Inst::kIdCall, x86::gpq(a),
                  Operand(), "call" + r);
    for (uint32_t base = 0; base < 16; ++base) {
      for (int32_t disp : kDisplacements) {
        const std::string where = " [r" + std::to_string(base) + " + " + std::to_string(disp) + "]";
        for (bool wide : {false, true}) {
          const uint32_t size = wide ? 8 : 4;
          c.check_typed([&](DirectAssembler& d) { d.load_address(wide, a, base, disp); },
                        x86::Inst::kIdLea, gp(size, a), x86::ptr(x86::gpq(base), disp),
                        "lea" + r + "," + where);
        }
      }
    }
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

// Loads and stores of every width, the SSE scalar moves and immediate stores through
// move_memory and store_immediate, with and without an index: asmjit's bytes for every
// register (the byte registers spl-dil take a REX), base, index, scale and displacement class.
TEST(DirectAssembler, MemoryMovesMatchAsmjit) {
  using Move = DirectAssembler::MemoryMove;
  struct Case {
    Move move;
    InstId id;
    uint32_t register_size;  // 16: xmm
    uint32_t memory_size;
    bool store;
  };
  const Case cases[] = {
      {Move::kLoad32, x86::Inst::kIdMov, 4, 4, false},
      {Move::kLoad64, x86::Inst::kIdMov, 8, 8, false},
      {Move::kZeroExtend8, x86::Inst::kIdMovzx, 4, 1, false},
      {Move::kZeroExtend16, x86::Inst::kIdMovzx, 4, 2, false},
      {Move::kSignExtend8To32, x86::Inst::kIdMovsx, 4, 1, false},
      {Move::kSignExtend8To64, x86::Inst::kIdMovsx, 8, 1, false},
      {Move::kSignExtend16To32, x86::Inst::kIdMovsx, 4, 2, false},
      {Move::kSignExtend16To64, x86::Inst::kIdMovsx, 8, 2, false},
      {Move::kSignExtend32To64, x86::Inst::kIdMovsxd, 8, 4, false},
      {Move::kLoadF32, x86::Inst::kIdMovss, 16, 4, false},
      {Move::kLoadF64, x86::Inst::kIdMovsd, 16, 8, false},
      {Move::kStore8, x86::Inst::kIdMov, 1, 1, true},
      {Move::kStore16, x86::Inst::kIdMov, 2, 2, true},
      {Move::kStore32, x86::Inst::kIdMov, 4, 4, true},
      {Move::kStore64, x86::Inst::kIdMov, 8, 8, true},
      {Move::kStoreF32, x86::Inst::kIdMovss, 16, 4, true},
      {Move::kStoreF64, x86::Inst::kIdMovsd, 16, 8, true},
  };
  auto register_of = [](uint32_t size, uint32_t id) -> Operand {
    switch (size) {
      case 1:
        return x86::gpb_lo(id);
      case 2:
        return x86::gpw(id);
      case 16:
        return x86::xmm(id);
      default:
        return gp(size, id);
    }
  };
  std::vector<DirectAssembler::Memory> memories;
  for (uint32_t base = 0; base < 16; ++base) {
    for (int32_t disp : kDisplacements) {
      memories.push_back({.base = base, .disp = disp});
      for (uint32_t index : {0u, 5u, 12u, 13u, 15u}) {
        memories.push_back({.base = base,
                            .index = static_cast<int32_t>(index),
                            .shift = (base + index) % 4,
                            .disp = disp});
      }
    }
  }
  auto mem = [](const DirectAssembler::Memory& m, uint32_t size) {
    if (m.index < 0) return x86::ptr(x86::gpq(m.base), m.disp, size);
    return x86::ptr(x86::gpq(m.base), x86::gpq(static_cast<uint32_t>(m.index)), m.shift, m.disp,
                    size);
  };
  auto where = [](const DirectAssembler::Memory& m) {
    return " [r" + std::to_string(m.base) + " + r" + std::to_string(m.index) + " << " +
           std::to_string(m.shift) + " + " + std::to_string(m.disp) + "]";
  };
  Comparison c;
  for (const Case& k : cases) {
    for (uint32_t reg = 0; reg < 16; ++reg) {
      const Operand r = register_of(k.register_size, reg);
      for (const DirectAssembler::Memory& m : memories) {
        const std::string what = "move " + std::to_string(static_cast<int>(k.move)) + " r" +
                                 std::to_string(reg) + where(m);
        const x86::Mem operand = mem(m, k.memory_size);
        c.check_typed([&](DirectAssembler& d) { d.move_memory(k.move, reg, m); }, k.id,
                      k.store ? Operand_(operand) : Operand_(r),
                      k.store ? Operand_(r) : Operand_(operand), what);
      }
    }
  }
  for (uint32_t bytes : {1u, 2u, 4u, 8u}) {
    for (const DirectAssembler::Memory& m : memories) {
      for (int64_t value : kImmediates) {
        // What a store of `bytes` bytes takes: the value narrowed to them (8: imm32 only).
        const int64_t narrowed = bytes == 1   ? static_cast<int8_t>(value)
                                 : bytes == 2 ? static_cast<int16_t>(value)
                                 : bytes == 4 ? static_cast<int32_t>(value)
                                              : value;
        if (bytes == 8 && (value < INT32_MIN || value > INT32_MAX)) continue;
        c.check_typed([&](DirectAssembler& d) { d.store_immediate(bytes, m, narrowed); },
                      x86::Inst::kIdMov, mem(m, bytes), Imm(narrowed),
                      "mov " + std::to_string(bytes) + where(m) + ", " + std::to_string(narrowed));
      }
    }
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

// Shifts by cl, imul of a register or [base + disp] and cmovcc through their typed entry
// points: asmjit's bytes for every register, condition and address class.
TEST(DirectAssembler, ShiftsByClMultipliesAndConditionalMovesMatchAsmjit) {
  Comparison c;
  const InstId shifts[] = {x86::Inst::kIdShl, x86::Inst::kIdShr, x86::Inst::kIdSar,
                           x86::Inst::kIdRol, x86::Inst::kIdRor};
  for (bool wide : {false, true}) {
    const uint32_t size = wide ? 8 : 4;
    const std::string w = wide ? " 64" : " 32";
    for (uint32_t a = 0; a < 16; ++a) {
      const std::string r = " r" + std::to_string(a);
      for (InstId id : shifts) {
        c.check_typed([&](DirectAssembler& d) { d.shift_by_cl(id, wide, a); }, id, gp(size, a),
                      x86::cl, name(id) + w + r + ", cl");
      }
      for (uint32_t b = 0; b < 16; ++b) {
        const std::string rb = ", r" + std::to_string(b);
        c.check_typed([&](DirectAssembler& d) { d.multiply(wide, a, b); }, x86::Inst::kIdImul,
                      gp(size, a), gp(size, b), "imul" + w + r + rb);
        for (uint32_t code = 0; code < 16; ++code) {
          const auto cc = static_cast<x86::CondCode>(code);
          c.check_typed([&](DirectAssembler& d) { d.conditional_move(cc, wide, a, b); },
                        x86::Inst::cmovccFromCond(cc), gp(size, a), gp(size, b),
                        "cmov " + std::to_string(code) + w + r + rb);
        }
      }
      for (uint32_t base = 0; base < 16; ++base) {
        for (int32_t disp : kDisplacements) {
          c.check_typed(
              [&](DirectAssembler& d) { d.multiply_memory(wide, a, base, disp); },
              x86::Inst::kIdImul, gp(size, a), x86::ptr(x86::gpq(base), disp, size),
              "imul" + w + r + ", [r" + std::to_string(base) + " + " + std::to_string(disp) + "]");
        }
      }
    }
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

// setcc al then movzx r32, al (a comparison's result as 0 or 1) for every condition and
// register: asmjit's bytes for the pair.
TEST(DirectAssembler, SetConditionMatchesAsmjit) {
  Comparison c;
  for (uint32_t code = 0; code < 16; ++code) {
    const auto cc = static_cast<x86::CondCode>(code);
    for (uint32_t dst = 0; dst < 16; ++dst) {
      c.compare_with([&](DirectAssembler& d) { d.set_condition(cc, dst); },
                     [&](x86::Assembler& reference) {
                       reference.emit(x86::Inst::setccFromCond(cc), x86::al);
                       return reference.emit(x86::Inst::kIdMovzx, x86::gpd(dst), x86::al);
                     },
                     kErrorOk, "set " + std::to_string(code) + " r" + std::to_string(dst));
    }
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

// Bytes the caller encoded (jumps to the macro-assembler's own labels) land as asmjit's embed
// would put them, also when the buffer must grow first.
TEST(DirectAssembler, RawBytesMatchAsmjitsEmbed) {
  Comparison c;
  const uint8_t jump[] = {0x0f, 0x84, 0x78, 0x56, 0x34, 0x12};  // je rel32
  for (int i = 0; i < 2000; ++i) {
    c.compare_with([&](DirectAssembler& d) { d.raw(jump, sizeof(jump)); },
                   [&](x86::Assembler& reference) { return reference.embed(jump, sizeof(jump)); },
                   kErrorOk, "raw " + std::to_string(i));
  }
  c.finish();
  EXPECT_GT(c.direct_count(), c.count() * 99 / 100);
}

TEST(DirectAssembler, OtherFormsAreLeftToAsmjit) {
  Comparison c;
  c.check(x86::Inst::kIdMov, x86::al, x86::byte_ptr(x86::rbx, 3), "byte load");
  c.check(x86::Inst::kIdMov, x86::word_ptr(x86::rbx, 3), x86::cx, "word store");
  c.check(x86::Inst::kIdMovzx, x86::eax, x86::bl, "movzx from a register");
  c.check1(x86::Inst::kIdPush, x86::ebx, "push of a 32-bit register (an error in both)");
  c.check(x86::Inst::kIdShl, x86::eax, x86::cl, "shift by cl");
  c.check(x86::Inst::kIdMov, x86::rax, x86::ptr(x86::rip, 16), "rip-relative");
  c.check(x86::Inst::kIdMov, x86::eax, x86::ptr(x86::ebx, 16, 4), "32-bit address");
  c.check(x86::Inst::kIdAdd, x86::eax, x86::rbx, "mismatched sizes (an error in both)");
  c.check(x86::Inst::kIdTest, x86::rax, Imm(5), "test with an immediate");
  c.finish();
  EXPECT_EQ(c.direct_count(), 0u);
}

// The x64 macro-assembler keeps its labels itself: every jmp, jcc, call and br_table entry must
// reach its label, backward (rel8 in reach, else rel32) and forward (rel32, patched at bind),
// and a jump to a label never bound must fail the function instead of reaching anywhere.
int32_t rel32_at(const std::vector<uint8_t>& code, size_t at) {
  int32_t rel;
  std::memcpy(&rel, code.data() + at, 4);
  return rel;
}

TEST(X64MacroAssembler, JumpsCallsAndTablesReachTheirLabels) {
  CodeTierOptions options;
  std::unique_ptr<MacroAssembler> masm = create_x64_macro_assembler(X64Features::host(), options);
  const Reg value = masm->value_registers(RegisterClass::kGeneral)[0];
  const Label back = masm->new_label(), forward = masm->new_label(), called = masm->new_label();
  masm->bind(back);
  const uint32_t short_jump = masm->position();
  masm->jump(back);
  for (int i = 0; i < 20; ++i) masm->load_constant(ValType::kI64, value, 0x123456789abcdef0);
  const uint32_t long_jump = masm->position();
  masm->jump(back);
  const uint32_t forward_jump = masm->position();
  masm->jump(forward);
  masm->branch_if_zero(value, forward);  // test, then je rel32
  const uint32_t after_branch = masm->position();
  masm->call_label(called, 0, back);
  const uint32_t table_from = masm->position();
  const Label cases[] = {masm->new_label(), masm->new_label(), masm->new_label()};
  masm->branch_table(value, cases);
  const uint32_t table_to = masm->position();
  for (Label l : cases) {
    masm->bind(l);
    masm->load_constant(ValType::kI64, value, 1);
  }
  masm->bind(forward);
  masm->bind(called);
  masm->return_from_function();
  ASSERT_TRUE(masm->finish());
  std::vector<uint8_t> code(masm->size());
  const uintptr_t base = 0x10000000;
  ASSERT_TRUE(masm->copy_to(code.data(), base));

  EXPECT_EQ(code[short_jump], 0xeb);
  EXPECT_EQ(short_jump + 2 + static_cast<int8_t>(code[short_jump + 1]), masm->label_offset(back));
  EXPECT_EQ(code[long_jump], 0xe9);
  EXPECT_EQ(long_jump + 5 + rel32_at(code, long_jump + 1), masm->label_offset(back));
  EXPECT_EQ(code[forward_jump], 0xe9);
  EXPECT_EQ(forward_jump + 5 + rel32_at(code, forward_jump + 1), masm->label_offset(forward));
  EXPECT_EQ(code[after_branch - 6], 0x0f);
  EXPECT_EQ(code[after_branch - 5], 0x84);
  EXPECT_EQ(after_branch + rel32_at(code, after_branch - 4), masm->label_offset(forward));
  EXPECT_EQ(code[after_branch], 0xe8);
  EXPECT_EQ(after_branch + 5 + rel32_at(code, after_branch + 1), masm->label_offset(called));
  // br_table: jae to the last case, then lea rax, [rip + table]; the table holds the other
  // cases' addresses.
  size_t lea = table_from;
  while (lea + 3 <= table_to &&
         !(code[lea] == 0x48 && code[lea + 1] == 0x8d && code[lea + 2] == 0x05)) {
    ++lea;
  }
  ASSERT_LT(lea + 7, table_to);
  EXPECT_EQ(lea + rel32_at(code, lea - 4), masm->label_offset(cases[2]));  // the jae before
  const size_t table = lea + 7 + rel32_at(code, lea + 3);
  ASSERT_LE(table + 16, code.size());
  EXPECT_EQ(table % 8, 0u);
  for (size_t i = 0; i < 2; ++i) {
    uint64_t entry;
    std::memcpy(&entry, code.data() + table + 8 * i, 8);
    EXPECT_EQ(entry, base + masm->label_offset(cases[i])) << i;
  }
}

// A call to machine code at a known address (a function compiled before) is a call rel32 whose
// distance depends on where the caller's code is copied: it must reach the target from there,
// and a target out of rel32's reach must fail the copy rather than call elsewhere.
TEST(X64MacroAssembler, CallsToKnownAddressesReachThemFromWhereTheCodeRuns) {
  CodeTierOptions options;
  std::unique_ptr<MacroAssembler> masm = create_x64_macro_assembler(X64Features::host(), options);
  const Label trapped = masm->new_label();
  const uintptr_t base = 0x40000000;
  const uintptr_t targets[] = {base + 0x1000, base - 0x12345678, base + 0x7ffff000};
  std::vector<uint32_t> calls;
  for (uintptr_t target : targets) {
    const uint32_t before = masm->position();
    masm->call_address(reinterpret_cast<const void*>(target), 0, trapped);
    ASSERT_EQ(masm->position() - before, 5u + 2u + 6u);  // call rel32; test eax, eax; jne rel32
    calls.push_back(before);
  }
  masm->bind(trapped);
  masm->return_trapped();
  const uint32_t epilogue = masm->position();
  masm->return_from_function();
  ASSERT_TRUE(masm->finish());
  std::vector<uint8_t> code(masm->size());
  ASSERT_TRUE(masm->copy_to(code.data(), base));
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(code[calls[i]], 0xe8) << i;
    EXPECT_EQ(base + calls[i] + 5 + rel32_at(code, calls[i] + 1), targets[i]) << i;
  }
  // xor eax, eax; leave; ret
  EXPECT_EQ(std::vector<uint8_t>(code.begin() + epilogue, code.begin() + epilogue + 4),
            (std::vector<uint8_t>{0x31, 0xc0, 0xc9, 0xc3}));
  // Copied to run 2 GiB below the last target, the last call cannot reach it.
  EXPECT_FALSE(masm->copy_to(code.data(), base - 0x10000000));
}

TEST(X64MacroAssembler, AJumpToALabelNeverBoundFailsTheFunction) {
  CodeTierOptions options;
  std::unique_ptr<MacroAssembler> masm = create_x64_macro_assembler(X64Features::host(), options);
  const Label nowhere = masm->new_label();
  masm->jump(nowhere);
  masm->return_from_function();
  EXPECT_FALSE(masm->finish());
}

}  // namespace
}  // namespace kiln::jit
