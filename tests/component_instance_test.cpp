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
#include "component/component_linker.h"
#include "tests/fuzz/wasm_writer.h"
#include "tests/test_support.h"

namespace kiln::component {
namespace {

using wasm_writer::leb;
using wasm_writer::name;
using wasm_writer::section;

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

  std::vector<uint8_t> c = wasm_writer::component_header();
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

// A component validated (decoded form kept alive beside it).
struct Validated {
  Engine engine;
  LoadedComponent loaded;
  const ValidatedComponent* validated = nullptr;
  explicit Validated(const std::vector<uint8_t>& bytes) {
    auto l = load_component(engine, bytes);
    if (!l) {
      ADD_FAILURE() << l.error().message;
      return;
    }
    loaded = std::move(*l);
    validated = loaded.validated.get();
  }
};

// A component validated and instantiated with no imports.
struct Fixture {
  Validated v;
  Store store{v.engine};
  std::unique_ptr<ComponentInstance> instance;

  explicit Fixture(const std::vector<uint8_t>& bytes) : v(bytes) {
    if (!v.validated) return;
    auto i = instantiate_component(store, *v.validated, {});
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
  std::vector<uint8_t> c = wasm_writer::component_header();
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
  Engine engine;
  Store store(engine);
  HandleTable table;
  RuntimeResourceType rt;
  ResourceHandle h;
  h.type = &rt;
  h.rep = 7;
  uint32_t a = 0, b = 0, c = 0;
  ASSERT_FALSE(table.add(h, a, store));
  ASSERT_FALSE(table.add(h, b, store));
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
  ASSERT_FALSE(table.add(h, c, store));
  EXPECT_EQ(c, a);  // the freed index is reused
  EXPECT_TRUE(table.get(0xffffffffu, got));
}

TEST(HandleTable, GrowsOnlyWithinTheStoresMemoryBudget) {
  Engine engine;
  StoreLimits limits;
  limits.max_total_memory_bytes = 1 << 20;
  Store store(engine, limits);
  HandleTable table;
  RuntimeResourceType rt;
  ResourceHandle h;
  h.type = &rt;
  uint32_t index = 0;
  TrapPtr trap;
  uint32_t held = 0;
  while (!(trap = table.add(h, index, store)) && held < (1u << 20)) ++held;
  ASSERT_TRUE(trap) << "a mebibyte held " << held << " handles";
  EXPECT_NE(trap->message.find("resource handles past the store's memory budget"),
            std::string::npos)
      << trap->message;
  // Each handle costs tens of bytes: the budget held thousands, not a million.
  EXPECT_GT(held, 10000u);
  EXPECT_LT(held, 40000u);
  EXPECT_LE(store.telemetry().peak_memory_bytes, limits.max_total_memory_bytes);
  // A dropped handle's slot is reused without more of the budget.
  ResourceHandle removed;
  ASSERT_FALSE(table.remove(1, removed));
  EXPECT_FALSE(table.add(h, index, store));
  EXPECT_EQ(index, 1u);
}

}  // namespace
}  // namespace kiln::component

namespace kiln::component {
namespace {

// A component importing the interface `local:app/math@1.2.0` with `double: func(x: u32) -> u32`
// and exporting `run: func(x: u32) -> u32`, which calls it through canon lower.
std::vector<uint8_t> math_client_component() {
  std::vector<uint8_t> c = wasm_writer::component_header();
  // types: 0 = (func (param "x" u32) (result u32)); 1 = (instance (type (func ...))
  // (export "double" (func (type 0))))
  std::vector<uint8_t> types = {2, 0x40, 1};
  name(types, "x");
  types.insert(types.end(), {0x79, 0x00, 0x79, 0x42, 2, 0x01, 0x40, 1});
  name(types, "x");
  types.insert(types.end(), {0x79, 0x00, 0x79, 0x04, 0x00});
  name(types, "double");
  types.insert(types.end(), {0x01, 0x00});
  section(c, 7, types);
  std::vector<uint8_t> imports = {1, 0x00};
  name(imports, "local:app/math@1.2.0");
  imports.insert(imports.end(), {0x05, 0x01});
  section(c, 10, imports);
  std::vector<uint8_t> alias = {1, 0x01, 0x00, 0x00};  // (alias export 0 "double" (func))
  name(alias, "double");
  section(c, 6, alias);
  section(c, 8, {1, 0x01, 0x00, 0x00, 0x00});  // (canon lower (func 0)): core func 0
  std::vector<uint8_t> module = wasm_writer::header();
  section(module, 1, {1, 0x60, 1, 0x7f, 1, 0x7f});
  std::vector<uint8_t> module_imports = {1};
  name(module_imports, "m");
  name(module_imports, "double");
  module_imports.insert(module_imports.end(), {0x00, 0x00});
  section(module, 2, module_imports);
  section(module, 3, {1, 0});
  std::vector<uint8_t> module_exports = {1};
  name(module_exports, "run");
  module_exports.insert(module_exports.end(), {0x00, 0x01});
  section(module, 7, module_exports);
  section(module, 10, {1, 6, 0, 0x20, 0x00, 0x10, 0x00, 0x0b});  // call double(local 0)
  section(c, 1, module);
  // core instances: 0 = bundle {double: core func 0}; 1 = (instantiate module 0 (with "m" 0))
  std::vector<uint8_t> instances = {2, 0x01, 1};
  name(instances, "double");
  instances.insert(instances.end(), {0x00, 0x00, 0x00, 0x00, 1});
  name(instances, "m");
  instances.insert(instances.end(), {0x12, 0x00});
  section(c, 2, instances);
  alias = {1, 0x00, 0x00, 0x01, 0x01};  // (alias core export 1 "run" (core func)): core func 1
  name(alias, "run");
  section(c, 6, alias);
  section(c, 8, {1, 0x00, 0x00, 0x01, 0x00, 0x00});  // (canon lift (core func 1) (type 0))
  std::vector<uint8_t> exports = {1, 0x00};
  name(exports, "run");
  exports.insert(exports.end(), {0x01, 0x01, 0x00});
  section(c, 11, exports);
  return c;
}

// Calls the instance's export `name` with one u32.
TrapPtr call_u32(Store& store, ComponentInstance& instance, const std::string& name, uint64_t x,
                 std::optional<ComponentValue>& result) {
  return call_component_function(store, *instance.exports->find(name)->function,
                                 {ComponentValue::integer(ComponentValue::Kind::kU32, x)}, result);
}

TEST(ComponentLinker, LinksHostFunctionsByNameWithSemverCompatibleVersions) {
  Validated v(math_client_component());
  ASSERT_TRUE(v.validated);
  ComponentLinker linker;
  int calls = 0;
  Store store(v.engine);
  ASSERT_TRUE(linker.define_function(
      "local:app/math@1.9.3#double",
      [&](Store& caller_store, const resolved::FunctionType& type,
          const std::vector<ComponentValue>& args,
          std::optional<ComponentValue>& result) -> TrapPtr {
        ++calls;
        EXPECT_EQ(&caller_store, &store);  // the store of the calling instance
        EXPECT_EQ(type.params.size(), 1u);
        result = ComponentValue::integer(ComponentValue::Kind::kU32, args[0].bits * 2);
        return nullptr;
      }));
  auto instance = linker.instantiate(store, *v.validated);
  ASSERT_TRUE(instance) << instance.error().message;
  std::optional<ComponentValue> result;
  TrapPtr trap = call_u32(store, **instance, "run", 21, result);
  ASSERT_FALSE(trap) << trap->to_string();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->bits, 42u);
  EXPECT_EQ(calls, 1);
}

TEST(ComponentLinker, ImportsResolvedOnceServeInstancesInManyStores) {
  Validated v(math_client_component());
  ASSERT_TRUE(v.validated);
  ComponentLinker linker;
  std::vector<const Store*> callers;
  ASSERT_TRUE(linker.define_function("local:app/math@1.2.0#double",
                                     [&](Store& caller_store, const resolved::FunctionType&,
                                         const std::vector<ComponentValue>& args,
                                         std::optional<ComponentValue>& result) -> TrapPtr {
                                       callers.push_back(&caller_store);
                                       result = ComponentValue::integer(ComponentValue::Kind::kU32,
                                                                        args[0].bits * 2);
                                       return nullptr;
                                     }));
  auto imports = linker.resolve_imports(*v.validated);
  ASSERT_TRUE(imports) << imports.error().message;
  ASSERT_EQ(imports->by_name.size(), 1u);
  EXPECT_EQ(imports->by_name.begin()->first, "local:app/math@1.2.0");
  EXPECT_EQ(imports->component, v.validated);
  // Two stores, each with an instance made from the same resolved imports.
  Store first(v.engine), second(v.engine);
  auto a = instantiate_component(first, *imports);
  auto b = instantiate_component(second, *imports);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  std::optional<ComponentValue> result;
  ASSERT_FALSE(call_u32(second, **b, "run", 5, result));
  EXPECT_EQ(result->bits, 10u);
  ASSERT_FALSE(call_u32(first, **a, "run", 21, result));
  EXPECT_EQ(result->bits, 42u);
  EXPECT_EQ(callers, (std::vector<const Store*>{&second, &first}));
  // What the linker cannot resolve is an Error here as at instantiation.
  ComponentLinker empty;
  auto unresolved = empty.resolve_imports(*v.validated);
  ASSERT_FALSE(unresolved);
  EXPECT_EQ(unresolved.error().kind, ErrorKind::kUnlinkable);
}

TEST(ComponentLinker, AnIncompatibleVersionOrAMissingFunctionIsUnlinkable) {
  Validated v(math_client_component());
  ASSERT_TRUE(v.validated);
  auto doubling = [](Store&, const resolved::FunctionType&, const std::vector<ComponentValue>& args,
                     std::optional<ComponentValue>& result) -> TrapPtr {
    result = ComponentValue::integer(ComponentValue::Kind::kU32, args[0].bits * 2);
    return nullptr;
  };
  Store store(v.engine);
  ComponentLinker newer;
  ASSERT_TRUE(newer.define_function("local:app/math@2.0.0#double", doubling));
  auto instance = newer.instantiate(store, *v.validated);
  ASSERT_FALSE(instance);
  EXPECT_EQ(instance.error().kind, ErrorKind::kUnlinkable);
  EXPECT_NE(instance.error().message.find("local:app/math@1.2.0#double"), std::string::npos)
      << instance.error().message;
  ComponentLinker twice;
  ASSERT_TRUE(twice.define_function("local:app/math@1.0.0#double", doubling));
  auto again = twice.define_function("local:app/math@1.2.0#double", doubling);
  ASSERT_FALSE(again);  // 1.0.0 and 1.2.0 are the same canonical version
  EXPECT_FALSE(twice.define_function("Not A Path#x", doubling));
  // An interface checked once (ComponentLinker::checked_interfaces_) still has each item name
  // checked, and a bad interface name is refused every time.
  EXPECT_TRUE(twice.define_function("local:app/math@1.0.0#triple", doubling));
  auto bad_item = twice.define_function("local:app/math@1.0.0#Not_Kebab", doubling);
  ASSERT_FALSE(bad_item);
  EXPECT_NE(bad_item.error().message.find("`Not_Kebab` is not a valid export name"),
            std::string::npos)
      << bad_item.error().message;
  EXPECT_FALSE(twice.define_function("Not A Path#y", doubling));
}

TEST(ComponentLinker, MissingImportsAreListedAndCanBeLinkedToTraps) {
  Validated v(math_client_component());
  ASSERT_TRUE(v.validated);
  ComponentLinker linker;
  EXPECT_EQ(linker.missing_imports(*v.validated),
            std::vector<std::string>{"local:app/math@1.2.0#double"});
  ASSERT_TRUE(linker.define_unknown_imports_as_traps(*v.validated));
  EXPECT_TRUE(linker.missing_imports(*v.validated).empty());
  Store store(v.engine);
  auto instance = linker.instantiate(store, *v.validated);
  ASSERT_TRUE(instance) << instance.error().message;
  std::optional<ComponentValue> result;
  TrapPtr trap = call_u32(store, **instance, "run", 1, result);
  ASSERT_TRUE(trap);
  EXPECT_EQ(trap->message, "unknown import `local:app/math@1.2.0#double` called");
}

TEST(ComponentLinker, ImportedTypesThatAreNotResourcesNeedNoDefinition) {
  // values.wit's world imports its record, variant, enum and flags types (`jco new` writes
  // them as type imports with their definitions); nothing has to be defined for them.
  const std::string text = test::slurp(std::string(KILN_TEST_COMPONENTS_DIR) + "/values.wasm");
  Validated v(std::vector<uint8_t>(text.begin(), text.end()));
  ASSERT_TRUE(v.validated);
  ASSERT_FALSE(v.validated->type->imports.empty());
  ComponentLinker linker;
  EXPECT_TRUE(linker.missing_imports(*v.validated).empty());
  Store store(v.engine);
  auto instance = linker.instantiate(store, *v.validated);
  ASSERT_TRUE(instance) << instance.error().message;
  ComponentFunction* add = (*instance)->exported_function("add");
  ASSERT_NE(add, nullptr);
  std::optional<ComponentValue> result;
  TrapPtr trap = call_component_function(store, *add,
                                         {ComponentValue::integer(ComponentValue::Kind::kS32, 40),
                                          ComponentValue::integer(ComponentValue::Kind::kS32, 2)},
                                         result);
  ASSERT_FALSE(trap) << trap->to_string();
  EXPECT_EQ(result->bits, 42u);
}

TEST(ComponentLinker, AHostResultThatDoesNotFitTheTypeTraps) {
  Validated v(math_client_component());
  ASSERT_TRUE(v.validated);
  ComponentLinker linker;
  ASSERT_TRUE(linker.define_function(
      "local:app/math@1.2.0#double",
      [](Store&, const resolved::FunctionType&, const std::vector<ComponentValue>&,
         std::optional<ComponentValue>& result) -> TrapPtr {
        result = ComponentValue::string("not a u32");
        return nullptr;
      }));
  Store store(v.engine);
  auto instance = linker.instantiate(store, *v.validated);
  ASSERT_TRUE(instance) << instance.error().message;
  std::optional<ComponentValue> result;
  TrapPtr trap = call_u32(store, **instance, "run", 1, result);
  ASSERT_TRUE(trap);
  EXPECT_NE(trap->message.find("result does not match its type"), std::string::npos)
      << trap->message;
}

}  // namespace
}  // namespace kiln::component

