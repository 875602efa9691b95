// tests/programs/simd_kernels.c compiled with clang-14 --target=wasm32-wasi -msimd128 -O2 (SIMD
// intrinsics) must give exactly the results of the same file compiled natively (scalar code).
#include <gtest/gtest.h>

#include <bit>

#include "runtime/module.h"
#include "runtime/store.h"
#include "tests/test_support.h"

extern "C" {
void kiln_fill(uint32_t seed);
int32_t kiln_dot(void);
uint64_t kiln_brighten(uint32_t amount);
uint32_t kiln_count_byte(uint32_t needle);
uint64_t kiln_saxpy_clamp(float a, float limit);
uint64_t kiln_reverse_sum(void);
}

namespace kiln {
namespace {

class SimdProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto module = Module::compile(
        engine_, test::read_bytes(std::string(KILN_TEST_PROGRAMS_DIR) + "/simd_kernels.wasm"));
    ASSERT_TRUE(module.ok()) << module.error().message;
    auto instance = store_.instantiate(*module, {});
    ASSERT_TRUE(instance.ok()) << instance.error().message;
    instance_ = *instance;
  }

  uint64_t call(const char* name, std::vector<uint64_t> args = {}) {
    auto ext = instance_->find_export(name);
    EXPECT_TRUE(ext.has_value()) << name;
    if (!ext) return 0;
    args.resize(std::max<size_t>(args.size(), 1));
    TrapPtr trap = store_.invoke(ext->function(), args.data());
    EXPECT_EQ(trap, nullptr) << (trap ? trap->to_string() : "");
    return args[0];
  }

  Engine engine_;
  Store store_{engine_};
  Instance* instance_ = nullptr;
};

TEST_F(SimdProgramTest, UsesSimdInstructions) {
  // The wasm build must really contain vector code, or the comparison below proves nothing.
  std::vector<uint8_t> bytes =
      test::read_bytes(std::string(KILN_TEST_PROGRAMS_DIR) + "/simd_kernels.wasm");
  size_t prefixes = 0;
  for (size_t i = 0; i + 1 < bytes.size(); ++i) prefixes += bytes[i] == 0xfd;
  EXPECT_GT(prefixes, 20u);
}

TEST_F(SimdProgramTest, MatchesNativeScalarCode) {
  for (uint32_t seed : {1u, 42u, 0xdeadbeefu}) {
    kiln_fill(seed);
    call("fill", {seed});
    EXPECT_EQ(static_cast<int32_t>(call("dot")), kiln_dot()) << "seed " << seed;
    for (uint32_t amount : {0u, 17u, 200u, 255u}) {
      EXPECT_EQ(call("brighten", {amount}), kiln_brighten(amount)) << "seed " << seed;
    }
    for (uint32_t needle : {0u, 7u, 255u}) {
      EXPECT_EQ(static_cast<uint32_t>(call("count_byte", {needle})), kiln_count_byte(needle));
    }
    for (float a : {0.5f, -3.25f, 1e-3f}) {
      EXPECT_EQ(call("saxpy_clamp", {std::bit_cast<uint32_t>(a), std::bit_cast<uint32_t>(500.0f)}),
                kiln_saxpy_clamp(a, 500.0f))
          << "seed " << seed << " a " << a;
    }
    EXPECT_EQ(call("reverse_sum"), kiln_reverse_sum()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace kiln
