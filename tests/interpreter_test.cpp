// The interpreter through the store: traps and their backtraces, host calls in both
// directions, multiple results, memory growth, and stores staying usable after traps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "runtime/module.h"
#include "runtime/store.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

class InterpreterTest : public ::testing::Test {
 protected:
  Instance* instantiate(const std::string& name, const std::vector<Extern>& imports = {}) {
    auto module = Module::compile(engine_, test::test_module(name));
    EXPECT_TRUE(module.ok()) << module.error().message;
    if (!module.ok()) return nullptr;
    auto instance = store_.instantiate(*module, imports);
    EXPECT_TRUE(instance.ok()) << instance.error().message;
    return instance.ok() ? *instance : nullptr;
  }

  // Calls `name` with `args`; returns the trap, and the result cells in `results`.
  TrapPtr call(Instance* instance, const std::string& name, std::vector<uint64_t> args,
               std::vector<uint64_t>* results = nullptr) {
    auto ext = instance->find_export(name);
    EXPECT_TRUE(ext.has_value()) << name;
    FunctionInstance* f = ext->function();
    args.resize(std::max<size_t>(args.size(), f->type->result_cells()));
    TrapPtr trap = store_.invoke(f, args.data());
    if (results)
      *results = std::vector<uint64_t>(args.begin(), args.begin() + f->type->result_cells());
    return trap;
  }

  uint64_t call_ok(Instance* instance, const std::string& name, std::vector<uint64_t> args) {
    std::vector<uint64_t> results;
    TrapPtr trap = call(instance, name, std::move(args), &results);
    EXPECT_EQ(trap, nullptr) << (trap ? trap->to_string() : "");
    return results.empty() ? 0 : results[0];
  }

  void expect_trap(Instance* instance, const std::string& name, std::vector<uint64_t> args,
                   TrapCode code, const std::string& message) {
    TrapPtr trap = call(instance, name, std::move(args));
    ASSERT_NE(trap, nullptr) << name << " did not trap";
    EXPECT_EQ(trap->code, code);
    EXPECT_EQ(trap->message, message);
  }

  Engine engine_;
  Store store_{engine_};
};

uint64_t f32_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

TEST_F(InterpreterTest, EveryTrapKindHasTheSpecMessage) {
  Instance* inst = instantiate("traps");
  ASSERT_NE(inst, nullptr);
  expect_trap(inst, "unreachable", {}, TrapCode::kUnreachable, "unreachable");
  expect_trap(inst, "div_s", {1, 0}, TrapCode::kIntegerDivideByZero, "integer divide by zero");
  expect_trap(inst, "div_s", {0x80000000u, 0xffffffffu}, TrapCode::kIntegerOverflow,
              "integer overflow");
  expect_trap(inst, "trunc", {f32_bits(NAN)}, TrapCode::kInvalidConversion,
              "invalid conversion to integer");
  expect_trap(inst, "trunc", {f32_bits(3e9f)}, TrapCode::kIntegerOverflow, "integer overflow");
  // 65536 - 4 - 3: the load's 4 bytes straddle the end of the one page.
  expect_trap(inst, "load", {65529}, TrapCode::kMemoryOutOfBounds, "out of bounds memory access");
  expect_trap(inst, "load", {0xffffffffu}, TrapCode::kMemoryOutOfBounds,
              "out of bounds memory access");
  expect_trap(inst, "call_indirect", {1}, TrapCode::kIndirectCallTypeMismatch,
              "indirect call type mismatch");
  expect_trap(inst, "call_indirect", {2}, TrapCode::kUninitializedElement,
              "uninitialized element 2");
  expect_trap(inst, "call_indirect", {3}, TrapCode::kUndefinedElement, "undefined element 3");
  expect_trap(inst, "recurse", {0}, TrapCode::kCallStackExhausted, "call stack exhausted");
}

