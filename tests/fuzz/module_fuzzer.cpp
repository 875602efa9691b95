// Fuzzes decode + validate + JIT compilation (every function, eagerly, when the build has a
// JIT) + instantiate + calls of the exports that take no arguments. Every import is satisfied
// with a matching dummy, so instantiation (globals, segments, bounds checks, the start function)
// runs for any module that validates. Fuel bounds every run (a loop ends with a trap, not a
// timeout).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/module.h"
#include "runtime/store.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  EngineConfig config;
  config.eager_compilation = true;
  config.consume_fuel = true;
  Engine engine(config);
  auto module = Module::compile(engine, std::span(data, size));
  if (!module.ok()) return 0;
  const Module& m = **module;

  StoreLimits limits;
  limits.max_call_depth = 1000;
  limits.max_stack_bytes = 512 * 1024;
  limits.max_memory_bytes = 64 << 20;
  limits.max_total_memory_bytes = 256 << 20;  // tables too
  Store store(engine, limits);
  (void)store.set_fuel(100000);
  std::vector<Extern> imports;
  for (const Import& imp : m.imports) {
    switch (imp.kind) {
      case ExternKind::kFunction: {
        const FuncType& type = m.types[imp.type_index];
        // Results are zeros (a function without any gets no cells: a start function's are
        // null).
        const uint32_t results = type.result_cells();
        auto* f = store.create_host_function(type, [results](HostCall&, uint64_t* cells) {
          std::fill_n(cells, results, uint64_t{0});
          return TrapPtr();
        });
        imports.push_back({imp.kind, f});
        break;
      }
      case ExternKind::kTable: {
        auto t = store.create_table(imp.table);
        if (!t.ok()) return 0;
        imports.push_back({imp.kind, *t});
        break;
      }
      case ExternKind::kMemory: {
        auto mem = store.create_memory(imp.memory);
        if (!mem.ok()) return 0;
        imports.push_back({imp.kind, *mem});
        break;
      }
      case ExternKind::kGlobal:
        imports.push_back({imp.kind, store.create_global(imp.global, 0)});
        break;
      case ExternKind::kTag:
        imports.push_back({imp.kind, store.create_tag(m.types[imp.type_index])});
        break;
    }
  }
  TrapPtr trap;
  auto instance = store.instantiate(*module, imports, &trap);
  if (!instance.ok()) return 0;
  // Run the exports that take no arguments (exceptions, traps and all), each with its fuel.
  for (const Export& e : m.exports) {
    if (e.kind != ExternKind::kFunction) continue;
    const FuncType& type = m.function_type(e.index);
    if (!type.params.empty()) continue;
    std::vector<uint64_t> cells(std::max<size_t>(type.result_cells(), 1));
    (void)store.set_fuel(100000);
    (void)store.invoke((*instance)->functions[e.index], cells.data());
  }
  return 0;
}
