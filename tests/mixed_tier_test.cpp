// Functions the code tier cannot compile run in the interpreter, called from machine code and
// calling into it (DESIGN-NOTES section 7: mixed tiers). A tier that hands the JIT every
// function but the ones a test names makes such programs on purpose; they must behave as
// under the interpreter alone: results, traps with their backtraces through frames of both
// tiers, and fuel to the unit (which the JIT keeps in a register and writes back around calls
// out of machine code).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "runtime/interpreter_code.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/refusing_tier.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

// One call of an export of tests/wasm/traps.wat under an engine: results, trap, fuel left.
struct Outcome {
  std::vector<uint64_t> cells;
  std::string trap;
  uint64_t fuel_left = 0;
};

Outcome run(Engine& engine, const std::string& name, std::vector<uint64_t> args) {
  Store store(engine);
  if (engine.config().consume_fuel) {
    EXPECT_TRUE(store.set_fuel(1000000).ok());
  }
  auto module = Module::compile(engine, test::test_module("traps"));
  EXPECT_TRUE(module) << module.error().message;
  auto instance = store.instantiate(*module, {});
  EXPECT_TRUE(instance);
  args.resize(std::max<size_t>(args.size(), 1));
  Outcome out;
  TrapPtr trap = store.invoke((*instance)->find_export(name)->function(), args.data());
  if (trap) out.trap = trap->to_string();
  out.cells = args;
  if (engine.config().consume_fuel) out.fuel_left = store.fuel_remaining();
  return out;
}

class MixedTiers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!code_tier()) GTEST_SKIP() << "this build has no JIT for this machine";
  }
  // Runs each call under the interpreter and under the JIT refusing `refused`, with fuel, and
  // expects the same outcome.
  void expect_same(const std::set<std::string>& refused,
                   const std::vector<std::pair<std::string, std::vector<uint64_t>>>& calls) {
    EngineConfig config;
    config.consume_fuel = true;
    config.tier = Tier::kInterpreter;
    Engine interpreter(config);
    RefusingTier tier(*code_tier(), refused);
    Engine mixed(config, &tier);
    for (const auto& [name, args] : calls) {
      const Outcome a = run(interpreter, name, args);
      const Outcome b = run(mixed, name, args);
      EXPECT_EQ(b.cells, a.cells) << name;
      EXPECT_EQ(b.trap, a.trap) << name;
      EXPECT_EQ(b.fuel_left, a.fuel_left) << name;
    }
    // Each refused function was asked for (and so interpreted) in some call.
    EXPECT_EQ(tier.refused_so_far(), refused);
  }
};

TEST_F(MixedTiers, InterpretedFunctionsBetweenCompiledOnesBehaveAsUnderTheInterpreter) {
  const std::vector<std::pair<std::string, std::vector<uint64_t>>> calls = {
      {"nested", {}},     // outer -> middle -> inner (unreachable): a backtrace of 3 frames
      {"fac", {20}},      // recursion
      {"descend", {30}},  // recursion, then a leaf
      {"call_indirect", {0}}, {"call_indirect", {1}},  // a signature mismatch
      {"div_s", {7, 0}},
  };
  expect_same({"middle"}, calls);          // a compiled frame on each side
  expect_same({"outer", "inner"}, calls);  // an interpreted frame on each side
  expect_same({"descend"}, calls);         // interpreted recursion, compiled leaf
  expect_same({"leaf", "fac"}, calls);     // compiled recursion, interpreted leaf
  expect_same({"one"}, calls);             // an interpreted target of call_indirect
}

