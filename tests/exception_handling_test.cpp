// Wasm 3.0 exception handling (tests/wasm3/exceptions.wat): throw, throw_ref and try_table's
// catch clauses, under each tier and with the tiers mixed: every result, trap and fuel count
// must be the same.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/refusing_tier.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

class ExceptionHandling : public test::TierTest {
 protected:
  void SetUp() override {
    EngineConfig config;
    config.consume_fuel = fuel_;
    start_engine(config);
    if (IsSkipped()) return;
    instantiate(StoreLimits{});
  }

  void instantiate(StoreLimits limits) {
    instance_ = nullptr;
    store_ = std::make_unique<Store>(*engine_, limits);
    if (fuel_) {
      ASSERT_TRUE(store_->set_fuel(100000000).ok());
    }
    auto module = Module::compile(*engine_, test::test_module("exceptions"));
    ASSERT_TRUE(module) << module.error().message;
    // host.call_back(n) calls the instance's throw_small(n) and hands on what comes back: an
    // exception goes back into the wasm frames that called the host.
    FunctionInstance* call_back = store_->create_host_function(
        FuncType{{ValType::kI32}, {ValType::kI32}}, [this](HostCall& call, uint64_t* cells) {
          TrapPtr trap =
              call.store.invoke(instance_->find_export("throw_small")->function(), cells);
          if (!trap) cells[0] = 0;
          return trap;
        });
    auto instance = store_->instantiate(*module, {Extern{ExternKind::kFunction, call_back}});
    ASSERT_TRUE(instance) << instance.error().message;
    instance_ = *instance;
  }

  // Calls `name`; the first result cell, or the trap.
  struct Outcome {
    uint64_t result = 0;
    TrapPtr trap;
  };
  Outcome call(const std::string& name, std::vector<uint64_t> args) {
    args.resize(4);
    Outcome out;
    out.trap = store_->invoke(instance_->find_export(name)->function(), args.data());
    out.result = args[0];
    return out;
  }
  uint32_t call_i32(const std::string& name, std::vector<uint64_t> args) {
    Outcome out = call(name, std::move(args));
    EXPECT_FALSE(out.trap) << name << ": " << out.trap->to_string();
    return static_cast<uint32_t>(out.result);
  }

  bool fuel_ = false;
  Instance* instance_ = nullptr;
};

TEST_P(ExceptionHandling, CatchDeliversThePayloadAcrossCalls) {
  EXPECT_EQ(call_i32("catch_payload", {5}), 1005u);  // thrown two calls down
  EXPECT_EQ(call_i32("catch_returns", {9}), 9u);     // a catch to the function's own label
  EXPECT_EQ(call("wide", {100}).result, 106u);       // a v128 and an i64 in the payload
}

TEST_P(ExceptionHandling, OnlyTheThrownTagIsCaughtAndCatchAllTakesAny) {
  EXPECT_EQ(call_i32("outer_catches_other", {4}), 40u);
  EXPECT_EQ(call_i32("catch_all", {1}), 7u);
  EXPECT_EQ(call_i32("catch_all_ref_is_not_null", {1}), 1u);
}

TEST_P(ExceptionHandling, ThrowRefRethrowsTheSameException) {
  EXPECT_EQ(call_i32("rethrow", {77}), 77u);
}

TEST_P(ExceptionHandling, UnwindsDeepRecursionAndRetriesFromALoopLabel) {
  EXPECT_EQ(call_i32("deep", {5000}), 42u);
  EXPECT_EQ(call_i32("retry", {5}), 5u);  // four throws caught by the loop's label
}

TEST_P(ExceptionHandling, PassesThroughAHostFunctionThatHandsItOn) {
  EXPECT_EQ(call_i32("through_host", {31}), 31u);
}

TEST_P(ExceptionHandling, UncaughtExceptionsAndNullReferencesTrap) {
  Outcome uncaught = call("uncaught", {3});
  ASSERT_TRUE(uncaught.trap);
  EXPECT_EQ(uncaught.trap->code, TrapCode::kUncaughtException);
  EXPECT_EQ(uncaught.trap->message, "uncaught exception");
  // Its frames are named when it leaves wasm (not while it unwinds: most are caught).
  ASSERT_FALSE(uncaught.trap->backtrace.empty());
  EXPECT_EQ(uncaught.trap->backtrace[0].function_name, "uncaught");
  Outcome null_ref = call("throw_null", {});
  ASSERT_TRUE(null_ref.trap);
  EXPECT_EQ(null_ref.trap->code, TrapCode::kNullExceptionReference);
  // The store goes on running after both.
  EXPECT_EQ(call_i32("catch_payload", {1}), 1001u);
}

