#include "compiler/runtime_calls.h"

#include <algorithm>
#include <cstring>

#include "runtime/bulk_operations.h"
#include "runtime/interpreter_code.h"
#include "runtime/linear_memory.h"
#include "runtime/numeric.h"
#include "runtime/simd_ops.h"
#include "runtime/store.h"

namespace kiln::jit {

namespace {

Store& store_of(VmContext* vm) {
  return *vm->store->store;
}

// Hands `trap` to generated code: it becomes the pending trap, and the caller returns 1.
uint32_t pend(VmContext* vm, TrapPtr trap) {
  vm->store->pending_trap = std::move(trap);
  return 1;
}

uint32_t pend(VmContext* vm, TrapCode code) {
  return pend(vm, Trap::make(code));
}

// Cells hold values as the interpreter's frames do: narrower values zero-extended.
template <typename T>
T read_cell(const uint64_t* cell) {
  T v;
  std::memcpy(&v, cell, sizeof v);
  return v;
}
template <typename T>
void write_cell(uint64_t* cell, T v) {
  if constexpr (sizeof(T) >= sizeof(uint64_t)) {
    std::memcpy(cell, &v, sizeof v);
  } else {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    *cell = bits;
  }
}
template <typename T>
constexpr uint32_t cells_of() {
  return sizeof(T) > 8 ? 2 : 1;
}

// The address of an access of `bytes` at `address + offset`, or null. The memarg offset is
// the low half of `offset`; the high half names the memory (multi-memory: kMemoryIndexShift),
// 0 for memory 0.
uint8_t* effective_address(VmContext* vm, uint32_t address, uint64_t offset, uint64_t bytes) {
  const uint32_t memory = static_cast<uint32_t>(offset >> kMemoryIndexShift);
  const uint64_t ea = uint64_t{address} + static_cast<uint32_t>(offset);
  if (memory != 0) {
    const LinearMemory& m = *vm->instance->memories[memory]->memory;
    if (ea + bytes > m.size_bytes()) return nullptr;
    return m.base() + ea;
  }
  if (ea + bytes > vm->memory->size_bytes()) return nullptr;
  return vm->memory_base + ea;
}

// Out-of-line operators, generated from the tables of opcodes.h and simd_ops.h.
#define KILN_JIT_UNARY(name, opc, R, A, expr)                            \
  uint32_t ool_##name(VmContext*, uint64_t* first, uint64_t, uint64_t) { \
    A a = read_cell<A>(first);                                           \
    write_cell<R>(first, static_cast<R>(expr));                          \
    return 0;                                                            \
  }
#define KILN_JIT_BINARY(name, opc, R, A, expr)                           \
  uint32_t ool_##name(VmContext*, uint64_t* first, uint64_t, uint64_t) { \
    A a = read_cell<A>(first);                                           \
    A b = read_cell<A>(first + cells_of<A>());                           \
    write_cell<R>(first, static_cast<R>(expr));                          \
    return 0;                                                            \
  }
#define KILN_JIT_SHIFT(name, opc, R, A, B, expr)                         \
  uint32_t ool_##name(VmContext*, uint64_t* first, uint64_t, uint64_t) { \
    A a = read_cell<A>(first);                                           \
    B b = read_cell<B>(first + cells_of<A>());                           \
    write_cell<R>(first, static_cast<R>(expr));                          \
    return 0;                                                            \
  }
#define KILN_JIT_CHECKED_UNARY(name, opc, R, A, fn)                                         \
  uint32_t ool_##name(VmContext* vm, uint64_t* first, uint64_t, uint64_t) {                 \
    R r;                                                                                    \
    if (int t = fn(read_cell<A>(first), &r)) return pend(vm, static_cast<TrapCode>(t - 1)); \
    write_cell<R>(first, r);                                                                \
    return 0;                                                                               \
  }
