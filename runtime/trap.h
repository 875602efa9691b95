// Traps are values (DESIGN-NOTES section 4): a code, a message and a backtrace of wasm frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

enum class TrapCode : uint8_t {
  kUnreachable,
  kMemoryOutOfBounds,
  kTableOutOfBounds,
  kUndefinedElement,
  kUninitializedElement,
  kIndirectCallTypeMismatch,
  kIntegerDivideByZero,
  kIntegerOverflow,
  kInvalidConversion,
  kCallStackExhausted,
  kHostError,  // a host function failed; the message says why
  kExit,       // the program asked to exit (WASI proc_exit); Trap::exit_status holds the status
  kOutOfFuel,  // the store's fuel would not cover the next straight-line segment
  kDeadlineExceeded,  // the engine's epoch reached the store's deadline
};

// The spec testsuite's wording for each trap (what `assert_trap` expects).
const char* trap_code_message(TrapCode code);

struct Instance;

struct TraceFrame {
  uint32_t function_index = 0;
  std::string function_name;     // from the name section, or ""
  std::string module_name;       // from the name section, or ""
  uint32_t module_offset = 0;    // byte offset of the instruction in the module
  uint32_t function_offset = 0;  // ... from the function's first instruction
  const Instance* instance = nullptr;  // the frame's instance (owned by its store), if known
};

struct Trap {
  TrapCode code = TrapCode::kUnreachable;
  std::string message;
  std::vector<TraceFrame> backtrace;  // innermost frame first
  int32_t exit_status = 0;            // for kExit

  static std::unique_ptr<Trap> make(TrapCode code, std::string detail = {});
  // "message" followed by one line per frame.
  std::string to_string() const;
};

using TrapPtr = std::unique_ptr<Trap>;

}  // namespace kiln
