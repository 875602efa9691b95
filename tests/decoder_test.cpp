// Decoder error paths: each malformed input is rejected with the kind, the section and item,
// and the byte offset of the problem.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/module.h"
#include "runtime/store.h"
#include "tests/fuzz/wasm_writer.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

using test::module_bytes;

Error compile_error(const std::vector<uint8_t>& bytes) {
  Engine engine;
  auto module = Module::compile(engine, bytes);
  EXPECT_FALSE(module.ok()) << "the module was accepted";
  return module.ok() ? Error{} : module.error();
}

void expect_malformed(const std::vector<uint8_t>& bytes, const std::string& what,
                      const std::string& where = "") {
  Error e = compile_error(bytes);
  EXPECT_EQ(e.kind, ErrorKind::kMalformed) << e.message;
  EXPECT_NE(e.message.find(what), std::string::npos) << e.message;
  if (!where.empty()) {
    EXPECT_NE(e.message.find(where), std::string::npos) << e.message;
  }
}

TEST(Decoder, AcceptsTheEmptyModule) {
  Engine engine;
  EXPECT_TRUE(Module::compile(engine, module_bytes({})).ok());
}

TEST(Decoder, RejectsBadHeader) {
  expect_malformed({0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00}, "magic header not detected");
  expect_malformed({0x00, 0x61, 0x73}, "unexpected end");
  expect_malformed({0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00}, "unknown binary version");
  expect_malformed({}, "unexpected end");
}

TEST(Decoder, RejectsSectionsOutOfOrder) {
  // A function section (id 3, no entries) followed by a type section (id 1).
  expect_malformed(module_bytes({0x03, 0x01, 0x00, 0x01, 0x01, 0x00}),
                   "unexpected content after last section", "in type section");
  // The same section twice.
  expect_malformed(module_bytes({0x01, 0x01, 0x00, 0x01, 0x01, 0x00}),
                   "unexpected content after last section");
}

TEST(Decoder, RejectsUnknownSectionId) {
  // The section id byte is at offset 8. (13 is Wasm 3.0's tag section.)
  expect_malformed(module_bytes({0x0e, 0x00}), "malformed section id", "0x8");
}

// Wasm 3.0's tag section sits between the memory and global sections (spec 5.5.2), and its
// entries are an attribute byte (0: exception) and a type index.
TEST(Decoder, ReadsTagsInTheirPlace) {
  std::vector<uint8_t> tags_then_global =
      module_bytes({0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00,          // type
                    0x0d, 0x03, 0x01, 0x00, 0x00,                      // tag: one, of type 0
                    0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b});  // global i32 = 0
  Engine engine;
  auto module = Module::compile(engine, tags_then_global);
  ASSERT_TRUE(module) << module.error().message;
  ASSERT_EQ((*module)->tags.size(), 1u);
  EXPECT_EQ((*module)->tag_type(0).params, std::vector<ValType>{ValType::kI32});
  // After the global section it is out of order.
  expect_malformed(module_bytes({0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00, 0x06, 0x06, 0x01,
                                 0x7f, 0x00, 0x41, 0x00, 0x0b, 0x0d, 0x03, 0x01, 0x00, 0x00}),
                   "unexpected content after last section", "in tag section");
  // An attribute other than 0 is malformed.
  expect_malformed(
      module_bytes({0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00, 0x0d, 0x03, 0x01, 0x01, 0x00}),
      "malformed tag attribute", "in tag section, item 0");
}

TEST(Decoder, RejectsSectionSizeMismatch) {
  // A type section of size 5 whose one entry (0x60, no params, no results) takes 4 bytes.
  expect_malformed(module_bytes({0x01, 0x05, 0x01, 0x60, 0x00, 0x00, 0x00}),
                   "section size mismatch", "in type section");
  // A section longer than the module.
  expect_malformed(module_bytes({0x01, 0x10, 0x01}), "length out of bounds");
}

TEST(Decoder, RejectsMalformedImportKindAtItsOffset) {
  // Import section: 1 entry, module "m", field "f", kind 0x05. The kind byte sits at
  // 8 (header) + 2 (section id, size) + 1 (count) + 2 ("m") + 2 ("f") = 15.
  expect_malformed(module_bytes({0x02, 0x06, 0x01, 0x01, 'm', 0x01, 'f', 0x05}),
                   "malformed import kind", "import section, item 0");
  Error e = compile_error(module_bytes({0x02, 0x06, 0x01, 0x01, 'm', 0x01, 'f', 0x05}));
  EXPECT_NE(e.message.find("0xf)"), std::string::npos) << e.message;
}

TEST(Decoder, RejectsInvalidUtf8Names) {
  expect_malformed(module_bytes({0x02, 0x07, 0x01, 0x02, 0xc0, 0xaf, 0x01, 'f', 0x00}),
                   "malformed UTF-8 encoding", "import section");
  // Custom section whose name is not UTF-8.
  expect_malformed(module_bytes({0x00, 0x02, 0x01, 0xff}), "malformed UTF-8 encoding",
                   "custom section");
}

TEST(Decoder, RejectsFunctionAndCodeCountMismatch) {
  // One type, one function, no code section.
  expect_malformed(module_bytes({0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00}),
                   "function and code section have inconsistent lengths");
}

TEST(Decoder, RejectsDataCountMismatch) {
  // Data count section says 1, no data section follows.
  expect_malformed(module_bytes({0x0c, 0x01, 0x01}),
                   "data count and data section have inconsistent lengths");
}

