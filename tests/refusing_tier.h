// A code tier for tests of mixed tiers (DESIGN-NOTES section 7): the JIT for every function
// but the ones named, which it refuses, so the interpreter runs them between compiled ones.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "runtime/module.h"
#include "runtime/tier.h"

namespace kiln {

class RefusingTier final : public CodeTier {
 public:
  RefusingTier(CodeTier& jit, std::set<std::string> refused) : jit_(jit), refused_(refused) {}
  std::unique_ptr<NativeFunction> compile(const Module& module, uint32_t function_index,
                                          const CodeTierOptions& options) override {
    const std::string name = module.function_name(function_index);
    if (refused_.count(name)) {
      asked_.insert(name);
      return nullptr;
    }
    return jit_.compile(module, function_index, options);
  }
  uint32_t enter(VmContext* vm, uint64_t* fp, const NativeFunction& function,
                 const void* code) override {
    return jit_.enter(vm, fp, function, code);
  }
  void release(NativeFunction& function) override { jit_.release(function); }
  CodeTierStats stats() const override { return jit_.stats(); }
  void enable_perf_map() override {}
  const std::set<std::string>& refused_so_far() const { return asked_; }

 private:
  CodeTier& jit_;
  std::set<std::string> refused_;
  std::set<std::string> asked_;
};

}  // namespace kiln
