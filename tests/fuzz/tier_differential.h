// Differential runs of one module under every tier configuration (issue 13): the interpreter,
// and the JIT with guard-page and with explicit bounds, all with fuel and epoch checks
// compiled in. What a run shows is described as text, so two runs are compared whole.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/store.h"

namespace kiln::fuzz {

struct TierSetup {
  std::string name;
  EngineConfig config;
};
// The interpreter first; the JIT's setups only when this build has a JIT.
std::vector<TierSetup> tier_setups();

// Compiles and instantiates `module` (importing env.host: (i32) -> i32, x * 3 + 1), calls every
// exported function "f0", "f1", ... (`exported_functions` of them) with fixed arguments and
// 200,000 fuel each, and describes each call's results or trap (message and backtrace) and the
// fuel left, then a hash of memory 0 and the globals' values. NaNs are described as "nan"
// (Wasm lets their bits vary).
std::string describe_run(std::span<const uint8_t> module, uint32_t exported_functions,
                         const EngineConfig& config);

}  // namespace kiln::fuzz
