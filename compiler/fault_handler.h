// Guard-page bounds (DESIGN-NOTES sections 3 and 4): with BoundsChecks::kGuardPages, generated
// code accesses memory 0 without comparing, and an access outside the memory lands in its
// reservation's inaccessible pages. The SIGSEGV/SIGBUS handler installed here checks that the
// faulting instruction is a memory access of JIT code (CodeMemory's page table, then the
// function's access sites), and resumes at that function's memory-fault stub, which raises
// "out of bounds memory access" with the access's module offset. Any other fault goes to the
// handler that was installed before.
#pragma once

#include "compiler/code_memory.h"

namespace kiln::jit {

// Installs the handler once per process; `memory` must outlive the process's JIT code.
bool install_fault_handler(const CodeMemory& memory);

}  // namespace kiln::jit
