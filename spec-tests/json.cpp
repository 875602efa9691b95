#include "spec-tests/json.h"

#include <cstdlib>

namespace kiln::spectest {

const Json* Json::get(std::string_view key) const {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

std::string Json::str(std::string_view key) const {
  const Json* v = get(key);
  return v && v->kind == Kind::kString ? v->string : std::string();
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Json> parse_document() {
    KILN_ASSIGN(Json v, parse_value(0));
    skip_space();
    if (pos_ != s_.size()) return error("trailing characters");
    return v;
  }

 private:
  Error error(const std::string& what) const {
    return Error{ErrorKind::kUsage, "JSON: " + what + " at offset " + std::to_string(pos_)};
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }

  Result<Json> parse_value(int depth) {
    if (depth > 64) return error("nesting too deep");
    skip_space();
    if (pos_ >= s_.size()) return error("unexpected end");
    Json v;
    char c = s_[pos_];
    if (c == '{') {
      v.kind = Json::Kind::kObject;
      ++pos_;
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return v;
      }
      for (;;) {
        skip_space();
        KILN_ASSIGN(std::string key, parse_string());
        skip_space();
        if (pos_ >= s_.size() || s_[pos_] != ':') return error("expected ':'");
        ++pos_;
        KILN_ASSIGN(Json member, parse_value(depth + 1));
        v.object.emplace(std::move(key), std::move(member));
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == '}') {
          ++pos_;
          return v;
        }
        return error("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::kArray;
      ++pos_;
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return v;
      }
      for (;;) {
        KILN_ASSIGN(Json item, parse_value(depth + 1));
        v.array.push_back(std::move(item));
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ']') {
          ++pos_;
          return v;
        }
        return error("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::kString;
      KILN_SET(v.string, parse_string());
      return v;
    }
    if (s_.substr(pos_, 4) == "true") {
      pos_ += 4;
      v.kind = Json::Kind::kBool;
      v.boolean = true;
      return v;
    }
    if (s_.substr(pos_, 5) == "false") {
      pos_ += 5;
      v.kind = Json::Kind::kBool;
      return v;
    }
    if (s_.substr(pos_, 4) == "null") {
      pos_ += 4;
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = pos_;
      while (pos_ < s_.size() &&
             std::string_view("+-0123456789.eE").find(s_[pos_]) != std::string_view::npos)
        ++pos_;
      v.kind = Json::Kind::kNumber;
      v.number = std::strtod(std::string(s_.substr(start, pos_ - start)).c_str(), nullptr);
      return v;
    }
    return error("unexpected character");
  }

  Result<std::string> parse_string() {
    if (pos_ >= s_.size() || s_[pos_] != '"') return error("expected string");
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return error("unexpected end in string");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return error("bad \\u escape");
          uint32_t cp = static_cast<uint32_t>(
              std::strtoul(std::string(s_.substr(pos_, 4)).c_str(), nullptr, 16));
          pos_ += 4;
          // Surrogate pair.
          if (cp >= 0xd800 && cp < 0xdc00 && pos_ + 6 <= s_.size() && s_[pos_] == '\\' &&
              s_[pos_ + 1] == 'u') {
            uint32_t lo = static_cast<uint32_t>(
                std::strtoul(std::string(s_.substr(pos_ + 2, 4)).c_str(), nullptr, 16));
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              pos_ += 6;
            }
          }
          // UTF-8 encode.
          if (cp < 0x80)
            out += static_cast<char>(cp);
          else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | cp >> 6);
            out += static_cast<char>(0x80 | (cp & 0x3f));
          } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | cp >> 12);
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          } else {
            out += static_cast<char>(0xf0 | cp >> 18);
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          }
          break;
        }
        default:
          return error("bad escape");
      }
    }
    if (pos_ >= s_.size()) return error("unterminated string");
    ++pos_;
    return out;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<Json> parse_json(std::string_view text) {
  return Parser(text).parse_document();
}

}  // namespace kiln::spectest
