// Locals in registers per loop (tests/wasm3/loop_locals.wat): under the JIT, each loop outside
// every other loop keeps its own hot locals in registers, and writes them back to their cells
// at its end, before calls and throws, and on branches out of it (br_if with and without a
// value, br_table); a catch outside the loop and one inside it both see the loop's values;
// float operators, comparisons and select read such locals in their registers; a function with
// one loop keeps its locals in registers throughout, a call in the loop keeping one set before
// it; constants whose negation overflows are subtracted from such locals without it. Both
// tiers must compute what the loops compute here in C++.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/interpreter_code.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

class LoopLocals : public test::TierTest {
 protected:
  void SetUp() override {
    start_engine();
    if (IsSkipped()) return;
    instance_ = test::instantiate_test_module(*store_, "loop_locals");
    ASSERT_NE(instance_, nullptr);
  }

  uint64_t call(const std::string& name, std::vector<uint64_t> args) {
    args.resize(2);
    const FunctionInstance* f = instance_->find_export(name)->function();
    TrapPtr trap = store_->invoke(const_cast<FunctionInstance*>(f), args.data());
    EXPECT_FALSE(trap) << name << ": " << trap->to_string();
    // Under the JIT the function ran as machine code (not left to the interpreter).
    if (GetParam() == Tier::kJit) {
      EXPECT_EQ(f->code->native_state.load(), CompiledFunction::NativeState::kCompiled) << name;
    }
    return args[0];
  }

  Instance* instance_ = nullptr;
};

TEST_P(LoopLocals, TwoLoopsEachWithTheirOwnLocals) {
  uint32_t first_count = 0, second_count = 0;  // the words at 0 and 4, across calls
  for (uint32_t n : {1u, 2u, 17u, 1000u}) {
    uint32_t i = 0, a = 0;
    do {
      a = a * 3 + i;
      ++first_count;
    } while (++i < n);
    uint64_t b = a;
    double x = 0;
    uint32_t j = 0;
    do {
      b = b * 7 + (a ^ j);
      x += 0.5;
      ++second_count;
    } while (++j < n);
    const uint64_t expected = b + i + static_cast<uint64_t>(static_cast<int64_t>(x)) +
                              uint64_t{first_count + second_count};
    EXPECT_EQ(call("two_loops", {n}), expected) << n;
  }
}

TEST_P(LoopLocals, BranchesOutOfALoopWriteItsLocalsBack) {
  for (uint32_t n : {1u, 5u, 300u}) {
    const uint32_t w = 3;                // the first loop's count
    const uint32_t s = n * (n + 1) / 2;  // the second loop's sum; $i is n after it
    // br_if with a value: the sum's first operand was read before the loop (0).
    EXPECT_EQ(static_cast<uint32_t>(call("leave", {n, 0})), 1000 + w) << n;
    EXPECT_EQ(static_cast<uint32_t>(call("leave", {n, 1})), s + n * 100000 + w) << n;
    EXPECT_EQ(static_cast<uint32_t>(call("leave", {n, 2})), s - n + w) << n;  // br_table's 0
    EXPECT_EQ(static_cast<uint32_t>(call("leave", {n, 3})), s + n * 100000 + w) << n;
    EXPECT_EQ(static_cast<uint32_t>(call("leave", {n, 9})), s + n * 100000 + w) << n;  // default
  }
}

TEST_P(LoopLocals, CallsInsideALoopKeepItsLocals) {
  for (uint32_t n : {1u, 4u, 250u}) {
    EXPECT_EQ(static_cast<uint32_t>(call("calls", {n})), 9 * n + 2) << n;
  }
}

TEST_P(LoopLocals, AThrowOutOfALoopLeavesItsLocalsInTheirCells) {
  for (uint32_t n : {1u, 6u, 400u}) {
    EXPECT_EQ(static_cast<uint32_t>(call("throw_out", {n})), n + 3 * n * 10 + 2) << n;
  }
}

TEST_P(LoopLocals, ACatchInsideALoopGoesOnWithItsLocals) {
  for (uint32_t n : {1u, 9u, 500u}) {
    uint32_t caught = 0, sum = 0;
    for (uint32_t i = 0; i < n; ++i) {
      if (i % 4 == 0) caught += i;
      sum += i;
    }
    EXPECT_EQ(static_cast<uint32_t>(call("catch_inside", {n})), caught * 1000 + sum + 2) << n;
  }
}

TEST_P(LoopLocals, FloatOperatorsReadLocalsInTheirRegisters) {
  for (uint32_t n : {1u, 7u, 60u}) {
    double a = 1.3, b = 0.25, c = 0;
    for (uint32_t i = 0; i < n; ++i) {
      c = c + a / b;
      a = a - b * 0.5;
      b = b < a ? b : a;
    }
    EXPECT_EQ(std::bit_cast<double>(call("floats", {n})), c + (a + b)) << n;
  }
}

