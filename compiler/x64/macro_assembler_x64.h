// The x86-64 backend of the macro-assembler (System V ABI), on asmjit's x86::Assembler.
//
// Fixed registers: rbx holds the frame pointer (the frame's first cell), r12 the VM context,
// r13 memory 0's base; all three are callee-saved in the C ABI, so runtime calls keep them.
// rax, rcx and rdx are the backend's scratch registers (division, shift counts, addresses),
// xmm0 and xmm1 its float scratch. Values live in rsi, rdi, r8-r11, r14, r15 and xmm2-xmm15;
// when fuel is on, r15 holds the store's remaining fuel instead, from the entry stub (which
// loads it from the StoreContext and writes it back) through every function, and is written
// back around each runtime call.
#pragma once

#include <memory>

#include "compiler/macro_assembler.h"

namespace kiln::jit {

struct X64Features {
  bool lzcnt = false, bmi1 = false, popcnt = false, sse41 = false;
  static X64Features host();
};

std::unique_ptr<MacroAssembler> create_x64_macro_assembler(const X64Features& features,
                                                           const CodeTierOptions& options);

// The one entry from C++ into generated code: uint32_t enter(VmContext* vm, uint64_t* fp,
// const void* code). Saves the C ABI's callee-saved registers, loads the fixed ones, calls
// `code`, and returns its status. Assembled into `destination` (at most kEntryStubMaxBytes);
// code compiled with fuel is entered through the stub assembled with `fuel_in_register`.
constexpr size_t kEntryStubMaxBytes = 256;
size_t assemble_x64_entry_stub(uint8_t* destination, uintptr_t base, bool fuel_in_register);

}  // namespace kiln::jit
