#include "spec-tests/wast_reader.h"

#include "component/unicode.h"

namespace kiln::spectest {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  Result<std::vector<SExpression>> script() {
    std::vector<SExpression> out;
    for (;;) {
      KILN_TRY(skip_space());
      if (pos_ == text_.size()) return out;
      KILN_ASSIGN(SExpression e, expression(0));
      out.push_back(std::move(e));
    }
  }

 private:
  Error fail(const std::string& message) const {
    return Error{ErrorKind::kMalformed, "line " + std::to_string(line_) + ": " + message};
  }

  Result<void> skip_space() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (text_.substr(pos_, 2) == ";;") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (text_.substr(pos_, 2) == "(;") {
        uint32_t depth = 0;
        do {
          if (pos_ >= text_.size()) return fail("unterminated block comment");
          if (text_.substr(pos_, 2) == "(;") {
            ++depth;
            pos_ += 2;
          } else if (text_.substr(pos_, 2) == ";)") {
            --depth;
            pos_ += 2;
          } else {
            if (text_[pos_] == '\n') ++line_;
            ++pos_;
          }
        } while (depth);
      } else {
        return {};
      }
    }
    return {};
  }

  Result<SExpression> expression(uint32_t depth) {
    if (depth > 1000) return fail("nested too deeply");
    SExpression e;
    e.line = line_;
    const char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      for (;;) {
        KILN_TRY(skip_space());
        if (pos_ == text_.size()) return fail("unclosed parenthesis");
        if (text_[pos_] == ')') {
          ++pos_;
          return e;
        }
        KILN_ASSIGN(SExpression item, expression(depth + 1));
        e.items.push_back(std::move(item));
      }
    }
    if (c == ')') return fail("unexpected )");
    if (c == '"') return string();
    e.kind = SExpression::Kind::kAtom;
    while (pos_ < text_.size()) {
      const char a = text_[pos_];
      if (a == ' ' || a == '\t' || a == '\n' || a == '\r' || a == '(' || a == ')' || a == '"' ||
          a == ';') {
        break;
      }
      e.text += a;
      ++pos_;
    }
    return e;
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // A string literal, its escapes decoded (\t \n \r \" \' \\ \hh \u{h+} as UTF-8).
  Result<SExpression> string() {
    SExpression e;
    e.kind = SExpression::Kind::kString;
    e.line = line_;
    ++pos_;
    for (;;) {
      if (pos_ >= text_.size()) return fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return e;
      if (c == '\n') return fail("newline in a string");
      if (c != '\\') {
        e.text += c;
        continue;
      }
      if (pos_ >= text_.size()) return fail("unterminated string");
      const char x = text_[pos_++];
      switch (x) {
        case 't':
          e.text += '\t';
          break;
        case 'n':
          e.text += '\n';
          break;
        case 'r':
          e.text += '\r';
          break;
        case '"':
        case '\'':
        case '\\':
          e.text += x;
          break;
        case 'u': {
          if (pos_ >= text_.size() || text_[pos_] != '{') return fail("malformed \\u escape");
          ++pos_;
          uint32_t code = 0;
          while (pos_ < text_.size() && text_[pos_] != '}') {
            const int d = hex_digit(text_[pos_++]);
            if (d < 0 || code > 0x10ffff) return fail("malformed \\u escape");
            code = code * 16 + static_cast<uint32_t>(d);
          }
          if (pos_ >= text_.size() || code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) {
            return fail("malformed \\u escape");
          }
          ++pos_;
          component::append_utf8(e.text, code);
          break;
        }
        default: {
          const int hi = hex_digit(x);
          const int lo = pos_ < text_.size() ? hex_digit(text_[pos_]) : -1;
          if (hi < 0 || lo < 0) return fail("malformed escape in a string");
          ++pos_;
          e.text += static_cast<char>(hi * 16 + lo);
        }
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
};

}  // namespace

Result<std::vector<SExpression>> read_wast(std::string_view text) {
  Reader reader(text);
  return reader.script();
}

}  // namespace kiln::spectest
