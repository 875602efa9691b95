// Differential fuzzing of the tiers: each input is the choice string of a random valid module
// (module_generator.h), which runs under the interpreter and the JIT in both bounds modes
// (tier_differential.h); any difference in results, traps, backtraces, fuel, memory or
// globals aborts, and libFuzzer keeps the input.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/module_generator.h"
#include "tests/fuzz/tier_differential.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<fuzz::TierSetup> setups = fuzz::tier_setups();
  fuzz::Choices choices({data, size});
  const fuzz::GeneratedModule m = fuzz::generate_module(choices);
  const std::string expected = fuzz::describe_run(m.bytes, m.exported_functions, setups[0].config);
  if (expected.rfind("compile error", 0) == 0) {
    std::fprintf(stderr, "the generator made an invalid module: %s\n", expected.c_str());
    std::abort();
  }
  for (size_t i = 1; i < setups.size(); ++i) {
    const std::string actual = fuzz::describe_run(m.bytes, m.exported_functions, setups[i].config);
    if (actual != expected) {
      std::fprintf(stderr, "== %s\n%s== %s\n%s", setups[0].name.c_str(), expected.c_str(),
                   setups[i].name.c_str(), actual.c_str());
      std::abort();
    }
  }
  return 0;
}
