#include "tests/fuzz/module_generator.h"

#include <iterator>
#include <string>

#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"
#include "runtime/types.h"
#include "tests/fuzz/wasm_writer.h"

namespace kiln::fuzz {

uint32_t Choices::below(uint32_t n) {
  uint32_t v = byte();
  if (n > 256) v = v << 8 | byte();
  return v % n;
}

uint64_t Choices::bits64() {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | byte();
  return v;
}

namespace {

// One operator of the tables: its encoding and typing.
struct Operator {
  uint32_t opcode;
  ValType result;             // kUnknown: none
  ValType a, b;               // kUnknown: absent
  uint32_t memory_bytes = 0;  // a load or store of this many bytes (a memarg follows)
  uint32_t lanes = 0;         // a lane index of this many lanes follows
};

using v128 = V128;

const std::vector<Operator>& operators() {
  static const std::vector<Operator> ops = [] {
    std::vector<Operator> v;
#define UNARY(name, opc, R, A, ...) v.push_back({opc, KILN_VT(R), KILN_VT(A), ValType::kUnknown});
#define BINARY(name, opc, R, A, ...) v.push_back({opc, KILN_VT(R), KILN_VT(A), KILN_VT(A)});
#define SHIFT(name, opc, R, A, B, ...) v.push_back({opc, KILN_VT(R), KILN_VT(A), KILN_VT(B)});
#define LOAD(name, opc, T, M, align) \
  v.push_back({opc, KILN_VT(T), ValType::kI32, ValType::kUnknown, sizeof(M)});
#define STORE(name, opc, T, M, align) \
  v.push_back({opc, ValType::kUnknown, ValType::kI32, KILN_VT(T), sizeof(M)});
#define SIMD_LOAD(name, opc, bytes, align, ...) \
  v.push_back({opc, ValType::kV128, ValType::kI32, ValType::kUnknown, bytes});
#define LOAD_LANE(name, opc, L, align) \
  v.push_back({opc, ValType::kV128, ValType::kI32, ValType::kV128, sizeof(L), 16 / sizeof(L)});
#define STORE_LANE(name, opc, L, align) \
  v.push_back({opc, ValType::kUnknown, ValType::kI32, ValType::kV128, sizeof(L), 16 / sizeof(L)});
#define EXTRACT(name, opc, L, T) \
  v.push_back({opc, KILN_VT(T), ValType::kV128, ValType::kUnknown, 0, 16 / sizeof(L)});
#define REPLACE(name, opc, L, T) \
  v.push_back({opc, ValType::kV128, ValType::kV128, KILN_VT(T), 0, 16 / sizeof(L)});
    KILN_UNARY_OPS(UNARY)
    KILN_CHECKED_UNARY_OPS(UNARY)
    KILN_BINARY_OPS(BINARY)
    KILN_CHECKED_BINARY_OPS(BINARY)
    KILN_LOAD_OPS(LOAD)
    KILN_STORE_OPS(STORE)
    KILN_SIMD_UNARY_OPS(UNARY)
    KILN_SIMD_BINARY_OPS(BINARY)
    KILN_SIMD_SHIFT_OPS(SHIFT)
    KILN_SIMD_LOAD_OPS(SIMD_LOAD)
    KILN_SIMD_LOAD_LANE_OPS(LOAD_LANE)
    KILN_SIMD_STORE_LANE_OPS(STORE_LANE)
    KILN_SIMD_EXTRACT_LANE_OPS(EXTRACT)
    KILN_SIMD_REPLACE_LANE_OPS(REPLACE)
#undef UNARY
#undef BINARY
#undef SHIFT
#undef LOAD
#undef STORE
#undef SIMD_LOAD
#undef LOAD_LANE
#undef STORE_LANE
#undef EXTRACT
#undef REPLACE
    v.push_back({kV128Store, ValType::kUnknown, ValType::kI32, ValType::kV128, 16});
    return v;
  }();
  return ops;
}

using wasm_writer::leb;
using wasm_writer::section;
using wasm_writer::sleb;

void opcode(std::vector<uint8_t>& out, uint32_t op) {
  if (op < 0x100) {
    out.push_back(static_cast<uint8_t>(op));
  } else {
    out.push_back(static_cast<uint8_t>(op >> 8));
    leb(out, op & 0xff);
  }
}
constexpr ValType kScalars[] = {ValType::kI32, ValType::kI64, ValType::kF32, ValType::kF64};
const std::vector<ValType> kTagPayloads[] = {{}, {ValType::kI32}, {ValType::kI64}};

struct Function {
  uint32_t type = 0;
  std::vector<ValType> locals;  // declared (after the parameters)
};

class Generator {
 public:
  explicit Generator(Choices& c) : c_(c) {}

