#include "component/names.h"

#include <cctype>

namespace kiln::component {

namespace {

bool is_lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_upper_or_digit(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A `fragment` (all [0-9a-z] or all [0-9A-Z]); `first`: it must start with a letter.
bool is_fragment(std::string_view f, bool first) {
  if (f.empty()) return false;
  if (first && (f[0] >= '0' && f[0] <= '9')) return false;
  bool lower = true, upper = true;
  for (char c : f) {
    lower = lower && is_lower_or_digit(c);
    upper = upper && is_upper_or_digit(c);
  }
  return lower || upper;
}

// `words`: `first-word ('-' word)*`, all lowercase (namespaces and packages).
bool is_words(std::string_view text) {
  if (text.empty() || !(text[0] >= 'a' && text[0] <= 'z')) return false;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '-') {
      const std::string_view w = text.substr(start, i - start);
      if (w.empty()) return false;
      for (char c : w) {
        if (!is_lower_or_digit(c)) return false;
      }
      start = i + 1;
    }
  }
  return true;
}

// `text` in backquotes. (Appended: GCC 12's -Wrestrict misfires on "`" + std::string.)
std::string quoted(std::string_view text) {
  std::string out = "`";
  out += text;
  out += '`';
  return out;
}

Error bad_name(std::string_view name, const std::string& why) {
  return Error{ErrorKind::kInvalid, quoted(name) + " is not a valid name: " + why};
}

// A numeric identifier of semver: digits without a leading zero.
std::optional<uint64_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Dot-separated identifiers of [0-9A-Za-z-]; in a pre-release, numeric ones have no leading 0.
bool is_identifiers(std::string_view s, bool prerelease) {
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      const std::string_view id = s.substr(start, i - start);
      if (id.empty()) return false;
      bool numeric = true;
      for (char c : id) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
        numeric = numeric && c >= '0' && c <= '9';
      }
      if (prerelease && numeric && id.size() > 1 && id[0] == '0') return false;
      start = i + 1;
    }
  }
  return true;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool is_label(std::string_view text) {
  if (text.empty()) return false;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '-') {
      if (!is_fragment(text.substr(start, i - start), start == 0)) return false;
      start = i + 1;
    }
  }
  return true;
}

std::optional<SemanticVersion> parse_semantic_version(std::string_view text) {
  SemanticVersion v;
  std::string_view core = text;
  if (size_t plus = core.find('+'); plus != std::string_view::npos) {
    v.build = std::string(core.substr(plus + 1));
    if (!is_identifiers(v.build, false)) return std::nullopt;
    core = core.substr(0, plus);
  }
  if (size_t dash = core.find('-'); dash != std::string_view::npos) {
    v.prerelease = std::string(core.substr(dash + 1));
    if (!is_identifiers(v.prerelease, true)) return std::nullopt;
    core = core.substr(0, dash);
  }
  const size_t dot1 = core.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : core.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return std::nullopt;
  auto major = parse_number(core.substr(0, dot1));
  auto minor = parse_number(core.substr(dot1 + 1, dot2 - dot1 - 1));
  auto patch = parse_number(core.substr(dot2 + 1));
  if (!major || !minor || !patch) return std::nullopt;
  v.major = *major;
  v.minor = *minor;
  v.patch = *patch;
  return v;
}

std::string canonical_version(const SemanticVersion& v) {
  if (v.major > 0) return std::to_string(v.major);
  // (Appended, not `"0." + std::to_string(...)`: GCC 12 warns falsely about that: -Wrestrict.)
  std::string out = v.minor > 0 ? "0." : "0.0.";
  out += std::to_string(v.minor > 0 ? v.minor : v.patch);
  return out;
}

