// The interpreter: direct-threaded dispatch over the code of interpreter_code.h.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "runtime/bulk_operations.h"
#include "runtime/interpreter_code.h"
#include "runtime/numeric.h"
#include "runtime/store.h"
#include "runtime/tier.h"

namespace kiln {

namespace {

// Calls a host function, counting the call and its time for the store's telemetry.
TrapPtr call_host(Store& store, Instance* caller, FunctionInstance* function, uint64_t* cells) {
  HostCall call{store, caller};
  const auto start = std::chrono::steady_clock::now();
  TrapPtr trap = function->host(call, cells);
  function->stats.total_ns += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  ++function->stats.count;
  return trap;
}

#ifdef KILN_HANDLER_PROFILE
// A developer build (cmake -DKILN_HANDLER_PROFILE=ON) counts every dispatch and every pair of
// consecutive handlers, and prints the most frequent at exit: the evidence for choosing
// superinstructions (DESIGN-NOTES section 2).
struct HandlerProfile {
  static constexpr size_t kCount = static_cast<size_t>(Handler::kCount);
  std::vector<uint64_t> singles = std::vector<uint64_t>(kCount);
  std::vector<uint64_t> pairs = std::vector<uint64_t>(kCount * kCount);
  size_t previous = 0;
  std::unordered_map<const void*, size_t> ids;
  void record(const void* handler) {
    if (ids.empty()) {
      const void* const* table = interpreter_handler_table();
      for (size_t i = 0; i < kCount; ++i) ids.emplace(table[i], i);
    }
    const size_t id = ids.at(handler);
    ++singles[id];
    ++pairs[previous * kCount + id];
    previous = id;
  }
  ~HandlerProfile() {
    static const char* const kNames[] = {
#define KILN_HANDLER_NAME(name, ...) #name,
#define KILN_BRANCH_NAME(name, ...) "br_if_" #name, "br_unless_" #name,
#define KILN_ADDRESS_ADD_NAME(name, ...) #name "_add",
#define KILN_MEMORY_OPERAND_NAME(name, ...) #name "_load",
        KILN_CONTROL_HANDLERS(KILN_HANDLER_NAME) KILN_TABLE_HANDLERS(KILN_HANDLER_NAME)
            KILN_FUSED_HANDLERS(KILN_BRANCH_NAME, KILN_ADDRESS_ADD_NAME, KILN_MEMORY_OPERAND_NAME)
#undef KILN_HANDLER_NAME
#undef KILN_BRANCH_NAME
#undef KILN_ADDRESS_ADD_NAME
#undef KILN_MEMORY_OPERAND_NAME
    };
    auto print_top = [](const char* title, const std::vector<uint64_t>& counts, auto name_of) {
      uint64_t total = 0;
      std::vector<size_t> order;
      for (size_t i = 0; i < counts.size(); ++i) {
        total += counts[i];
        if (counts[i]) order.push_back(i);
      }
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return counts[a] > counts[b]; });
      std::fprintf(stderr, "%s (%llu dispatches)\n", title, static_cast<unsigned long long>(total));
      for (size_t i = 0; i < order.size() && i < 40; ++i) {
        std::fprintf(stderr, "  %6.2f%%  %s\n", 100.0 * counts[order[i]] / total,
                     name_of(order[i]).c_str());
      }
    };
    print_top("handlers", singles, [](size_t i) { return std::string(kNames[i]); });
    print_top("pairs", pairs, [](size_t i) {
      return std::string(kNames[i / kCount]) + " -> " + kNames[i % kCount];
    });
  }
};
HandlerProfile handler_profile;
#define KILN_PROFILE_DISPATCH(handler) handler_profile.record(handler)
#else
#define KILN_PROFILE_DISPATCH(handler) \
  do {                                 \
  } while (0)
#endif

template <typename T>
inline T read_slot(const uint64_t* fp, uint32_t offset) {
  T v;
  std::memcpy(&v, reinterpret_cast<const char*>(fp) + offset, sizeof v);
  return v;
}
// Values narrower than a cell are written zero-extended to the whole cell, so a cell's bits
// are deterministic; v128 fills two cells.
template <typename T>
inline void write_slot(uint64_t* fp, uint32_t offset, T v) {
  if constexpr (sizeof(T) >= sizeof(uint64_t)) {
    std::memcpy(reinterpret_cast<char*>(fp) + offset, &v, sizeof v);
    return;
  }
  uint64_t cell = 0;
  std::memcpy(&cell, &v, sizeof v);
  std::memcpy(reinterpret_cast<char*>(fp) + offset, &cell, sizeof cell);
}
inline uint64_t* cell_at(uint64_t* fp, uint32_t offset) {
  return reinterpret_cast<uint64_t*>(reinterpret_cast<char*>(fp) + offset);
}

// Declared locals start at zero (spec 4.5.3.1); the constant cells get their values.
inline void init_frame(const CompiledFunction& function, uint64_t* fp) {
  std::memset(fp + function.param_cells, 0, (function.local_cells - function.param_cells) * 8);
  if (!function.constants.empty()) {
    std::memcpy(fp + function.local_cells, function.constants.data(),
                function.constants.size() * 8);
  }
}

