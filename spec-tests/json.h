// A small JSON reader for wast2json output (RFC 8259 subset: no surrogate-pair decoding needed
// beyond what the testsuite uses, which is ASCII with \u escapes).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/result.h"

namespace kiln::spectest {

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::map<std::string, Json, std::less<>> object;

  const Json* get(std::string_view key) const;
  // The member's string, or "" when absent or not a string.
  std::string str(std::string_view key) const;
};

Result<Json> parse_json(std::string_view text);

}  // namespace kiln::spectest
