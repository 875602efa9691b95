// Import and export names of components (Explainer.md "Import and Export Definitions"): kebab-
// case labels, plain names with their [constructor]/[method]/[static] annotations, interface
// names with versions, strong uniqueness, and the canonical version that decides which
// versions of an interface link (a guest's `wasi:cli/environment@0.2.3` with a host's 0.2.12).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/result.h"

namespace kiln::component {

// `label`: kebab case, words all lowercase or all uppercase, the first starting with a letter.
bool is_label(std::string_view text);

// A Semantic Versioning 2.0 version.
struct SemanticVersion {
  uint64_t major = 0, minor = 0, patch = 0;
  std::string prerelease, build;  // without their '-' and '+'
};
std::optional<SemanticVersion> parse_semantic_version(std::string_view text);

// An `externname`, taken apart.
struct ExternNameParts {
  enum class Kind : uint8_t { kLabel, kConstructor, kMethod, kStatic, kInterface };
  Kind kind = Kind::kLabel;
  // kLabel, kConstructor: the label; kMethod, kStatic: the resource, then the function.
  std::string resource, function;
  // kInterface: namespaces (more than one only in nested names), package, projections
  // (interfaces, and what nests in them), and the version as written.
  std::vector<std::string> namespaces;
  std::string package;
  std::vector<std::string> projections;
  std::optional<std::string> version;
};

// Parses a name as the grammar allows it; an error says what is wrong with it.
Result<ExternNameParts> parse_extern_name(std::string_view name);

// The strong-uniqueness key of a valid name: two names of one scope may not share it
// (acronyms lowercased; [method]l.l and [static]l.l become l; other annotations but
// [constructor] stripped).
std::string strongly_unique_key(std::string_view name);

// The canonical version of a valid semantic version: "1" for 1.2.3, "0.2" for 0.2.6-rc.1,
// "0.0.1" for 0.0.1-alpha. Interface versions link when their canonical versions are equal.
std::string canonical_version(const SemanticVersion& version);

// A name with its version canonicalized ("wasi:http/types@0.2.6" -> "wasi:http/types@0.2");
// names without versions, or that are not interface names, are returned as they are. Two
// interface names link when their canonical names are equal.
std::string canonical_name(std::string_view name);

}  // namespace kiln::component
