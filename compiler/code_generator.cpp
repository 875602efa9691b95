#include "compiler/code_generator.h"

#include <algorithm>
#include <array>
#include <bit>
#include <type_traits>

#include "compiler/runtime_calls.h"
#include "runtime/binary_reader.h"
#include "runtime/interpreter_code.h"
#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"

namespace kiln::jit {

namespace {

// How the operators of the opcode tables are compiled inline (the rest go out of line, through
// the functions runtime_calls.cpp generates from the same tables). Indexed by simple_op_slot.
enum class Recipe : uint8_t {
  kNone,
  kIntBinary,
  kIntUnary,
  kIntDivide,
  kIntCompare,
  kFloatBinary,
  kFloatUnary,
  kFloatCompare,
  kConvert,
  kLoad,
  kStore,
};
struct InlineOp {
  Recipe recipe = Recipe::kNone;
  uint8_t op = 0;  // the IntBinaryOp, IntUnaryOp, ... of the recipe
  Width width = Width::k32;
  MemoryAccess access;
};

// Each operator's encoding, by name, from the tables of opcodes.h.
#define KILN_OPCODE_OF(name, opc, ...) [[maybe_unused]] constexpr uint32_t opcode_##name = opc;
KILN_UNARY_OPS(KILN_OPCODE_OF)
KILN_BINARY_OPS(KILN_OPCODE_OF)
KILN_CHECKED_BINARY_OPS(KILN_OPCODE_OF)
#undef KILN_OPCODE_OF

template <typename T>
constexpr ValType value_type_of() {
  if constexpr (std::is_same_v<T, float>) return ValType::kF32;
  if constexpr (std::is_same_v<T, double>) return ValType::kF64;
  if constexpr (sizeof(T) == 8) return ValType::kI64;
  return ValType::kI32;
}

// The operators compiled inline: X(name in opcodes.h, recipe, the recipe's operation, width).
// Every other operator of the tables runs out of line.
// clang-format off
#define KILN_JIT_INLINE_OPS(X) \
  X(i32_add, kIntBinary, IntBinaryOp::kAdd, k32) \
  X(i32_sub, kIntBinary, IntBinaryOp::kSub, k32) \
  X(i32_mul, kIntBinary, IntBinaryOp::kMul, k32) \
  X(i32_and, kIntBinary, IntBinaryOp::kAnd, k32) \
  X(i32_or, kIntBinary, IntBinaryOp::kOr, k32) \
  X(i32_xor, kIntBinary, IntBinaryOp::kXor, k32) \
  X(i32_shl, kIntBinary, IntBinaryOp::kShl, k32) \
  X(i32_shr_s, kIntBinary, IntBinaryOp::kShrS, k32) \
  X(i32_shr_u, kIntBinary, IntBinaryOp::kShrU, k32) \
  X(i32_rotl, kIntBinary, IntBinaryOp::kRotl, k32) \
  X(i32_rotr, kIntBinary, IntBinaryOp::kRotr, k32) \
  X(i64_add, kIntBinary, IntBinaryOp::kAdd, k64) \
  X(i64_sub, kIntBinary, IntBinaryOp::kSub, k64) \
  X(i64_mul, kIntBinary, IntBinaryOp::kMul, k64) \
  X(i64_and, kIntBinary, IntBinaryOp::kAnd, k64) \
  X(i64_or, kIntBinary, IntBinaryOp::kOr, k64) \
  X(i64_xor, kIntBinary, IntBinaryOp::kXor, k64) \
  X(i64_shl, kIntBinary, IntBinaryOp::kShl, k64) \
  X(i64_shr_s, kIntBinary, IntBinaryOp::kShrS, k64) \
  X(i64_shr_u, kIntBinary, IntBinaryOp::kShrU, k64) \
  X(i64_rotl, kIntBinary, IntBinaryOp::kRotl, k64) \
  X(i64_rotr, kIntBinary, IntBinaryOp::kRotr, k64) \
  X(i32_eqz, kIntUnary, IntUnaryOp::kEqz, k32) \
  X(i64_eqz, kIntUnary, IntUnaryOp::kEqz, k64) \
  X(i32_clz, kIntUnary, IntUnaryOp::kClz, k32) \
  X(i64_clz, kIntUnary, IntUnaryOp::kClz, k64) \
  X(i32_ctz, kIntUnary, IntUnaryOp::kCtz, k32) \
  X(i64_ctz, kIntUnary, IntUnaryOp::kCtz, k64) \
  X(i32_popcnt, kIntUnary, IntUnaryOp::kPopcnt, k32) \
  X(i64_popcnt, kIntUnary, IntUnaryOp::kPopcnt, k64) \
  X(i32_extend8_s, kIntUnary, IntUnaryOp::kExtend8S, k32) \
  X(i32_extend16_s, kIntUnary, IntUnaryOp::kExtend16S, k32) \
  X(i64_extend8_s, kIntUnary, IntUnaryOp::kExtend8S, k64) \
  X(i64_extend16_s, kIntUnary, IntUnaryOp::kExtend16S, k64) \
  X(i64_extend32_s, kIntUnary, IntUnaryOp::kExtend32S, k64) \
  X(i32_div_s, kIntDivide, IntDivideOp::kDivS, k32) \
  X(i32_div_u, kIntDivide, IntDivideOp::kDivU, k32) \
  X(i32_rem_s, kIntDivide, IntDivideOp::kRemS, k32) \
  X(i32_rem_u, kIntDivide, IntDivideOp::kRemU, k32) \
  X(i64_div_s, kIntDivide, IntDivideOp::kDivS, k64) \
  X(i64_div_u, kIntDivide, IntDivideOp::kDivU, k64) \
  X(i64_rem_s, kIntDivide, IntDivideOp::kRemS, k64) \
  X(i64_rem_u, kIntDivide, IntDivideOp::kRemU, k64) \
  X(i32_eq, kIntCompare, Condition::kEq, k32) \
  X(i32_ne, kIntCompare, Condition::kNe, k32) \
  X(i32_lt_s, kIntCompare, Condition::kLtS, k32) \
  X(i32_lt_u, kIntCompare, Condition::kLtU, k32) \
  X(i32_gt_s, kIntCompare, Condition::kGtS, k32) \
  X(i32_gt_u, kIntCompare, Condition::kGtU, k32) \
  X(i32_le_s, kIntCompare, Condition::kLeS, k32) \
  X(i32_le_u, kIntCompare, Condition::kLeU, k32) \
  X(i32_ge_s, kIntCompare, Condition::kGeS, k32) \
  X(i32_ge_u, kIntCompare, Condition::kGeU, k32) \
  X(i64_eq, kIntCompare, Condition::kEq, k64) \
  X(i64_ne, kIntCompare, Condition::kNe, k64) \
  X(i64_lt_s, kIntCompare, Condition::kLtS, k64) \
  X(i64_lt_u, kIntCompare, Condition::kLtU, k64) \
  X(i64_gt_s, kIntCompare, Condition::kGtS, k64) \
  X(i64_gt_u, kIntCompare, Condition::kGtU, k64) \
  X(i64_le_s, kIntCompare, Condition::kLeS, k64) \
  X(i64_le_u, kIntCompare, Condition::kLeU, k64) \
  X(i64_ge_s, kIntCompare, Condition::kGeS, k64) \
  X(i64_ge_u, kIntCompare, Condition::kGeU, k64) \
  X(f32_add, kFloatBinary, FloatBinaryOp::kAdd, k32) \
  X(f32_sub, kFloatBinary, FloatBinaryOp::kSub, k32) \
  X(f32_mul, kFloatBinary, FloatBinaryOp::kMul, k32) \
  X(f32_div, kFloatBinary, FloatBinaryOp::kDiv, k32) \
  X(f32_min, kFloatBinary, FloatBinaryOp::kMin, k32) \
  X(f32_max, kFloatBinary, FloatBinaryOp::kMax, k32) \
  X(f32_copysign, kFloatBinary, FloatBinaryOp::kCopysign, k32) \
  X(f64_add, kFloatBinary, FloatBinaryOp::kAdd, k64) \
  X(f64_sub, kFloatBinary, FloatBinaryOp::kSub, k64) \
  X(f64_mul, kFloatBinary, FloatBinaryOp::kMul, k64) \
  X(f64_div, kFloatBinary, FloatBinaryOp::kDiv, k64) \
  X(f64_min, kFloatBinary, FloatBinaryOp::kMin, k64) \
  X(f64_max, kFloatBinary, FloatBinaryOp::kMax, k64) \
  X(f64_copysign, kFloatBinary, FloatBinaryOp::kCopysign, k64) \
  X(f32_abs, kFloatUnary, FloatUnaryOp::kAbs, k32) \
  X(f32_neg, kFloatUnary, FloatUnaryOp::kNeg, k32) \
  X(f32_sqrt, kFloatUnary, FloatUnaryOp::kSqrt, k32) \
  X(f32_ceil, kFloatUnary, FloatUnaryOp::kCeil, k32) \
  X(f32_floor, kFloatUnary, FloatUnaryOp::kFloor, k32) \
  X(f32_trunc, kFloatUnary, FloatUnaryOp::kTrunc, k32) \
  X(f32_nearest, kFloatUnary, FloatUnaryOp::kNearest, k32) \
  X(f64_abs, kFloatUnary, FloatUnaryOp::kAbs, k64) \
  X(f64_neg, kFloatUnary, FloatUnaryOp::kNeg, k64) \
  X(f64_sqrt, kFloatUnary, FloatUnaryOp::kSqrt, k64) \
  X(f64_ceil, kFloatUnary, FloatUnaryOp::kCeil, k64) \
  X(f64_floor, kFloatUnary, FloatUnaryOp::kFloor, k64) \
  X(f64_trunc, kFloatUnary, FloatUnaryOp::kTrunc, k64) \
  X(f64_nearest, kFloatUnary, FloatUnaryOp::kNearest, k64) \
  X(f32_eq, kFloatCompare, FloatCondition::kEq, k32) \
  X(f32_ne, kFloatCompare, FloatCondition::kNe, k32) \
  X(f32_lt, kFloatCompare, FloatCondition::kLt, k32) \
  X(f32_gt, kFloatCompare, FloatCondition::kGt, k32) \
  X(f32_le, kFloatCompare, FloatCondition::kLe, k32) \
  X(f32_ge, kFloatCompare, FloatCondition::kGe, k32) \
  X(f64_eq, kFloatCompare, FloatCondition::kEq, k64) \
  X(f64_ne, kFloatCompare, FloatCondition::kNe, k64) \
  X(f64_lt, kFloatCompare, FloatCondition::kLt, k64) \
  X(f64_gt, kFloatCompare, FloatCondition::kGt, k64) \
  X(f64_le, kFloatCompare, FloatCondition::kLe, k64) \
  X(f64_ge, kFloatCompare, FloatCondition::kGe, k64) \
  X(i32_wrap_i64, kConvert, Conversion::kI32WrapI64, k32) \
  X(i64_extend_i32_s, kConvert, Conversion::kI64ExtendI32S, k32) \
  X(i64_extend_i32_u, kConvert, Conversion::kI64ExtendI32U, k32) \
  X(f32_convert_i32_s, kConvert, Conversion::kF32ConvertI32S, k32) \
  X(f32_convert_i64_s, kConvert, Conversion::kF32ConvertI64S, k32) \
  X(f32_convert_i32_u, kConvert, Conversion::kF32ConvertI32U, k32) \
  X(f64_convert_i32_s, kConvert, Conversion::kF64ConvertI32S, k32) \
  X(f64_convert_i64_s, kConvert, Conversion::kF64ConvertI64S, k32) \
  X(f64_convert_i32_u, kConvert, Conversion::kF64ConvertI32U, k32) \
  X(f32_demote_f64, kConvert, Conversion::kF32DemoteF64, k32) \
  X(f64_promote_f32, kConvert, Conversion::kF64PromoteF32, k32) \
  X(i32_reinterpret_f32, kConvert, Conversion::kI32ReinterpretF32, k32) \
  X(i64_reinterpret_f64, kConvert, Conversion::kI64ReinterpretF64, k32) \
  X(f32_reinterpret_i32, kConvert, Conversion::kF32ReinterpretI32, k32) \
  X(f64_reinterpret_i64, kConvert, Conversion::kF64ReinterpretI64, k32)
// clang-format on

struct InlineTable {
  InlineOp ops[kSimpleOpSlots] = {};
  constexpr InlineTable() {
    constexpr Width k32 = Width::k32, k64 = Width::k64;
#define KILN_INLINE_RECIPE(name, recipe, op, width) \
  ops[simple_op_slot(opcode_##name)] = {Recipe::recipe, static_cast<uint8_t>(op), width, {}};
    KILN_JIT_INLINE_OPS(KILN_INLINE_RECIPE)
#undef KILN_INLINE_RECIPE
    // Every scalar load and store, from their tables.
#define KILN_LOAD_RECIPE(name, opc, T, M, align)                                    \
  ops[simple_op_slot(opc)] = {Recipe::kLoad,                                        \
                              0,                                                    \
                              Width::k32,                                           \
                              {value_type_of<T>(), static_cast<uint8_t>(sizeof(M)), \
                               std::is_signed_v<M> && !std::is_floating_point_v<M>}};
#define KILN_STORE_RECIPE(name, opc, T, M, align) \
  ops[simple_op_slot(opc)] = {Recipe::kStore,     \
                              0,                  \
                              Width::k32,         \
                              {value_type_of<T>(), static_cast<uint8_t>(sizeof(M)), false}};
    KILN_LOAD_OPS(KILN_LOAD_RECIPE)
    KILN_STORE_OPS(KILN_STORE_RECIPE)
#undef KILN_LOAD_RECIPE
#undef KILN_STORE_RECIPE
  }
};
constexpr InlineTable kInline;

// The largest value a load puts in an i32: a zero-extended byte or half-word's.
uint32_t narrow_load_max(const MemoryAccess& access) {
  if (access.type != ValType::kI32 || access.sign_extend || access.bytes >= 4) return UINT32_MAX;
  return access.bytes == 1 ? 0xffu : 0xffffu;
}

}  // namespace

CodeGenerator::CodeGenerator(const Module& module, MacroAssembler& masm,
                             const CodeTierOptions& options, Buffers* buffers)
    : module_(module), masm_(masm), options_(options), buffers_(buffers) {
  std::fill(std::begin(general_owner_), std::end(general_owner_), kFree);
  std::fill(std::begin(float_owner_), std::end(float_owner_), kFree);
  if (buffers_) {
#define KILN_TAKE_BUFFER(member) member = std::move(buffers_->member);
    KILN_CODE_GENERATOR_BUFFERS(KILN_TAKE_BUFFER)
#undef KILN_TAKE_BUFFER
  }
}

namespace {
template <class T>
void clear_buffer(std::vector<T>& v) {
  v.clear();
}
template <class T>
void clear_buffer(FlatStack<T>& s) {
  s.truncate(0);
}
}  // namespace

CodeGenerator::~CodeGenerator() {
  if (!buffers_) return;
#define KILN_GIVE_BACK_BUFFER(member) \
  clear_buffer(member);               \
  buffers_->member = std::move(member);
  KILN_CODE_GENERATOR_BUFFERS(KILN_GIVE_BACK_BUFFER)
#undef KILN_GIVE_BACK_BUFFER
}

// ---------------------------------------------------------------------------------------------
// Values and registers

void CodeGenerator::push_cell(ValType t, uint32_t cell) {
  Value v;
  v.type = t;
  v.cell = cell;
  stack_.push_back(v);
}

void CodeGenerator::release(const Value& v) {
  if (v.where == Value::Where::kScaled || v.where == Value::Where::kAddress) {
    free_register(RegisterClass::kGeneral, v.reg);
    if (v.where == Value::Where::kAddress) free_register(RegisterClass::kGeneral, v.index);
    return;
  }
  if (v.where == Value::Where::kCondition) {
    free_register(RegisterClass::kGeneral, v.reg);
    if (v.b.kind == Source::Kind::kRegister) free_register(RegisterClass::kGeneral, v.b.reg);
    return;
  }
  if (v.where != Value::Where::kRegister) return;
  int* owner = register_class(v.type) == RegisterClass::kGeneral ? general_owner_ : float_owner_;
  if (owner[v.reg] == kHeld) owner[v.reg] = kFree;
}

void CodeGenerator::free_register(RegisterClass c, Reg r) {
  int* owner = c == RegisterClass::kGeneral ? general_owner_ : float_owner_;
  if (owner[r] == kHeld) owner[r] = kFree;
}

const CodeGenerator::PinnedLocal* CodeGenerator::pinned_in_set(int32_t local_slot) const {
  const auto cell = static_cast<size_t>(local_slot / 8);
  if (cell >= pinned_at_cell_.size() || pinned_at_cell_[cell] < 0) return nullptr;
  return &current_pinned()[static_cast<size_t>(pinned_at_cell_[cell])];
}

void CodeGenerator::save_pinned(PinnedSet set) {
  for (const PinnedLocal& p : pinned_sets_[set]) {
    if (p.written) masm_.store_slot(p.type, p.slot, p.reg);
  }
}

void CodeGenerator::restore_pinned(PinnedSet set) {
  for (const PinnedLocal& p : pinned_sets_[set]) masm_.load_slot(p.type, p.reg, p.slot);
}

void CodeGenerator::pin_loop_locals(uint32_t ordinal, const FunctionValidator& v,
                                    bool written_outside) {
  const CompiledFunction& compiled = compiled_function();
  if (ordinal >= compiled.loop_locals.loops.size()) return;
  // Each class's registers from the end of its pool: 3 of the 8 general ones and 6 of the 14
  // float ones, and beyond those as many as the loop's value stack can spare, keeping at least
  // 3 general and 4 float registers. The stack holds at most the loop's operand cells at once,
  // but most of those are locals not yet read and constants, in no register: a third of them
  // is the estimate (a loop that needs more spills its deepest values to their cells). Against
  // all of them, callgrind on the workloads: matmul -6.9 %, bytecode_vm -6.2 %, nbody -5.0 %,
  // crc32 -2.2 %, sha256 -1.4 %, hashtable -1.1 %, the others level.
  //
  // In a loop with calls, every pinned local is saved before each call and reloaded after it, so
  // a local past the first 3 (or 6) is pinned only if its uses outweigh that: more than twice
  // the loop's calls, both weighed by loop depth. A partition loop that recurses once per pass
  // but scans in inner loops (quicksort) keeps its scans' locals in registers; a loop that calls
  // as often as it uses its locals keeps 3. Callgrind on the workloads (bench/workloads/
  // quick-args): quicksort -12.9 %, words -3.0 %, the others level.
  const LoopHotLocals::Loop& loop = compiled.loop_locals.loops[ordinal];
  const auto general_registers = masm_.value_registers(RegisterClass::kGeneral);
  const auto float_registers = masm_.value_registers(RegisterClass::kFloat);
  const auto cap = [&](size_t pool, size_t kept, size_t least) -> uint32_t {
    const size_t stack = std::max<size_t>(kept, (loop.operand_cells + 2) / 3);
    const size_t spare = pool <= stack ? 0 : pool - stack;
    return static_cast<uint32_t>(std::max(least, spare));
  };
  constexpr uint32_t kGeneralAlways = 3, kFloatAlways = 6;
  const uint32_t general_cap = cap(general_registers.size(), 3, kGeneralAlways);
  const uint32_t float_cap = cap(float_registers.size(), 4, kFloatAlways);
  std::vector<PinnedLocal> set;
  uint32_t general = 0, floats = 0;
  for (const HotLocal& local : compiled.loop_locals.of(ordinal)) {
    const ValType t = v.local_types()[local.index];
    if (t == ValType::kV128) continue;
    const bool is_general = register_class(t) == RegisterClass::kGeneral;
    uint32_t& count = is_general ? general : floats;
    const auto registers = is_general ? general_registers : float_registers;
    if (count == (is_general ? general_cap : float_cap) || count >= registers.size()) continue;
    if (loop.calls && count >= (is_general ? kGeneralAlways : kFloatAlways) &&
        local.weight <= 2 * loop.call_weight) {
      continue;
    }
    const Reg r = registers[registers.size() - 1 - count];
    ++count;
    set.push_back({local.index, static_cast<int32_t>(v.local_cell(local.index) * 8), t, r,
                   local.written || written_outside, local.written});
  }
  // From entry (a function's one loop): the declared locals that stay in registers start
  // there as zeros, and only the others' cells are zeroed (the cells of written locals are
  // written before anything reads them: save_pinned).
  const uint32_t param_count = static_cast<uint32_t>(v.type().params.size());
  if (written_outside) {
    // The cells of the declared locals in registers (one each: v128 is never kept), in order;
    // the runs between them are zeroed.
    std::vector<uint32_t> kept_cells;
    for (const PinnedLocal& p : set) {
      if (p.index >= param_count) kept_cells.push_back(static_cast<uint32_t>(p.slot / 8));
    }
    std::sort(kept_cells.begin(), kept_cells.end());
    kept_cells.push_back(local_cells_);
    uint32_t run = v.type().param_cells();  // the first cell of the run of cells to zero
    for (const uint32_t cell : kept_cells) {
      if (cell > run) masm_.zero_frame(run * 8, cell * 8);
      run = cell + 1;
    }
  }
  if (set.empty()) return;
  pinned_sets_.push_back(std::move(set));
  switch_pinned_set(static_cast<PinnedSet>(pinned_sets_.size() - 1));
  if (!written_outside) {
    restore_pinned();
    return;
  }
  for (const PinnedLocal& p : current_pinned()) {
    if (p.index < param_count) {
      masm_.load_slot(p.type, p.reg, p.slot);
    } else {
      masm_.load_constant(p.type, p.reg, 0);
    }
  }
}

void CodeGenerator::enter_function_loop() {
  // A loop without calls stores nothing of its own: only a store per entry would be left.
  const CompiledFunction& compiled = compiled_function();
  if (!compiled.loop_locals.loops[0].calls) return;
  std::vector<PinnedLocal> in_loop = current_pinned();
  bool any = false;
  for (PinnedLocal& p : in_loop) {
    if (p.written && !p.loop_writes) {
      masm_.store_slot(p.type, p.slot, p.reg);
      p.written = false;
      any = true;
    }
  }
  if (!any) return;
  from_entry_set_ = pinned_set_;
  pinned_sets_.push_back(std::move(in_loop));
  loop_twin_ = static_cast<PinnedSet>(pinned_sets_.size() - 1);
  switch_pinned_set(loop_twin_);
}

void CodeGenerator::switch_pinned_set(PinnedSet set) {
  for (const PinnedLocal& p : current_pinned()) {
    (register_class(p.type) == RegisterClass::kGeneral ? general_owner_ : float_owner_)[p.reg] =
        kFree;
    pinned_at_cell_[static_cast<size_t>(p.slot / 8)] = -1;
  }
  const auto general = masm_.value_registers(RegisterClass::kGeneral);
  const auto floats = masm_.value_registers(RegisterClass::kFloat);
  general_pool_.assign(general.begin(), general.end());
  float_pool_.assign(floats.begin(), floats.end());
  pinned_set_ = set;
  for (size_t i = 0; i < current_pinned().size(); ++i) {
    const PinnedLocal& p = current_pinned()[i];
    pinned_at_cell_[static_cast<size_t>(p.slot / 8)] = static_cast<int8_t>(i);
    const bool is_general = register_class(p.type) == RegisterClass::kGeneral;
    (is_general ? general_owner_ : float_owner_)[p.reg] = kPinned;
    std::erase(is_general ? general_pool_ : float_pool_, p.reg);
  }
}

bool CodeGenerator::int_binary_into_new_register(IntBinaryOp op, Width w, ValType t,
                                                 const Source& a, const Source& b) {
  // Asked first: a register taken and given back costs more than the question.
  if (!masm_.has_int_binary_into(op, a, b)) return false;
  const Reg r = allocate(RegisterClass::kGeneral);
  masm_.int_binary_into(op, w, r, a, b);
  push_register(t, r);
  return true;
}

bool CodeGenerator::has_free_register(RegisterClass c) const {
  const int* owner = c == RegisterClass::kGeneral ? general_owner_ : float_owner_;
  for (Reg r : c == RegisterClass::kGeneral ? general_pool_ : float_pool_) {
    if (owner[r] == kFree) return true;
  }
  return false;
}

Reg CodeGenerator::allocate(RegisterClass c) {
  int* owner = c == RegisterClass::kGeneral ? general_owner_ : float_owner_;
  for (Reg r : c == RegisterClass::kGeneral ? general_pool_ : float_pool_) {
    if (owner[r] == kFree) {
      owner[r] = kHeld;
      return r;
    }
  }
  // None free: the deepest value in a register of this class goes to its cell.
  for (Value& v : stack_) {
    if (v.where == Value::Where::kRegister && register_class(v.type) == c) {
      const Reg r = v.reg;
      spill(v);
      owner[r] = kHeld;
      return r;
    }
  }
  failed_ = true;  // every register held by the current instruction: cannot happen
  return (c == RegisterClass::kGeneral ? general_pool_ : float_pool_)[0];
}

Reg CodeGenerator::take_register(const Value& v) {
  // Held since popped (a condition is computed before any instruction but br_if and if).
  if (v.where == Value::Where::kRegister || v.where == Value::Where::kCondition) return v.reg;
  const Reg r = allocate(register_class(v.type));
  load_into(r, v);
  return r;
}

Source CodeGenerator::source_of(const Value& v, bool immediate_ok) {
  switch (v.where) {
    case Value::Where::kCondition:  // (never: computed before every instruction but br_if/if)
    case Value::Where::kScaled:     // (never: computed before every instruction but its own)
    case Value::Where::kAddress:
    case Value::Where::kRegister:
      return Source::of_register(v.reg);
    case Value::Where::kConstant:
      if (immediate_ok) {
        // An i32 immediate as its signed value: the 32-bit instruction sees the same bits.
        const int64_t imm = v.type == ValType::kI32
                                ? static_cast<int64_t>(static_cast<int32_t>(v.bits))
                                : static_cast<int64_t>(v.bits);
        return Source::of_immediate(imm);
      }
      break;
    case Value::Where::kLocal:
      // A pinned local's register is read, never written, through the source.
      if (v.local_reg >= 0) return Source::of_register(static_cast<Reg>(v.local_reg));
      return Source::of_slot(v.local_slot);
    case Value::Where::kCell:
      return Source::of_slot(operand_slot(v.cell));
  }
  return Source::of_register(take_register(v));
}

// Writes v's value into the cells at `slot`, the whole cell as the interpreter writes it (an
// i32 or f32 zero-extended). v itself stays where it is.
void CodeGenerator::store_value(const Value& v, int32_t slot) {
  switch (v.where) {
    case Value::Where::kCondition:  // (never: spill() computes these first)
    case Value::Where::kScaled:
    case Value::Where::kAddress:
      return;
    case Value::Where::kCell:
      if (slot != operand_slot(v.cell)) {
        masm_.copy_slots(slot, operand_slot(v.cell), cell_count(v.type));
      }
      return;
    case Value::Where::kRegister:
      masm_.store_slot(v.type, slot, v.reg);
      return;
    case Value::Where::kConstant:
      masm_.store_slot_constant(slot, v.type == ValType::kI32 || v.type == ValType::kF32
                                          ? static_cast<uint32_t>(v.bits)
                                          : v.bits);
      return;
    case Value::Where::kLocal:
      if (v.local_reg >= 0) {
        masm_.store_slot(v.type, slot, static_cast<Reg>(v.local_reg));
      } else {
        masm_.copy_slots(slot, v.local_slot, cell_count(v.type));
      }
      return;
  }
}

void CodeGenerator::spill(Value& v) {
  if (v.where == Value::Where::kCondition) materialize_condition();  // only ever the top value
  if (v.where >= Value::Where::kScaled) compute_lazy_address(v);     // the same
  if (v.where == Value::Where::kCell) return;
  store_value(v, operand_slot(v.cell));
  if (v.where == Value::Where::kRegister) {
    (register_class(v.type) == RegisterClass::kGeneral ? general_owner_ : float_owner_)[v.reg] =
        kFree;
  }
  v.where = Value::Where::kCell;
}

void CodeGenerator::spill_registers() {
  for (Value& v : stack_) {
    if (v.where == Value::Where::kRegister) spill(v);
  }
}

void CodeGenerator::materialize_from(uint32_t cell) {
  for (Value& v : stack_) {
    if (v.cell >= cell) spill(v);
  }
}

void CodeGenerator::flush() {
  for (Value& v : stack_) spill(v);
}

void CodeGenerator::spill_local_aliases(int32_t local_slot) {
  for (Value& v : stack_) {
    if (v.where == Value::Where::kLocal && v.local_slot == local_slot) spill(v);
  }
}

const CodeGenerator::PinnedLocal* CodeGenerator::next_sets_pinned_local_in_set(ValType t) const {
  const std::span<const uint8_t> next = validator_->bytes_after();
  if (next.empty() || (next[0] != kLocalSet && next[0] != kLocalTee)) return nullptr;
  BinaryReader reader(next.subspan(1));
  Result<uint32_t> read = reader.read_u32();
  if (!read) return nullptr;  // (invalid: never compiled)
  const uint32_t index = *read;
  if (index >= validator_->local_types().size()) return nullptr;  // (invalid: never compiled)
  const PinnedLocal* p = pinned(static_cast<int32_t>(validator_->local_cell(index) * 8));
  return p && p->type == t ? p : nullptr;
}

void CodeGenerator::load_into(Reg r, const Value& v) {
  switch (v.where) {
    case Value::Where::kRegister:
      masm_.move(v.type, r, v.reg);
      return;
    case Value::Where::kConstant:
      masm_.load_constant(v.type, r, v.bits);
      return;
    case Value::Where::kLocal:
      if (v.local_reg >= 0) {
        masm_.move(v.type, r, static_cast<Reg>(v.local_reg));
      } else {
        masm_.load_slot(v.type, r, v.local_slot);
      }
      return;
    default:  // kCell (conditions and lazy addresses are computed before an operator)
      masm_.load_slot(v.type, r, operand_slot(v.cell));
  }
}

void CodeGenerator::push_pinned_local(const PinnedLocal& target) {
  Value local;
  local.where = Value::Where::kLocal;
  local.type = target.type;
  local.local_slot = target.slot;
  local.local_reg = static_cast<int16_t>(target.reg);
  local.cell = top_cells();
  stack_.push_back(local);
}

bool CodeGenerator::int_binary_into_local(IntBinaryOp op, Width w, const Value& a, const Value& b,
                                          const PinnedLocal& target) {
  const Reg t = target.reg;
  const Value* first = &a;
  const Value* second = &b;
  if (is_local_in(b, t) && !is_local_in(a, t)) {
    if (op != IntBinaryOp::kAdd && op != IntBinaryOp::kMul && op != IntBinaryOp::kAnd &&
        op != IntBinaryOp::kOr && op != IntBinaryOp::kXor) {
      return false;
    }
    std::swap(first, second);  // commutative: the local's register is the one operated on
  }
  spill_local_aliases(target.slot);  // reads of the local's old value still pending
  const Source source = source_of(*second, true);
  if (is_local_in(*first, t)) {
    masm_.int_binary(op, w, t, source);
  } else {
    const bool in_register = first->where == Value::Where::kRegister || is_pinned_local(*first);
    const Reg r =
        first->where == Value::Where::kRegister ? first->reg : static_cast<Reg>(first->local_reg);
    if (!in_register || !masm_.int_binary_into(op, w, t, Source::of_register(r), source)) {
      load_into(t, *first);
      masm_.int_binary(op, w, t, source);
    }
  }
  if (source.kind == Source::Kind::kRegister) free_register(RegisterClass::kGeneral, source.reg);
  release(*first);
  push_pinned_local(target);
  return true;
}

bool CodeGenerator::float_binary_into_local(FloatBinaryOp op, Width w, const Value& a,
                                            const Value& b, const PinnedLocal& target) {
  const Reg t = target.reg;
  // Not even add and mul swap their operands: with two NaNs x64 keeps the first one's payload,
  // as the interpreter's code does.
  if (is_local_in(b, t) && !is_local_in(a, t)) return false;
  spill_local_aliases(target.slot);
  const Reg rb = read_register(b);
  if (!is_local_in(a, t)) load_into(t, a);
  masm_.float_binary(op, w, t, rb);
  free_register(RegisterClass::kFloat, rb);
  release(a);
  push_pinned_local(target);
  return true;
}

void CodeGenerator::reset_stack(uint32_t height_cells, std::span<const ValType> types) {
  while (!stack_.empty() && stack_.back().cell >= height_cells) {
    release(pop());
  }
  uint32_t cell = height_cells;
  for (ValType t : types) {
    push_cell(t, cell);
    cell += cell_count(t);
  }
}

void CodeGenerator::on_operator(const Instruction& ins) {
  if (!ins.live) return;
  materialize_lazy_address(ins);
  // A pending comparison is consumed by the br_if or if right after it; before anything
  // else it is computed.
  materialize_condition();
  // The value stack and the decoder disagree: leave the function to the interpreter.
  if (ins.cells_before != top_cells()) {
    failed_ = true;
    return;
  }
  add_cost(ins);
  // Generated code keeps memory 0's base in a register; a load or store of another memory
  // (multi-memory) goes out of line, as does an operator without an inline form (SIMD, what
  // the backend lacks).
  if (ins.memory_index == 0 && emit_inline(ins)) return;
  uint32_t operand_cells = 0;
  for (uint8_t i = 0; i < ins.operand_count; ++i) operand_cells += cell_count(ins.operands[i]);
  const uint64_t memarg = ins.memory_offset | uint64_t{ins.memory_index} << kMemoryIndexShift;
  emit_out_of_line(ins, operand_cells, ins.result, memarg, ins.index);
}

void CodeGenerator::on_other_instruction(const Instruction& ins, const FunctionValidator& v) {
  const uint32_t op = ins.opcode;
  // A function with memory.size, grow, init, fill or copy on another memory than memory 0
  // runs in the interpreter.
  if (ins.memory_index != 0 || (op == kMemoryCopy && ins.index2 != 0)) {
    failed_ = true;
    return;
  }
  if (ins.live) materialize_lazy_address(ins);
  // A local.set or local.tee of a local in a register takes a pending comparison too: the
  // comparison's result goes straight to the local's register.
  if (ins.live && op != kBrIf && op != kIf &&
      !((op == kLocalSet || op == kLocalTee) &&
        pinned(static_cast<int32_t>(v.local_cell(ins.index) * 8)))) {
    materialize_condition();
  }
  if (op == kBlock || op == kLoop || op == kIf || op == kElse || op == kEnd || op == kTryTable) {
    emit_control(ins, v);
    return;
  }
  if (!ins.live) return;
  const uint32_t cb = ins.cells_before;
  if (cb != top_cells()) {
    failed_ = true;
    return;
  }
  add_cost(ins);

  switch (op) {
    case kUnreachable:
      masm_.jump(trap_stub(TrapCode::kUnreachable, static_cast<uint32_t>(ins.offset)));
      return;
    case kThrow:
    case kThrowRef: {
      // The payload (or the reference) goes to its cells and the runtime makes the exception
      // pending; then it goes where a callee's would (a catch here, or out).
      const uint32_t first = op == kThrow ? cb - module_.tag_type(ins.index).param_cells() : cb - 1;
      materialize_from(first);
      spill_registers();
      save_pinned();
      if (op == kThrow) {
        const RuntimeArgument args[] = {RuntimeArgument::vm(),
                                        RuntimeArgument::immediate(ins.index),
                                        RuntimeArgument::slot_address(operand_slot(first))};
        masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_throw), args);
      } else {
        const RuntimeArgument args[] = {RuntimeArgument::vm(),
                                        RuntimeArgument::slot_address(operand_slot(first))};
        masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_throw_ref), args);
      }
      masm_.jump(exception_path(static_cast<uint32_t>(ins.offset)));
      return;
    }
    case kNop:
      return;
    case kDrop:
      release(pop());
      return;
    case kBr:
      flush();
      branch_to(ins.index, cb);
      return;
    case kBrIf: {
      const Value condition = pop();
      const uint32_t depth = ins.index;
      const Block& target = blocks_[blocks_.size() - 1 - depth];
      const uint32_t values_top = cb - 1;
      const bool moves =
          depth == blocks_.size() - 1 || changes_pinned(target.pinned_set) ||
          (target.label_cells && values_top - target.label_cells != target.height_cells);
      if (moves) {
        const Label skip = masm_.new_label();
        branch_on(condition, true, skip);
        branch_to(depth, values_top);
        masm_.bind(skip);
      } else {
        branch_on(condition, false, target.label);
      }
      if (ins.starts_segment) start_segment(ins);
      return;
    }
    case kBrTable: {
      const Value index = pop();
      const Reg r = take_register(index);
      flush();
      const auto& depths = *ins.br_table;
      const uint32_t values_top = cb - 1;
      std::vector<Label> targets;
      std::vector<std::pair<Label, uint32_t>> moves;  // (stub, depth)
      for (uint32_t depth : depths) {
        const Block& target = blocks_[blocks_.size() - 1 - depth];
        const bool move =
            depth == blocks_.size() - 1 || changes_pinned(target.pinned_set) ||
            (target.label_cells && values_top - target.label_cells != target.height_cells);
        if (move) {
          moves.emplace_back(masm_.new_label(), depth);
          targets.push_back(moves.back().first);
        } else {
          targets.push_back(target.label);
        }
      }
      masm_.branch_table(r, targets);
      free_register(register_class(ValType::kI32), r);
      for (auto [stub, depth] : moves) {
        masm_.bind(stub);
        branch_to(depth, values_top);
      }
      return;
    }
    case kReturn:
      emit_return(cb);
      return;
    case kCall: {
      const FuncType& type = module_.function_type(ins.index);
      emit_call(ins, type.param_cells(), type.results);
      return;
    }
    case kCallIndirect: {
      const FuncType& type = module_.types[ins.index];
      const uint32_t params = type.param_cells();
      const uint32_t first = cb - 1 - params;
      // The element index stays where it is (a register, most often) for the fast path; the
      // slow path stores it to its cell (store_indirect_index).
      if (stack_.back().where == Value::Where::kCondition) materialize_condition();
      const Value index = pop();
      const Source index_source = source_of(index, true);
      const int32_t index_slot = operand_slot(cb - 1);
      materialize_from(first);
      spill_registers();
      const uint32_t type_id = module_.type_ids[ins.index];
      // A function of this instance with machine code is called directly; anything else (and
      // every trap, with its message) goes through the runtime.
      const Label slow = masm_.new_label(), resume = masm_.new_label();
      const Label trapped = exception_path(static_cast<uint32_t>(ins.offset));
      save_pinned();
      masm_.call_indirect(ins.index2, type_id, index_source, operand_slot(first), slow, trapped);
      release(index);
      masm_.bind(resume);
      restore_pinned();
      const std::array<RuntimeArgument, 4> args = {
          RuntimeArgument::vm(), RuntimeArgument::immediate(ins.index2),
          RuntimeArgument::immediate(type_id), RuntimeArgument::slot_address(operand_slot(first))};
      stubs_.push_back([this, slow, resume, trapped, args, index_slot] {
        masm_.bind(slow);
        masm_.store_indirect_index(index_slot);
        masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_call_indirect), args);
        masm_.branch_if_result_nonzero(trapped);
        masm_.jump(resume);
      });
      reset_stack(first, type.results);
      if (ins.starts_segment) start_segment(ins);
      return;
    }
    case kSelect:
    case kSelectTyped: {
      const Value condition = pop();
      const Value b = pop();
      const Value a = pop();
      if (ins.type == ValType::kV128) {
        const Reg c = take_register(condition);
        const Label keep = masm_.new_label();
        masm_.branch_if_nonzero(c, keep);
        masm_.copy_slots(operand_slot(a.cell), operand_slot(b.cell), 2);
        masm_.bind(keep);
        free_register(register_class(ValType::kI32), c);
        push_cell(ValType::kV128, a.cell);
        return;
      }
      const Reg c = read_register(condition);
      const Reg rb = read_register(b);
      // Straight into the local the next instruction sets (next_sets_pinned_local) when a is
      // that local, or the register holds neither b nor the condition (read after a is there).
      if (const PinnedLocal* target = next_sets_pinned_local(a.type)) {
        const bool a_there = is_local_in(a, target->reg);
        if (!a_there && is_local_in(b, target->reg)) {
          // The local is b, kept when the condition is zero: a moves in otherwise.
          spill_local_aliases(target->slot);
          const Reg ra = read_register(a);
          masm_.select(a.type, target->reg, ra, c, true);
          free_register(register_class(ValType::kI32), c);
          free_register(register_class(a.type), ra);
          push_pinned_local(*target);
          return;
        }
        const bool register_read =
            (register_class(a.type) == RegisterClass::kGeneral && c == target->reg) ||
            rb == target->reg;
        if (a_there || !register_read) {
          spill_local_aliases(target->slot);  // reads of its old value still pending
          if (!a_there) load_into(target->reg, a);
          masm_.select(a.type, target->reg, rb, c);
          free_register(register_class(ValType::kI32), c);
          free_register(register_class(b.type), rb);
          release(a);
          push_pinned_local(*target);
          return;
        }
      }
      const Reg ra = take_register(a);
      masm_.select(a.type, ra, rb, c);
      free_register(register_class(ValType::kI32), c);
      free_register(register_class(b.type), rb);
      push_register(a.type, ra);
      return;
    }
    case kLocalGet:
      if (ins.type == ValType::kV128) {
        masm_.copy_slots(operand_slot(cb), static_cast<int32_t>(v.local_cell(ins.index) * 8), 2);
        push_cell(ValType::kV128, cb);
        return;
      }
      push_local(ins, v);
      return;
    case kLocalSet:
    case kLocalTee: {
      const int32_t slot = static_cast<int32_t>(v.local_cell(ins.index) * 8);
      Value value = pop();
      // Reads of the old value still pending go to their cells first.
      spill_local_aliases(slot);
      const PinnedLocal* target = pinned(slot);
      if (target && value.where == Value::Where::kCondition) {
        masm_.int_compare(value.condition, value.width, target->reg, value.reg, value.b);
      } else if (target && !is_local_in(value, target->reg)) {
        // (A value that is the local itself was computed into it: next_sets_pinned_local. Lazy
        // addresses are computed before this instruction.)
        load_into(target->reg, value);
      }
      if (!target) switch (value.where) {
          case Value::Where::kCondition:  // (never: computed before this instruction)
          case Value::Where::kScaled:
          case Value::Where::kAddress:
          case Value::Where::kRegister:
            masm_.store_slot(value.type, slot, value.reg);
            break;
          case Value::Where::kConstant:
            masm_.store_slot_constant(slot,
                                      value.type == ValType::kI32 || value.type == ValType::kF32
                                          ? static_cast<uint32_t>(value.bits)
                                          : value.bits);
            break;
          case Value::Where::kLocal:
            if (value.local_reg >= 0) {
              masm_.store_slot(value.type, slot, static_cast<Reg>(value.local_reg));
            } else if (value.local_slot != slot) {
              masm_.copy_slots(slot, value.local_slot, 1);
            }
            break;
          case Value::Where::kCell:
            masm_.copy_slots(slot, operand_slot(value.cell), cell_count(value.type));
            break;
        }
      if (op == kLocalSet || value.where == Value::Where::kCondition) release(value);
      if (op == kLocalSet) return;
      if (value.where == Value::Where::kRegister) {
        push_register(value.type, value.reg);
      } else if (value.where == Value::Where::kConstant) {
        push_constant(value.type, value.bits);
      } else if (value.type == ValType::kV128) {
        push_cell(ValType::kV128, value.cell);
      } else {
        Value alias;
        alias.where = Value::Where::kLocal;
        alias.type = value.type;
        alias.local_slot = slot;
        if (target) alias.local_reg = target->reg;
        alias.cell = value.cell;
        stack_.push_back(alias);
      }
      return;
    }
    case kGlobalGet: {
      if (ins.type == ValType::kV128) {
        masm_.copy_global_to_slot(ins.index, operand_slot(cb), 2);
        push_cell(ValType::kV128, cb);
        return;
      }
      const Reg r = allocate(register_class(ins.type));
      masm_.load_global(ins.type, r, ins.index);
      push_register(ins.type, r);
      return;
    }
    case kGlobalSet: {
      const Value value = pop();
      if (value.type == ValType::kV128) {
        masm_.copy_slot_to_global(ins.index, operand_slot(value.cell), 2);
        return;
      }
      const Reg r = read_register(value);
      masm_.store_global(value.type, ins.index, r);
      free_register(register_class(value.type), r);
      return;
    }
    case kI32Const:
    case kI64Const:
    case kF32Const:
    case kF64Const:
      push_scalar_constant(ins);
      return;
    case kV128Const:
      masm_.store_slot_constant(operand_slot(cb), ins.bits);
      masm_.store_slot_constant(operand_slot(cb + 1), ins.bits_hi);
      push_cell(ValType::kV128, cb);
      return;
    case kRefNull:
      push_constant(ins.type, 0);
      return;
    case kRefIsNull: {
      const Value value = pop();
      const Reg r = take_register(value);
      masm_.int_unary(IntUnaryOp::kEqz, Width::k64, r);
      push_register(ValType::kI32, r);
      return;
    }
    case kRefFunc: {
      const Reg r = allocate(RegisterClass::kGeneral);
      masm_.load_function_reference(r, ins.index);
      push_register(ValType::kFuncRef, r);
      return;
    }
    case kMemorySize: {
      const Reg r = allocate(RegisterClass::kGeneral);
      masm_.memory_size(r);
      push_register(ValType::kI32, r);
      return;
    }
    case kMemoryGrow: {
      materialize_from(cb - 1);
      spill_registers();
      const RuntimeArgument args[] = {RuntimeArgument::vm(),
                                      RuntimeArgument::slot_address(operand_slot(cb - 1))};
      save_pinned();
      masm_.call_runtime(reinterpret_cast<const void*>(&kiln_jit_memory_grow), args);
      restore_pinned();
      release(pop());
      push_cell(ValType::kI32, cb - 1);
      return;
    }
    case kI8x16Shuffle:
      emit_out_of_line(ins, 4, ValType::kV128, ins.bits, ins.bits_hi);
      return;
    case kV128Bitselect:
      emit_out_of_line(ins, 6, ValType::kV128, 0, 0);
      return;
    case kMemoryInit:
      emit_out_of_line(ins, 3, ValType::kUnknown, ins.index, 0);
      return;
    case kMemoryCopy:
    case kMemoryFill:
      emit_out_of_line(ins, 3, ValType::kUnknown, 0, 0);
      return;
    case kDataDrop:
    case kElemDrop:
      emit_out_of_line(ins, 0, ValType::kUnknown, ins.index, 0);
      return;
    case kTableInit:
      emit_out_of_line(ins, 3, ValType::kUnknown, ins.index, ins.index2);
      return;
    case kTableCopy:
      emit_out_of_line(ins, 3, ValType::kUnknown, ins.index, ins.index2);
      return;
    case kTableFill:
      emit_out_of_line(ins, 3, ValType::kUnknown, ins.index, 0);
      return;
    case kTableGrow:
      emit_out_of_line(ins, 2, ValType::kI32, ins.index, 0);
      return;
    case kTableSize:
      emit_out_of_line(ins, 0, ValType::kI32, ins.index, 0);
      return;
    case kTableGet:
      emit_out_of_line(ins, 1, ins.type, ins.index, 0);
      return;
    case kTableSet:
      emit_out_of_line(ins, 2, ValType::kUnknown, ins.index, 0);
      return;
    default:
      failed_ = true;  // an instruction this generator does not know: the interpreter runs it
  }
}

