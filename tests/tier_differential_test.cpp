// Random valid modules (tests/fuzz/module_generator.h) run under the interpreter and the JIT
// (both bounds modes), with fuel and epochs: results, traps with backtraces, fuel left, memory
// and globals must be the same. A fixed set of seeds here; scripts/fuzz runs the generator
// under libFuzzer for as long as it is given (tests/fuzz/tier_fuzzer.cpp).
#include "tests/fuzz/tier_differential.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "runtime/module.h"
#include "tests/fuzz/module_generator.h"

namespace kiln {
namespace {

std::vector<uint8_t> random_bytes(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> bytes(4096);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

TEST(TierDifferential, GeneratedModulesAreValid) {
  Engine engine;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const std::vector<uint8_t> bytes = random_bytes(seed);
    fuzz::Choices choices(bytes);
    const fuzz::GeneratedModule m = fuzz::generate_module(choices);
    auto valid = Module::validate(engine, m.bytes);
    EXPECT_TRUE(valid.ok()) << "seed " << seed << ": " << valid.error().message;
  }
}

// KILN_DIFFERENTIAL_SEEDS=N runs more seeds (300 by default).
uint64_t seed_count() {
  const char* n = std::getenv("KILN_DIFFERENTIAL_SEEDS");
  return n ? std::strtoull(n, nullptr, 10) : 300;
}

TEST(TierDifferential, RandomModulesBehaveTheSameUnderEveryTier) {
  const auto setups = fuzz::tier_setups();
  if (setups.size() < 2) GTEST_SKIP() << "this build has no JIT for this machine";
  uint64_t traps = 0, calls = 0, exceptions = 0;
  const uint64_t loop_entries_before = code_tier()->stats().loop_entries;
  for (uint64_t seed = 0, seeds = seed_count(); seed < seeds; ++seed) {
    const std::vector<uint8_t> bytes = random_bytes(seed);
    fuzz::Choices choices(bytes);
    const fuzz::GeneratedModule m = fuzz::generate_module(choices);
    const std::string expected =
        fuzz::describe_run(m.bytes, m.exported_functions, setups[0].config);
    ASSERT_EQ(expected.find("compile error"), std::string::npos) << "seed " << seed << expected;
    for (size_t i = 1; i < setups.size(); ++i) {
      EXPECT_EQ(fuzz::describe_run(m.bytes, m.exported_functions, setups[i].config), expected)
          << "seed " << seed << ", " << setups[i].name << " against " << setups[0].name;
    }
    calls += m.exported_functions;
    for (size_t at = expected.find("trap:"); at != std::string::npos;
         at = expected.find("trap:", at + 1))
      ++traps;
    for (size_t at = expected.find("uncaught exception"); at != std::string::npos;
         at = expected.find("uncaught exception", at + 1))
      ++exceptions;
  }
  // The generator must reach both ends: calls that return and calls that trap.
  EXPECT_GT(traps, calls / 20);
  EXPECT_LT(traps, calls);
  // Some throws leave uncaught (the rest are caught by try_tables of the generator's).
  EXPECT_GT(exceptions, 0u) << "of " << traps << " traps";
  // The auto tier's setup hands interpreted frames over at loop headers (those where only
  // locals are live: a few of the generator's loops, which often have parameters or values
  // around them).
  const uint64_t loop_entries = code_tier()->stats().loop_entries - loop_entries_before;
  EXPECT_GT(loop_entries, 0u);
  std::printf("%llu calls, %llu traps, %llu uncaught exceptions, %llu hand-overs at loops\n",
              static_cast<unsigned long long>(calls), static_cast<unsigned long long>(traps),
              static_cast<unsigned long long>(exceptions),
              static_cast<unsigned long long>(loop_entries));
}

}  // namespace
}  // namespace kiln
