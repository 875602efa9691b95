// The engine's registry of function types (TypeRegistry): types are interned while a module, a
// store or a component uses them and forgotten after, so an engine that compiles and drops
// tenants' modules for as long as it runs does not grow; and ids handed out again keep
// call_indirect's type check right under each tier.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "component/component_validator.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "tests/fuzz/wasm_writer.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

// The parameters of the `n`th of a family of distinct function types: the bits of n + 1 below
// its highest, as i32 (0) and i64 (1).
std::vector<ValType> distinct_params(uint32_t n) {
  std::vector<ValType> params;
  const uint32_t code = n + 1;
  for (int bit = 30 - __builtin_clz(code); bit >= 0; --bit) {
    params.push_back((code >> bit) & 1 ? ValType::kI64 : ValType::kI32);
  }
  return params;
}

// A module of nothing but a type section declaring types `first` .. `first + count - 1` of the
// family above.
std::vector<uint8_t> module_of_types(uint32_t first, uint32_t count) {
  std::vector<uint8_t> types;
  wasm_writer::leb(types, count);
  for (uint32_t n = first; n < first + count; ++n) {
    const std::vector<ValType> params = distinct_params(n);
    types.push_back(0x60);
    wasm_writer::leb(types, params.size());
    for (ValType t : params) types.push_back(static_cast<uint8_t>(t));
    types.push_back(0);  // no results
  }
  std::vector<uint8_t> bytes = wasm_writer::header();
  wasm_writer::section(bytes, 1, types);
  return bytes;
}

std::shared_ptr<const Module> compile(Engine& engine, const std::vector<uint8_t>& bytes) {
  auto module = Module::compile(engine, bytes);
  EXPECT_TRUE(module) << module.error().message;
  return module ? *module : nullptr;
}

TEST(TypeRegistry, ModulesDroppedOneAfterAnotherLeaveNoTypesBehind) {
  Engine engine;
  const size_t before = engine.types().size();
  constexpr uint32_t kTypes = 2000;
  for (uint32_t generation = 0; generation < 20; ++generation) {
    // Each generation's types are new to the engine: a tenant's module nobody loaded before.
    auto module = compile(engine, module_of_types(generation * kTypes, kTypes));
    ASSERT_NE(module, nullptr);
    EXPECT_EQ(engine.types().size(), before + kTypes);
    // The ids of freed types are handed out again, so they stay as few as the types in use.
    for (uint32_t id : module->type_ids) EXPECT_LT(id, before + kTypes);
    for (uint32_t i = 0; i < kTypes; ++i) {
      EXPECT_EQ(engine.types().get(module->type_ids[i]), module->types[i]);
    }
  }
  EXPECT_EQ(engine.types().size(), before);
}

TEST(TypeRegistry, ATypeStaysWhileAnyModuleUsesIt) {
  Engine engine;
  auto first = compile(engine, module_of_types(0, 10));
  auto second = compile(engine, module_of_types(5, 10));  // shares types 5..9 with `first`
  ASSERT_TRUE(first && second);
  EXPECT_EQ(engine.types().size(), 15u);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(first->type_ids[5 + i], second->type_ids[i]);
  first.reset();
  EXPECT_EQ(engine.types().size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(engine.types().get(second->type_ids[i]), (FuncType{distinct_params(5 + i), {}}));
  }
  second.reset();
  EXPECT_EQ(engine.types().size(), 0u);
}

TEST(TypeRegistry, AHostFunctionsTypeStaysAsLongAsItsStore) {
  Engine engine;
  const FuncType type{distinct_params(100), {}};
  {
    Store store(engine);
    FunctionInstance* host = store.create_host_function(
        type, [](HostCall&, uint64_t*) { return TrapPtr(); }, "host");
    TagInstance* tag = store.create_tag(type);
    EXPECT_EQ(engine.types().size(), 1u);
    // A module using the same type comes and goes; the store's function and tag keep it.
    compile(engine, module_of_types(100, 1)).reset();
    EXPECT_EQ(engine.types().size(), 1u);
    EXPECT_EQ(*host->type, type);
    EXPECT_EQ(engine.types().get(host->type_id), type);
    EXPECT_EQ(tag->type_id, host->type_id);
  }
  EXPECT_EQ(engine.types().size(), 0u);
}

