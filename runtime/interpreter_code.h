// The interpreter's internal code (DESIGN-NOTES section 2).
//
// A function is translated once, while it is validated, into a stream of 32-bit units. Every
// instruction starts with its handler's address (two units, read as one pointer: direct
// threading), followed by fixed-width operands. Operands are frame slots given as byte offsets
// from the frame pointer: a frame is an array of 64-bit cells holding the parameters, then the
// locals, then the function's constants, then the operand stack, whose height at every
// instruction is known statically. So `i32.add` reads two slots and writes one; nothing is
// pushed or popped at run time, and `x + 1` reads the 1 from its constant cell (the constants
// sit below the operand stack because a callee's frame overlaps the caller's stack above its
// arguments).
//
// Branch targets are signed distances in units from the start of the branching instruction.
// A call's arguments are the top cells of the caller's operand stack; the callee's frame starts
// right there, so arguments are never copied, and results come back in the same cells.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"

namespace kiln {

// A local used inside a loop, and whether the loop sets it (local.set, local.tee): one it only
// reads keeps its value in its cell while the loop runs.
struct HotLocal {
  uint32_t index = 0;
  bool written = false;
  // Its uses (local.get, local.set, local.tee), each weighing 16 to the power of its loop depth.
  uint64_t weight = 0;
};

// The hot locals of each loop outside every other loop of a function, in body order, most used
// first, in one array (a function's loops cost two allocations, not one each).
struct LoopHotLocals {
  struct Loop {
    uint32_t end = 0;  // where its locals end in `locals`
    // The most operand cells its instructions stack above what is below the loop: the
    // registers its value stack can ask for at once, at most.
    uint32_t operand_cells = 0;
    bool calls = false;  // it has a call or call_indirect
    // Its calls weighed as its locals' uses are (HotLocal::weight): what keeping a local in a
    // register costs at calls (saved before each, reloaded after) against what it saves.
    uint64_t call_weight = 0;
  };
  std::vector<HotLocal> locals;  // every loop's, one after another
  std::vector<Loop> loops;
  std::span<const HotLocal> of(size_t loop) const {
    const uint32_t begin = loop == 0 ? 0 : loops[loop - 1].end;
    return {locals.data() + begin, loops[loop].end - begin};
  }
};

#define KILN_CONTROL_HANDLERS(X)                                                          \
  X(unreachable)         /* []                                                        */  \
  X(throw_)              /* [tag][first payload slot]  (Wasm 3.0)                     */  \
  X(throw_ref)           /* [src]                                                     */  \
  X(br)                  /* [delta]                                                   */  \
  X(br_move)             /* [delta][src][dst][cells]                                  */  \
  X(br_if_nz)            /* [cond][delta]                                             */  \
  X(br_if_nz_move)       /* [cond][delta][src][dst][cells]                            */  \
  X(br_if_z)             /* [cond][delta]                                             */  \
  X(br_table)            /* [index][src][cells][count] then count+1 x [delta][dst]    */  \
  X(return_)             /* [src][cells]                                              */  \
  X(call)                /* [CompiledFunction* (2 units)][args]                       */  \
  X(call_import)         /* [function index][args]                                    */  \
  X(call_indirect)       /* [type id][table][index slot][args]                        */  \
  X(copy)                /* [src][dst]                                                */  \
  X(copy2)               /* [src][dst]  two cells (v128)                              */  \
  X(copy_copy)           /* [src][dst][src2][dst2]  two copies, in order, fused       */  \
  X(const32)             /* [dst][value]                                              */  \
  X(const64)             /* [dst][low][high]                                          */  \
  X(select)              /* [cond][b][dst]  dst holds a: if cond == 0, dst = b        */  \
  X(select2)             /* the same for two-cell values                              */  \
  X(global_get)          /* [global][dst]                                             */  \
  X(global_set)          /* [global][src]                                             */  \
  X(global_get2)         /* [global][dst]                                             */  \
  X(global_set2)         /* [global][src]                                             */  \
  X(table_get)           /* [table][index slot][dst]                                  */  \
  X(table_set)           /* [table][index slot][value slot]                           */  \
  X(memory_size)         /* [dst]                                                     */  \
  X(memory_grow)         /* [slot]  delta in, old size or -1 out                      */  \
  X(ref_null)            /* [dst]                                                     */  \
  X(ref_is_null)         /* [src][dst]                                                */  \
  X(ref_func)            /* [function index][dst]                                     */  \
  X(memory_init)         /* [data][first of 3 operand slots]                          */  \
  X(data_drop)           /* [data]                                                    */  \
  X(memory_copy)         /* [first of 3 operand slots]                                */  \
  X(memory_copy_between) /* [dst memory][src memory][first of 3 operand slots]   */       \
  X(select_memory)       /* [memory]  multi-memory: the memory handlers read          */  \
  X(memory_fill)         /* [first of 3 operand slots]                                */  \
  X(table_init)          /* [table][elem][first of 3 operand slots]                   */  \
  X(elem_drop)           /* [elem]                                                    */  \
  X(table_copy)          /* [dst table][src table][first of 3 operand slots]          */  \
  X(table_grow)          /* [table][first of 2 operand slots] result in the first     */  \
  X(table_size)          /* [table][dst]                                              */  \
  X(table_fill)          /* [table][first of 3 operand slots]                         */  \
  X(v128_const)          /* [dst][16 bytes in 4 units]                                */  \
  X(i8x16_shuffle)       /* [a][b][dst][16 lane indices in 4 units]                   */  \
  X(v128_bitselect)      /* [a][b][mask][dst]                                        */   \
  X(v128_store)          /* [addr][value][offset]                                     */  \
  X(i32_add_shl)         /* [index][shift][base][dst]  base + (index << shift), fused  */ \
  X(i32_add_add)         /* [a][b][dst][a2][b2][dst2]  two i32.add, in order, fused    */ \
  X(fuel)                /* [cost]  charge a straight-line segment (docs/BUDGETS.md)  */  \
  X(epoch_check)         /* []      trap or call back once the deadline is reached    */  \
  X(loop_header)         /* [loop's module offset]  counts iterations; hot: to machine code */

// Table-driven operators, in handler order. Shapes: unary [a][dst], binary [a][b][dst],
// load [addr][dst][offset], store [addr][value][offset], lane load
// [addr][vector][dst][offset][lane], lane store [addr][vector][offset][lane], extract lane
// [vector][dst][lane], replace lane [vector][scalar][dst][lane].
#define KILN_TABLE_HANDLERS(X)  \
  KILN_UNARY_OPS(X)             \
  KILN_CHECKED_UNARY_OPS(X)     \
  KILN_BINARY_OPS(X)            \
  KILN_CHECKED_BINARY_OPS(X)    \
  KILN_LOAD_OPS(X)              \
  KILN_STORE_OPS(X)             \
  KILN_SIMD_UNARY_OPS(X)        \
  KILN_SIMD_BINARY_OPS(X)       \
  KILN_SIMD_SHIFT_OPS(X)        \
  KILN_SIMD_LOAD_OPS(X)         \
  KILN_SIMD_LOAD_LANE_OPS(X)    \
  KILN_SIMD_STORE_LANE_OPS(X)   \
  KILN_SIMD_EXTRACT_LANE_OPS(X) \
  KILN_SIMD_REPLACE_LANE_OPS(X)

// Superinstructions: pairs that the handler profile (cmake -DKILN_HANDLER_PROFILE=ON) shows
// hot on the workloads of bench/, made one instruction where the first one's result is used
// only by the second:
// - a test or comparison then `br_if` (br_if_NAME jumps when it holds) or `if` (br_unless_NAME
//   jumps to the else-branch when it does not): [a][delta] or [a][b][delta];
// - `i32.add` then a load or store at the sum (NAME_add): [a][b][dst][offset] for a load,
//   [a][b][value][offset] for a store. The sum wraps to 32 bits before the offset is added, as
//   the separate instructions would. The add need not come right before: an `i32.add` of two
//   locals or constants is only emitted where its sum is used (a lazy sum).
// - a load of a value then a binary operator taking it (NAME_load, for KILN_MEMORY_OPERAND_OPS):
//   [a][addr][dst][offset], dst = a OP load(addr + offset). A trap is reported at the load.
// - `i32.shl` then `i32.add` of the result (i32_add_shl, among the control handlers above): an
//   array's element address.
// - two `i32.add`s or two copies in a row, with no label between (i32_add_add and copy_copy):
//   pointer and counter updates at the end of a loop body, locals rotated between iterations.
// KILN_FUSED_HANDLERS(BRANCH, ADDRESS_ADD, MEMORY_OPERAND) calls BRANCH for each test and
// comparison row, ADDRESS_ADD for each load and store row, and MEMORY_OPERAND for each row of
// KILN_MEMORY_OPERAND_OPS.
#define KILN_FUSED_HANDLERS(BRANCH, ADDRESS_ADD, MEMORY_OPERAND) \
  KILN_TEST_OPS(BRANCH)                                          \
  KILN_COMPARE_OPS(BRANCH)                                       \
  KILN_LOAD_OPS(ADDRESS_ADD) KILN_STORE_OPS(ADDRESS_ADD) KILN_MEMORY_OPERAND_OPS(MEMORY_OPERAND)

enum class Handler : uint16_t {
#define KILN_HANDLER_ID(name, ...) name,
#define KILN_BRANCH_ID(name, ...) br_if_##name, br_unless_##name,
#define KILN_ADDRESS_ADD_ID(name, ...) name##_add,
#define KILN_MEMORY_OPERAND_ID(name, ...) name##_load,
  KILN_CONTROL_HANDLERS(KILN_HANDLER_ID) KILN_TABLE_HANDLERS(KILN_HANDLER_ID)
      KILN_FUSED_HANDLERS(KILN_BRANCH_ID, KILN_ADDRESS_ADD_ID, KILN_MEMORY_OPERAND_ID)
#undef KILN_HANDLER_ID
#undef KILN_BRANCH_ID
#undef KILN_ADDRESS_ADD_ID
#undef KILN_MEMORY_OPERAND_ID
          kCount
};

// Handler addresses, indexed by Handler. They are labels inside the interpreter's dispatch
// function, so the table is obtained from it.
const void* const* interpreter_handler_table();

struct Instance;
struct CompiledFunction;
struct NativeFunction;

// A frame record holds the caller's state while a callee runs.
struct CallFrame {
  const uint32_t* return_pc;
  uint64_t* fp;
  Instance* instance;
  const CompiledFunction* function;  // null for the record of an entry from the host
};

// A catch clause of a try_table (Wasm 3.0 exception handling) as both tiers deliver exceptions
// with it (Store::take_exception).
struct ExceptionCatch {
  bool all = false;          // catch_all, catch_all_ref
  bool reference = false;    // catch_ref, catch_all_ref: the exnref follows the payload
  uint32_t tag = 0;          // the function's instance's tag index (unless `all`)
  uint32_t destination = 0;  // frame byte offset of the label's first value
};

// A try_table (Wasm 3.0 exception handling) as the interpreter finds it when an exception
// unwinds: the code units of its body, and its catch clauses in order.
struct ExceptionHandler {
  struct Catch : ExceptionCatch {
    uint32_t target = 0;  // code unit where the label's branches land
  };
  uint32_t begin = 0, end = 0;  // [begin, end): the body's code units
  std::vector<Catch> catches;
};

// An allocator whose vectors leave elements added by resize uninitialized: the translator sizes
// a function's code for the most units it can write, then writes them (value-initializing them
// zeroed about 120 KB, 2 % of a WASI hello-world's start-up).
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using CodeUnits = std::vector<uint32_t, UninitializedAllocator<uint32_t>>;

struct CompiledFunction {
  CodeUnits code;
  // The function's try_tables, each before the ones it encloses (so the last one holding a
  // code unit is the innermost).
  std::vector<ExceptionHandler> exception_handlers;
  uint32_t function_index = 0;
  uint32_t type_id = 0;
  uint32_t param_cells = 0;
  uint32_t local_cells = 0;  // parameters and declared locals
  uint32_t result_cells = 0;
  uint32_t frame_cells = 0;  // locals, constants and the operand stack's maximum height
  // How many cells are set aside for constants (InterpreterTranslator), once counted;
  // kConstantCellsUncounted before.
  static constexpr uint32_t kConstantCellsUncounted = UINT32_MAX;
  uint32_t constant_cells = kConstantCellsUncounted;
  // The constant cells, after the locals: copied into every new frame, then only read.
  std::vector<uint64_t> constants;
  // (code unit, module byte offset) for each instruction, sorted: for backtraces.
  std::vector<std::pair<uint32_t, uint32_t>> source_map;
  uint32_t source_offset(uint32_t code_unit) const;

