#include "runtime/module.h"

#include "runtime/function_validator.h"
#include "runtime/interpreter_code.h"
#include "runtime/interpreter_translator.h"
#include "runtime/module_decoder.h"
#include "runtime/store.h"

namespace kiln {

Module::~Module() = default;

const Export* Module::find_export(std::string_view name) const {
  for (const Export& e : exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string Module::function_name(uint32_t function_index) const {
  auto it = names.functions.find(function_index);
  return it == names.functions.end() ? std::string() : it->second;
}

namespace {

Result<std::shared_ptr<Module>> decode_and_validate(Engine& engine, std::span<const uint8_t> bytes,
                                                    bool translate) {
  auto module = std::make_shared<Module>();
  module->bytes.assign(bytes.begin(), bytes.end());
  KILN_TRY(decode_module(*module));
  KILN_TRY(validate_module_structure(*module));
  for (const FuncType& t : module->types) module->type_ids.push_back(engine.types().intern(t));
  const uint32_t defined = static_cast<uint32_t>(module->bodies.size());
  if (translate) {
    // Allocated up front so calls can point at their callee before it is translated.
    module->compiled.reserve(defined);
    for (uint32_t i = 0; i < defined; ++i) {
      module->compiled.push_back(std::make_unique<CompiledFunction>());
    }
  }
  for (uint32_t i = 0; i < defined; ++i) {
    const uint32_t function_index = module->imported_functions + i;
    FunctionValidator validator(*module, function_index);
    if (translate) {
      CompiledFunction& out = *module->compiled[i];
      out.type_id = module->type_ids[module->functions[function_index]];
      InterpreterTranslator translator(*module, out, engine.config().consume_fuel,
                                       engine.config().epoch_interruption);
      KILN_TRY(validator.run(&translator));
    } else {
      KILN_TRY(validator.run(nullptr));
    }
  }
  return module;
}

}  // namespace

Result<std::shared_ptr<const Module>> Module::compile(Engine& engine,
                                                      std::span<const uint8_t> bytes) {
  KILN_ASSIGN(std::shared_ptr<Module> module, decode_and_validate(engine, bytes, true));
  return std::shared_ptr<const Module>(std::move(module));
}

Result<void> Module::validate(Engine& engine, std::span<const uint8_t> bytes) {
  KILN_TRY(decode_and_validate(engine, bytes, false));
  return {};
}

}  // namespace kiln