TEST(Decoder, RejectsTooManyLocalsWithoutAllocating) {
  // One function whose body declares 0xffffffff locals of type i32, twice.
  expect_malformed(
      module_bytes({0x01, 0x04, 0x01, 0x60, 0x00, 0x00,  // type
                    0x03, 0x02, 0x01, 0x00,              // function
                    0x0a, 0x0f, 0x01, 0x0d, 0x02,        // code, 2 groups
                    0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b}),
      "too many locals", "function 0");
}

TEST(Decoder, RejectsModulesCutInsideASection) {
  // Every prefix that ends inside a section must be rejected, never crash. (A prefix that ends
  // exactly between sections can be a valid module of its own.)
  std::vector<uint8_t> full = test::test_module("host");
  Engine engine;
  ASSERT_TRUE(Module::compile(engine, full).ok());
  std::vector<size_t> boundaries = {8};
  for (size_t pos = 8; pos < full.size();) {
    size_t size = 0, shift = 0, p = pos + 1;
    while (full[p] & 0x80) size |= size_t{full[p++] & 0x7fu} << shift, shift += 7;
    size |= size_t{full[p++]} << shift;
    pos = p + size;
    boundaries.push_back(pos);
  }
  ASSERT_EQ(boundaries.back(), full.size());
  size_t checked = 0;
  for (size_t n = 9; n < full.size(); ++n) {
    if (std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end()) continue;
    std::vector<uint8_t> prefix(full.begin(), full.begin() + n);
    auto module = Module::compile(engine, prefix);
    EXPECT_FALSE(module.ok()) << "prefix of " << n << " bytes was accepted";
    ++checked;
  }
  EXPECT_GT(checked, 100u);
}

TEST(Decoder, KeepsFunctionNamesFromTheNameSection) {
  Engine engine;
  auto module = Module::compile(engine, test::test_module("traps"));
  ASSERT_TRUE(module.ok()) << module.error().message;
  const Module& m = **module;
  EXPECT_EQ(m.names().module_name, "traps");
  const Export* e = m.find_export("nested");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(m.function_name(e->index), "outer");
}

// Three functions named in a name section built here; `function_names` is subsection 1's
// content, `local_names` subsection 2's (left out when empty).
std::shared_ptr<const Module> module_with_names(const std::vector<uint8_t>& function_names,
                                                const std::vector<uint8_t>& local_names = {}) {
  std::vector<uint8_t> m = wasm_writer::header();
  wasm_writer::section(m, 1, {1, 0x60, 0, 0});
  wasm_writer::section(m, 3, {3, 0, 0, 0});
  wasm_writer::section(m, 10, {3, 2, 0, 0x0b, 2, 0, 0x0b, 2, 0, 0x0b});
  std::vector<uint8_t> custom;
  wasm_writer::name(custom, "name");
  custom.push_back(1);
  wasm_writer::leb(custom, function_names.size());
  custom.insert(custom.end(), function_names.begin(), function_names.end());
  if (!local_names.empty()) {
    custom.push_back(2);
    wasm_writer::leb(custom, local_names.size());
    custom.insert(custom.end(), local_names.begin(), local_names.end());
  }
  wasm_writer::section(m, 0, custom);
  Engine engine;
  auto module = Module::compile(engine, m);
  EXPECT_TRUE(module.ok()) << module.error().message;
  return module.ok() ? *module : nullptr;
}

TEST(Decoder, FindsEachFunctionsNameInTheNameMap) {
  std::vector<uint8_t> names = {2};  // functions 0 and 2
  names.push_back(0);
  wasm_writer::name(names, "first");
  names.push_back(2);
  wasm_writer::name(names, "third");
  auto m = module_with_names(names);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->function_name(0), "first");
  EXPECT_EQ(m->function_name(1), "");
  EXPECT_EQ(m->function_name(2), "third");
  EXPECT_EQ(m->function_name(3), "");
}

// The name map should be in increasing index order, but wit-component writes the WASI adapter's
// out of order: its names are found all the same (the last of two for one index).
TEST(Decoder, FindsNamesInAMapOutOfOrder) {
  std::vector<uint8_t> names = {4};
  for (auto [index, text] :
       {std::pair<uint8_t, const char*>{2, "third"}, {0, "zeroth"}, {1, "second"}, {0, "first"}}) {
    names.push_back(index);
    wasm_writer::name(names, text);
  }
  auto m = module_with_names(names);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->function_name(0), "first");
  EXPECT_EQ(m->function_name(1), "second");
  EXPECT_EQ(m->function_name(2), "third");
}

// Custom sections do not invalidate a module (spec appendix 7.4): a name section that breaks
// the rules is ignored as a whole, its well-formed parts too.
TEST(Decoder, IgnoresANameSectionThatBreaksItsRules) {
  std::vector<uint8_t> good = {1, 0};
  wasm_writer::name(good, "first");
  std::vector<uint8_t> bad_utf8_local = {1, 0, 1, 0, 1, 0xff};  // function 0, local 0: "\xff"
  auto m = module_with_names(good, bad_utf8_local);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->function_name(0), "");
  std::vector<uint8_t> good_local = {1, 0, 1, 0, 1, 'x'};
  m = module_with_names(good, good_local);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->function_name(0), "first");
}

}  // namespace
}  // namespace kiln