// Adds the wasm frames of this activation to `trap`'s backtrace, innermost first. Frames that
// cannot be among the innermost or outermost ones the trap keeps (Trap::kTraceEnds) are only
// counted, so a trap at the bottom of a 100,000-deep recursion costs no more than a shallow one.
void add_backtrace(Trap& trap, const CompiledFunction* function, Instance* instance,
                   const uint32_t* pc, const ExecutionStack& stack, uint32_t base_frames) {
  // An exception's frames are named only if it leaves wasm uncaught (Store::invoke).
  const bool named = !trap.exception;
  auto frame_of = [named](const CompiledFunction* f, Instance* inst, const uint32_t* at) {
    return trace_frame(inst, f->function_index,
                       f->source_offset(static_cast<uint32_t>(at - f->code.data())), named);
  };
  // This activation's frames: the running one, then one per call record with a function.
  uint64_t count = 1;
  for (uint32_t i = stack.frame_count; i-- > base_frames + 1;)
    count += stack.frames[i].function != nullptr;
  uint64_t position = 0;
  auto add = [&](const CompiledFunction* f, Instance* inst, const uint32_t* at) {
    const bool kept = position < Trap::kTraceEnds || count - position <= Trap::kTraceEnds;
    if (kept) {
      trap.add_frame(frame_of(f, inst, at));
    } else {
      // Only counted: its function and instance are all that is compared (and named below).
      TraceFrame omitted;
      omitted.function_index = f->function_index;
      omitted.instance = inst;
      trap.omit_frame(omitted);
    }
    ++position;
  };
  add(function, instance, pc);
  for (uint32_t i = stack.frame_count; i-- > base_frames + 1;) {
    const CallFrame& record = stack.frames[i];
    // The call instruction precedes the return address; any unit inside it maps to it.
    if (record.function) add(record.function, record.instance, record.return_pc - 1);
  }
  // The omitted frames are named once, if they are all of one function.
  if (named && trap.omitted_frames && trap.omitted_one_function) name_frame(trap.omitted_function);
}

// The catch clause of `function`'s innermost try_table around code unit `unit` that takes
// `exception` (spec 4.4.x), which it has delivered into the frame at `fp`; or null.
const ExceptionHandler::Catch* catch_exception(Store& store, const CompiledFunction& function,
                                               const Instance& instance, uint32_t unit,
                                               ExceptionObject* exception, uint64_t* fp) {
  const auto& handlers = function.exception_handlers;
  for (auto h = handlers.rbegin(); h != handlers.rend(); ++h) {
    if (unit < h->begin || unit >= h->end) continue;
    for (const ExceptionHandler::Catch& c : h->catches) {
      if (store.take_exception(c, instance, exception, fp)) return &c;
    }
  }
  return nullptr;
}

