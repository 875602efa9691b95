#include "cli/value_text.h"

#include <fmt/core.h>

#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace kiln::cli {
namespace {

Error bad(ValType type, std::string_view text, const char* why) {
  return Error{ErrorKind::kUsage,
               fmt::format("cannot read '{}' as {}: {}", text, valtype_name(type), why)};
}

// Integers: optional sign, decimal or 0x hex. Accepts [-2^(bits-1), 2^bits - 1].
Result<uint64_t> parse_integer(ValType type, std::string_view text, unsigned bits) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return bad(type, text, "no digits");
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
  if (ec == std::errc::result_out_of_range) return bad(type, text, "out of range");
  if (ec != std::errc() || end != s.data() + s.size()) return bad(type, text, "not an integer");
  const uint64_t unsigned_max = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  const uint64_t negative_max = uint64_t{1} << (bits - 1);
  if (negative) {
    if (magnitude > negative_max) return bad(type, text, "out of range");
    return (0 - magnitude) & unsigned_max;
  }
  if (magnitude > unsigned_max) return bad(type, text, "out of range");
  return magnitude;
}

template <typename F>
Result<F> parse_float(ValType type, std::string_view text) {
  using Bits = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  constexpr int kMantissaBits = sizeof(F) == 4 ? 23 : 52;
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  F value;
  if (s == "inf" || s == "infinity") {
    value = std::numeric_limits<F>::infinity();
  } else if (s == "nan" || s.rfind("nan:0x", 0) == 0) {
    Bits bits = std::bit_cast<Bits>(std::numeric_limits<F>::quiet_NaN());
    if (s.size() > 3) {
      auto payload = parse_integer(type, s.substr(4), 64);
      if (!payload) return payload.take_error();
      const Bits mask = (Bits{1} << kMantissaBits) - 1;
      if (*payload == 0 || *payload > mask) return bad(type, text, "NaN payload out of range");
      bits = (bits & ~mask) | static_cast<Bits>(*payload);
    }
    value = std::bit_cast<F>(bits);
  } else {
    std::string copy(s);
    if (copy.empty() || !(std::isdigit(static_cast<unsigned char>(copy[0])) || copy[0] == '.')) {
      return bad(type, text, "not a number");
    }
    char* end = nullptr;
    errno = 0;
    if constexpr (sizeof(F) == 4) {
      value = std::strtof(copy.c_str(), &end);
    } else {
      value = std::strtod(copy.c_str(), &end);
    }
    if (*end != '\0') return bad(type, text, "not a number");
  }
  return negative ? -value : value;
}