#define KILN_JIT_CHECKED_BINARY(name, opc, R, A, fn)                        \
  uint32_t ool_##name(VmContext* vm, uint64_t* first, uint64_t, uint64_t) { \
    R r;                                                                    \
    if (int t = fn(read_cell<A>(first), read_cell<A>(first + 1), &r))       \
      return pend(vm, static_cast<TrapCode>(t - 1));                        \
    write_cell<R>(first, r);                                                \
    return 0;                                                               \
  }
#define KILN_JIT_LOAD(name, opc, T, M, align)                                                \
  uint32_t ool_##name(VmContext* vm, uint64_t* first, uint64_t offset, uint64_t) {           \
    const uint8_t* p = effective_address(vm, read_cell<uint32_t>(first), offset, sizeof(M)); \
    if (!p) return pend(vm, TrapCode::kMemoryOutOfBounds);                                   \
    M m;                                                                                     \
    std::memcpy(&m, p, sizeof m);                                                            \
    write_cell<T>(first, static_cast<T>(m));                                                 \
    return 0;                                                                                \
  }
#define KILN_JIT_STORE(name, opc, T, M, align)                                         \
  uint32_t ool_##name(VmContext* vm, uint64_t* first, uint64_t offset, uint64_t) {     \
    uint8_t* p = effective_address(vm, read_cell<uint32_t>(first), offset, sizeof(M)); \
    if (!p) return pend(vm, TrapCode::kMemoryOutOfBounds);                             \
    M m = static_cast<M>(read_cell<T>(first + 1));                                     \
    std::memcpy(p, &m, sizeof m);                                                      \
    return 0;                                                                          \
  }
#define KILN_JIT_SIMD_LOAD(name, opc, bytes, align, expr)                                \
  uint32_t ool_##name(VmContext* vm, uint64_t* first, uint64_t offset, uint64_t) {       \
    const uint8_t* p = effective_address(vm, read_cell<uint32_t>(first), offset, bytes); \
    if (!p) return pend(vm, TrapCode::kMemoryOutOfBounds);                               \
    write_cell<V128>(first, expr);                                                       \
    return 0;                                                                            \
  }
#define KILN_JIT_LOAD_LANE(name, opc, L, align)                                              \
  uint32_t ool_##name(VmContext* vm, uint64_t* first, uint64_t offset, uint64_t lane) {      \
    const uint8_t* p = effective_address(vm, read_cell<uint32_t>(first), offset, sizeof(L)); \
    if (!p) return pend(vm, TrapCode::kMemoryOutOfBounds);                                   \
    V128 v = read_cell<V128>(first + 1);                                                     \
    std::memcpy(v.bytes + lane * sizeof(L), p, sizeof(L));                                   \
    write_cell<V128>(first, v);                                                              \
    return 0;                                                                                \
  }
#define KILN_JIT_STORE_LANE(name, opc, L, align)                                        \
  uint32_t ool_##name(VmContext* vm, uint64_t* first, uint64_t offset, uint64_t lane) { \
    uint8_t* p = effective_address(vm, read_cell<uint32_t>(first), offset, sizeof(L));  \
    if (!p) return pend(vm, TrapCode::kMemoryOutOfBounds);                              \
    V128 v = read_cell<V128>(first + 1);                                                \
    std::memcpy(p, v.bytes + lane * sizeof(L), sizeof(L));                              \
    return 0;                                                                           \
  }
#define KILN_JIT_EXTRACT_LANE(name, opc, L, T)                                         \
  uint32_t ool_##name(VmContext*, uint64_t* first, uint64_t, uint64_t lane) {          \
    write_cell<T>(first, static_cast<T>(simd::lane<L>(read_cell<V128>(first), lane))); \
    return 0;                                                                          \
  }
#define KILN_JIT_REPLACE_LANE(name, opc, L, T)                                \
  uint32_t ool_##name(VmContext*, uint64_t* first, uint64_t, uint64_t lane) { \
    V128 v = read_cell<V128>(first);                                          \
    simd::set_lane<L>(v, lane, static_cast<L>(read_cell<T>(first + 2)));      \
    write_cell<V128>(first, v);                                               \
    return 0;                                                                 \
  }