// Runs `entry` with its frame at `fp` (arguments already there). With a null store, returns
// the handler table through `table_out` instead.
TrapPtr run(Store* store, const FunctionInstance* entry, uint64_t* fp,
            const void* const** table_out) {
  static const void* const kHandlers[] = {
#define KILN_HANDLER_ADDRESS(name, ...) &&op_##name,
#define KILN_BRANCH_ADDRESS(name, ...) &&op_br_if_##name, &&op_br_unless_##name,
#define KILN_ADDRESS_ADD_ADDRESS(name, ...) &&op_##name##_add,
#define KILN_MEMORY_OPERAND_ADDRESS(name, ...) &&op_##name##_load,
      // clang-format off
      KILN_CONTROL_HANDLERS(KILN_HANDLER_ADDRESS)
      KILN_TABLE_HANDLERS(KILN_HANDLER_ADDRESS)
      KILN_FUSED_HANDLERS(KILN_BRANCH_ADDRESS, KILN_ADDRESS_ADD_ADDRESS,
                          KILN_MEMORY_OPERAND_ADDRESS)
  // clang-format on
#undef KILN_HANDLER_ADDRESS
#undef KILN_BRANCH_ADDRESS
#undef KILN_ADDRESS_ADD_ADDRESS
#undef KILN_MEMORY_OPERAND_ADDRESS
  };
  static_assert(sizeof kHandlers / sizeof kHandlers[0] == static_cast<size_t>(Handler::kCount));
  if (!store) {
    *table_out = kHandlers;
    return nullptr;
  }

  ExecutionStack& stack = store->stack();
  const uint32_t base_frames = stack.frame_count;
  // Mixed tiers: a callee with machine code (or due to get it) runs under the code tier.
  const bool code_tier = store->engine().code_tier() != nullptr;
  const uint32_t loop_iterations_before_compile =
      store->engine().config().loop_iterations_before_compile;
  const CompiledFunction* func = entry->code;
  Instance* inst = entry->instance;
  const uint32_t* pc = nullptr;
  uint8_t* mem_base = nullptr;  // of the selected memory: memory 0 but for one instruction
  uint64_t mem_size = 0;
  uint32_t selected_memory = 0;  // select_memory (multi-memory)
  TrapCode trap_code = TrapCode::kUnreachable;
  int64_t trap_element = -1;  // the table index of an undefined/uninitialized element trap
  TrapPtr host_trap;

  // Callee state for the shared call path.
  FunctionInstance* callee_instance = nullptr;
  const CompiledFunction* callee = nullptr;
  Instance* callee_module_instance = nullptr;
  uint64_t* new_fp = nullptr;
  const uint32_t* next_pc = nullptr;

#define NEXT()                                   \
  do {                                           \
    const void* handler_;                        \
    std::memcpy(&handler_, pc, sizeof handler_); \
    KILN_PROFILE_DISPATCH(handler_);             \
    goto* handler_;                              \
  } while (0)
#define OPERAND(i) pc[2 + (i)]
#define TRAP(code)      \
  do {                  \
    trap_code = (code); \
    goto trap;          \
  } while (0)
// The memory the memory handlers read: memory 0, or another for one instruction
// (select_memory); read again after anything that may have grown it.
#define USE_MEMORY(index)                                              \
  do {                                                                 \
    selected_memory = (index);                                         \
    const LinearMemory& m_ = *inst->memories[selected_memory]->memory; \
    mem_base = m_.base();                                              \
    mem_size = m_.size_bytes();                                        \
  } while (0)
#define RELOAD_MEMORY()                         \
  do {                                          \
    selected_memory = 0;                        \
    if (!inst->memories.empty()) USE_MEMORY(0); \
  } while (0)

  // Entry: a record with no function marks the return to the host.
  if (stack.frame_count >= stack.frame_capacity || fp + func->frame_cells > stack.cells_end) {
    return Trap::make(TrapCode::kCallStackExhausted);
  }
  stack.frames[stack.frame_count++] = CallFrame{nullptr, nullptr, nullptr, nullptr};
  init_frame(*func, fp);
  pc = func->code.data();
  RELOAD_MEMORY();
  NEXT();

op_unreachable:
  TRAP(TrapCode::kUnreachable);

// Wasm 3.0 exception handling: an exception leaves as a trap that carries it, and the trap
// path below looks for a try_table that catches it in this activation's frames.
op_throw_ : {
  ExceptionObject* exception =
      store->make_exception(inst->tags[OPERAND(0)], cell_at(fp, OPERAND(1)));
  if (!exception) TRAP(TrapCode::kOutOfMemory);
  host_trap = Trap::make_exception(exception);
  goto trap;
}
op_throw_ref : {
  auto* exception = reinterpret_cast<ExceptionObject*>(*cell_at(fp, OPERAND(0)));
  if (!exception) TRAP(TrapCode::kNullExceptionReference);
  host_trap = Trap::make_exception(exception);
  goto trap;
}

// DESIGN-NOTES section 5: a segment is charged before it starts; one that the remaining fuel
// does not cover never starts.
op_fuel:
  if (!store->consume_fuel(OPERAND(0))) TRAP(TrapCode::kOutOfFuel);
  pc += 3;
  NEXT();
op_epoch_check:
  if (store->deadline_passed()) TRAP(TrapCode::kDeadlineExceeded);
  pc += 2;
  NEXT();

// On-stack replacement (the auto tier, CodeTierOptions::loop_iterations_before_compile): the
// header of a loop counts the function's iterations. Once they are many, the function is
// compiled and this frame goes on in its machine code from this loop's entry to its return
// (Store::run_native_from_loop); the frame's record is popped first, so the machine code's
// frame stands in for it (call depth, backtraces), and the interpreter then returns to the
// caller as from a callee. The loop's epoch check and fuel charge follow this instruction in
// both tiers' code, so neither is skipped nor doubled.
op_loop_header : {
  const uint32_t iterations = func->loop_iterations.load(std::memory_order_relaxed) + 1;
  func->loop_iterations.store(iterations, std::memory_order_relaxed);
  if (iterations >= loop_iterations_before_compile &&
      func->native_state.load(std::memory_order_relaxed) !=
          CompiledFunction::NativeState::kNotCompilable) [[unlikely]] {
    func->loop_iterations.store(0, std::memory_order_relaxed);  // retried after as many more
    const CallFrame record = stack.frames[--stack.frame_count];
    if (store->run_native_from_loop(*inst, *func, OPERAND(0), fp, host_trap)) {
      if (!record.function) return host_trap;  // back to the host: results in place, or a trap
      pc = record.return_pc;
      fp = record.fp;
      inst = record.instance;
      func = record.function;
      RELOAD_MEMORY();
      if (host_trap) {
        --pc;  // at the caller's call, as a callee's trap is
        goto trap;
      }
      NEXT();
    }
    ++stack.frame_count;  // no machine code for this loop: the interpreter goes on
  }
  pc += 3;
  NEXT();
}

op_br:
  pc += static_cast<int32_t>(OPERAND(0));
  NEXT();
op_br_move : {
  uint64_t* src = cell_at(fp, OPERAND(1));
  uint64_t* dst = cell_at(fp, OPERAND(2));
  for (uint32_t i = 0, n = OPERAND(3); i < n; ++i) dst[i] = src[i];
  pc += static_cast<int32_t>(OPERAND(0));
  NEXT();
}
op_br_if_nz:
  if (read_slot<uint32_t>(fp, OPERAND(0))) {
    pc += static_cast<int32_t>(OPERAND(1));
  } else {
    pc += 4;
  }
  NEXT();
op_br_if_nz_move:
  if (read_slot<uint32_t>(fp, OPERAND(0))) {
    uint64_t* src = cell_at(fp, OPERAND(2));
    uint64_t* dst = cell_at(fp, OPERAND(3));
    for (uint32_t i = 0, n = OPERAND(4); i < n; ++i) dst[i] = src[i];
    pc += static_cast<int32_t>(OPERAND(1));
  } else {
    pc += 7;
  }
  NEXT();
op_br_if_z:
  if (!read_slot<uint32_t>(fp, OPERAND(0))) {
    pc += static_cast<int32_t>(OPERAND(1));
  } else {
    pc += 4;
  }
  NEXT();
op_br_table : {
  uint32_t index = std::min(read_slot<uint32_t>(fp, OPERAND(0)), OPERAND(3));
  const uint32_t* entry_units = pc + 6 + 2 * index;
  uint32_t n = OPERAND(2);
  uint64_t* src = cell_at(fp, OPERAND(1));
  uint64_t* dst = cell_at(fp, entry_units[1]);
  if (src != dst) {
    for (uint32_t i = 0; i < n; ++i) dst[i] = src[i];
  }
  pc += static_cast<int32_t>(entry_units[0]);
  NEXT();
}
op_return_ : {
  uint64_t* src = cell_at(fp, OPERAND(0));
  for (uint32_t i = 0, n = OPERAND(1); i < n; ++i) fp[i] = src[i];
  const CallFrame& record = stack.frames[--stack.frame_count];
  if (!record.function) return nullptr;  // back to the host
  pc = record.return_pc;
  fp = record.fp;
  inst = record.instance;
  func = record.function;
  RELOAD_MEMORY();
  NEXT();
}

op_call:
  std::memcpy(&callee, pc + 2, sizeof callee);
  callee_module_instance = inst;
  new_fp = cell_at(fp, OPERAND(2));
  next_pc = pc + 5;
  goto enter;
op_call_import:
  callee_instance = inst->functions[OPERAND(0)];
  new_fp = cell_at(fp, OPERAND(1));
  next_pc = pc + 4;
  goto call_function_instance;
op_call_indirect : {
  const TableInstance& table = *inst->tables[OPERAND(1)];
  uint32_t index = read_slot<uint32_t>(fp, OPERAND(2));
  trap_element = index;
  if (index >= table.elements.size()) TRAP(TrapCode::kUndefinedElement);
  callee_instance = reinterpret_cast<FunctionInstance*>(table.elements[index]);
  if (!callee_instance) TRAP(TrapCode::kUninitializedElement);
  if (callee_instance->type_id != OPERAND(0)) TRAP(TrapCode::kIndirectCallTypeMismatch);
  new_fp = cell_at(fp, OPERAND(3));
  next_pc = pc + 6;
  goto call_function_instance;
}

call_function_instance:
  if (callee_instance->code) {
    callee = callee_instance->code;
    callee_module_instance = callee_instance->instance;
    goto enter;
  } else {
    host_trap = store->call_host_from_wasm(inst, callee_instance, new_fp);
    if (host_trap) goto trap;
    RELOAD_MEMORY();
    pc = next_pc;
    NEXT();
  }

enter:
  // Acquire: a function the tier could not compile has had its interpreter code made just
  // before (Module::native_function).
  if (code_tier && callee->native_state.load(std::memory_order_acquire) !=
                       CompiledFunction::NativeState::kNotCompilable) {
    if (store->run_native(*callee_module_instance, *callee, new_fp, host_trap)) {
      if (host_trap) goto trap;
      RELOAD_MEMORY();
      pc = next_pc;
      NEXT();
    }
  }
  if (stack.frame_count >= stack.frame_capacity || new_fp + callee->frame_cells > stack.cells_end) {
    TRAP(TrapCode::kCallStackExhausted);
  }
  stack.frames[stack.frame_count++] = CallFrame{next_pc, fp, inst, func};
  fp = new_fp;
  func = callee;
  inst = callee_module_instance;
  init_frame(*func, fp);
  pc = func->code.data();
  RELOAD_MEMORY();
  NEXT();

op_i32_add_shl:
  write_slot<uint32_t>(
      fp, OPERAND(3),
      read_slot<uint32_t>(fp, OPERAND(2)) +
          (read_slot<uint32_t>(fp, OPERAND(0)) << (read_slot<uint32_t>(fp, OPERAND(1)) & 31)));
  pc += 6;
  NEXT();
op_i32_add_add:
  write_slot<uint32_t>(fp, OPERAND(2),
                       read_slot<uint32_t>(fp, OPERAND(0)) + read_slot<uint32_t>(fp, OPERAND(1)));
  write_slot<uint32_t>(fp, OPERAND(5),
                       read_slot<uint32_t>(fp, OPERAND(3)) + read_slot<uint32_t>(fp, OPERAND(4)));
  pc += 8;
  NEXT();
op_copy:
  *cell_at(fp, OPERAND(1)) = *cell_at(fp, OPERAND(0));
  pc += 4;
  NEXT();
op_copy_copy:
  *cell_at(fp, OPERAND(1)) = *cell_at(fp, OPERAND(0));
  *cell_at(fp, OPERAND(3)) = *cell_at(fp, OPERAND(2));
  pc += 6;
  NEXT();
op_copy2 : {
  uint64_t* src = cell_at(fp, OPERAND(0));
  uint64_t* dst = cell_at(fp, OPERAND(1));
  dst[0] = src[0];
  dst[1] = src[1];
  pc += 4;
  NEXT();
}
op_const32:
  *cell_at(fp, OPERAND(0)) = OPERAND(1);
  pc += 4;
  NEXT();
op_const64:
  *cell_at(fp, OPERAND(0)) = OPERAND(1) | static_cast<uint64_t>(OPERAND(2)) << 32;
  pc += 5;
  NEXT();
op_select:
  if (!read_slot<uint32_t>(fp, OPERAND(0))) *cell_at(fp, OPERAND(2)) = *cell_at(fp, OPERAND(1));
  pc += 5;
  NEXT();
op_select2:
  if (!read_slot<uint32_t>(fp, OPERAND(0))) {
    uint64_t* src = cell_at(fp, OPERAND(1));
    uint64_t* dst = cell_at(fp, OPERAND(2));
    dst[0] = src[0];
    dst[1] = src[1];
  }
  pc += 5;
  NEXT();
op_global_get:
  *cell_at(fp, OPERAND(1)) = inst->globals[OPERAND(0)]->cells[0];
  pc += 4;
  NEXT();
op_global_set:
  inst->globals[OPERAND(0)]->cells[0] = *cell_at(fp, OPERAND(1));
  pc += 4;
  NEXT();
op_global_get2 : {
  GlobalInstance& g = *inst->globals[OPERAND(0)];
  uint64_t* dst = cell_at(fp, OPERAND(1));
  dst[0] = g.cells[0];
  dst[1] = g.cells[1];
  pc += 4;
  NEXT();
}
op_global_set2 : {
  GlobalInstance& g = *inst->globals[OPERAND(0)];
  uint64_t* src = cell_at(fp, OPERAND(1));
  g.cells[0] = src[0];
  g.cells[1] = src[1];
  pc += 4;
  NEXT();
}
op_table_get : {
  const TableInstance& table = *inst->tables[OPERAND(0)];
  uint32_t index = read_slot<uint32_t>(fp, OPERAND(1));
  if (index >= table.elements.size()) TRAP(TrapCode::kTableOutOfBounds);
  *cell_at(fp, OPERAND(2)) = table.elements[index];
  pc += 5;
  NEXT();
}
op_table_set : {
  TableInstance& table = *inst->tables[OPERAND(0)];
  uint32_t index = read_slot<uint32_t>(fp, OPERAND(1));
  if (index >= table.elements.size()) TRAP(TrapCode::kTableOutOfBounds);
  table.elements[index] = *cell_at(fp, OPERAND(2));
  pc += 5;
  NEXT();
}
op_memory_size:
  write_slot<uint32_t>(fp, OPERAND(0), static_cast<uint32_t>(mem_size / kWasmPageSize));
  pc += 3;
  NEXT();
op_memory_grow : {
  int64_t old = inst->memories[selected_memory]->grow(read_slot<uint32_t>(fp, OPERAND(0)));
  write_slot<uint32_t>(fp, OPERAND(0), static_cast<uint32_t>(old));
  USE_MEMORY(selected_memory);
  pc += 3;
  NEXT();
}
// Multi-memory: the next instruction's memory (and memory 0 again after it).
op_select_memory:
  USE_MEMORY(OPERAND(0));
  pc += 3;
  NEXT();
op_ref_null:
  *cell_at(fp, OPERAND(0)) = 0;
  pc += 3;
  NEXT();
op_ref_is_null:
  *cell_at(fp, OPERAND(1)) = *cell_at(fp, OPERAND(0)) == 0;
  pc += 4;
  NEXT();
op_ref_func:
  *cell_at(fp, OPERAND(1)) = reinterpret_cast<uint64_t>(inst->functions[OPERAND(0)]);
  pc += 4;
  NEXT();

// Bulk memory and table operators (runtime/bulk_operations.h).
op_memory_init:
  if (!memory_init(mem_base, mem_size, inst->data[OPERAND(0)], cell_at(fp, OPERAND(1)))) {
    TRAP(TrapCode::kMemoryOutOfBounds);
  }
  pc += 4;
  NEXT();
op_data_drop:
  inst->data[OPERAND(0)] = {};
  pc += 3;
  NEXT();
op_memory_copy:
  if (!memory_copy(mem_base, mem_size, cell_at(fp, OPERAND(0)))) {
    TRAP(TrapCode::kMemoryOutOfBounds);
  }
  pc += 3;
  NEXT();
op_memory_copy_between : {
  LinearMemory& dst = *inst->memories[OPERAND(0)]->memory;
  const LinearMemory& src = *inst->memories[OPERAND(1)]->memory;
  if (!memory_copy(dst.base(), dst.size_bytes(), src.base(), src.size_bytes(),
                   cell_at(fp, OPERAND(2)))) {
    TRAP(TrapCode::kMemoryOutOfBounds);
  }
  pc += 5;
  NEXT();
}
op_memory_fill:
  if (!memory_fill(mem_base, mem_size, cell_at(fp, OPERAND(0)))) {
    TRAP(TrapCode::kMemoryOutOfBounds);
  }
  pc += 3;
  NEXT();
op_table_init:
  if (!table_init(*inst->tables[OPERAND(0)], inst->elements[OPERAND(1)], cell_at(fp, OPERAND(2)))) {
    TRAP(TrapCode::kTableOutOfBounds);
  }
  pc += 5;
  NEXT();
op_elem_drop:
  inst->elements[OPERAND(0)] = {};
  pc += 3;
  NEXT();
op_table_copy:
  if (!table_copy(*inst->tables[OPERAND(0)], *inst->tables[OPERAND(1)], cell_at(fp, OPERAND(2)))) {
    TRAP(TrapCode::kTableOutOfBounds);
  }
  pc += 5;
  NEXT();
op_table_grow:
  table_grow(*inst->tables[OPERAND(0)], cell_at(fp, OPERAND(1)));
  pc += 4;
  NEXT();
op_table_size:
  write_slot<uint32_t>(fp, OPERAND(1),
                       static_cast<uint32_t>(inst->tables[OPERAND(0)]->elements.size()));
  pc += 4;
  NEXT();
op_table_fill:
  if (!table_fill(*inst->tables[OPERAND(0)], cell_at(fp, OPERAND(1)))) {
    TRAP(TrapCode::kTableOutOfBounds);
  }
  pc += 4;
  NEXT();

#define KILN_UNARY_HANDLER(name, opc, R, A, expr)        \
  op_##name : {                                          \
    A a = read_slot<A>(fp, OPERAND(0));                  \
    write_slot<R>(fp, OPERAND(1), static_cast<R>(expr)); \
    pc += 4;                                             \
    NEXT();                                              \
  }
  KILN_UNARY_OPS(KILN_UNARY_HANDLER)

