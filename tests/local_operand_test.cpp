// Binary operators on a local (tests/wasm/local_operands.wat): under the JIT, the shapes that
// MacroAssembler::int_binary_into computes straight into a new register (lea, three-operand
// imul, movzx) and the ones next to them that take the copy-then-operate path compute the
// interpreter's results, wrapping where Wasm wraps, and leave the local as it was; an and with
// 0xff or 0xffff of a value just computed is zero-extended into another register.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

class LocalOperands : public test::TierTest {
 protected:
  void SetUp() override {
    start_engine();
    if (IsSkipped()) return;
    instance_ = test::instantiate_test_module(*store_, "local_operands");
    ASSERT_NE(instance_, nullptr);
  }

  uint64_t call(const std::string& name, std::vector<uint64_t> args) {
    args.resize(2);
    TrapPtr trap = store_->invoke(instance_->find_export(name)->function(), args.data());
    EXPECT_FALSE(trap) << name << ": " << trap->to_string();
    return args[0];
  }
  uint32_t call32(const std::string& name, std::vector<uint64_t> args) {
    return static_cast<uint32_t>(call(name, std::move(args)));
  }

  Instance* instance_ = nullptr;
};

const std::vector<uint32_t> kI32s = {0,          1,          5,          0xff,       0x100,
                                     0x1234abcd, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
const std::vector<uint64_t> kI64s = {0,
                                     1,
                                     0xff,
                                     0xffffffff,
                                     0x100000000ull,
                                     0x123456789abcdef0ull,
                                     0x7fffffffffffffffull,
                                     0x8000000000000000ull,
                                     ~0ull};

TEST_P(LocalOperands, I32OperatorsOnALocalWrapAsWasmDoes) {
  for (uint32_t a : kI32s) {
    for (uint32_t b : kI32s) {
      EXPECT_EQ(call32("i32_add", {a, b}), a + b) << a << " + " << b;
      EXPECT_EQ(call32("i32_sum_and_ff", {a, b}), (a + b) & 0xffu) << a << " + " << b;
      EXPECT_EQ(call32("i32_sum_and_ffff", {a, b}), (a + b) & 0xffffu) << a << " + " << b;
    }
    EXPECT_EQ(call32("i32_add_imm", {a}), a + 0x7fffffffu) << a;
    EXPECT_EQ(call32("i32_sub_imm", {a}), a - 5u) << a;
    EXPECT_EQ(call32("i32_sub_min", {a}), a - 0x80000000u) << a;
    EXPECT_EQ(call32("i32_mul_imm", {a}), a * static_cast<uint32_t>(-7)) << a;
    EXPECT_EQ(call32("i32_and_ff", {a}), a & 0xffu) << a;
    EXPECT_EQ(call32("i32_and_ffff", {a}), a & 0xffffu) << a;
    EXPECT_EQ(call32("i32_and_other", {a}), a & 0x1ffu) << a;
    EXPECT_EQ(call32("i32_local_kept", {a}), (a + 3u) ^ a) << a;
  }
}

TEST_P(LocalOperands, I32ResultsAreZeroExtended) {
  // An i32 result's upper half is zero in its cell, whatever the tier computed it with.
  EXPECT_EQ(call("i32_add", {0xffffffff, 1}), 0u);
  EXPECT_EQ(call("i32_add_imm", {0xffffffff}), 0x7ffffffeu);
  EXPECT_EQ(call("i32_mul_imm", {0x80000001}), uint64_t{0x80000001u * static_cast<uint32_t>(-7)});
}

TEST_P(LocalOperands, I64OperatorsOnALocalWrapAsWasmDoes) {
  for (uint64_t a : kI64s) {
    for (uint64_t b : kI64s) {
      EXPECT_EQ(call("i64_add", {a, b}), a + b) << a << " + " << b;
      EXPECT_EQ(call("i64_sum_and_ff", {a, b}), (a + b) & 0xff) << a << " + " << b;
    }
    EXPECT_EQ(call("i64_add_imm", {a}), a - 1) << a;
    EXPECT_EQ(call("i64_sub_min", {a}), a + 0x80000000ull) << a;
    EXPECT_EQ(call("i64_add_far", {a}), a + 0x100000000ull) << a;
    EXPECT_EQ(call("i64_mul_imm", {a}), a * 1000003ull) << a;
    EXPECT_EQ(call("i64_and_ff", {a}), a & 0xff) << a;
    EXPECT_EQ(call("i64_and_ffff", {a}), a & 0xffff) << a;
    EXPECT_EQ(call("i64_and_low", {a}), a & 0xffffffff) << a;
  }
}

TEST_P(LocalOperands, AndsOnALocalInItsFrameSlotReadItsLowBytes) {
  for (uint32_t a : kI32s) {
    EXPECT_EQ(call32("i32_and_ff_slot", {a}), a & 0xffu) << a;
    EXPECT_EQ(call32("i32_and_ffff_slot", {a}), a & 0xffffu) << a;
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, LocalOperands, ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

}  // namespace
}  // namespace kiln
