// A decoded and validated module (spec 2.5). Immutable once compiled, shareable across stores
// and threads (DESIGN-NOTES section 6).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/result.h"
#include "runtime/types.h"

namespace kiln {

class Engine;
class CodeTier;
struct CodeTierOptions;
struct CompiledFunction;
struct NativeFunction;

// A constant expression (spec 3.3.10), kept decoded. Wasm 2.0 allows one producing
// instruction; the vector leaves room for extended-const.
struct ConstInstr {
  uint32_t opcode = 0;
  uint64_t bits = 0;             // value of t.const (float bits for f32/f64; v128 low half)
  uint64_t bits_hi = 0;          // v128.const's high half
  uint32_t index = 0;            // global.get / ref.func index
  ValType type = ValType::kI32;  // ref.null's type
};
struct ConstExpr {
  std::vector<ConstInstr> instrs;
};

struct Import {
  std::string module;
  std::string name;
  ExternKind kind = ExternKind::kFunction;
  uint32_t type_index = 0;  // function and tag imports
  TableType table;
  MemoryType memory;
  GlobalType global;
};

struct Export {
  std::string name;
  ExternKind kind = ExternKind::kFunction;
  uint32_t index = 0;
};

struct Global {
  GlobalType type;
  ConstExpr init;
};

enum class SegmentMode : uint8_t { kActive, kPassive, kDeclarative };

struct ElementSegment {
  SegmentMode mode = SegmentMode::kPassive;
  ValType type = ValType::kFuncRef;
  uint32_t table_index = 0;
  ConstExpr offset;
  std::vector<ConstExpr> items;  // ref.func / ref.null / global.get
};

struct DataSegment {
  SegmentMode mode = SegmentMode::kPassive;
  uint32_t memory_index = 0;
  ConstExpr offset;
  std::span<const uint8_t> bytes;  // points into Module::bytes
};

struct LocalDecl {
  uint32_t count = 0;
  ValType type = ValType::kI32;
};

struct FunctionBody {
  // Declared locals (not parameters) as the binary gives them: runs of (count, type), so a
  // body that declares 50,000 locals in one run costs one entry, not 50,000.
  std::vector<LocalDecl> locals;
  size_t code_offset = 0;         // absolute offset of the first instruction
  std::span<const uint8_t> code;  // instructions up to and including the final `end`
};

// The custom "name" section (appendix 7.4): kept for backtraces and diagnostics.
struct NameSection {
  std::string module_name;
  // The function name map by increasing function index, as views of Module::bytes: a module's
  // names cost no allocation each.
  std::vector<std::pair<uint32_t, std::string_view>> functions;
};

struct CustomSection {
  std::string name;
  std::span<const uint8_t> bytes;
};

class MemoryImage;
class SharedBodies;

class Module {
 public:
  // Decodes, validates and translates `bytes` (copied). Errors name the section, item and
  // byte offset.
  static Result<std::shared_ptr<const Module>> compile(Engine& engine,
                                                       std::span<const uint8_t> bytes);
  // The same, taking the bytes over instead of copying them (a copy of a large module's bytes
  // faults in every page of it once more).
  static Result<std::shared_ptr<const Module>> compile(Engine& engine,
                                                       std::vector<uint8_t>&& bytes);
  // Validates and translates a module that decode_module has decoded (and nothing else has
  // touched: the component decoder's), without decoding it again. A module compiled before is
  // decoded anew from its bytes.
  static Result<std::shared_ptr<const Module>> compile_decoded(Engine& engine,
                                                               std::shared_ptr<Module> decoded);
  // compile_decoded in two steps, for a caller with other work to do while the function
  // bodies are validated and translated (a component validates its own definitions
  // meanwhile). compile_structure validates all but the bodies: the module's types, imports
  // and exports may then be read. compile_bodies does the rest (the heavy part, on any thread,
  // while the structure is read elsewhere: it writes only each function's CompiledFunction);
  // the module must not be instantiated before it has succeeded. Without `parallel`, the
  // bodies stay on the calling thread (one that is itself beside others).
  static Result<std::shared_ptr<Module>> compile_structure(Engine& engine,
                                                           std::shared_ptr<Module> decoded);
  static Result<void> compile_bodies(Engine& engine, Module& module, bool parallel = true);
  // compile_bodies shared by any number of threads, each taking the next function in turn: for
  // a caller that leaves it to a thread and joins in once its own work is done (the component
  // validator). finish, once every work() has returned, reports the first function's error in
  // the module's order, as compile_bodies would, and compiles eagerly if the engine says so.
  class BodyCompilation {
   public:
    BodyCompilation(Engine& engine, std::shared_ptr<Module> module);
    ~BodyCompilation();
    void work();
    Result<void> finish();

   private:
    Engine& engine_;
    std::shared_ptr<Module> module_;
    std::unique_ptr<SharedBodies> shared_;  // (module.cpp: validate_bodies's threads share one too)
  };
  // Decode and validate only.
  static Result<void> validate(Engine& engine, std::span<const uint8_t> bytes);
  ~Module();

