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
// immediate. Typed entry points (below) take the rest of what the code generator emits most:
// loads and stores of every width and the SSE scalar moves to and from memory, shifts by cl.
// Everything else (labels, jumps, other SSE, instruction options) goes to asmjit as before.
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

  // Operand-free entry points for what the macro-assembler emits most: the bytes asmjit gives
  // for the same instruction, without building asmjit operands and decoding them again in
  // _emit (about half of the cost of an instruction there). `wide`: 64-bit operands, else
  // 32-bit; registers and bases by their ids. Each falls back to asmjit's path (through _emit)
  // when an option or comment is pending or the buffer is short, so it takes any operands
  // asmjit takes.
  // `id` dst, src: mov, add, or, and, sub, xor, cmp, test.
  void alu_register(asmjit::InstId id, bool wide, uint32_t dst, uint32_t src);
  // `id` dst, imm: add, or, and, sub, xor, cmp (not mov: its forms differ).
  void alu_immediate(asmjit::InstId id, bool wide, uint32_t dst, int64_t imm);
  // `id` dst, [base + disp]: mov, add, or, and, sub, xor, cmp.
  void alu_memory(asmjit::InstId id, bool wide, uint32_t dst, uint32_t base, int32_t disp);
  // mov [base + disp], src: move_memory's 32- or 64-bit store, without an index.
  void store(bool wide, uint32_t base, int32_t disp, uint32_t src);
  // `id` dst, count: shl, shr, sar, rol, ror by an immediate count (0-255).
  void shift_immediate(asmjit::InstId id, bool wide, uint32_t dst, uint32_t count);
  // imul dst, src, imm (three operands).
  void imul_immediate(bool wide, uint32_t dst, uint32_t src, int32_t imm);
  // mov dst, imm (of a 32-bit mov: the value's low 32 bits).
  void mov_immediate(bool wide, uint32_t dst, int64_t value);
  // lea dst, [base + disp].
  void load_address(bool wide, uint32_t dst, uint32_t base, int32_t disp);
  // call target (a register).
  void call_register(uint32_t target);
  // setcc al, then movzx dst (32-bit), al: a flag as 0 or 1.
  void set_condition(asmjit::x86::CondCode cc, uint32_t dst);

  // [base + index << shift + disp]: 64-bit registers by id (index -1: none; rsp never is one).
  struct Memory {
    uint32_t base = 0;
    int32_t index = -1;
    uint32_t shift = 0;
    int32_t disp = 0;
  };
  // The moves between a register (general, or xmm for the SSE ones) and memory that loads,
  // stores and slots take.
  enum class MemoryMove : uint8_t {
    kLoad32,            // mov r32, dword [m]
    kLoad64,            // mov r64, qword [m]
    kZeroExtend8,       // movzx r32, byte [m]
    kZeroExtend16,      // movzx r32, word [m]
    kSignExtend8To32,   // movsx r32, byte [m]
    kSignExtend8To64,   // movsx r64, byte [m]
    kSignExtend16To32,  // movsx r32, word [m]
    kSignExtend16To64,  // movsx r64, word [m]
    kSignExtend32To64,  // movsxd r64, dword [m]
    kLoadF32,           // movss xmm, dword [m]
    kLoadF64,           // movsd xmm, qword [m]
    kStore8,            // mov byte [m], r8 (the low byte of the register)
    kStore16,           // mov word [m], r16
    kStore32,           // mov dword [m], r32
    kStore64,           // mov qword [m], r64
    kStoreF32,          // movss dword [m], xmm
    kStoreF64,          // movsd qword [m], xmm
  };
  void move_memory(MemoryMove move, uint32_t reg, const Memory& m);
  // mov [m], imm of `bytes` bytes (1, 2, 4, or 8 with an imm32 sign-extended).
  void store_immediate(uint32_t bytes, const Memory& m, int64_t value);
  // `id` dst, cl: shl, shr, sar, rol, ror by the count in cl.
  void shift_by_cl(asmjit::InstId id, bool wide, uint32_t dst);
  // imul dst, src; imul dst, [base + disp].
  void multiply(bool wide, uint32_t dst, uint32_t src);
  void multiply_memory(bool wide, uint32_t dst, uint32_t base, int32_t disp);
  // cmovcc dst, src.
  void conditional_move(asmjit::x86::CondCode cc, bool wide, uint32_t dst, uint32_t src);

  // Bytes encoded by the caller (jumps to the macro-assembler's own labels), straight into the
  // buffer, or through asmjit's embed when the buffer must grow first.
  void raw(const uint8_t* bytes, size_t n);

  // How many instructions took the direct path (for the test).
  size_t direct_count() const { return direct_count_; }

 private:
  // Whether a typed entry point's instruction can be encoded straight into the buffer: room
  // for the longest one.
  bool direct_ready() const;
  // direct_ready(), and nothing pending that asmjit would apply (options, prefixes, comments).
  bool plain_instruction_ready() const;
  // Takes the `n` bytes just encoded at _bufferPtr into the buffer.
  void commit(size_t n);
  // `op` reg, [base + disp] encoded straight into the buffer; false (nothing emitted) when not
  // direct_ready().
  bool memory_form(bool wide, uint16_t op, uint32_t reg, uint32_t base, int32_t disp);
  // move_memory when the buffer or a pending option is asmjit's.
  [[gnu::noinline]] void move_memory_through_asmjit(MemoryMove move, uint32_t reg, const Memory& m);
  // `op` reg, reg2 encoded straight into the buffer; false when not direct_ready().
  bool register_form(bool wide, uint16_t op, uint32_t reg, uint32_t rm);

  // Encodes `id` with its two operands into `out` (at most 15 bytes); 0 if this is not one of
  // the forms encoded here.
  static size_t encode(asmjit::InstId id, const asmjit::Operand_& o0, const asmjit::Operand_& o1,
                       uint8_t* out);
  static size_t encode_other(asmjit::InstId id, const asmjit::Operand_& o0,
                             const asmjit::Operand_& o1, uint8_t* out);

  size_t direct_count_ = 0;
};

}  // namespace kiln::jit
