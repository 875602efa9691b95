// Loads at `base + (index << k)` with a small index (tests/wasm/scaled_addresses.wat): the JIT
// puts such a sum into the load's addressing when it cannot wrap past 2^32 and computes it as
// i32.add does when it can (CodeGenerator::lazy_address, MacroAssembler::load_memory_scaled).
// Every tier and bounds mode gives the values and traps of Wasm's semantics, computed here
// from the memory's bytes, for bases next to 0, to the memory's end and to 2^32.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

constexpr uint64_t kMemoryBytes = 65536;

class ScaledAddresses : public test::TierTest {
 protected:
  void start(BoundsChecks bounds) {
    EngineConfig config;
    config.bounds_checks = bounds;
    start_engine(config);
    if (IsSkipped()) return;
    instance_ = test::instantiate_test_module(*store_, "scaled_addresses");
    ASSERT_NE(instance_, nullptr);
    memory_ = instance_->find_export("memory")->memory()->memory->base();
    for (uint32_t i = 0; i < kMemoryBytes; ++i) memory_[i] = static_cast<uint8_t>(i * 131 + 7);
  }

  // The result, or nullopt after an out-of-bounds trap (any other trap fails the test).
  std::optional<uint64_t> call(const std::string& name, std::vector<uint64_t> args) {
    args.resize(3);
    TrapPtr trap = store_->invoke(instance_->find_export(name)->function(), args.data());
    if (trap) {
      EXPECT_EQ(trap->code, TrapCode::kMemoryOutOfBounds) << name << ": " << trap->to_string();
      return std::nullopt;
    }
    return args[0];
  }

  // What a load of `bytes` bytes at the i32 address `address` plus `offset` reads (little
  // endian, zero-extended), or nullopt when it is out of bounds.
  std::optional<uint64_t> read(uint32_t address, uint64_t offset, uint32_t bytes) const {
    const uint64_t at = uint64_t{address} + offset;
    if (at + bytes > kMemoryBytes) return std::nullopt;
    uint64_t value = 0;
    std::memcpy(&value, memory_ + at, bytes);
    return value;
  }

  // Every function of the module against its meaning, for every base and x below.
  void check_all() {
    std::vector<uint32_t> bases = {0,     4,          100,        65536 - 1024, 65532,
                                   65535, 0x80000000, 0xfffffff0, 0xfffffffc,   0xffffffff};
    // Next to the largest base whose sum cannot wrap, for each function's largest scaled index.
    for (uint32_t max_scaled : {0xffu << 2, 0xffu << 3, 0xffffu << 3, 0x37fu << 1}) {
      for (uint32_t past : {0u, 1u, 2u, 4u, 7u}) {
        bases.push_back(0xffffffffu - max_scaled + past);
        bases.push_back(0xffffffffu - max_scaled - past);
      }
    }
    const uint32_t xs[] = {0,      1,          8,          0x7f,       0xff,      0x100,
                           0x1234, 0x7fffffff, 0xdeadbeef, 0xff000000, 0xffffffff};
    for (uint32_t base : bases) {
      for (uint32_t x : xs) {
        const std::string at = " base " + std::to_string(base) + " x " + std::to_string(x);
        const uint32_t masked = base + ((x & 0xffu) << 2);  // wraps as i32.add does
        EXPECT_EQ(call("load_masked", {base, x}), read(masked, 0, 4)) << at;
        EXPECT_EQ(call("load_masked_offset", {base, x}), read(masked, 1000, 4)) << at;
        EXPECT_EQ(call("sum", {base, x}), masked) << at;
        EXPECT_EQ(call("scaled", {x}), (x & 0xffu) << 3) << at;
        const std::optional<uint64_t> via_local = read(masked, 0, 4);
        EXPECT_EQ(call("sum_via_local", {base, x}),
                  via_local ? std::optional<uint64_t>(static_cast<uint32_t>(*via_local + masked))
                            : std::nullopt)
            << at;
        EXPECT_EQ(call("load_unmasked", {base, x}), read(base + (x << 2), 0, 4)) << at;
        for (uint32_t p : {0u, 77u}) {
          const uint32_t index = memory_[p] ^ (x & 0xffu);
          EXPECT_EQ(call("load_i64", {base, x, p}), read(base + (index << 3), 0, 8))
              << at << " p " << p;
        }
        EXPECT_EQ(call("load_f64_bits", {base, x}), read(base + ((x & 0xffffu) << 3), 0, 8)) << at;
        EXPECT_EQ(call("load_f32_bits", {base, x}), read(base + ((x >> 24) << 2), 0, 4)) << at;
        const uint32_t half_index = (x & 0x7fu) | (x & 0x300u);
        std::optional<uint64_t> half = read(base + (half_index << 1), 0, 2);
        if (half) half = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(*half)));
        EXPECT_EQ(call("load16_s", {base, x}), half) << at;
      }
    }
  }

  Instance* instance_ = nullptr;
  uint8_t* memory_ = nullptr;
};

TEST_P(ScaledAddresses, LoadsAtASmallScaledIndexReadWhereWasmSaysUnderGuardPages) {
  start(BoundsChecks::kGuardPages);
  if (IsSkipped()) return;
  check_all();
}

TEST_P(ScaledAddresses, LoadsAtASmallScaledIndexReadWhereWasmSaysWithExplicitChecks) {
  start(BoundsChecks::kExplicit);
  if (IsSkipped()) return;
  check_all();
}

TEST_P(ScaledAddresses, Crc32OfATableInMemoryIsTheReferenceCrc32) {
  start(BoundsChecks::kGuardPages);
  if (IsSkipped()) return;
  constexpr uint32_t kTable = 4096, kData = 8192, kBytes = 3000;
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  std::memcpy(memory_ + kTable, table, sizeof(table));
  uint32_t crc = 0xffffffffu;
  for (uint32_t i = 0; i < kBytes; ++i) crc = table[(crc ^ memory_[kData + i]) & 0xff] ^ (crc >> 8);
  EXPECT_EQ(call("crc32", {kTable, kData, kBytes}), crc ^ 0xffffffffu);
}

INSTANTIATE_TEST_SUITE_P(Tiers, ScaledAddresses, ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

}  // namespace
}  // namespace kiln