KILN_UNARY_OPS(KILN_JIT_UNARY)
KILN_BINARY_OPS(KILN_JIT_BINARY)
KILN_CHECKED_UNARY_OPS(KILN_JIT_CHECKED_UNARY)
KILN_CHECKED_BINARY_OPS(KILN_JIT_CHECKED_BINARY)
KILN_LOAD_OPS(KILN_JIT_LOAD)
KILN_STORE_OPS(KILN_JIT_STORE)
KILN_SIMD_UNARY_OPS(KILN_JIT_UNARY)
KILN_SIMD_BINARY_OPS(KILN_JIT_BINARY)
KILN_SIMD_SHIFT_OPS(KILN_JIT_SHIFT)
KILN_SIMD_LOAD_OPS(KILN_JIT_SIMD_LOAD)
KILN_SIMD_LOAD_LANE_OPS(KILN_JIT_LOAD_LANE)
KILN_SIMD_STORE_LANE_OPS(KILN_JIT_STORE_LANE)
KILN_SIMD_EXTRACT_LANE_OPS(KILN_JIT_EXTRACT_LANE)
KILN_SIMD_REPLACE_LANE_OPS(KILN_JIT_REPLACE_LANE)

// Operators without a table row.
uint32_t ool_v128_store(VmContext* vm, uint64_t* first, uint64_t offset, uint64_t) {
  uint8_t* p = effective_address(vm, read_cell<uint32_t>(first), offset, 16);
  if (!p) return pend(vm, TrapCode::kMemoryOutOfBounds);
  std::memcpy(p, first + 1, 16);
  return 0;
}
uint32_t ool_i8x16_shuffle(VmContext*, uint64_t* first, uint64_t low, uint64_t high) {
  uint8_t lanes[16];
  std::memcpy(lanes, &low, 8);
  std::memcpy(lanes + 8, &high, 8);
  write_cell<V128>(first, simd::shuffle(read_cell<V128>(first), read_cell<V128>(first + 2), lanes));
  return 0;
}
uint32_t ool_v128_bitselect(VmContext*, uint64_t* first, uint64_t, uint64_t) {
  write_cell<V128>(first, simd::bitselect(read_cell<V128>(first), read_cell<V128>(first + 2),
                                          read_cell<V128>(first + 4)));
  return 0;
}
uint32_t ool_memory_init(VmContext* vm, uint64_t* first, uint64_t data, uint64_t) {
  Instance& inst = *vm->instance;
  if (!memory_init(vm->memory_base, vm->memory->size_bytes(), inst.data[data], first)) {
    return pend(vm, TrapCode::kMemoryOutOfBounds);
  }
  return 0;
}
uint32_t ool_data_drop(VmContext* vm, uint64_t*, uint64_t data, uint64_t) {
  vm->instance->data[data] = {};
  return 0;
}
uint32_t ool_memory_copy(VmContext* vm, uint64_t* first, uint64_t, uint64_t) {
  if (!memory_copy(vm->memory_base, vm->memory->size_bytes(), first)) {
    return pend(vm, TrapCode::kMemoryOutOfBounds);
  }
  return 0;
}
uint32_t ool_memory_fill(VmContext* vm, uint64_t* first, uint64_t, uint64_t) {
  if (!memory_fill(vm->memory_base, vm->memory->size_bytes(), first)) {
    return pend(vm, TrapCode::kMemoryOutOfBounds);
  }
  return 0;
}
uint32_t ool_table_init(VmContext* vm, uint64_t* first, uint64_t elem, uint64_t table) {
  Instance& inst = *vm->instance;
  if (!table_init(*inst.tables[table], inst.elements[elem], first)) {
    return pend(vm, TrapCode::kTableOutOfBounds);
  }
  return 0;
}
uint32_t ool_elem_drop(VmContext* vm, uint64_t*, uint64_t elem, uint64_t) {
  vm->instance->elements[elem] = {};
  return 0;
}
uint32_t ool_table_copy(VmContext* vm, uint64_t* first, uint64_t dst, uint64_t src) {
  Instance& inst = *vm->instance;
  if (!table_copy(*inst.tables[dst], *inst.tables[src], first)) {
    return pend(vm, TrapCode::kTableOutOfBounds);
  }
  return 0;
}
uint32_t ool_table_grow(VmContext* vm, uint64_t* first, uint64_t table, uint64_t) {
  table_grow(*vm->instance->tables[table], first);
  return 0;
}
uint32_t ool_table_size(VmContext* vm, uint64_t* first, uint64_t table, uint64_t) {
  write_cell<uint32_t>(first, static_cast<uint32_t>(vm->instance->tables[table]->elements.size()));
  return 0;
}
uint32_t ool_table_fill(VmContext* vm, uint64_t* first, uint64_t table, uint64_t) {
  if (!table_fill(*vm->instance->tables[table], first)) {
    return pend(vm, TrapCode::kTableOutOfBounds);
  }
  return 0;
}
uint32_t ool_table_get(VmContext* vm, uint64_t* first, uint64_t table, uint64_t) {
  const TableInstance& t = *vm->instance->tables[table];
  const uint32_t index = read_cell<uint32_t>(first);
  if (index >= t.elements.size()) return pend(vm, TrapCode::kTableOutOfBounds);
  *first = t.elements[index];
  return 0;
}
uint32_t ool_table_set(VmContext* vm, uint64_t* first, uint64_t table, uint64_t) {
  TableInstance& t = *vm->instance->tables[table];
  const uint32_t index = read_cell<uint32_t>(first);
  if (index >= t.elements.size()) return pend(vm, TrapCode::kTableOutOfBounds);
  t.elements[index] = first[1];
  return 0;
}