  // The module's binary: `bytes` views it and `storage` keeps it alive (the module's own
  // copy, or the binary of the component that holds it: a component's core modules are not
  // copied out of it).
  std::shared_ptr<const std::vector<uint8_t>> storage;
  std::span<const uint8_t> bytes;
  std::vector<FuncType> types;
  std::vector<uint32_t> type_ids;               // engine-interned id of each type
  std::vector<const FuncType*> interned_types;  // the engine's copy of each (TypeRegistry)
  TypeReferences type_references;               // held on type_ids while the module lives
  std::vector<Import> imports;
  std::vector<uint32_t> functions;   // type index of every function, imports first
  std::vector<TableType> tables;     // imports first
  std::vector<MemoryType> memories;  // imports first
  std::vector<Global> globals;       // imports first (their init is empty)
  std::vector<uint32_t> tags;        // type index of every tag (Wasm 3.0), imports first
  uint32_t imported_functions = 0, imported_tables = 0, imported_memories = 0, imported_globals = 0;
  uint32_t imported_tags = 0;
  std::vector<Export> exports;
  std::optional<uint32_t> start;
  std::vector<ElementSegment> elements;
  std::vector<DataSegment> data;
  std::optional<uint32_t> data_count;
  std::vector<FunctionBody> bodies;  // defined functions only
  std::vector<CustomSection> custom_sections;
  // The name section's contents and their absolute offset (empty: none), decoded by names().
  std::span<const uint8_t> name_section;
  size_t name_section_offset = 0;
  // Functions that ref.func may name in code (spec 3.4.10: C.refs).
  std::vector<bool> declared_function_refs;
  // Each defined function as the tiers run it: its interpreter code (translated when the
  // module is compiled; with a code tier, only once the tier cannot compile the function) and
  // its machine code.
  std::vector<std::unique_ptr<CompiledFunction>> compiled;
  // Decoded with Wasm 3.0 multi-memory (EngineConfig::multi_memory).
  bool multi_memory = true;
  // The engine that compiled the module: its type ids and its tier's choices hold only there.
  const Engine* engine = nullptr;

  const FuncType& function_type(uint32_t function_index) const {
    return types[functions[function_index]];
  }
  const FuncType& tag_type(uint32_t tag_index) const { return types[tags[tag_index]]; }
  // `hint`: where the export likely is (a component's instantiation knows it from validation),
  // checked first.
  const Export* find_export(std::string_view name, size_t hint = SIZE_MAX) const;
  // The machine code of defined function `defined_index` (tier.h), compiled by `tier` now if it
  // was not tried before; null when the tier cannot compile it, or is not to yet
  // (options.interpreted_calls_before_compile): the interpreter runs it. `hot`: its loops
  // have run long enough (options.loop_iterations_before_compile), compile it now.
  // Thread-safe: a module is shared across stores and threads.
  const NativeFunction* native_function(CodeTier& tier, const CodeTierOptions& options,
                                        uint32_t defined_index, bool hot = false) const;
  // The name section, decoded at its first use (a backtrace, a perf map): most runs never
  // need it, and a component's preview1 adapter carries 11 KB of names. Empty when absent or
  // malformed (custom sections are not validated). Thread-safe.
  const NameSection& names() const;
  // "name" from the name section, or "" when absent.
  std::string function_name(uint32_t function_index) const;
  // For an instantiation (once each): the copy-on-write image of the first defined memory's
  // data (memory_image.h), made at the module's second instantiation (one instance copies its
  // segments sooner than it makes an image); null before, or when the module has none.
  // Thread-safe.
  const MemoryImage* memory_image_for_instantiation() const;
  // The image, if made (for tests: instantiations on other threads are not synchronized with).
  const MemoryImage* memory_image() const { return image_.get(); }

 private:
  // Makes defined function `defined_index`'s interpreter code if it has none (under
  // native_mutex_); with `loop_entries`, its loop headers count iterations and hand the frame
  // over to machine code when hot (CodeTierOptions::loop_iterations_before_compile).
  void translate_for_interpreter(uint32_t defined_index, const CodeTierOptions& options,
                                 bool loop_entries) const;

  mutable std::once_flag names_once_;
  mutable NameSection names_;
  mutable std::atomic<uint32_t> instantiations_{0};
  mutable std::once_flag image_once_;
  mutable std::shared_ptr<const MemoryImage> image_;  // shared: its deleter is type-erased
  mutable std::mutex native_mutex_;
  mutable CodeTier* native_tier_ = nullptr;  // the tier that owns native_code_'s code
  mutable std::vector<std::unique_ptr<NativeFunction>> native_code_;
};

// Implementation limits, in the spirit of the JS embedding limits (kiln's own; documented).
struct ModuleLimits {
  static constexpr uint32_t kMaxTypes = 1000000;
  static constexpr uint32_t kMaxFunctions = 1000000;
  static constexpr uint32_t kMaxImports = 100000;
  static constexpr uint32_t kMaxExports = 100000;
  static constexpr uint32_t kMaxGlobals = 1000000;
  static constexpr uint32_t kMaxSegments = 100000;
  static constexpr uint32_t kMaxTableSize = 10000000;
  static constexpr uint32_t kMaxLocals = 50000;  // per function, parameters not included
  // Declared locals of all functions together: validation and translation take time per
  // local, so a small module must not declare billions (20,000 bodies of 7 bytes, each with
  // 50,000 locals).
  static constexpr uint64_t kMaxModuleLocals = 10000000;
  static constexpr uint32_t kMaxParams = 1000;
  static constexpr uint32_t kMaxResults = 1000;
  static constexpr uint32_t kMaxBrTableSize = 1000000;
  static constexpr uint64_t kMaxMemoryPages = 65536;  // spec: 4 GiB for 32-bit memories
};

}  // namespace kiln
