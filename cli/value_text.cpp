#include "cli/value_text.h"

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
               "cannot read '" + std::string(text) + "' as " + valtype_name(type) + ": " + why};
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
    if (payload != Bits{1} << (kMantissaBits - 1)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, ":0x%llx", static_cast<unsigned long long>(payload));
      s += buf;
    }
    return s;
  }
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
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
    default:
      return bad(type, text, "this type cannot be passed from the command line yet");
  }
}

std::string format_value(ValType type, const uint64_t* cells) {
  switch (type) {
    case ValType::kI32:
      return std::to_string(static_cast<int32_t>(cells[0]));
    case ValType::kI64:
      return std::to_string(static_cast<int64_t>(cells[0]));
    case ValType::kF32:
      return format_float(std::bit_cast<float>(static_cast<uint32_t>(cells[0])));
    case ValType::kF64:
      return format_float(std::bit_cast<double>(cells[0]));
    case ValType::kFuncRef:
    case ValType::kExternRef:
      return cells[0] == 0 ? "null" : "ref";
    default: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "0x%016llx%016llx", static_cast<unsigned long long>(cells[1]),
                    static_cast<unsigned long long>(cells[0]));
      return buf;
    }
  }
}

}  // namespace kiln::cli