Result<ExternNameParts> parse_extern_name(std::string_view name) {
  ExternNameParts parts;
  auto two_labels = [&](std::string_view rest, const char* what) -> Result<void> {
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos) {
      return bad_name(name, std::string(what) + " needs `resource.function`");
    }
    parts.resource = std::string(rest.substr(0, dot));
    parts.function = std::string(rest.substr(dot + 1));
    if (!is_label(parts.resource) || !is_label(parts.function)) {
      return bad_name(name, quoted(parts.resource) + " and " + quoted(parts.function) +
                                " must be kebab-case labels");
    }
    return {};
  };
  if (name.starts_with("[constructor]")) {
    parts.kind = ExternNameParts::Kind::kConstructor;
    parts.resource = std::string(name.substr(13));
    if (!is_label(parts.resource))
      return bad_name(name, "not a kebab-case label after [constructor]");
    return parts;
  }
  if (name.starts_with("[method]")) {
    parts.kind = ExternNameParts::Kind::kMethod;
    KILN_TRY(two_labels(name.substr(8), "[method]"));
    return parts;
  }
  if (name.starts_with("[static]")) {
    parts.kind = ExternNameParts::Kind::kStatic;
    KILN_TRY(two_labels(name.substr(8), "[static]"));
    return parts;
  }
  if (name.find(':') == std::string_view::npos) {
    if (!is_label(name)) {
      return bad_name(name, "a plain name must be a kebab-case label (`a-b`, `get-JSON`)");
    }
    parts.function = std::string(name);
    return parts;
  }
  // namespace+ words projection+ ('@' version)?
  parts.kind = ExternNameParts::Kind::kInterface;
  std::string_view rest = name;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    parts.version = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    const std::string& version = *parts.version;
    // A valid semver, or a canonical version (`1`, `0.2`, `0.0.1`).
    bool canonical = false;
    if (auto dot = version.find('.'); dot == std::string::npos) {
      canonical = parse_number(version).value_or(0) > 0;
    } else if (version.starts_with("0.0.")) {
      canonical =
          parse_number(std::string_view(version).substr(4)).value_or(0) > 0 || version == "0.0.0";
    } else if (version.starts_with("0.") && version.find('.', 2) == std::string::npos) {
      canonical = parse_number(std::string_view(version).substr(2)).value_or(0) > 0;
    }
    if (!canonical && !parse_semantic_version(version)) {
      return bad_name(name, quoted(version) + " is not a valid version");
    }
  }
  while (true) {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) break;
    const std::string_view ns = rest.substr(0, colon);
    if (!is_words(ns))
      return bad_name(name, "namespace " + quoted(ns) + " is not lowercase kebab case");
    parts.namespaces.emplace_back(ns);
    rest = rest.substr(colon + 1);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos)
    return bad_name(name, "an interface name needs `/interface`");
  const std::string_view package = rest.substr(0, slash);
  if (!is_words(package)) {
    return bad_name(name, "package " + quoted(package) + " is not lowercase kebab case");
  }
  parts.package = std::string(package);
  rest = rest.substr(slash + 1);
  while (true) {
    const size_t next = rest.find('/');
    const std::string_view projection = rest.substr(0, next);
    if (!is_label(projection)) {
      return bad_name(name, quoted(projection) + " is not a kebab-case label");
    }
    parts.projections.emplace_back(projection);
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  if (parts.namespaces.size() > 1 || parts.projections.size() > 1) {
    return bad_name(name, "nested namespaces and packages are not supported");
  }
  return parts;
}

std::string strongly_unique_key(std::string_view name) {
  std::string key = lowercase(name);
  for (const char* prefix : {"[method]", "[static]"}) {
    if (key.starts_with(prefix)) {
      key = key.substr(std::string_view(prefix).size());
      const size_t dot = key.find('.');
      if (dot != std::string::npos && key.substr(0, dot) == key.substr(dot + 1)) {
        key = key.substr(0, dot);
      }
      return key;
    }
  }
  return key;
}

std::string canonical_name(std::string_view name) {
  const size_t at = name.find('@');
  if (at == std::string_view::npos || name.find(':') == std::string_view::npos) {
    return std::string(name);
  }
  auto version = parse_semantic_version(name.substr(at + 1));
  if (!version) return std::string(name);  // already canonical (or not a version)
  return std::string(name.substr(0, at + 1)) + canonical_version(*version);
}

}  // namespace kiln::component
