// Helpers shared by the unit tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace kiln::test {

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A module assembled from tests/wasm/NAME.wat at build time.
inline std::vector<uint8_t> test_module(const std::string& name) {
  return read_bytes(std::string(KILN_TEST_WASM_DIR) + "/" + name + ".wasm");
}

// "\0asm" version 1, followed by `sections`.
inline std::vector<uint8_t> module_bytes(std::initializer_list<uint8_t> sections) {
  static constexpr uint8_t kHeader[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  std::vector<uint8_t> bytes(sizeof kHeader + sections.size());
  std::copy(std::begin(kHeader), std::end(kHeader), bytes.begin());
  std::copy(sections.begin(), sections.end(), bytes.begin() + sizeof kHeader);
  return bytes;
}

}  // namespace kiln::test
