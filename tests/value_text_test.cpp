#include "cli/value_text.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>

namespace kiln::cli {
namespace {

uint64_t parsed(ValType type, const char* text) {
  uint64_t cells[2] = {0, 0};
  auto r = parse_value(type, text, cells);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return cells[0];
}

bool rejects(ValType type, const char* text) {
  uint64_t cells[2];
  return !parse_value(type, text, cells).ok();
}

TEST(ValueText, ParsesIntegers) {
  EXPECT_EQ(parsed(ValType::kI32, "5"), 5u);
  EXPECT_EQ(parsed(ValType::kI32, "-1"), 0xffffffffu);
  EXPECT_EQ(parsed(ValType::kI32, "0x10"), 16u);
  EXPECT_EQ(parsed(ValType::kI32, "4294967295"), 0xffffffffu);
  EXPECT_EQ(parsed(ValType::kI32, "-2147483648"), 0x80000000u);
  EXPECT_TRUE(rejects(ValType::kI32, "4294967296"));
  EXPECT_TRUE(rejects(ValType::kI32, "-2147483649"));
  EXPECT_TRUE(rejects(ValType::kI32, "12abc"));
  EXPECT_TRUE(rejects(ValType::kI32, ""));
  EXPECT_EQ(parsed(ValType::kI64, "-1"), UINT64_MAX);
  EXPECT_EQ(parsed(ValType::kI64, "18446744073709551615"), UINT64_MAX);
  EXPECT_TRUE(rejects(ValType::kI64, "18446744073709551616"));
}

TEST(ValueText, ParsesFloats) {
  EXPECT_EQ(parsed(ValType::kF32, "-1.5"), std::bit_cast<uint32_t>(-1.5f));
  EXPECT_EQ(parsed(ValType::kF64, "0.1"), std::bit_cast<uint64_t>(0.1));
  EXPECT_EQ(parsed(ValType::kF64, "0x1p-3"), std::bit_cast<uint64_t>(0.125));
  EXPECT_EQ(parsed(ValType::kF32, "inf"), std::bit_cast<uint32_t>(INFINITY));
  EXPECT_EQ(parsed(ValType::kF64, "-inf"), std::bit_cast<uint64_t>(-static_cast<double>(INFINITY)));
  EXPECT_EQ(parsed(ValType::kF32, "nan"), 0x7fc00000u);
  EXPECT_EQ(parsed(ValType::kF32, "-nan"), 0xffc00000u);
  EXPECT_EQ(parsed(ValType::kF32, "nan:0x200000"), 0x7fa00000u);
  EXPECT_EQ(parsed(ValType::kF64, "nan:0x1"), 0x7ff0000000000001u);
  EXPECT_TRUE(rejects(ValType::kF32, "nan:0x0"));
  EXPECT_TRUE(rejects(ValType::kF32, "nan:0x800000"));
  EXPECT_TRUE(rejects(ValType::kF64, "1.5x"));
  EXPECT_TRUE(rejects(ValType::kF64, "x"));
}

TEST(ValueText, FormatsResults) {
  uint64_t minus_one = 0xffffffffu;
  EXPECT_EQ(format_value(ValType::kI32, &minus_one), "-1");
  uint64_t big = UINT64_MAX;
  EXPECT_EQ(format_value(ValType::kI64, &big), "-1");
  uint64_t tenth = std::bit_cast<uint64_t>(0.1);
  EXPECT_EQ(format_value(ValType::kF64, &tenth), "0.1");
  uint64_t third = std::bit_cast<uint32_t>(1.0f / 3.0f);
  EXPECT_EQ(format_value(ValType::kF32, &third), "0.33333334");
  uint64_t canonical = 0x7fc00000u, payload = 0xffa00000u;
  EXPECT_EQ(format_value(ValType::kF32, &canonical), "nan");
  EXPECT_EQ(format_value(ValType::kF32, &payload), "-nan:0x200000");
  uint64_t null = 0;
  EXPECT_EQ(format_value(ValType::kExternRef, &null), "null");
}

TEST(ValueText, ParsesAndFormatsV128) {
  uint64_t cells[2];
  ASSERT_TRUE(parse_value(ValType::kV128, "0x000102030405060708090a0b0c0d0e0f", cells).ok());
  EXPECT_EQ(cells[0], 0x08090a0b0c0d0e0full);
  EXPECT_EQ(cells[1], 0x0001020304050607ull);
  EXPECT_EQ(format_value(ValType::kV128, cells), "0x000102030405060708090a0b0c0d0e0f");
  ASSERT_TRUE(parse_value(ValType::kV128, "0x1", cells).ok());
  EXPECT_EQ(cells[0], 1u);
  EXPECT_EQ(cells[1], 0u);

  ASSERT_TRUE(parse_value(ValType::kV128, "i32x4:1,-1,0x10,4294967295", cells).ok());
  EXPECT_EQ(cells[0], 0xffffffff00000001ull);
  EXPECT_EQ(cells[1], 0xffffffff00000010ull);
  ASSERT_TRUE(parse_value(ValType::kV128, "i8x16:-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,255", cells).ok());
  EXPECT_EQ(cells[0], 0xffu);
  EXPECT_EQ(cells[1], 0xff00000000000000ull);
  ASSERT_TRUE(parse_value(ValType::kV128, "f32x4:1.5,nan,-inf,0", cells).ok());
  EXPECT_EQ(cells[0], 0x7fc000003fc00000ull);
  EXPECT_EQ(cells[1], 0x00000000ff800000ull);

  EXPECT_TRUE(rejects(ValType::kV128, "i32x4:1,2,3"));      // too few lanes
  EXPECT_TRUE(rejects(ValType::kV128, "i32x4:1,2,3,4,5"));  // too many
  EXPECT_TRUE(rejects(ValType::kV128, "i8x16:256,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"));
  EXPECT_TRUE(rejects(ValType::kV128, "i3x4:1,2,3,4"));
  EXPECT_TRUE(rejects(ValType::kV128, "0x"));
  EXPECT_TRUE(rejects(ValType::kV128, "0x000102030405060708090a0b0c0d0e0f00"));  // 34 digits
}

TEST(ValueText, RoundTripsFloatsExactly) {
  for (double d : {0.1, -2.5e-308, 1.7976931348623157e308, 5e-324, 123456.789}) {
    uint64_t bits = std::bit_cast<uint64_t>(d);
    std::string text = format_value(ValType::kF64, &bits);
    EXPECT_EQ(parsed(ValType::kF64, text.c_str()), bits) << text;
  }
}

}  // namespace
}  // namespace kiln::cli