TEST_F(InterpreterTest, OperationsNextToTrapsComputeExactResults) {
  Instance* inst = instantiate("traps");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(static_cast<uint32_t>(call_ok(inst, "rem_s", {0x80000000u, 0xffffffffu})), 0u);
  EXPECT_EQ(static_cast<uint32_t>(call_ok(inst, "div_s", {static_cast<uint32_t>(-7), 2})),
            static_cast<uint32_t>(-3));
  EXPECT_EQ(static_cast<uint32_t>(call_ok(inst, "trunc", {f32_bits(-2147483648.0f)})), 0x80000000u);
  EXPECT_EQ(static_cast<uint32_t>(call_ok(inst, "load", {65528})), 0u);
  EXPECT_EQ(static_cast<uint32_t>(call_ok(inst, "call_indirect", {0})), 1u);
  EXPECT_EQ(call_ok(inst, "fac", {20}), 2432902008176640000ull);
}

uint64_t f64_bits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return bits;
}

// Superinstructions (runtime/interpreter_code.h) compute what the pair they replace computes.
TEST_F(InterpreterTest, FusedComparisonsBranchExactlyWhenTheComparisonHolds) {
  Instance* inst = instantiate("superinstructions");
  ASSERT_NE(inst, nullptr);
  const std::vector<uint32_t> i32s = {0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 12345};
  for (uint32_t a : i32s) {
    for (uint32_t b : i32s) {
      const auto sa = static_cast<int32_t>(a), sb = static_cast<int32_t>(b);
      EXPECT_EQ(call_ok(inst, "br_if_i32_lt_s", {a, b}), uint64_t{sa < sb}) << a << " " << b;
      EXPECT_EQ(call_ok(inst, "if_i32_lt_s", {a, b}), uint64_t{sa < sb}) << a << " " << b;
      EXPECT_EQ(call_ok(inst, "br_if_i32_ge_u", {a, b}), uint64_t{a >= b}) << a << " " << b;
      EXPECT_EQ(call_ok(inst, "if_i32_ge_u", {a, b}), uint64_t{a >= b}) << a << " " << b;
    }
    EXPECT_EQ(call_ok(inst, "br_if_i32_eqz", {a}), uint64_t{a == 0}) << a;
  }
  const std::vector<uint64_t> i64s = {
      0, 1, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
  for (uint64_t a : i64s) {
    for (uint64_t b : i64s) {
      const auto sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
      EXPECT_EQ(call_ok(inst, "br_if_i64_lt_u", {a, b}), uint64_t{a < b}) << a << " " << b;
      EXPECT_EQ(call_ok(inst, "if_i64_gt_s", {a, b}), uint64_t{sa > sb}) << a << " " << b;
    }
    EXPECT_EQ(call_ok(inst, "if_i64_eqz", {a}), uint64_t{a == 0}) << a;
  }
  const double nan = std::nan("");
  const std::vector<double> f64s = {0.0, -0.0, 1.5, -1.5, nan, INFINITY};
  for (double a : f64s) {
    for (double b : f64s) {
      EXPECT_EQ(call_ok(inst, "br_if_f64_lt", {f64_bits(a), f64_bits(b)}), uint64_t{a < b});
      EXPECT_EQ(call_ok(inst, "if_f64_ge", {f64_bits(a), f64_bits(b)}), uint64_t{a >= b});
      const auto fa = static_cast<float>(a), fb = static_cast<float>(b);
      EXPECT_EQ(call_ok(inst, "if_f32_ne", {f32_bits(fa), f32_bits(fb)}), uint64_t{fa != fb});
    }
  }
  EXPECT_EQ(call_ok(inst, "sum_below", {0}), 0u);
  EXPECT_EQ(call_ok(inst, "sum_below", {1}), 0u);
  EXPECT_EQ(call_ok(inst, "sum_below", {1000}), 499500u);
}

TEST_F(InterpreterTest, FusedShiftAndAddComputesTheScaledSum) {
  Instance* inst = instantiate("superinstructions");
  ASSERT_NE(inst, nullptr);
  const std::vector<uint32_t> values = {0, 1, 3, 0x12345678, 0x80000000, 0xffffffff};
  for (uint32_t base : values) {
    for (uint32_t index : values) {
      for (uint32_t shift : {0u, 2u, 3u, 31u, 32u, 35u}) {
        const uint32_t expected = base + (index << (shift & 31));
        EXPECT_EQ(call_ok(inst, "scaled_add", {base, index, shift}), expected);
        EXPECT_EQ(call_ok(inst, "scaled_add_swapped", {base, index, shift}), expected);
      }
    }
  }
}

TEST_F(InterpreterTest, FusedAddAndLoadWrapsTheSumBeforeTheOffset) {
  Instance* inst = instantiate("superinstructions");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(call_ok(inst, "load_sum", {2, 2}), 42u);
  // 0xfffffffc + 8 wraps to 4; the offset then makes 8, where 42 is stored.
  EXPECT_EQ(call_ok(inst, "load_sum", {0xfffffffcu, 8}), 42u);
  EXPECT_EQ(call_ok(inst, "load8_sum", {0xffffffffu, 5}), 42u);
  // The last in-bounds byte, then one past it.
  EXPECT_EQ(call_ok(inst, "load8_sum", {65530, 1}), 0u);
  expect_trap(inst, "load8_sum", {65531, 1}, TrapCode::kMemoryOutOfBounds,
              "out of bounds memory access");
  // The trap is reported at the load, not at the add it was fused with.
  TrapPtr trap = call(inst, "load_sum", {65532, 0});
  ASSERT_NE(trap, nullptr);
  ASSERT_FALSE(trap->backtrace.empty());
  const std::vector<uint8_t> bytes = test::test_module("superinstructions");
  const uint32_t offset = trap->backtrace[0].module_offset;
  ASSERT_LT(offset, bytes.size());
  EXPECT_EQ(bytes[offset], 0x28) << "i32.load's opcode";
}

// The byte at the module offset of the trap's innermost frame.
uint8_t opcode_at_trap(const TrapPtr& trap) {
  const std::vector<uint8_t> bytes = test::test_module("superinstructions");
  if (!trap || trap->backtrace.empty() || trap->backtrace[0].module_offset >= bytes.size()) {
    return 0;
  }
  return bytes[trap->backtrace[0].module_offset];
}

TEST_F(InterpreterTest, LazySumsAreComputedFromTheAddendsValuesAtTheAdd) {
  Instance* inst = instantiate("superinstructions");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(call_ok(inst, "store_sum", {100, 20, 0xdeadbeef}), 0xdeadbeefu);
  // 0xfffffff0 + 0x20 wraps to 0x10 before the offset: the store lands at 0x14.
  EXPECT_EQ(call_ok(inst, "store_sum", {0xfffffff0u, 0x20, 1234}), 1234u);
  EXPECT_EQ(call_ok(inst, "load_sum", {0x10, 0}), 1234u);
  EXPECT_EQ(call_ok(inst, "store_sum_addend_written", {0, 200}), 77u);
  EXPECT_EQ(call_ok(inst, "load_sum", {196, 0}), 77u);
  // x = 5, y = 7: x becomes 6, y becomes 13, local 2 = 39; 39 + 6 = 45, plus (11 < 13) = 46.
  EXPECT_EQ(call_ok(inst, "sums_elsewhere", {5, 7}), 46u);
  EXPECT_EQ(call_ok(inst, "sums_elsewhere", {5, 0}), 18u + 6u);
  // The last halfword in bounds, then one byte past; the trap is reported at the store.
  EXPECT_EQ(call_ok(inst, "store16_sum", {65530, 2, 0x4142}), 0u);
  TrapPtr trap = call(inst, "store16_sum", {65530, 3, 1});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kMemoryOutOfBounds);
  EXPECT_EQ(opcode_at_trap(trap), 0x3d) << "i64.store16's opcode";
}

