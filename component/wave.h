// WAVE, the WebAssembly Value Encoding (the text form of component values that wasmtime's CLI
// and the wasm-wave crate use; its README is the reference): values parsed by their WIT type and
// printed back, and calls written as `name(arg, ...)`.
//
//   bool true, false            integers 123, -9          floats 3.14, 6.022e+23, nan, -inf
//   char 'x', '\u{1F600}'       string "a\tb"             list [1, 2]      tuple ("a", 1)
//   record {a: 1, b: "two"}     (option fields may be left out: none; `{:}` when all are)
//   variant days(30), forever   enum south               flags {read, write}, {}
//   option some(1), none, or the bare value ("flat some") when the payload is not an option
//   result ok(1), ok, err("x"), err, or the bare ok value ("flat ok")
//
// Labels that are WAVE keywords (true, false, inf, nan, some, none, ok, err) are written with a
// leading `%` as variant and enum cases. Whitespace and `//` comments may sit between tokens.
// Maps are written as lists of (key, value) tuples; resources (own, borrow) have no WAVE form.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "component/component_types.h"
#include "component/component_value.h"
#include "runtime/result.h"

namespace kiln::component {

// Parses `text` (all of it) as one value of `type`. Errors (kind kUsage) name what was expected
// and the byte offset in `text`.
Result<ComponentValue> parse_wave(std::string_view text, const resolved::ValueType& type);

// A call written as `name(arg, ...)`: the name (before the first `(`, spaces trimmed; it may be
// an interface path such as `local:app/api#greet`), and the arguments' text (between the
// parentheses). A name alone, without parentheses, is a call without arguments.
struct WaveCall {
  std::string name;
  std::string arguments;
  size_t arguments_offset = 0;  // where `arguments` starts in the call's text
};
Result<WaveCall> split_wave_call(std::string_view text);

// Parses a call's arguments (comma-separated, a trailing comma allowed) by the function's
// parameter types; the count must match.
Result<std::vector<ComponentValue>> parse_wave_arguments(const WaveCall& call,
                                                         const resolved::FunctionType& type);

// Writes `value` (of `type`) in WAVE on one line; results print as `ok(...)`, options as
// `some(...)`, records with every field. Floats in the shortest form that reads back exactly.
// A resource handle, which WAVE cannot write, prints as `own<N>` / `borrow<N>` (N its rep).
std::string to_wave(const ComponentValue& value, const resolved::ValueType& type);

}  // namespace kiln::component
