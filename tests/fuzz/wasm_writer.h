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

}  // namespace kiln::wasm_writer