TEST_F(InterpreterTest, FusedLoadOperandsComputeWhatTheLoadAndOperatorCompute) {
  Instance* inst = instantiate("superinstructions");
  ASSERT_NE(inst, nullptr);
  // 42 is at address 8 (the data segment); 2.5 is stored at 16 for the f64 tests.
  const double value = 2.5;
  const uint64_t bits = f64_bits(value);
  ASSERT_EQ(call_ok(inst, "store_sum", {12, 0, static_cast<uint32_t>(bits)}),
            static_cast<uint32_t>(bits));
  ASSERT_EQ(call_ok(inst, "store_sum", {16, 0, static_cast<uint32_t>(bits >> 32)}), bits >> 32);
  EXPECT_EQ(call_ok(inst, "f64_mul_loaded", {f64_bits(3.0), 8}), f64_bits(7.5));
  EXPECT_EQ(call_ok(inst, "f64_add_loaded_first", {f64_bits(-1.0), 8}), f64_bits(1.5));
  EXPECT_EQ(call_ok(inst, "f64_sub_loaded", {f64_bits(1.0), 8}), f64_bits(-1.5));
  EXPECT_EQ(call_ok(inst, "i32_sub_loaded", {50, 8}), 8u);
  EXPECT_EQ(call_ok(inst, "i32_sub_loaded_first", {50, 8}), static_cast<uint32_t>(42 - 50));
  EXPECT_EQ(call_ok(inst, "i64_xor_loaded_first", {0xff, 8}), 42u ^ 0xffu);
  // A trap is reported at the load.
  EXPECT_EQ(call_ok(inst, "i32_sub_loaded", {0, 65532}), 0u);
  TrapPtr trap = call(inst, "i32_sub_loaded", {0, 65533});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kMemoryOutOfBounds);
  EXPECT_EQ(opcode_at_trap(trap), 0x28) << "i32.load's opcode";
  trap = call(inst, "f64_mul_loaded", {f64_bits(1.0), 65528});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(opcode_at_trap(trap), 0x2b) << "f64.load's opcode";
}

