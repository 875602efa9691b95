// Runs one .wast file of the component model's conformance tests
// (../shared/component-model/test), after spec-tests/component-text-to-binary.mjs has turned its
// components into binary form: components decode, validate and instantiate (`(component ...)`,
// `(component definition ...)`, `(component instance ...)`); `assert_malformed` and
// `assert_invalid` ones are refused; `invoke`, `assert_return` and `assert_trap` call exports
// with values written in the script (u32.const, str.const, record.const, variant.const, ...).
//
// Skipped, and named with --verbose: components that use what kiln refuses as not supported yet
// (the component-model async ABI and threads, Wasm 3.0 core features) and the commands that would
// run them; text-format tests (quoted components, and the one jco's parser refuses).
#pragma once

#include <string>

#include "spec-tests/spectest_runner.h"

namespace kiln::spectest {

FileReport run_component_wast_file(const std::string& wast_path, const EngineConfig& config = {});

}  // namespace kiln::spectest
