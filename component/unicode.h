// Unicode text as the canonical ABI moves it (CanonicalABI.md "Loading" and "Storing" strings):
// UTF-8 validated and decoded, UTF-16LE validated and converted, code points encoded, with
// fast paths for runs of ASCII. Faults are returned as the trap messages the spec's tests name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::component {

void append_utf8(std::string& out, char32_t c);
// Decodes UTF-8 to code points, appending to `out`; the fault, if any.
std::optional<std::string> decode_utf8(const uint8_t* p, size_t n, std::vector<char32_t>& out);
// Checks UTF-8 without decoding it.
std::optional<std::string> validate_utf8(const uint8_t* p, size_t n);
// Valid UTF-8 written as UTF-16LE at `out` (room for 2 bytes per input byte); the bytes written.
size_t utf8_to_utf16_into(const std::string& text, uint8_t* out);
std::vector<uint8_t> utf8_to_utf16(const std::string& text);
// UTF-16LE (`units` code units) as UTF-8 in `out`; the fault (an unpaired surrogate), if any.
std::optional<std::string> utf16_to_utf8(const uint8_t* p, size_t units, std::string& out);
std::string encode_utf8(const std::vector<char32_t>& code_points);
std::vector<uint8_t> encode_utf16(const std::vector<char32_t>& code_points);

}  // namespace kiln::component
