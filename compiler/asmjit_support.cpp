// Debian's libasmjit.a is built without -fPIC for one object, globals.cpp.o, whose three
// debugging hooks read `stderr` PC-relatively; linked into libkiln.so that object fails. kiln
// defines the hooks itself (asmjit's API, declared in asmjit/core/globals.h), so the linker
// never takes that object from the archive. kiln installs its own ErrorHandler and never
// asks asmjit for messages; the assertion hook is only called by a debug build of asmjit.
#include <asmjit/core.h>

#include <cstdlib>

ASMJIT_BEGIN_NAMESPACE
namespace DebugUtils {

const char* errorAsString(Error) noexcept {
  return "asmjit error";
}

void debugOutput(const char*) noexcept {}

void assertionFailed(const char*, int, const char*) noexcept {
  std::abort();
}

}  // namespace DebugUtils
ASMJIT_END_NAMESPACE
