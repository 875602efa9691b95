// asmjit's x86::Assembler with the instructions the code generator emits most encoded directly.
//
// asmjit's generic Assembler::_emit looks every instruction up in its database and checks its
// operands: about 225 host instructions per instruction emitted (callgrind over the functions
// a WASI hello-world compiles), the largest single cost of compiling. The integer moves and
// ALU operations between general registers, 32-bit immediates and [base + index * scale + disp]
// memory make up most of what the code generator emits; DirectAssembler overrides _emit (which
// every asmjit call such as `a.mov(...)` goes through) to encode those few forms itself, in
// the same encodings asmjit chooses, straight into the same code buffer; so are ret, leave,
// push and call of a register, lea, movzx/movsx/movsxd loads, imul, cmovcc and shifts by an
// immediate. Everything else (labels, jumps, SSE, byte and word registers, instruction options)
// goes to asmjit as before.
// tests/direct_assembler_test.cpp checks that both produce the same bytes for every register,
// operand size, immediate and displacement class.
#pragma once

#include <asmjit/x86.h>

namespace kiln::jit {

class DirectAssembler final : public asmjit::x86::Assembler {
 public:
  using asmjit::x86::Assembler::Assembler;

  asmjit::Error _emit(asmjit::InstId id, const asmjit::Operand_& o0, const asmjit::Operand_& o1,
                      const asmjit::Operand_& o2, const asmjit::Operand_* extra) override;

  // How many instructions took the direct path (for the test).
  size_t direct_count() const { return direct_count_; }

 private:
  // Encodes `id` with its two operands into `out` (at most 15 bytes); 0 if this is not one of
  // the forms encoded here.
  static size_t encode(asmjit::InstId id, const asmjit::Operand_& o0, const asmjit::Operand_& o1,
                       uint8_t* out);
  static size_t encode_other(asmjit::InstId id, const asmjit::Operand_& o0,
                             const asmjit::Operand_& o1, uint8_t* out);

  size_t direct_count_ = 0;
};

}  // namespace kiln::jit
