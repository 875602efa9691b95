// A thread compiling for the JIT keeps one decoder and one set of code-generator buffers from
// function to function (code_tier.cpp): each function must compile as if it were the first,
// whatever the one before left behind (a deep value stack, a large body whose buffers are not
// lent, a function of another module), and give the results C++ computes for it.
#include <gtest/gtest.h>

#include <cstdint>
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

// The bodies: each (param i32) (result i32).
enum class Shape {
  kSmall,  // x * 3 + 1
  kDeep,   // x, then `depth` constants 1..depth pushed, then added: x + depth (depth + 1) / 2
  kLarge,  // x + k mod 100 for k in [0, terms), one add at a time: a body over 32 KB
};
struct Function {
  Shape shape;
  uint32_t size;  // kDeep: the depth; kLarge: the terms
};

std::vector<uint8_t> body_of(const Function& f) {
  using namespace wasm_writer;
  std::vector<uint8_t> body = {0x00, 0x20, 0x00};  // no locals; local.get 0
  switch (f.shape) {
    case Shape::kSmall:
      body.insert(body.end(), {0x41, 0x03, 0x6c, 0x41, 0x01, 0x6a});  // i32.const 3 mul 1 add
      break;
    case Shape::kDeep:
      for (uint32_t k = 1; k <= f.size; ++k) {
        body.push_back(0x41);
        sleb(body, k);
      }
      for (uint32_t k = 0; k < f.size; ++k) body.push_back(0x6a);
      break;
    case Shape::kLarge:
      for (uint32_t k = 0; k < f.size; ++k) {
        body.push_back(0x41);
        sleb(body, k % 100);
        body.push_back(0x6a);
      }
      break;
  }
  body.push_back(0x0b);
  return body;
}

uint32_t expected(const Function& f, uint32_t x) {
  switch (f.shape) {
    case Shape::kSmall:
      return x * 3 + 1;
    case Shape::kDeep:
      return x + f.size * (f.size + 1) / 2;
    case Shape::kLarge: {
      uint32_t sum = x;
      for (uint32_t k = 0; k < f.size; ++k) sum += k % 100;
      return sum;
    }
  }
  return 0;
}

// One exported function per entry of `functions`, "fN" (wasm_writer::exported_functions_module).
std::vector<uint8_t> module_of(const std::vector<Function>& functions) {
  std::vector<std::vector<uint8_t>> bodies;
  for (const Function& f : functions) bodies.push_back(body_of(f));
  return wasm_writer::exported_functions_module({0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f},
                                                std::vector<uint32_t>(functions.size(), 0), bodies);
}

TEST(JitCompileOrder, EachFunctionCompilesAsIfItWereTheFirst) {
  if (!code_tier()) GTEST_SKIP() << "this build has no JIT";
  EngineConfig config;
  config.tier = Tier::kJit;
  config.eager_compilation = true;  // in order, on this thread
  config.parallel_compilation = false;
  Engine engine(config);
  Store store(engine);
  // Small after deep, large (over 32 KB: its buffers are the generator's own) between small
  // ones, deep after large; then a second module compiled on the same thread.
  const std::vector<std::vector<Function>> modules = {
      {{Shape::kSmall, 0},
       {Shape::kDeep, 3000},
       {Shape::kSmall, 0},
       {Shape::kLarge, 12000},
       {Shape::kSmall, 0},
       {Shape::kDeep, 200},
       {Shape::kLarge, 10000},
       {Shape::kDeep, 5000}},
      {{Shape::kDeep, 40}, {Shape::kSmall, 0}, {Shape::kLarge, 11000}},
  };
  for (size_t m = 0; m < modules.size(); ++m) {
    const std::vector<Function>& functions = modules[m];
    const std::vector<uint8_t> bytes = module_of(functions);
    auto module = Module::compile(engine, bytes);
    ASSERT_TRUE(module.ok()) << module.error().message;
    auto instance = store.instantiate(*module, {});
    ASSERT_TRUE(instance.ok()) << instance.error().message;
    for (size_t i = 0; i < functions.size(); ++i) {
      if (functions[i].shape == Shape::kLarge) {
        ASSERT_GT((*module)->bodies[i].code.size(), 32u * 1024) << "module " << m << " f" << i;
      }
      FunctionInstance* f =
          (*instance)->find_export(wasm_writer::function_export_name(i))->function();
      EXPECT_EQ(f->code->native_state.load(), CompiledFunction::NativeState::kCompiled)
          << "module " << m << " f" << i;
      for (uint32_t x : {0u, 1u, 41u, 0x7fffffffu, 0xffffffffu}) {
        uint64_t cells[1] = {x};
        TrapPtr trap = store.invoke(f, cells);
        ASSERT_FALSE(trap) << trap->message;
        EXPECT_EQ(static_cast<uint32_t>(cells[0]), expected(functions[i], x))
            << "module " << m << " f" << i << " of " << x;
      }
    }
  }
}

}  // namespace
}  // namespace kiln
