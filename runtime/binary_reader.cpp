#include "runtime/binary_reader.h"

#include <cstdio>
#include <cstring>

namespace kiln {

std::string hex_offset(size_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%zx", offset);
  return buf;
}

Error BinaryReader::malformed_at(const std::string& message, size_t offset) {
  return Error{ErrorKind::kMalformed, message + " (at byte offset " + hex_offset(offset) + ")"};
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Names are nearly always ASCII: eight bytes at a time while no high bit is set.
    if (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf) {
      len = 2;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      cp = b & 0x07;
    } else
      return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      uint8_t c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;  // overlong
    if (cp >= 0xd800 && cp <= 0xdfff) return false;                            // surrogate
    if (cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

Result<uint64_t> BinaryReader::read_unsigned_leb(unsigned bits) {
  const size_t start = offset();
  const unsigned max_bytes = (bits + 6) / 7;
  uint64_t value = 0;
  for (unsigned i = 0;; ++i) {
    if (pos_ >= bytes_.size()) return malformed_at("unexpected end", start);
    uint8_t byte = bytes_[pos_++];
    unsigned shift = 7 * i;
    if (i == max_bytes - 1) {
      // The last byte may only carry the bits that still fit (spec 5.2.2).
      if (byte & 0x80) return malformed_at("integer representation too long", start);
      unsigned used = bits - shift;
      if (used < 7 && (byte >> used) != 0) return malformed_at("integer too large", start);
      value |= static_cast<uint64_t>(byte) << shift;
      return value;
    }
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return value;
  }
}

Result<int64_t> BinaryReader::read_signed_leb(unsigned bits) {
  const size_t start = offset();
  const unsigned max_bytes = (bits + 6) / 7;
  uint64_t value = 0;
  for (unsigned i = 0;; ++i) {
    if (pos_ >= bytes_.size()) return malformed_at("unexpected end", start);
    uint8_t byte = bytes_[pos_++];
    unsigned shift = 7 * i;
    if (i == max_bytes - 1) {
      if (byte & 0x80) return malformed_at("integer representation too long", start);
      // The unused high bits of the last byte must all equal the sign bit.
      unsigned used = bits - shift;  // 1..7 value bits in this byte
      if (used < 7) {
        const uint8_t payload = byte & 0x7f;
        const uint8_t value_mask = static_cast<uint8_t>((1u << used) - 1);
        const bool negative = (payload >> (used - 1)) & 1;
        const uint8_t expected =
            negative ? (payload & value_mask) | (0x7f & ~value_mask) : payload & value_mask;
        if (payload != expected) return malformed_at("integer too large", start);
      }
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if (shift < 64 && (byte & 0x40)) value |= ~uint64_t{0} << shift;
      return static_cast<int64_t>(value);
    }
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      shift += 7;
      if (shift < 64 && (byte & 0x40)) value |= ~uint64_t{0} << shift;
      return static_cast<int64_t>(value);
    }
  }
}

Result<uint32_t> BinaryReader::read_u32_multibyte() {
  KILN_ASSIGN(uint64_t v, read_unsigned_leb(32));
  return static_cast<uint32_t>(v);
}

Result<int32_t> BinaryReader::read_s32_multibyte() {
  KILN_ASSIGN(int64_t v, read_signed_leb(32));
  return static_cast<int32_t>(v);
}

Result<int64_t> BinaryReader::read_s33() {
  return read_signed_leb(33);
}
Result<int64_t> BinaryReader::read_s64() {
  return read_signed_leb(64);
}

Result<uint32_t> BinaryReader::read_fixed_u32() {
  KILN_ASSIGN(auto bytes, read_bytes(4));
  uint32_t v;
  std::memcpy(&v, bytes.data(), 4);
  return v;
}

Result<uint64_t> BinaryReader::read_fixed_u64() {
  KILN_ASSIGN(auto bytes, read_bytes(8));
  uint64_t v;
  std::memcpy(&v, bytes.data(), 8);
  return v;
}

Result<std::span<const uint8_t>> BinaryReader::read_bytes(size_t count) {
  if (count > remaining()) return malformed("unexpected end");
  auto out = bytes_.subspan(pos_, count);
  pos_ += count;
  return out;
}

Result<std::string_view> BinaryReader::read_name_view() {
  size_t start = offset();
  KILN_ASSIGN(uint32_t length, read_u32());
  if (length > remaining()) return malformed("length out of bounds");
  KILN_ASSIGN(auto bytes, read_bytes(length));
  const std::string_view name(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!is_valid_utf8(name)) return malformed_at("malformed UTF-8 encoding", start);
  return name;
}

Result<std::string> BinaryReader::read_name() {
  KILN_ASSIGN(std::string_view name, read_name_view());
  return std::string(name);
}

Result<BinaryReader> BinaryReader::read_sub_reader(size_t count) {
  size_t start = offset();
  KILN_ASSIGN(auto bytes, read_bytes(count));
  return BinaryReader(bytes, start);
}

}  // namespace kiln
