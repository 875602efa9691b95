// FunctionValidator's instruction loop, a template over its consumer. Included by the files
// that run the validator (function_validator.cpp for validation alone, interpreter_translator.cpp
// and the JIT's code_tier.cpp with their consumers): each instantiation calls its consumer
// directly, and validation alone calls nothing (DESIGN-NOTES section 1: one decoder for every
// consumer).
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "runtime/function_validator.h"
#include "runtime/module_decoder.h"
#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"

namespace kiln {
namespace validator_tables {

struct SimpleOpType {
  ValType result = ValType::kUnknown;
  ValType operand_a = ValType::kUnknown;
  ValType operand_b = ValType::kUnknown;
  uint8_t arity = 0;  // 0 = not a simple operator, 1 = unary, 2 = binary
  // What the operator does to the operand stack's height in cells (a v128 takes two).
  int8_t cell_delta = 0;
};

constexpr SimpleOpType simple_op_type(ValType result, ValType a, ValType b, uint8_t arity) {
  return {
      result, a, b, arity,
      static_cast<int8_t>(cell_count(result) - cell_count(a) - (arity == 2 ? cell_count(b) : 0))};
}

// Typing of the table-driven operators, indexed by simple_op_slot.
struct SimpleOpTable {
  SimpleOpType ops[kSimpleOpSlots];
  constexpr SimpleOpTable() : ops() {
#define KILN_UNARY_TYPE(name, opc, R, A, ...) \
  ops[simple_op_slot(opc)] = simple_op_type(KILN_VT(R), KILN_VT(A), ValType::kUnknown, 1);
#define KILN_BINARY_TYPE(name, opc, R, A, ...) \
  ops[simple_op_slot(opc)] = simple_op_type(KILN_VT(R), KILN_VT(A), KILN_VT(A), 2);
#define KILN_SHIFT_TYPE(name, opc, R, A, B, ...) \
  ops[simple_op_slot(opc)] = simple_op_type(KILN_VT(R), KILN_VT(A), KILN_VT(B), 2);
#define KILN_EXTRACT_TYPE(name, opc, L, T) \
  ops[simple_op_slot(opc)] = simple_op_type(KILN_VT(T), ValType::kV128, ValType::kUnknown, 1);
#define KILN_REPLACE_TYPE(name, opc, L, T) \
  ops[simple_op_slot(opc)] = simple_op_type(ValType::kV128, ValType::kV128, KILN_VT(T), 2);
    KILN_UNARY_OPS(KILN_UNARY_TYPE)
    KILN_CHECKED_UNARY_OPS(KILN_UNARY_TYPE)
    KILN_BINARY_OPS(KILN_BINARY_TYPE)
    KILN_CHECKED_BINARY_OPS(KILN_BINARY_TYPE)
    KILN_SIMD_UNARY_OPS(KILN_UNARY_TYPE)
    KILN_SIMD_BINARY_OPS(KILN_BINARY_TYPE)
    KILN_SIMD_SHIFT_OPS(KILN_SHIFT_TYPE)
    KILN_SIMD_EXTRACT_LANE_OPS(KILN_EXTRACT_TYPE)
    KILN_SIMD_REPLACE_LANE_OPS(KILN_REPLACE_TYPE)
#undef KILN_UNARY_TYPE
#undef KILN_BINARY_TYPE
#undef KILN_SHIFT_TYPE
#undef KILN_EXTRACT_TYPE
#undef KILN_REPLACE_TYPE
  }
};
inline constexpr SimpleOpTable kSimpleOps;
// step()'s fast path for binary operators leaves the highest height in cells alone.
static_assert([] {
  for (const SimpleOpType& op : kSimpleOps.ops) {
    if (op.arity == 2 && op.cell_delta > 0) return false;
  }
  return true;
}());

// Lane-indexed operators: how many lanes the immediate may name.
struct LaneCountTable {
  uint8_t lanes[kSimpleOpSlots];
  constexpr LaneCountTable() : lanes() {
#define KILN_LANES(name, opc, L, ...) lanes[simple_op_slot(opc)] = 16 / sizeof(L);
    KILN_SIMD_EXTRACT_LANE_OPS(KILN_LANES)
    KILN_SIMD_REPLACE_LANE_OPS(KILN_LANES)
    KILN_SIMD_LOAD_LANE_OPS(KILN_LANES)
    KILN_SIMD_STORE_LANE_OPS(KILN_LANES)
#undef KILN_LANES
  }
};
inline constexpr LaneCountTable kLaneCounts;

enum class MemoryOpKind : uint8_t { kNone, kLoad, kStore, kLoadLane, kStoreLane };
struct MemoryOpType {
  ValType type = ValType::kUnknown;  // the value loaded or stored
  uint8_t align = 0;
  MemoryOpKind kind = MemoryOpKind::kNone;
};
struct MemoryOpTable {
  MemoryOpType ops[kSimpleOpSlots];
  constexpr MemoryOpTable() : ops() {
#define KILN_LOAD_TYPE(name, opc, T, M, align) \
  ops[simple_op_slot(opc)] = {KILN_VT(T), align, MemoryOpKind::kLoad};
#define KILN_STORE_TYPE(name, opc, T, M, align) \
  ops[simple_op_slot(opc)] = {KILN_VT(T), align, MemoryOpKind::kStore};
#define KILN_SIMD_LOAD_TYPE(name, opc, bytes, align, ...) \
  ops[simple_op_slot(opc)] = {ValType::kV128, align, MemoryOpKind::kLoad};
#define KILN_LOAD_LANE_TYPE(name, opc, L, align) \
  ops[simple_op_slot(opc)] = {ValType::kV128, align, MemoryOpKind::kLoadLane};
#define KILN_STORE_LANE_TYPE(name, opc, L, align) \
  ops[simple_op_slot(opc)] = {ValType::kV128, align, MemoryOpKind::kStoreLane};
    KILN_LOAD_OPS(KILN_LOAD_TYPE)
    KILN_STORE_OPS(KILN_STORE_TYPE)
    KILN_SIMD_LOAD_OPS(KILN_SIMD_LOAD_TYPE)
    KILN_SIMD_LOAD_LANE_OPS(KILN_LOAD_LANE_TYPE)
    KILN_SIMD_STORE_LANE_OPS(KILN_STORE_LANE_TYPE)
    ops[simple_op_slot(kV128Store)] = {ValType::kV128, 4, MemoryOpKind::kStore};
#undef KILN_LOAD_TYPE
#undef KILN_STORE_TYPE
#undef KILN_SIMD_LOAD_TYPE
#undef KILN_LOAD_LANE_TYPE
#undef KILN_STORE_LANE_TYPE
  }
};
inline constexpr MemoryOpTable kMemoryOps;

// Which of step()'s paths an opcode takes, in one load: a table-driven binary or unary operator,
// a memory access, or anything else (step()'s switch).
enum class StepKind : uint8_t { kOther, kBinary, kUnary, kMemory };
struct StepKindTable {
  StepKind kinds[kSimpleOpSlots];
  constexpr StepKindTable() : kinds() {
    for (size_t slot = 0; slot < kSimpleOpSlots; ++slot) {
      kinds[slot] = kSimpleOps.ops[slot].arity == 2                    ? StepKind::kBinary
                    : kSimpleOps.ops[slot].arity == 1                  ? StepKind::kUnary
                    : kMemoryOps.ops[slot].kind != MemoryOpKind::kNone ? StepKind::kMemory
                                                                       : StepKind::kOther;
    }
  }
};
inline constexpr StepKindTable kStepKinds;

}  // namespace validator_tables

KILN_ALWAYS_INLINE void FunctionValidator::reset_instruction() {
  // What an instruction may set, from `index` to the end, copied from a cleared one: a few
  // wide moves (a fresh Instruction each step was zeroed with `rep stos`, a tenth of the
  // validator's time; field by field it was a store each). live, fuel_cost and starts_segment
  // are deliver's.
  static constexpr Instruction kCleared{};
  static_assert(std::is_standard_layout_v<Instruction> &&
                std::is_trivially_copyable_v<Instruction>);
  constexpr size_t kFrom = offsetof(Instruction, index);
  std::memcpy(reinterpret_cast<char*>(&instruction_) + kFrom,
              reinterpret_cast<const char*>(&kCleared) + kFrom, sizeof(Instruction) - kFrom);
}

// Fills in `ins.live`, its fuel cost and segment start (DESIGN-NOTES section 5: decided here
// once for every tier), then hands it to the consumer. `kind` is known at each call site, so
// no switch on the opcode decides it.
template <FunctionValidator::Delivery kind, class Consumer>
KILN_ALWAYS_INLINE void FunctionValidator::deliver(Instruction& ins, Consumer* consumer) {
  if constexpr (kDelivers<Consumer>) {
    if constexpr (kind == Delivery::kStructured) {
      // The frame just opened (for else: the if's, continued). try_table is free like block
      // (docs/BUDGETS.md): it only opens a frame, and its catches are taken by a throw that
      // has paid for itself.
      ins.live = !ctrls_.back().dead;
      ins.fuel_cost = ins.live && ins.opcode == kIf;  // `if` is the one structured with a cost
      ins.starts_segment = ins.live && ins.opcode != kBlock && ins.opcode != kTryTable;
    } else if constexpr (kind == Delivery::kEnd) {
      // The code after a block is a label's target; the function's own end starts nothing.
      ins.live = !closed_.dead;
      ins.fuel_cost = 0;
      ins.starts_segment = ins.live && !ctrls_.empty();
    } else {
      ins.live = ins.reachable && !ctrls_.back().dead;
      ins.fuel_cost = ins.live;
      // br_if's fall-through and the return from a call start a segment.
      ins.starts_segment = kind == Delivery::kSegmentEnd && ins.live;
    }
    consumer->on_instruction(ins, *this);
  }
}

// The SIMD operators that are not table-driven (spec 3.3.3).
template <class Consumer>
Result<void> FunctionValidator::step_simd(Instruction& ins, Consumer* consumer) {
  switch (ins.opcode) {
    case kV128Const:
    case kI8x16Shuffle: {
      KILN_SET(ins.bits, reader_.read_fixed_u64());
      KILN_SET(ins.bits_hi, reader_.read_fixed_u64());
      if (ins.opcode == kI8x16Shuffle) {
        for (int i = 0; i < 16; ++i) {
          uint8_t lane = static_cast<uint8_t>((i < 8 ? ins.bits : ins.bits_hi) >> (8 * (i % 8)));
          if (lane >= 32) return fail("invalid lane index " + std::to_string(lane));
        }
        KILN_TRY(pop(ValType::kV128));
        KILN_TRY(pop(ValType::kV128));
      }
      push(ValType::kV128);
      break;
    }
    case kV128Bitselect:
      KILN_TRY(pop(ValType::kV128));
      KILN_TRY(pop(ValType::kV128));
      KILN_TRY(pop(ValType::kV128));
      push(ValType::kV128);
      break;
    default:
      return BinaryReader::malformed_at("illegal opcode " + hex_offset(ins.opcode), ins.offset);
  }
  deliver(ins, consumer);
  return {};
}

template <class Consumer>
KILN_ALWAYS_INLINE Result<void> FunctionValidator::step(Consumer* consumer) {
  using namespace validator_tables;
  Instruction& ins = instruction_;
  if constexpr (kDelivers<Consumer>) {
    reset_instruction();
    ins.reachable = !ctrls_.back().unreachable;
    ins.cells_before = cells_;
  }
  // (Validation only: nothing reads what the instruction would tell a consumer, and every
  // field the checks below read is set before they read it; clearing it was a fifth of the
  // validator's time.)
  instruction_offset_ = ins.offset = reader_.offset();
  // read_instructions checked that a byte is left.
  const uint8_t byte = reader_.read_byte_unchecked();
  uint32_t op = byte;
  size_t slot = byte;  // simple_op_slot(op), without its arithmetic for one-byte opcodes
  if (byte == kPrefixFC || byte == kPrefixFD) [[unlikely]] {
    KILN_ASSIGN(uint32_t sub, reader_.read_u32());
    if (sub > (byte == kPrefixFC ? 17u : 0xffu)) {
      return BinaryReader::malformed_at(
          "illegal opcode " + hex_offset(byte) + " " + hex_offset(sub), ins.offset);
    }
    op = prefixed(byte, sub);
    slot = simple_op_slot(op);
    if (byte == kPrefixFD) {  // lane operators are all SIMD
      if (const uint8_t lanes = kLaneCounts.lanes[slot];
          lanes != 0 && kMemoryOps.ops[slot].kind == MemoryOpKind::kNone) {
        KILN_TRY(read_lane_index(lanes, ins));  // extract_lane / replace_lane
      }
    }
  }
  ins.opcode = op;

  // Table-driven operators first.
  const StepKind step_kind = kStepKinds.kinds[slot];
  if (step_kind == StepKind::kBinary) {
    const SimpleOpType& simple = kSimpleOps.ops[slot];
    // Both operands in place above the frame (the common case): the result replaces them, and
    // the height in cells moves by the table's delta (a binary operator never raises it).
    const size_t size = vals_.size();
    if (size >= frame_height_ + 2 && vals_[size - 1] == simple.operand_b &&
        vals_[size - 2] == simple.operand_a) [[likely]] {
      vals_[size - 2] = simple.result;
      vals_.pop_back();
      cells_ += simple.cell_delta;
    } else {
      KILN_TRY(pop(simple.operand_b));
      KILN_TRY(pop(simple.operand_a));
      push(simple.result);
    }
    ins.operand_count = 2;
    ins.operands[0] = simple.operand_a;
    ins.operands[1] = simple.operand_b;
    ins.result = simple.result;
    deliver(ins, consumer);
    return {};
  }
  if (step_kind == StepKind::kUnary) {
    const SimpleOpType& simple = kSimpleOps.ops[slot];
    const size_t size = vals_.size();
    if (size > frame_height_ && vals_[size - 1] == simple.operand_a) [[likely]] {
      vals_[size - 1] = simple.result;
      cells_ += simple.cell_delta;
      if (cells_ > max_cells_) max_cells_ = cells_;  // a splat widens its operand
    } else {
      KILN_TRY(pop(simple.operand_a));
      push(simple.result);
    }
    ins.operand_count = 1;
    ins.operands[0] = simple.operand_a;
    ins.result = simple.result;
    deliver(ins, consumer);
    return {};
  }
  if (step_kind == StepKind::kMemory) {
    const MemoryOpType& mem = kMemoryOps.ops[slot];
    KILN_TRY(read_memarg(mem.align, ins));
    ins.type = mem.type;
    ins.operands[0] = ValType::kI32;
    switch (mem.kind) {
      case MemoryOpKind::kLoad:
        KILN_TRY(pop(ValType::kI32));
        push(mem.type);
        ins.operand_count = 1;
        ins.result = mem.type;
        break;
      case MemoryOpKind::kStore:
        KILN_TRY(pop(mem.type));
        KILN_TRY(pop(ValType::kI32));
        ins.operand_count = 2;
        ins.operands[1] = mem.type;
        break;
      case MemoryOpKind::kLoadLane:
      case MemoryOpKind::kStoreLane:
        KILN_TRY(read_lane_index(kLaneCounts.lanes[slot], ins));
        KILN_TRY(pop(ValType::kV128));
        KILN_TRY(pop(ValType::kI32));
        if (mem.kind == MemoryOpKind::kLoadLane) push(ValType::kV128);
        ins.operand_count = 2;
        ins.operands[1] = ValType::kV128;
        if (mem.kind == MemoryOpKind::kLoadLane) ins.result = ValType::kV128;
        break;
      case MemoryOpKind::kNone:
        break;
    }
    deliver(ins, consumer);
    return {};
  }
  if (byte == kPrefixFD) [[unlikely]]
    return step_simd(ins, consumer);

  switch (op) {
    case kUnreachable:
      deliver(ins, consumer);
      mark_unreachable();
      return {};
    case kNop:
      return {};
    case kBlock:
    case kLoop:
    case kIf: {
      std::span<const ValType> params, results;
      KILN_TRY(read_block_type(params, results));
      if (op == kIf) KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop_all(params));
      const ControlFrame& outer = ctrls_.back();
      push_ctrl(op, params, results, outer.dead || outer.unreachable);
      deliver<Delivery::kStructured>(ins, consumer);
      return {};
    }
    case kTryTable: {
      std::span<const ValType> params, results;
      KILN_TRY(read_block_type(params, results));
      KILN_TRY(read_catch_clauses());
      KILN_TRY(pop_all(params));
      const ControlFrame& outer = ctrls_.back();
      push_ctrl(op, params, results, outer.dead || outer.unreachable);
      ins.catches = &catches_;
      deliver<Delivery::kStructured>(ins, consumer);
      return {};
    }
    case kThrow: {
      KILN_SET(ins.index, reader_.read_u32());
      KILN_TRY(require_tag(ins.index));
      KILN_TRY(pop_all(module_->tag_type(ins.index).params));
      deliver(ins, consumer);
      mark_unreachable();
      return {};
    }
    case kThrowRef:
      KILN_TRY(pop(ValType::kExnRef));
      deliver(ins, consumer);
      mark_unreachable();
      return {};
    case kElse: {
      if (ctrls_.back().opcode != kIf) return fail("else without matching if");
      KILN_TRY(pop_ctrl());
      push_ctrl(kElse, closed_.params, closed_.results, closed_.dead);
      ins.closed = &closed_;
      deliver<Delivery::kStructured>(ins, consumer);
      return {};
    }
    case kEnd: {
      KILN_TRY(pop_ctrl());
      if (closed_.opcode == kIf && !std::ranges::equal(closed_.params, closed_.results)) {
        return fail("type mismatch: if without else must not change the stack's types");
      }
      ins.closed = &closed_;
      if (!ctrls_.empty()) push_all(closed_.results);
      deliver<Delivery::kEnd>(ins, consumer);
      return {};
    }
    case kBr: {
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= ctrls_.size()) return fail("unknown label");
      KILN_TRY(pop_all(control(ins.index).label_types()));
      deliver(ins, consumer);
      mark_unreachable();
      return {};
    }
    case kBrIf: {
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= ctrls_.size()) return fail("unknown label");
      KILN_TRY(pop(ValType::kI32));
      const auto types = control(ins.index).label_types();
      KILN_TRY(pop_all(types));
      push_all(types);
      deliver<Delivery::kSegmentEnd>(ins, consumer);
      return {};
    }
    case kBrTable: {
      KILN_ASSIGN(uint32_t count, reader_.read_u32());
      if (count > ModuleLimits::kMaxBrTableSize || count > reader_.remaining()) {
        return BinaryReader::malformed_at("unexpected end", reader_.offset());
      }
      br_table_.clear();
      for (uint32_t i = 0; i <= count; ++i) {
        KILN_ASSIGN(uint32_t depth, reader_.read_u32());
        if (depth >= ctrls_.size()) return fail("unknown label");
        br_table_.push_back(depth);
      }
      KILN_TRY(pop(ValType::kI32));
      const uint32_t default_depth = br_table_.back();
      const size_t arity = control(default_depth).label_types().size();
      for (uint32_t depth : br_table_) {
        const auto types = control(depth).label_types();
        if (types.size() != arity) return fail("type mismatch: br_table targets differ in arity");
        // Check each target against the stack without consuming it (spec 3.3.8.8).
        KILN_TRY(check_top(types));
      }
      KILN_TRY(pop_all(control(default_depth).label_types()));
      ins.br_table = &br_table_;
      deliver(ins, consumer);
      mark_unreachable();
      return {};
    }
    case kReturn:
      KILN_TRY(pop_all(type_->results));
      deliver(ins, consumer);
      mark_unreachable();
      return {};
    case kCall: {
      note_call();
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= module_->functions.size())
        return fail("unknown function " + std::to_string(ins.index));
      const FuncType& callee = module_->function_type(ins.index);
      KILN_TRY(pop_all(callee.params));
      push_all(callee.results);
      deliver<Delivery::kSegmentEnd>(ins, consumer);
      return {};
    }
    case kCallIndirect: {
      note_call();
      KILN_SET(ins.index, reader_.read_u32());
      KILN_SET(ins.index2, reader_.read_u32());
      KILN_TRY(require_table(ins.index2));
      if (ins.index >= module_->types.size())
        return fail("unknown type " + std::to_string(ins.index));
      if (module_->tables[ins.index2].element != ValType::kFuncRef) {
        return fail("type mismatch: call_indirect needs a funcref table");
      }
      KILN_TRY(pop(ValType::kI32));
      const FuncType& callee = module_->types[ins.index];
      KILN_TRY(pop_all(callee.params));
      push_all(callee.results);
      deliver<Delivery::kSegmentEnd>(ins, consumer);
      return {};
    }
    case kDrop: {
      KILN_SET(ins.type, pop());
      deliver(ins, consumer);
      return {};
    }
    case kSelect: {
      KILN_TRY(pop(ValType::kI32));
      KILN_ASSIGN(ValType t1, pop());
      KILN_ASSIGN(ValType t2, pop());
      if (is_reference(t1) || is_reference(t2))
        return fail("type mismatch: select without a type needs numeric operands");
      if (t1 != t2 && t1 != ValType::kUnknown && t2 != ValType::kUnknown)
        return fail("type mismatch: select operands differ");
      ins.type = t1 == ValType::kUnknown ? t2 : t1;
      push(ins.type);
      deliver(ins, consumer);
      return {};
    }
    case kSelectTyped: {
      KILN_ASSIGN(uint32_t count, reader_.read_u32());
      if (count != 1) return fail("invalid result arity");
      KILN_SET(ins.type, read_value_type(reader_));
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ins.type));
      KILN_TRY(pop(ins.type));
      push(ins.type);
      deliver(ins, consumer);
      return {};
    }
    case kLocalGet:
    case kLocalSet:
    case kLocalTee: {
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= local_types_.size())
        return fail("unknown local " + std::to_string(ins.index));
      ins.type = local_types_[ins.index];
      if (loop_depth_) {
        if (local_weights_.empty()) local_weights_.assign(local_types_.size(), 0);
        // Weights are multiples of 16 (and cannot overflow 64 bits: 16^7 per use): bit 0 is
        // free for kLocalWritten, a local.set's or local.tee's.
        uint64_t& weight = local_weights_[ins.index];
        if (weight == 0) loop_used_locals_.push_back(ins.index);
        weight = (weight + loop_use_weight()) | (op != kLocalGet ? kLocalWritten : 0);
      }
      if (op != kLocalGet) KILN_TRY(pop(ins.type));
      if (op != kLocalSet) push(ins.type);
      deliver(ins, consumer);
      return {};
    }
    case kGlobalGet:
    case kGlobalSet: {
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= module_->globals.size())
        return fail("unknown global " + std::to_string(ins.index));
      const GlobalType& g = module_->globals[ins.index].type;
      ins.type = g.type;
      if (op == kGlobalSet) {
        if (!g.mutable_) return fail("global is immutable");
        KILN_TRY(pop(g.type));
      } else {
        push(g.type);
      }
      deliver(ins, consumer);
      return {};
    }
    case kTableGet:
    case kTableSet: {
      KILN_SET(ins.index, reader_.read_u32());
      KILN_TRY(require_table(ins.index));
      ins.type = module_->tables[ins.index].element;
      if (op == kTableSet) KILN_TRY(pop(ins.type));
      KILN_TRY(pop(ValType::kI32));
      if (op == kTableGet) push(ins.type);
      deliver(ins, consumer);
      return {};
    }
    case kMemorySize:
    case kMemoryGrow: {
      KILN_SET(ins.memory_index, read_memory_index());
      KILN_TRY(require_memory(ins.memory_index));
      if (op == kMemoryGrow) KILN_TRY(pop(ValType::kI32));
      push(ValType::kI32);
      deliver(ins, consumer);
      return {};
    }
    case kI32Const: {
      KILN_ASSIGN(int32_t v, reader_.read_s32());
      ins.bits = static_cast<uint32_t>(v);
      ins.type = ValType::kI32;
      push(ValType::kI32);
      deliver(ins, consumer);
      return {};
    }
    case kI64Const: {
      KILN_ASSIGN(int64_t v, reader_.read_s64());
      ins.bits = static_cast<uint64_t>(v);
      ins.type = ValType::kI64;
      push(ValType::kI64);
      deliver(ins, consumer);
      return {};
    }
    case kF32Const: {
      KILN_SET(ins.bits, reader_.read_fixed_u32());
      ins.type = ValType::kF32;
      push(ValType::kF32);
      deliver(ins, consumer);
      return {};
    }
    case kF64Const: {
      KILN_SET(ins.bits, reader_.read_fixed_u64());
      ins.type = ValType::kF64;
      push(ValType::kF64);
      deliver(ins, consumer);
      return {};
    }
    case kRefNull: {
      KILN_SET(ins.type, read_reference_type(reader_));
      push(ins.type);
      deliver(ins, consumer);
      return {};
    }
    case kRefIsNull: {
      KILN_ASSIGN(ValType t, pop());
      if (!is_reference(t) && t != ValType::kUnknown)
        return fail("type mismatch: ref.is_null needs a reference");
      push(ValType::kI32);
      deliver(ins, consumer);
      return {};
    }
    case kRefFunc: {
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= module_->functions.size())
        return fail("unknown function " + std::to_string(ins.index));
      if (!module_->declared_function_refs[ins.index]) return fail("undeclared function reference");
      push(ValType::kFuncRef);
      deliver(ins, consumer);
      return {};
    }
    case kMemoryInit: {
      KILN_SET(ins.index, reader_.read_u32());
      KILN_SET(ins.memory_index, read_memory_index());
      KILN_TRY(require_memory(ins.memory_index));
      KILN_TRY(require_data(ins.index));
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      deliver(ins, consumer);
      return {};
    }
    case kDataDrop: {
      KILN_SET(ins.index, reader_.read_u32());
      KILN_TRY(require_data(ins.index));
      deliver(ins, consumer);
      return {};
    }
    case kMemoryCopy:
    case kMemoryFill: {
      KILN_SET(ins.memory_index, read_memory_index());  // memory.copy: the destination
      KILN_TRY(require_memory(ins.memory_index));
      if (op == kMemoryCopy) {
        KILN_SET(ins.index2, read_memory_index());  // the source
        KILN_TRY(require_memory(ins.index2));
      }
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      deliver(ins, consumer);
      return {};
    }
    case kTableInit: {
      KILN_SET(ins.index, reader_.read_u32());   // elemidx
      KILN_SET(ins.index2, reader_.read_u32());  // tableidx
      KILN_TRY(require_table(ins.index2));
      KILN_TRY(require_elem(ins.index));
      if (module_->elements[ins.index].type != module_->tables[ins.index2].element) {
        return fail("type mismatch: element segment and table types differ");
      }
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      deliver(ins, consumer);
      return {};
    }
    case kElemDrop: {
      KILN_SET(ins.index, reader_.read_u32());
      KILN_TRY(require_elem(ins.index));
      deliver(ins, consumer);
      return {};
    }
    case kTableCopy: {
      KILN_SET(ins.index, reader_.read_u32());   // destination
      KILN_SET(ins.index2, reader_.read_u32());  // source
      KILN_TRY(require_table(ins.index));
      KILN_TRY(require_table(ins.index2));
      if (module_->tables[ins.index].element != module_->tables[ins.index2].element) {
        return fail("type mismatch: tables of different element types");
      }
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      KILN_TRY(pop(ValType::kI32));
      deliver(ins, consumer);
      return {};
    }
    case kTableGrow:
    case kTableSize:
    case kTableFill: {
      KILN_SET(ins.index, reader_.read_u32());
      KILN_TRY(require_table(ins.index));
      ValType element = module_->tables[ins.index].element;
      if (op == kTableGrow) {
        KILN_TRY(pop(ValType::kI32));
        KILN_TRY(pop(element));
        push(ValType::kI32);
      } else if (op == kTableSize) {
        push(ValType::kI32);
      } else {
        KILN_TRY(pop(ValType::kI32));
        KILN_TRY(pop(element));
        KILN_TRY(pop(ValType::kI32));
      }
      deliver(ins, consumer);
      return {};
    }
    default:
      return BinaryReader::malformed_at("illegal opcode " + hex_offset(op), ins.offset);
  }
}

template <class Consumer>
Result<void> FunctionValidator::read_instructions(Consumer* consumer) {
  while (!ctrls_.empty()) {
    if (reader_.at_end()) [[unlikely]]
      return fail_at("unexpected end of section or function", reader_.offset());
    KILN_TRY(step(consumer));
  }
  return {};
}

template <FunctionBodyConsumer Consumer>
Result<void> FunctionValidator::run(Consumer& consumer) {
  push_ctrl(kEnd, {}, type_->results, false);
  consumer.begin_function(*this);
  KILN_TRY(read_instructions(&consumer));
  KILN_TRY(check_body_ends());
  consumer.end_function(*this);
  return {};
}

}  // namespace kiln