uint32_t CodeGenerator::known_max(const Value& v) {
  if (v.type != ValType::kI32) return UINT32_MAX;
  switch (v.where) {
    case Value::Where::kConstant:
      return static_cast<uint32_t>(v.bits);
    case Value::Where::kRegister:
      return v.max;
    default:
      return UINT32_MAX;
  }
}

uint32_t CodeGenerator::int_binary_max(IntBinaryOp op, const Value& a, const Value& b) {
  // (The operands' bounds are looked up only for the operators they can shrink.)
  switch (op) {
    case IntBinaryOp::kAnd:
      return std::min(known_max(a), known_max(b));
    case IntBinaryOp::kOr:
    case IntBinaryOp::kXor: {
      // No bit above the larger operand's highest one.
      const uint32_t m = std::max(known_max(a), known_max(b));
      return m == 0 ? 0 : UINT32_MAX >> std::countl_zero(m);
    }
    case IntBinaryOp::kShrU:
      if (b.where == Value::Where::kConstant) return known_max(a) >> (b.bits & 31);
      return known_max(a);
    default:
      return UINT32_MAX;
  }
}

bool CodeGenerator::emit_inline(const Instruction& ins) {
  const InlineOp& recipe = kInline.ops[simple_op_slot(ins.opcode)];
  switch (recipe.recipe) {
    case Recipe::kNone:
      return false;
    case Recipe::kIntBinary: {
      const Value b = pop();
      const Value a = pop();
      const IntBinaryOp op = static_cast<IntBinaryOp>(recipe.op);
      if (recipe.width == Width::k32) {
        // A table lookup's address stays pending (with guard pages: explicit checks compute
        // the sum anyway). A kScaled exists only under guard pages.
        if (op == IntBinaryOp::kShl && b.where == Value::Where::kConstant &&
            options_.bounds == BoundsChecks::kGuardPages &&
            !next_sets_pinned_local(ValType::kI32) && scale_lazily(a, b)) {
          return true;
        }
        if (op == IntBinaryOp::kAdd && b.where == Value::Where::kScaled) {
          add_lazily(a, b);
          return true;
        }
      }
      const uint32_t max = recipe.width == Width::k32 ? int_binary_max(op, a, b) : UINT32_MAX;
      emit_int_binary(op, recipe.width, a, b);
      stack_.back().max = max;
      return true;
    }
    case Recipe::kIntUnary: {
      if (!masm_.has_int_unary(static_cast<IntUnaryOp>(recipe.op))) return false;
      if (static_cast<IntUnaryOp>(recipe.op) == IntUnaryOp::kEqz) {  // a == 0: a condition
        const Value a = pop();
        Value condition;
        condition.where = Value::Where::kCondition;
        condition.type = ValType::kI32;
        condition.reg = read_register(a);
        condition.b = Source::of_immediate(0);
        condition.condition = Condition::kEq;
        condition.width = recipe.width;
        condition.cell = top_cells();
        stack_.push_back(condition);
        return true;
      }
      const Value a = pop();
      const Reg r = take_register(a);
      masm_.int_unary(static_cast<IntUnaryOp>(recipe.op), recipe.width, r);
      push_register(ins.result, r);
      return true;
    }
    case Recipe::kIntDivide: {
      const auto op = static_cast<IntDivideOp>(recipe.op);
      if (stack_.back().where == Value::Where::kConstant &&
          masm_.has_int_divide_by_constant(op, recipe.width, stack_.back().bits)) {
        const uint64_t divisor = pop().bits;
        const Value a = pop();
        const Reg ra = take_register(a);
        masm_.int_divide_by_constant(op, recipe.width, ra, divisor);
        push_register(a.type, ra);
        // An unsigned quotient or remainder is no larger than this (addresses from it need no
        // wrap check: Value::max).
        if (recipe.width == Width::k32 && !is_signed_division(op)) {
          const auto d = static_cast<uint32_t>(divisor);
          stack_.back().max = op == IntDivideOp::kDivU ? UINT32_MAX / d : d - 1;
        }
        return true;
      }
      const Value b = pop();
      const Value a = pop();
      const Reg rb = take_register(b);
      const Reg ra = take_register(a);
      const uint32_t at = static_cast<uint32_t>(ins.offset);
      masm_.int_divide(static_cast<IntDivideOp>(recipe.op), recipe.width, ra, rb,
                       trap_stub(TrapCode::kIntegerDivideByZero, at),
                       trap_stub(TrapCode::kIntegerOverflow, at));
      free_register(register_class(b.type), rb);
      push_register(a.type, ra);
      return true;
    }
    case Recipe::kIntCompare: {
      const Value b = pop();
      const Value a = pop();
      Value condition;
      condition.where = Value::Where::kCondition;
      condition.type = ValType::kI32;
      condition.reg = read_register(a);
      condition.b = source_of(b, true);
      condition.condition = static_cast<Condition>(recipe.op);
      condition.width = recipe.width;
      condition.cell = top_cells();
      stack_.push_back(condition);  // its registers stay held
      return true;
    }
    case Recipe::kFloatBinary: {
      if (!masm_.has_float_binary(static_cast<FloatBinaryOp>(recipe.op))) return false;
      const Value b = pop();
      const Value a = pop();
      if (const PinnedLocal* target = next_sets_pinned_local(a.type);
          target && float_binary_into_local(static_cast<FloatBinaryOp>(recipe.op), recipe.width, a,
                                            b, *target)) {
        return true;
      }
      const Reg rb = read_register(b);
      const Reg ra = take_register(a);
      masm_.float_binary(static_cast<FloatBinaryOp>(recipe.op), recipe.width, ra, rb);
      free_register(register_class(b.type), rb);
      push_register(a.type, ra);
      return true;
    }
    case Recipe::kFloatUnary: {
      if (!masm_.has_float_unary(static_cast<FloatUnaryOp>(recipe.op))) return false;
      const Value a = pop();
      if (const PinnedLocal* target = next_sets_pinned_local(a.type)) {
        spill_local_aliases(target->slot);  // reads of its old value still pending
        if (!is_local_in(a, target->reg)) load_into(target->reg, a);
        masm_.float_unary(static_cast<FloatUnaryOp>(recipe.op), recipe.width, target->reg);
        release(a);
        push_pinned_local(*target);
        return true;
      }
      const Reg r = take_register(a);
      masm_.float_unary(static_cast<FloatUnaryOp>(recipe.op), recipe.width, r);
      push_register(a.type, r);
      return true;
    }
    case Recipe::kFloatCompare: {
      const Value b = pop();
      const Value a = pop();
      const Reg rb = read_register(b);
      const Reg ra = read_register(a);
      // (Into a local the next instruction sets: float operands, an integer register.)
      const PinnedLocal* target = next_sets_pinned_local(ValType::kI32);
      if (target) spill_local_aliases(target->slot);
      const Reg r = target ? target->reg : allocate(RegisterClass::kGeneral);
      masm_.float_compare(static_cast<FloatCondition>(recipe.op), recipe.width, r, ra, rb);
      free_register(register_class(b.type), rb);
      free_register(register_class(a.type), ra);
      if (target) {
        push_pinned_local(*target);
        return true;
      }
      push_register(ValType::kI32, r);
      return true;
    }
    case Recipe::kConvert: {
      const auto c = static_cast<Conversion>(recipe.op);
      if (!masm_.has_conversion(c)) return false;
      const Value a = pop();
      const Reg src = take_register(a);
      const RegisterClass to = register_class(ins.result);
      // Into a local the next instruction sets (of the result's type: never a's register).
      const PinnedLocal* target = next_sets_pinned_local(ins.result);
      if (target) spill_local_aliases(target->slot);
      const Reg dst = target ? target->reg : to == register_class(a.type) ? src : allocate(to);
      masm_.convert(c, dst, src);
      if (dst != src) free_register(register_class(a.type), src);
      if (target) {
        push_pinned_local(*target);
        return true;
      }
      push_register(ins.result, dst);
      return true;
    }
    case Recipe::kLoad: {
      if (stack_.back().where == Value::Where::kAddress) {
        emit_scaled_load(ins, recipe.access);
        return true;
      }
      const Value address = pop();
      // A pinned local's register is the address as it is (only read).
      const bool pinned_address = is_pinned_local(address);
      const Reg ra = read_register(address);
      const RegisterClass to = register_class(recipe.access.type);
      const PinnedLocal* target = next_sets_pinned_local(recipe.access.type);
      if (target) spill_local_aliases(target->slot);  // reads of its old value still pending
      const Reg dst = target                                             ? target->reg
                      : to == RegisterClass::kGeneral && !pinned_address ? ra
                                                                         : allocate(to);
      const uint32_t at = masm_.load_memory(recipe.access, dst, ra, ins.memory_offset,
                                            out_of_bounds(static_cast<uint32_t>(ins.offset)));
      memory_access_sites_.emplace_back(at, static_cast<uint32_t>(ins.offset));
      if (dst != ra) free_register(register_class(ValType::kI32), ra);
      if (target) {
        push_pinned_local(*target);
        return true;
      }
      push_register(recipe.access.type, dst);
      stack_.back().max = narrow_load_max(recipe.access);
      return true;
    }
    case Recipe::kStore: {
      const Value value = pop();
      const Value address = pop();
      Source source;
      if (value.where == Value::Where::kConstant &&
          register_class(value.type) == RegisterClass::kGeneral) {
        source = Source::of_immediate(static_cast<int64_t>(value.bits));
      } else {
        source = Source::of_register(read_register(value));
      }
      const Reg ra = read_register(address);
      const uint32_t at = masm_.store_memory(recipe.access, ra, ins.memory_offset, source,
                                             out_of_bounds(static_cast<uint32_t>(ins.offset)));
      memory_access_sites_.emplace_back(at, static_cast<uint32_t>(ins.offset));
      if (source.kind == Source::Kind::kRegister) {
        free_register(register_class(value.type), source.reg);
      }
      free_register(register_class(ValType::kI32), ra);
      return true;
    }
  }
  return false;
}

