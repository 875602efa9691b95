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
  // Wasm 3.0 exception handling: an exception no handler caught (Trap::exception holds it) -
  // while it unwinds the wasm frames of one store it travels as this trap, and handlers of the
  // interpreter take it out of it; throw_ref of a null reference; and an exception the store's
  // memory limit cannot hold.
  kUncaughtException,
  kNullExceptionReference,
  kOutOfMemory,
};

// The spec testsuite's wording for each trap (what `assert_trap` expects).
const char* trap_code_message(TrapCode code);

struct Instance;
struct ExceptionObject;

struct TraceFrame {
  uint32_t function_index = 0;
  std::string function_name;     // from the name section, or ""
  std::string module_name;       // from the name section, or ""
  uint32_t module_offset = 0;    // byte offset of the instruction in the module
  uint32_t function_offset = 0;  // ... from the function's first instruction
  // The frame's instance (owned by its store), if known. Only for the runtime's use while the
  // store lives: a trap can outlive its store, so everything shown of a frame is copied above.
  const Instance* instance = nullptr;
};

struct Trap {
  // A deep stack keeps its innermost and its outermost kTraceEnds frames; the frames between
  // are counted in omitted_frames (they belong between backtrace[kTraceEnds - 1] and
  // backtrace[kTraceEnds]).
  static constexpr size_t kTraceEnds = 10;

  TrapCode code = TrapCode::kUnreachable;
  std::string message;
  std::vector<TraceFrame> backtrace;  // innermost frame first
  uint64_t omitted_frames = 0;
  // Whether every omitted frame is of one function (recursion), and the first of them.
  bool omitted_one_function = true;
  TraceFrame omitted_function;
  int32_t exit_status = 0;  // for kExit
  // For kUncaughtException: the exception (owned by its store; only for the runtime's use while
  // the store lives, like TraceFrame::instance).
  ExceptionObject* exception = nullptr;

  // Appends the next outer frame, moving a kept middle frame into the omitted ones when the
  // innermost and outermost kTraceEnds are full.
  void add_frame(TraceFrame frame);
  // Appends the next outer frame as an omitted one (its name is not needed): for a frame the
  // caller knows is neither among the innermost nor the outermost kTraceEnds.
  void omit_frame(const TraceFrame& frame);
  // All frames, kept and omitted.
  uint64_t frame_count() const { return backtrace.size() + omitted_frames; }

 private:
  void count_omitted(const TraceFrame& frame);

 public:
  static std::unique_ptr<Trap> make(TrapCode code, std::string detail = {});
  // A trap of call_indirect or a table access at element `index`: the two element traps name
  // it, in the reference interpreter's wording the testsuite matches ("... element 2"); any
  // other code is made as by make().
  static std::unique_ptr<Trap> make_at_element(TrapCode code, int64_t index);
  // The program asked to exit with `status` (WASI's proc_exit, wasi:cli/exit): a kExit trap
  // that unwinds the guest and carries the status.
  static std::unique_ptr<Trap> make_exit(int32_t status);
  // An exception on its way out of the frames that threw it (kUncaughtException).
  static std::unique_ptr<Trap> make_exception(ExceptionObject* exception);
  // "message" followed by one line per kept frame, and one for the omitted ones.
  std::string to_string() const;
};

using TrapPtr = std::unique_ptr<Trap>;

}  // namespace kiln