#define KILN_CHECKED_UNARY_HANDLER(name, opc, R, A, fn)                                   \
  op_##name : {                                                                           \
    R r;                                                                                  \
    if (int t = fn(read_slot<A>(fp, OPERAND(0)), &r)) TRAP(static_cast<TrapCode>(t - 1)); \
    write_slot<R>(fp, OPERAND(1), r);                                                     \
    pc += 4;                                                                              \
    NEXT();                                                                               \
  }
  KILN_CHECKED_UNARY_OPS(KILN_CHECKED_UNARY_HANDLER)
#undef KILN_CHECKED_UNARY_HANDLER

#define KILN_BINARY_HANDLER(name, opc, R, A, expr)       \
  op_##name : {                                          \
    A a = read_slot<A>(fp, OPERAND(0));                  \
    A b = read_slot<A>(fp, OPERAND(1));                  \
    write_slot<R>(fp, OPERAND(2), static_cast<R>(expr)); \
    pc += 5;                                             \
    NEXT();                                              \
  }
  KILN_BINARY_OPS(KILN_BINARY_HANDLER)

#define KILN_CHECKED_BINARY_HANDLER(name, opc, R, A, fn)                            \
  op_##name : {                                                                     \
    R r;                                                                            \
    if (int t = fn(read_slot<A>(fp, OPERAND(0)), read_slot<A>(fp, OPERAND(1)), &r)) \
      TRAP(static_cast<TrapCode>(t - 1));                                           \
    write_slot<R>(fp, OPERAND(2), r);                                               \
    pc += 5;                                                                        \
    NEXT();                                                                         \
  }
  KILN_CHECKED_BINARY_OPS(KILN_CHECKED_BINARY_HANDLER)