  GeneratedModule run() {
    // Types: index 0 is the host's (i32) -> i32; the others are chosen per function.
    types_.push_back(FuncType{{ValType::kI32}, {ValType::kI32}});
    const uint32_t defined = 1 + c_.below(6);
    for (uint32_t i = 0; i < defined; ++i) {
      FuncType t;
      for (uint32_t p = c_.below(4); p--;) t.params.push_back(scalar());
      for (uint32_t r = c_.below(3); r--;) t.results.push_back(any_type());
      Function f;
      f.type = type_index(t);
      for (uint32_t l = c_.below(5); l--;) f.locals.push_back(any_type());
      functions_.push_back(f);
    }
    for (uint32_t g = 1 + c_.below(4); g--;) globals_.push_back(any_type());
    table_size_ = defined + 2;
    // Tags (Wasm 3.0 exception handling): payloads that the labels of blocks often take.
    for (const auto& params : kTagPayloads) tag_types_.push_back(type_index(FuncType{params, {}}));

    std::vector<uint8_t> m = wasm_writer::header();
    std::vector<std::vector<uint8_t>> bodies;
    for (uint32_t i = 0; i < defined; ++i) bodies.push_back(body(i));

    std::vector<uint8_t> s;
    leb(s, types_.size());
    for (const FuncType& t : types_) {
      s.push_back(0x60);
      leb(s, t.params.size());
      for (ValType p : t.params) s.push_back(static_cast<uint8_t>(p));
      leb(s, t.results.size());
      for (ValType r : t.results) s.push_back(static_cast<uint8_t>(r));
    }
    section(m, 1, s);
    section(m, 2, {0x01, 0x03, 'e', 'n', 'v', 0x04, 'h', 'o', 's', 't', 0x00, 0x00});
    s.clear();
    leb(s, defined);
    for (const Function& f : functions_) leb(s, f.type);
    section(m, 3, s);
    s = {0x01, 0x70, 0x00};
    leb(s, table_size_);
    section(m, 4, s);
    section(m, 5, {0x01, 0x01, 0x01, 0x03});  // memory: 1 page, at most 3
    s.clear();
    leb(s, tag_types_.size());
    for (uint32_t t : tag_types_) {
      s.push_back(0x00);  // the exception attribute
      leb(s, t);
    }
    section(m, 13, s);
    s.clear();
    leb(s, globals_.size());
    for (ValType g : globals_) {
      s.push_back(static_cast<uint8_t>(g));
      s.push_back(0x01);  // mutable
      constant(s, g);
      s.push_back(0x0b);
    }
    section(m, 6, s);
    s.clear();
    leb(s, defined + 1);
    for (uint32_t i = 0; i < defined; ++i) {
      std::string name = "f";  // (GCC 12 warns falsely on "f" + std::to_string)
      name += std::to_string(i);
      leb(s, name.size());
      s.insert(s.end(), name.begin(), name.end());
      s.push_back(0x00);
      leb(s, 1 + i);
    }
    s.insert(s.end(), {0x03, 'm', 'e', 'm', 0x02, 0x00});
    section(m, 7, s);
    // Element segment: the defined functions from slot 1, the import's slot and the last null.
    s = {0x01, 0x00, 0x41, 0x01, 0x0b};
    leb(s, defined);
    for (uint32_t i = 0; i < defined; ++i) leb(s, 1 + i);
    section(m, 9, s);
    s.clear();
    leb(s, defined);
    for (const auto& b : bodies) {
      leb(s, b.size());
      s.insert(s.end(), b.begin(), b.end());
    }
    section(m, 10, s);
    // Data: a recognisable pattern at the start of memory.
    s = {0x01, 0x00, 0x41, 0x00, 0x0b, 0x20};
    for (int i = 0; i < 32; ++i) s.push_back(static_cast<uint8_t>(i * 37 + 11));
    section(m, 11, s);
    return {m, defined};
  }

 private:
  struct Frame {
    uint32_t opcode;  // block, loop, if, or 0 for the function
    std::vector<ValType> params, results;
    size_t height;  // operand stack entries below the frame
    bool unreachable = false;
    const std::vector<ValType>& label_types() const { return opcode == kLoop ? params : results; }
  };

