// Hostile guests against the runtime (issue: hardening): deep host <-> wasm re-entry, a
// deadline callback that calls its own store, deep recursion's backtrace, table bombs and
// locals bombs. Each test reproduces a failure that crashed kiln or escaped a budget before.
// (Hostile WASI calls and careless embedders have their own tests: wasi_test.cpp,
// c_api_test.cpp and the programs in tests/embedders/.)
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/mman.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include "runtime/module.h"
#include "runtime/native_stack.h"
#include "runtime/store.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

// tests/wasm/hostile_reentry.wat in a store whose host function "reenter" runs `reenter`.
class Reentry {
 public:
  explicit Reentry(EngineConfig config = {}, StoreLimits limits = {})
      : engine_(config), store_(engine_, limits) {
    auto module = Module::compile(engine_, test::test_module("hostile_reentry"));
    EXPECT_TRUE(module.ok()) << module.error().message;
    FunctionInstance* host = store_.create_host_function(
        FuncType{{ValType::kI32}, {ValType::kI32}},
        [this](HostCall& call, uint64_t* cells) { return reenter(call, cells); }, "env.reenter");
    auto instance = store_.instantiate(*module, {Extern{ExternKind::kFunction, host}});
    EXPECT_TRUE(instance.ok()) << instance.error().message;
    instance_ = *instance;
  }
  FunctionInstance* function(const char* name) { return instance_->find_export(name)->function(); }
  std::function<TrapPtr(HostCall&, uint64_t*)> reenter;
  Engine& engine() { return engine_; }
  Store& store() { return store_; }

 private:
  Engine engine_;
  Store store_;
  Instance* instance_ = nullptr;
};

// What glibc says of the calling thread's stack: its lowest and highest address.
std::pair<uintptr_t, uintptr_t> glibc_stack_bounds() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return {0, 0};
  void* low = nullptr;
  size_t size = 0;
  const int got = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  if (got != 0) return {0, 0};
  return {reinterpret_cast<uintptr_t>(low), reinterpret_cast<uintptr_t>(low) + size};
}

// The main thread's stack is found without pthread_getattr_np (which reads /proc/self/maps
// for it): the answer must be glibc's, or a stack overflow could get past the entry check.
// GoogleTest runs tests on the main thread; a thread of its own checks the other path.
TEST(NativeStack, BoundsAreWhatGlibcReportsOnTheMainThreadAndOthers) {
  auto check = [](const char* which) {
    const NativeStackBounds bounds = native_stack_bounds();
    const auto [low, high] = glibc_stack_bounds();
    ASSERT_NE(low, 0u) << which;
    EXPECT_EQ(bounds.low, low) << which;
    EXPECT_EQ(bounds.high, high) << which;
    EXPECT_GT(bounds.limit, bounds.low) << which;
    const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    EXPECT_TRUE(here > bounds.limit && here < bounds.high) << which;
  };
  check("main thread");
  std::thread other([&] { check("another thread"); });
  other.join();
}

// A mapping inside the main stack's extent (possible when RLIMIT_STACK was raised after exec):
// the stack cannot grow past it, so the bounds must end there, as glibc's do. Exits 0 if they
// do, 1 if not, 2 if the case cannot be set up.
[[noreturn]] void check_bounds_with_a_mapping_inside_the_stack() {
  const auto [low, high] = glibc_stack_bounds();
  const uintptr_t at = low + (uintptr_t{1} << 20);
  void* inside = mmap(reinterpret_cast<void*>(at), 65536, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (inside != reinterpret_cast<void*>(at)) std::_Exit(2);
  const NativeStackBounds bounds = native_stack_bounds();
  const auto glibc = glibc_stack_bounds();
  const bool clipped = bounds.low == glibc.first && bounds.low >= at + 65536 && bounds.high == high;
  std::_Exit(clipped ? 0 : 1);
}

// Run in a fresh process (the bounds are looked up once per thread), whose first lookup comes
// after the mapping is made.
TEST(NativeStackDeathTest, AMappingInsideTheMainStacksExtentLimitsItsBounds) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(check_bounds_with_a_mapping_inside_the_stack(), ::testing::ExitedWithCode(0), "");
}

TEST(Reentry, DeepHostToWasmReentryTrapsInsteadOfOverflowingTheNativeStack) {
  Reentry r;
  FunctionInstance* down = r.function("down");
  uint32_t deepest = 0;
  // Each level: wasm `down` -> host -> wasm `down` again, forever. About 2.5 KB of native
  // stack per round trip: 4,000 levels overflowed the thread's stack before.
  r.reenter = [&](HostCall& call, uint64_t* cells) {
    deepest = std::max(deepest, static_cast<uint32_t>(cells[0]));
    return call.store.invoke(down, cells);
  };
  uint64_t cells[1] = {0};
  TrapPtr trap = r.store().invoke(down, cells);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kCallStackExhausted) << trap->message;
  // About 3,000 levels fit in an 8 MiB stack in a release build; a debug ASan build's
  // interpreter frame is far larger.
  EXPECT_GT(deepest, 20u) << "re-entry must work until the stack is nearly used";
  // The trap's backtrace is collapsed like any other: every wasm frame is of `down`.
  EXPECT_EQ(trap->backtrace.size(), 2 * Trap::kTraceEnds);
  EXPECT_TRUE(trap->omitted_one_function);
  EXPECT_NE(trap->to_string().find("more frames of hostile_reentry!down"), std::string::npos)
      << trap->to_string();
  // The store is usable afterwards.
  r.reenter = [](HostCall&, uint64_t* cells) {
    cells[0] = 42;
    return TrapPtr();
  };
  cells[0] = 0;
  EXPECT_EQ(r.store().invoke(down, cells), nullptr);
  EXPECT_EQ(cells[0], 42u);
}

