// Binary decoding of a whole module (spec 5.5). Produces an unvalidated Module; function bodies
// are kept as byte ranges and decoded by the function validator.
#pragma once

#include "runtime/module.h"

namespace kiln {

// Decodes `module.bytes` into the rest of `module`.
Result<void> decode_module(Module& module);
// The contents of a name section (appendix 7.4.1) at absolute `offset`: empty when malformed
// (a broken name section is ignored as a whole; custom sections are not validated).
NameSection decode_name_section(std::span<const uint8_t> bytes, size_t offset);

// Reads a value type byte, or reports "malformed value type" at its offset.
class BinaryReader;
Result<ValType> read_value_type(BinaryReader& reader);
Result<ValType> read_reference_type(BinaryReader& reader);
// A function type after its 0x60 form byte: parameter and result vectors.
Result<FuncType> read_function_type(BinaryReader& reader);
// An import's kind and type (spec 5.5.5 importdesc): a function's type index, a table, memory
// or global type. Component core types use it for core:externtype as well.
Result<void> read_import_description(BinaryReader& reader, Import& import);
// A tag type (spec 5.5.7): the exception attribute and the tag's function type index.
Result<uint32_t> read_tag_type(BinaryReader& reader);
// Reads a constant expression up to and including its `end`.
Result<ConstExpr> read_const_expr(BinaryReader& reader);

}  // namespace kiln
