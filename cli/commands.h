// The `kiln` command line: `kiln validate`, `kiln inspect`, `kiln run`, `kiln serve`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "component/component_validator.h"
#include "runtime/result.h"

namespace kiln::cli {

// Exit codes (documented in `kiln --help` and the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,       // bad command line, or --invoke arguments that do not parse
  kExitIo = 3,          // the module file cannot be read
  kExitMalformed = 4,   // the module does not decode
  kExitInvalid = 5,     // the module does not validate
  kExitUnlinkable = 6,  // imports cannot be satisfied
  kExitLimit = 7,       // an implementation limit (module) or a store limit (instantiation)
  // The program called proc_exit with a status of 126 or more: those are kept for the shell
  // and for kiln (as wasmtime does), so a program's own statuses are 0 to 125.
  kExitInvalidStatus = 126,
  kExitTrap = 134,  // the program trapped (128 + SIGABRT, as wasmtime does)
};

int main(int argc, char** argv);

// Shared by the commands (commands.cpp).
// Prints `error` ("kiln: error: KIND: MESSAGE") and returns its exit code.
int error_exit(const Error& error);
// Prints a usage error and returns kExitUsage.
int usage_error(const std::string& message);
Result<std::vector<uint8_t>> read_module_file(const std::string& path);
// Decodes and validates a component (its preamble's layer is 1); errors name the file.
Result<component::LoadedComponent> load_component(Engine& engine, const std::string& path,
                                                  std::vector<uint8_t>&& bytes);

}  // namespace kiln::cli
