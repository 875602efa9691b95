#include "runtime/function_validator.h"

#include <algorithm>
#include <array>

#include "runtime/module_decoder.h"
#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"

namespace kiln {
namespace {

struct SimpleOpType {
  ValType result = ValType::kUnknown;
  ValType operand_a = ValType::kUnknown;
  ValType operand_b = ValType::kUnknown;
  uint8_t arity = 0;  // 0 = not a simple operator, 1 = unary, 2 = binary
};

// Typing of the table-driven operators, indexed by simple_op_slot.
struct SimpleOpTable {
  SimpleOpType ops[kSimpleOpSlots];
  constexpr SimpleOpTable() : ops() {
#define KILN_UNARY_TYPE(name, opc, R, A, ...) \
  ops[simple_op_slot(opc)] = {KILN_VT(R), KILN_VT(A), ValType::kUnknown, 1};
#define KILN_BINARY_TYPE(name, opc, R, A, ...) \
  ops[simple_op_slot(opc)] = {KILN_VT(R), KILN_VT(A), KILN_VT(A), 2};
#define KILN_SHIFT_TYPE(name, opc, R, A, B, ...) \
  ops[simple_op_slot(opc)] = {KILN_VT(R), KILN_VT(A), KILN_VT(B), 2};
#define KILN_EXTRACT_TYPE(name, opc, L, T) \
  ops[simple_op_slot(opc)] = {KILN_VT(T), ValType::kV128, ValType::kUnknown, 1};
#define KILN_REPLACE_TYPE(name, opc, L, T) \
  ops[simple_op_slot(opc)] = {ValType::kV128, ValType::kV128, KILN_VT(T), 2};
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
constexpr SimpleOpTable kSimpleOps;

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
constexpr LaneCountTable kLaneCounts;

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
constexpr MemoryOpTable kMemoryOps;

// One-value block types (spec 5.4.1: a value type) as spans of this table, so that control
// frames own no storage.
constexpr std::array<ValType, 256> kSingleValueTypes = [] {
  std::array<ValType, 256> types{};
  for (size_t i = 0; i < types.size(); ++i) types[i] = static_cast<ValType>(i);
  return types;
}();

}  // namespace

FunctionValidator::FunctionValidator(const Module& module, uint32_t function_index)
    : module_(module),
      function_index_(function_index),
      type_(module.function_type(function_index)),
      body_(module.bodies[function_index - module.imported_functions]),
      reader_(body_.code, body_.code_offset) {
  // Sized once: a validator is made for every function validated, translated or compiled.
  size_t locals = type_.params.size();
  for (const LocalDecl& run : body_.locals) locals += run.count;
  local_types_.reserve(locals);
  local_types_.assign(type_.params.begin(), type_.params.end());
  for (const LocalDecl& run : body_.locals)
    local_types_.insert(local_types_.end(), run.count, run.type);
  ctrls_.reserve(16);
  local_cells_.reserve(local_types_.size());
  for (ValType t : local_types_) {
    local_cells_.push_back(total_local_cells_);
    total_local_cells_ += cell_count(t);
  }
}

Error FunctionValidator::fail_at(const std::string& message, size_t offset) const {
  return Error{ErrorKind::kInvalid, message + " (in function " + std::to_string(function_index_) +
                                        ", at byte offset " + hex_offset(offset) + ")"};
}
Error FunctionValidator::fail(const std::string& message) const {
  return fail_at(message, instruction_offset_);
}

Result<ValType> FunctionValidator::pop() {
  const ControlFrame& frame = ctrls_.back();
  if (vals_.size() == frame.height) {
    if (frame.unreachable) return ValType::kUnknown;
    return fail("type mismatch: operand stack is empty");
  }
  ValType t = vals_.back();
  vals_.pop_back();
  cells_ -= cell_count(t);
  return t;
}

Result<void> FunctionValidator::match(ValType actual, ValType expected) const {
  if (actual != expected && actual != ValType::kUnknown && expected != ValType::kUnknown) {
    return fail(std::string("type mismatch: expected ") + valtype_name(expected) + ", found " +
                valtype_name(actual));
  }
  return {};
}

Result<ValType> FunctionValidator::pop_checked(ValType expected) {
  KILN_ASSIGN(ValType actual, pop());
  KILN_TRY(match(actual, expected));
  return actual == ValType::kUnknown ? expected : actual;
}

Result<void> FunctionValidator::pop_all(std::span<const ValType> types) {
  for (size_t i = types.size(); i-- > 0;) KILN_TRY(pop(types[i]));
  return {};
}

Result<void> FunctionValidator::check_top(std::span<const ValType> types) {
  const ControlFrame& frame = ctrls_.back();
  size_t position = vals_.size();
  for (size_t i = types.size(); i-- > 0;) {
    if (position == frame.height) {
      // Below the frame's base only an unreachable frame's bottom values remain (spec 3.3.8.8).
      if (frame.unreachable) return {};
      return fail("type mismatch: operand stack is empty");
    }
    KILN_TRY(match(vals_[--position], types[i]));
  }
  return {};
}

void FunctionValidator::push_all(std::span<const ValType> types) {
  for (ValType t : types) push(t);
}

void FunctionValidator::push_ctrl(uint32_t opcode, std::span<const ValType> params,
                                  std::span<const ValType> results, bool dead) {
  ControlFrame& frame = ctrls_.emplace_back();
  frame.opcode = opcode;
  frame.dead = dead;
  frame.height = static_cast<uint32_t>(vals_.size());
  frame.height_cells = cells_;
  frame.params = params;
  frame.results = results;
  loop_depth_ += opcode == kLoop;
  has_loops_ = has_loops_ || opcode == kLoop;
  push_all(params);
}

std::vector<uint32_t> FunctionValidator::hot_locals(size_t count) const {
  std::vector<uint32_t> hot;
  for (uint32_t i = 0; i < local_weights_.size(); ++i) {
    if (local_weights_[i]) hot.push_back(i);
  }
  std::stable_sort(hot.begin(), hot.end(),
                   [&](uint32_t a, uint32_t b) { return local_weights_[a] > local_weights_[b]; });
  if (hot.size() > count) hot.resize(count);
  return hot;
}

Result<void> FunctionValidator::pop_ctrl() {
  if (ctrls_.empty()) return fail("unexpected end");
  KILN_TRY(pop_all(ctrls_.back().results));
  if (vals_.size() != ctrls_.back().height)
    return fail("type mismatch: values remain on the stack at end of block");
  closed_ = ctrls_.back();
  ctrls_.pop_back();
  loop_depth_ -= closed_.opcode == kLoop;
  return {};
}

void FunctionValidator::mark_unreachable() {
  ControlFrame& frame = ctrls_.back();
  vals_.truncate(frame.height);
  cells_ = frame.height_cells;
  frame.unreachable = true;
}

Result<void> FunctionValidator::read_block_type(std::span<const ValType>& params,
                                                std::span<const ValType>& results) {
  size_t at = reader_.offset();
  KILN_ASSIGN(int64_t bt, reader_.read_s33());
  if (bt == -64) return {};  // 0x40: empty
  if (bt < 0) {
    auto t = valtype_from_byte(static_cast<uint8_t>(bt & 0x7f));
    if (!t || bt < -64) return BinaryReader::malformed_at("malformed value type", at);
    results = std::span<const ValType>(&kSingleValueTypes[static_cast<uint8_t>(*t)], 1);
    return {};
  }
  if (static_cast<uint64_t>(bt) >= module_.types.size()) {
    return fail("unknown type " + std::to_string(bt));
  }
  params = module_.types[bt].params;
  results = module_.types[bt].results;
  return {};
}

Result<uint32_t> FunctionValidator::read_memarg(uint32_t natural_alignment_log2, Instruction& ins) {
  const size_t align_at = reader_.offset();
  KILN_ASSIGN(uint32_t align, reader_.read_u32());
  // Multi-memory (Wasm 3.0, spec 5.4.7 memarg): bit 6 says a memory index follows the flags.
  // (Set either way: without a consumer, step() does not clear the instruction.)
  ins.memory_index = 0;
  if (module_.multi_memory && align >= 64 && align < 128) {
    align -= 64;
    KILN_SET(ins.memory_index, reader_.read_u32());
  }
  // An alignment of 2^32 or more cannot be expressed at all: a binary-format error, not a
  // validation one.
  if (align >= 32) return BinaryReader::malformed_at("malformed memop flags", align_at);
  KILN_SET(ins.memory_offset, reader_.read_u32());
  KILN_TRY(require_memory(ins.memory_index));
  if (align > natural_alignment_log2) return fail("alignment must not be larger than natural");
  return align;
}

Result<void> FunctionValidator::read_lane_index(uint32_t lanes, Instruction& ins) {
  size_t at = reader_.offset();
  KILN_ASSIGN(uint8_t lane, reader_.read_byte());
  if (lane >= lanes) return fail_at("invalid lane index " + std::to_string(lane), at);
  ins.index = lane;
  return {};
}

// The SIMD operators that are not table-driven (spec 3.3.3).
Result<void> FunctionValidator::step_simd(Instruction& ins, FunctionBodyConsumer* consumer) {
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

void FunctionValidator::deliver_to(Instruction& ins, FunctionBodyConsumer* consumer) {
  switch (ins.opcode) {
    case kBlock:
    case kLoop:
    case kIf:
    case kElse:
    case kTryTable:
      // The frame just opened (for else: the if's, continued). try_table is free like block
      // (docs/BUDGETS.md): it only opens a frame, and its catches are taken by a throw that
      // has paid for itself.
      ins.live = !ctrls_.back().dead;
      ins.fuel_cost = ins.live && ins.opcode == kIf;  // `if` is the one structured with a cost
      ins.starts_segment = ins.live && ins.opcode != kBlock && ins.opcode != kTryTable;
      break;
    case kEnd:
      // The code after a block is a label's target; the function's own end starts nothing.
      ins.live = !closed_.dead;
      ins.starts_segment = ins.live && !ctrls_.empty();
      break;
    default:
      ins.live = ins.reachable && !ctrls_.back().dead;
      ins.fuel_cost = ins.live;
      ins.starts_segment =
          ins.live && (ins.opcode == kBrIf || ins.opcode == kCall || ins.opcode == kCallIndirect);
  }
  consumer->on_instruction(ins, *this);
}

Result<void> FunctionValidator::require_memory(uint32_t index) {
  if (index >= module_.memories.size()) return fail("unknown memory " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_table(uint32_t index) {
  if (index >= module_.tables.size()) return fail("unknown table " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_data(uint32_t index) {
  if (!module_.data_count) {
    // Without data segments there is nothing to name; with some, the binary format requires
    // the data count section before code that uses them (spec 5.5.13).
    if (module_.data.empty()) return fail("unknown data segment " + std::to_string(index));
    return BinaryReader::malformed_at("data count section required", instruction_offset_);
  }
  if (index >= *module_.data_count) return fail("unknown data segment " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_elem(uint32_t index) {
  if (index >= module_.elements.size())
    return fail("unknown elem segment " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_tag(uint32_t index) {
  if (index >= module_.tags.size()) return fail("unknown tag " + std::to_string(index));
  return {};
}

// try_table's catch clauses (Wasm 3.0, spec 3.3.8.x "catch"): each one's values (the tag's
// parameters, then the exception's reference for the _ref forms) must be what its label takes.
// The labels are the try_table's context's: its own frame is not open yet.
Result<void> FunctionValidator::read_catch_clauses() {
  KILN_ASSIGN(uint32_t count, reader_.read_u32());
  if (count > reader_.remaining())
    return BinaryReader::malformed_at("unexpected end", reader_.offset());
  catches_.clear();
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = reader_.offset();
    KILN_ASSIGN(uint8_t kind, reader_.read_byte());
    if (kind > CatchClause::kCatchAllRef)
      return BinaryReader::malformed_at("malformed catch clause", at);
    CatchClause clause;
    clause.kind = static_cast<CatchClause::Kind>(kind);
    std::vector<ValType> values;
    if (!clause.catches_all()) {
      KILN_SET(clause.tag, reader_.read_u32());
      KILN_TRY(require_tag(clause.tag));
      values = module_.tag_type(clause.tag).params;
    }
    if (clause.passes_reference()) values.push_back(ValType::kExnRef);
    KILN_SET(clause.label, reader_.read_u32());
    if (clause.label >= ctrls_.size()) return fail("unknown label");
    if (!std::ranges::equal(control(clause.label).label_types(), values)) {
      return fail_at("type mismatch: catch clause " + std::to_string(i) +
                         " passes values its label does not take",
                     at);
    }
    catches_.push_back(clause);
  }
  return {};
}

Result<uint32_t> FunctionValidator::read_memory_index() {
  if (module_.multi_memory) return reader_.read_u32();
  KILN_TRY(read_zero_byte());
  return 0u;
}

Result<void> FunctionValidator::read_zero_byte() {
  size_t at = reader_.offset();
  KILN_ASSIGN(uint8_t b, reader_.read_byte());
  if (b != 0) return BinaryReader::malformed_at("zero byte expected", at);
  return {};
}

void FunctionValidator::reset_instruction() {
  // Field by field: a fresh Instruction each step was zeroed with `rep stos`, a tenth of the
  // validator's time.
  Instruction& ins = instruction_;
  ins.live = true;
  ins.fuel_cost = 0;
  ins.starts_segment = false;
  ins.index = 0;
  ins.index2 = 0;
  ins.bits = 0;
  ins.bits_hi = 0;
  ins.memory_offset = 0;
  ins.memory_index = 0;
  ins.type = ValType::kUnknown;
  ins.operand_count = 0;
  ins.operands[0] = ValType::kUnknown;
  ins.operands[1] = ValType::kUnknown;
  ins.result = ValType::kUnknown;
  ins.br_table = nullptr;
  ins.closed = nullptr;
  ins.catches = nullptr;
}

template <bool kDeliver>
KILN_ALWAYS_INLINE Result<void> FunctionValidator::step(FunctionBodyConsumer* consumer) {
  Instruction& ins = instruction_;
  if constexpr (kDeliver) {
    reset_instruction();
    ins.reachable = !ctrls_.back().unreachable;
    ins.cells_before = cells_;
  } else {
    // Validation only: nothing reads what the instruction would tell a consumer, and every
    // field the checks below read is set before they read it. (A fifth of the validator's
    // time when only validating.)
    consumer = nullptr;
  }
  instruction_offset_ = ins.offset = reader_.offset();
  KILN_ASSIGN(uint8_t byte, reader_.read_byte());
  uint32_t op = byte;
  if (byte == kPrefixFC || byte == kPrefixFD) {
    KILN_ASSIGN(uint32_t sub, reader_.read_u32());
    if (sub > (byte == kPrefixFC ? 17u : 0xffu)) {
      return BinaryReader::malformed_at(
          "illegal opcode " + hex_offset(byte) + " " + hex_offset(sub), ins.offset);
    }
    op = prefixed(byte, sub);
  }
  ins.opcode = op;

  // Table-driven operators first.
  const size_t slot = simple_op_slot(op);
  if (byte == kPrefixFD) [[unlikely]] {  // lane operators are all SIMD
    if (const uint8_t lanes = kLaneCounts.lanes[slot];
        lanes != 0 && kMemoryOps.ops[slot].kind == MemoryOpKind::kNone) {
      KILN_TRY(read_lane_index(lanes, ins));  // extract_lane / replace_lane
    }
  }
  const SimpleOpType& simple = kSimpleOps.ops[slot];
  if (simple.arity == 2) {
    KILN_TRY(pop(simple.operand_b));
    KILN_TRY(pop(simple.operand_a));
    push(simple.result);
    ins.operand_count = 2;
    ins.operands[0] = simple.operand_a;
    ins.operands[1] = simple.operand_b;
    ins.result = simple.result;
    deliver(ins, consumer);
    return {};
  }
  if (simple.arity == 1) {
    KILN_TRY(pop(simple.operand_a));
    push(simple.result);
    ins.operand_count = 1;
    ins.operands[0] = simple.operand_a;
    ins.result = simple.result;
    deliver(ins, consumer);
    return {};
  }
  if (const MemoryOpType& mem = kMemoryOps.ops[slot]; mem.kind != MemoryOpKind::kNone) {
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
  if ((op >> 8) == kPrefixFD) return step_simd(ins, consumer);

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
      deliver(ins, consumer);
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
      deliver(ins, consumer);
      return {};
    }
    case kThrow: {
      KILN_SET(ins.index, reader_.read_u32());
      KILN_TRY(require_tag(ins.index));
      KILN_TRY(pop_all(module_.tag_type(ins.index).params));
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
      deliver(ins, consumer);
      return {};
    }
    case kEnd: {
      KILN_TRY(pop_ctrl());
      if (closed_.opcode == kIf && !std::ranges::equal(closed_.params, closed_.results)) {
        return fail("type mismatch: if without else must not change the stack's types");
      }
      ins.closed = &closed_;
      if (!ctrls_.empty()) push_all(closed_.results);
      deliver(ins, consumer);
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
      deliver(ins, consumer);
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
      KILN_TRY(pop_all(type_.results));
      deliver(ins, consumer);
      mark_unreachable();
      return {};
    case kCall: {
      makes_calls_ = true;
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= module_.functions.size())
        return fail("unknown function " + std::to_string(ins.index));
      const FuncType& callee = module_.function_type(ins.index);
      KILN_TRY(pop_all(callee.params));
      push_all(callee.results);
      deliver(ins, consumer);
      return {};
    }
    case kCallIndirect: {
      makes_calls_ = true;
      KILN_SET(ins.index, reader_.read_u32());
      KILN_SET(ins.index2, reader_.read_u32());
      KILN_TRY(require_table(ins.index2));
      if (ins.index >= module_.types.size())
        return fail("unknown type " + std::to_string(ins.index));
      if (module_.tables[ins.index2].element != ValType::kFuncRef) {
        return fail("type mismatch: call_indirect needs a funcref table");
      }
      KILN_TRY(pop(ValType::kI32));
      const FuncType& callee = module_.types[ins.index];
      KILN_TRY(pop_all(callee.params));
      push_all(callee.results);
      deliver(ins, consumer);
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
        uint32_t& weight = local_weights_[ins.index];
        weight = std::min<uint64_t>(
            UINT32_MAX, uint64_t{weight} + (uint64_t{1} << (4 * std::min(loop_depth_, 7u))));
      }
      if (op != kLocalGet) KILN_TRY(pop(ins.type));
      if (op != kLocalSet) push(ins.type);
      deliver(ins, consumer);
      return {};
    }
    case kGlobalGet:
    case kGlobalSet: {
      KILN_SET(ins.index, reader_.read_u32());
      if (ins.index >= module_.globals.size())
        return fail("unknown global " + std::to_string(ins.index));
      const GlobalType& g = module_.globals[ins.index].type;
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
      ins.type = module_.tables[ins.index].element;
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
      if (ins.index >= module_.functions.size())
        return fail("unknown function " + std::to_string(ins.index));
      if (!module_.declared_function_refs[ins.index]) return fail("undeclared function reference");
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
      if (module_.elements[ins.index].type != module_.tables[ins.index2].element) {
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
      if (module_.tables[ins.index].element != module_.tables[ins.index2].element) {
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
      ValType element = module_.tables[ins.index].element;
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

template <bool kDeliver>
Result<void> FunctionValidator::read_instructions(FunctionBodyConsumer* consumer) {
  while (!ctrls_.empty()) {
    if (reader_.at_end()) [[unlikely]]
      return fail_at("unexpected end of section or function", reader_.offset());
    KILN_TRY(step<kDeliver>(consumer));
  }
  return {};
}

Result<void> FunctionValidator::run(FunctionBodyConsumer* consumer) {
  push_ctrl(kEnd, {}, type_.results, false);
  if (consumer) {
    consumer->begin_function(*this);
    KILN_TRY(read_instructions<true>(consumer));
  } else {
    KILN_TRY(read_instructions<false>(nullptr));
  }
  if (!reader_.at_end()) {
    return BinaryReader::malformed_at("section size mismatch: code after the function's end",
                                      reader_.offset());
  }
  if (consumer) consumer->end_function(*this);
  return {};
}

}  // namespace kiln