TEST(Reentry, DeadlineCallbackThatCallsItsOwnStoreDoesNotOverflow) {
  EngineConfig config;
  config.epoch_interruption = true;
  Reentry r(config);
  FunctionInstance* recurse = r.function("recurse");
  int callbacks = 0;
  // The deadline has passed: every function entry calls the callback, which calls wasm again,
  // which reaches the deadline at its entry, and so on.
  r.store().set_epoch_deadline(0);
  r.store().set_deadline_callback([&](Store& store) -> std::optional<uint64_t> {
    ++callbacks;
    uint64_t cells[1] = {0};
    TrapPtr inner = store.invoke(recurse, cells);
    EXPECT_NE(inner, nullptr);
    return std::nullopt;
  });
  uint64_t cells[1] = {0};
  TrapPtr trap = r.store().invoke(recurse, cells);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kDeadlineExceeded) << trap->message;
  EXPECT_GT(callbacks, 20);
}

TEST(Backtrace, DeepRecursionKeepsTheEndsAndCountsTheRest) {
  Reentry r;
  uint64_t cells[1] = {0};
  TrapPtr trap = r.store().invoke(r.function("recurse"), cells);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kCallStackExhausted);
  const uint32_t depth = StoreLimits{}.max_call_depth;
  EXPECT_EQ(trap->frame_count(), depth);
  EXPECT_EQ(trap->backtrace.size(), 2 * Trap::kTraceEnds);
  EXPECT_EQ(trap->omitted_frames, depth - 2 * Trap::kTraceEnds);
  const std::string text = trap->to_string();
  EXPECT_NE(text.find("\n  ... 99980 more frames of hostile_reentry!recurse\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\n  9: hostile_reentry!recurse"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  99999: hostile_reentry!recurse"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 21) << "20 frames and the summary";
}

TEST(Backtrace, OmittedFramesOfSeveralFunctionsAreCountedWithoutAName) {
  Trap trap;
  for (uint32_t i = 0; i < 30; ++i) {
    TraceFrame frame;
    frame.function_index = i % 2;
    trap.add_frame(frame);
  }
  EXPECT_EQ(trap.frame_count(), 30u);
  EXPECT_EQ(trap.omitted_frames, 10u);
  EXPECT_FALSE(trap.omitted_one_function);
  EXPECT_NE(trap.to_string().find("\n  ... 10 more frames\n  20: <function 0>"), std::string::npos)
      << trap.to_string();
}

TEST(TableBudget, TwentyHugeTablesAreRefusedByTheStoresMemoryBudget) {
  Engine engine;
  StoreLimits limits;
  limits.max_total_memory_bytes = 1 << 20;
  Store store(engine, limits);
  auto module = Module::compile(engine, test::test_module("hostile_tables"));
  ASSERT_TRUE(module.ok()) << module.error().message;
  const size_t before = test::resident_bytes();
  auto instance = store.instantiate(*module, {});
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.error().kind, ErrorKind::kLimit);
  EXPECT_NE(instance.error().message.find("memory budget"), std::string::npos)
      << instance.error().message;
  // 1.6 GB were allocated before tables counted against any budget.
  EXPECT_LT(test::resident_bytes(), before + (64u << 20));
  EXPECT_EQ(store.telemetry().memory_bytes, 0u);
  EXPECT_EQ(store.telemetry().limit_refusals, 1u);
}

TEST(TableBudget, TableAndMemoryGrowthShareOneBudgetAndAreReported) {
  Engine engine;
  StoreLimits limits;
  limits.max_total_memory_bytes = 1 << 20;  // 1 MiB: one page of memory is already in use
  Store store(engine, limits);
  auto module = Module::compile(engine, test::test_module("hostile_table_grow"));
  ASSERT_TRUE(module.ok()) << module.error().message;
  Instance* instance = *store.instantiate(*module, {});
  auto call = [&](const char* name, uint32_t arg) {
    uint64_t cells[1] = {arg};
    EXPECT_EQ(store.invoke(instance->find_export(name)->function(), cells), nullptr);
    return static_cast<int32_t>(cells[0]);
  };
  EXPECT_EQ(call("grow", 100000), 0);       // 800,000 bytes of references
  EXPECT_EQ(call("grow_b", 100000), -1);    // another 800,000 would pass the budget
  EXPECT_EQ(call("grow_memory", 1), 1);     // 65536 + 800,000 + 65536 fits
  EXPECT_EQ(call("grow_memory", 2), -1);    // ... two more pages do not
  EXPECT_EQ(call("grow_b", 10000000), -1);  // a guest-chosen 10 M is refused, not allocated
  StoreTelemetry t = store.telemetry();
  EXPECT_EQ(t.table_bytes, 800000u);
  EXPECT_EQ(t.memory_bytes, 800000u + 2 * 65536);
  EXPECT_EQ(t.table_grow_refusals, 2u);
  EXPECT_EQ(t.memory_grow_refusals, 1u);
}

