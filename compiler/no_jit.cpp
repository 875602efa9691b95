// The stand-in for a build without a JIT (no asmjit, or a machine kiln has no backend for):
// every function runs in the interpreter.
#include "runtime/tier.h"

namespace kiln {

std::unique_ptr<CodeTier> create_code_tier() {
  return nullptr;
}

}  // namespace kiln
