// Fuzzes components end to end: the binary decoder and the validator
// (component/component_decoder.h, component_validator.h) with arbitrary bytes behind a component
// preamble, and, for components that validate and import nothing, instantiation and a call of
// every exported function with default arguments (the canonical ABI's lifting and lowering, with
// whatever the guest's core code does). Every input is refused, traps or returns, with no crash,
// leak or undefined behaviour (the fuzz build has ASan and UBSan). Guest code runs on fuel, so a
// loop ends.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "component/component_decoder.h"
#include "component/component_instance.h"
#include "component/component_validator.h"
#include "runtime/store.h"

namespace {

using namespace kiln;
using namespace kiln::component;

// A value of `type`: zero, empty, the first case.
ComponentValue default_value(const resolved::ValueType& type) {
  using Kind = resolved::DefinedType::Kind;
  using V = ComponentValue::Kind;
  auto primitive = [](PrimitiveType p) {
    switch (p) {
      case PrimitiveType::kString:
        return ComponentValue::string("");
      case PrimitiveType::kF32: {
        ComponentValue v;
        v.kind = V::kF32;
        return v;
      }
      case PrimitiveType::kF64: {
        ComponentValue v;
        v.kind = V::kF64;
        return v;
      }
      case PrimitiveType::kChar:
        return ComponentValue::integer(V::kChar, 'a');
      default:
        return ComponentValue::integer(static_cast<V>(static_cast<uint8_t>(p)), 0);
    }
  };
  if (!type.defined) return primitive(type.primitive);
  const resolved::DefinedType& t = *type.defined;
  ComponentValue v;
  switch (t.kind) {
    case Kind::kPrimitive:
      return primitive(t.primitive);
    case Kind::kList:
    case Kind::kMap:
      v.kind = V::kList;
      return v;
    case Kind::kFixedList:
      v.kind = V::kList;
      for (uint32_t i = 0; i < t.length && i < 64; ++i)
        v.items.push_back(default_value(t.types[0]));
      return v;
    case Kind::kRecord:
      v.kind = V::kRecord;
      for (const auto& f : t.fields) v.items.push_back(default_value(f.type));
      return v;
    case Kind::kTuple:
      v.kind = V::kTuple;
      for (const auto& e : t.types) v.items.push_back(default_value(e));
      return v;
    case Kind::kVariant:
      v.kind = V::kVariant;
      if (t.cases[0].type) v.items.push_back(default_value(*t.cases[0].type));
      return v;
    case Kind::kEnum:
      v.kind = V::kEnum;
      return v;
    case Kind::kOption:
      v.kind = V::kOption;
      return v;
    case Kind::kResult:
      v.kind = V::kResult;
      if (t.ok) v.items.push_back(default_value(*t.ok));
      return v;
    case Kind::kFlags:
      v.kind = V::kFlags;
      return v;
    default:
      v.kind = V::kOwn;
      return v;  // no handle to give: refused as not fitting
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One engine for the run (compiling core modules is the validator's most expensive part),
  // with fuel so that guest loops end.
  static Engine engine([] {
    EngineConfig config;
    config.tier = Tier::kInterpreter;
    config.consume_fuel = true;
    return config;
  }());
  // Most inputs get the preamble, so the fuzzer spends its time past it.
  std::vector<uint8_t> bytes;
  if (size == 0 || data[0] != 0x00) bytes = {0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00};
  bytes.insert(bytes.end(), data, data + size);
  auto loaded = load_component(engine, bytes);
  if (!loaded || !loaded->validated->type->imports.empty()) return 0;
  Store store(engine);
  (void)store.set_fuel(100000);
  auto instance = instantiate_component(store, *loaded->validated, {});
  if (!instance) return 0;
  for (const auto& [name, item] : (*instance)->exports->exports) {
    if (!item.function) continue;
    std::vector<ComponentValue> args;
    for (const auto& p : item.function->type->params) args.push_back(default_value(p.type));
    std::optional<ComponentValue> result;
    (void)store.set_fuel(100000);
    (void)call_component_function(store, *item.function, args, result);
  }
  return 0;
}