  ValType scalar() { return kScalars[c_.below(4)]; }
  ValType any_type() { return c_.percent(10) ? ValType::kV128 : scalar(); }

  uint32_t type_index(const FuncType& t) {
    for (uint32_t i = 0; i < types_.size(); ++i)
      if (types_[i] == t) return i;
    types_.push_back(t);
    return static_cast<uint32_t>(types_.size() - 1);
  }

  // A constant of type t: boundary values often, random bits otherwise.
  void constant(std::vector<uint8_t>& out, ValType t) {
    static const uint64_t kInteresting[] = {
        0, 1, 2, 0xffffffff, 0x80000000, 0x7fffffff, 0xfffc, 0x10000, 0x8000000000000000ull,
        0x7fffffffffffffffull, 0xffffffffffffffffull, 0x3ff0000000000000ull, 0x7ff8000000000000ull,
        0x7fc00000, 0x4f000000, 0xcf000000,
        // divisors the JIT strength-reduces (powers of
        // two, and others by their reciprocal)
        3, 7, 14, 16, 1000000000, 0xfffffff9};
    uint64_t v = c_.percent(60)
                     ? kInteresting[c_.below(static_cast<uint32_t>(std::size(kInteresting)))]
                     : c_.bits64();
    switch (t) {
      case ValType::kI32:
        out.push_back(kI32Const);
        sleb(out, static_cast<int32_t>(v));
        break;
      case ValType::kI64:
        out.push_back(kI64Const);
        sleb(out, static_cast<int64_t>(v));
        break;
      case ValType::kF32:
        out.push_back(kF32Const);
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
        break;
      case ValType::kF64:
        out.push_back(kF64Const);
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
        break;
      default:
        opcode(out, kV128Const);
        for (int i = 0; i < 16; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * (i % 8)) ^ i));
    }
  }

  ValType local_type(uint32_t i) const {
    const FuncType& t = types_[functions_[current_].type];
    return i < t.params.size() ? t.params[i] : functions_[current_].locals[i - t.params.size()];
  }
  uint32_t local_count() const {
    return static_cast<uint32_t>(types_[functions_[current_].type].params.size() +
                                 functions_[current_].locals.size());
  }

  // Pushes a value of type t: a local's, a global's or a constant.
  void push_value(ValType t) {
    const uint32_t n = local_count();
    if (c_.percent(50)) {
      for (uint32_t k = 0, i = c_.below(n + 1); k < n; ++k, i = (i + 1) % (n ? n : 1)) {
        if (i < n && local_type(i) == t) {
          code_.push_back(kLocalGet);
          leb(code_, i);
          stack_.push_back(t);
          return;
        }
      }
    }
    if (c_.percent(20)) {
      for (uint32_t g = 0; g < globals_.size(); ++g) {
        if (globals_[g] == t) {
          code_.push_back(kGlobalGet);
          leb(code_, g);
          stack_.push_back(t);
          return;
        }
      }
    }
    if (t == ValType::kI32 && c_.percent(15)) {  // an address near the memory's end
      code_.push_back(kI32Const);
      sleb(code_, static_cast<int32_t>(65536 - c_.below(24) + c_.below(8)));
      stack_.push_back(t);
      return;
    }
    constant(code_, t);
    stack_.push_back(t);
  }

  // Removes the value on top: into a local or global of its type when there is one (so
  // computed values stay observable), else drop.
  void consume_top() {
    const ValType t = stack_.back();
    stack_.pop_back();
    for (uint32_t i = 0; i < local_count(); ++i) {
      if (local_type(i) == t && c_.percent(60)) {
        code_.push_back(kLocalSet);
        leb(code_, i);
        return;
      }
    }
    for (uint32_t g = 0; g < globals_.size(); ++g) {
      if (globals_[g] == t && c_.percent(50)) {
        code_.push_back(kGlobalSet);
        leb(code_, g);
        return;
      }
    }
    code_.push_back(kDrop);
  }

  // Makes the values above the frame exactly `types` (keeping a matching top).
  void settle(const Frame& frame, const std::vector<ValType>& types) {
    const size_t base = frame.height;
    // Keep the longest run of values already right at the bottom of the frame's values.
    size_t keep = 0;
    while (keep < types.size() && base + keep < stack_.size() && stack_[base + keep] == types[keep])
      ++keep;
    while (stack_.size() > base + keep) consume_top();
    for (size_t i = keep; i < types.size(); ++i) push_value(types[i]);
  }

