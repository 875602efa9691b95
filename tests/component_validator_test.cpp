// The component validator (component/component_validator.h) through its API: the type it gives a
// component, and the bounds that keep hostile types from costing unbounded time or stack. The
// component model's conformance tests (validation/, resources/, linking/, ...) run through
// kiln-spectest in the test command for the rules themselves.
#include "component/component_validator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "component/component_decoder.h"
#include "runtime/interpreter_code.h"
#include "runtime/store.h"
#include "tests/fuzz/wasm_writer.h"

namespace kiln::component {
namespace {

using wasm_writer::leb;
using wasm_writer::name;
using wasm_writer::section;
const auto preamble = wasm_writer::component_header;

Result<std::unique_ptr<ValidatedComponent>> validate(Engine& engine,
                                                     const std::vector<uint8_t>& bytes,
                                                     std::unique_ptr<Component>& decoded) {
  auto d = decode_component(bytes);
  if (!d) return d.take_error();
  decoded = std::move(*d);
  return validate_component(engine, *decoded);
}

// (import "r" (type (sub resource))) (type (own 0)) (type (func (param "x" 1)))
// (import "f" (func (type 2))) (export "g" (func 0))
std::vector<uint8_t> resource_component() {
  std::vector<uint8_t> c = preamble();
  std::vector<uint8_t> imports = {1, 0x00};
  name(imports, "r");
  imports.insert(imports.end(), {0x03, 0x01});
  section(c, 10, imports);
  std::vector<uint8_t> types = {2, 0x69, 0x00, 0x40, 1};
  name(types, "x");
  types.insert(types.end(), {0x01, 0x01, 0x00});
  section(c, 7, types);
  imports = {1, 0x00};
  name(imports, "f");
  imports.insert(imports.end(), {0x01, 0x02});
  section(c, 10, imports);
  std::vector<uint8_t> exports = {1, 0x00};
  name(exports, "g");
  exports.insert(exports.end(), {0x01, 0x00, 0x00});
  section(c, 11, exports);
  return c;
}

TEST(ComponentValidator, GivesAComponentItsImportsExportsAndAbstractResources) {
  Engine engine;
  std::unique_ptr<Component> decoded;
  auto v = validate(engine, resource_component(), decoded);
  ASSERT_TRUE(v) << v.error().message;
  const resolved::ComponentType& type = *(*v)->type;
  ASSERT_EQ(type.imports.size(), 2u);
  EXPECT_EQ(type.imports[0].name, "r");
  EXPECT_EQ(type.imports[0].type.kind, resolved::ExternType::Kind::kType);
  ASSERT_EQ(type.imported_resources.size(), 1u);
  const resolved::ResourceId r = type.imported_resources[0];
  EXPECT_EQ(type.imports[0].type.type.resource, r);
  ASSERT_EQ(type.exports.size(), 1u);
  EXPECT_EQ(type.exports[0].name, "g");
  const resolved::FunctionType& g = *type.exports[0].type.function;
  ASSERT_EQ(g.params.size(), 1u);
  EXPECT_EQ(g.params[0].label, "x");
  ASSERT_TRUE(g.params[0].type.defined);
  EXPECT_EQ(g.params[0].type.defined->kind, DefinedValueType::Kind::kOwn);
  EXPECT_EQ(g.params[0].type.defined->resource, r);
  EXPECT_TRUE(type.defined_resources.empty());
}

TEST(ComponentValidator, EachValidationMakesFreshResources) {
  Engine engine;
  std::unique_ptr<Component> d1, d2;
  auto a = validate(engine, resource_component(), d1);
  auto b = validate(engine, resource_component(), d2);
  ASSERT_TRUE(a && b);
  EXPECT_NE((*a)->type->imported_resources[0], (*b)->type->imported_resources[0]);
}

// `count` types, type i an option of type i-1 (type 0: option<u32>).
std::vector<uint8_t> nested_options(uint32_t count) {
  std::vector<uint8_t> types;
  leb(types, count);
  types.insert(types.end(), {0x6b, 0x79});
  for (uint32_t i = 1; i < count; ++i) {
    types.push_back(0x6b);
    wasm_writer::sleb(types, i - 1);  // a valtype's type index is an s33
  }
  std::vector<uint8_t> c = preamble();
  section(c, 7, types);
  return c;
}

TEST(ComponentValidator, BoundsHowDeepValueTypesNest) {
  Engine engine;
  std::unique_ptr<Component> decoded;
  EXPECT_TRUE(validate(engine, nested_options(resolved::kMaxTypeDepth), decoded));
  auto deep = validate(engine, nested_options(100000), decoded);
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().kind, ErrorKind::kLimit);
  EXPECT_NE(deep.error().message.find("nests deeper than"), std::string::npos)
      << deep.error().message;
  EXPECT_NE(deep.error().message.find("type 100 "), std::string::npos) << deep.error().message;
}

TEST(ComponentValidator, BoundsTheSizeOfTypesBuiltBySharing) {
  // tuple<t, t> of tuple<t, t> of ...: 2^n nodes written in n types.
  std::vector<uint8_t> types = {40, 0x6f, 2, 0x79, 0x79};
  for (uint32_t i = 1; i < 40; ++i) {
    types.insert(types.end(), {0x6f, 2});
    wasm_writer::sleb(types, i - 1);
    wasm_writer::sleb(types, i - 1);
  }
  std::vector<uint8_t> c = preamble();
  section(c, 7, types);
  Engine engine;
  std::unique_ptr<Component> decoded;
  auto v = validate(engine, c, decoded);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().kind, ErrorKind::kLimit);
  EXPECT_NE(v.error().message.find("effective type size"), std::string::npos) << v.error().message;
}

