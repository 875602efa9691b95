#include "runtime/trap.h"

#include "runtime/binary_reader.h"

namespace kiln {

const char* trap_code_message(TrapCode code) {
  switch (code) {
    case TrapCode::kUnreachable:
      return "unreachable";
    case TrapCode::kMemoryOutOfBounds:
      return "out of bounds memory access";
    case TrapCode::kTableOutOfBounds:
      return "out of bounds table access";
    case TrapCode::kUndefinedElement:
      return "undefined element";
    case TrapCode::kUninitializedElement:
      return "uninitialized element";
    case TrapCode::kIndirectCallTypeMismatch:
      return "indirect call type mismatch";
    case TrapCode::kIntegerDivideByZero:
      return "integer divide by zero";
    case TrapCode::kIntegerOverflow:
      return "integer overflow";
    case TrapCode::kInvalidConversion:
      return "invalid conversion to integer";
    case TrapCode::kCallStackExhausted:
      return "call stack exhausted";
    case TrapCode::kHostError:
      return "host function failed";
    case TrapCode::kExit:
      return "exit";
    case TrapCode::kOutOfFuel:
      return "all fuel consumed";
    case TrapCode::kDeadlineExceeded:
      return "deadline exceeded";
  }
  return "trap";
}

std::unique_ptr<Trap> Trap::make(TrapCode code, std::string detail) {
  auto trap = std::make_unique<Trap>();
  trap->code = code;
  trap->message = detail.empty() ? trap_code_message(code) : std::move(detail);
  return trap;
}

std::string Trap::to_string() const {
  std::string s = message;
  for (size_t i = 0; i < backtrace.size(); ++i) {
    const TraceFrame& f = backtrace[i];
    s += "\n  " + std::to_string(i) + ": ";
    if (!f.module_name.empty()) s += f.module_name + "!";
    s += f.function_name.empty() ? "<function " + std::to_string(f.function_index) + ">"
                                 : f.function_name;
    s += " (function " + std::to_string(f.function_index) + ", at byte offset " +
         hex_offset(f.module_offset) + ")";
  }
  return s;
}

}  // namespace kiln