TEST_F(InterpreterTest, FusedPairsRunInOrderAndNeverAcrossALabel) {
  Instance* inst = instantiate("superinstructions");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(call_ok(inst, "add_pair", {4}), 5u * 1000 + 15);
  EXPECT_EQ(call_ok(inst, "rotate", {1, 2, 3, 0}), 123u);
  EXPECT_EQ(call_ok(inst, "rotate", {1, 2, 3, 1}), 231u);
  EXPECT_EQ(call_ok(inst, "rotate", {1, 2, 3, 5}), 312u);
  EXPECT_EQ(call_ok(inst, "add_before_loop", {1}), 1001u);
  EXPECT_EQ(call_ok(inst, "add_before_loop", {50}), 1050u);
}

TEST_F(InterpreterTest, OnlyWritesOfZeroThatChangeNothingAreLeftOut) {
  Instance* inst = instantiate("zero_writes");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(call_ok(inst, "fresh", {5}), 5u);
  EXPECT_EQ(call_ok(inst, "after_write", {0}), 0u);
  EXPECT_EQ(call_ok(inst, "after_write", {1}), 0u);
  EXPECT_EQ(call_ok(inst, "parameter", {9}), 0u);
  EXPECT_EQ(call_ok(inst, "in_loop", {4}), 4u);
}

TEST_F(InterpreterTest, TrapsCarryABacktraceWithFunctionNames) {
  Instance* inst = instantiate("traps");
  ASSERT_NE(inst, nullptr);
  TrapPtr trap = call(inst, "nested", {});
  ASSERT_NE(trap, nullptr);
  ASSERT_EQ(trap->backtrace.size(), 3u) << trap->to_string();
  EXPECT_EQ(trap->backtrace[0].function_name, "inner");
  EXPECT_EQ(trap->backtrace[1].function_name, "middle");
  EXPECT_EQ(trap->backtrace[2].function_name, "outer");
  EXPECT_EQ(trap->backtrace[0].module_name, "traps");
  // Each frame points at a byte inside the module's code section, innermost first.
  for (const TraceFrame& frame : trap->backtrace) EXPECT_GT(frame.module_offset, 0u);
  EXPECT_NE(trap->to_string().find("traps!middle"), std::string::npos) << trap->to_string();
}

TEST_F(InterpreterTest, StoreStaysUsableAfterTraps) {
  Instance* inst = instantiate("traps");
  ASSERT_NE(inst, nullptr);
  for (int i = 0; i < 3; ++i) {
    expect_trap(inst, "recurse", {0}, TrapCode::kCallStackExhausted, "call stack exhausted");
    EXPECT_EQ(call_ok(inst, "fac", {5}), 120u);
  }
  EXPECT_EQ(store_.stack().frame_count, 0u);
}

