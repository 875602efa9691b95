// Writing the binary format: LEB128 numbers, sections, the header. For the module generator
// of the differential tests and the micro-benchmarks' generated modules.
#pragma once

#include <cstdint>
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

}  // namespace kiln::wasm_writer
