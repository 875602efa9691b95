#include "runtime/result.h"

#include <cstdio>
#include <cstdlib>

namespace kiln {

// A Result read as what it is not: a bug in kiln, never the input's doing. (std::variant threw
// bad_variant_access here, which no caller catches either.)
void result_misused(const char* what) {
  std::fprintf(stderr, "kiln: internal error: Result::%s\n", what);
  std::abort();
}

}  // namespace kiln
