// A generator of random *valid* modules for differential testing of the tiers (issue 13):
// every choice is read from a byte string (a fuzzer's input, or a seeded PRNG's output), and
// whatever the bytes, the module validates. Bodies are built on a typed operand stack from the
// operator tables of runtime/opcodes.h and simd_ops.h (so every operator kiln knows can appear),
// with blocks, loops, ifs, branches of every kind, direct, indirect and host calls, locals,
// globals, loads and stores near the memory's end, memory.grow, select and traps.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kiln::fuzz {

// Choices read from bytes; past their end, every choice is 0 (so generation always ends).
class Choices {
 public:
  explicit Choices(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint32_t below(uint32_t n);  // in [0, n), n > 0
  bool percent(uint32_t p) { return below(100) < p; }
  uint64_t bits64();
  bool exhausted() const { return at_ >= bytes_.size(); }

 private:
  uint8_t byte() { return at_ < bytes_.size() ? bytes_[at_++] : 0; }
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
};

struct GeneratedModule {
  std::vector<uint8_t> bytes;
  uint32_t exported_functions = 0;  // exported as "f0", "f1", ...
};

// The module imports one host function, env.host: (i32) -> i32 (the test's host computes it).
GeneratedModule generate_module(Choices& choices);

}  // namespace kiln::fuzz