class HostTest : public InterpreterTest {
 protected:
  std::vector<Extern> host_imports() {
    using V = ValType;
    auto* add = store_.create_host_function(
        FuncType{{V::kI32, V::kI32}, {V::kI32}},
        [](HostCall&, uint64_t* cells) {
          cells[0] = static_cast<uint32_t>(cells[0] + cells[1]);
          return TrapPtr();
        },
        "add");
    auto* fail = store_.create_host_function(
        FuncType{},
        [](HostCall&, uint64_t*) { return Trap::make(TrapCode::kHostError, "host says no"); },
        "fail");
    // Calls back into wasm: square(x) from the same instance.
    auto* reenter = store_.create_host_function(
        FuncType{{V::kI32}, {V::kI32}},
        [this](HostCall& call, uint64_t* cells) -> TrapPtr {
          EXPECT_EQ(call.caller, instance_);
          uint64_t args[1] = {cells[0]};
          if (TrapPtr t = call.store.invoke(instance_->find_export("square")->function(), args))
            return t;
          cells[0] = args[0];
          return nullptr;
        },
        "reenter");
    return {Extern{ExternKind::kFunction, add}, Extern{ExternKind::kFunction, fail},
            Extern{ExternKind::kFunction, reenter}};
  }
  Instance* instance_ = nullptr;
};

TEST_F(HostTest, CallsHostFunctionsWithCellArguments) {
  instance_ = instantiate("host", host_imports());
  ASSERT_NE(instance_, nullptr);
  EXPECT_EQ(call_ok(instance_, "call_add", {40, 2}), 42u);
  EXPECT_EQ(static_cast<uint32_t>(call_ok(instance_, "call_add", {0xffffffffu, 2})), 1u);
}

TEST_F(HostTest, HostTrapsPropagateWithTheWasmBacktrace) {
  instance_ = instantiate("host", host_imports());
  ASSERT_NE(instance_, nullptr);
  TrapPtr trap = call(instance_, "call_fail", {});
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(trap->code, TrapCode::kHostError);
  EXPECT_EQ(trap->message, "host says no");
  ASSERT_FALSE(trap->backtrace.empty());
  EXPECT_EQ(trap->backtrace[0].function_name, "call_fail");
}

TEST_F(HostTest, HostFunctionsCanCallBackIntoWasm) {
  instance_ = instantiate("host", host_imports());
  ASSERT_NE(instance_, nullptr);
  EXPECT_EQ(call_ok(instance_, "call_reenter", {7}), 50u);  // 7*7 + 1
  EXPECT_EQ(store_.stack().frame_count, 0u);
}

TEST_F(HostTest, ReturnsMultipleValues) {
  instance_ = instantiate("host", host_imports());
  ASSERT_NE(instance_, nullptr);
  std::vector<uint64_t> results;
  ASSERT_EQ(call(instance_, "swap", {5, 0x123456789ull}, &results), nullptr);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], 0x123456789ull);
  EXPECT_EQ(results[1], 5u);
}

TEST_F(HostTest, MemoryGrowsUpToItsMaximumAndKeepsItsBase) {
  instance_ = instantiate("host", host_imports());
  ASSERT_NE(instance_, nullptr);
  MemoryInstance* memory = instance_->find_export("memory")->memory();
  uint8_t* base = memory->memory->base();
  base[0] = 7;
  base[1] = 5;
  EXPECT_EQ(call_ok(instance_, "sum_bytes", {0, 2}), 12u);
  EXPECT_EQ(call_ok(instance_, "grow", {1}), 1u);
  EXPECT_EQ(call_ok(instance_, "size", {}), 2u);
  EXPECT_EQ(static_cast<uint32_t>(call_ok(instance_, "grow", {2})), 0xffffffffu);  // max is 3
  EXPECT_EQ(call_ok(instance_, "grow", {1}), 2u);
  EXPECT_EQ(memory->memory->base(), base);
  EXPECT_EQ(memory->memory->size_bytes(), 3u * 65536);
  // The grown pages are zero and usable.
  EXPECT_EQ(call_ok(instance_, "sum_bytes", {65536 * 2, 65536}), 0u);
}

TEST_F(HostTest, ImportsOfTheWrongTypeAreUnlinkable) {
  auto module = Module::compile(engine_, test::test_module("host"));
  ASSERT_TRUE(module.ok());
  std::vector<Extern> imports = host_imports();
  std::swap(imports[0], imports[1]);
  auto instance = store_.instantiate(*module, imports);
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.error().kind, ErrorKind::kUnlinkable);
  EXPECT_NE(instance.error().message.find("incompatible import type"), std::string::npos);
}

}  // namespace
}  // namespace kiln