TEST(StoreLimitsCheck, StackLimitsPastWhatKilnSupportsAreUsageErrors) {
  StoreLimits limits;
  EXPECT_TRUE(check_store_limits(limits).ok());
  limits.max_stack_bytes = uint64_t{1000} << 30;
  auto r = check_store_limits(limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  EXPECT_NE(r.error().message.find("max_stack_bytes"), std::string::npos);
  limits = {};
  limits.max_call_depth = UINT32_MAX;
  r = check_store_limits(limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("max_call_depth"), std::string::npos);
  // A store given them anyway clamps them, and its stacks are reserved, not committed: a run
  // still works.
  limits.max_stack_bytes = UINT64_MAX;
  Reentry r2({}, limits);
  uint64_t cells[1] = {0};
  r2.reenter = [](HostCall&, uint64_t* c) {
    c[0] = 7;
    return TrapPtr();
  };
  EXPECT_EQ(r2.store().invoke(r2.function("down"), cells), nullptr);
  EXPECT_EQ(cells[0], 7u);
}

// A module of `functions` bodies of () -> (), each declaring `locals` i32 locals in one run.
std::vector<uint8_t> locals_bomb(uint32_t functions, uint32_t locals) {
  auto leb = [](std::vector<uint8_t>& out, uint32_t v) {
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      out.push_back(v ? b | 0x80 : b);
    } while (v);
  };
  auto section = [&](std::vector<uint8_t>& out, uint8_t id, const std::vector<uint8_t>& body) {
    out.push_back(id);
    leb(out, static_cast<uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  };
  std::vector<uint8_t> m = test::module_bytes({0x01, 0x04, 0x01, 0x60, 0x00, 0x00});
  std::vector<uint8_t> funcs, code, body;
  leb(funcs, functions);
  funcs.insert(funcs.end(), functions, 0x00);
  body.push_back(0x01);
  leb(body, locals);
  body.push_back(0x7f);
  body.push_back(0x0b);
  leb(code, functions);
  for (uint32_t i = 0; i < functions; ++i) {
    leb(code, static_cast<uint32_t>(body.size()));
    code.insert(code.end(), body.begin(), body.end());
  }
  section(m, 0x03, funcs);
  section(m, 0x0a, code);
  return m;
}

TEST(LocalsBomb, ModuleDeclaringBillionsOfLocalsIsRefusedAtDecode) {
  // 20,000 bodies of 7 bytes, each declaring 50,000 locals: 1e9 locals in 160 KB, which took
  // 982 MB to validate when each local was stored.
  std::vector<uint8_t> bytes = locals_bomb(20000, 50000);
  EXPECT_LT(bytes.size(), 200000u);
  Engine engine;
  const size_t before = test::resident_bytes();
  auto valid = Module::validate(engine, bytes);
  ASSERT_FALSE(valid.ok());
  EXPECT_EQ(valid.error().kind, ErrorKind::kLimit);
  EXPECT_NE(valid.error().message.find("too many locals: more than 10000000 in the module"),
            std::string::npos)
      << valid.error().message;
  EXPECT_NE(valid.error().message.find("function 200"), std::string::npos)
      << "the first function past the module's limit: " << valid.error().message;
  EXPECT_LT(test::resident_bytes(), before + (64u << 20));
  // One function past the per-function limit.
  auto one = Module::validate(engine, locals_bomb(1, 50001));
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.error().message.find("more than 50000 in one function"), std::string::npos)
      << one.error().message;
}

TEST(LocalsBomb, LocalsAreKeptAsRunsNotOneEntryEach) {
  Engine engine;
  auto module = Module::compile(engine, locals_bomb(100, 50000));
  ASSERT_TRUE(module.ok()) << module.error().message;
  ASSERT_EQ((*module)->bodies.size(), 100u);
  ASSERT_EQ((*module)->bodies[0].locals.size(), 1u);
  EXPECT_EQ((*module)->bodies[0].locals[0].count, 50000u);
  // And the functions run: their 50,000 locals start at zero.
  Store store(engine);
  Instance* instance = *store.instantiate(*module, {});
  EXPECT_EQ(store.invoke(instance->functions[0], nullptr), nullptr);
}

}  // namespace
}  // namespace kiln
