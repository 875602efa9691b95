// Fuel, deadlines, per-store limits, telemetry and isolation (docs/BUDGETS.md).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "runtime/epoch_timer.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

// One module instantiated in a store of an engine with the given configuration; the import
// "env" "host" adds 1 to its argument.
class Budgeted {
 public:
  explicit Budgeted(EngineConfig config = {}, StoreLimits limits = {})
      : engine_(config), store_(engine_, limits) {
    auto module = Module::compile(engine_, test::test_module("budget"));
    EXPECT_TRUE(module.ok()) << module.error().message;
    module_ = *module;
    host_ = store_.create_host_function(
        FuncType{{ValType::kI32}, {ValType::kI32}},
        [](HostCall&, uint64_t* cells) {
          cells[0] = static_cast<uint32_t>(cells[0] + 1);
          return TrapPtr();
        },
        "env.host");
  }

  Result<Instance*> instantiate() {
    return store_.instantiate(module_, {Extern{ExternKind::kFunction, host_}});
  }

  // Calls `name` on `instance` with one i32 argument (or none).
  TrapPtr call(Instance* instance, const char* name, std::vector<uint64_t> args,
               uint64_t* result = nullptr) {
    args.resize(std::max<size_t>(args.size(), 1));
    TrapPtr trap = store_.invoke(instance->find_export(name)->function(), args.data());
    if (result) *result = args[0];
    return trap;
  }

  Engine& engine() { return engine_; }
  Store& store() { return store_; }

 private:
  Engine engine_;
  Store store_;
  std::shared_ptr<const Module> module_;
  FunctionInstance* host_ = nullptr;
};

EngineConfig with_fuel(uint64_t host_call_fuel = 0) {
  EngineConfig c;
  c.consume_fuel = true;
  c.host_call_fuel = host_call_fuel;
  return c;
}

EngineConfig with_epochs() {
  EngineConfig c;
  c.epoch_interruption = true;
  return c;
}

// Fuel a call of `name(args)` consumes, given plenty.
uint64_t fuel_of(Budgeted& b, Instance* instance, const char* name, std::vector<uint64_t> args) {
  EXPECT_TRUE(b.store().set_fuel(1000000).ok());
  const uint64_t before = b.store().fuel_consumed();
  TrapPtr trap = b.call(instance, name, std::move(args));
  EXPECT_EQ(trap, nullptr) << (trap ? trap->message : "");
  return b.store().fuel_consumed() - before;
}

TEST(Fuel, ConsumesExactlyTheHandCountedCost) {
  Budgeted b(with_fuel());
  Instance* inst = *b.instantiate();
  EXPECT_EQ(fuel_of(b, inst, "add", {}), 3u);
  EXPECT_EQ(fuel_of(b, inst, "choose", {1}), 3u);
  EXPECT_EQ(fuel_of(b, inst, "choose", {0}), 3u);
  for (uint64_t n : {0u, 1u, 10u, 1000u}) EXPECT_EQ(fuel_of(b, inst, "count", {n}), 5 + 9 * n) << n;
}

TEST(Fuel, HostCallsCostTheirConfiguredAmount) {
  Budgeted b(with_fuel(/*host_call_fuel=*/10));
  Instance* inst = *b.instantiate();
  EXPECT_EQ(fuel_of(b, inst, "call_host", {41}), 2u + 10u);
}

TEST(Fuel, StopsBeforeTheSegmentItCannotPayFor) {
  Budgeted b(with_fuel());
  Instance* inst = *b.instantiate();
  // count(10) costs 95: with 94, the last segment (local.get after the loop, cost 1) never starts.
  ASSERT_TRUE(b.store().set_fuel(94).ok());
  TrapPtr trap = b.call(inst, "count", {10});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kOutOfFuel);
  EXPECT_EQ(trap->message, "all fuel consumed");
  EXPECT_EQ(b.store().fuel_remaining(), 0u);
  EXPECT_EQ(b.store().fuel_consumed(), 94u);
  // Refuelled, the same store runs again.
  ASSERT_TRUE(b.store().add_fuel(95).ok());
  uint64_t result = 0;
  EXPECT_EQ(b.call(inst, "count", {10}, &result), nullptr);
  EXPECT_EQ(result, 10u);
  EXPECT_EQ(b.store().fuel_remaining(), 0u);
}

