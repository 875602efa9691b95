// What generated code reads and writes at fixed offsets (DESIGN-NOTES section 6): one
// StoreContext per store (fuel, deadline, stack limits, the trap being returned) and one
// VmContext per instance (memory 0, globals, the instance). The interpreter keeps its fuel and
// deadline in the same StoreContext, so both tiers share one truth.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/trap.h"

namespace kiln {

class Store;
struct Instance;
struct GlobalInstance;
struct FunctionInstance;
struct TableInstance;
class LinearMemory;

// Bytes mapped past the end of the store's value stack (StoreContext::cells_end): a leaf
// function of generated code whose frame is no larger starts inside the stack (its caller's
// frame was checked) and so needs no check of its own.
constexpr uint32_t kValueStackSlackBytes = 64 * 1024;

struct StoreContext {
  // What native_stack_limit is while the store's deadline has passed: above every stack
  // pointer, so the stack check fails.
  static constexpr uintptr_t kInterrupted = UINTPTR_MAX;

  uint64_t fuel = 0;  // remaining fuel (docs/BUDGETS.md)
  // The engine's epoch at which the deadline is reached (read by the engine's epoch ticks on
  // other threads: Engine::increment_epoch).
  std::atomic<uint64_t> epoch_deadline{UINT64_MAX};
  uint64_t* cells_end = nullptr;  // end of the store's value stack
  // What generated code compares the stack pointer with, at function entries and loop headers:
  // stack_limit, or kInterrupted once the engine's epoch has reached the deadline (set by the
  // tick that reaches it, or by the store when it enters generated code or moves its deadline).
  // So deadlines cost generated code no check of their own beyond the stack check: the check's
  // slow path tells the two apart (V8 interrupts running code the same way).
  std::atomic<uintptr_t> native_stack_limit{0};
  // The lowest native stack pointer a JIT function may start with: the thread's stack plus the
  // reserve for host code, or, if higher, where the call depth runs out. Every frame of
  // generated code takes exactly 16 bytes of native stack (return address and frame pointer),
  // so the depth is the distance from the entry: the entry stub lowers this limit to
  // entry_rsp - 16 * call_depth_left, and function prologues compare rsp with it (through
  // native_stack_limit) instead of counting frames in memory.
  uintptr_t stack_limit = 0;
  // Frames of generated code the current entry may still make: StoreLimits::max_call_depth
  // less the interpreter's frames and the frames of enclosing entries (one budget for both
  // tiers, which the auto tier mixes in one recursion). Set by Store::run_native at every
  // entry, read by the entry stub.
  int64_t call_depth_left = 0;
  // The frames of generated code of the entries enclosing the current one (Store::run_native).
  int64_t enclosing_native_frames = 0;
  // The native stack pointer at the current entry's call into generated code (0: none active),
  // set by the entry stub; and at generated code's last call into the runtime. A nested entry
  // counts the enclosing entry's frames from the two.
  uintptr_t entry_rsp = 0;
  uintptr_t jit_rsp = 0;
  Store* store = nullptr;
  // A trap raised inside generated code (with its JIT frames), until the entry that ran the
  // code hands it on as a value.
  TrapPtr pending_trap;
  // Where a memory access of generated code faulted (set by the fault handler).
  uint32_t fault_module_offset = 0;
};

// A table's call_indirect cache: entry i (for the elements whose index is i mod
// kDispatchEntries) says that `functions[i]` has its machine code at `entries[i]`. Two arrays of
// pointers, so that generated code indexes both with one scaled index (the index's low byte).
constexpr uint32_t kDispatchEntries = 256;
struct DispatchCache {
  const FunctionInstance* functions[kDispatchEntries] = {};
  const void* entries[kDispatchEntries] = {};
};
struct DispatchCacheOffsets {
  static constexpr int32_t kFunctions = offsetof(DispatchCache, functions);
  static constexpr int32_t kEntries = offsetof(DispatchCache, entries);
};
// The cache of a table that has none yet: every entry empty.
extern const DispatchCache kEmptyDispatch;

// What generated code reads of a table: its elements, kept equal to TableInstance::elements
// (TableInstance::sync), and its call_indirect cache (TableInstance::remember_entry). The cache
// lets call_indirect load the callee's machine code straight from the element index, in parallel
// with the element itself, which only has to be the function the cache entry names: after a
// mispredicted indirect call, the next one waits for one load less (as Liftoff's tables of
// call targets do). Entries are filled by calls through the runtime, never cleared: a function
// instance's machine code never changes once compiled, and the table's writes need not touch
// the cache (an entry that names another function than the element is not used).
struct TableHeader {
  const uint64_t* element_data = nullptr;
  uint64_t element_count = 0;
  const DispatchCache* dispatch = &kEmptyDispatch;
};
struct TableHeaderOffsets {
  static constexpr int32_t kElementData = offsetof(TableHeader, element_data);
  static constexpr int32_t kElementCount = offsetof(TableHeader, element_count);
  static constexpr int32_t kDispatch = offsetof(TableHeader, dispatch);
};

struct VmContext {
  uint8_t* memory_base = nullptr;  // memory 0 (it never moves: DESIGN-NOTES section 3)
  const LinearMemory* memory = nullptr;
  StoreContext* store = nullptr;
  Instance* instance = nullptr;
  GlobalInstance* const* globals = nullptr;      // the instance's, imports first
  FunctionInstance* const* functions = nullptr;  // the instance's, imports first
  TableInstance* const* tables = nullptr;        // the instance's, imports first
  // A copy of table 0's header, which the table keeps equal (TableInstance::header_copies).
  // call_indirect on table 0 reads the bounds, elements and cache here rather than through
  // `tables`: after a mispredicted indirect call the caller's next call_indirect waits for its
  // bounds check, and loading the table first made that wait longer than the index's.
  TableHeader table0;
};

// The offsets generated code uses.
struct VmOffsets {
  static constexpr int32_t kMemoryBase = offsetof(VmContext, memory_base);
  static constexpr int32_t kMemory = offsetof(VmContext, memory);
  static constexpr int32_t kStore = offsetof(VmContext, store);
  static constexpr int32_t kGlobals = offsetof(VmContext, globals);
  static constexpr int32_t kFunctions = offsetof(VmContext, functions);
  static constexpr int32_t kTables = offsetof(VmContext, tables);
  static constexpr int32_t kTable0 = offsetof(VmContext, table0);
  static constexpr int32_t kInstance = offsetof(VmContext, instance);
  static constexpr int32_t kFuel = offsetof(StoreContext, fuel);
  static constexpr int32_t kCellsEnd = offsetof(StoreContext, cells_end);
  static constexpr int32_t kNativeStackLimit = offsetof(StoreContext, native_stack_limit);
  static constexpr int32_t kStackLimit = offsetof(StoreContext, stack_limit);
  static constexpr int32_t kCallDepthLeft = offsetof(StoreContext, call_depth_left);
  static constexpr int32_t kEntryRsp = offsetof(StoreContext, entry_rsp);
  static constexpr int32_t kJitRsp = offsetof(StoreContext, jit_rsp);
};

}  // namespace kiln