TEST_P(LoopLocals, ALoopWithoutCallsKeepsMoreLocalsInRegisters) {
  for (uint32_t n : {1u, 5u, 90u}) {
    uint32_t a = 0, b = 0, c = 0, d = 0;
    double f[10] = {};
    for (uint32_t i = 0; i < n; ++i) {
      a += i;
      b ^= a;
      c -= b;
      d += c;
      f[0] += 1;
      for (int k = 1; k < 10; ++k) f[k] += f[k - 1];
    }
    const double expected = f[9] + static_cast<double>((a + b) + (c + d));
    EXPECT_EQ(std::bit_cast<double>(call("many", {n})), expected) << n;
  }
}

TEST_P(LoopLocals, ALoopWithRareCallsKeepsItsInnerLoopsLocalsAcrossThem) {
  for (uint32_t n : {1u, 2u, 9u, 500u}) {
    uint32_t i = 0, a = 0, b = 0, c = 0, d = 0, e = 0;
    const uint32_t k = n + 11;
    double f[8] = {};
    do {
      uint32_t j = 0;
      do {
        a += j + k;
        b ^= a;
        c = c * 3 + b;
        d += c >> 3;
        e -= d;
        f[0] = f[0] * 0.5 + static_cast<double>(a & 255);
        for (int m = 1; m < 8; ++m) f[m] = f[m] * 0.5 + f[m - 1];
      } while (++j < n);
      e += 1;                                        // $bump
      f[7] += static_cast<double>(uint32_t{a + 1});  // $bump
    } while (++i < 4);
    const double sum = ((f[0] + f[1]) + (f[2] + f[3])) + ((f[4] + f[5]) + (f[6] + f[7]));
    const uint64_t expected = uint64_t{static_cast<uint32_t>((a + b) + (c + (d + e)))} +
                              static_cast<uint64_t>(static_cast<int64_t>(sum));
    EXPECT_EQ(call("calls_around_inner_loop", {n}), expected) << n;
  }
}

TEST_P(LoopLocals, OneLoopKeepsALocalSetBeforeItAcrossCalls) {
  for (uint32_t n : {1u, 3u, 640u}) {
    const uint32_t k = n + 5;
    EXPECT_EQ(static_cast<uint32_t>(call("one_loop", {n})), n * (2 * k + 1) + k) << n;
  }
}

TEST_P(LoopLocals, OneLoopWithCallsStoresALocalSetBeforeItOnceAndAllAfterIt) {
  for (uint32_t n : {1u, 3u, 99u, 101u, 640u}) {
    uint32_t k = n + 5, s = 0;
    for (uint32_t i = 0;; ++i) {
      s = (s + k + 1) + k;
      if (i == 100 || i + 1 >= n) break;
    }
    k *= 3;
    s += 1;
    EXPECT_EQ(static_cast<uint32_t>(call("one_loop_exits", {n})), s + k) << n;
  }
}

TEST_P(LoopLocals, SubtractsTheMostNegativeConstantsFromLocalsInRegisters) {
  for (uint32_t n : {1u, 2u, 7u}) {
    uint64_t a = n, b = 0;
    uint32_t c = n;
    for (uint32_t i = 0; i < n; ++i) {
      b += a - 0x8000000000000000u;
      b += a + 0x8000000000000000u;
      c -= 0x80000000u;
      b += c;
      a += 0x80000000u;
    }
    EXPECT_EQ(call("most_negative", {n}), b + a) << n;
  }
}

TEST_P(LoopLocals, OperatorsComputeStraightIntoTheLocalSetNext) {
  uint32_t memory[64] = {};
  for (uint32_t n : {1u, 6u, 77u}) {
    uint32_t x = 0, y = 7;
    uint64_t z = 0;
    double f = 0, g = 1.5;
    for (uint32_t i = 0; i < n; ++i) {
      x = y - x;
      x = y + x;
      x <<= (i & 3);
      y = 0xffffffffu >> (y & 7);
      const uint32_t old = x;
      x += 5;
      y = y + (old - x);
      x = x * x;
      x ^= x >> 7;
      memory[((i << 2) & 0xfc) / 4] = y;
      uint32_t w = memory[(x & 0xfc) / 4];
      x += w;
      x = (i & 1) ? x : y;
      y = (i & 2) ? x : y;
      w = w ? 3 : 9;
      f = (i & 4) ? g : f;
      g = (x & 3) ? g : 1.75;
      w = w < 5;
      w = static_cast<int32_t>(x) > static_cast<int32_t>(w);
      y = y + w;
      z += x;
      z = std::rotl(uint64_t{0x123456789}, static_cast<int>(z & 63));
      f = g - f;
      f = f * g;
      g = 0.25 + g;
      f = (f + i) / g;
      g = std::fabs(-g);
      double h = std::sqrt(g);
      f = f + h;
      w = f < g;
      y = y + w;
      h = static_cast<double>(w);
      x = static_cast<uint32_t>(z);
      w = (x & 0xff) << 2;
      y = y + w;
      f = f + h;
    }
    const auto scaled = static_cast<int64_t>(f * 1000);  // (in range: no saturation)
    EXPECT_EQ(call("into_locals", {n}), z + (x + y) + static_cast<uint64_t>(scaled)) << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, LoopLocals, ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

}  // namespace
}  // namespace kiln