// The call depth is one budget for the frames of both tiers: a recursion through compiled and
// interpreted frames (either way round), or one that the auto tier starts in the interpreter
// and goes on with in machine code, stops at exactly StoreLimits::max_call_depth frames.
TEST_F(MixedTiers, OneCallDepthCountsTheFramesOfBothTiers) {
  StoreLimits limits;
  auto frames_at_exhaustion = [&](Engine& engine, uint32_t depth) -> size_t {
    limits.max_call_depth = depth;
    Store store(engine, limits);
    auto module = Module::compile(engine, test::test_module("traps"));
    EXPECT_TRUE(module);
    auto instance = store.instantiate(*module, {});
    EXPECT_TRUE(instance);
    uint64_t cells[1] = {0};
    TrapPtr trap = store.invoke((*instance)->find_export("ping")->function(), cells);
    EXPECT_TRUE(trap);
    if (!trap) return 0;
    EXPECT_EQ(trap->code, TrapCode::kCallStackExhausted);
    return trap->frame_count();
  };
  EngineConfig config;
  config.tier = Tier::kInterpreter;
  Engine interpreter(config);
  EXPECT_EQ(frames_at_exhaustion(interpreter, 60), 60u);
  config.tier = Tier::kJit;
  // Every call here changes tiers, through C++ frames of the runtime and the interpreter, which
  // the native stack's own limit also bounds (at about 65 such frames under ASan): the depth
  // stays below that.
  for (const char* refused : {"pong", "ping"}) {
    RefusingTier tier(*code_tier(), {refused});
    Engine mixed(config, &tier);
    EXPECT_EQ(frames_at_exhaustion(mixed, 40), 40u) << refused << " interpreted";
  }
  config.set_auto_tier(true);
  Engine automatic(config);
  EXPECT_EQ(frames_at_exhaustion(automatic, 60), 60u) << "the auto tier";
}

