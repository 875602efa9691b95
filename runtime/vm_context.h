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

struct StoreContext {
  uint64_t fuel = 0;                     // remaining fuel (docs/BUDGETS.md)
  uint64_t epoch_deadline = UINT64_MAX;  // the engine's epoch at which the deadline is reached
  const std::atomic<uint64_t>* epoch = nullptr;  // the engine's epoch counter
  uint64_t* cells_end = nullptr;                 // end of the store's value stack
  // The lowest native stack pointer a JIT function may start with (the thread's stack plus the
  // reserve for host code); set at every entry into generated code.
  uintptr_t native_stack_limit = 0;
  // Frames of generated code the store may still enter (StoreLimits::max_call_depth, counted
  // apart from the interpreter's frames): decremented at entry, restored at exit.
  int64_t call_depth_left = 0;
  Store* store = nullptr;
  // A trap raised inside generated code (with its JIT frames), until the entry that ran the
  // code hands it on as a value.
  TrapPtr pending_trap;
  // Where a memory access of generated code faulted (set by the fault handler).
  uint32_t fault_module_offset = 0;
};

struct VmContext {
  uint8_t* memory_base = nullptr;  // memory 0 (it never moves: DESIGN-NOTES section 3)
  const LinearMemory* memory = nullptr;
  StoreContext* store = nullptr;
  Instance* instance = nullptr;
  GlobalInstance* const* globals = nullptr;      // the instance's, imports first
  FunctionInstance* const* functions = nullptr;  // the instance's, imports first
  TableInstance* const* tables = nullptr;        // the instance's, imports first
};

// The offsets generated code uses.
struct VmOffsets {
  static constexpr int32_t kMemoryBase = offsetof(VmContext, memory_base);
  static constexpr int32_t kMemory = offsetof(VmContext, memory);
  static constexpr int32_t kStore = offsetof(VmContext, store);
  static constexpr int32_t kGlobals = offsetof(VmContext, globals);
  static constexpr int32_t kFunctions = offsetof(VmContext, functions);
  static constexpr int32_t kTables = offsetof(VmContext, tables);
  static constexpr int32_t kInstance = offsetof(VmContext, instance);
  static constexpr int32_t kFuel = offsetof(StoreContext, fuel);
  static constexpr int32_t kEpochDeadline = offsetof(StoreContext, epoch_deadline);
  static constexpr int32_t kEpoch = offsetof(StoreContext, epoch);
  static constexpr int32_t kCellsEnd = offsetof(StoreContext, cells_end);
  static constexpr int32_t kNativeStackLimit = offsetof(StoreContext, native_stack_limit);
  static constexpr int32_t kCallDepthLeft = offsetof(StoreContext, call_depth_left);
};

}  // namespace kiln
