#include "runtime/binary_reader.h"

#include <gtest/gtest.h>

#include <vector>

namespace kiln {
namespace {

template <typename T>
Result<T> read_with(std::vector<uint8_t> bytes, Result<T> (BinaryReader::*read)()) {
  BinaryReader reader(bytes);
  auto result = (reader.*read)();
  if (result.ok()) {
    EXPECT_TRUE(reader.at_end()) << "the reader must consume the whole encoding";
  }
  return result;
}

TEST(Leb128, UnsignedValues) {
  EXPECT_EQ(*read_with<uint32_t>({0x00}, &BinaryReader::read_u32), 0u);
  EXPECT_EQ(*read_with<uint32_t>({0x7f}, &BinaryReader::read_u32), 127u);
  EXPECT_EQ(*read_with<uint32_t>({0xe5, 0x8e, 0x26}, &BinaryReader::read_u32), 624485u);
  EXPECT_EQ(*read_with<uint32_t>({0xff, 0xff, 0xff, 0xff, 0x0f}, &BinaryReader::read_u32),
            0xffffffffu);
  // Non-minimal but within 5 bytes is allowed (spec 5.2.2).
  EXPECT_EQ(*read_with<uint32_t>({0x80, 0x80, 0x80, 0x80, 0x00}, &BinaryReader::read_u32), 0u);
}

TEST(Leb128, UnsignedRejectsOverlongAndTooLarge) {
  auto overlong =
      read_with<uint32_t>({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, &BinaryReader::read_u32);
  ASSERT_FALSE(overlong.ok());
  EXPECT_EQ(overlong.error().kind, ErrorKind::kMalformed);
  EXPECT_NE(overlong.error().message.find("integer representation too long"), std::string::npos);

  auto too_large = read_with<uint32_t>({0xff, 0xff, 0xff, 0xff, 0x1f}, &BinaryReader::read_u32);
  ASSERT_FALSE(too_large.ok());
  EXPECT_NE(too_large.error().message.find("integer too large"), std::string::npos);

  auto truncated = read_with<uint32_t>({0x80}, &BinaryReader::read_u32);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message.find("unexpected end"), std::string::npos);
}

TEST(Leb128, SignedValues) {
  EXPECT_EQ(*read_with<int32_t>({0x7f}, &BinaryReader::read_s32), -1);
  EXPECT_EQ(*read_with<int32_t>({0x80, 0x7f}, &BinaryReader::read_s32), -128);
  EXPECT_EQ(*read_with<int32_t>({0x3f}, &BinaryReader::read_s32), 63);
  EXPECT_EQ(*read_with<int32_t>({0xc0, 0x00}, &BinaryReader::read_s32), 64);
  EXPECT_EQ(*read_with<int32_t>({0x80, 0x80, 0x80, 0x80, 0x78}, &BinaryReader::read_s32),
            INT32_MIN);
  EXPECT_EQ(*read_with<int32_t>({0xff, 0xff, 0xff, 0xff, 0x07}, &BinaryReader::read_s32),
            INT32_MAX);
  EXPECT_EQ(*read_with<int64_t>({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f},
                                &BinaryReader::read_s64),
            INT64_MIN);
  EXPECT_EQ(*read_with<int64_t>({0x40}, &BinaryReader::read_s33), -64);  // the empty block type
}

TEST(Leb128, SignedRejectsUnusedBitsThatAreNotTheSignExtension) {
  // 5th byte of an s32 carries 4 value bits; the 3 unused ones must repeat the sign bit.
  for (std::vector<uint8_t> bad : {std::vector<uint8_t>{0x80, 0x80, 0x80, 0x80, 0x70},
                                   std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 0x0f},
                                   std::vector<uint8_t>{0x80, 0x80, 0x80, 0x80, 0x1f},
                                   std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 0x4f}}) {
    auto r = read_with<int32_t>(bad, &BinaryReader::read_s32);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("integer too large"), std::string::npos);
  }
  // 10th byte of an s64 carries 1 value bit.
  auto r = read_with<int64_t>({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7e},
                              &BinaryReader::read_s64);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("integer too large"), std::string::npos);
}

TEST(BinaryReader, ErrorsNameTheAbsoluteByteOffset) {
  std::vector<uint8_t> bytes = {0x01, 0x80};
  BinaryReader reader(bytes, 0x40);
  ASSERT_TRUE(reader.read_byte().ok());
  auto r = reader.read_u32();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("0x41"), std::string::npos) << r.error().message;
}

TEST(BinaryReader, NamesMustBeUtf8) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9t\xc3\xa9"));  // été
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));   // U+1F600
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation byte

  std::vector<uint8_t> bytes = {0x02, 0xc0, 0xaf};
  BinaryReader reader(bytes);
  auto name = reader.read_name();
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.error().message.find("malformed UTF-8 encoding"), std::string::npos);
}

}  // namespace
}  // namespace kiln
