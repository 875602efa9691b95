// Runs one .wast file of the component model's conformance tests
// (../shared/component-model/test) against kiln's component support as far as it goes.
//
// Today that is the binary decoder: a component given in binary form (`(component binary
// ...)`) must decode, an `assert_malformed` one must not. What needs more than the decoder is
// skipped, and counted so: components in the text format (kiln has no component text parser
// yet), `assert_invalid` components that decode (the validator is not written yet), and every
// command that runs a component (instantiation is not written yet).
#pragma once

#include <string>

#include "spec-tests/spectest_runner.h"

namespace kiln::spectest {

FileReport run_component_wast_file(const std::string& wast_path, const EngineConfig& config = {});

}  // namespace kiln::spectest
