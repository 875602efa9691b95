#include "component/wave.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "component/unicode.h"

namespace kiln::component {
namespace {

using resolved::DefinedType;
using resolved::ValueType;
using Kind = ComponentValue::Kind;
using TypeKind = DefinedType::Kind;

constexpr const char* kKeywords[] = {"true", "false", "inf", "nan", "some", "none", "ok", "err"};

bool is_keyword(std::string_view word) {
  for (const char* k : kKeywords) {
    if (word == k) return true;
  }
  return false;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// A recursive-descent parser driven by the expected type: recursion follows the type, whose
// depth the validator bounds (kMaxTypeDepth), never the input alone.
class Parser {
 public:
  explicit Parser(std::string_view text, size_t base = 0) : text_(text), base_(base) {}

  Result<ComponentValue> value(const ValueType& type) {
    skip_space();
    if (auto primitive = resolved::primitive_of(type)) return primitive_value(*primitive);
    const DefinedType& t = *type.defined;
    switch (t.kind) {
      case TypeKind::kPrimitive:
        return primitive_value(t.primitive);
      case TypeKind::kRecord:
        return record(t);
      case TypeKind::kVariant:
        return variant(t);
      case TypeKind::kList:
      case TypeKind::kFixedList:
        return list(t);
      case TypeKind::kMap:
        return map(type);
      case TypeKind::kTuple: {
        ComponentValue v;
        v.kind = Kind::kTuple;
        KILN_TRY(sequence('(', ')', [&](size_t k) -> Result<void> {
          if (k >= t.types.size()) return fail("a tuple of " + count(t.types.size()) + " here");
          KILN_ASSIGN(ComponentValue item, value(t.types[k]));
          v.items.push_back(std::move(item));
          return {};
        }));
        if (v.items.size() != t.types.size()) {
          return fail("a tuple of " + count(t.types.size()) + ", not " + count(v.items.size()));
        }
        return v;
      }
      case TypeKind::kFlags:
        return flags(t);
      case TypeKind::kEnum: {
        const size_t at = pos_;
        KILN_ASSIGN(std::string name, label(/*case_label=*/true));
        for (size_t k = 0; k < t.labels.size(); ++k) {
          if (t.labels[k] == name) {
            ComponentValue v;
            v.kind = Kind::kEnum;
            v.index = static_cast<uint32_t>(k);
            return v;
          }
        }
        return fail_at(at, "`" + name + "` is not a case of " + resolved::to_wit(type));
      }
      case TypeKind::kOption:
        return option(t);
      case TypeKind::kResult:
        return result(t);
      case TypeKind::kOwn:
      case TypeKind::kBorrow:
      case TypeKind::kStream:
      case TypeKind::kFuture:
        return fail(resolved::to_wit(type) + " has no WAVE form (it is a handle)");
    }
    return fail("a value");
  }

  // After the last value: only space and comments.
  Result<void> finish() {
    skip_space();
    if (pos_ != text_.size()) return fail("the end of the value");
    return {};
  }

  // Comma-separated values between `open` and `close` (a trailing comma allowed); `item(k)`
  // parses the k-th.
  template <typename Item>
  Result<void> sequence(char open, char close, Item&& item) {
    KILN_TRY(expect(open));
    for (size_t k = 0;; ++k) {
      skip_space();
      if (peek() == close) break;
      KILN_TRY(item(k));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != close) return fail(std::string("`,` or `") + close + "`");
      break;
    }
    ++pos_;
    return {};
  }

 private:
  std::string_view text_;
  size_t base_;
  size_t pos_ = 0;

  static std::string count(size_t n) { return std::to_string(n) + (n == 1 ? " value" : " values"); }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  Error fail_at(size_t at, const std::string& what) const {
    std::string found;
    if (at >= text_.size()) {
      found = "the end";
    } else {
      size_t end = at;
      while (end < text_.size() && end - at < 16 && text_[end] != '\n') ++end;
      found = "`" + std::string(text_.substr(at, end - at)) + "`";
    }
    return Error{ErrorKind::kUsage, "WAVE value at offset " + std::to_string(base_ + at) +
                                        ": expected " + what + ", found " + found};
  }
  Error fail(const std::string& what) const { return fail_at(pos_, what); }

  void skip_space() {
    for (;;) {
      while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
      if (text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      return;
    }
  }

  Result<void> expect(char c) {
    skip_space();
    if (peek() != c) return fail(std::string("`") + c + "`");
    ++pos_;
    return {};
  }

  // A kebab-case label; `%` escapes a keyword (required for cases, allowed everywhere).
  Result<std::string> label(bool case_label) {
    skip_space();
    const size_t at = pos_;
    const bool escaped = peek() == '%';
    if (escaped) ++pos_;
    const size_t start = pos_;
    while (pos_ < text_.size() && is_label_char(text_[pos_])) ++pos_;
    if (pos_ == start) return fail_at(at, "a label");
    std::string word(text_.substr(start, pos_ - start));
    if (case_label && !escaped && is_keyword(word)) {
      return fail_at(at, "a case label (the keyword `" + word + "` is written `%" + word + "`)");
    }
    return word;
  }

  // A word (keyword or label) without consuming it.
  std::string_view peek_word() const {
    size_t end = pos_;
    while (end < text_.size() && is_label_char(text_[end])) ++end;
    return text_.substr(pos_, end - pos_);
  }

  bool take_word(std::string_view word) {
    if (peek_word() != word) return false;
    pos_ += word.size();
    return true;
  }

  // A token of number characters.
  std::string_view number_token() {
    const size_t start = pos_;
    while (pos_ < text_.size() && (is_label_char(text_[pos_]) || text_[pos_] == '.' ||
                                   text_[pos_] == '+' || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  Result<ComponentValue> integer(Kind kind, bool is_signed, int bits) {
    const size_t at = pos_;
    std::string_view token = number_token();
    const std::string what = std::string(is_signed ? "an s" : "a u") + std::to_string(bits);
    if (token.empty()) return fail_at(at, what);
    uint64_t out = 0;
    if (is_signed) {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
      const int64_t max =
          bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
      if (ec != std::errc() || end != token.data() + token.size() || v > max || v < -max - 1) {
        return fail_at(at, what);
      }
      out = static_cast<uint64_t>(v);
    } else {
      auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
      if (ec != std::errc() || end != token.data() + token.size() || (bits < 64 && out >> bits)) {
        return fail_at(at, what);
      }
    }
    return ComponentValue::integer(kind, out);
  }

  template <typename Float>
  Result<Float> floating(const char* what) {
    const size_t at = pos_;
    const bool negative = peek() == '-';
    std::string_view token = number_token();
    std::string_view magnitude = negative ? token.substr(1) : token;
    if (magnitude == "inf") {
      return negative ? -std::numeric_limits<Float>::infinity()
                      : std::numeric_limits<Float>::infinity();
    }
    if (token == "nan") return std::numeric_limits<Float>::quiet_NaN();
    // from_chars would also read "infinity", "nan(...)" and hex: WAVE has digits, '.', 'e'.
    for (char c : magnitude) {
      if (!(c >= '0' && c <= '9') && c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') {
        return fail_at(at, what);
      }
    }
    Float v = 0;
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
    if (ec != std::errc() || end != token.data() + token.size() || magnitude.empty() ||
        !(magnitude[0] >= '0' && magnitude[0] <= '9')) {
      return fail_at(at, what);
    }
    return v;
  }

  // One character of a char or string literal, escapes decoded.
  Result<char32_t> character(char quote) {
    const size_t at = pos_;
    if (pos_ >= text_.size()) return fail("a closing " + std::string(1, quote));
    const unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '\n' || c == '\r') return fail("a closing " + std::string(1, quote));
    if (c == '\\') {
      ++pos_;
      const char e = peek();
      ++pos_;
      switch (e) {
        case '\\':
          return U'\\';
        case '\'':
          return U'\'';
        case '"':
          return U'"';
        case 't':
          return U'\t';
        case 'n':
          return U'\n';
        case 'r':
          return U'\r';
        case 'u': {
          if (peek() != '{') return fail_at(at, "an escape `\\u{HEX}`");
          ++pos_;
          uint32_t code = 0;
          size_t digits = 0;
          while (pos_ < text_.size() && std::isxdigit(static_cast<unsigned char>(text_[pos_]))) {
            const char d = text_[pos_++];
            code = code * 16 + static_cast<uint32_t>(d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10);
            if (++digits > 6) return fail_at(at, "a Unicode scalar value");
          }
          if (digits == 0 || peek() != '}' || code > 0x10FFFF ||
              (code >= 0xD800 && code <= 0xDFFF)) {
            return fail_at(at, "a Unicode scalar value in `\\u{...}`");
          }
          ++pos_;
          return static_cast<char32_t>(code);
        }
        default:
          return fail_at(at, "an escape (\\\\ \\' \\\" \\t \\n \\r \\u{HEX})");
      }
    }
    // One UTF-8 sequence (the text was validated as a whole).
    size_t length = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (pos_ + length > text_.size()) return fail("a character");
    std::vector<char32_t> decoded;
    if (decode_utf8(reinterpret_cast<const uint8_t*>(text_.data() + pos_), length, decoded) ||
        decoded.size() != 1) {
      return fail("a character (valid UTF-8)");
    }
    pos_ += length;
    return decoded[0];
  }

  Result<ComponentValue> primitive_value(PrimitiveType type) {
    switch (type) {
      case PrimitiveType::kBool: {
        ComponentValue v;
        v.kind = Kind::kBool;
        if (take_word("true")) {
          v.bits = 1;
        } else if (!take_word("false")) {
          return fail("`true` or `false`");
        }
        return v;
      }
      case PrimitiveType::kS8:
        return integer(Kind::kS8, true, 8);
      case PrimitiveType::kU8:
        return integer(Kind::kU8, false, 8);
      case PrimitiveType::kS16:
        return integer(Kind::kS16, true, 16);
      case PrimitiveType::kU16:
        return integer(Kind::kU16, false, 16);
      case PrimitiveType::kS32:
        return integer(Kind::kS32, true, 32);
      case PrimitiveType::kU32:
        return integer(Kind::kU32, false, 32);
      case PrimitiveType::kS64:
        return integer(Kind::kS64, true, 64);
      case PrimitiveType::kU64:
        return integer(Kind::kU64, false, 64);
      case PrimitiveType::kF32: {
        ComponentValue v;
        v.kind = Kind::kF32;
        KILN_SET(v.f32, floating<float>("an f32"));
        return v;
      }
      case PrimitiveType::kF64: {
        ComponentValue v;
        v.kind = Kind::kF64;
        KILN_SET(v.f64, floating<double>("an f64"));
        return v;
      }
      case PrimitiveType::kChar: {
        const size_t at = pos_;
        if (peek() != '\'') return fail("a char ('x')");
        ++pos_;
        if (peek() == '\'') return fail_at(at, "a char (one character between quotes)");
        KILN_ASSIGN(char32_t c, character('\''));
        if (peek() != '\'') return fail_at(at, "a char (one character between quotes)");
        ++pos_;
        return ComponentValue::integer(Kind::kChar, c);
      }
      case PrimitiveType::kString: {
        if (peek() != '"') return fail("a string (\"...\")");
        ++pos_;
        std::string text;
        while (peek() != '"') {
          KILN_ASSIGN(char32_t c, character('"'));
          append_utf8(text, c);
        }
        ++pos_;
        return ComponentValue::string(std::move(text));
      }
      case PrimitiveType::kErrorContext:
        return fail("a value (error-context has no WAVE form)");
    }
    return fail("a value");
  }

  Result<ComponentValue> list(const DefinedType& t) {
    ComponentValue v;
    v.kind = Kind::kList;
    KILN_TRY(sequence('[', ']', [&](size_t) -> Result<void> {
      KILN_ASSIGN(ComponentValue item, value(t.types[0]));
      v.items.push_back(std::move(item));
      return {};
    }));
    if (t.kind == TypeKind::kFixedList && v.items.size() != t.length) {
      return fail("a list of " + count(t.length) + " before here, not " + count(v.items.size()));
    }
    return v;
  }

  Result<ComponentValue> map(const ValueType& type) {
    const DefinedType& t = *type.defined;
    ComponentValue v;
    v.kind = Kind::kList;
    KILN_TRY(sequence('[', ']', [&](size_t) -> Result<void> {
      ComponentValue entry;
      entry.kind = Kind::kTuple;
      KILN_TRY(expect('('));
      KILN_ASSIGN(ComponentValue key, value(t.types[0]));
      KILN_TRY(expect(','));
      KILN_ASSIGN(ComponentValue mapped, value(t.types[1]));
      skip_space();
      if (peek() == ',') ++pos_;
      KILN_TRY(expect(')'));
      entry.items.push_back(std::move(key));
      entry.items.push_back(std::move(mapped));
      v.items.push_back(std::move(entry));
      return {};
    }));
    return v;
  }

  Result<ComponentValue> record(const DefinedType& t) {
    ComponentValue v;
    v.kind = Kind::kRecord;
    std::vector<std::optional<ComponentValue>> fields(t.fields.size());
    skip_space();
    // `{:}`: a record whose fields are all left out.
    if (text_.substr(pos_, 1) == "{") {
      size_t after = pos_ + 1;
      while (after < text_.size() && is_space(text_[after])) ++after;
      if (after < text_.size() && text_[after] == ':') {
        pos_ = after + 1;
        KILN_TRY(expect('}'));
        return record_fields(t, fields);
      }
    }
    KILN_TRY(sequence('{', '}', [&](size_t) -> Result<void> {
      const size_t at = pos_;
      KILN_ASSIGN(std::string name, label(/*case_label=*/false));
      size_t k = 0;
      while (k < t.fields.size() && t.fields[k].label != name) ++k;
      if (k == t.fields.size()) return fail_at(at, "a field of the record, not `" + name + "`");
      if (fields[k]) return fail_at(at, "each field once (`" + name + "` again)");
      KILN_TRY(expect(':'));
      KILN_ASSIGN(ComponentValue field, value(t.fields[k].type));
      fields[k] = std::move(field);
      return {};
    }));
    return record_fields(t, fields);
  }

  // Fills in left-out option fields as none; any other left-out field is an error.
  Result<ComponentValue> record_fields(const DefinedType& t,
                                       std::vector<std::optional<ComponentValue>>& fields) {
    ComponentValue v;
    v.kind = Kind::kRecord;
    for (size_t k = 0; k < t.fields.size(); ++k) {
      if (!fields[k]) {
        const ValueType& field_type = t.fields[k].type;
        if (!field_type.defined || field_type.defined->kind != TypeKind::kOption) {
          return Error{ErrorKind::kUsage, "WAVE value before offset " +
                                              std::to_string(base_ + pos_) + ": the field `" +
                                              t.fields[k].label + "` is missing"};
        }
        ComponentValue none;
        none.kind = Kind::kOption;
        fields[k] = std::move(none);
      }
      v.items.push_back(std::move(*fields[k]));
    }
    return v;
  }

  Result<ComponentValue> variant(const DefinedType& t) {
    const size_t at = pos_;
    KILN_ASSIGN(std::string name, label(/*case_label=*/true));
    size_t k = 0;
    while (k < t.cases.size() && t.cases[k].label != name) ++k;
    if (k == t.cases.size()) return fail_at(at, "a case of the variant, not `" + name + "`");
    ComponentValue v;
    v.kind = Kind::kVariant;
    v.index = static_cast<uint32_t>(k);
    KILN_TRY(payload(t.cases[k].type, name, v));
    return v;
  }

  // `(value)` after a case that has a payload type; nothing after one that has none.
  Result<void> payload(const std::optional<ValueType>& type, const std::string& name,
                       ComponentValue& out) {
    skip_space();
    if (!type) {
      if (peek() == '(') return fail("no payload for `" + name + "`");
      return {};
    }
    if (peek() != '(') return fail("`(` and the payload of `" + name + "`");
    ++pos_;
    KILN_ASSIGN(ComponentValue item, value(*type));
    KILN_TRY(expect(')'));
    out.items.push_back(std::move(item));
    return {};
  }

  Result<ComponentValue> flags(const DefinedType& t) {
    ComponentValue v;
    v.kind = Kind::kFlags;
    KILN_TRY(sequence('{', '}', [&](size_t) -> Result<void> {
      const size_t at = pos_;
      KILN_ASSIGN(std::string name, label(/*case_label=*/false));
      size_t k = 0;
      while (k < t.labels.size() && t.labels[k] != name) ++k;
      if (k == t.labels.size()) return fail_at(at, "a flag of the type, not `" + name + "`");
      if (v.bits >> k & 1) return fail_at(at, "each flag once (`" + name + "` again)");
      v.bits |= uint64_t{1} << k;
      return {};
    }));
    return v;
  }

  Result<ComponentValue> option(const DefinedType& t) {
    ComponentValue v;
    v.kind = Kind::kOption;
    const ValueType& inner = t.types[0];
    const bool inner_is_option = inner.defined && inner.defined->kind == TypeKind::kOption;
    if (peek() != '%') {
      if (take_word("none")) return v;
      if (peek_word() == "some") {
        pos_ += 4;
        v.index = 1;
        KILN_TRY(payload(inner, "some", v));
        return v;
      }
    }
    // A flat some: the bare payload (not for an option of an option, which it would make
    // ambiguous).
    if (inner_is_option) return fail("`some(...)` or `none`");
    v.index = 1;
    KILN_ASSIGN(ComponentValue item, value(inner));
    v.items.push_back(std::move(item));
    return v;
  }

  Result<ComponentValue> result(const DefinedType& t) {
    ComponentValue v;
    v.kind = Kind::kResult;
    if (peek() != '%') {
      if (peek_word() == "ok") {
        pos_ += 2;
        KILN_TRY(payload(t.ok, "ok", v));
        return v;
      }
      if (peek_word() == "err") {
        pos_ += 3;
        v.index = 1;
        KILN_TRY(payload(t.error, "err", v));
        return v;
      }
    }
    if (!t.ok) return fail("`ok` or `err`");
    KILN_ASSIGN(ComponentValue item, value(*t.ok));  // a flat ok
    v.items.push_back(std::move(item));
    return v;
  }
};

// --- printing ------------------------------------------------------------------------------

void append_label(std::string& out, const std::string& label, bool case_label) {
  if (case_label && is_keyword(label)) out += '%';
  out += label;
}

void append_escaped(std::string& out, char32_t c, char quote) {
  switch (c) {
    case U'\\':
      out += "\\\\";
      return;
    case U'\t':
      out += "\\t";
      return;
    case U'\n':
      out += "\\n";
      return;
    case U'\r':
      out += "\\r";
      return;
    default:
      break;
  }
  if (c == static_cast<char32_t>(quote)) {
    out += '\\';
    out += quote;
    return;
  }
  if (c < 0x20 || c == 0x7F) {
    char buffer[16];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, static_cast<uint32_t>(c), 16);
    (void)ec;
    out += "\\u{";
    out.append(buffer, end);
    out += '}';
    return;
  }
  append_utf8(out, c);
}

template <typename Float>
void append_float(std::string& out, Float v) {
  if (std::isnan(v)) {
    out += "nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-inf" : "inf";
    return;
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  (void)ec;
  out.append(buffer, end);
}

void append_integer(std::string& out, const ComponentValue& v) {
  char buffer[32];
  const bool is_signed =
      v.kind == Kind::kS8 || v.kind == Kind::kS16 || v.kind == Kind::kS32 || v.kind == Kind::kS64;
  auto [end, ec] = is_signed
                       ? std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(v.bits))
                       : std::to_chars(buffer, buffer + sizeof buffer, v.bits);
  (void)ec;
  out.append(buffer, end);
}

void print(std::string& out, const ComponentValue& v, const ValueType& type) {
  const DefinedType* t = type.defined.get();
  if (t && t->kind == TypeKind::kPrimitive) t = nullptr;
  switch (v.kind) {
    case Kind::kBool:
      out += v.bits ? "true" : "false";
      return;
    case Kind::kS8:
    case Kind::kU8:
    case Kind::kS16:
    case Kind::kU16:
    case Kind::kS32:
    case Kind::kU32:
    case Kind::kS64:
    case Kind::kU64:
      append_integer(out, v);
      return;
    case Kind::kF32:
      append_float(out, v.f32);
      return;
    case Kind::kF64:
      append_float(out, v.f64);
      return;
    case Kind::kChar:
      out += '\'';
      append_escaped(out, static_cast<char32_t>(v.bits), '\'');
      out += '\'';
      return;
    case Kind::kString: {
      out += '"';
      std::vector<char32_t> code_points;
      (void)decode_utf8(reinterpret_cast<const uint8_t*>(v.text.data()), v.text.size(),
                        code_points);
      for (char32_t c : code_points) append_escaped(out, c, '"');
      out += '"';
      return;
    }
    case Kind::kList: {
      if (v.packed) {
        ComponentValue items = v;
        items.unpack();
        print(out, items, type);
        return;
      }
      out += '[';
      // A map's elements are (key, value) tuples; a list's, its element type.
      ValueType element = t ? t->types[0] : ValueType{};
      for (size_t k = 0; k < v.items.size(); ++k) {
        if (k) out += ", ";
        if (t && t->kind == TypeKind::kMap) {
          out += '(';
          print(out, v.items[k].items[0], t->types[0]);
          out += ", ";
          print(out, v.items[k].items[1], t->types[1]);
          out += ')';
        } else {
          print(out, v.items[k], element);
        }
      }
      out += ']';
      return;
    }
    case Kind::kRecord:
      out += '{';
      for (size_t k = 0; k < v.items.size(); ++k) {
        out += k ? ", " : "";
        append_label(out, t->fields[k].label, false);
        out += ": ";
        print(out, v.items[k], t->fields[k].type);
      }
      out += '}';
      return;
    case Kind::kTuple:
      out += '(';
      for (size_t k = 0; k < v.items.size(); ++k) {
        out += k ? ", " : "";
        print(out, v.items[k], t->types[k]);
      }
      out += ')';
      return;
    case Kind::kVariant: {
      const resolved::Case& c = t->cases[v.index];
      append_label(out, c.label, true);
      if (c.type && !v.items.empty()) {
        out += '(';
        print(out, v.items[0], *c.type);
        out += ')';
      }
      return;
    }
    case Kind::kEnum:
      append_label(out, t->labels[v.index], true);
      return;
    case Kind::kOption:
      if (v.index == 0 || v.items.empty()) {
        out += "none";
        return;
      }
      out += "some(";
      print(out, v.items[0], t->types[0]);
      out += ')';
      return;
    case Kind::kResult: {
      const std::optional<ValueType>& payload = v.index == 0 ? t->ok : t->error;
      out += v.index == 0 ? "ok" : "err";
      if (payload && !v.items.empty()) {
        out += '(';
        print(out, v.items[0], *payload);
        out += ')';
      }
      return;
    }
    case Kind::kFlags: {
      out += '{';
      bool first = true;
      for (size_t k = 0; k < t->labels.size() && k < 64; ++k) {
        if (!(v.bits >> k & 1)) continue;
        out += first ? "" : ", ";
        first = false;
        append_label(out, t->labels[k], false);
      }
      out += '}';
      return;
    }
    case Kind::kOwn:
    case Kind::kBorrow:
      out += v.kind == Kind::kOwn ? "own<" : "borrow<";
      out += std::to_string(v.rep);
      out += '>';
      return;
  }
}

}  // namespace

Result<ComponentValue> parse_wave(std::string_view text, const resolved::ValueType& type) {
  if (auto fault = validate_utf8(reinterpret_cast<const uint8_t*>(text.data()), text.size())) {
    return Error{ErrorKind::kUsage, "WAVE value: " + *fault};
  }
  Parser parser(text);
  KILN_ASSIGN(ComponentValue value, parser.value(type));
  KILN_TRY(parser.finish());
  return value;
}

Result<WaveCall> split_wave_call(std::string_view text) {
  WaveCall call;
  const size_t open = text.find('(');
  std::string_view name = text.substr(0, open);
  while (!name.empty() && is_space(name.front())) name.remove_prefix(1);
  while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
  if (name.empty())
    return Error{ErrorKind::kUsage, "the call `" + std::string(text) + "` names no function"};
  call.name = std::string(name);
  if (open == std::string_view::npos) return call;
  size_t close = text.size();
  while (close > open && is_space(text[close - 1])) --close;
  if (close == open + 1 || text[close - 1] != ')') {
    return Error{ErrorKind::kUsage, "the call `" + std::string(text) + "` does not end with `)`"};
  }
  call.arguments = std::string(text.substr(open + 1, close - 1 - (open + 1)));
  call.arguments_offset = open + 1;
  return call;
}

Result<std::vector<ComponentValue>> parse_wave_arguments(const WaveCall& call,
                                                         const resolved::FunctionType& type) {
  const std::string& text = call.arguments;
  if (auto fault = validate_utf8(reinterpret_cast<const uint8_t*>(text.data()), text.size())) {
    return Error{ErrorKind::kUsage, "arguments of `" + call.name + "`: " + *fault};
  }
  // The arguments as the inside of a sequence: parse "(" + text + ")" with offsets kept.
  const std::string wrapped = "(" + text + ")";
  Parser parser(wrapped, call.arguments_offset - 1);
  std::vector<ComponentValue> args;
  const size_t want = type.params.size();
  auto parsed = parser.sequence('(', ')', [&](size_t k) -> Result<void> {
    if (k >= want) {
      return Error{ErrorKind::kUsage, "`" + call.name + "` takes " + std::to_string(want) +
                                          (want == 1 ? " argument" : " arguments") +
                                          ", given more"};
    }
    KILN_ASSIGN(ComponentValue value, parser.value(type.params[k].type));
    args.push_back(std::move(value));
    return {};
  });
  if (!parsed) return parsed.take_error();
  KILN_TRY(parser.finish());
  if (args.size() != want) {
    return Error{ErrorKind::kUsage, "`" + call.name + "` takes " + std::to_string(want) +
                                        (want == 1 ? " argument" : " arguments") + ", given " +
                                        std::to_string(args.size())};
  }
  return args;
}

std::string to_wave(const ComponentValue& value, const resolved::ValueType& type) {
  std::string out;
  print(out, value, type);
  return out;
}

}  // namespace kiln::component