TEST(ComponentValidator, RefusesValueTypesOfTwoHundredFiftySixMebibytesOrMore) {
  auto fixed_list = [](uint32_t length) {
    std::vector<uint8_t> types = {1, 0x67, 0x7d};  // (list u8 length)
    leb(types, length);
    std::vector<uint8_t> c = preamble();
    section(c, 7, types);
    return c;
  };
  Engine engine;
  std::unique_ptr<Component> decoded;
  EXPECT_TRUE(validate(engine, fixed_list((1u << 28) - 1), decoded));
  auto v = validate(engine, fixed_list(1u << 28), decoded);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("exceeds maximum byte size"), std::string::npos)
      << v.error().message;
}

TEST(ComponentValidator, NamesTheCoreModuleThatDoesNotValidate) {
  // A core module whose only function returns nothing where it promises an i32.
  std::vector<uint8_t> module = wasm_writer::header();
  section(module, 1, {1, 0x60, 0, 1, 0x7f});
  section(module, 3, {1, 0});
  section(module, 10, {1, 2, 0, 0x0b});
  std::vector<uint8_t> c = preamble();
  section(c, 1, module);
  Engine engine;
  std::unique_ptr<Component> decoded;
  auto v = validate(engine, c, decoded);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(v.error().message.rfind("in core module 0 (at byte offset 0xa): ", 0), 0u)
      << v.error().message;
}

// A component's core modules are decoded once, by the component decoder; its validation compiles
// that decoded module in place. A second validation of the same decoded component (another engine
// here) compiles the module anew from its bytes, and an invalid module fails alike each time.
TEST(ComponentValidator, ValidatesTheDecodedCoreModuleInPlaceOnceAndAnewAfter) {
  std::vector<uint8_t> module = wasm_writer::header();
  section(module, 1, {1, 0x60, 0, 1, 0x7f});         // () -> i32
  section(module, 3, {1, 0});                        // one function
  section(module, 10, {1, 4, 0, 0x41, 0x2a, 0x0b});  // i32.const 42
  std::vector<uint8_t> c = preamble();
  section(c, 1, module);
  auto decoded = decode_component(c);
  ASSERT_TRUE(decoded) << decoded.error().message;
  const Module* decoded_module = (*decoded)->core_modules[0].decoded.get();
  Engine first_engine, second_engine;
  auto first = validate_component(first_engine, **decoded);
  ASSERT_TRUE(first) << first.error().message;
  auto second = validate_component(second_engine, **decoded);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ((*first)->core_modules.size(), 1u);
  ASSERT_EQ((*second)->core_modules.size(), 1u);
  EXPECT_EQ((*first)->core_modules[0].get(), decoded_module);
  EXPECT_NE((*second)->core_modules[0].get(), decoded_module);
  EXPECT_EQ((*first)->core_modules[0]->engine, &first_engine);
  EXPECT_EQ((*second)->core_modules[0]->engine, &second_engine);
  EXPECT_EQ((*second)->core_modules[0]->bodies.size(), 1u);

  section(c, 1, {0x00, 0x61, 0x73, 0x6d, 1, 0, 0,  0, 1, 5, 1, 0x60, 0,
                 1,    0x7f, 3,    2,    1, 0, 10, 4, 1, 2, 0, 0x0b});  // a second module: no i32
                                                                        // where one is promised
  decoded = decode_component(c);
  ASSERT_TRUE(decoded) << decoded.error().message;
  for (int round = 0; round < 2; ++round) {
    Engine engine;
    auto v = validate_component(engine, **decoded);
    ASSERT_FALSE(v) << round;
    EXPECT_EQ(v.error().message.rfind("in core module 1 (at byte offset ", 0), 0u)
        << round << ": " << v.error().message;
  }
}

