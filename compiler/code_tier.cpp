// The JIT as runtime/ sees it (runtime/tier.h): compiles functions with the code generator on
// the x64 macro-assembler into their own code pages, and enters generated code through one
// entry stub.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "compiler/code_generator.h"
#include "compiler/code_memory.h"
#include "compiler/fault_handler.h"
#include "compiler/x64/macro_assembler_x64.h"
#include "runtime/function_validator_run.h"
#include "runtime/module.h"

namespace kiln {

namespace {

using EntryStub = uint32_t (*)(VmContext* vm, uint64_t* fp, const void* code);

class X64CodeTier final : public CodeTier {
 public:
  X64CodeTier() : features_(jit::X64Features::host()) {}

  std::unique_ptr<NativeFunction> compile(const Module& module, uint32_t function_index,
                                          const CodeTierOptions& options) override {
    // The code region, the fault handler and the entry stubs are made at the first compile, not
    // with the tier: a run the interpreter finishes alone (a WASI hello-world: small modules are
    // interpreted until hot) makes none of their system calls or page faults. Without them
    // (no shared memory, say) nothing compiles and the interpreter runs everything.
    std::call_once(prepared_, [this] { prepare(); });
    if (!usable_) {
      not_compiled_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    return compile_prepared(module, function_index, options);
  }

  uint32_t enter(VmContext* vm, uint64_t* fp, const NativeFunction& function,
                 const void* code) override {
    if (code != function.entry) loop_entries_.fetch_add(1, std::memory_order_relaxed);
    return entry_[function.consumes_fuel](vm, fp, code);
  }

  CodeTierStats stats() const override {
    return {
        compiled_.load(std::memory_order_relaxed), not_compiled_.load(std::memory_order_relaxed),
        code_bytes_.load(std::memory_order_relaxed), loop_entries_.load(std::memory_order_relaxed)};
  }

  void enable_perf_map() override { perf_map_.store(true, std::memory_order_relaxed); }

  void release(NativeFunction& function) override {
    memory_->release(reinterpret_cast<uint8_t*>(function.start), function.size);
    function.entry = nullptr;
  }

 private:
  void prepare() {
    memory_ = std::make_unique<jit::CodeMemory>();
    if (!memory_->usable() || !jit::install_fault_handler(*memory_)) return;
    for (bool fuel : {false, true}) {
      const jit::CodeSpan span = memory_->allocate(jit::kEntryStubMaxBytes);
      if (!span.writable ||
          jit::assemble_x64_entry_stub(span.writable, reinterpret_cast<uintptr_t>(span.executable),
                                       fuel) == 0) {
        return;
      }
      memory_->publish(span, jit::kEntryStubMaxBytes, nullptr);
      entry_[fuel] = reinterpret_cast<EntryStub>(span.executable);
    }
    usable_ = true;
  }

  std::unique_ptr<NativeFunction> compile_prepared(const Module& module, uint32_t function_index,
                                                   const CodeTierOptions& options) {
    // One macro-assembler per thread, reset for each function compiled with the same options
    // (making one, its CodeHolder and zone, was 1.8 % of compiling the largest workload), and
    // one decoder and one set of generator buffers, whose vectors keep their capacity from
    // function to function (allocating them anew was about 1,700 of the 2,900 allocations of
    // compiling the largest workload).
    thread_local std::unique_ptr<jit::MacroAssembler> reused;
    thread_local CodeTierOptions reused_options;
    thread_local std::optional<FunctionValidator> reused_decoder;
    thread_local jit::CodeGenerator::Buffers generator_buffers;
    if (!reused || !(reused_options == options)) {
      reused = jit::create_x64_macro_assembler(features_, options);
      reused_options = options;
    } else {
      reused->reset();
    }
    if (reused_decoder) {
      reused_decoder->reset(module, function_index);
    } else {
      reused_decoder.emplace(module, function_index);
    }
    jit::MacroAssembler* masm = reused.get();
    FunctionValidator& decoder = *reused_decoder;
    // A large body's buffers are not lent: a thread would keep what its value stack grew to for
    // good (up to 48 bytes a value, a value for every two bytes of code at worst).
    constexpr size_t kLendBuffersUpTo = 32 * 1024;
    const size_t body_bytes = module.bodies[function_index - module.imported_functions].code.size();
    jit::CodeGenerator generator(module, *masm, options,
                                 body_bytes <= kLendBuffersUpTo ? &generator_buffers : nullptr);
    if (!decoder.run(generator) || generator.failed() || !masm->finish()) {
      not_compiled_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    const size_t bytes = masm->size();
    const jit::CodeSpan span = memory_->allocate(bytes);
    if (!span.writable) {
      not_compiled_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    uint8_t* p = span.executable;
    if (!masm->copy_to(span.writable, reinterpret_cast<uintptr_t>(p))) {
      memory_->release(p, bytes);
      not_compiled_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    auto native = std::make_unique<NativeFunction>();
    native->entry = p;
    native->start = reinterpret_cast<uintptr_t>(p);
    native->size = bytes;
    native->function_index = function_index;
    native->consumes_fuel = options.consume_fuel;
    native->data = generator.take_code_data();
    for (const jit::CodeGenerator::LoopEntry& loop : generator.loop_entries()) {
      native->loop_entries.emplace_back(loop.module_offset, masm->label_offset(loop.entry));
    }
    if (options.bounds == BoundsChecks::kGuardPages) {
      native->sites = generator.memory_access_sites();
      native->memory_fault_entry = masm->label_offset(generator.memory_fault_label());
    }
    // Known to the fault handler before it first runs (the caller publishes the entry).
    memory_->publish(span, bytes, native.get());
    if (perf_map_.load(std::memory_order_relaxed)) write_perf_map(module, *native);
    compiled_.fetch_add(1, std::memory_order_relaxed);
    code_bytes_.fetch_add(native->size, std::memory_order_relaxed);
    return native;
  }

  // One line per function, "START SIZE NAME" in hex (the format perf reads for JIT code).
  void write_perf_map(const Module& module, const NativeFunction& native) {
    std::string name = module.function_name(native.function_index);
    if (name.empty()) name = "function " + std::to_string(native.function_index);
    const std::string module_name =
        module.names().module_name.empty() ? "wasm" : module.names().module_name;
    std::lock_guard lock(perf_map_mutex_);
    if (!perf_map_file_) {
      const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
      perf_map_file_ = std::fopen(path.c_str(), "a");
      if (!perf_map_file_) return;
    }
    std::fprintf(perf_map_file_, "%lx %lx %s!%s\n", static_cast<unsigned long>(native.start),
                 static_cast<unsigned long>(native.size), module_name.c_str(), name.c_str());
    std::fflush(perf_map_file_);
  }

  jit::X64Features features_;
  std::once_flag prepared_;
  bool usable_ = false;                      // set by prepare, read after its call_once
  std::unique_ptr<jit::CodeMemory> memory_;  // (released never: see kiln::code_tier)
  EntryStub entry_[2] = {};  // [consumes_fuel]: with fuel, the stub keeps it in its register
  std::atomic<bool> perf_map_{false};
  std::mutex perf_map_mutex_;
  std::FILE* perf_map_file_ = nullptr;
  std::atomic<uint64_t> compiled_{0}, not_compiled_{0}, code_bytes_{0}, loop_entries_{0};
};

}  // namespace

std::unique_ptr<CodeTier> create_code_tier() {
  return std::make_unique<X64CodeTier>();
}

}  // namespace kiln
