// The `kiln` command line: `kiln validate`, `kiln run`.
#pragma once

namespace kiln::cli {

// Exit codes (documented in `kiln --help` and the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,       // bad command line, or --invoke arguments that do not parse
  kExitIo = 3,          // the module file cannot be read
  kExitMalformed = 4,   // the module does not decode
  kExitInvalid = 5,     // the module does not validate
  kExitUnlinkable = 6,  // imports cannot be satisfied, or instantiation hit a limit
  kExitTrap = 134,      // the program trapped (128 + SIGABRT, as wasmtime does)
};

int main(int argc, char** argv);

}  // namespace kiln::cli
