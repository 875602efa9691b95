#include "runtime/module.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "runtime/function_validator.h"
#include "runtime/interpreter_code.h"
#include "runtime/interpreter_translator.h"
#include "runtime/memory_image.h"
#include "runtime/module_decoder.h"
#include "runtime/store.h"
#include "runtime/tier.h"

namespace kiln {

Module::~Module() {
  for (auto& native : native_code_) native_tier_->release(*native);
}

const MemoryImage* Module::memory_image_for_instantiation() const {
  if (instantiations_.fetch_add(1, std::memory_order_relaxed) == 0) return nullptr;
  std::call_once(image_once_, [this] { image_ = MemoryImage::create(*this); });
  return image_.get();
}

const NativeFunction* Module::native_function(CodeTier& tier, const CodeTierOptions& options,
                                              uint32_t defined_index, bool hot) const {
  const CompiledFunction& function = *compiled[defined_index];
  using State = CompiledFunction::NativeState;
  if (function.native_state.load(std::memory_order_acquire) != State::kNotTried) {
    return function.native.load(std::memory_order_acquire);
  }
  std::lock_guard lock(native_mutex_);
  if (function.native_state.load(std::memory_order_relaxed) != State::kNotTried) {
    return function.native.load(std::memory_order_relaxed);
  }
  // Not compiled yet: the interpreter runs it this time (its code made under the lock, which
  // the next caller takes too before it reads the code). A function with a loop only if the
  // interpreter can hand each of its loops over to machine code once hot.
  const bool loop_entries = options.loop_iterations_before_compile != 0;
  if (!hot && options.interpreted_calls_before_compile && (!function.has_loops || loop_entries) &&
      function.interpreted_calls.fetch_add(1, std::memory_order_relaxed) <
          options.interpreted_calls_before_compile) {
    translate_for_interpreter(defined_index, options, loop_entries);
    if (!function.has_loops || function.loops_enterable) return nullptr;
  }
  std::unique_ptr<NativeFunction> native =
      tier.compile(*this, imported_functions + defined_index, options);
  if (!native) {
    // The interpreter runs it from now on (the release below publishes its code to the
    // interpreter's acquire of native_state).
    translate_for_interpreter(defined_index, options, false);
    function.native_state.store(State::kNotCompilable, std::memory_order_release);
    return nullptr;
  }
  native_tier_ = &tier;
  const NativeFunction* result = native.get();
  native_code_.push_back(std::move(native));
  function.native.store(result, std::memory_order_release);
  function.native_entry.store(result->entry, std::memory_order_release);
  function.native_state.store(State::kCompiled, std::memory_order_release);
  return result;
}

void Module::translate_for_interpreter(uint32_t defined_index, const CodeTierOptions& options,
                                       bool loop_entries) const {
  CompiledFunction& out = *compiled[defined_index];
  if (!out.code.empty()) return;
  // The body validated when the module was compiled, so the translation cannot fail.
  FunctionValidator validator(*this, imported_functions + defined_index);
  InterpreterTranslator translator(*this, out, options.consume_fuel, options.epoch_interruption,
                                   loop_entries);
  if (!validator.run(translator)) {
    std::fprintf(stderr, "kiln: internal error: function %u validated but does not translate\n",
                 imported_functions + defined_index);
    std::abort();
  }
}

const Export* Module::find_export(std::string_view name, size_t hint) const {
  if (hint < exports.size() && exports[hint].name == name) return &exports[hint];
  for (const Export& e : exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const NameSection& Module::names() const {
  std::call_once(names_once_, [this] {
    if (!name_section.empty()) names_ = decode_name_section(name_section, name_section_offset);
  });
  return names_;
}

std::string Module::function_name(uint32_t function_index) const {
  const NameSection& names = this->names();
  auto it = std::lower_bound(names.functions.begin(), names.functions.end(), function_index,
                             [](const std::pair<uint32_t, std::string_view>& entry,
                                uint32_t index) { return entry.first < index; });
  if (it == names.functions.end() || it->first != function_index) return std::string();
  return std::string(it->second);
}

namespace {

// The bytes of all function bodies (what the parallel and the small-module decisions weigh).
size_t function_body_bytes(const Module& module) {
  size_t bytes = 0;
  for (const FunctionBody& b : module.bodies) bytes += b.code.size();
  return bytes;
}

// Validates the defined functions of `module` that `next` hands out, in turn, until it hands
// out UINT32_MAX (and with `translate`, prepares each for running: translated now with
// `translate_now`, else its frame and what the tiers need). On an error, `failed` is the
// function it was in.
template <class Next>
Result<void> validate_each(Engine& engine, Module& module, Next&& next, bool translate,
                           bool translate_now, uint32_t& failed) {
  uint32_t i = next();
  if (i == UINT32_MAX) return {};
  // One validator and one translator for them all: their buffers serve every function.
  FunctionValidator validator(module, module.imported_functions + i);
  std::optional<InterpreterTranslator> translator;
  for (bool first = true; i != UINT32_MAX; i = next(), first = false) {
    failed = i;
    if (!first) validator.reset(module.imported_functions + i);
    if (!translate) {
      KILN_TRY(validator.validate());
      continue;
    }
    CompiledFunction& out = *module.compiled[i];
    if (translate_now) {
      if (translator) {
        translator->retarget(out);
      } else {
        // Under the auto tier, loops hand the frame over to machine code once hot, as in a
        // translation at the first call (Module::native_function).
        const bool loop_entries =
            engine.code_tier() && engine.config().loop_iterations_before_compile != 0;
        translator.emplace(module, out, engine.config().consume_fuel,
                           engine.config().epoch_interruption, loop_entries);
      }
      KILN_TRY(validator.run(*translator));
    } else {
      KILN_TRY(validator.validate());
      InterpreterTranslator::set_frame_layout(validator, out);
      out.frame_cells = InterpreterTranslator::frame_cells(validator, out);
    }
    out.loop_locals = validator.take_loop_locals();
    out.leaf = !validator.makes_calls();
    out.has_loops = validator.has_loops();
    out.max_operand_cells = validator.max_operand_cells();
  }
  return {};
}

// Validates defined functions [first, last) of `module`, in order (as validate_each).
Result<void> validate_range(Engine& engine, Module& module, uint32_t first, uint32_t last,
                            bool translate, bool translate_now) {
  uint32_t failed = 0;
  return validate_each(
      engine, module, [&first, last] { return first < last ? first++ : UINT32_MAX; }, translate,
      translate_now, failed);
}

}  // namespace

// A module's bodies validated (and prepared, as validate_each) by any number of threads at
// once, each taking the next function in turn. Bodies are independent of each other: a
// translation writes only its own function's CompiledFunction (a call names its callee's,
// allocated before any translation). Every function before one that fails was handed out before
// it, so the lowest function any thread fails in is the first invalid one: the error a single
// thread finds.
class SharedBodies {
 public:
  SharedBodies(Engine& engine, Module& module, bool translate, bool translate_now)
      : engine_(engine),
        module_(module),
        defined_(static_cast<uint32_t>(module.bodies.size())),
        translate_(translate),
        translate_now_(translate_now) {}

  // Takes and handles functions until none is left (or one failed, here or elsewhere).
  void work() {
    uint32_t failed = 0;
    auto r = validate_each(
        engine_, module_,
        [this] {
          const uint32_t i = next_.fetch_add(1, std::memory_order_relaxed);
          return i < defined_ ? i : UINT32_MAX;
        },
        translate_, translate_now_, failed);
    if (r) return;
    next_.store(defined_, std::memory_order_relaxed);  // the others take nothing more
    std::lock_guard lock(mutex_);
    if (failed < failed_) {
      failed_ = failed;
      error_ = r.take_error();
    }
  }

  // Once every work() has returned: the first invalid function's error, or none.
  Result<void> result() const {
    if (failed_ != UINT32_MAX) return error_;
    return {};
  }

 private:
  Engine& engine_;
  Module& module_;
  const uint32_t defined_;
  const bool translate_, translate_now_;
  std::atomic<uint32_t> next_{0};
  std::mutex mutex_;
  uint32_t failed_ = UINT32_MAX;  // the lowest function an error was found in
  Error error_;
};

namespace {

// Validates every function body (and with `translate_now`, translates each for the
// interpreter). A large module's are shared by threads (SharedBodies; wasmtime compiles in
// parallel likewise), and the error reported is the one a single thread finds.
Result<void> validate_bodies(Engine& engine, Module& module, bool translate, bool translate_now,
                             bool parallel) {
  const uint32_t defined = static_cast<uint32_t>(module.bodies.size());
  // Below this much code per thread, starting a thread (tens of microseconds, and more in a
  // process just started: its stack and heap fault in) costs more than handling its share.
  // Validation alone takes about 4 ns per byte, a translation about ten times that, yet a WASI
  // hello-world's 26 KB translated on two threads started no sooner (medians of 250 interleaved
  // runs: 2.11 ms against 2.02 on one) and took 0.3 ms more CPU: a small module (the auto
  // tier's translate_small_module_now, 32 KB at most) stays on one thread.
  const size_t bytes_per_thread = translate_now ? 64 * 1024 : 24 * 1024;
  constexpr size_t kMaxThreads = 4;
  const size_t bytes = function_body_bytes(module);
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t parts = std::min({kMaxThreads, cores, bytes / bytes_per_thread});
  if (!parallel || !engine.config().parallel_compilation || parts < 2) {
    return validate_range(engine, module, 0, defined, translate, translate_now);
  }
  SharedBodies shared(engine, module, translate, translate_now);
  std::vector<std::thread> threads;
  for (size_t t = 1; t < parts; ++t) {
    try {
      threads.emplace_back([&shared] { shared.work(); });
    } catch (...) {  // no more threads to be had: the ones started and this one share it all
      break;
    }
  }
  shared.work();
  for (std::thread& t : threads) t.join();
  return shared.result();
}

// Under the auto tier (functions interpreted first), whether a small module's functions are
// all translated in the validation pass instead of each at its first call. A translation at a
// first call decodes and validates the body again (about a third of its cost), so translating
// everything at once is cheaper when most of the code runs, as in a small program linked with a
// libc (a WASI hello-world runs 84 % of its 26 KB of code: 5.10M instructions against 5.86M),
// and costs at most the translation of code that never runs in a module this small.
bool translate_small_module_now(const Engine& engine, const Module& module) {
  constexpr size_t kSmallCode = 32 * 1024;
  if (engine.config().interpreted_calls_before_compile == 0 || engine.config().eager_compilation) {
    return false;
  }
  return function_body_bytes(module) <= kSmallCode;
}

// With a code tier, functions run as machine code: the interpreter's translation waits until
// the tier cannot compile one (Module::native_function), so neither start-up nor compile time
// pays for it.
bool translates_now(const Engine& engine, const Module& module) {
  return !engine.code_tier() || translate_small_module_now(engine, module);
}

// With EngineConfig::eager_compilation, every function of a validated module compiled now,
// whatever the tier's counts say (as hot: the auto tier would otherwise count this as a call
// and interpret).
void compile_eagerly(Engine& engine, const Module& module) {
  if (!engine.code_tier() || !engine.config().eager_compilation) return;
  for (uint32_t i = 0, defined = static_cast<uint32_t>(module.bodies.size()); i < defined; ++i) {
    module.native_function(*engine.code_tier(), engine.code_tier_options(), i, true);
  }
}

// Validates all of a module decode_module has decoded but its function bodies (and with
// `translate`, prepares what their translations and calls need).
Result<void> validate_structure(Engine& engine, Module& module, bool translate) {
  module.engine = &engine;
  module.multi_memory = engine.config().multi_memory;
  KILN_TRY(validate_module_structure(module));
  module.type_ids.reserve(module.types.size());
  module.interned_types.reserve(module.types.size());
  module.type_references = TypeReferences(engine.shared_types());
  for (const FuncType& t : module.types) {
    const TypeRegistry::Interned interned = module.type_references.intern(t);
    module.type_ids.push_back(interned.id);
    module.interned_types.push_back(interned.type);
  }
  if (translate) {
    // Allocated up front so calls can point at their callee before it is translated.
    const uint32_t defined = static_cast<uint32_t>(module.bodies.size());
    module.compiled.reserve(defined);
    for (uint32_t i = 0; i < defined; ++i) {
      module.compiled.push_back(std::make_unique<CompiledFunction>());
      module.compiled[i]->type_id =
          module.type_ids[module.functions[module.imported_functions + i]];
    }
  }
  return {};
}

// Validates the function bodies of a module validate_structure has validated (and with
// `translate`, prepares them for running); with `parallel`, a large module's on several threads.
Result<void> validate_function_bodies(Engine& engine, Module& module, bool translate,
                                      bool parallel) {
  KILN_TRY(validate_bodies(engine, module, translate, translate && translates_now(engine, module),
                           parallel));
  if (translate) compile_eagerly(engine, module);
  return {};
}

// Validates (and with `translate`, prepares for running) a module decode_module has decoded.
Result<void> validate_decoded(Engine& engine, Module& decoded, bool translate) {
  KILN_TRY(validate_structure(engine, decoded, translate));
  return validate_function_bodies(engine, decoded, translate, true);
}

Result<std::shared_ptr<Module>> decode_and_validate(Engine& engine, std::vector<uint8_t> bytes,
                                                    bool translate) {
  auto module = std::make_shared<Module>();
  module->storage = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  module->bytes = *module->storage;
  KILN_TRY(decode_module(*module));
  KILN_TRY(validate_decoded(engine, *module, translate));
  return module;
}

}  // namespace

Result<std::shared_ptr<const Module>> Module::compile(Engine& engine,
                                                      std::span<const uint8_t> bytes) {
  return compile(engine, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Result<std::shared_ptr<const Module>> Module::compile(Engine& engine,
                                                      std::vector<uint8_t>&& bytes) {
  KILN_ASSIGN(std::shared_ptr<Module> module, decode_and_validate(engine, std::move(bytes), true));
  return std::shared_ptr<const Module>(std::move(module));
}

Result<std::shared_ptr<const Module>> Module::compile_decoded(Engine& engine,
                                                              std::shared_ptr<Module> decoded) {
  KILN_ASSIGN(std::shared_ptr<Module> module, compile_structure(engine, std::move(decoded)));
  KILN_TRY(compile_bodies(engine, *module));
  return std::shared_ptr<const Module>(std::move(module));
}

Result<std::shared_ptr<Module>> Module::compile_structure(Engine& engine,
                                                          std::shared_ptr<Module> decoded) {
  // Compiled once already (its engine is set): the validated parts cannot be filled twice, so
  // its bytes are decoded anew.
  if (decoded->engine) {
    auto module = std::make_shared<Module>();
    module->storage = decoded->storage ? decoded->storage
                                       : std::make_shared<const std::vector<uint8_t>>(
                                             decoded->bytes.begin(), decoded->bytes.end());
    module->bytes = decoded->storage ? decoded->bytes : std::span(*module->storage);
    KILN_TRY(decode_module(*module));
    decoded = std::move(module);
  }
  KILN_TRY(validate_structure(engine, *decoded, true));
  return decoded;
}

Result<void> Module::compile_bodies(Engine& engine, Module& module, bool parallel) {
  return validate_function_bodies(engine, module, true, parallel);
}

Module::BodyCompilation::BodyCompilation(Engine& engine, std::shared_ptr<Module> module)
    : engine_(engine),
      module_(std::move(module)),
      shared_(std::make_unique<SharedBodies>(engine, *module_, true,
                                             translates_now(engine, *module_))) {}

Module::BodyCompilation::~BodyCompilation() = default;

void Module::BodyCompilation::work() {
  shared_->work();
}

Result<void> Module::BodyCompilation::finish() {
  KILN_TRY(shared_->result());
  compile_eagerly(engine_, *module_);
  return {};
}

Result<void> Module::validate(Engine& engine, std::span<const uint8_t> bytes) {
  KILN_TRY(decode_and_validate(engine, std::vector<uint8_t>(bytes.begin(), bytes.end()), false));
  return {};
}

}  // namespace kiln
