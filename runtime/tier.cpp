#include "runtime/tier.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace kiln {

uint32_t NativeFunction::module_offset_at(uintptr_t pc) const {
  if (pc < start || pc - start >= size) return 0;
  const uint32_t offset = static_cast<uint32_t>(pc - start);
  auto it = std::lower_bound(sites.begin(), sites.end(), std::make_pair(offset, uint32_t{0}));
  return it != sites.end() && it->first == offset ? it->second : 0;
}

const void* NativeFunction::loop_entry(uint32_t module_offset) const {
  auto it = std::lower_bound(loop_entries.begin(), loop_entries.end(),
                             std::make_pair(module_offset, uint32_t{0}));
  if (it == loop_entries.end() || it->first != module_offset) return nullptr;
  return reinterpret_cast<const void*>(start + it->second);
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