#undef KILN_CHECKED_BINARY_HANDLER

// Loads and stores check `address + offset + size <= memory size` in 64-bit arithmetic, which
// cannot overflow (explicit-bounds mode of DESIGN-NOTES section 3).
// The effective address of a memory operand of `bytes` bytes, or a trap.
#define KILN_EFFECTIVE_ADDRESS(ea, address, offset, bytes) \
  uint64_t ea = uint64_t{address} + (offset);              \
  if (ea + (bytes) > mem_size) TRAP(TrapCode::kMemoryOutOfBounds)
#define KILN_SLOT_ADDRESS(i) read_slot<uint32_t>(fp, OPERAND(i))

#define KILN_LOAD_HANDLER(name, opc, T, M, align)                            \
  op_##name : {                                                              \
    KILN_EFFECTIVE_ADDRESS(ea, KILN_SLOT_ADDRESS(0), OPERAND(2), sizeof(M)); \
    M m;                                                                     \
    std::memcpy(&m, mem_base + ea, sizeof m);                                \
    write_slot<T>(fp, OPERAND(1), static_cast<T>(m));                        \
    pc += 5;                                                                 \
    NEXT();                                                                  \
  }
  KILN_LOAD_OPS(KILN_LOAD_HANDLER)
#undef KILN_LOAD_HANDLER

