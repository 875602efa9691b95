// Wasm 3.0 multi-memory (tests/wasm3/multi_memory.wat): each memory instruction on memory 1,
// next to code on memory 0, under each tier. Generated code keeps memory 0's base in a register:
// under the JIT, loads and stores of memory 1 are runtime calls, and the functions with
// memory.size, grow, init, fill or copy on it run in the interpreter; results and fuel must not
// change.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

class MultiMemory : public test::TierTest {
 protected:
  void SetUp() override {
    EngineConfig config;
    config.consume_fuel = true;
    start_engine(config);
    if (IsSkipped()) return;
    ASSERT_TRUE(store_->set_fuel(100000000).ok());
    instance_ = test::instantiate_test_module(*store_, "multi_memory");
    ASSERT_NE(instance_, nullptr);
  }

  uint64_t call(const std::string& name, std::vector<uint64_t> args = {}) {
    args.resize(4);
    TrapPtr trap = store_->invoke(instance_->find_export(name)->function(), args.data());
    EXPECT_FALSE(trap) << name << ": " << trap->to_string();
    return args[0];
  }
  TrapPtr trap_of(const std::string& name, std::vector<uint64_t> args) {
    args.resize(4);
    return store_->invoke(instance_->find_export(name)->function(), args.data());
  }
  const uint8_t* memory(uint32_t index) const { return instance_->memories[index]->memory->base(); }

  Instance* instance_ = nullptr;
};

TEST_P(MultiMemory, LoadsAndStoresReachTheMemoryTheyName) {
  // Active segments went to their own memories.
  EXPECT_EQ(std::memcmp(memory(0) + 16, "zero", 4), 0);
  EXPECT_EQ(std::memcmp(memory(1) + 16, "one", 3), 0);
  EXPECT_EQ(call("load0", {16}), uint64_t{'z'});
  EXPECT_EQ(call("load1", {16}), uint64_t{'o'});
  call("store1", {100, 7});
  EXPECT_EQ(memory(1)[100], 7);
  EXPECT_EQ(memory(0)[100], 0);
  call("store0", {100, 9});
  EXPECT_EQ(call("load1", {100}), 7u);
  EXPECT_EQ(call("load0", {100}), 9u);
  // Memory 0, memory 1, memory 0 in one expression: 'e' + 'n' + 'z'.
  EXPECT_EQ(call("mixed", {16}), uint64_t{'e' + 'n' + 'z'});
  EXPECT_EQ(call("v128_load1", {16}), uint64_t{0x656e6f});
  EXPECT_EQ(call("sum1", {16, 3}), uint64_t{'o' + 'n' + 'e'});
}

TEST_P(MultiMemory, SizeGrowFillInitAndCopyActOnTheirMemories) {
  EXPECT_EQ(call("size1"), 1u);
  EXPECT_EQ(call("grow1", {2}), 1u);
  EXPECT_EQ(call("size1"), 3u);
  EXPECT_EQ(call("size0"), 1u);
  EXPECT_EQ(static_cast<uint32_t>(call("grow1", {1})), 0xffffffffu);  // past its maximum (3)
  // Memory 1's new pages are in reach; memory 0's second page is not.
  call("store1", {2 * 65536 + 5, 42});
  EXPECT_EQ(call("load1", {2 * 65536 + 5}), 42u);
  TrapPtr out = trap_of("load0", {2 * 65536 + 5});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code, TrapCode::kMemoryOutOfBounds);

  call("fill1", {200, 0xab, 4});
  EXPECT_EQ(memory(1)[203], 0xab);
  EXPECT_EQ(memory(0)[203], 0);
  call("init1", {300, 0, 7});
  EXPECT_EQ(std::memcmp(memory(1) + 300, "passive", 7), 0);
  call("copy0to1", {400, 16, 4});  // "zero" from memory 0
  EXPECT_EQ(std::memcmp(memory(1) + 400, "zero", 4), 0);
  call("copy1", {402, 400, 4});  // overlapping, within memory 1
  EXPECT_EQ(std::memcmp(memory(1) + 400, "zezero", 6), 0);
  // Bounds are the named memory's: memory 0 has one page, memory 1 three.
  out = trap_of("copy0to1", {0, 65536, 1});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code, TrapCode::kMemoryOutOfBounds);
  EXPECT_FALSE(trap_of("copy1", {0, 2 * 65536, 1}));
}

TEST_P(MultiMemory, AnAccessOutsideMemoryOneTrapsWhereItIs) {
  TrapPtr out = trap_of("load1", {65536});
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code, TrapCode::kMemoryOutOfBounds);
  ASSERT_FALSE(out->backtrace.empty());
  EXPECT_GT(out->backtrace[0].module_offset, 0u);
  // The store goes on, on memory 0 as well.
  EXPECT_EQ(call("load0", {16}), uint64_t{'z'});
}

INSTANTIATE_TEST_SUITE_P(Tiers, MultiMemory, ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

// Both tiers charge the same fuel for the same calls (DESIGN-NOTES section 5).
TEST(MultiMemoryFuel, BothTiersChargeTheSameFuel) {
  if (!code_tier()) GTEST_SKIP() << "this build has no JIT";
  uint64_t consumed[2] = {0, 0};
  for (Tier tier : {Tier::kInterpreter, Tier::kJit}) {
    EngineConfig config;
    config.tier = tier;
    config.consume_fuel = true;
    Engine engine(config);
    Store store(engine);
    ASSERT_TRUE(store.set_fuel(1000000).ok());
    auto module = Module::compile(engine, test::test_module("multi_memory"));
    ASSERT_TRUE(module);
    auto instance = store.instantiate(*module, {});
    ASSERT_TRUE(instance);
    for (const char* name : {"mixed", "sum1", "copy0to1", "grow1", "load0"}) {
      uint64_t args[4] = {16, 3, 4, 0};
      EXPECT_FALSE(store.invoke((*instance)->find_export(name)->function(), args)) << name;
    }
    consumed[tier == Tier::kJit] = store.fuel_consumed();
  }
  EXPECT_GT(consumed[0], 0u);
  EXPECT_EQ(consumed[1], consumed[0]);
}

// Wasm 2.0's binary format (EngineConfig::multi_memory off): one memory, zero-byte immediates.
TEST(MultiMemoryOff, ModulesWithSeveralMemoriesAreInvalid) {
  EngineConfig config;
  config.multi_memory = false;
  Engine engine(config);
  auto module = Module::compile(engine, test::test_module("multi_memory"));
  ASSERT_FALSE(module);
  EXPECT_NE(module.error().message.find("multiple memories"), std::string::npos)
      << module.error().message;
}

}  // namespace
}  // namespace kiln