namespace kiln::component {
namespace {

std::vector<uint8_t> test_component(const std::string& name) {
  const std::string text =
      test::slurp(std::string(KILN_TEST_COMPONENTS_DIR) + "/" + name + ".wasm");
  return std::vector<uint8_t>(text.begin(), text.end());
}

TEST(ComponentResources, TheHostDropsAnOwnedHandleAndTheGuestsDestructorRuns) {
  Fixture f(test_component("resources"));
  ASSERT_TRUE(f.instance);
  std::optional<ComponentValue> handle, dropped;
  ASSERT_FALSE(call_u32(f.store, *f.instance, "make", 40, handle));
  ASSERT_TRUE(handle);
  ASSERT_EQ(handle->kind, ComponentValue::Kind::kOwn);
  EXPECT_EQ(handle->rep, 40u);
  ASSERT_FALSE(call_component_function(f.store, f.function("dropped"), {}, dropped));
  EXPECT_EQ(dropped->bits, 0u);  // the host holds it: not dropped yet

  ASSERT_FALSE(drop_resource(f.store, *handle));
  ASSERT_FALSE(call_component_function(f.store, f.function("dropped"), {}, dropped));
  EXPECT_EQ(dropped->bits, 40u);

  // A borrow, or no handle at all, is refused.
  ComponentValue borrow = *handle;
  borrow.kind = ComponentValue::Kind::kBorrow;
  TrapPtr trap = drop_resource(f.store, borrow);
  ASSERT_TRUE(trap);
  EXPECT_NE(trap->message.find("only an owning handle"), std::string::npos);
}

}  // namespace
}  // namespace kiln::component