#define KILN_STORE_HANDLER(name, opc, T, M, align)                           \
  op_##name : {                                                              \
    KILN_EFFECTIVE_ADDRESS(ea, KILN_SLOT_ADDRESS(0), OPERAND(2), sizeof(M)); \
    M m = static_cast<M>(read_slot<T>(fp, OPERAND(1)));                      \
    std::memcpy(mem_base + ea, &m, sizeof m);                                \
    pc += 5;                                                                 \
    NEXT();                                                                  \
  }
  KILN_STORE_OPS(KILN_STORE_HANDLER)
#undef KILN_STORE_HANDLER

  // Superinstructions (interpreter_code.h).
#define KILN_TEST_BRANCH_HANDLERS(name, opc, R, A, expr) \
  op_br_if_##name : {                                    \
    A a = read_slot<A>(fp, OPERAND(0));                  \
    pc += (expr) ? static_cast<int32_t>(OPERAND(1)) : 4; \
    NEXT();                                              \
  }                                                      \
  op_br_unless_##name : {                                \
    A a = read_slot<A>(fp, OPERAND(0));                  \
    pc += (expr) ? 4 : static_cast<int32_t>(OPERAND(1)); \
    NEXT();                                              \
  }
  KILN_TEST_OPS(KILN_TEST_BRANCH_HANDLERS)
#undef KILN_TEST_BRANCH_HANDLERS

#define KILN_COMPARE_BRANCH_HANDLERS(name, opc, R, A, expr) \
  op_br_if_##name : {                                       \
    A a = read_slot<A>(fp, OPERAND(0));                     \
    A b = read_slot<A>(fp, OPERAND(1));                     \
    pc += (expr) ? static_cast<int32_t>(OPERAND(2)) : 5;    \
    NEXT();                                                 \
  }                                                         \
  op_br_unless_##name : {                                   \
    A a = read_slot<A>(fp, OPERAND(0));                     \
    A b = read_slot<A>(fp, OPERAND(1));                     \
    pc += (expr) ? 5 : static_cast<int32_t>(OPERAND(2));    \
    NEXT();                                                 \
  }
  KILN_COMPARE_OPS(KILN_COMPARE_BRANCH_HANDLERS)
#undef KILN_COMPARE_BRANCH_HANDLERS

#define KILN_LOAD_ADD_HANDLER(name, opc, T, M, align)                 \
  op_##name##_add : {                                                 \
    const uint32_t sum = KILN_SLOT_ADDRESS(0) + KILN_SLOT_ADDRESS(1); \
    KILN_EFFECTIVE_ADDRESS(ea, sum, OPERAND(3), sizeof(M));           \
    M m;                                                              \
    std::memcpy(&m, mem_base + ea, sizeof m);                         \
    write_slot<T>(fp, OPERAND(2), static_cast<T>(m));                 \
    pc += 6;                                                          \
    NEXT();                                                           \
  }
  KILN_LOAD_OPS(KILN_LOAD_ADD_HANDLER)
#undef KILN_LOAD_ADD_HANDLER

#define KILN_STORE_ADD_HANDLER(name, opc, T, M, align)                \
  op_##name##_add : {                                                 \
    const uint32_t sum = KILN_SLOT_ADDRESS(0) + KILN_SLOT_ADDRESS(1); \
    KILN_EFFECTIVE_ADDRESS(ea, sum, OPERAND(3), sizeof(M));           \
    M m = static_cast<M>(read_slot<T>(fp, OPERAND(2)));               \
    std::memcpy(mem_base + ea, &m, sizeof m);                         \
    pc += 6;                                                          \
    NEXT();                                                           \
  }
  KILN_STORE_OPS(KILN_STORE_ADD_HANDLER)
#undef KILN_STORE_ADD_HANDLER

  // The second operand is loaded, as a value of the operator's own type.
#define KILN_MEMORY_OPERAND_HANDLER(name, opc, R, A, expr)                   \
  op_##name##_load : {                                                       \
    KILN_EFFECTIVE_ADDRESS(ea, KILN_SLOT_ADDRESS(1), OPERAND(3), sizeof(A)); \
    A a = read_slot<A>(fp, OPERAND(0));                                      \
    A b;                                                                     \
    std::memcpy(&b, mem_base + ea, sizeof b);                                \
    write_slot<R>(fp, OPERAND(2), static_cast<R>(expr));                     \
    pc += 6;                                                                 \
    NEXT();                                                                  \
  }
  KILN_MEMORY_OPERAND_OPS(KILN_MEMORY_OPERAND_HANDLER)
#undef KILN_MEMORY_OPERAND_HANDLER

  KILN_SIMD_UNARY_OPS(KILN_UNARY_HANDLER)
  KILN_SIMD_BINARY_OPS(KILN_BINARY_HANDLER)
#undef KILN_UNARY_HANDLER
#undef KILN_BINARY_HANDLER

#define KILN_SHIFT_HANDLER(name, opc, R, A, B, expr)     \
  op_##name : {                                          \
    A a = read_slot<A>(fp, OPERAND(0));                  \
    B b = read_slot<B>(fp, OPERAND(1));                  \
    write_slot<R>(fp, OPERAND(2), static_cast<R>(expr)); \
    pc += 5;                                             \
    NEXT();                                              \
  }
  KILN_SIMD_SHIFT_OPS(KILN_SHIFT_HANDLER)
#undef KILN_SHIFT_HANDLER

#define KILN_SIMD_LOAD_HANDLER(name, opc, bytes, align, expr)            \
  op_##name : {                                                          \
    KILN_EFFECTIVE_ADDRESS(ea, KILN_SLOT_ADDRESS(0), OPERAND(2), bytes); \
    const uint8_t* p = mem_base + ea;                                    \
    write_slot<V128>(fp, OPERAND(1), expr);                              \
    pc += 5;                                                             \
    NEXT();                                                              \
  }
  KILN_SIMD_LOAD_OPS(KILN_SIMD_LOAD_HANDLER)