template <typename F>
std::string format_float(F value) {
  using Bits = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  constexpr int kMantissaBits = sizeof(F) == 4 ? 23 : 52;
  if (std::isnan(value)) {
    const Bits bits = std::bit_cast<Bits>(value);
    const Bits payload = bits & ((Bits{1} << kMantissaBits) - 1);
    std::string s = std::signbit(value) ? "-nan" : "nan";
    if (payload != Bits{1} << (kMantissaBits - 1)) s += fmt::format(":0x{:x}", payload);
    return s;
  }
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

// v128 as a 128-bit hex integer ("0x" and up to 32 digits; lane 0 is the low end) or by lanes:
// "i8x16:", "i16x8:", "i32x4:", "i64x2:", "f32x4:" or "f64x2:" and comma-separated lanes.
Result<void> parse_v128(std::string_view text, uint64_t* cells) {
  const ValType type = ValType::kV128;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::string_view digits = text.substr(2);
    if (digits.empty() || digits.size() > 32) return bad(type, text, "expected 1 to 32 hex digits");
    uint64_t halves[2] = {0, 0};
    std::string_view high = digits.size() > 16 ? digits.substr(0, digits.size() - 16) : "";
    std::string_view low = digits.substr(high.size());
    for (auto [part, out] : {std::pair{low, &halves[0]}, std::pair{high, &halves[1]}}) {
      if (part.empty()) continue;
      auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), *out, 16);
      if (ec != std::errc() || end != part.data() + part.size()) return bad(type, text, "not hex");
    }
    cells[0] = halves[0];
    cells[1] = halves[1];
    return {};
  }
  size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return bad(type, text, "expected 0x... or a shape like i32x4:1,2,3,4");
  std::string_view shape = text.substr(0, colon);
  ValType lane_type;
  unsigned lanes;
  if (shape == "i8x16") {
    lane_type = ValType::kI32;
    lanes = 16;
  } else if (shape == "i16x8") {
    lane_type = ValType::kI32;
    lanes = 8;
  } else if (shape == "i32x4") {
    lane_type = ValType::kI32;
    lanes = 4;
  } else if (shape == "i64x2") {
    lane_type = ValType::kI64;
    lanes = 2;
  } else if (shape == "f32x4") {
    lane_type = ValType::kF32;
    lanes = 4;
  } else if (shape == "f64x2") {
    lane_type = ValType::kF64;
    lanes = 2;
  } else
    return bad(type, text, "unknown lane shape");
  const unsigned lane_bytes = 16 / lanes;
  uint8_t bytes[16];
  std::string_view rest = text.substr(colon + 1);
  for (unsigned i = 0; i < lanes; ++i) {
    size_t comma = rest.find(',');
    if ((comma == std::string_view::npos) != (i == lanes - 1)) {
      return bad(type, text, "wrong number of lanes for the shape");
    }
    std::string_view item = rest.substr(0, comma);
    uint64_t lane_cell = 0;
    if (lane_bytes < 4) {  // i8 and i16 lanes: signed or unsigned, within the lane's range
      KILN_ASSIGN(uint64_t v, parse_integer(type, item, lane_bytes * 8));
      lane_cell = v;
    } else {
      KILN_TRY(parse_value(lane_type, item, &lane_cell));
    }
    std::memcpy(bytes + i * lane_bytes, &lane_cell, lane_bytes);
    if (comma != std::string_view::npos) rest = rest.substr(comma + 1);
  }
  std::memcpy(cells, bytes, 16);
  return {};
}

}  // namespace

Result<void> parse_value(ValType type, std::string_view text, uint64_t* cells) {
  switch (type) {
    case ValType::kI32: {
      KILN_ASSIGN(uint64_t v, parse_integer(type, text, 32));
      cells[0] = v;
      return {};
    }
    case ValType::kI64: {
      KILN_ASSIGN(uint64_t v, parse_integer(type, text, 64));
      cells[0] = v;
      return {};
    }
    case ValType::kF32: {
      KILN_ASSIGN(float v, parse_float<float>(type, text));
      cells[0] = std::bit_cast<uint32_t>(v);
      return {};
    }
    case ValType::kF64: {
      KILN_ASSIGN(double v, parse_float<double>(type, text));
      cells[0] = std::bit_cast<uint64_t>(v);
      return {};
    }
    case ValType::kFuncRef:
    case ValType::kExternRef:
      if (text != "null") return bad(type, text, "only null can be passed as a reference");
      cells[0] = 0;
      return {};
    case ValType::kV128:
      return parse_v128(text, cells);
    default:
      return bad(type, text, "this type cannot be passed from the command line");
  }
}

std::string format_value(ValType type, const uint64_t* cells) {
  switch (type) {
    case ValType::kI32:
      return fmt::format("{}", static_cast<int32_t>(cells[0]));
    case ValType::kI64:
      return fmt::format("{}", static_cast<int64_t>(cells[0]));
    case ValType::kF32:
      return format_float(std::bit_cast<float>(static_cast<uint32_t>(cells[0])));
    case ValType::kF64:
      return format_float(std::bit_cast<double>(cells[0]));
    case ValType::kFuncRef:
    case ValType::kExternRef:
      return cells[0] == 0 ? "null" : "ref";
    default:
      return fmt::format("0x{:016x}{:016x}", cells[1], cells[0]);
  }
}

}  // namespace kiln::cli
