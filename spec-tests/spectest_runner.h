// Executes the commands of one wast2json JSON file against kiln (spec testsuite conformance).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::spectest {

struct FileReport {
  std::string path;
  uint64_t passed = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;
  std::vector<std::string> failures;  // "line N: what happened"
};

FileReport run_spec_file(const std::string& json_path);

}  // namespace kiln::spectest
