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

// The defaults are meant for a host that runs untrusted code: a guest gets at most one
// maximal 32-bit memory's worth of memory and tables together, and bounded counts of objects.
struct StoreLimits {
  uint64_t max_memory_bytes = uint64_t{4} << 30;  // per linear memory (4 GiB: no extra limit)
  // All linear memories and tables of the store together (a table element takes 8 bytes).
  uint64_t max_total_memory_bytes = uint64_t{4} << 30;
  uint64_t max_table_elements = 10000000;  // per table
  uint32_t max_instances = 10000;
  uint32_t max_tables = 100;
  uint32_t max_memories = 100;
  uint32_t max_call_depth = 100000;              // wasm frames
  uint64_t max_stack_bytes = uint64_t{8} << 20;  // the interpreter's value stack

  // The largest values the two stack limits accept: the stacks are reserved (not committed)
  // when the store first runs code, and must fit the address space.
  static constexpr uint32_t kMaxCallDepthLimit = 10000000;
  static constexpr uint64_t kMaxStackBytesLimit = uint64_t{4} << 30;
};

// Bytes a table element counts against StoreLimits::max_total_memory_bytes.
constexpr uint64_t kTableElementBytes = 8;

struct HostCallStats {
  uint64_t count = 0;
  uint64_t total_ns = 0;
};

struct StoreTelemetry {
  uint64_t fuel_consumed = 0;         // equals the instructions charged (docs/BUDGETS.md)
  uint64_t memory_bytes = 0;          // linear memories, tables and exceptions, now
  uint64_t peak_memory_bytes = 0;     // ... at their largest
  uint64_t table_bytes = 0;           // the tables' part of memory_bytes, now
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