struct OutOfLineTable {
  OutOfLineOperator ops[kSimpleOpSlots] = {};
  constexpr OutOfLineTable() {
#define KILN_JIT_ENTRY(name, opc, ...) ops[simple_op_slot(opc)] = ool_##name;
    KILN_UNARY_OPS(KILN_JIT_ENTRY)
    KILN_BINARY_OPS(KILN_JIT_ENTRY)
    KILN_CHECKED_UNARY_OPS(KILN_JIT_ENTRY)
    KILN_CHECKED_BINARY_OPS(KILN_JIT_ENTRY)
    KILN_LOAD_OPS(KILN_JIT_ENTRY)
    KILN_STORE_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_UNARY_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_BINARY_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_SHIFT_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_LOAD_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_LOAD_LANE_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_STORE_LANE_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_EXTRACT_LANE_OPS(KILN_JIT_ENTRY)
    KILN_SIMD_REPLACE_LANE_OPS(KILN_JIT_ENTRY)
#undef KILN_JIT_ENTRY
    ops[simple_op_slot(kV128Store)] = ool_v128_store;
    ops[simple_op_slot(kI8x16Shuffle)] = ool_i8x16_shuffle;
    ops[simple_op_slot(kV128Bitselect)] = ool_v128_bitselect;
    ops[simple_op_slot(kMemoryInit)] = ool_memory_init;
    ops[simple_op_slot(kDataDrop)] = ool_data_drop;
    ops[simple_op_slot(kMemoryCopy)] = ool_memory_copy;
    ops[simple_op_slot(kMemoryFill)] = ool_memory_fill;
    ops[simple_op_slot(kTableInit)] = ool_table_init;
    ops[simple_op_slot(kElemDrop)] = ool_elem_drop;
    ops[simple_op_slot(kTableCopy)] = ool_table_copy;
    ops[simple_op_slot(kTableGrow)] = ool_table_grow;
    ops[simple_op_slot(kTableSize)] = ool_table_size;
    ops[simple_op_slot(kTableFill)] = ool_table_fill;
    ops[simple_op_slot(kTableGet)] = ool_table_get;
    ops[simple_op_slot(kTableSet)] = ool_table_set;
  }
};
constexpr OutOfLineTable kOutOfLine;

}  // namespace

OutOfLineOperator out_of_line_operator(uint32_t opcode) {
  return kOutOfLine.ops[simple_op_slot(opcode)];
}

