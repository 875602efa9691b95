// Wasm values as command-line text: parsing `--invoke` arguments by parameter type and
// printing results.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/result.h"
#include "runtime/types.h"

namespace kiln::cli {

// Accepts decimal and 0x-hex integers (signed or unsigned, within the type's range), decimal
// and hex floats, `nan`, `-nan`, `nan:0xPAYLOAD`, `inf`, `-inf`, `null` for references, and for
// v128 a 128-bit hex integer (`0x` + up to 32 digits) or lanes (`i32x4:1,2,3,4`, `f64x2:...`).
// Writes the value's cells (two for v128).
Result<void> parse_value(ValType type, std::string_view text, uint64_t* cells);

// i32/i64 as signed decimal; floats in the shortest form that reads back exactly, `nan` with
// its payload when it is not the canonical one; references as `null` or `ref`; v128 as a
// 128-bit hex integer (lane 0 at the low end).
std::string format_value(ValType type, const uint64_t* cells);

}  // namespace kiln::cli