TEST(Fuel, StopsAnInfiniteLoop) {
  Budgeted b(with_fuel());
  Instance* inst = *b.instantiate();
  ASSERT_TRUE(b.store().set_fuel(100000).ok());
  TrapPtr trap = b.call(inst, "spin", {});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kOutOfFuel);
  EXPECT_LE(b.store().fuel_remaining(), 1u);  // each iteration costs 1 (the br)
}

TEST(Fuel, IsAnErrorWithoutFuelInTheEngine) {
  Budgeted b;
  EXPECT_FALSE(b.store().set_fuel(10).ok());
  EXPECT_FALSE(b.store().add_fuel(10).ok());
}

TEST(Deadline, StopsAnInfiniteLoopInTime) {
  Budgeted b(with_epochs());
  Instance* inst = *b.instantiate();
  b.store().set_epoch_deadline(1);
  EpochTimer timer(b.engine(), std::chrono::milliseconds(20));
  TrapPtr trap = b.call(inst, "spin", {});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kDeadlineExceeded);
  EXPECT_EQ(trap->message, "deadline exceeded");
}

TEST(Deadline, CallbackMayExtendIt) {
  Budgeted b(with_epochs());
  Instance* inst = *b.instantiate();
  int extensions = 0;
  b.store().set_deadline_callback([&](Store&) -> std::optional<uint64_t> {
    if (extensions == 3) return std::nullopt;
    ++extensions;
    return 1;
  });
  b.store().set_epoch_deadline(1);
  EpochTimer timer(b.engine(), std::chrono::milliseconds(5));
  TrapPtr trap = b.call(inst, "spin", {});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kDeadlineExceeded);
  EXPECT_EQ(extensions, 3);
}

TEST(Deadline, AMovedDeadlineUndoesATicksInterruption) {
  Budgeted b(with_epochs());
  Instance* inst = *b.instantiate();
  b.store().set_epoch_deadline(1);
  b.engine().increment_epoch();  // reaches the deadline: the store's code is interrupted
  EXPECT_EQ(b.store().context().native_stack_limit.load(), StoreContext::kInterrupted);
  b.store().set_epoch_deadline(1000);
  EXPECT_NE(b.store().context().native_stack_limit.load(), StoreContext::kInterrupted);
  uint64_t result = 0;
  EXPECT_EQ(b.call(inst, "count", {100}, &result), nullptr);
  EXPECT_EQ(result, 100u);
  b.engine().increment_epoch();  // far from the new deadline: no interruption
  EXPECT_NE(b.store().context().native_stack_limit.load(), StoreContext::kInterrupted);
}

TEST(Deadline, EpochIsOnlyCheckedWhenEnabled) {
  Budgeted b;  // no epoch interruption: the epoch may move, nothing is checked
  Instance* inst = *b.instantiate();
  b.store().set_epoch_deadline(0);
  b.engine().increment_epoch();
  uint64_t result = 0;
  EXPECT_EQ(b.call(inst, "count", {100}, &result), nullptr);
  EXPECT_EQ(result, 100u);
}

TEST(Limits, CallDepthStopsDeepRecursion) {
  StoreLimits limits;
  limits.max_call_depth = 50;
  Budgeted b({}, limits);
  Instance* inst = *b.instantiate();
  TrapPtr trap = b.call(inst, "deep", {0});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kCallStackExhausted);
  EXPECT_EQ(trap->frame_count(), 50u);  // exactly the allowed depth of wasm frames
  // The innermost and outermost ten are kept; the thirty between are counted.
  EXPECT_EQ(trap->backtrace.size(), 2 * Trap::kTraceEnds);
  EXPECT_EQ(trap->omitted_frames, 30u);
  EXPECT_TRUE(trap->omitted_one_function);
}

TEST(Limits, MemoryGrowReturnsMinusOnePastTheLimit) {
  StoreLimits limits;
  limits.max_memory_bytes = 3 * 65536;
  Budgeted b({}, limits);
  Instance* inst = *b.instantiate();
  uint64_t result = 0;
  ASSERT_EQ(b.call(inst, "grow_memory", {2}, &result), nullptr);
  EXPECT_EQ(result, 1u);  // old size in pages
  ASSERT_EQ(b.call(inst, "grow_memory", {1}, &result), nullptr);
  EXPECT_EQ(static_cast<uint32_t>(result), 0xffffffffu);
  StoreTelemetry t = b.store().telemetry();
  EXPECT_EQ(t.memory_grow_refusals, 1u);
  // Tables count too: the module's one-element table takes 8 bytes.
  EXPECT_EQ(t.peak_memory_bytes, 3u * 65536 + kTableElementBytes);
  EXPECT_EQ(t.memory_bytes, 3u * 65536 + kTableElementBytes);
  EXPECT_EQ(t.table_bytes, kTableElementBytes);
}

