// The x64 backend's DirectAssembler encodes the most frequent instruction forms itself; for
// every form it takes (and the ones next to them it leaves to asmjit) it must give the bytes
// asmjit gives, and report the same errors.
#include "compiler/x64/direct_assembler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace kiln::jit
