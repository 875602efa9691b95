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
  kExitUnlinkable = 6,  // imports cannot be satisfied
  kExitLimit = 7,       // an implementation limit (module) or a store limit (instantiation)
  // The program called proc_exit with a status of 126 or more: those are kept for the shell
  // and for kiln (as wasmtime does), so a program's own statuses are 0 to 125.
  kExitInvalidStatus = 126,
  kExitTrap = 134,  // the program trapped (128 + SIGABRT, as wasmtime does)
};

int main(int argc, char** argv);

}  // namespace kiln::cli
