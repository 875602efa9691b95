// Fuzzes decode + validate + JIT compilation (every function, eagerly, when the build has a
// JIT) + instantiate. Every import is satisfied with a matching dummy, so instantiation
// (globals, segments, bounds checks) runs for any module that validates.
// Modules with a start function are not instantiated: without fuel (issue #5) a start function
// may loop forever, which the fuzzer would report as a timeout.
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/module.h"
#include "runtime/store.h"

using namespace kiln;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  EngineConfig config;
  config.eager_compilation = true;
  Engine engine(config);
  auto module = Module::compile(engine, std::span(data, size));
  if (!module.ok() || (*module)->start) return 0;
  const Module& m = **module;

  StoreLimits limits;
  limits.max_call_depth = 1000;
  limits.max_stack_bytes = 512 * 1024;
  limits.max_memory_bytes = 64 << 20;
  limits.max_total_memory_bytes = 256 << 20;  // tables too
  Store store(engine, limits);
  std::vector<Extern> imports;
  for (const Import& imp : m.imports) {
    switch (imp.kind) {
      case ExternKind::kFunction: {
        const FuncType& type = m.types[imp.type_index];
        auto* f = store.create_host_function(type, [](HostCall&, uint64_t* cells) {
          cells[0] = 0;
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
    }
  }
  TrapPtr trap;
  (void)store.instantiate(*module, imports, &trap);
  return 0;
}