#undef KILN_SIMD_LOAD_HANDLER

op_v128_store : {
  KILN_EFFECTIVE_ADDRESS(ea, KILN_SLOT_ADDRESS(0), OPERAND(2), 16);
  std::memcpy(mem_base + ea, cell_at(fp, OPERAND(1)), 16);
  pc += 5;
  NEXT();
}

#define KILN_LOAD_LANE_HANDLER(name, opc, L, align)                          \
  op_##name : {                                                              \
    KILN_EFFECTIVE_ADDRESS(ea, KILN_SLOT_ADDRESS(0), OPERAND(3), sizeof(L)); \
    V128 v = read_slot<V128>(fp, OPERAND(1));                                \
    std::memcpy(v.bytes + OPERAND(4) * sizeof(L), mem_base + ea, sizeof(L)); \
    write_slot<V128>(fp, OPERAND(2), v);                                     \
    pc += 7;                                                                 \
    NEXT();                                                                  \
  }
  KILN_SIMD_LOAD_LANE_OPS(KILN_LOAD_LANE_HANDLER)
#undef KILN_LOAD_LANE_HANDLER

#define KILN_STORE_LANE_HANDLER(name, opc, L, align)                         \
  op_##name : {                                                              \
    KILN_EFFECTIVE_ADDRESS(ea, KILN_SLOT_ADDRESS(0), OPERAND(2), sizeof(L)); \
    V128 v = read_slot<V128>(fp, OPERAND(1));                                \
    std::memcpy(mem_base + ea, v.bytes + OPERAND(3) * sizeof(L), sizeof(L)); \
    pc += 6;                                                                 \
    NEXT();                                                                  \
  }
  KILN_SIMD_STORE_LANE_OPS(KILN_STORE_LANE_HANDLER)
#undef KILN_STORE_LANE_HANDLER
#undef KILN_EFFECTIVE_ADDRESS
#undef KILN_SLOT_ADDRESS

#define KILN_EXTRACT_LANE_HANDLER(name, opc, L, T)                               \
  op_##name : {                                                                  \
    V128 v = read_slot<V128>(fp, OPERAND(0));                                    \
    write_slot<T>(fp, OPERAND(1), static_cast<T>(simd::lane<L>(v, OPERAND(2)))); \
    pc += 5;                                                                     \
    NEXT();                                                                      \
  }
  KILN_SIMD_EXTRACT_LANE_OPS(KILN_EXTRACT_LANE_HANDLER)
#undef KILN_EXTRACT_LANE_HANDLER

#define KILN_REPLACE_LANE_HANDLER(name, opc, L, T)                                  \
  op_##name : {                                                                     \
    V128 v = read_slot<V128>(fp, OPERAND(0));                                       \
    simd::set_lane<L>(v, OPERAND(3), static_cast<L>(read_slot<T>(fp, OPERAND(1)))); \
    write_slot<V128>(fp, OPERAND(2), v);                                            \
    pc += 6;                                                                        \
    NEXT();                                                                         \
  }
  KILN_SIMD_REPLACE_LANE_OPS(KILN_REPLACE_LANE_HANDLER)
#undef KILN_REPLACE_LANE_HANDLER

op_v128_const:
  std::memcpy(cell_at(fp, OPERAND(0)), pc + 3, 16);
  pc += 7;
  NEXT();
op_i8x16_shuffle : {
  uint8_t lanes[16];
  std::memcpy(lanes, pc + 5, 16);
  write_slot<V128>(
      fp, OPERAND(2),
      simd::shuffle(read_slot<V128>(fp, OPERAND(0)), read_slot<V128>(fp, OPERAND(1)), lanes));
  pc += 9;
  NEXT();
}
op_v128_bitselect:
  write_slot<V128>(fp, OPERAND(3),
                   simd::bitselect(read_slot<V128>(fp, OPERAND(0)), read_slot<V128>(fp, OPERAND(1)),
                                   read_slot<V128>(fp, OPERAND(2))));
  pc += 6;
  NEXT();

trap : {
  if (ExceptionObject* thrown = host_trap ? host_trap->exception : nullptr) {
    // Spec 4.4.x (throw_ref): the innermost try_table around the throw, or around the call it
    // came out of, whose catch clauses take the exception gets it; the frames inside are gone.
    // Frames of generated code and of the host between were unwound on the way here. (No
    // object with a destructor may be in scope here: NEXT() jumps out of this block.)
    const CompiledFunction* f = func;
    Instance* in = inst;
    uint64_t* f_fp = fp;
    uint32_t unit = static_cast<uint32_t>(pc - f->code.data());
    uint32_t count = stack.frame_count;
    for (;;) {
      if (const ExceptionHandler::Catch* c = catch_exception(*store, *f, *in, unit, thrown, f_fp)) {
        host_trap.reset();
        stack.frame_count = count;
        func = f;
        inst = in;
        fp = f_fp;
        pc = f->code.data() + c->target;
        trap_element = -1;
        RELOAD_MEMORY();
        NEXT();
      }
      if (count - 1 == base_frames) break;  // the entry's record: the exception leaves
      const CallFrame& record = stack.frames[--count];
      f = record.function;
      in = record.instance;
      f_fp = record.fp;
      unit = static_cast<uint32_t>(record.return_pc - f->code.data()) - 1;  // inside the call
    }
  }
  TrapPtr result;
  if (host_trap) {
    result = std::move(host_trap);
  } else {
    result = Trap::make_at_element(trap_code, trap_element);
  }
  add_backtrace(*result, func, inst, pc, stack, base_frames);
  stack.frame_count = base_frames;
  return result;
}
#undef NEXT
#undef OPERAND
#undef TRAP
#undef RELOAD_MEMORY
#undef USE_MEMORY
}

}  // namespace

const void* const* interpreter_handler_table() {
  static const void* const* table = [] {
    const void* const* t = nullptr;
    run(nullptr, nullptr, nullptr, &t);
    return t;
  }();
  return table;
}