void CodeGenerator::emit_int_binary(IntBinaryOp op, Width w, const Value& a, const Value& b) {
  if (const PinnedLocal* target = next_sets_pinned_local(a.type);
      target && int_binary_into_local(op, w, a, b, *target)) {
    return;
  }
  const Source source = source_of(b, true);
  auto release_source = [&] {
    if (source.kind == Source::Kind::kRegister) free_register(RegisterClass::kGeneral, source.reg);
  };
  // A local keeps its value: the result goes to a new register, in one instruction where
  // the ISA has one (int_binary_into), or after a copy of the local.
  if (a.where == Value::Where::kLocal &&
      int_binary_into_new_register(op, w, a.type, source_of(a, false), source)) {
    release_source();
    return;
  }
  const Reg r = take_register(a);
  // Zero-extending into another register: x64 eliminates a movzx between two registers at
  // rename, where an and in place costs a cycle (on a crc32 loop's critical path).
  if (op == IntBinaryOp::kAnd && source.kind == Source::Kind::kImmediate &&
      (source.immediate == 0xff || source.immediate == 0xffff) &&
      has_free_register(RegisterClass::kGeneral) &&
      int_binary_into_new_register(op, w, a.type, Source::of_register(r), source)) {
    free_register(RegisterClass::kGeneral, r);
    return;
  }
  masm_.int_binary(op, w, r, source);
  release_source();
  push_register(a.type, r);
}

