// Bounds-checked reader over a module's bytes with strict LEB128 (spec 5.2.2).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtime/result.h"

namespace kiln {

// Spec 5.2.4: names are valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

class BinaryReader {
 public:
  // `base_offset` is the offset of `bytes[0]` within the whole module, for error messages.
  BinaryReader(std::span<const uint8_t> bytes, size_t base_offset = 0)
      : bytes_(bytes), base_(base_offset) {}

  size_t offset() const { return base_ + pos_; }  // absolute offset in the module
  size_t position() const { return pos_; }        // offset within this reader
  size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  const uint8_t* cursor() const { return bytes_.data() + pos_; }

  // The one-byte forms, most of a function body's immediates, are read inline; the rest (and
  // every error) out of line.
  KILN_ALWAYS_INLINE Result<uint8_t> read_byte() {
    if (pos_ < bytes_.size()) [[likely]]
      return bytes_[pos_++];
    return malformed("unexpected end");
  }
  // For a caller that has checked remaining() >= count.
  void skip_checked_bytes(size_t count) { pos_ += count; }
  // For a caller that has checked !at_end().
  KILN_ALWAYS_INLINE uint8_t read_byte_unchecked() { return bytes_[pos_++]; }
  KILN_ALWAYS_INLINE Result<uint32_t> read_u32() {  // unsigned LEB128, at most 5 bytes
    if (pos_ < bytes_.size() && bytes_[pos_] < 0x80) [[likely]]
      return bytes_[pos_++];
    return read_u32_multibyte();
  }
  KILN_ALWAYS_INLINE Result<int32_t> read_s32() {  // signed LEB128, at most 5 bytes
    if (pos_ < bytes_.size() && bytes_[pos_] < 0x80) [[likely]] {
      // Bit 6 of a last byte is the sign (spec 5.2.2).
      const uint8_t byte = bytes_[pos_++];
      return static_cast<int32_t>(byte & 0x3f) - static_cast<int32_t>(byte & 0x40);
    }
    return read_s32_multibyte();
  }
  Result<int64_t> read_s33();  // block types (spec 5.4.1)
  Result<int64_t> read_s64();  // signed LEB128, at most 10 bytes
  Result<uint32_t> read_fixed_u32();
  Result<uint64_t> read_fixed_u64();
  Result<std::span<const uint8_t>> read_bytes(size_t count);
  Result<std::string> read_name();
  // The same, as a view of the reader's bytes.
  Result<std::string_view> read_name_view();
  // Splits off the next `count` bytes as a reader of their own.
  Result<BinaryReader> read_sub_reader(size_t count);

  // Builds a malformed-module error at the current offset.
  Error malformed(const std::string& message) const { return malformed_at(message, offset()); }
  static Error malformed_at(const std::string& message, size_t offset);

 private:
  Result<uint32_t> read_u32_multibyte();
  Result<int32_t> read_s32_multibyte();
  Result<uint64_t> read_unsigned_leb(unsigned bits);
  Result<int64_t> read_signed_leb(unsigned bits);

  std::span<const uint8_t> bytes_;
  size_t base_ = 0;
  size_t pos_ = 0;
};

std::string hex_offset(size_t offset);

}  // namespace kiln
