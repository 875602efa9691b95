// What one store (one tenant) may use, and what it used (DESIGN-NOTES section 5): limits on
// memories, tables, instances and the wasm stack; fuel and epoch deadlines; telemetry.
// The fuel cost model is in docs/BUDGETS.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace kiln {

struct StoreLimits {
  uint64_t max_memory_bytes = uint64_t{4} << 30;  // per linear memory (4 GiB: no extra limit)
  uint64_t max_table_elements = 10000000;         // per table
  uint32_t max_instances = 10000;
  uint32_t max_tables = 10000;
  uint32_t max_memories = 10000;
  uint32_t max_call_depth = 100000;              // wasm frames
  uint64_t max_stack_bytes = uint64_t{8} << 20;  // the interpreter's value stack
};

struct HostCallStats {
  uint64_t count = 0;
  uint64_t total_ns = 0;
};

struct StoreTelemetry {
  uint64_t fuel_consumed = 0;         // equals the instructions charged (docs/BUDGETS.md)
  uint64_t memory_bytes = 0;          // all linear memories of the store, now
  uint64_t peak_memory_bytes = 0;     // ... at their largest
  uint64_t memory_grow_refusals = 0;  // memory.grow that returned -1 (type maximum or limit)
  uint64_t table_grow_refusals = 0;   // table.grow that returned -1
  uint64_t limit_refusals = 0;        // instantiations refused by a store limit
  std::map<std::string, HostCallStats> host_calls;  // by host function name
  std::map<std::string, uint64_t> traps;            // by trap message kind
};

class Store;

// Called when the engine's epoch reaches a store's deadline: return how many more epoch ticks
// to allow, or nullopt to trap with "deadline exceeded".
using DeadlineCallback = std::function<std::optional<uint64_t>(Store& store)>;

}  // namespace kiln