  // For each loop outside every other loop, in body order (dead code's too): the locals worth
  // keeping in registers while it runs (FunctionValidator::loop_locals), for the JIT.
  LoopHotLocals loop_locals;
  // A leaf function (no calls) and its operand stack's most cells (FunctionValidator), for the
  // JIT's prologue.
  bool leaf = false;
  uint32_t max_operand_cells = 0;
  // Whether the body has a loop (CodeTierOptions::interpreted_calls_before_compile), and how
  // many times the interpreter has run it in place of machine code.
  bool has_loops = false;
  mutable std::atomic<uint32_t> interpreted_calls{0};
  // Translated with loop headers (Handler::loop_header, CodeTierOptions::
  // loop_iterations_before_compile): whether every loop that can run got one, and how many
  // iterations they have counted (a plain load and store: a lost count under threads only
  // delays the hand-over).
  bool loops_enterable = false;
  mutable std::atomic<uint32_t> loop_iterations{0};

  // The code tier's machine code (tier.h), compiled at the first call or with the module.
  // `native_entry` is what generated code calls directly; null until compiled.
  enum class NativeState : uint8_t { kNotTried, kCompiled, kNotCompilable };
  mutable std::atomic<const NativeFunction*> native{nullptr};
  mutable std::atomic<const void*> native_entry{nullptr};
  mutable std::atomic<NativeState> native_state{NativeState::kNotTried};
};

}  // namespace kiln
