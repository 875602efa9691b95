// Component import/export names (component/names.h), checked against the examples and rules
// of Explainer.md's "Import and Export Definitions".
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "component/names.h"

namespace kiln::component {
namespace {

TEST(ComponentNames, LabelsAreKebabCase) {
  for (const char* ok : {"a", "a-b-c", "a1-2-3", "A", "A-B-C", "A1-2-3", "a11-w0rds",
                         "A11-4CR0NYMS", "m1x3d-4CR0NYMS", "get-JSON"}) {
    EXPECT_TRUE(is_label(ok)) << ok;
  }
  for (const char* bad : {"", "1-2-3", "a--b", "-a", "a-", "aB", "a_b", "a b", "é"}) {
    EXPECT_FALSE(is_label(bad)) << bad;
  }
}

TEST(ComponentNames, PlainAndInterfaceNamesParse) {
  auto method = parse_extern_name("[method]my-resource.my-method");
  ASSERT_TRUE(method) << method.error().message;
  EXPECT_EQ(method->kind, ExternNameParts::Kind::kMethod);
  EXPECT_EQ(method->resource, "my-resource");
  EXPECT_EQ(method->function, "my-method");
  auto constructor = parse_extern_name("[constructor]blob");
  ASSERT_TRUE(constructor);
  EXPECT_EQ(constructor->kind, ExternNameParts::Kind::kConstructor);
  EXPECT_EQ(constructor->resource, "blob");
  auto interface = parse_extern_name("wasi:cli/environment@0.2.12");
  ASSERT_TRUE(interface) << interface.error().message;
  EXPECT_EQ(interface->kind, ExternNameParts::Kind::kInterface);
  EXPECT_EQ(interface->namespaces, std::vector<std::string>{"wasi"});
  EXPECT_EQ(interface->package, "cli");
  EXPECT_EQ(interface->projections, std::vector<std::string>{"environment"});
  EXPECT_EQ(interface->version, "0.2.12");
  for (const char* ok :
       {"custom-hook", "get-JSON", "wasi:http/handler", "[static]foo.baz", "foo:bar/baz",
        "wasi:http/types@0.2", "a:b/c@1", "a:b/c@0.0.1", "a:b/c@1.0.0-rc.1+build.5"}) {
    EXPECT_TRUE(parse_extern_name(ok)) << ok;
  }
  for (const char* bad :
       {"", "Wasi:http/x", "wasi:http", "wasi:HTTP/x", "[method]foo", "[constructor]",
        "[method]foo.", "a:b/c@01.2.3", "a:b/c@1.2", "a:b/c@0", "a:b/c@", "x y", "[other]foo"}) {
    EXPECT_FALSE(parse_extern_name(bad)) << bad;
  }
}

TEST(ComponentNames, StrongUniquenessFollowsTheExplainersExamples) {
  const std::vector<std::string> names = {
      "foo", "foo-bar", "[constructor]foo", "[method]foo.bar", "[static]foo.baz", "foo:bar/baz"};
  std::set<std::string> keys;
  for (const std::string& n : names) EXPECT_TRUE(keys.insert(strongly_unique_key(n)).second) << n;
  for (const char* clash :
       {"foo", "FOO", "foo-BAR", "[constructor]FOO", "[method]foo.BAR", "[static]foo.bar",
        "[method]foo.baz", "[method]foo.foo", "[static]foo-BAR.FOO-bar", "foo:bar/BAZ"}) {
    EXPECT_TRUE(keys.count(strongly_unique_key(clash))) << clash;
  }
}

TEST(ComponentNames, VersionsLinkByTheirCanonicalVersion) {
  auto version = [](const char* text) { return canonical_version(*parse_semantic_version(text)); };
  EXPECT_EQ(version("1.2.3"), "1");
  EXPECT_EQ(version("0.2.6-rc.1"), "0.2");
  EXPECT_EQ(version("0.0.1-alpha"), "0.0.1");
  EXPECT_FALSE(parse_semantic_version("1.2"));
  EXPECT_FALSE(parse_semantic_version("1.02.3"));
  EXPECT_FALSE(parse_semantic_version("1.2.3-01"));
  EXPECT_TRUE(parse_semantic_version("1.2.3-0a.1+001"));
  EXPECT_EQ(canonical_name("wasi:http/types@0.2.6"), "wasi:http/types@0.2");
  EXPECT_EQ(canonical_name("wasi:cli/environment@0.2.3"),
            canonical_name("wasi:cli/environment@0.2.12"));
  EXPECT_NE(canonical_name("wasi:cli/environment@0.2.3"),
            canonical_name("wasi:cli/environment@0.3.0"));
  EXPECT_EQ(canonical_name("wasi:http/types@0.2"), "wasi:http/types@0.2");
  EXPECT_EQ(canonical_name("get-JSON"), "get-JSON");
}

}  // namespace
}  // namespace kiln::component
