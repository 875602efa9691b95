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
    case TrapCode::kUncaughtException:
      return "uncaught exception";
    case TrapCode::kNullExceptionReference:
      return "null exception reference";
    case TrapCode::kOutOfMemory:
      return "out of memory";
  }
  return "trap";
}

std::unique_ptr<Trap> Trap::make(TrapCode code, std::string detail) {
  auto trap = std::make_unique<Trap>();
  trap->code = code;
  trap->message = detail.empty() ? trap_code_message(code) : std::move(detail);
  return trap;
}

std::unique_ptr<Trap> Trap::make_at_element(TrapCode code, int64_t index) {
  if (code != TrapCode::kUndefinedElement && code != TrapCode::kUninitializedElement) {
    return make(code);
  }
  return make(code, std::string(trap_code_message(code)) + " " + std::to_string(index));
}

std::unique_ptr<Trap> Trap::make_exit(int32_t status) {
  auto trap = make(TrapCode::kExit, "exit with status " + std::to_string(status));
  trap->exit_status = status;
  return trap;
}

std::unique_ptr<Trap> Trap::make_exception(ExceptionObject* exception) {
  auto trap = make(TrapCode::kUncaughtException);
  trap->exception = exception;
  return trap;
}

void Trap::add_frame(TraceFrame frame) {
  if (backtrace.size() < 2 * kTraceEnds) {
    backtrace.push_back(std::move(frame));
    return;
  }
  // The oldest of the outermost kept frames is no longer among the outermost.
  TraceFrame middle = std::move(backtrace[kTraceEnds]);
  backtrace.erase(backtrace.begin() + kTraceEnds);
  count_omitted(middle);
  backtrace.push_back(std::move(frame));
}

void Trap::omit_frame(const TraceFrame& frame) {
  // Frames kept past the innermost come before this one: they are omitted first.
  if (backtrace.size() > kTraceEnds) {
    for (size_t i = kTraceEnds; i < backtrace.size(); ++i) count_omitted(backtrace[i]);
    backtrace.resize(kTraceEnds);
  }
  count_omitted(frame);
}

void Trap::count_omitted(const TraceFrame& frame) {
  if (omitted_frames == 0) {
    omitted_function = frame;
  } else if (frame.function_index != omitted_function.function_index ||
             frame.instance != omitted_function.instance) {
    omitted_one_function = false;
  }
  ++omitted_frames;
}

namespace {
std::string function_label(const TraceFrame& f) {
  std::string s;
  if (!f.module_name.empty()) s += f.module_name + "!";
  s += f.function_name.empty() ? "<function " + std::to_string(f.function_index) + ">"
                               : f.function_name;
  return s;
}
}  // namespace

std::string Trap::to_string() const {
  std::string s = message;
  for (size_t i = 0; i < backtrace.size(); ++i) {
    const TraceFrame& f = backtrace[i];
    if (i == kTraceEnds && omitted_frames) {
      s += "\n  ... " + std::to_string(omitted_frames) + " more frames";
      if (omitted_one_function) s += " of " + function_label(omitted_function);
    }
    const uint64_t number = i < kTraceEnds ? i : i + omitted_frames;
    s += "\n  " + std::to_string(number) + ": " + function_label(f);
    s += " (function " + std::to_string(f.function_index) + ", at byte offset " +
         hex_offset(f.module_offset) + ")";
  }
  return s;
}

}  // namespace kiln