// A loop that throws and catches without taking references reuses one exception; one that
// takes a reference to each keeps them all (kiln has no collector for exnref yet), against the
// store's memory budget, and stops with a trap when its budget is spent rather than growing the
// process.
TEST_P(ExceptionHandling, ExceptionsAreReusedOrCountedAgainstTheMemoryBudget) {
  EXPECT_EQ(call_i32("many", {10000, 0}), 10000u);
  EXPECT_LE(store_->live_exceptions(), 1u);
  EXPECT_EQ(call_i32("many", {100, 1}), 100u);
  EXPECT_GE(store_->live_exceptions(), 100u);

  StoreLimits limits;
  limits.max_total_memory_bytes = 64 * 1024;
  instantiate(limits);
  Outcome out = call("many", {1000000, 1});
  ASSERT_TRUE(out.trap);
  EXPECT_EQ(out.trap->code, TrapCode::kOutOfMemory);
  EXPECT_LE(store_->telemetry().memory_bytes, limits.max_total_memory_bytes);
  // The budget is the store's: another store with the same limits throws as before.
  instantiate(limits);
  EXPECT_EQ(call_i32("many", {1000, 0}), 1000u);
}

INSTANTIATE_TEST_SUITE_P(Tiers, ExceptionHandling,
                         ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

// Each call's first result cell (or its trap, with the backtrace) and the fuel it took.
std::vector<std::string> run_calls(Engine& engine) {
  Store store(engine);
  EXPECT_TRUE(store.set_fuel(10000000).ok());
  auto module = Module::compile(engine, test::test_module("exceptions"));
  EXPECT_TRUE(module);
  Instance* instance = nullptr;
  FunctionInstance* call_back = store.create_host_function(
      FuncType{{ValType::kI32}, {ValType::kI32}}, [&](HostCall& call, uint64_t* cells) {
        return call.store.invoke(instance->find_export("throw_small")->function(), cells);
      });
  auto made = store.instantiate(*module, {Extern{ExternKind::kFunction, call_back}});
  EXPECT_TRUE(made);
  instance = *made;
  const std::vector<std::pair<std::string, std::vector<uint64_t>>> calls = {
      {"catch_payload", {5}},
      {"outer_catches_other", {4}},
      {"rethrow", {77}},
      {"catch_all", {1}},
      {"catch_all_ref_is_not_null", {1}},
      {"deep", {300}},
      {"retry", {5}},
      {"catch_returns", {9}},
      {"wide", {100}},
      {"through_host", {31}},
      {"uncaught", {3}},
      {"throw_null", {}},
      {"many", {200, 0}},
      {"many", {50, 1}}};
  std::vector<std::string> out;
  for (const auto& [name, given] : calls) {
    std::vector<uint64_t> args = given;
    args.resize(4);
    const uint64_t fuel_before = store.fuel_remaining();
    TrapPtr trap = store.invoke(instance->find_export(name)->function(), args.data());
    out.push_back(name + ": " + (trap ? trap->to_string() : std::to_string(args[0])) + ", fuel " +
                  std::to_string(fuel_before - store.fuel_remaining()));
  }
  return out;
}

// Thrower, relay and catcher in either tier: the same results, traps and fuel as under the
// interpreter alone (exceptions cost fuel like any instruction: docs/BUDGETS.md).
TEST(ExceptionHandlingMixedTiers, ExceptionsCrossBetweenTheTiers) {
  if (!code_tier()) GTEST_SKIP() << "this build has no JIT";
  EngineConfig config;
  config.consume_fuel = true;
  config.tier = Tier::kInterpreter;
  Engine interpreter(config);
  const std::vector<std::string> expected = run_calls(interpreter);
  const std::vector<std::set<std::string>> interpreted = {
      {},       {"throw_small"},         {"catch_payload"}, {"relay"}, {"dive"},
      {"deep"}, {"throw_small", "deep"}, {"through_host"},  {"many"},  {"throw_small", "many"}};
  for (const std::set<std::string>& refused : interpreted) {
    RefusingTier tier(*code_tier(), refused);
    Engine mixed(config, &tier);
    EXPECT_EQ(run_calls(mixed), expected) << "interpreted: " << ::testing::PrintToString(refused);
    EXPECT_EQ(tier.refused_so_far(), refused);  // each was called, and so interpreted
  }
  // The auto tier handing every interpreted frame over to machine code at the first loop
  // header it reaches (both counts 1): loops that throw, or whose callees throw, go on in
  // machine code, and what they throw is caught by try_tables of frames still interpreted.
  config.tier = Tier::kJit;
  config.interpreted_calls_before_compile = config.loop_iterations_before_compile = 1;
  Engine automatic(config);
  const uint64_t hand_overs = code_tier()->stats().loop_entries;
  EXPECT_EQ(run_calls(automatic), expected) << "auto tier";
  EXPECT_GT(code_tier()->stats().loop_entries, hand_overs);
}

}  // namespace
}  // namespace kiln
