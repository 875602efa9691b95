// Integer division and remainder by a constant divisor (what clang emits for `x % 14` or
// `(hi - lo) / 2` in Wasm). The JIT strength-reduces these (shifts and masks for powers of two,
// a multiplication by a reciprocal for the others: MacroAssembler::int_divide_by_constant);
// both tiers must give exactly C++'s quotients and remainders for every dividend class (zero,
// one, the extremes, either sign, near multiples of the divisor) and every divisor class,
// including those the JIT leaves to its divide instruction (negative signed divisors) and
// those that trap.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "runtime/interpreter_code.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/fuzz/wasm_writer.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

enum Op : uint8_t { kDivS, kDivU, kRemS, kRemU };

struct Case {
  bool wide;
  Op op;
  uint64_t divisor;
};

// Wasm opcodes: i32.div_s .. i32.rem_u are 0x6d..0x70, i64.div_s .. i64.rem_u 0x7f..0x82.
uint8_t opcode(const Case& c) {
  return static_cast<uint8_t>((c.wide ? 0x7f : 0x6d) + c.op);
}

// One exported function per case, "fN" (wasm_writer::exported_functions_module):
// (param iT) (result iT), local.get 0, iT.const divisor, the operator.
std::vector<uint8_t> module_of(const std::vector<Case>& cases) {
  using namespace wasm_writer;
  std::vector<uint32_t> type_of;
  std::vector<std::vector<uint8_t>> bodies;
  for (const Case& c : cases) {
    type_of.push_back(c.wide ? 1 : 0);
    std::vector<uint8_t> body = {0x00, 0x20, 0x00, static_cast<uint8_t>(c.wide ? 0x42 : 0x41)};
    sleb(body, c.wide ? static_cast<int64_t>(c.divisor)
                      : static_cast<int64_t>(static_cast<int32_t>(c.divisor)));
    body.push_back(opcode(c));
    body.push_back(0x0b);
    bodies.push_back(std::move(body));
  }
  return exported_functions_module(
      {0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7e, 0x01, 0x7e}, type_of, bodies);
}

// C++'s answer, or the trap's message.
std::string expected(const Case& c, uint64_t x) {
  if (c.wide) {
    const auto sx = static_cast<int64_t>(x), sd = static_cast<int64_t>(c.divisor);
    if (c.divisor == 0) return "integer divide by zero";
    switch (c.op) {
      case kDivS:
        if (sx == std::numeric_limits<int64_t>::min() && sd == -1) return "integer overflow";
        return std::to_string(static_cast<uint64_t>(sx / sd));
      case kDivU:
        return std::to_string(x / c.divisor);
      case kRemS:
        return std::to_string(sd == -1 ? 0 : static_cast<uint64_t>(sx % sd));
      case kRemU:
        return std::to_string(x % c.divisor);
    }
  }
  const auto ux = static_cast<uint32_t>(x), ud = static_cast<uint32_t>(c.divisor);
  const auto sx = static_cast<int32_t>(ux), sd = static_cast<int32_t>(ud);
  if (ud == 0) return "integer divide by zero";
  switch (c.op) {
    case kDivS:
      if (sx == std::numeric_limits<int32_t>::min() && sd == -1) return "integer overflow";
      return std::to_string(static_cast<uint32_t>(sx / sd));
    case kDivU:
      return std::to_string(ux / ud);
    case kRemS:
      return std::to_string(sd == -1 ? 0u : static_cast<uint32_t>(sx % sd));
    case kRemU:
      return std::to_string(ux % ud);
  }
  return "";
}

class DivideByConstant : public test::TierTest {};

TEST_P(DivideByConstant, GivesCppsQuotientsAndRemainders) {
  start_engine();
  if (IsSkipped()) return;
  const std::vector<uint64_t> divisors32 = {
      1,          2,          3,          4,          5,          6,          7,
      10,         14,         16,         17,         100,        641,        1000,
      4096,       65535,      65536,      1000000000, 0x40000000, 0x7fffffff, 0x80000000,
      0x80000001, 0xfffffff0, 0xfffffffe, 0xffffffff, 0,          0xfffffffd /* -3 */};
  const std::vector<uint64_t> divisors64 = {1,
                                            2,
                                            8,
                                            1ull << 31,
                                            1ull << 32,
                                            1ull << 62,
                                            1ull << 63,
                                            3,
                                            10,
                                            1000000007,
                                            0,
                                            static_cast<uint64_t>(-1),
                                            static_cast<uint64_t>(-16),
                                            0x7fffffffffffffff,
                                            7,
                                            641,
                                            1000000000,
                                            0x80000001,
                                            (1ull << 32) + 1,
                                            0x8000000000000001,
                                            0xfffffffffffffff1,
                                            0x123456789abcdef};
  std::vector<Case> cases;
  for (Op op : {kDivS, kDivU, kRemS, kRemU}) {
    for (uint64_t d : divisors32) cases.push_back({false, op, d});
    for (uint64_t d : divisors64) cases.push_back({true, op, d});
  }
  auto module = Module::compile(*engine_, module_of(cases));
  ASSERT_TRUE(module.ok()) << module.error().message;
  auto instance = store_->instantiate(*module, {});
  ASSERT_TRUE(instance.ok()) << instance.error().message;

  // Dividends: the edges of each width and sign, and values next to multiples of the divisor.
  std::vector<uint64_t> dividends = {0,
                                     1,
                                     2,
                                     3,
                                     7,
                                     13,
                                     14,
                                     15,
                                     0x7ffffffe,
                                     0x7fffffff,
                                     0x80000000,
                                     0x80000001,
                                     0xfffffffe,
                                     0xffffffff,
                                     0x100000000,
                                     0x7fffffffffffffff,
                                     0x8000000000000000,
                                     0xffffffffffffffff,
                                     static_cast<uint64_t>(-7),
                                     static_cast<uint64_t>(static_cast<uint32_t>(-7))};
  std::mt19937_64 random(29);
  for (int i = 0; i < 40; ++i) dividends.push_back(random());
  for (int i = 0; i < 20; ++i) dividends.push_back(random() & 0xffffffff);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    std::vector<uint64_t> xs = dividends;
    for (uint64_t k : {1ull, 2ull, 1000ull, 123456789ull}) {  // around multiples of the divisor
      const uint64_t multiple = k * c.divisor;
      for (uint64_t x : {multiple - 1, multiple, multiple + 1}) xs.push_back(x);
    }
    FunctionInstance* f =
        (*instance)->find_export(wasm_writer::function_export_name(i))->function();
    for (uint64_t x : xs) {
      if (!c.wide) x &= 0xffffffff;
      uint64_t cells[1] = {x};
      TrapPtr trap = store_->invoke(f, cells);
      const std::string got =
          trap ? trap->message : std::to_string(c.wide ? cells[0] : cells[0] & 0xffffffff);
      ASSERT_EQ(got, expected(c, x))
          << (c.wide ? "i64" : "i32") << " op " << int{c.op} << " by " << c.divisor << " of " << x;
    }
    if (GetParam() == Tier::kJit) {  // the function ran as machine code
      EXPECT_EQ(f->code->native_state.load(), CompiledFunction::NativeState::kCompiled) << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, DivideByConstant, ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

}  // namespace
}  // namespace kiln