extern "C" {

void kiln_jit_trap(VmContext* vm, uint32_t code, uint32_t function_index, uint32_t module_offset) {
  TrapPtr& trap = vm->store->pending_trap;
  if (code == kMemoryFault) {
    code = static_cast<uint32_t>(TrapCode::kMemoryOutOfBounds);
    module_offset = vm->store->fault_module_offset;
  }
  if (code != kPendingTrap || !trap) trap = Trap::make(static_cast<TrapCode>(code));
  if (function_index == kNoFrame) return;
  trap->add_frame(trace_frame(vm->instance, function_index, module_offset, !trap->exception));
}

uint32_t kiln_jit_throw(VmContext* vm, uint32_t tag, const uint64_t* payload) {
  ExceptionObject* exception = store_of(vm).make_exception(vm->instance->tags[tag], payload);
  if (!exception) return pend(vm, TrapCode::kOutOfMemory);
  return pend(vm, Trap::make_exception(exception));
}

uint32_t kiln_jit_throw_ref(VmContext* vm, const uint64_t* reference) {
  auto* exception = reinterpret_cast<ExceptionObject*>(*reference);
  if (!exception) return pend(vm, TrapCode::kNullExceptionReference);
  return pend(vm, Trap::make_exception(exception));
}

uint32_t kiln_jit_catch(VmContext* vm, const JitCatches* catches, uint64_t* frame) {
  const Trap* trap = vm->store->pending_trap.get();
  if (!trap || !trap->exception) return 0;
  ExceptionObject* exception = trap->exception;
  for (size_t k = 0; k < catches->catches.size(); ++k) {
    if (store_of(vm).take_exception(catches->catches[k], *vm->instance, exception, frame)) {
      vm->store->pending_trap.reset();
      return static_cast<uint32_t>(k + 1);
    }
  }
  return 0;
}

uint32_t kiln_jit_call_function(VmContext* vm, uint32_t function_index, uint64_t* fp) {
  Instance* instance = vm->instance;
  TrapPtr trap = store_of(vm).call_from_native(instance, instance->functions[function_index], fp);
  return trap ? pend(vm, std::move(trap)) : 0;
}

uint32_t kiln_jit_call_indirect(VmContext* vm, uint32_t table_index, uint32_t type_id,
                                uint64_t* fp_and_index) {
  // The element index is the cell above the arguments; the callee's frame starts at `fp`.
  Instance* instance = vm->instance;
  TableInstance& table = *instance->tables[table_index];
  const FuncType& type = store_of(vm).engine().types().get(type_id);
  uint64_t* fp = fp_and_index;
  const uint32_t index = read_cell<uint32_t>(fp + type.param_cells());
  if (index >= table.elements.size()) {
    return pend(vm, Trap::make_at_element(TrapCode::kUndefinedElement, index));
  }
  auto* callee = reinterpret_cast<FunctionInstance*>(table.elements[index]);
  if (!callee) return pend(vm, Trap::make_at_element(TrapCode::kUninitializedElement, index));
  if (callee->type_id != type_id) return pend(vm, TrapCode::kIndirectCallTypeMismatch);
  TrapPtr trap = store_of(vm).call_from_native(instance, callee, fp);
  // Once the callee has machine code (compiled by this call, say), later indirect calls of it
  // go there directly, through the table's cache.
  const void* entry =
      callee->code ? callee->code->native_entry.load(std::memory_order_acquire) : nullptr;
  if (entry) table.remember_entry(index, callee, entry);
  return trap ? pend(vm, std::move(trap)) : 0;
}

uint32_t kiln_jit_deadline_passed(VmContext* vm) {
  Store& store = store_of(vm);
  if (store.deadline_passed()) return 1;
  // Extended by the deadline callback, or an interruption left from before the deadline moved:
  // the checks pass again.
  store.refresh_native_stack_limit();
  return 0;
}

void kiln_jit_memory_grow(VmContext* vm, uint64_t* cell) {
  const int64_t old = vm->instance->memories[0]->grow(read_cell<uint32_t>(cell));
  write_cell<uint32_t>(cell, static_cast<uint32_t>(old));
}

}  // extern "C"

}  // namespace kiln::jit
