#include "runtime/tier.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace kiln {

namespace {

// The second of the pair whose first is `key` in `pairs` (sorted by first), or null.
// Async-signal-safe.
const uint32_t* find_second(const std::vector<std::pair<uint32_t, uint32_t>>& pairs, uint32_t key) {
  auto it = std::lower_bound(pairs.begin(), pairs.end(), std::make_pair(key, uint32_t{0}));
  return it != pairs.end() && it->first == key ? &it->second : nullptr;
}

}  // namespace

uint32_t NativeFunction::module_offset_at(uintptr_t pc) const {
  if (pc < start || pc - start >= size) return 0;
  const uint32_t* module_offset = find_second(sites, static_cast<uint32_t>(pc - start));
  return module_offset ? *module_offset : 0;
}

const void* NativeFunction::loop_entry(uint32_t module_offset) const {
  const uint32_t* native_offset = find_second(loop_entries, module_offset);
  return native_offset ? reinterpret_cast<const void*>(start + *native_offset) : nullptr;
}

std::string_view tier_from_environment() {
  const char* name = std::getenv("KILN_TIER");
  return name ? name : "";
}

Tier default_tier() {
  static const Tier tier = tier_from_environment() == "interp" ? Tier::kInterpreter : Tier::kJit;
  return tier;
}

CodeTier* code_tier() {
  // Never destroyed: code, and the fault handler that reads the tier's page table, may run
  // until the process ends (static destructors included).
  static CodeTier* const tier = create_code_tier().release();
  return tier;
}

}  // namespace kiln
