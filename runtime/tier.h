// Execution tiers (DESIGN-NOTES sections 1 and 7). Every function is translated for the
// interpreter while it is validated; a code tier (the JIT in compiler/) may compile it to
// machine code, lazily at its first call or eagerly. runtime/ knows the JIT only through this
// interface: compiler/ defines create_code_tier(), and a build without a JIT defines it to
// return null.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/vm_context.h"

namespace kiln {

class Module;

enum class Tier : uint8_t { kInterpreter, kJit };
// The tier engines get unless they ask for one: the JIT, or KILN_TIER's (interp or jit).
Tier default_tier();
// KILN_TIER's value ("" when unset): the test command runs everything under each tier by it.
std::string_view tier_from_environment();
// The auto tier (`kiln run`'s default): the JIT, with functions interpreted for their first
// this many calls, or until their loops have run this many iterations, when the interpreter
// hands the running frame over to machine code at a loop header (CodeTierOptions). 16 calls:
// the functions a WASI hello-world calls a few times each (libc's output path, a component's
// adapter) stay interpreted; with 4 they were compiled, a tenth of its start-up.
constexpr uint32_t kAutoTierInterpretedCalls = 16;
constexpr uint32_t kAutoTierLoopIterations = 1000;

// How generated code keeps memory accesses in bounds (DESIGN-NOTES section 3).
enum class BoundsChecks : uint8_t {
  kGuardPages,  // the reservation's guard region faults; no compare in the code
  kExplicit,    // every access compares with the memory's size
};

// One function's machine code, as the runtime sees it.
struct NativeFunction {
  // The entry, in the JIT's own convention: the frame's cells (arguments first) at the frame
  // pointer, the caller's instance's VmContext in the context register. Run it with
  // CodeTier::enter.
  const void* entry = nullptr;
  uintptr_t start = 0, size = 0;  // the code's address range
  uint32_t function_index = 0;
  bool consumes_fuel = false;  // compiled with fuel in the code (the tier enters it so)
  // With guard-page bounds: (native offset of each memory access, its module byte offset),
  // sorted, and where code resumes when one faults (0: none).
  std::vector<std::pair<uint32_t, uint32_t>> sites;
  uint32_t memory_fault_entry = 0;
  // Data the code points at (the JIT's catch tables), freed with it.
  std::vector<std::shared_ptr<const void>> data;
  // Entries at loop headers, for a frame the interpreter has run so far (on-stack replacement,
  // CodeTierOptions::loop_iterations_before_compile): (the loop's module byte offset, native
  // offset of its entry), sorted. An entry takes the frame with every local in its cell and
  // an empty operand stack, and runs the function from the loop's label to its return.
  std::vector<std::pair<uint32_t, uint32_t>> loop_entries;
  // The entry at the loop at `module_offset`, or null.
  const void* loop_entry(uint32_t module_offset) const;
  // The module byte offset of the memory access at native address `pc`; 0 if there is none
  // there. Async-signal-safe.
  uint32_t module_offset_at(uintptr_t pc) const;
};

struct CodeTierOptions {
  BoundsChecks bounds = BoundsChecks::kGuardPages;
  bool consume_fuel = false;
  bool epoch_interruption = false;
  // When functions are compiled (Module::native_function): a function runs in the interpreter
  // for its first this many calls and is compiled at the next; 0 compiles every function at
  // its first call. Code that runs once (a libc's or a component adapter's start-up) then costs
  // its interpretation, not its compilation.
  uint32_t interpreted_calls_before_compile = 0;
  // With interpreted calls: once the loops of a function the interpreter runs have iterated
  // this many times (counted at their headers, over all its calls), it is compiled and the
  // running frame continues in machine code from the loop's header (on-stack replacement), so
  // a long loop in a function called once does not stay interpreted. 0: no such hand-over, and
  // a function with a loop is compiled at its first call instead. A loop inside a try_table or
  // with values on the operand stack around it cannot be entered so: a function with such a
  // loop is compiled at its first call either way.
  uint32_t loop_iterations_before_compile = 0;

  bool operator==(const CodeTierOptions&) const = default;
};

struct CodeTierStats {
  uint64_t compiled = 0;      // functions compiled to machine code
  uint64_t not_compiled = 0;  // functions the tier could not compile (interpreted)
  uint64_t code_bytes = 0;    // machine code produced
  uint64_t loop_entries = 0;  // interpreted frames handed over at a loop header (enter)
};

class CodeTier {
 public:
  virtual ~CodeTier() = default;
  // Compiles defined function `function_index` of `module` (validated); null when this tier
  // cannot compile it, and the interpreter runs it.
  virtual std::unique_ptr<NativeFunction> compile(const Module& module, uint32_t function_index,
                                                  const CodeTierOptions& options) = 0;
  // Runs `function` with its frame at `fp` (arguments there; results come back there) for the
  // instance of `vm`, from `code`: its entry, or one of its loop entries. 0 on return;
  // otherwise a trap is in vm->store->pending_trap.
  virtual uint32_t enter(VmContext* vm, uint64_t* fp, const NativeFunction& function,
                         const void* code) = 0;
  // Frees `function`'s code (when its module is destroyed).
  virtual void release(NativeFunction& function) = 0;
  // What this tier compiled in the process so far.
  virtual CodeTierStats stats() const = 0;
  // From now on, writes every compiled function's address range and name to
  // /tmp/perf-PID.map, where Linux `perf` looks for the names of JIT code.
  virtual void enable_perf_map() = 0;
};

// The JIT for this machine, or null when kiln was built without one (or the CPU lacks what
// it needs). Created once per process.
CodeTier* code_tier();
// Defined by compiler/ (or by the build's stand-in without a JIT).
std::unique_ptr<CodeTier> create_code_tier();

}  // namespace kiln