// The auto tier interprets a function without loops for its first calls, then compiles it; a
// function with a loop is compiled at its first call. Results are the same either way.
TEST_F(MixedTiers, TheAutoTierCompilesLoopFreeFunctionsAfterTheirFirstCalls) {
  EngineConfig config;
  config.tier = Tier::kJit;
  config.interpreted_calls_before_compile = 2;
  Engine engine(config);
  Store store(engine);
  auto module = Module::compile(engine, test::test_module("budget"));
  ASSERT_TRUE(module);
  FunctionInstance* host = store.create_host_function(
      FuncType{{ValType::kI32}, {ValType::kI32}},
      [](HostCall&, uint64_t* cells) {
        cells[0] = static_cast<uint32_t>(cells[0] + 1);
        return TrapPtr();
      },
      "env.host");
  auto instance = store.instantiate(*module, {Extern{ExternKind::kFunction, host}});
  ASSERT_TRUE(instance) << instance.error().message;
  auto state_of = [&](const char* name) {
    const FunctionInstance* f = (*instance)->find_export(name)->function();
    return f->code->native_state.load();
  };
  using State = CompiledFunction::NativeState;
  auto call = [&](const char* name, uint64_t arg) {
    uint64_t cells[1] = {arg};
    EXPECT_EQ(store.invoke((*instance)->find_export(name)->function(), cells), nullptr) << name;
    return cells[0];
  };
  EXPECT_EQ(call("call_host", 41), 42u);  // loop-free: interpreted twice
  EXPECT_EQ(call("call_host", 41), 42u);
  EXPECT_EQ(state_of("call_host"), State::kNotTried);
  EXPECT_EQ(call("call_host", 41), 42u);  // then compiled
  EXPECT_EQ(state_of("call_host"), State::kCompiled);
  EXPECT_EQ(call("count", 5), 5u);  // a loop: compiled at once
  EXPECT_EQ(state_of("count"), State::kCompiled);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// With a code tier the interpreter's translation waits (Module::compile), but an entry from the
// host still checks the interpreter's frame size against the value stack, so a call that the
// interpreter would refuse there is refused under the JIT too.
TEST_F(MixedTiers, FramesAreMeasuredAsTheInterpreterDoesWithoutTranslating) {
  EngineConfig config;
  config.tier = Tier::kInterpreter;
  Engine interpreter(config);
  config.tier = Tier::kJit;
  Engine jit(config);
  for (const char* name : {"traps", "budget"}) {
    auto a = Module::compile(interpreter, test::test_module(name));
    auto b = Module::compile(jit, test::test_module(name));
    ASSERT_TRUE(a && b) << name;
    ASSERT_EQ((*a)->compiled.size(), (*b)->compiled.size());
    uint32_t largest = 0;
    for (size_t i = 0; i < (*a)->compiled.size(); ++i) {
      EXPECT_FALSE((*a)->compiled[i]->code.empty()) << name << " " << i;
      EXPECT_TRUE((*b)->compiled[i]->code.empty()) << name << " " << i;  // not translated
      EXPECT_EQ((*b)->compiled[i]->frame_cells, (*a)->compiled[i]->frame_cells) << name << " " << i;
      largest = std::max(largest, (*a)->compiled[i]->frame_cells);
    }
    EXPECT_GT(largest, 0u) << name;
  }
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// The auto tier hands a frame that the interpreter runs over to machine code at a loop header
// once the function's loops are hot (on-stack replacement, tests/wasm/hot_loops.wat). Calls in
// one store must come out as under the interpreter alone: results, traps with their backtraces
// (each frame once), fuel to the unit, memory and globals.
struct HotLoopRun {
  std::vector<std::string> outcomes;  // per call: its result cell or its trap
  std::vector<uint64_t> fuel_left;    // per call
  std::vector<uint8_t> memory;        // the first KiB, at the end
  uint64_t global = 0;
  std::map<std::string, CompiledFunction::NativeState> states;  // per export, at the end
};

HotLoopRun run_hot_loops(Engine& engine,
                         const std::vector<std::pair<std::string, uint32_t>>& calls) {
  HotLoopRun out;
  Store store(engine);
  auto module = Module::compile(engine, test::test_module("hot_loops"));
  EXPECT_TRUE(module) << module.error().message;
  if (!module) return out;
  auto instance = store.instantiate(*module, {});
  EXPECT_TRUE(instance);
  if (!instance) return out;
  for (const auto& [name, arg] : calls) {
    if (engine.config().consume_fuel) {
      EXPECT_TRUE(store.set_fuel(200000).ok());
    }
    uint64_t cells[1] = {arg};
    const FunctionInstance* f = (*instance)->find_export(name)->function();
    TrapPtr trap = store.invoke(const_cast<FunctionInstance*>(f), cells);
    out.outcomes.push_back(trap ? trap->to_string() : std::to_string(cells[0]));
    out.fuel_left.push_back(engine.config().consume_fuel ? store.fuel_remaining() : 0);
    out.states[name] = f->code->native_state.load();
  }
  const LinearMemory& memory = *(*instance)->memories[0]->memory;
  out.memory.assign(memory.base(), memory.base() + 1024);
  out.global = (*instance)->globals[0]->cells[0];
  return out;
}

TEST_F(MixedTiers, TheAutoTierHandsHotLoopsOverToMachineCodeAsTheInterpreterWouldGoOn) {
  const std::vector<std::pair<std::string, uint32_t>> calls = {
      {"mix", 3},            // too few iterations: stays interpreted
      {"mix", 5000},         // handed over
      {"nested", 40},        // at the inner loop; the outer one goes on in machine code
      {"second_loop", 500},  // in the second of two loops
      {"deep", 30},          // in the middle of interpreted recursion
      {"fault", 200},        // a fault in the handed-over frame, below two interpreted callers
      {"stacked", 300},      // no loop entry: compiled at its first call
      {"spin", 0},           // out of fuel, in machine code
  };
  for (bool fuel : {true, false}) {
    for (bool epoch : {false, true}) {
      SCOPED_TRACE(std::string(fuel ? "fuel" : "no fuel") + (epoch ? ", epochs" : ""));
      EngineConfig config;
      config.consume_fuel = fuel;
      config.epoch_interruption = epoch;
      config.tier = Tier::kInterpreter;
      Engine interpreter(config);
      config.tier = Tier::kJit;
      config.interpreted_calls_before_compile = kAutoTierInterpretedCalls;
      config.loop_iterations_before_compile = 100;
      Engine automatic(config);
      auto these = calls;
      if (!fuel) these.pop_back();  // spin would not stop
      const HotLoopRun a = run_hot_loops(interpreter, these);
      const uint64_t entries_before = code_tier()->stats().loop_entries;
      const HotLoopRun b = run_hot_loops(automatic, these);
      // One hand-over each: mix (its count reaches 100 in its second call), nested (in the
      // inner loop), second_loop, deep (in its third interpreted frame: 40 iterations each;
      // machine code runs the deeper ones), fault, and spin (with fuel: it runs only then).
      EXPECT_EQ(code_tier()->stats().loop_entries - entries_before, fuel ? 6u : 5u);
      ASSERT_EQ(b.outcomes.size(), a.outcomes.size());
      for (size_t i = 0; i < a.outcomes.size(); ++i) {
        EXPECT_EQ(b.outcomes[i], a.outcomes[i]) << these[i].first << "(" << these[i].second << ")";
        EXPECT_EQ(b.fuel_left[i], a.fuel_left[i]) << these[i].first;
      }
      EXPECT_EQ(b.memory, a.memory);
      EXPECT_EQ(b.global, a.global);
      using State = CompiledFunction::NativeState;
      EXPECT_EQ(b.states.at("mix"), State::kCompiled);
      EXPECT_EQ(b.states.at("stacked"), State::kCompiled);
      if (fuel) {
        EXPECT_EQ(b.states.at("spin"), State::kCompiled);
      }
    }
  }
  // The trap names each frame once, innermost first, as the interpreter does.
  EngineConfig config;
  config.tier = Tier::kInterpreter;
  Engine interpreter(config);
  const HotLoopRun a = run_hot_loops(interpreter, {{"fault", 200}});
  ASSERT_EQ(a.outcomes.size(), 1u);
  EXPECT_NE(a.outcomes[0].find("out of bounds"), std::string::npos) << a.outcomes[0];
  EXPECT_NE(a.outcomes[0].find("0: hot_loops!fault "), std::string::npos) << a.outcomes[0];
  EXPECT_NE(a.outcomes[0].find("1: hot_loops!fault_caller "), std::string::npos) << a.outcomes[0];
  EXPECT_EQ(a.outcomes[0].find("3: "), std::string::npos) << a.outcomes[0];
}

// A hot loop hands over only once per frame, and a function that is not hot stays in the
// interpreter: the auto tier compiles nothing for a short run.
TEST_F(MixedTiers, TheAutoTierLeavesShortLoopsToTheInterpreter) {
  EngineConfig config;
  config.tier = Tier::kJit;
  config.set_auto_tier(true);
  Engine automatic(config);
  const uint64_t compiled_before = code_tier()->stats().compiled;
  const HotLoopRun run = run_hot_loops(automatic, {{"mix", 10}, {"nested", 2}});
  EXPECT_EQ(run.outcomes.size(), 2u);
  EXPECT_EQ(code_tier()->stats().compiled, compiled_before);
  EXPECT_EQ(run.states.at("mix"), CompiledFunction::NativeState::kNotTried);
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// Eager compilation compiles every function when the module is compiled, under the auto tier
// too (whose counts would otherwise take the eager pass for a first call, and interpret).
TEST_F(MixedTiers, EagerCompilationCompilesEverythingUnderTheAutoTier) {
  EngineConfig config;
  config.tier = Tier::kJit;
  config.set_auto_tier(true);
  config.eager_compilation = true;
  Engine engine(config);
  auto module = Module::compile(engine, test::test_module("hot_loops"));
  ASSERT_TRUE(module) << module.error().message;
  ASSERT_FALSE((*module)->compiled.empty());
  for (const auto& function : (*module)->compiled) {
    EXPECT_EQ(function->native_state.load(), CompiledFunction::NativeState::kCompiled)
        << "function " << function->function_index;
  }
}

}  // namespace
}  // namespace kiln