// A core module of more than 16 KB of code (what the component validator leaves to a thread of
// its own): one () -> i32 function adding 6,000 zeros to zero, with an i64 among them when
// `invalid`.
std::vector<uint8_t> large_core_module(bool invalid) {
  std::vector<uint8_t> body = {0, 0x41, 0};
  for (int i = 0; i < 6000; ++i) body.insert(body.end(), {0x41, 0, 0x6a});
  if (invalid) body.insert(body.end(), {0x42, 0, 0x6a});
  body.push_back(0x0b);
  std::vector<uint8_t> code = {1};
  leb(code, body.size());
  code.insert(code.end(), body.begin(), body.end());
  std::vector<uint8_t> module = wasm_writer::header();
  section(module, 1, {1, 0x60, 0, 1, 0x7f});
  section(module, 3, {1, 0});
  section(module, 10, code);
  return module;
}

// A large core module's bodies are validated beside the rest of the component (on a thread of
// their own); the error reported is still the one validation in order finds first: the
// module's, before that of any definition after it.
TEST(ComponentValidator, ACoreModuleValidatedBesideTheRestReportsItsErrorInOrder) {
  EngineConfig one_thread;
  one_thread.parallel_compilation = false;
  for (const bool invalid_module : {false, true}) {
    for (const bool invalid_export : {false, true}) {
      std::vector<uint8_t> c = preamble();
      section(c, 1, large_core_module(invalid_module));
      if (invalid_export) {
        std::vector<uint8_t> exports = {1, 0x00};
        name(exports, "g");
        exports.insert(exports.end(), {0x01, 0x05, 0x00});  // (export "g" (func 5)): no such
        section(c, 11, exports);
      }
      std::string messages[2];
      for (int threads = 0; threads < 2; ++threads) {
        Engine engine = threads ? Engine() : Engine(one_thread);
        std::unique_ptr<Component> decoded;
        auto v = validate(engine, c, decoded);
        ASSERT_EQ(v.ok(), !invalid_module && !invalid_export);
        if (v) {
          ASSERT_EQ((*v)->core_modules.size(), 1u);
          continue;
        }
        messages[threads] = v.error().message;
        const char* expected = invalid_module ? "in core module 0 (at byte offset 0xc): "
                                              : "in export 0 (at byte offset ";
        EXPECT_EQ(messages[threads].rfind(expected, 0), 0u) << messages[threads];
      }
      EXPECT_EQ(messages[0], messages[1]);
    }
  }
}

// More large core modules than are given threads of their own (the rest compile on the
// validating thread): the first invalid one is still the one reported, wherever it is.
TEST(ComponentValidator, ManyLargeCoreModulesReportTheFirstInvalidOne) {
  for (const int invalid : {-1, 0, 2, 3, 7}) {
    std::vector<uint8_t> c = preamble();
    for (int m = 0; m < 8; ++m) section(c, 1, large_core_module(m == invalid || m == 6));
    Engine engine;
    std::unique_ptr<Component> decoded;
    auto v = validate(engine, c, decoded);
    ASSERT_FALSE(v);  // module 6 is invalid in every round
    const int first = invalid >= 0 && invalid < 6 ? invalid : 6;
    EXPECT_EQ(v.error().message.rfind("in core module " + std::to_string(first) + " ", 0), 0u)
        << invalid << ": " << v.error().message;
  }
  // All valid: every module's bodies validated and prepared, on whichever thread.
  std::vector<uint8_t> c = preamble();
  for (int m = 0; m < 8; ++m) section(c, 1, large_core_module(false));
  Engine engine;
  std::unique_ptr<Component> decoded;
  auto v = validate(engine, c, decoded);
  ASSERT_TRUE(v) << v.error().message;
  ASSERT_EQ((*v)->core_modules.size(), 8u);
  for (const auto& module : (*v)->core_modules) {
    ASSERT_EQ(module->compiled.size(), 1u);
    EXPECT_GT(module->compiled[0]->max_operand_cells, 0u);  // set by the body's validation
  }
}

TEST(ComponentValidator, RefusesTheAsyncAbiAsNotSupported) {
  // (canon task.return) is the async ABI's: decoded, then refused by name.
  std::vector<uint8_t> c = preamble();
  section(c, 8, {1, 0x09, 0x01, 0x00, 0x00});  // task.return, no result, no options
  Engine engine;
  std::unique_ptr<Component> decoded;
  auto v = validate(engine, c, decoded);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("is not supported yet"), std::string::npos) << v.error().message;
}

}  // namespace
}  // namespace kiln::component