namespace kiln::component {
namespace {

TEST(ComponentLists, BytesTravelPackedAndItemizedListsAlike) {
  Fixture f(test_component("lists"));
  ASSERT_TRUE(f.instance);
  const std::string bytes = {'\x01', '\x00', '\xff', 'A'};
  std::optional<ComponentValue> result;
  // Packed in, packed out.
  ASSERT_FALSE(call_component_function(f.store, f.function("echo-bytes"),
                                       {ComponentValue::bytes(bytes)}, result));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->packed);
  EXPECT_EQ(result->text, bytes);
  // Items in: the same bytes come back, and compare equal to the items.
  ComponentValue items;
  items.kind = ComponentValue::Kind::kList;
  for (unsigned char b : bytes)
    items.items.push_back(ComponentValue::integer(ComponentValue::Kind::kU8, b));
  ASSERT_FALSE(call_component_function(f.store, f.function("echo-bytes"), {items}, result));
  EXPECT_EQ(result->text, bytes);
  EXPECT_TRUE(same_value(*result, items));
  // A packed list is no list<u16>; an itemized one is.
  TrapPtr trap = call_component_function(f.store, f.function("echo-u16"),
                                         {ComponentValue::bytes(bytes)}, result);
  ASSERT_TRUE(trap);
  ComponentValue u16s;
  u16s.kind = ComponentValue::Kind::kList;
  u16s.items = {ComponentValue::integer(ComponentValue::Kind::kU16, 0xbeef),
                ComponentValue::integer(ComponentValue::Kind::kU16, 7)};
  ASSERT_FALSE(call_component_function(f.store, f.function("echo-u16"), {u16s}, result));
  EXPECT_FALSE(result->packed);
  EXPECT_TRUE(same_value(*result, u16s));
}

// A nested component's core instantiation resolves each import of the module it is given by the
// import's own names, even when that module lists its imports in another order than the type
// the component declares (instantiation takes where validation found each import only as a
// hint: tests/components/imported_module_order.wat).
TEST(ComponentInstance, AnImportedModulesImportsReachTheArgumentsTheyName) {
  Fixture f(test_component("imported_module_order"));
  ASSERT_TRUE(f.instance);
  std::optional<ComponentValue> result;
  TrapPtr trap = call_component_function(f.store, f.function("g"), {}, result);
  ASSERT_FALSE(trap) << trap->to_string();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->bits, 12u);  // a.f (1) * 10 + b.f (2)
}

}  // namespace
}  // namespace kiln::component
