#include "tests/fuzz/tier_differential.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "runtime/module.h"
#include "runtime/tier.h"

namespace kiln::fuzz {

std::vector<TierSetup> tier_setups() {
  EngineConfig base;
  base.consume_fuel = true;
  base.epoch_interruption = true;
  std::vector<TierSetup> setups;
  EngineConfig interp = base;
  interp.tier = Tier::kInterpreter;
  setups.push_back({"interp", interp});
  if (code_tier()) {
    for (BoundsChecks bounds : {BoundsChecks::kGuardPages, BoundsChecks::kExplicit}) {
      EngineConfig jit = base;
      jit.tier = Tier::kJit;
      jit.bounds_checks = bounds;
      setups.push_back(
          {bounds == BoundsChecks::kGuardPages ? "jit (guard pages)" : "jit (explicit)", jit});
    }
    // The auto tier at its most eager: each function interpreted at its first call, and each
    // such frame handed over to machine code at the first loop header it reaches (on-stack
    // replacement), so the hand-over meets every state the generator makes.
    EngineConfig automatic = base;
    automatic.tier = Tier::kJit;
    automatic.interpreted_calls_before_compile = automatic.loop_iterations_before_compile = 1;
    setups.push_back({"auto (hand-over at every loop)", automatic});
  }
  return setups;
}

namespace {

void describe_value(std::ostringstream& out, ValType t, const uint64_t* cells) {
  switch (t) {
    case ValType::kI32:
      out << "i32:" << static_cast<uint32_t>(cells[0]);
      return;
    case ValType::kF32: {
      float f;
      std::memcpy(&f, cells, 4);
      if (std::isnan(f)) {
        out << "f32:nan";
      } else {
        out << "f32:0x" << std::hex << static_cast<uint32_t>(cells[0]) << std::dec;
      }
      return;
    }
    case ValType::kF64: {
      double d;
      std::memcpy(&d, cells, 8);
      if (std::isnan(d)) {
        out << "f64:nan";
      } else {
        out << "f64:0x" << std::hex << cells[0] << std::dec;
      }
      return;
    }
    case ValType::kV128:
      out << "v128:0x" << std::hex << cells[1] << ":" << cells[0] << std::dec;
      return;
    default:
      out << "i64:" << cells[0];
  }
}

// Arguments: boundary values, the same for every tier.
uint64_t argument(uint32_t function, uint32_t param) {
  static const uint64_t kValues[] = {0, 1, 0xffffffff, 7, 0x80000000, 65532, 3, 0x7ff8000000000001};
  return kValues[(function * 3 + param) % 8];
}

}  // namespace

std::string describe_run(std::span<const uint8_t> bytes, uint32_t exported_functions,
                         const EngineConfig& config) {
  std::ostringstream out;
  Engine engine(config);
  auto module = Module::compile(engine, bytes);
  if (!module.ok()) return "compile error: " + module.error().message;
  StoreLimits limits;
  limits.max_call_depth = 300;
  limits.max_stack_bytes = 4 << 20;
  Store store(engine, limits);
  store.set_epoch_deadline(UINT64_MAX / 2);
  (void)store.set_fuel(1000000);
  FunctionInstance* host = store.create_host_function(
      FuncType{{ValType::kI32}, {ValType::kI32}},
      [](HostCall&, uint64_t* cells) {
        cells[0] = static_cast<uint32_t>(cells[0] * 3 + 1);
        return TrapPtr();
      },
      "env.host");
  TrapPtr trap;
  auto instance = store.instantiate(*module, {Extern{ExternKind::kFunction, host}}, &trap);
  if (!instance.ok()) return "instantiation failed: " + instance.error().message;
  for (uint32_t i = 0; i < exported_functions; ++i) {
    std::string name = "f";  // (GCC 12 warns falsely on "f" + std::to_string)
    name += std::to_string(i);
    FunctionInstance* f = (*instance)->find_export(name)->function();
    const FuncType& type = *f->type;
    std::vector<uint64_t> cells(std::max(type.param_cells(), type.result_cells()) + 1, 0);
    for (uint32_t p = 0, cell = 0; p < type.params.size(); ++p) {
      cells[cell] = argument(i, p);
      if (type.params[p] == ValType::kI32 || type.params[p] == ValType::kF32) {
        cells[cell] = static_cast<uint32_t>(cells[cell]);
      }
      cell += cell_count(type.params[p]);
    }
    (void)store.set_fuel(200000);
    TrapPtr call_trap = store.invoke(f, cells.data());
    out << "f" << i << ": ";
    if (call_trap) {
      out << "trap: " << call_trap->to_string();
    } else {
      uint32_t cell = 0;
      for (ValType r : type.results) {
        describe_value(out, r, cells.data() + cell);
        out << " ";
        cell += cell_count(r);
      }
    }
    out << "| fuel left " << store.fuel_remaining() << "\n";
  }
  const Instance& inst = **instance;
  const LinearMemory& memory = *inst.memories[0]->memory;
  uint64_t hash = 1469598103934665603ull;
  for (uint64_t i = 0; i < memory.size_bytes(); ++i)
    hash = (hash ^ memory.base()[i]) * 1099511628211ull;
  out << "memory: " << memory.pages() << " pages, hash " << hash << "\n";
  for (size_t g = 0; g < inst.globals.size(); ++g) {
    out << "global " << g << ": ";
    describe_value(out, inst.globals[g]->type.type, inst.globals[g]->cells);
    out << "\n";
  }
  return out.str();
}

}  // namespace kiln::fuzz
