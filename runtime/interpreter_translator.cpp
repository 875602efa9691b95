#include "runtime/interpreter_translator.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>

#include "runtime/function_validator_run.h"

namespace kiln {
namespace {

constexpr uint16_t kNoHandler = 0xffff;

// How a table-driven operator's operands are laid out (see interpreter_code.h).
enum class SimpleShape : uint8_t {
  kNone,
  kUnary,        // [a][dst]
  kBinary,       // [a][b][dst]
  kLoad,         // [addr][dst][offset]
  kStore,        // [addr][value][offset]
  kLoadLane,     // [addr][vector][dst][offset][lane]
  kStoreLane,    // [addr][vector][offset][lane]
  kExtractLane,  // [vector][dst][lane]
  kReplaceLane,  // [vector][scalar][dst][lane]
};

struct SimpleEmit {
  uint16_t handler = kNoHandler;
  SimpleShape shape = SimpleShape::kNone;
  uint8_t a_cells = 0;  // first operand's cells (the stored value's, for stores)
  uint8_t b_cells = 0;  // second operand's cells
};

template <typename T>
constexpr uint8_t cells_of_c_type = sizeof(T) > 8 ? 2 : 1;

// Handler and operand layout of each table-driven operator, indexed by simple_op_slot.
struct SimpleEmitTable {
  SimpleEmit ops[kSimpleOpSlots];
  constexpr SimpleEmitTable() : ops() {
#define KILN_EMIT(name, opc, shape, a, b) \
  ops[simple_op_slot(opc)] = {static_cast<uint16_t>(Handler::name), SimpleShape::shape, a, b};
#define KILN_EMIT_UNARY(name, opc, R, A, ...) KILN_EMIT(name, opc, kUnary, cells_of_c_type<A>, 0)
#define KILN_EMIT_BINARY(name, opc, R, A, ...) \
  KILN_EMIT(name, opc, kBinary, cells_of_c_type<A>, cells_of_c_type<A>)
#define KILN_EMIT_SHIFT(name, opc, R, A, B, ...) \
  KILN_EMIT(name, opc, kBinary, cells_of_c_type<A>, cells_of_c_type<B>)
#define KILN_EMIT_LOAD(name, opc, ...) KILN_EMIT(name, opc, kLoad, 0, 0)
#define KILN_EMIT_STORE(name, opc, T, ...) KILN_EMIT(name, opc, kStore, cells_of_c_type<T>, 0)
#define KILN_EMIT_LOAD_LANE(name, opc, ...) KILN_EMIT(name, opc, kLoadLane, 2, 0)
#define KILN_EMIT_STORE_LANE(name, opc, ...) KILN_EMIT(name, opc, kStoreLane, 2, 0)
#define KILN_EMIT_EXTRACT(name, opc, ...) KILN_EMIT(name, opc, kExtractLane, 2, 0)
#define KILN_EMIT_REPLACE(name, opc, L, T) KILN_EMIT(name, opc, kReplaceLane, 2, cells_of_c_type<T>)
    KILN_UNARY_OPS(KILN_EMIT_UNARY)
    KILN_CHECKED_UNARY_OPS(KILN_EMIT_UNARY)
    KILN_BINARY_OPS(KILN_EMIT_BINARY)
    KILN_CHECKED_BINARY_OPS(KILN_EMIT_BINARY)
    KILN_LOAD_OPS(KILN_EMIT_LOAD)
    KILN_STORE_OPS(KILN_EMIT_STORE)
    KILN_SIMD_UNARY_OPS(KILN_EMIT_UNARY)
    KILN_SIMD_BINARY_OPS(KILN_EMIT_BINARY)
    KILN_SIMD_SHIFT_OPS(KILN_EMIT_SHIFT)
    KILN_SIMD_LOAD_OPS(KILN_EMIT_LOAD)
    KILN_SIMD_LOAD_LANE_OPS(KILN_EMIT_LOAD_LANE)
    KILN_SIMD_STORE_LANE_OPS(KILN_EMIT_STORE_LANE)
    KILN_SIMD_EXTRACT_LANE_OPS(KILN_EMIT_EXTRACT)
    KILN_SIMD_REPLACE_LANE_OPS(KILN_EMIT_REPLACE)
    KILN_EMIT(v128_store, kV128Store, kStore, 2, 0)
#undef KILN_EMIT
#undef KILN_EMIT_UNARY
#undef KILN_EMIT_BINARY
#undef KILN_EMIT_SHIFT
#undef KILN_EMIT_LOAD
#undef KILN_EMIT_STORE
#undef KILN_EMIT_LOAD_LANE
#undef KILN_EMIT_STORE_LANE
#undef KILN_EMIT_EXTRACT
#undef KILN_EMIT_REPLACE
  }
};
constexpr SimpleEmitTable kSimpleEmits;

// The cell of a table-driven operator's first operand, where its result goes, when `cells`
// cells are on the stack before it.
constexpr uint32_t first_operand_cell(const SimpleEmit& e, uint32_t cells) {
  switch (e.shape) {
    case SimpleShape::kUnary:
      return cells - e.a_cells;
    case SimpleShape::kBinary:
      return cells - e.b_cells - e.a_cells;
    case SimpleShape::kLoad:
      return cells - 1;
    case SimpleShape::kStore:
      return cells - e.a_cells - 1;
    case SimpleShape::kLoadLane:
    case SimpleShape::kStoreLane:
      return cells - 3;
    case SimpleShape::kExtractLane:
      return cells - 2;
    case SimpleShape::kReplaceLane:
      return cells - e.b_cells - 2;
    case SimpleShape::kNone:
      break;
  }
  return cells;
}

// The plain load of a value of type T.
template <typename T>
constexpr Handler natural_load() {
  if constexpr (std::is_same_v<T, i32>) return Handler::i32_load;
  if constexpr (std::is_same_v<T, i64>) return Handler::i64_load;
  if constexpr (std::is_same_v<T, f32>) return Handler::f32_load;
  return Handler::f64_load;
}

// For each handler, its superinstruction forms (interpreter_code.h), or kCount.
struct FusionTable {
  static constexpr size_t kCount = static_cast<size_t>(Handler::kCount);
  Handler branch_if[kCount];       // a test or comparison, then br_if
  Handler branch_unless[kCount];   // a test or comparison, then if
  Handler address_add[kCount];     // i32.add, then this load or store at the sum
  Handler memory_operand[kCount];  // a load (operand_load), then this binary operator
  Handler operand_load[kCount];
  bool commutative[kCount];  // a load of the first operand may be fused too
  constexpr FusionTable()
      : branch_if(),
        branch_unless(),
        address_add(),
        memory_operand(),
        operand_load(),
        commutative() {
    for (size_t i = 0; i < kCount; ++i) {
      branch_if[i] = branch_unless[i] = address_add[i] = Handler::kCount;
      memory_operand[i] = operand_load[i] = Handler::kCount;
    }
#define KILN_FUSE_BRANCH(name, ...)                                      \
  branch_if[static_cast<size_t>(Handler::name)] = Handler::br_if_##name; \
  branch_unless[static_cast<size_t>(Handler::name)] = Handler::br_unless_##name;
#define KILN_FUSE_ADDRESS_ADD(name, ...) \
  address_add[static_cast<size_t>(Handler::name)] = Handler::name##_add;
#define KILN_FUSE_MEMORY_OPERAND(name, opc, R, A, ...)                       \
  memory_operand[static_cast<size_t>(Handler::name)] = Handler::name##_load; \
  operand_load[static_cast<size_t>(Handler::name)] = natural_load<A>();
    KILN_FUSED_HANDLERS(KILN_FUSE_BRANCH, KILN_FUSE_ADDRESS_ADD, KILN_FUSE_MEMORY_OPERAND)
#undef KILN_FUSE_BRANCH
#undef KILN_FUSE_ADDRESS_ADD
#undef KILN_FUSE_MEMORY_OPERAND
    // Integer add, mul, and, or, xor and float add, mul (whose NaN results may carry either
    // operand's payload, spec 4.3.3) do not depend on operand order.
    for (Handler h :
         {Handler::i32_add, Handler::i32_mul, Handler::i32_and, Handler::i32_or, Handler::i32_xor,
          Handler::i64_add, Handler::i64_mul, Handler::i64_and, Handler::i64_or, Handler::i64_xor,
          Handler::f32_add, Handler::f32_mul, Handler::f64_add, Handler::f64_mul}) {
      commutative[static_cast<size_t>(h)] = true;
    }
  }
};
constexpr FusionTable kFusions;

}  // namespace

uint32_t CompiledFunction::source_offset(uint32_t code_unit) const {
  auto it =
      std::upper_bound(source_map.begin(), source_map.end(), std::make_pair(code_unit, UINT32_MAX));
  if (it == source_map.begin()) return 0;
  return std::prev(it)->second;
}

InterpreterTranslator::InterpreterTranslator(const Module& module, CompiledFunction& out, bool fuel,
                                             bool epoch, bool loop_entries)
    : module_(module),
      out_(&out),
      code_(&out.code),
      handlers_(interpreter_handler_table()),
      fuel_(fuel),
      epoch_(epoch),
      loop_entries_(loop_entries) {}

const InterpreterTranslator::LazyOperand* InterpreterTranslator::lazy_at(
    uint32_t operand_cell) const {
  for (auto it = lazy_.rbegin(); it != lazy_.rend(); ++it) {
    if (it->cell == operand_cell) return &*it;
    if (it->cell < operand_cell) break;
  }
  return nullptr;
}

uint32_t InterpreterTranslator::in(uint32_t operand_cell) const {
  const LazyOperand* lazy = lazy_at(operand_cell);
  if (!lazy) return slot(operand_cell);
  return lazy->addend == kNotSum ? lazy->source : kPendingSum;
}

const InterpreterTranslator::LazyOperand* InterpreterTranslator::lazy_sum(
    uint32_t operand_cell) const {
  const LazyOperand* lazy = lazy_at(operand_cell);
  return lazy && lazy->addend != kNotSum ? lazy : nullptr;
}

void InterpreterTranslator::emit_copy(const Instruction& ins, uint32_t from, uint32_t to,
                                      uint32_t cells) {
  begin(cells == 2 ? Handler::copy2 : Handler::copy, ins);
  unit(from);
  unit(to);
}

void InterpreterTranslator::emit_sum(const Instruction& ins, uint32_t a, uint32_t b, uint32_t to) {
  begin(Handler::i32_add, ins);
  unit(a);
  unit(b);
  unit(to);
}

void InterpreterTranslator::materialize(const Instruction& ins, const LazyOperand& operand) {
  if (operand.addend == kNotSum) {
    emit_copy(ins, operand.source, slot(operand.cell));
  } else {
    emit_sum(ins, operand.source, operand.addend, slot(operand.cell));
  }
}

template <typename Predicate>
bool InterpreterTranslator::materialize_where(const Instruction& ins, Predicate which) {
  bool emitted = false;
  for (const LazyOperand& operand : lazy_) {
    if (which(operand)) {
      materialize(ins, operand);
      emitted = true;
    }
  }
  std::erase_if(lazy_, which);
  return emitted;
}

void InterpreterTranslator::materialize_all(const Instruction& ins) {
  materialize_where(ins, [](const LazyOperand&) { return true; });
}

bool InterpreterTranslator::materialize_local(const Instruction& ins, uint32_t local_slot) {
  return materialize_where(ins, [local_slot](const LazyOperand& operand) {
    return operand.source == local_slot || operand.addend == local_slot;
  });
}

void InterpreterTranslator::materialize_sums(const Instruction& ins, uint32_t from_cell) {
  materialize_where(ins, [from_cell](const LazyOperand& operand) {
    return operand.cell >= from_cell && operand.addend != kNotSum;
  });
}

void InterpreterTranslator::consume_from(uint32_t operand_cell) {
  while (!lazy_.empty() && lazy_.back().cell >= operand_cell) lazy_.pop_back();
}

bool InterpreterTranslator::emit_sum_address(const Instruction& ins, Handler access, uint32_t first,
                                             bool load) {
  const Handler fused = kFusions.address_add[static_cast<size_t>(access)];
  const LazyOperand* sum = lazy_sum(first);
  if (fused == Handler::kCount || !sum) return false;
  const uint32_t a = sum->source, b = sum->addend;
  if (!load) materialize_sums(ins, first + 1);  // the stored value
  begin(fused, ins);
  unit(a);
  unit(b);
  if (load) {
    last_dst_unit_ = pc();  // [a][b][dst][offset]: a local.set may still retarget it
    unit(slot(first));
  } else {
    unit(in(first + 1));
  }
  unit(ins.memory_offset);
  consume_from(first);
  return true;
}

bool InterpreterTranslator::retarget_last_result(uint32_t from_slot, uint32_t to_slot) {
  if (last_dst_unit_ == UINT32_MAX || (*code_)[last_dst_unit_] != from_slot) return false;
  (*code_)[last_dst_unit_] = to_slot;
  last_dst_unit_ = UINT32_MAX;
  return true;
}

bool InterpreterTranslator::fuse_condition(uint32_t cell, bool jump_when_true) {
  if (last_dst_unit_ != pc() - 1 || (*code_)[last_dst_unit_] != slot(cell)) return false;
  const size_t last = static_cast<size_t>(last_handler_);
  const Handler fused = jump_when_true ? kFusions.branch_if[last] : kFusions.branch_unless[last];
  if (fused == Handler::kCount) return false;
  set_handler(last_start_, fused);
  truncate_code(pc() - 1);  // the result's slot: the branch distance follows instead
  last_dst_unit_ = UINT32_MAX;
  return true;
}

bool InterpreterTranslator::fuse_load_address(const Instruction& ins, Handler load, uint32_t cell) {
  const Handler fused = kFusions.address_add[static_cast<size_t>(load)];
  if (fused == Handler::kCount || last_handler_ != Handler::i32_add || last_dst_unit_ != pc() - 1 ||
      (*code_)[last_dst_unit_] != slot(cell) || in(cell) != slot(cell)) {
    return false;
  }
  set_handler(last_start_, fused);
  // [a][b][dst] stay; the load's offset follows. A trap is reported at the load.
  unit(ins.memory_offset);
  out_->source_map.back().second = static_cast<uint32_t>(ins.offset);
  last_dst_unit_ = pc() - 2;  // [a][b][dst][offset]: a local.set may still retarget it
  return true;
}

bool InterpreterTranslator::fuse_scaled_add(uint32_t first) {
  if (last_handler_ != Handler::i32_shl || last_dst_unit_ != pc() - 1) return false;
  // The shifted value is the add's second operand (the usual `base + (i << k)`) or its first.
  uint32_t shifted = first + 1, other = first;
  if ((*code_)[last_dst_unit_] != slot(shifted)) std::swap(shifted, other);
  if ((*code_)[last_dst_unit_] != slot(shifted) || in(shifted) != slot(shifted) ||
      in(other) == kPendingSum) {
    return false;
  }
  set_handler(last_start_, Handler::i32_add_shl);
  truncate_code(pc() - 1);
  unit(in(other));
  last_dst_unit_ = pc();
  unit(slot(first));
  return true;
}

bool InterpreterTranslator::fuse_memory_operand(Handler op, uint32_t first) {
  const size_t index = static_cast<size_t>(op);
  const Handler fused = kFusions.memory_operand[index];
  if (fused == Handler::kCount || last_handler_ != kFusions.operand_load[index] ||
      last_dst_unit_ != pc() - 2) {
    return false;
  }
  // The load wrote its value to the cell of the operand it is: the second, or for an operator
  // that does not depend on order, the first.
  uint32_t loaded = first + 1, other = first;
  if ((*code_)[last_dst_unit_] != slot(loaded) && kFusions.commutative[index]) {
    std::swap(loaded, other);
  }
  if ((*code_)[last_dst_unit_] != slot(loaded) || in(loaded) != slot(loaded) ||
      in(other) == kPendingSum) {
    return false;
  }
  // [addr][dst][offset] becomes [other][addr][dst][offset]; the trap offset stays the load's.
  const uint32_t address = (*code_)[last_start_ + 2], offset = (*code_)[last_start_ + 4];
  set_handler(last_start_, fused);
  truncate_code(last_start_ + 2);
  unit(in(other));
  unit(address);
  last_dst_unit_ = pc();
  unit(slot(first));
  unit(offset);
  return true;
}

void InterpreterTranslator::set_handler(uint32_t instruction_start, Handler h) {
  const void* address = handlers_[static_cast<size_t>(h)];
  std::memcpy(&(*code_)[instruction_start], &address, sizeof address);
  last_handler_ = h;
}

void InterpreterTranslator::start_segment(const Instruction& ins) {
  if (!fuel_) return;
  // Function entry, or where the decoder says a segment starts (it decides for every tier).
  begin(Handler::fuel, ins);
  segment_cost_unit_ = pc();
  unit(0);
}

void InterpreterTranslator::pointer(const void* p) {
  uint32_t units[2];
  std::memcpy(units, &p, sizeof p);
  unit(units[0]);
  unit(units[1]);
}

void InterpreterTranslator::begin(Handler h, const Instruction& ins) {
  last_dst_unit_ = UINT32_MAX;  // only the simple operators below set it again
  // A pair (interpreter_code.h): h's operands follow the last instruction's. Neither can trap,
  // so the pair needs no source map entry of its own.
  Handler pair = Handler::kCount;
  if (last_start_ >= label_barrier_) {
    if (h == Handler::i32_add && last_handler_ == Handler::i32_add) pair = Handler::i32_add_add;
    if (h == Handler::copy && last_handler_ == Handler::copy) pair = Handler::copy_copy;
  }
  if (pair != Handler::kCount) {
    set_handler(last_start_, pair);
    return;
  }
  last_start_ = pc();
  last_handler_ = h;
  out_->source_map.emplace_back(pc(), static_cast<uint32_t>(ins.offset));
  pointer(handlers_[static_cast<size_t>(h)]);
}

void InterpreterTranslator::patch(uint32_t instruction_start, uint32_t delta_unit,
                                  uint32_t target) {
  (*code_)[delta_unit] = static_cast<uint32_t>(static_cast<int32_t>(target - instruction_start));
}

void InterpreterTranslator::add_fixup(Label& label, uint32_t instruction_start,
                                      uint32_t delta_unit) {
  fixups_.push_back({instruction_start, delta_unit, label.fixups});
  label.fixups = static_cast<uint32_t>(fixups_.size() - 1);
}

void InterpreterTranslator::branch_target(uint32_t instruction_start, uint32_t depth) {
  Label& label = labels_[labels_.size() - 1 - depth];
  if (label.is_loop) {
    unit(static_cast<uint32_t>(static_cast<int32_t>(label.loop_start - instruction_start)));
  } else {
    add_fixup(label, instruction_start, pc());
    unit(0);
  }
}

// Constants read from frame cells, at most this many per function; the rest are written into
// their operand cells by const32/const64 instructions as before.
constexpr uint32_t kMaxConstantCells = 64;

// The operand stack starts after the constant cells, so their number is fixed before the body
// is read: every constant instruction starts with a byte 0x41-0x44, so the count of such bytes
// (immediates included) bounds the number of distinct constants. Counted once per function (when
// the module validates, or when a translation in the same pass begins) and kept in the
// CompiledFunction: frames have the same size whichever tier lays them out.
namespace {
// `out`'s constant cells, counted from `code` (its body) the first time they are asked for.
uint32_t constant_cells(CompiledFunction& out, std::span<const uint8_t> code) {
  if (out.constant_cells == CompiledFunction::kConstantCellsUncounted) {
    // In blocks, stopping at the cap: a large body reaches it early (a byte at a time over
    // every body was 1 % of a WASI hello-world's start-up).
    constexpr size_t kBlock = 64;
    uint32_t constant_bytes = 0;
    for (size_t at = 0; at < code.size() && constant_bytes < kMaxConstantCells; at += kBlock) {
      const size_t end = std::min(code.size(), at + kBlock);
      for (size_t i = at; i < end; ++i) {
        constant_bytes += (code[i] >= kI32Const && code[i] <= kF64Const);
      }
    }
    out.constant_cells = std::min(constant_bytes, kMaxConstantCells);
  }
  return out.constant_cells;
}

// The whole frame: locals, constants and the operand stack at its highest, or the results.
uint32_t frame_size(const FunctionValidator& v, uint32_t constant_cells) {
  return std::max(v.total_local_cells() + constant_cells + v.max_operand_cells(),
                  v.type().result_cells());
}
}  // namespace

void InterpreterTranslator::set_frame_layout(const FunctionValidator& v, CompiledFunction& out) {
  out.function_index = v.function_index();
  out.param_cells = v.type().param_cells();
  out.result_cells = v.type().result_cells();
  out.local_cells = v.total_local_cells();
}

uint32_t InterpreterTranslator::frame_cells(const FunctionValidator& v, CompiledFunction& out) {
  const Module& module = v.module();
  return frame_size(
      v, constant_cells(out, module.bodies[v.function_index() - module.imported_functions].code));
}

void InterpreterTranslator::grow_code() {
  const uint32_t used = pc();
  code_->resize(code_->size() * 2 + 16);
  cursor_ = code_->data() + used;
  end_ = code_->data() + code_->size();
}

void InterpreterTranslator::retarget(CompiledFunction& out) {
  out_ = &out;
  code_ = &out.code;
}

void InterpreterTranslator::begin_function(const FunctionValidator& v) {
  local_cells_ = v.total_local_cells();
  const FunctionBody& body = module_.bodies[v.function_index() - module_.imported_functions];
  constant_cells_ = constant_cells(*out_, body.code);
  out_->constants.reserve(constant_cells_);
  // What a translation before this one (of another function, by the same translator) left.
  constant_table_.clear();
  lazy_.clear();
  labels_.clear();
  fixups_.clear();
  last_dst_unit_ = UINT32_MAX;
  last_start_ = 0;
  last_handler_ = Handler::kCount;
  label_barrier_ = 0;
  segment_cost_unit_ = UINT32_MAX;
  entered_loop_ = false;
  zero_locals_.assign(local_cells_, false);
  std::fill(zero_locals_.begin() + v.type().param_cells(), zero_locals_.end(), true);
  set_frame_layout(v, *out_);
  out_->loops_enterable = loop_entries_;
  // Measured over C programs: about 0.93 code units (up to 1.03 in wasi-libc's printf) and
  // 0.19 source map entries per body byte. Reserved so that they rarely grow (each growth
  // copies, and touches fresh pages), and trimmed at the end only when much is left over.
  code_->resize(body.code.size() + body.code.size() / 8 + 16);
  cursor_ = code_->data();
  end_ = code_->data() + code_->size();
  out_->source_map.reserve(body.code.size() / 4 + 4);
  labels_.push_back(Label{});
  Instruction entry;
  entry.offset = body.code_offset;
  if (epoch_) begin(Handler::epoch_check, entry);
  start_segment(entry);
}

void InterpreterTranslator::end_function(const FunctionValidator& v) {
  out_->frame_cells = frame_size(v, constant_cells_);
  // A copy costs more than a few spare units per function keep (a hello-world's printf alone
  // copied 36 KB here).
  auto trim = [](auto& vector) {
    if (vector.capacity() - vector.size() > vector.size() / 4 + 16) vector.shrink_to_fit();
  };
  trim(out_->constants);  // reserved for the most there could be (begin_function)
  code_->resize(pc());
  trim(*code_);
  trim(out_->source_map);
}

// A branch from a stack whose top is at `values_top` cells to label `depth` (br / br_if).
void InterpreterTranslator::emit_branch(const Instruction& ins, const FunctionValidator& v,
                                        uint32_t depth, uint32_t values_top) {
  const ControlFrame& frame = v.control(depth);
  const uint32_t cells = cell_count(frame.label_types());
  const uint32_t src = values_top - cells;
  const uint32_t dst = frame.height_cells;
  const bool conditional = ins.opcode == kBrIf;
  const uint32_t start = pc();
  const bool move = cells != 0 && src != dst;
  if (!conditional) {
    if (depth == v.control_depth() - 1) {  // branch to the function's label: return
      begin(Handler::return_, ins);
      unit(slot(src));
      unit(cells);
      return;
    }
    begin(move ? Handler::br_move : Handler::br, ins);
  } else if (!move && fuse_condition(ins.cells_before - 1, true)) {
    branch_target(last_start_, depth);
    return;
  } else {
    begin(move ? Handler::br_if_nz_move : Handler::br_if_nz, ins);
    unit(slot(ins.cells_before - 1));
  }
  branch_target(start, depth);
  if (move) {
    unit(slot(src));
    unit(slot(dst));
    unit(cells);
  }
}

void InterpreterTranslator::begin_exception_handler(const Instruction& ins,
                                                    const FunctionValidator& v, Label& label) {
  label.handler = static_cast<uint32_t>(out_->exception_handlers.size());
  ExceptionHandler handler;
  handler.begin = pc();
  for (const CatchClause& clause : *ins.catches) {
    // The clause's label is counted from outside the try_table, whose own frame is open now in
    // the validator and not yet among labels_.
    Label& target = labels_[labels_.size() - 1 - clause.label];
    ExceptionHandler::Catch c;
    c.all = clause.catches_all();
    c.reference = clause.passes_reference();
    c.tag = clause.tag;
    c.destination = slot(v.control(clause.label + 1).height_cells);
    if (target.is_loop) {
      c.target = target.loop_start;
    } else {
      target.catch_fixups.emplace_back(label.handler,
                                       static_cast<uint32_t>(handler.catches.size()));
    }
    handler.catches.push_back(c);
  }
  out_->exception_handlers.push_back(std::move(handler));
}

void InterpreterTranslator::emit_control(const Instruction& ins, const FunctionValidator& v) {
  // Labels are merge points: operands must be in their own cells, and the last result may
  // arrive by a branch instead of from the instruction before.
  const bool live = ins.reachable && !labels_.back().dead;
  if (live) materialize_all(ins);
  // `if` on a test or comparison just emitted: one instruction jumps to the else-branch.
  const bool fused_if = ins.opcode == kIf && live && fuse_condition(ins.cells_before - 1, false);
  last_dst_unit_ = UINT32_MAX;
  switch (ins.opcode) {
    case kBlock:
    case kLoop:
    case kIf:
    case kTryTable: {
      Label label;
      label.dead = !ins.live;
      if (ins.opcode == kTryTable && ins.live) begin_exception_handler(ins, v, label);
      label.is_loop = ins.opcode == kLoop;
      if (label.is_loop) entered_loop_ = true;
      label.loop_start = pc();
      if (ins.opcode == kLoop && ins.live) {  // the loop's label: branches land here
        if (loop_entries_) emit_loop_header(ins);
        if (epoch_) begin(Handler::epoch_check, ins);
        start_segment(ins);
      }
      if (ins.opcode == kIf && ins.live) {
        charge(ins.fuel_cost);
        uint32_t start = last_start_;
        if (!fused_if) {
          start = pc();
          begin(Handler::br_if_z, ins);
          unit(slot(ins.cells_before - 1));
        }
        label.else_branch = Fixup{start, pc()};  // resolved at `else`, or at `end`
        unit(0);
        start_segment(ins);  // the then-branch
      }
      labels_.push_back(std::move(label));
      return;
    }
    case kElse: {
      Label& label = labels_.back();
      if (!ins.live) return;
      const Fixup else_branch = *label.else_branch;
      label.else_branch.reset();
      if (ins.reachable) {  // the then-branch falls through: jump over the else-branch
        uint32_t start = pc();
        begin(Handler::br, ins);
        add_fixup(label, start, pc());
        unit(0);
      }
      patch(else_branch.instruction_start, else_branch.delta_unit, pc());
      start_segment(ins);  // the else-branch
      return;
    }
    case kEnd: {
      Label label = std::move(labels_.back());
      labels_.pop_back();
      for (uint32_t f = label.fixups; f != kNoFixup; f = fixups_[f].next) {
        patch(fixups_[f].instruction_start, fixups_[f].delta_unit, pc());
      }
      if (label.else_branch) {
        patch(label.else_branch->instruction_start, label.else_branch->delta_unit, pc());
      }
      if (label.handler != UINT32_MAX) out_->exception_handlers[label.handler].end = pc();
      for (auto [handler, index] : label.catch_fixups) {
        out_->exception_handlers[handler].catches[index].target = pc();
      }
      if (labels_.empty()) {  // the function's own end: results are at operand cells 0..n
        begin(Handler::return_, ins);
        unit(slot(0));
        unit(out_->result_cells);
      } else if (ins.starts_segment) {
        start_segment(ins);  // the code after the block: the label's branches land here
      }
      return;
    }
  }
}

// On-stack replacement (CodeTierOptions::loop_iterations_before_compile): the frame can go on
// in machine code from this loop's header when nothing but the locals is live there (an empty
// operand stack, so no values around the loop and no loop parameters) and no try_table of this
// frame encloses it (the interpreter's handlers would be left behind). The JIT makes an entry
// under the same conditions (CodeGenerator::enterable_loop).
void InterpreterTranslator::emit_loop_header(const Instruction& ins) {
  bool in_try_table = false;
  for (const Label& label : labels_) in_try_table |= label.handler != UINT32_MAX;
  if (ins.cells_before != 0 || in_try_table) {
    out_->loops_enterable = false;
    return;
  }
  begin(Handler::loop_header, ins);
  unit(static_cast<uint32_t>(ins.offset));
}

void InterpreterTranslator::on_other_instruction(const Instruction& ins,
                                                 const FunctionValidator& v) {
  const uint32_t op = ins.opcode;
  if (op == kBlock || op == kLoop || op == kIf || op == kElse || op == kEnd || op == kTryTable) {
    emit_control(ins, v);
    // Branches may land at the code emitted from here on: nothing after is paired with
    // anything before.
    label_barrier_ = pc();
    return;
  }
  if (!ins.live) return;
  charge(ins.fuel_cost);
  // Multi-memory: an instruction on another memory than memory 0 runs with that memory selected
  // (the handlers read the selected one), and memory 0 is selected again right after it.
  // memory.copy names its two memories itself.
  const bool other_memory = ins.memory_index != 0 && op != kMemoryCopy;
  if (other_memory) {
    begin(Handler::select_memory, ins);
    unit(ins.memory_index);
  }
  emit_operation(ins, v);
  if (other_memory) {
    begin(Handler::select_memory, ins);
    unit(0);
  }
}

void InterpreterTranslator::emit_operation(const Instruction& ins, const FunctionValidator& v) {
  const uint32_t op = ins.opcode;
  const uint32_t cb = ins.cells_before;
  if (const SimpleEmit& e = kSimpleEmits.ops[simple_op_slot(op)]; e.handler != kNoHandler) {
    // Operands are read where they are (a local's slot for a lazy one); the result goes to the
    // first operand's own cell.
    const uint32_t first = first_operand_cell(e, cb);
    uint32_t dst_unit = UINT32_MAX;
    const Handler handler = static_cast<Handler>(e.handler);
    const bool load = e.shape == SimpleShape::kLoad;
    if ((load || e.shape == SimpleShape::kStore) && emit_sum_address(ins, handler, first, load)) {
      return;
    }
    if (load && fuse_load_address(ins, handler, first)) {
      consume_from(first);
      return;
    }
    if (handler == Handler::i32_add) {
      if (fuse_scaled_add(first)) {
        consume_from(first);
        return;
      }
      // Both addends are locals or constants (not sums themselves): a lazy sum.
      const LazyOperand* a = lazy_at(first);
      const LazyOperand* b = lazy_at(first + 1);
      if (a && b && a->addend == kNotSum && b->addend == kNotSum) {
        const LazyOperand sum{first, a->source, b->source};
        consume_from(first);
        lazy_.push_back(sum);
        return;
      }
    }
    if (e.shape == SimpleShape::kBinary && fuse_memory_operand(handler, first)) {
      consume_from(first);
      return;
    }
    materialize_sums(ins, first);
    begin(handler, ins);
    switch (e.shape) {
      case SimpleShape::kUnary:
        unit(in(first));
        dst_unit = pc();
        unit(slot(first));
        break;
      case SimpleShape::kBinary:
        unit(in(first));
        unit(in(cb - e.b_cells));
        dst_unit = pc();
        unit(slot(first));
        break;
      case SimpleShape::kLoad:
        unit(in(first));
        dst_unit = pc();
        unit(slot(first));
        unit(ins.memory_offset);
        break;
      case SimpleShape::kStore:
        unit(in(first));
        unit(in(cb - e.a_cells));
        unit(ins.memory_offset);
        break;
      case SimpleShape::kLoadLane:
        unit(in(first));
        unit(in(cb - 2));
        unit(slot(first));
        unit(ins.memory_offset);
        unit(ins.index);
        break;
      case SimpleShape::kStoreLane:
        unit(in(first));
        unit(in(cb - 2));
        unit(ins.memory_offset);
        unit(ins.index);
        break;
      case SimpleShape::kExtractLane:
        unit(in(first));
        dst_unit = pc();
        unit(slot(first));
        unit(ins.index);
        break;
      case SimpleShape::kReplaceLane:
        unit(in(first));
        unit(in(cb - e.b_cells));
        unit(slot(first));
        unit(ins.index);
        break;
      case SimpleShape::kNone:
        break;
    }
    consume_from(first);
    last_dst_unit_ = dst_unit;  // a following local.set may redirect this result
    return;
  }

  // Everything below reads its operands from their own cells, unless it handles lazy ones or
  // only pushes a value (which lands above every pending operand).
  switch (op) {
    case kLocalGet:
    case kLocalSet:
    case kLocalTee:
    case kDrop:
    case kGlobalSet:
    case kI64Const:
    case kF32Const:
    case kF64Const:
    case kV128Const:
    case kGlobalGet:
    case kMemorySize:
    case kRefNull:
    case kRefFunc:
    case kTableSize:
      break;
    default:
      materialize_all(ins);
  }

  switch (op) {
    case kUnreachable:
      begin(Handler::unreachable, ins);
      return;
    case kNop:
      return;
    case kDrop:
      consume_from(cb - cell_count(ins.type));
      return;
    case kBr:
      emit_branch(ins, v, ins.index, cb);
      return;
    case kBrIf:
      emit_branch(ins, v, ins.index, cb - 1);
      start_segment(ins);  // the fall-through
      return;
    case kBrTable: {
      const auto& depths = *ins.br_table;
      const uint32_t cells = cell_count(v.control(depths.back()).label_types());
      const uint32_t values_top = cb - 1;
      const uint32_t start = pc();
      begin(Handler::br_table, ins);
      unit(slot(cb - 1));
      unit(slot(values_top - cells));
      unit(cells);
      unit(static_cast<uint32_t>(depths.size() - 1));
      for (uint32_t depth : depths) {
        branch_target(start, depth);
        unit(slot(v.control(depth).height_cells));
      }
      return;
    }
    case kThrow:
      begin(Handler::throw_, ins);
      unit(ins.index);
      unit(slot(cb - module_.tag_type(ins.index).param_cells()));
      return;
    case kThrowRef:
      begin(Handler::throw_ref, ins);
      unit(slot(cb - 1));
      return;
    case kReturn:
      begin(Handler::return_, ins);
      unit(slot(cb - out_->result_cells));
      unit(out_->result_cells);
      return;
    case kCall: {
      const uint32_t args = slot(cb - module_.function_type(ins.index).param_cells());
      if (ins.index < module_.imported_functions) {
        begin(Handler::call_import, ins);
        unit(ins.index);
      } else {
        begin(Handler::call, ins);
        pointer(module_.compiled[ins.index - module_.imported_functions].get());
      }
      unit(args);
      start_segment(ins);  // after the call returns
      return;
    }
    case kCallIndirect:
      begin(Handler::call_indirect, ins);
      unit(module_.type_ids[ins.index]);
      unit(ins.index2);
      unit(slot(cb - 1));
      unit(slot(cb - 1 - module_.types[ins.index].param_cells()));
      start_segment(ins);  // after the call returns
      return;
    case kSelect:
    case kSelectTyped: {
      const uint32_t c = cell_count(ins.type);
      begin(c == 2 ? Handler::select2 : Handler::select, ins);
      unit(slot(cb - 1));
      unit(slot(cb - 1 - c));
      unit(slot(cb - 1 - 2 * c));
      return;
    }
    case kLocalGet:  // a v128 (on_instruction keeps a one-cell local lazy)
      emit_copy(ins, local_slot(v, ins.index), slot(cb), 2);
      return;
    case kLocalSet:
    case kLocalTee: {
      const uint32_t c = cell_count(ins.type);
      const uint32_t top = cb - c;
      const uint32_t local = local_slot(v, ins.index);
      if (const LazyOperand* sum = lazy_sum(top)) {  // the add writes the local itself
        const uint32_t a = sum->source, b = sum->addend;
        consume_from(top);
        zero_locals_[local / 8] = false;
        materialize_local(ins, local);  // pending reads of the old value
        emit_sum(ins, a, b, local);
        if (op == kLocalTee) lazy_.push_back({top, local, kNotSum});
        return;
      }
      const uint32_t value = in(top);
      // Declared locals start at zero, and before the first loop each instruction runs at most
      // once per call, in order: writing zero to a local nothing has written yet changes
      // nothing (compilers emit such writes at function entry).
      const uint32_t local_cell = local / 8;
      const bool still_zero =
          !entered_loop_ && c == 1 && zero_locals_[local_cell] && is_zero_constant(value);
      zero_locals_[local_cell] = still_zero;
      if (c == 2) zero_locals_[local_cell + 1] = false;
      // Pending reads of this local must see its old value: copy them into place first.
      const bool copied = materialize_local(ins, local);
      if (value != slot(top)) {  // the value is itself a lazy local or a constant
        if (value != local && !still_zero) emit_copy(ins, value, local);
        if (op == kLocalSet) consume_from(top);
        return;
      }
      consume_from(top);
      if (c == 1 && !copied && retarget_last_result(slot(top), local)) {
        // The result was written straight into the local; a tee leaves it there as an operand.
        if (op == kLocalTee) lazy_.push_back({top, local, kNotSum});
        return;
      }
      emit_copy(ins, slot(top), local, c);
      return;
    }
    case kGlobalGet:
    case kGlobalSet: {
      const bool two = cell_count(ins.type) == 2;
      if (op == kGlobalGet) {
        begin(two ? Handler::global_get2 : Handler::global_get, ins);
        unit(ins.index);
        unit(slot(cb));
      } else {
        materialize_sums(ins, cb - cell_count(ins.type));
        begin(two ? Handler::global_set2 : Handler::global_set, ins);
        unit(ins.index);
        unit(in(cb - cell_count(ins.type)));
        consume_from(cb - cell_count(ins.type));
      }
      return;
    }
    case kTableGet:
      begin(Handler::table_get, ins);
      unit(ins.index);
      unit(slot(cb - 1));
      unit(slot(cb - 1));
      return;
    case kTableSet:
      begin(Handler::table_set, ins);
      unit(ins.index);
      unit(slot(cb - 2));
      unit(slot(cb - 1));
      return;
    case kMemorySize:
      begin(Handler::memory_size, ins);
      unit(slot(cb));
      return;
    case kMemoryGrow:
      begin(Handler::memory_grow, ins);
      unit(slot(cb - 1));
      return;
    case kF32Const:  // (i32.const: on_instruction)
      push_constant(ins, cb, static_cast<uint32_t>(ins.bits), false);
      return;
    case kI64Const:
    case kF64Const:
      push_constant(ins, cb, ins.bits, true);
      return;
    case kRefNull:
      begin(Handler::ref_null, ins);
      unit(slot(cb));
      return;
    case kRefIsNull:
      begin(Handler::ref_is_null, ins);
      unit(slot(cb - 1));
      unit(slot(cb - 1));
      return;
    case kRefFunc:
      begin(Handler::ref_func, ins);
      unit(ins.index);
      unit(slot(cb));
      return;
    case kMemoryInit:
      begin(Handler::memory_init, ins);
      unit(ins.index);
      unit(slot(cb - 3));
      return;
    case kDataDrop:
      begin(Handler::data_drop, ins);
      unit(ins.index);
      return;
    case kMemoryCopy:
      if (ins.memory_index != 0 || ins.index2 != 0) {
        begin(Handler::memory_copy_between, ins);
        unit(ins.memory_index);
        unit(ins.index2);
      } else {
        begin(Handler::memory_copy, ins);
      }
      unit(slot(cb - 3));
      return;
    case kMemoryFill:
      begin(Handler::memory_fill, ins);
      unit(slot(cb - 3));
      return;
    case kTableInit:
      begin(Handler::table_init, ins);
      unit(ins.index2);
      unit(ins.index);
      unit(slot(cb - 3));
      return;
    case kElemDrop:
      begin(Handler::elem_drop, ins);
      unit(ins.index);
      return;
    case kTableCopy:
      begin(Handler::table_copy, ins);
      unit(ins.index);
      unit(ins.index2);
      unit(slot(cb - 3));
      return;
    case kTableGrow:
      begin(Handler::table_grow, ins);
      unit(ins.index);
      unit(slot(cb - 2));
      return;
    case kTableSize:
      begin(Handler::table_size, ins);
      unit(ins.index);
      unit(slot(cb));
      return;
    case kTableFill:
      begin(Handler::table_fill, ins);
      unit(ins.index);
      unit(slot(cb - 3));
      return;
    case kV128Const:
      begin(Handler::v128_const, ins);
      unit(slot(cb));
      v128_immediate(ins);
      return;
    case kI8x16Shuffle:
      begin(Handler::i8x16_shuffle, ins);
      unit(slot(cb - 4));
      unit(slot(cb - 2));
      unit(slot(cb - 4));
      v128_immediate(ins);
      return;
    case kV128Bitselect:
      begin(Handler::v128_bitselect, ins);
      unit(slot(cb - 6));
      unit(slot(cb - 4));
      unit(slot(cb - 2));
      unit(slot(cb - 6));
      return;
    default:
      return;
  }
}

bool InterpreterTranslator::is_zero_constant(uint32_t source) const {
  const uint32_t cell = source / 8;
  return cell >= local_cells_ && cell - local_cells_ < out_->constants.size() &&
         out_->constants[cell - local_cells_] == 0;
}

// Functions with many constants (a printf has hundreds) would search the list at each one: an
// open-addressed table of (bits, index + 1) finds them, sized once per function.
uint32_t InterpreterTranslator::constant_index(uint64_t bits) {
  std::vector<uint64_t>& constants = out_->constants;
  if (constant_cells_ <= 16) {
    auto found = std::find(constants.begin(), constants.end(), bits);
    if (found != constants.end()) return static_cast<uint32_t>(found - constants.begin());
  } else {
    if (constant_table_.empty()) constant_table_.assign(std::bit_ceil(constant_cells_ * 2), {0, 0});
    const size_t mask = constant_table_.size() - 1;
    size_t slot = (bits * 0x9e3779b97f4a7c15ull) >> 40 & mask;
    for (; constant_table_[slot].second; slot = (slot + 1) & mask) {
      if (constant_table_[slot].first == bits) return constant_table_[slot].second - 1;
    }
    if (constants.size() < constant_cells_) {
      constant_table_[slot] = {bits, static_cast<uint32_t>(constants.size()) + 1};
    }
  }
  if (constants.size() == constant_cells_) return UINT32_MAX;
  constants.push_back(bits);
  return static_cast<uint32_t>(constants.size() - 1);
}

void InterpreterTranslator::push_constant(const Instruction& ins, uint32_t cell, uint64_t bits,
                                          bool wide) {
  // A cell holds a 32-bit value zero-extended, so equal cells are interchangeable whatever the
  // constant's type.
  const uint32_t index = constant_index(bits);
  if (index != UINT32_MAX) {
    const uint32_t constant_cell = local_cells_ + index;
    lazy_.push_back({cell, constant_cell * 8, kNotSum});
    return;
  }
  begin(wide ? Handler::const64 : Handler::const32, ins);
  unit(slot(cell));
  unit(static_cast<uint32_t>(bits));
  if (wide) unit(static_cast<uint32_t>(bits >> 32));
}

void InterpreterTranslator::v128_immediate(const Instruction& ins) {
  unit(static_cast<uint32_t>(ins.bits));
  unit(static_cast<uint32_t>(ins.bits >> 32));
  unit(static_cast<uint32_t>(ins.bits_hi));
  unit(static_cast<uint32_t>(ins.bits_hi >> 32));
}

template Result<void> FunctionValidator::run(InterpreterTranslator& consumer);

}  // namespace kiln
