// Executes the commands of one wast2json JSON file against kiln (spec testsuite conformance).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/store.h"

namespace kiln::spectest {

struct FileReport {
  std::string path;
  uint64_t passed = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;
  std::vector<std::string> failures;  // "line N: what happened"
  // assert_malformed/assert_invalid cases that kiln rejects for another reason than the
  // testsuite names (informational: the spec does not fix error wording, and when a module has
  // two faults the one reported first may differ).
  std::vector<std::string> other_reasons;
  // Why tests were skipped, where the runner can say ("line N: what kiln does not support").
  std::vector<std::string> skip_reasons;
};

// Runs one file under an engine of `config` (its tier; with fuel and epochs, modules run with
// fuel and time to spare: the instrumentation must not change any result).
FileReport run_spec_file(const std::string& json_path, const EngineConfig& config = {});

}  // namespace kiln::spectest
