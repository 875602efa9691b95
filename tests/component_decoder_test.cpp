// The component binary decoder (component/component_decoder.h): definitions in binary order
// with their contents, errors that name the section, item and byte offset, and no crash on
// truncated, mangled or deeply nested input. (../shared/component-model/test/binary runs
// through kiln-spectest in the test command as well.)
#include "component/component_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/fuzz/wasm_writer.h"

namespace kiln::component {
namespace {

using wasm_writer::leb;
using wasm_writer::name;
using wasm_writer::section;
const auto preamble = wasm_writer::component_header;

// A component importing an interface, defining types, lifting a core function of a module and
// exporting it: one section of most kinds.
std::vector<uint8_t> sample_component() {
  std::vector<uint8_t> c = preamble();
  // core module section: an empty module exporting nothing
  section(c, 1, wasm_writer::header());
  // type section: (record (field "a" u32) (field "b" string)), (func (param "x" 0) (result u8))
  std::vector<uint8_t> types = {2, 0x72, 2};
  name(types, "a");
  types.push_back(0x79);
  name(types, "b");
  types.push_back(0x73);
  types.insert(types.end(), {0x40, 1});
  name(types, "x");
  types.insert(types.end(), {0x00, 0x00, 0x7d});
  section(c, 7, types);
  // import section: "wasi:cli/environment@0.2.0" as an instance of type 0 (not checked here)
  std::vector<uint8_t> imports = {1, 0x00};
  name(imports, "wasi:cli/environment@0.2.0");
  imports.insert(imports.end(), {0x05, 0x00});
  section(c, 10, imports);
  // alias section: (alias export 0 "get-arguments" (func))
  std::vector<uint8_t> aliases = {1, 0x01, 0x00, 0x00};
  name(aliases, "get-arguments");
  section(c, 6, aliases);
  // canon section: (canon lift (core func 0) (memory 0) (realloc 1) string-encoding=utf16 (type 1))
  section(c, 8, {1, 0x00, 0x00, 0x00, 3, 0x03, 0x00, 0x04, 0x01, 0x01, 0x01});
  // export section: "run" (func 1), no type
  std::vector<uint8_t> exports = {1, 0x00};
  name(exports, "run");
  exports.insert(exports.end(), {0x01, 0x01, 0x00});
  section(c, 11, exports);
  return c;
}

TEST(ComponentDecoder, TellsComponentsFromCoreModules) {
  EXPECT_TRUE(is_component(preamble()));
  EXPECT_FALSE(is_component(wasm_writer::header()));
  EXPECT_FALSE(is_component(std::vector<uint8_t>{0x00, 'a', 's', 'm'}));
  EXPECT_FALSE(is_component({}));
}

TEST(ComponentDecoder, DecodesEveryDefinitionInBinaryOrder) {
  auto decoded = decode_component(sample_component());
  ASSERT_TRUE(decoded) << decoded.error().message;
  const Component& c = **decoded;
  using K = Definition::Kind;
  const std::vector<K> order = {K::kCoreModule, K::kType,  K::kType,  K::kImport,
                                K::kAlias,      K::kCanon, K::kExport};
  ASSERT_EQ(c.definitions.size(), order.size());
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(c.definitions[i].kind, order[i]) << i;
  EXPECT_EQ(c.definitions[2].index, 1u);  // the second type

  ASSERT_EQ(c.core_modules.size(), 1u);
  const std::vector<uint8_t> module_bytes(c.core_modules[0].bytes().begin(),
                                          c.core_modules[0].bytes().end());
  EXPECT_EQ(module_bytes, wasm_writer::header());
  EXPECT_EQ(c.core_modules[0].offset, 10u);

  ASSERT_EQ(c.types.size(), 2u);
  const Type& record = c.types[0];
  ASSERT_EQ(record.kind, Type::Kind::kValue);
  ASSERT_EQ(record.value.kind, DefinedValueType::Kind::kRecord);
  ASSERT_EQ(record.value.fields.size(), 2u);
  EXPECT_EQ(record.value.fields[0].label, "a");
  EXPECT_EQ(record.value.fields[0].type.primitive, PrimitiveType::kU32);
  EXPECT_EQ(record.value.fields[1].type.primitive, PrimitiveType::kString);
  const Type& function = c.types[1];
  ASSERT_EQ(function.kind, Type::Kind::kFunction);
  ASSERT_EQ(function.function.params.size(), 1u);
  EXPECT_FALSE(function.function.params[0].type.is_primitive);
  EXPECT_EQ(function.function.params[0].type.index, 0u);
  ASSERT_TRUE(function.function.result);
  EXPECT_EQ(function.function.result->primitive, PrimitiveType::kU8);

  ASSERT_EQ(c.imports.size(), 1u);
  EXPECT_EQ(c.imports[0].name.name, "wasi:cli/environment@0.2.0");
  EXPECT_EQ(c.imports[0].type.kind, ExternType::Kind::kInstance);

  ASSERT_EQ(c.aliases.size(), 1u);
  EXPECT_EQ(c.aliases[0].sort, Sort::kFunc);
  EXPECT_EQ(c.aliases[0].target, Alias::Target::kExport);
  EXPECT_EQ(c.aliases[0].name, "get-arguments");

  ASSERT_EQ(c.canons.size(), 1u);
  const Canon& lift = c.canons[0];
  EXPECT_EQ(lift.kind, Canon::Kind::kLift);
  EXPECT_EQ(lift.type, 1u);
  EXPECT_EQ(lift.options.memory, 0u);
  EXPECT_EQ(lift.options.realloc, 1u);
  EXPECT_EQ(lift.options.string_encoding, CanonOptions::StringEncoding::kUtf16);
  EXPECT_TRUE(lift.unsupported.empty());

  ASSERT_EQ(c.exports.size(), 1u);
  EXPECT_EQ(c.exports[0].name.name, "run");
  EXPECT_EQ(c.exports[0].item.sort, Sort::kFunc);
  EXPECT_EQ(c.exports[0].item.index, 1u);
  EXPECT_FALSE(c.exports[0].type);
}

// Decoded from bytes it is given, a component's core modules view those bytes (their storage is
// the component's) rather than copies of them; from a span, the component's own copy.
TEST(ComponentDecoder, CoreModulesViewTheComponentsBytes) {
  const auto bytes = std::make_shared<const std::vector<uint8_t>>(sample_component());
  auto decoded = decode_component(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  const CoreModuleBytes& m = (*decoded)->core_modules.at(0);
  EXPECT_EQ(m.decoded->storage, bytes);
  EXPECT_EQ(m.bytes().data(), bytes->data() + m.offset);
  EXPECT_EQ(m.bytes().size(), wasm_writer::header().size());

  auto copied = decode_component(std::span<const uint8_t>(*bytes));
  ASSERT_TRUE(copied) << copied.error().message;
  const CoreModuleBytes& c = (*copied)->core_modules.at(0);
  EXPECT_NE(c.decoded->storage, bytes);
  EXPECT_EQ(c.bytes().data(), c.decoded->storage->data() + c.offset);
}

TEST(ComponentDecoder, ErrorsNameTheSectionItemAndOffset) {
  std::vector<uint8_t> c = preamble();
  // type section, 2 types: u8, then 0x3e (no such type)
  section(c, 7, {2, 0x7d, 0x3e});
  auto decoded = decode_component(c);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().kind, ErrorKind::kMalformed);
  EXPECT_EQ(decoded.error().message,
            "in type section: item 1: invalid leading byte 0x3e for a type definition (at byte "
            "offset 0xc)");
}

TEST(ComponentDecoder, AMalformedCoreModuleIsAMalformedComponent) {
  std::vector<uint8_t> c = preamble();
  std::vector<uint8_t> module = wasm_writer::header();
  module.insert(module.end(), {0x01, 0x05, 0x01});  // a type section cut short
  section(c, 1, module);
  auto decoded = decode_component(c);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("in core module section: in the core module at byte "
                                         "offset 0xa"),
            std::string::npos)
      << decoded.error().message;
}

TEST(ComponentDecoder, AsyncAndGcDefinitionsDecodeAsUnsupported) {
  std::vector<uint8_t> c = preamble();
  // core type section: (rec (sub (struct (field i32)))) as 0x4e 1 0x50 0 0x5f 1 0x7f 0
  section(c, 3, {1, 0x4e, 1, 0x50, 0, 0x5f, 1, 0x7f, 0});
  // canon section: task.cancel (0x05), then lower with the async option
  section(c, 8, {2, 0x05, 0x01, 0x00, 0x00, 1, 0x06});
  auto decoded = decode_component(c);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ((*decoded)->core_types[0].kind, CoreType::Kind::kUnsupported);
  EXPECT_EQ((*decoded)->canons[0].kind, Canon::Kind::kUnsupported);
  EXPECT_EQ((*decoded)->canons[1].kind, Canon::Kind::kLower);
  EXPECT_EQ((*decoded)->canons[1].unsupported, "the canonical option async");
}

TEST(ComponentDecoder, DeepNestingIsALimitNotACrash) {
  std::vector<uint8_t> c = preamble();
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> outer = preamble();
    section(outer, 4, c);
    c = std::move(outer);
  }
  auto decoded = decode_component(c);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().kind, ErrorKind::kLimit);
  // Instance types nest through type declarators the same way.
  std::vector<uint8_t> type = {0x42, 0};  // (instance)
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> outer = {0x42, 1, 0x01};  // (instance (type ...))
    outer.insert(outer.end(), type.begin(), type.end());
    type = std::move(outer);
  }
  std::vector<uint8_t> t = preamble();
  std::vector<uint8_t> content = {1};
  content.insert(content.end(), type.begin(), type.end());
  section(t, 7, content);
  auto nested_types = decode_component(t);
  ASSERT_FALSE(nested_types);
  EXPECT_EQ(nested_types.error().kind, ErrorKind::kLimit);
}

TEST(ComponentDecoder, EveryPrefixAndEveryByteFlipIsHandled) {
  // Truncations and single-byte changes of a valid component decode or fail cleanly (the
  // sanitizer build turns any out-of-bounds read into a failure).
  const std::vector<uint8_t> whole = sample_component();
  for (size_t n = 0; n < whole.size(); ++n) {
    auto decoded = decode_component(std::span(whole.data(), n));
    if (n < 8) {
      EXPECT_FALSE(decoded) << n;
    }
  }
  for (size_t i = 8; i < whole.size(); ++i) {
    for (uint8_t value : {uint8_t{0x00}, uint8_t{0x7f}, uint8_t{0xff}}) {
      std::vector<uint8_t> mangled = whole;
      mangled[i] = value;
      (void)decode_component(mangled);
    }
  }
}

}  // namespace
}  // namespace kiln::component
