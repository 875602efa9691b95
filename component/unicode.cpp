#include "component/unicode.h"

#include <algorithm>
#include <cstring>

namespace kiln::component {

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

// Decodes UTF-8 to code points; the message names the fault (no value on failure).
std::optional<std::string> decode_utf8(const uint8_t* p, size_t n, std::vector<char32_t>& out) {
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    size_t len = 0;
    char32_t c = 0, min = 0;
    if ((b & 0xe0) == 0xc0) {
      len = 2, c = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, c = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      len = 4, c = b & 0x07, min = 0x10000;
    } else {
      return "invalid utf-8 sequence";
    }
    if (i + len > n) return "incomplete utf-8 byte sequence";
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return "invalid utf-8 sequence";
      c = (c << 6) | (p[i + k] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return "invalid utf-8 sequence";
    out.push_back(c);
    i += len;
  }
  return std::nullopt;
}

// Checks UTF-8 without decoding it: eight ASCII bytes at a time, the decoder's checks past them.
std::optional<std::string> validate_utf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i == n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    while (end < n && (p[end] & 0xc0) == 0x80 && end - i < 4) ++end;
    std::vector<char32_t> one;
    if (auto fault = decode_utf8(p + i, end - i, one)) return fault;
    i = end;
  }
  return std::nullopt;
}

// UTF-8 (valid) written as UTF-16LE at `out` (room for 2 bytes per input byte); returns the
// bytes written. Runs of ASCII are widened eight bytes at a time, without decoding.
namespace {

// The UTF-16 code units of code point `c`, given to `unit` (a surrogate pair above U+FFFF).
template <typename Unit>
void utf16_units(char32_t c, Unit&& unit) {
  if (c >= 0x10000) {
    unit(0xd800 + ((c - 0x10000) >> 10));
    unit(0xdc00 + ((c - 0x10000) & 0x3ff));
  } else {
    unit(c);
  }
}

}  // namespace

size_t utf8_to_utf16_into(const std::string& text, uint8_t* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0, o = 0;
  auto unit = [&](uint32_t u) {
    out[o++] = static_cast<uint8_t>(u);
    out[o++] = static_cast<uint8_t>(u >> 8);
  };
  std::vector<char32_t> code_point;
  while (i < n) {
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ull) break;
      for (int k = 0; k < 8; ++k) {
        out[o + 2 * k] = p[i + k];
        out[o + 2 * k + 1] = 0;
      }
      i += 8;
      o += 16;
    }
    if (i == n) break;
    if (p[i] < 0x80) {
      unit(p[i++]);
      continue;
    }
    const size_t len = std::min<size_t>(p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2, n - i);
    code_point.clear();  // one buffer for the whole string, not an allocation per character
    decode_utf8(p + i, len, code_point);
    for (char32_t c : code_point) utf16_units(c, unit);
    i += len;
  }
  return o;
}

std::vector<uint8_t> utf8_to_utf16(const std::string& text) {
  std::vector<uint8_t> out(2 * text.size());
  out.resize(utf8_to_utf16_into(text, out.data()));
  return out;
}

// UTF-16LE (validated: an unpaired surrogate is the fault) as UTF-8, written into a buffer of
// the worst-case size (three bytes per unit) and cut to length; runs of ASCII go four units at a
// time.
std::optional<std::string> utf16_to_utf8(const uint8_t* p, size_t units, std::string& out) {
  out.resize(3 * units);
  char* o = out.data();
  size_t i = 0;
  while (i < units) {
    while (i + 4 <= units) {
      uint64_t word;
      std::memcpy(&word, p + 2 * i, 8);
      if (word & 0xff80ff80ff80ff80ull) break;
      o[0] = static_cast<char>(p[2 * i]);
      o[1] = static_cast<char>(p[2 * i + 2]);
      o[2] = static_cast<char>(p[2 * i + 4]);
      o[3] = static_cast<char>(p[2 * i + 6]);
      o += 4;
      i += 4;
    }
    if (i == units) break;
    char32_t c = p[2 * i] | (p[2 * i + 1] << 8);
    if (c >= 0xd800 && c <= 0xdbff) {
      if (i + 1 == units) return "invalid utf-16: an unpaired surrogate";
      const char32_t low = p[2 * i + 2] | (p[2 * i + 3] << 8);
      if (low < 0xdc00 || low > 0xdfff) return "invalid utf-16: an unpaired surrogate";
      c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      i += 2;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return "invalid utf-16: an unpaired surrogate";
    } else {
      ++i;
    }
    // A surrogate pair (two units, six bytes of room) takes four bytes; any other unit at most
    // three.
    std::string encoded;
    append_utf8(encoded, c);
    std::memcpy(o, encoded.data(), encoded.size());
    o += encoded.size();
  }
  out.resize(static_cast<size_t>(o - out.data()));
  return std::nullopt;
}

std::string encode_utf8(const std::vector<char32_t>& cps) {
  std::string out;
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}
std::vector<uint8_t> encode_utf16(const std::vector<char32_t>& cps) {
  std::vector<uint8_t> out;
  auto unit = [&](uint32_t u) {
    out.push_back(static_cast<uint8_t>(u));
    out.push_back(static_cast<uint8_t>(u >> 8));
  };
  for (char32_t c : cps) utf16_units(c, unit);
  return out;
}

}  // namespace kiln::component