// ---------------------------------------------------------------------------------------------
// Addresses of table lookups: `base + (index << k)` into a load's addressing

bool CodeGenerator::scale_lazily(const Value& a, const Value& shift_count) {
  // A shift by 1-3 (scale 2, 4, 8) of a value small enough that nothing is shifted out: the
  // product in 64 bits is the i32 result.
  const uint32_t shift = static_cast<uint32_t>(shift_count.bits & 31);
  const uint32_t max = known_max(a);
  if (shift < 1 || shift > 3 || max > (UINT32_MAX >> shift)) return false;
  const Reg r = take_register(a);
  Value v;
  v.where = Value::Where::kScaled;
  v.reg = r;
  v.shift = static_cast<uint8_t>(shift);
  v.max = max << shift;
  v.cell = top_cells();
  stack_.push_back(v);  // r stays held
  return true;
}

void CodeGenerator::add_lazily(const Value& a, const Value& scaled) {
  Value v;
  v.where = Value::Where::kAddress;
  v.reg = take_register(a);
  v.index = scaled.reg;
  v.shift = scaled.shift;
  v.max = scaled.max;
  v.cell = top_cells();
  stack_.push_back(v);  // both registers stay held
}

void CodeGenerator::materialize_lazy_address_for(const Instruction& ins) {
  Value& v = stack_.back();
  const InlineOp& recipe = kInline.ops[simple_op_slot(ins.opcode)];
  if (v.where == Value::Where::kScaled && ins.opcode == opcode_i32_add) return;
  if (v.where == Value::Where::kAddress && recipe.recipe == Recipe::kLoad &&
      ins.memory_index == 0 && ins.memory_offset <= static_cast<uint32_t>(INT32_MAX)) {
    return;
  }
  compute_lazy_address(v);
}