  void block_type(std::vector<uint8_t>& out, const std::vector<ValType>& params,
                  const std::vector<ValType>& results) {
    if (params.empty() && results.empty()) {
      out.push_back(0x40);
    } else if (params.empty() && results.size() == 1) {
      out.push_back(static_cast<uint8_t>(results[0]));
    } else {
      sleb(out, type_index(FuncType{params, results}));
    }
  }

  std::vector<uint8_t> body(uint32_t index) {
    current_ = index;
    code_.clear();
    stack_.clear();
    frames_.clear();
    budget_ = 20 + c_.below(120);
    const Function& f = functions_[index];
    // Locals: one entry per declared local.
    leb(code_, f.locals.size());
    for (ValType t : f.locals) {
      code_.push_back(0x01);
      code_.push_back(static_cast<uint8_t>(t));
    }
    frames_.push_back({0, {}, types_[f.type].results, 0});
    sequence(0);
    close_frame();
    return code_;
  }

  // Emits instructions into the innermost frame until it ends or the budget runs out.
  void sequence(uint32_t depth) {
    while (budget_ > 0 && !frames_.back().unreachable && !c_.exhausted()) {
      --budget_;
      if (c_.percent(4)) return;  // the frame ends here
      instruction(depth);
    }
  }

  void close_frame() {
    Frame frame = frames_.back();
    if (!frame.unreachable) settle(frame, frame.results);
    code_.push_back(kEnd);
    stack_.resize(frame.height);
    frames_.pop_back();
    if (!frames_.empty()) stack_.insert(stack_.end(), frame.results.begin(), frame.results.end());
  }

  // A branch to a label: its values first.
  void branch(uint32_t op) {
    const uint32_t depth = c_.below(static_cast<uint32_t>(frames_.size()));
    const Frame& target = frames_[frames_.size() - 1 - depth];
    settle(frames_.back(), {});
    for (ValType t : target.label_types()) push_value(t);
    if (op != kBr) push_value(ValType::kI32);  // the condition, or the table's index
    code_.push_back(static_cast<uint8_t>(op));
    if (op == kBrTable) {
      // Targets with the same label types as `target`.
      std::vector<uint32_t> depths;
      for (uint32_t d = 0; d < frames_.size(); ++d) {
        if (frames_[frames_.size() - 1 - d].label_types() == target.label_types())
          depths.push_back(d);
      }
      const uint32_t n = c_.below(4);
      leb(code_, n);
      for (uint32_t i = 0; i <= n; ++i)
        leb(code_, depths[c_.below(static_cast<uint32_t>(depths.size()))]);
      stack_.resize(frames_.back().height);
      frames_.back().unreachable = true;
      return;
    }
    leb(code_, depth);
    if (op == kBrIf) {
      stack_.pop_back();  // the condition; the values stay
      return;
    }
    frames_.back().unreachable = true;
  }

  // try_table's catch clauses, for labels outside it whose values a tag's payload (or nothing,
  // for catch_all) matches.
  void catch_clauses() {
    std::vector<uint8_t> clauses;
    uint32_t count = 0;
    for (uint32_t i = c_.below(4); i--;) {
      const uint32_t depth = c_.below(static_cast<uint32_t>(frames_.size()));
      const std::vector<ValType>& types = frames_[frames_.size() - 1 - depth].label_types();
      if (types.empty() && c_.percent(40)) {
        clauses.push_back(0x02);  // catch_all
      } else {
        uint32_t tag = 0;
        while (tag < tag_types_.size() && kTagPayloads[tag] != types) ++tag;
        if (tag == tag_types_.size()) continue;
        clauses.push_back(0x00);  // catch
        leb(clauses, tag);
      }
      leb(clauses, depth);
      ++count;
    }
    leb(code_, count);
    code_.insert(code_.end(), clauses.begin(), clauses.end());
  }

  void call(uint32_t function_index) {
    const FuncType& t =
        function_index == 0 ? types_[0] : types_[functions_[function_index - 1].type];
    for (ValType p : t.params) push_value(p);
    code_.push_back(kCall);
    leb(code_, function_index);
    stack_.resize(stack_.size() - t.params.size());
    stack_.insert(stack_.end(), t.results.begin(), t.results.end());
  }