TEST(Limits, MemoryLargerThanTheLimitCannotBeCreated) {
  StoreLimits limits;
  limits.max_memory_bytes = 65535;  // less than the module's one page
  Budgeted b({}, limits);
  auto inst = b.instantiate();
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().kind, ErrorKind::kLimit);
  EXPECT_EQ(b.store().telemetry().limit_refusals, 1u);
}

TEST(Limits, TableGrowReturnsMinusOnePastTheLimit) {
  StoreLimits limits;
  limits.max_table_elements = 4;
  Budgeted b({}, limits);
  Instance* inst = *b.instantiate();
  uint64_t result = 0;
  ASSERT_EQ(b.call(inst, "grow_table", {3}, &result), nullptr);
  EXPECT_EQ(result, 1u);
  ASSERT_EQ(b.call(inst, "grow_table", {1}, &result), nullptr);
  EXPECT_EQ(static_cast<uint32_t>(result), 0xffffffffu);
  EXPECT_EQ(b.store().telemetry().table_grow_refusals, 1u);
}

TEST(Limits, InstanceCountIsEnforced) {
  StoreLimits limits;
  limits.max_instances = 2;
  Budgeted b({}, limits);
  EXPECT_TRUE(b.instantiate().ok());
  EXPECT_TRUE(b.instantiate().ok());
  auto third = b.instantiate();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().kind, ErrorKind::kLimit);
  EXPECT_NE(third.error().message.find("at most 2 instances"), std::string::npos);
}

TEST(Telemetry, CountsHostCallsAndTrapsByKind) {
  Budgeted b;
  Instance* inst = *b.instantiate();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(b.call(inst, "call_host", {1}), nullptr);
  EXPECT_NE(b.call(inst, "divide", {0}), nullptr);
  EXPECT_NE(b.call(inst, "divide", {0}), nullptr);
  EXPECT_NE(b.call(inst, "deep", {0}), nullptr);
  StoreTelemetry t = b.store().telemetry();
  ASSERT_EQ(t.host_calls.count("env.host"), 1u);
  EXPECT_EQ(t.host_calls["env.host"].count, 3u);
  EXPECT_EQ(t.traps["integer divide by zero"], 2u);
  EXPECT_EQ(t.traps["call stack exhausted"], 1u);
  EXPECT_EQ(t.peak_memory_bytes, 65536u + kTableElementBytes);  // a page and a 1-element table
}

// Isolation: stores that trap, exhaust their stack and run out of fuel leave nothing behind
// once dropped. In sanitizer builds LeakSanitizer checks the same at exit (and ASan's
// quarantine makes resident size meaningless), so the size check runs in other builds.
TEST(Isolation, ThousandsOfTrappingStoresReturnMemoryToBaseline) {
  auto churn = [](int stores) {
    for (int i = 0; i < stores; ++i) {
      Budgeted b(with_fuel());
      Instance* inst = *b.instantiate();
      ASSERT_TRUE(b.store().set_fuel(1000).ok());
      EXPECT_NE(b.call(inst, "divide", {0}), nullptr);
      if (i % 10 == 0) {
        EXPECT_NE(b.call(inst, "deep", {0}), nullptr);
      }
      if (i % 10 == 5) {
        EXPECT_NE(b.call(inst, "spin", {}), nullptr);
      }
      ASSERT_TRUE(b.store().set_fuel(1000).ok());  // the traps above may have used it all
      EXPECT_EQ(b.call(inst, "grow_memory", {1}), nullptr);
    }
  };
  churn(200);  // warm up allocator caches
  const size_t baseline = test::resident_bytes();
  ASSERT_GT(baseline, 0u) << "cannot read /proc/self/statm";
  churn(3000);
#ifdef KILN_UNDER_ASAN
  GTEST_LOG_(INFO)
      << "resident size not compared under AddressSanitizer; LeakSanitizer checks leaks";
#else
  const size_t after = test::resident_bytes();
  EXPECT_LT(after, baseline + (16u << 20)) << "baseline " << baseline << ", after " << after;
#endif
}

}  // namespace
}  // namespace kiln
