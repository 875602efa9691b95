// Binary decoding of a whole module (spec 5.5). Produces an unvalidated Module; function bodies
// are kept as byte ranges and decoded by the function validator.
#pragma once

#include "runtime/module.h"

namespace kiln {

// Decodes `module.bytes` into the rest of `module`.
Result<void> decode_module(Module& module);

// Reads a value type byte, or reports "malformed value type" at its offset.
class BinaryReader;
Result<ValType> read_value_type(BinaryReader& reader);
Result<ValType> read_reference_type(BinaryReader& reader);
// Reads a constant expression up to and including its `end`.
Result<ConstExpr> read_const_expr(BinaryReader& reader);

}  // namespace kiln