  // A table lookup: a load at base + ((index & mask) << 1..3), the shape whose sum the JIT puts
  // into the access's addressing (and computes as i32.add does when it can wrap).
  void table_lookup() {
    // i32.load, i64.load, f32.load, f64.load, i32.load8_u, i32.load16_s, i64.load32_u.
    static constexpr struct {
      uint8_t opcode;
      ValType result;
    } kLoads[] = {{0x28, ValType::kI32}, {0x29, ValType::kI64}, {0x2a, ValType::kF32},
                  {0x2b, ValType::kF64}, {0x2d, ValType::kI32}, {0x2e, ValType::kI32},
                  {0x35, ValType::kI64}};
    static constexpr int32_t kMasks[] = {0xff, 0xffff, 0x7f, 0x3ff};
    push_value(ValType::kI32);  // the base
    push_value(ValType::kI32);  // the index
    code_.push_back(kI32Const);
    sleb(code_, kMasks[c_.below(4)]);
    code_.push_back(0x71);  // i32.and
    code_.push_back(kI32Const);
    sleb(code_, 1 + c_.below(3));
    code_.push_back(0x74);  // i32.shl
    code_.push_back(0x6a);  // i32.add
    const auto& load = kLoads[c_.below(7)];
    code_.push_back(load.opcode);
    leb(code_, 0);  // alignment 1
    leb(code_, c_.percent(70) ? c_.below(64) : c_.below(70000));
    stack_.resize(stack_.size() - 2);
    stack_.push_back(load.result);
  }

