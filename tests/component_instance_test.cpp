// Component instances through the C++ API (component/component_instance.h): instantiating a
// component and calling its lifted export with component values, host mistakes (wrong argument
// kinds or counts) answered with traps rather than crashes, and the handle table's rules. The
// component model's conformance tests (values/, resources/, linking/) run through kiln-spectest
// in the test command for the canonical ABI itself.
#include "component/component_instance.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "component/component_decoder.h"
#include "tests/fuzz/wasm_writer.h"

namespace kiln::component {
namespace {

using wasm_writer::leb;
using wasm_writer::section;

void name(std::vector<uint8_t>& out, const std::string& s) {
  leb(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

// A component exporting `add-one: func(x: u32) -> u32`, lifted from a core function.
std::vector<uint8_t> add_one_component() {
  std::vector<uint8_t> module = wasm_writer::header();
  section(module, 1, {1, 0x60, 1, 0x7f, 1, 0x7f});  // (func (param i32) (result i32))
  section(module, 3, {1, 0});
  std::vector<uint8_t> exports = {1};
  name(exports, "f");
  exports.insert(exports.end(), {0x00, 0x00});
  section(module, 7, exports);
  section(module, 10, {1, 7, 0, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b});  // local.get 0 + 1

  std::vector<uint8_t> c = {0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00};
  section(c, 1, module);
  section(c, 2, {1, 0x00, 0x00, 0x00});  // (core instance (instantiate 0))
  std::vector<uint8_t> alias = {1, 0x00, 0x00, 0x01,
                                0x00};  // (alias core export 0 "f" (core func))
  name(alias, "f");
  section(c, 6, alias);
  std::vector<uint8_t> types = {1, 0x40, 1};
  name(types, "x");
  types.insert(types.end(), {0x79, 0x00, 0x79});  // (func (param "x" u32) (result u32))
  section(c, 7, types);
  section(c, 8, {1, 0x00, 0x00, 0x00, 0x00, 0x00});  // (canon lift (core func 0) (type 0))
  std::vector<uint8_t> component_exports = {1, 0x00};
  name(component_exports, "add-one");
  component_exports.insert(component_exports.end(), {0x01, 0x00, 0x00});
  section(c, 11, component_exports);
  return c;
}

struct Fixture {
  Engine engine;
  Store store{engine};
  std::unique_ptr<Component> decoded;
  std::unique_ptr<ValidatedComponent> validated;
  std::unique_ptr<ComponentInstance> instance;

  explicit Fixture(const std::vector<uint8_t>& bytes) {
    auto d = decode_component(bytes);
    if (!d) ADD_FAILURE() << d.error().message;
    decoded = std::move(*d);
    auto v = validate_component(engine, *decoded);
    if (!v) ADD_FAILURE() << v.error().message;
    validated = std::move(*v);
    auto i = instantiate_component(store, *validated, {});
    if (!i) ADD_FAILURE() << i.error().message;
    instance = std::move(*i);
  }
  ComponentFunction& function(const std::string& name) {
    return *instance->exports->find(name)->function;
  }
};

TEST(ComponentInstance, CallsALiftedExportWithComponentValues) {
  Fixture f(add_one_component());
  ASSERT_TRUE(f.instance);
  std::optional<ComponentValue> result;
  TrapPtr trap =
      call_component_function(f.store, f.function("add-one"),
                              {ComponentValue::integer(ComponentValue::Kind::kU32, 41)}, result);
  ASSERT_FALSE(trap) << trap->to_string();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->kind, ComponentValue::Kind::kU32);
  EXPECT_EQ(result->bits, 42u);
  // u32 wraps as the core function's i32 does.
  trap = call_component_function(f.store, f.function("add-one"),
                                 {ComponentValue::integer(ComponentValue::Kind::kU32, 0xffffffff)},
                                 result);
  ASSERT_FALSE(trap);
  EXPECT_EQ(result->bits, 0u);
}

TEST(ComponentInstance, ArgumentsThatDoNotFitTheTypeTrapInsteadOfReachingTheCallee) {
  Fixture f(add_one_component());
  ASSERT_TRUE(f.instance);
  std::optional<ComponentValue> result;
  TrapPtr trap = call_component_function(f.store, f.function("add-one"), {}, result);
  ASSERT_TRUE(trap);
  EXPECT_NE(trap->message.find("expected 1 arguments, got 0"), std::string::npos) << trap->message;
  trap = call_component_function(f.store, f.function("add-one"),
                                 {ComponentValue::string("forty-one")}, result);
  ASSERT_TRUE(trap);
  EXPECT_NE(trap->message.find("not a value of its parameter's type"), std::string::npos)
      << trap->message;
  trap = call_component_function(f.store, f.function("add-one"),
                                 {ComponentValue::integer(ComponentValue::Kind::kU32, 1ull << 32)},
                                 result);
  ASSERT_TRUE(trap);  // out of u32's range
  // The instance is still usable after refused calls.
  trap = call_component_function(f.store, f.function("add-one"),
                                 {ComponentValue::integer(ComponentValue::Kind::kU32, 1)}, result);
  ASSERT_FALSE(trap);
  EXPECT_EQ(result->bits, 2u);
}

TEST(ComponentInstance, AMissingImportIsUnlinkable) {
  // (import "f" (func (type 0))) with (type (func)).
  std::vector<uint8_t> c = {0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00};
  section(c, 7, {1, 0x40, 0, 0x01, 0x00});
  std::vector<uint8_t> imports = {1, 0x00};
  name(imports, "f");
  imports.insert(imports.end(), {0x01, 0x00});
  section(c, 10, imports);
  Engine engine;
  Store store(engine);
  auto decoded = decode_component(c);
  ASSERT_TRUE(decoded);
  auto validated = validate_component(engine, **decoded);
  ASSERT_TRUE(validated) << validated.error().message;
  auto instance = instantiate_component(store, **validated, {});
  ASSERT_FALSE(instance);
  EXPECT_EQ(instance.error().kind, ErrorKind::kUnlinkable);
  EXPECT_NE(instance.error().message.find("missing import named `f`"), std::string::npos)
      << instance.error().message;
}

TEST(HandleTable, ReservesIndexZeroReusesFreedIndicesAndTrapsOnUnknownOnes) {
  HandleTable table;
  RuntimeResourceType rt;
  ResourceHandle h;
  h.type = &rt;
  h.rep = 7;
  uint32_t a = 0, b = 0, c = 0;
  ASSERT_FALSE(table.add(h, a));
  ASSERT_FALSE(table.add(h, b));
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  ResourceHandle* got = nullptr;
  TrapPtr trap = table.get(0, got);
  ASSERT_TRUE(trap);
  EXPECT_EQ(trap->message, "unknown handle index 0");
  ResourceHandle removed;
  ASSERT_FALSE(table.remove(a, removed));
  EXPECT_EQ(removed.rep, 7u);
  trap = table.get(a, got);
  ASSERT_TRUE(trap);
  EXPECT_EQ(trap->message, "unknown handle index 1");
  ASSERT_FALSE(table.add(h, c));
  EXPECT_EQ(c, a);  // the freed index is reused
  EXPECT_TRUE(table.get(0xffffffffu, got));
}

}  // namespace
}  // namespace kiln::component
