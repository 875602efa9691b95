#include "runtime/function_validator.h"

#include <algorithm>
#include <array>

#include "runtime/function_validator_run.h"
#include "runtime/module_decoder.h"
#include "runtime/opcodes.h"

namespace kiln {
namespace {
// One-value block types (spec 5.4.1: a value type) as spans of this table, so that control
// frames own no storage.
constexpr std::array<ValType, 256> kSingleValueTypes = [] {
  std::array<ValType, 256> types{};
  for (size_t i = 0; i < types.size(); ++i) types[i] = static_cast<ValType>(i);
  return types;
}();

}  // namespace

FunctionValidator::FunctionValidator(const Module& module, uint32_t function_index)
    : module_(&module), reader_({}) {
  ctrls_.reserve(16);
  reset(function_index);
}

void FunctionValidator::reset(uint32_t function_index) {
  function_index_ = function_index;
  type_ = &module_->function_type(function_index);
  body_ = &module_->bodies[function_index - module_->imported_functions];
  reader_ = BinaryReader(body_->code, body_->code_offset);
  local_types_.assign(type_->params.begin(), type_->params.end());
  for (const LocalDecl& run : body_->locals) {
    local_types_.insert(local_types_.end(), run.count, run.type);
  }
  local_cells_.clear();
  total_local_cells_ = 0;
  for (ValType t : local_types_) {
    local_cells_.push_back(total_local_cells_);
    total_local_cells_ += cell_count(t);
  }
  vals_.truncate(0);
  cells_ = max_cells_ = 0;
  ctrls_.clear();
  frame_height_ = 0;
  loop_depth_ = 0;
  local_weights_.clear();
  loop_used_locals_.clear();
  loop_locals_.locals.clear();
  loop_locals_.loops.clear();
  makes_calls_ = has_loops_ = false;
  loop_call_weight_ = 0;
  instruction_offset_ = 0;
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
  frame.height = frame_height_ = static_cast<uint32_t>(vals_.size());
  frame.height_cells = cells_;
  frame.params = params;
  frame.results = results;
  if (opcode == kLoop && loop_depth_++ == 0) {
    loop_base_cells_ = cells_;
    max_cells_before_loop_ = max_cells_;
    max_cells_ = cells_;
    calls_before_loop_ = makes_calls_;
    makes_calls_ = false;
    loop_call_weight_ = 0;
  }
  has_loops_ = has_loops_ || opcode == kLoop;
  push_all(params);
}

void FunctionValidator::close_outermost_loop() {
  // Heaviest first; among equals, the lower index.
  const auto weight = [&](uint32_t local) { return local_weights_[local] & ~kLocalWritten; };
  std::sort(loop_used_locals_.begin(), loop_used_locals_.end(), [&](uint32_t a, uint32_t b) {
    return weight(a) != weight(b) ? weight(a) > weight(b) : a < b;
  });
  const size_t count = std::min(loop_used_locals_.size(), kHotLocalsPerLoop);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t local = loop_used_locals_[i];
    loop_locals_.locals.push_back(
        {local, (local_weights_[local] & kLocalWritten) != 0, weight(local)});
  }
  loop_locals_.loops.push_back({static_cast<uint32_t>(loop_locals_.locals.size()),
                                max_cells_ - loop_base_cells_, makes_calls_, loop_call_weight_});
  max_cells_ = std::max(max_cells_, max_cells_before_loop_);
  makes_calls_ = makes_calls_ || calls_before_loop_;
  for (uint32_t local : loop_used_locals_) local_weights_[local] = 0;
  loop_used_locals_.clear();
}

Result<void> FunctionValidator::pop_ctrl() {
  if (ctrls_.empty()) return fail("unexpected end");
  KILN_TRY(pop_all(ctrls_.back().results));
  if (vals_.size() != ctrls_.back().height)
    return fail("type mismatch: values remain on the stack at end of block");
  closed_ = ctrls_.back();
  ctrls_.pop_back();
  frame_height_ = ctrls_.empty() ? 0 : ctrls_.back().height;
  if (closed_.opcode == kLoop && --loop_depth_ == 0) close_outermost_loop();
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
  if (static_cast<uint64_t>(bt) >= module_->types.size()) {
    return fail("unknown type " + std::to_string(bt));
  }
  params = module_->types[bt].params;
  results = module_->types[bt].results;
  return {};
}

Result<void> FunctionValidator::read_memarg_general(uint32_t natural_alignment_log2,
                                                    Instruction& ins) {
  const size_t align_at = reader_.offset();
  KILN_ASSIGN(uint32_t align, reader_.read_u32());
  // Multi-memory (Wasm 3.0, spec 5.4.7 memarg): bit 6 says a memory index follows the flags.
  // (Set either way: without a consumer, step() does not clear the instruction.)
  ins.memory_index = 0;
  if (module_->multi_memory && align >= 64 && align < 128) {
    align -= 64;
    KILN_SET(ins.memory_index, reader_.read_u32());
  }
  // An alignment of 2^32 or more cannot be expressed at all: a binary-format error, not a
  // validation one.
  if (align >= 32) return BinaryReader::malformed_at("malformed memop flags", align_at);
  KILN_SET(ins.memory_offset, reader_.read_u32());
  KILN_TRY(require_memory(ins.memory_index));
  if (align > natural_alignment_log2) return fail("alignment must not be larger than natural");
  return {};
}

Result<void> FunctionValidator::read_lane_index(uint32_t lanes, Instruction& ins) {
  size_t at = reader_.offset();
  KILN_ASSIGN(uint8_t lane, reader_.read_byte());
  if (lane >= lanes) return fail_at("invalid lane index " + std::to_string(lane), at);
  ins.index = lane;
  return {};
}

Result<void> FunctionValidator::require_memory(uint32_t index) {
  if (index >= module_->memories.size()) return fail("unknown memory " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_table(uint32_t index) {
  if (index >= module_->tables.size()) return fail("unknown table " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_data(uint32_t index) {
  if (!module_->data_count) {
    // Without data segments there is nothing to name; with some, the binary format requires
    // the data count section before code that uses them (spec 5.5.13).
    if (module_->data.empty()) return fail("unknown data segment " + std::to_string(index));
    return BinaryReader::malformed_at("data count section required", instruction_offset_);
  }
  if (index >= *module_->data_count) return fail("unknown data segment " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_elem(uint32_t index) {
  if (index >= module_->elements.size())
    return fail("unknown elem segment " + std::to_string(index));
  return {};
}
Result<void> FunctionValidator::require_tag(uint32_t index) {
  if (index >= module_->tags.size()) return fail("unknown tag " + std::to_string(index));
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
      values = module_->tag_type(clause.tag).params;
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
  if (module_->multi_memory) return reader_.read_u32();
  KILN_TRY(read_zero_byte());
  return 0u;
}

Result<void> FunctionValidator::read_zero_byte() {
  size_t at = reader_.offset();
  KILN_ASSIGN(uint8_t b, reader_.read_byte());
  if (b != 0) return BinaryReader::malformed_at("zero byte expected", at);
  return {};
}

Result<void> FunctionValidator::check_body_ends() {
  if (!reader_.at_end()) {
    return BinaryReader::malformed_at("section size mismatch: code after the function's end",
                                      reader_.offset());
  }
  return {};
}

Result<void> FunctionValidator::validate() {
  push_ctrl(kEnd, {}, type_->results, false);
  KILN_TRY(read_instructions<NoConsumer>(nullptr));
  return check_body_ends();
}

}  // namespace kiln
