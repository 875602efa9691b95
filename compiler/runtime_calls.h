// The runtime functions generated code calls (C calling convention). Each returns 0, or 1
// with a trap in the store context's pending_trap (DESIGN-NOTES section 4: traps are values;
// no C++ exception crosses generated code, so none may leave these).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/interpreter_code.h"
#include "runtime/vm_context.h"

namespace kiln::jit {

// A trap code meaning "the trap is already pending" (raised by a runtime call or a callee).
constexpr uint32_t kPendingTrap = 0xff;
// A trap code meaning "a memory access faulted": out of bounds, at the module offset the fault
// handler left in the store context.
constexpr uint32_t kMemoryFault = 0xfe;
// A function index meaning "add no frame" (a stack check fails before the frame exists: the
// caller's frame is where the interpreter reports it).
constexpr uint32_t kNoFrame = UINT32_MAX;

extern "C" {
// Makes trap `code` pending (or takes the pending one) and adds the frame of function
// `function_index` at `module_offset`: the trapping function's frame first, then, as the trap
// returns through them, each caller's.
void kiln_jit_trap(VmContext* vm, uint32_t code, uint32_t function_index, uint32_t module_offset);

// Calls through the runtime: a defined function without machine code yet (compiled now if it
// can be, else interpreted), an imported or indirectly called function (any instance, host
// functions included). `fp` is where the arguments are, and where results come back; for
// call_indirect the element index is in the cell after the arguments.
uint32_t kiln_jit_call_function(VmContext* vm, uint32_t function_index, uint64_t* fp);
uint32_t kiln_jit_call_indirect(VmContext* vm, uint32_t table_index, uint32_t type_id,
                                uint64_t* fp_and_index);

// Whether the deadline has passed (the deadline callback may extend it): 1 means trap.
uint32_t kiln_jit_deadline_passed(VmContext* vm);

// memory.grow: `cell` holds the delta in pages and receives the old size or -1.
void kiln_jit_memory_grow(VmContext* vm, uint64_t* cell);
}

// Wasm 3.0 exception handling. The catch clauses that enclose a call or throw site of a
// function, innermost try_table first, as kiln_jit_catch reads them (their destinations: the
// label's cells; cell 0 for the function's own label).
struct JitCatches {
  std::vector<ExceptionCatch> catches;
};

extern "C" {
// throw: makes an exception of tag `tag` (of the calling instance) with the payload at
// `payload` pending; returns 1.
uint32_t kiln_jit_throw(VmContext* vm, uint32_t tag, const uint64_t* payload);
// throw_ref: makes the exception in `reference` pending again (a null one traps); returns 1.
uint32_t kiln_jit_throw_ref(VmContext* vm, const uint64_t* reference);
// After a call or throw at a site inside try_tables: whether the pending trap is an exception
// one of `catches` takes. If so, its values are written into the frame at `frame`, the trap is
// dropped and the catch's number (from 1) returned; 0 leaves the trap pending.
uint32_t kiln_jit_catch(VmContext* vm, const JitCatches* catches, uint64_t* frame);
}

// Operators compiled out of line, with one signature: `first` is the first operand's cell
// (the others follow it), where the result is written; `immediate` and `immediate2` are the
// instruction's (memarg offset, lane, shuffle bytes, segment or table indices). Returns 0, or
// 1 with the trap pending. A load's or store's memarg offset comes with its memory's index
// (multi-memory) above it: offset | index << kMemoryIndexShift.
constexpr uint32_t kMemoryIndexShift = 32;
using OutOfLineOperator = uint32_t (*)(VmContext* vm, uint64_t* first, uint64_t immediate,
                                       uint64_t immediate2);
// The out-of-line form of the operator with this opcode, or null. Every table-driven operator
// of opcodes.h and simd_ops.h has one, generated from the tables, and so do the bulk memory,
// table and v128 operators without a table row.
OutOfLineOperator out_of_line_operator(uint32_t opcode);

}  // namespace kiln::jit