bool Store::run_native(Instance& instance, const CompiledFunction& function, uint64_t* fp,
                       TrapPtr& trap) {
  CodeTier* tier = engine_.code_tier();
  if (!tier) return false;
  const NativeFunction* native = function.native.load(std::memory_order_acquire);
  if (!native) {
    const Module& module = *instance.module;
    native = module.native_function(*tier, engine_.code_tier_options(),
                                    function.function_index - module.imported_functions);
    if (!native) return false;
  }
  enter_native(instance, *native, native->entry, fp, trap);
  return true;
}

bool Store::run_native_from_loop(Instance& instance, const CompiledFunction& function,
                                 uint32_t loop_offset, uint64_t* fp, TrapPtr& trap) {
  CodeTier* tier = engine_.code_tier();
  if (!tier) return false;
  const Module& module = *instance.module;
  const NativeFunction* native =
      module.native_function(*tier, engine_.code_tier_options(),
                             function.function_index - module.imported_functions, true);
  const void* code = native ? native->loop_entry(loop_offset) : nullptr;
  if (!code) return false;
  enter_native(instance, *native, code, fp, trap);
  return true;
}

void Store::enter_native(Instance& instance, const NativeFunction& native, const void* code,
                         uint64_t* fp, TrapPtr& trap) {
  // A call out of generated code coming back in (through the runtime, the interpreter or the
  // host): this entry may make the depth the enclosing one has left, less the enclosing
  // entry's frames, 16 bytes of native stack each (vm_context.h). The enclosing entry's state
  // is restored when this one returns.
  const uintptr_t outer_entry_rsp = context_.entry_rsp, outer_jit_rsp = context_.jit_rsp;
  const uintptr_t outer_stack_limit = context_.stack_limit;
  const int64_t outer_depth_left = context_.call_depth_left;
  const int64_t outer_enclosing = context_.enclosing_native_frames;
  context_.enclosing_native_frames = outer_enclosing + native_frames_of_current_entry();
  context_.call_depth_left = static_cast<int64_t>(limits_.max_call_depth) -
                             static_cast<int64_t>(stack_.frame_count) -
                             context_.enclosing_native_frames;
  context_.stack_limit = native_stack_.limit();
  refresh_native_stack_limit();  // the entry stub raises both limits for the depth
  const uint32_t status = engine_.code_tier()->enter(&instance.vm, fp, native, code);
  context_.entry_rsp = outer_entry_rsp;
  context_.jit_rsp = outer_jit_rsp;
  context_.stack_limit = outer_stack_limit;
  context_.call_depth_left = outer_depth_left;
  context_.enclosing_native_frames = outer_enclosing;
  refresh_native_stack_limit();
  if (status) trap = std::move(context_.pending_trap);
}

TrapPtr Store::call_host_from_wasm(Instance* caller, FunctionInstance* function, uint64_t* fp) {
  const FuncType& type = *function->type;
  uint64_t* saved_top = stack_.top;
  uint64_t* top = fp + std::max(type.param_cells(), type.result_cells());
  if (top > stack_.cells_end) return Trap::make(TrapCode::kCallStackExhausted);
  if (engine_.config().consume_fuel && !consume_fuel(engine_.config().host_call_fuel)) {
    return Trap::make(TrapCode::kOutOfFuel);
  }
  // A host function that calls back into this store starts its frames above these cells.
  stack_.top = top;
  TrapPtr trap = call_host(*this, caller, function, fp);
  stack_.top = saved_top;
  return trap;
}

TrapPtr Store::call_from_native(Instance* caller, FunctionInstance* function, uint64_t* fp) {
  if (!function->code) return call_host_from_wasm(caller, function, fp);
  // Generated code called out through C++: the native stack is checked as at any entry.
  if (TrapPtr trap = check_entry()) return trap;
  TrapPtr trap;
  if (!run_native(*function->instance, *function->code, fp, trap)) trap = interpret(function, fp);
  return trap;
}

int64_t Store::native_frames_of_current_entry() const {
  return context_.entry_rsp ? static_cast<int64_t>((context_.entry_rsp - context_.jit_rsp) / 16)
                            : 0;
}

TrapPtr Store::interpret(FunctionInstance* function, uint64_t* fp) {
  // Called (through the runtime or the host) from generated code: its frames count against
  // the same call depth as the interpreter's.
  const uint32_t capacity = stack_.frame_capacity;
  const int64_t records = stack_.frame_records();
  const int64_t native_frames = context_.enclosing_native_frames + native_frames_of_current_entry();
  stack_.frame_capacity =
      static_cast<uint32_t>(std::clamp<int64_t>(records - native_frames, 0, records));
  TrapPtr trap = run(this, function, fp, nullptr);
  stack_.frame_capacity = capacity;
  return trap;
}

TrapPtr Store::invoke(FunctionInstance* function, uint64_t* cells) {
  const bool outermost = stack_.frame_count == 0;
  TrapPtr trap = enter(function, cells);
  // A trap is counted once, where it leaves wasm for the embedder; an exception's frames are
  // named there (most exceptions are caught, and their frames never shown).
  if (trap && outermost) {
    if (trap->exception) name_frames(*trap);
    note_trap(*trap);
  }
  return trap;
}

TrapPtr Store::enter(FunctionInstance* function, uint64_t* cells) {
  // DESIGN-NOTES section 4: every entry into wasm checks the native stack first, so deep
  // host -> wasm -> host re-entry (and a deadline callback calling its own store) traps.
  if (TrapPtr trap = check_entry()) return trap;
  if (!function->code) return call_host(*this, nullptr, function, cells);
  // The cell counts are the function's own (set with its frame layout), not recounted from
  // its type at every entry.
  const CompiledFunction& code = *function->code;
  uint64_t* fp = stack_.top;
  const uint32_t params = code.param_cells;
  if (fp + std::max(code.frame_cells, params) > stack_.cells_end) {
    return Trap::make(TrapCode::kCallStackExhausted);
  }
  std::copy_n(cells, params, fp);
  TrapPtr trap;
  if (!run_native(*function->instance, code, fp, trap)) trap = interpret(function, fp);
  if (!trap) std::copy_n(fp, code.result_cells, cells);
  return trap;
}

}  // namespace kiln
