// S-expressions of the .wast script format (the core spec's and the component model's test
// files): atoms, strings (escapes decoded to bytes) and lists, each with its line. Comments
// (`;; ...` and `(; ... ;)`, nested) are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/result.h"

namespace kiln::spectest {

struct SExpression {
  enum class Kind : uint8_t { kAtom, kString, kList };
  Kind kind = Kind::kList;
  std::string text;                // kAtom: as written; kString: the decoded bytes
  std::vector<SExpression> items;  // kList
  uint32_t line = 0;

  bool is_atom(std::string_view word) const { return kind == Kind::kAtom && text == word; }
  // A list whose first item is the atom `head`.
  bool is_form(std::string_view head) const {
    return kind == Kind::kList && !items.empty() && items[0].is_atom(head);
  }
};

// The top-level expressions of a script.
Result<std::vector<SExpression>> read_wast(std::string_view text);

}  // namespace kiln::spectest