  void instruction(uint32_t depth) {
    const uint32_t kind = c_.below(100);
    if (kind < 3) {
      table_lookup();
      return;
    }
    if (kind < 35) {  // an operator of the tables
      const auto& ops = operators();
      const Operator& op = ops[c_.below(static_cast<uint32_t>(ops.size()))];
      if (op.a != ValType::kUnknown) push_value(op.a);
      if (op.b != ValType::kUnknown) push_value(op.b);
      opcode(code_, op.opcode);
      if (op.memory_bytes) {
        uint32_t align = 0;
        while ((2u << align) <= op.memory_bytes && c_.percent(70)) ++align;
        leb(code_, align);
        leb(code_, c_.percent(70) ? c_.below(64) : c_.below(70000));
      }
      if (op.lanes) code_.push_back(static_cast<uint8_t>(c_.below(op.lanes)));
      stack_.resize(stack_.size() - (op.a != ValType::kUnknown) - (op.b != ValType::kUnknown));
      if (op.result != ValType::kUnknown) stack_.push_back(op.result);
      return;
    }
    if (kind < 45) {  // a value
      push_value(any_type());
      return;
    }
    if (kind < 52 && !stack_.empty() && stack_.size() > frames_.back().height) {
      consume_top();
      return;
    }
    if (kind < 58 && depth < 4) {  // block, loop, if or try_table
      const uint32_t choice = c_.below(4);
      const uint32_t op = choice == 3 ? static_cast<uint32_t>(kTryTable) : kBlock + choice;
      std::vector<ValType> params, results;
      if (c_.percent(40)) params.push_back(scalar());
      if (c_.percent(60)) results.push_back(any_type());
      for (ValType p : params) push_value(p);
      if (op == kIf) push_value(ValType::kI32);
      code_.push_back(static_cast<uint8_t>(op));
      block_type(code_, params, results);
      if (op == kTryTable) catch_clauses();
      if (op == kIf) stack_.pop_back();
      stack_.resize(stack_.size() - params.size());
      frames_.push_back({op, params, results, stack_.size()});
      stack_.insert(stack_.end(), params.begin(), params.end());
      sequence(depth + 1);
      // An if without else must not change the types: such an if always gets an else.
      if (op == kIf && (c_.percent(60) || params != results)) {
        Frame& frame = frames_.back();
        if (!frame.unreachable) settle(frame, frame.results);
        code_.push_back(kElse);
        stack_.resize(frame.height);
        stack_.insert(stack_.end(), frame.params.begin(), frame.params.end());
        frame.unreachable = false;
        sequence(depth + 1);
      }
      close_frame();
      return;
    }
    if (kind < 66) {
      branch(c_.percent(50) ? kBrIf : (c_.percent(50) ? kBr : kBrTable));
      return;
    }
    if (kind < 74) {  // calls: defined, the host, indirect
      const uint32_t which = c_.below(3);
      if (which == 0) {
        call(1 + c_.below(static_cast<uint32_t>(functions_.size())));
      } else if (which == 1) {
        call(0);
      } else {
        if (c_.percent(25)) {  // the table changes under the calls (and the JIT's cache of it)
          code_.push_back(kI32Const);
          sleb(code_, static_cast<int32_t>(c_.below(table_size_)));
          if (c_.percent(85)) {
            code_.push_back(kRefFunc);  // a defined function: declared by the element segment
            leb(code_, 1 + c_.below(static_cast<uint32_t>(functions_.size())));
          } else {
            code_.push_back(kRefNull);
            code_.push_back(0x70);
          }
          code_.push_back(kTableSet);
          code_.push_back(0x00);
        }
        const uint32_t type = c_.below(static_cast<uint32_t>(types_.size()));
        const FuncType t = types_[type];
        for (ValType p : t.params) push_value(p);
        if (c_.percent(70)) {  // the element: usually one of the table's (or just past it)
          code_.push_back(kI32Const);
          sleb(code_, static_cast<int32_t>(c_.below(table_size_ + 1)));
          stack_.push_back(ValType::kI32);
        } else {
          push_value(ValType::kI32);
        }
        code_.push_back(kCallIndirect);
        leb(code_, type);
        code_.push_back(0x00);
        stack_.resize(stack_.size() - 1 - t.params.size());
        stack_.insert(stack_.end(), t.results.begin(), t.results.end());
      }
      return;
    }
    if (kind < 80) {  // local.set / local.tee
      const uint32_t n = local_count();
      if (!n) return;
      const uint32_t i = c_.below(n);
      push_value(local_type(i));
      const bool tee = c_.percent(50);
      code_.push_back(tee ? kLocalTee : kLocalSet);
      leb(code_, i);
      if (!tee) stack_.pop_back();
      return;
    }
    if (kind < 84) {  // select
      const ValType t = any_type();
      push_value(t);
      push_value(t);
      push_value(ValType::kI32);
      if (t == ValType::kV128 || c_.percent(30)) {
        code_.push_back(kSelectTyped);
        code_.push_back(0x01);
        code_.push_back(static_cast<uint8_t>(t));
      } else {
        code_.push_back(kSelect);
      }
      stack_.resize(stack_.size() - 2);
      return;
    }
    if (kind < 88) {  // memory
      if (c_.percent(50)) {
        code_.push_back(kMemorySize);
        code_.push_back(0x00);
        stack_.push_back(ValType::kI32);
      } else {
        code_.push_back(kI32Const);
        sleb(code_, static_cast<int32_t>(c_.below(3)));
        code_.push_back(kMemoryGrow);
        code_.push_back(0x00);
        stack_.push_back(ValType::kI32);
      }
      return;
    }
    if (kind < 90) {  // bulk memory
      push_value(ValType::kI32);
      push_value(ValType::kI32);
      push_value(ValType::kI32);
      opcode(code_, c_.percent(50) ? kMemoryCopy : kMemoryFill);
      if (code_.back() == 10) code_.push_back(0x00);
      code_.push_back(0x00);
      stack_.resize(stack_.size() - 3);
      return;
    }
    if (kind < 93) {
      settle(frames_.back(), {});
      for (ValType t : frames_.front().results) push_value(t);
      code_.push_back(kReturn);
      frames_.back().unreachable = true;
      return;
    }
    if (kind < 94) {
      if (c_.percent(30)) {
        code_.push_back(kUnreachable);
      } else {  // throw: caught by a try_table around it here or in a caller, or not at all
        const uint32_t tag = c_.below(static_cast<uint32_t>(tag_types_.size()));
        for (ValType p : kTagPayloads[tag]) push_value(p);
        code_.push_back(kThrow);
        leb(code_, tag);
        stack_.resize(stack_.size() - kTagPayloads[tag].size());
      }
      frames_.back().unreachable = true;
      return;
    }
    // A global.set of a computed value.
    const uint32_t g = c_.below(static_cast<uint32_t>(globals_.size()));
    push_value(globals_[g]);
    code_.push_back(kGlobalSet);
    leb(code_, g);
    stack_.pop_back();
  }

  Choices& c_;
  std::vector<FuncType> types_;
  std::vector<Function> functions_;
  std::vector<ValType> globals_;
  std::vector<uint32_t> tag_types_;  // the type index of each tag
  uint32_t table_size_ = 0;
  uint32_t current_ = 0;
  std::vector<uint8_t> code_;
  std::vector<ValType> stack_;
  std::vector<Frame> frames_;
  int budget_ = 0;
};

}  // namespace

GeneratedModule generate_module(Choices& choices) {
  return Generator(choices).run();
}

}  // namespace kiln::fuzz