void CodeGenerator::compute_lazy_address(Value& v) {
  masm_.int_binary(IntBinaryOp::kShl, Width::k32,
                   v.where == Value::Where::kScaled ? v.reg : v.index,
                   Source::of_immediate(v.shift));
  if (v.where == Value::Where::kAddress) {
    masm_.int_binary(IntBinaryOp::kAdd, Width::k32, v.reg, Source::of_register(v.index));
    free_register(RegisterClass::kGeneral, v.index);
    v.max = UINT32_MAX;
  }
  v.where = Value::Where::kRegister;
  general_owner_[v.reg] = static_cast<int>(&v - stack_.begin());
}

void CodeGenerator::emit_scaled_load(const Instruction& ins, const MemoryAccess& access) {
  const Value address = pop();  // (its registers stay held)
  const RegisterClass to = register_class(access.type);
  const Reg dst = to == RegisterClass::kGeneral ? address.index : allocate(to);
  const Label wrapped = masm_.new_label(), done = masm_.new_label();
  const uint32_t module_offset = static_cast<uint32_t>(ins.offset);
  const uint32_t at =
      masm_.load_memory_scaled(access, dst, address.reg, address.index, address.shift, address.max,
                               ins.memory_offset, wrapped);
  memory_access_sites_.emplace_back(at, module_offset);
  masm_.bind(done);
  // The sum that wraps past 2^32 (a base within max_scaled of it): out of line, after the
  // body, so its access's site comes after every site of the body (sites stay sorted).
  stubs_.push_back(
      [this, access, dst, address, module_offset, wrapped, done, offset = ins.memory_offset] {
        masm_.bind(wrapped);
        const uint32_t site = masm_.load_memory_scaled_wrapped(
            access, dst, address.reg, address.index, address.shift, offset);
        memory_access_sites_.emplace_back(site, module_offset);
        masm_.jump(done);
      });
  free_register(RegisterClass::kGeneral, address.reg);
  if (dst != address.index) free_register(RegisterClass::kGeneral, address.index);
  push_register(access.type, dst);
  stack_.back().max = narrow_load_max(access);
}

}  // namespace kiln::jit
