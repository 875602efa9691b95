// Writing the binary format: LEB128 numbers, sections, the header. For the module generator
// of the differential tests and the micro-benchmarks' generated modules.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::wasm_writer {

inline void leb(std::vector<uint8_t>& out, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(v ? b | 0x80 : b);
  } while (v);
}

inline void sleb(std::vector<uint8_t>& out, int64_t v) {
  while (true) {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
      out.push_back(b);
      return;
    }
    out.push_back(b | 0x80);
  }
}

inline void section(std::vector<uint8_t>& out, uint8_t id, const std::vector<uint8_t>& content) {
  out.push_back(id);
  leb(out, content.size());
  out.insert(out.end(), content.begin(), content.end());
}

inline std::vector<uint8_t> header() {
  return {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
}

// A component's preamble (Binary.md: magic, version 0x0d, layer 1).
inline std::vector<uint8_t> component_header() {
  return {0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00};
}

// A name: its length, then its bytes.
inline void name(std::vector<uint8_t>& out, const std::string& s) {
  leb(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// "f0", "f1", ...: the names exported_functions_module gives its functions (appended: GCC 12
// warns, wrongly, on `"f" + std::to_string(i)`).
inline std::string function_export_name(size_t i) {
  std::string out = "f";
  out += std::to_string(i);
  return out;
}

// A module with the type section `types` (its content) and a function for each of `bodies`
// (each a code entry: locals, instructions, end), function i of type `type_of[i]` and exported
// as function_export_name(i).
inline std::vector<uint8_t> exported_functions_module(
    const std::vector<uint8_t>& types, const std::vector<uint32_t>& type_of,
    const std::vector<std::vector<uint8_t>>& bodies) {
  std::vector<uint8_t> m = header();
  section(m, 1, types);
  std::vector<uint8_t> functions;
  leb(functions, type_of.size());
  for (uint32_t t : type_of) leb(functions, t);
  section(m, 3, functions);
  std::vector<uint8_t> exports;
  leb(exports, bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    name(exports, function_export_name(i));
    exports.push_back(0x00);
    leb(exports, i);
  }
  section(m, 7, exports);
  std::vector<uint8_t> code;
  leb(code, bodies.size());
  for (const std::vector<uint8_t>& body : bodies) {
    leb(code, body.size());
    code.insert(code.end(), body.begin(), body.end());
  }
  section(m, 10, code);
  return m;
}

}  // namespace kiln::wasm_writer