TEST(TypeRegistry, AModuleMayOutliveItsEngine) {
  // Embedders free in any order; the module's references keep the registry (ASan checks).
  auto engine = std::make_unique<Engine>();
  auto module = compile(*engine, module_of_types(0, 50));
  ASSERT_NE(module, nullptr);
  engine.reset();
  EXPECT_EQ(*module->interned_types[49], module->types[49]);
  module.reset();
}

TEST(TypeRegistry, AComponentHoldsItsLoweringsTypesUntilDropped) {
  // A WASI 0.2 command (jco's preview1 adapter): core modules and canon lowers.
  const std::vector<uint8_t> bytes =
      test::read_bytes(std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_hello.component.wasm");
  Engine engine;
  for (int round = 0; round < 3; ++round) {
    auto loaded = component::load_component(engine, bytes);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_FALSE(loaded->validated->lowered_core_types.registry() == nullptr);
    EXPECT_GT(engine.types().size(), 0u);
  }
  EXPECT_EQ(engine.types().size(), 0u);
}

class TypeIdsHandedOutAgain : public test::TierTest {};

TEST_P(TypeIdsHandedOutAgain, CallIndirectStillChecksTypes) {
  start_engine();
  if (IsSkipped()) return;
  // A dropped module's types free their ids, and the next module's types take them.
  const FuncType i64_to_i64{{ValType::kI64}, {ValType::kI64}};
  const FuncType f32_to_f64{{ValType::kF32}, {ValType::kF64}};
  std::vector<uint8_t> swapped = test::module_bytes(
      {0x01, 0x0b, 0x02, 0x60, 0x01, 0x7d, 0x01, 0x7c, 0x60, 0x01, 0x7e, 0x01, 0x7e});
  auto first = compile(*engine_, swapped);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->types[0], f32_to_f64);
  const uint32_t f32_to_f64_id = first->type_ids[0], i64_to_i64_id = first->type_ids[1];
  first.reset();

  FunctionInstance* widen = store_->create_host_function(
      f32_to_f64,
      [](HostCall&, uint64_t* cells) {
        float x;
        std::memcpy(&x, cells, sizeof x);
        const double y = static_cast<double>(x) * 1.5;
        std::memcpy(cells, &y, sizeof y);
        return TrapPtr();
      },
      "widen");
  Instance* instance =
      test::instantiate_test_module(*store_, "type_reuse", {{ExternKind::kFunction, widen}});
  ASSERT_NE(instance, nullptr);
  // Both types took the freed ids (which one which is the registry's business).
  const uint32_t new_i64_to_i64_id = instance->module->type_ids[0];
  EXPECT_EQ(engine_->types().size(), 4u);  // with the two exports' own
  EXPECT_NE(new_i64_to_i64_id, widen->type_id);
  for (uint32_t id : {new_i64_to_i64_id, widen->type_id}) {
    EXPECT_TRUE(id == f32_to_f64_id || id == i64_to_i64_id) << id;
  }
  EXPECT_EQ(engine_->types().get(widen->type_id), f32_to_f64);

  auto call = [&](const char* name, uint64_t argument, uint32_t index, uint64_t& result) {
    uint64_t cells[2] = {argument, index};
    TrapPtr trap = store_->invoke(instance->find_export(name)->function(), cells);
    result = cells[0];
    return trap ? trap->message : std::string();
  };
  uint64_t result = 0;
  EXPECT_EQ(call("call_i64", 21, 0, result), "");
  EXPECT_EQ(result, 42u);
  uint32_t bits;
  const float two = 2.0f;
  std::memcpy(&bits, &two, sizeof bits);
  EXPECT_EQ(call("call_f32", bits, 1, result), "");
  double widened;
  std::memcpy(&widened, &result, sizeof widened);
  EXPECT_EQ(widened, 3.0);
  // Each the other's type: both mismatches trap.
  EXPECT_EQ(call("call_i64", 21, 1, result), "indirect call type mismatch");
  EXPECT_EQ(call("call_f32", bits, 0, result), "indirect call type mismatch");
}

INSTANTIATE_TEST_SUITE_P(Tiers, TypeIdsHandedOutAgain,
                         ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

}  // namespace
}  // namespace kiln
