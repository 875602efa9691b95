// Engine, store and runtime objects (spec 4.2): function, table, memory and global instances,
// module instances, instantiation (spec 4.5.4) and invocation (spec 4.5.5).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/budget.h"
#include "runtime/function_arena.h"
#include "runtime/linear_memory.h"
#include "runtime/module.h"
#include "runtime/native_stack.h"
#include "runtime/result.h"
#include "runtime/tier.h"
#include "runtime/trap.h"
#include "runtime/types.h"
#include "runtime/vm_context.h"

namespace kiln {

struct CompiledFunction;
struct ExceptionCatch;
class Store;
struct Instance;
class MemoryImage;

struct EngineConfig {
  // Compile fuel charges into code (docs/BUDGETS.md); stores then need fuel to run.
  bool consume_fuel = false;
  // Fuel charged for each call of a host function, on top of the call instruction.
  uint64_t host_call_fuel = 0;
  // Compile epoch checks into function entries and loop headers (deadlines).
  bool epoch_interruption = false;
  // Which tier runs code (tier.h). kJit (the default) falls back to the interpreter when kiln
  // has no JIT for this machine, and for the functions the JIT does not compile. The
  // environment variable KILN_TIER=interp (or jit) changes the default for the whole process:
  // the test command runs the unit tests, C embedders included, under each tier that way.
  Tier tier = default_tier();
  BoundsChecks bounds_checks = BoundsChecks::kGuardPages;
  // Wasm 3.0 multi-memory: modules may have several memories, and memory instructions name
  // one (memarg bit 6, memory.size/grow/init/copy/fill immediates). Off gives Wasm 2.0's
  // binary format, where those immediates are zero bytes (the 2.0 testsuite checks it).
  bool multi_memory = true;
  // Compile every function when its module is compiled, not at its first call.
  bool eager_compilation = false;
  // Validate a large module's function bodies, and translate them for the interpreter when
  // that is done at once, on several threads (up to 4, one per core; module.cpp
  // validate_bodies).
  bool parallel_compilation = true;
  // With the JIT, interpret a function for its first this many calls, or until its loops have
  // iterated loop_iterations_before_compile times (CodeTierOptions; kAutoTierInterpretedCalls
  // and kAutoTierLoopIterations for the auto tier of `kiln run`).
  uint32_t interpreted_calls_before_compile = 0;
  uint32_t loop_iterations_before_compile = 0;
  // The two counts of the auto tier, or none (the JIT compiles every function at its first
  // call).
  void set_auto_tier(bool automatic) {
    interpreted_calls_before_compile = automatic ? kAutoTierInterpretedCalls : 0;
    loop_iterations_before_compile = automatic ? kAutoTierLoopIterations : 0;
  }
  // Name JIT code for Linux perf in /tmp/perf-PID.map (CodeTier::enable_perf_map).
  bool perf_map = false;
};

class Engine {
 public:
  explicit Engine(EngineConfig config = {})
      : Engine(config, config.tier == Tier::kJit ? kiln::code_tier() : nullptr) {}
  // An engine on a code tier of the caller's (tests: one that leaves chosen functions to the
  // interpreter); config.tier is not consulted.
  Engine(EngineConfig config, CodeTier* tier) : config_(config), code_tier_(tier) {
    if (code_tier_ && config.perf_map) code_tier_->enable_perf_map();
  }
  TypeRegistry& types() { return *types_; }
  // For holders of references on the engine's types (TypeReferences), which may outlive it.
  const std::shared_ptr<TypeRegistry>& shared_types() const { return types_; }
  const EngineConfig& config() const { return config_; }
  // The epoch: bumped by a timer or the embedder; stores trap when it reaches their deadline.
  // A tick also interrupts the generated code of every store whose deadline it reaches
  // (StoreContext::native_stack_limit); such stores are registered while they live.
  uint64_t epoch() const { return epoch_.load(std::memory_order_seq_cst); }
  void increment_epoch();
  void watch_deadline(StoreContext* store);
  void unwatch_deadline(StoreContext* store);
  // The code tier this engine uses (null: the interpreter runs everything).
  CodeTier* code_tier() const { return code_tier_; }
  CodeTierOptions code_tier_options() const {
    return {config_.bounds_checks, config_.consume_fuel, config_.epoch_interruption,
            config_.interpreted_calls_before_compile, config_.loop_iterations_before_compile};
  }

 private:
  EngineConfig config_;
  CodeTier* code_tier_ = nullptr;
  std::shared_ptr<TypeRegistry> types_ = std::make_shared<TypeRegistry>();
  std::atomic<uint64_t> epoch_{0};
  std::mutex watched_mutex_;
  std::vector<StoreContext*> watched_;  // stores with epoch interruption
};

// What a host function sees of its caller.
struct HostCall {
  Store& store;
  Instance* caller;  // the calling instance, or null when called from the host
};

// Host functions use the uniform cell ABI (DESIGN-NOTES section 6): `cells` holds the
// arguments and receives the results; it has room for max(params, results) cells.
using HostCallback = std::function<TrapPtr(HostCall& call, uint64_t* cells)>;

// The part of a function instance generated code reads (DESIGN-NOTES section 6), at fixed
// offsets (FunctionHeaderOffsets): call_indirect checks the type id and the instance (and takes
// the machine code from the table's cache: TableHeader).
struct FunctionHeader {
  uint32_t type_id = 0;
  const FuncType* type = nullptr;  // engine-interned
  Instance* instance = nullptr;    // defining instance (null for host functions)
  const CompiledFunction* code = nullptr;
  // The defining instance's VM context (null for host functions): generated code's
  // call_indirect compares it with its own context register to call within the instance.
  const VmContext* vm = nullptr;
};
struct FunctionHeaderOffsets {
  static constexpr int32_t kTypeId = offsetof(FunctionHeader, type_id);
  static constexpr int32_t kVm = offsetof(FunctionHeader, vm);
};

struct FunctionInstance : FunctionHeader {
  HostCallback host;
  std::string host_name;  // for diagnostics and telemetry
  HostCallStats stats;    // calls of this host function (telemetry)
};

struct TableInstance : TableHeader {
  TableType type;                  // limits.min follows the current size
  std::vector<uint64_t> elements;  // references: FunctionInstance* or externref bits; 0 = null
  // Copies of the header in the VM contexts of the instances that have this table as their
  // table 0 (VmContext::table0); the instances live as long as the table (both store-owned).
  std::vector<TableHeader*> header_copies;
  // After `elements` changes size: the header and its copies follow.
  void sync() {
    element_data = elements.data();
    element_count = elements.size();
    copy_header();
  }
  // Records that element `index`'s function `f` has machine code at `entry`, for call_indirect
  // (TableHeader). The cache (4 KiB) is made at the first call through the runtime that can
  // fill it, so a table that never meets call_indirect costs nothing.
  void remember_entry(uint64_t index, const FunctionInstance* f, const void* entry) {
    if (!dispatch_cache) {
      dispatch_cache = std::make_unique<DispatchCache>();
      dispatch = dispatch_cache.get();
      copy_header();
    }
    dispatch_cache->functions[index % kDispatchEntries] = f;
    dispatch_cache->entries[index % kDispatchEntries] = entry;
  }
  std::unique_ptr<DispatchCache> dispatch_cache;  // TableHeader::dispatch, once made
  Store* owner = nullptr;
  void copy_header() {
    for (TableHeader* copy : header_copies) *copy = *this;
  }
  // Spec 4.4.6.4 table.grow: the old size, or -1 (past the type's maximum or a store limit).
  int64_t grow(uint32_t delta, uint64_t init);
};

struct GlobalInstance {
  GlobalType type;
  uint64_t cells[2] = {0, 0};
};

struct MemoryInstance {
  std::unique_ptr<LinearMemory> memory;
  Store* owner = nullptr;
  // Spec 4.4.7.10 memory.grow: the old size in pages, or -1; the owner's accounting follows.
  int64_t grow(uint64_t delta_pages);
};

// A tag (Wasm 3.0 exception handling, spec 4.2.x): its identity is the instance, so two
// instantiations of one module define two tags that catch each other's exceptions only when
// one imported the other's.
struct TagInstance {
  uint32_t type_id = 0;            // engine-interned
  const FuncType* type = nullptr;  // the payload: its parameters
};

// A thrown exception (spec 4.2.x, "exception instances"): the tag and the payload's cells. An
// exnref value is the address of one. Exceptions belong to their store (Store::make_exception).
struct ExceptionObject {
  const TagInstance* tag = nullptr;
  std::vector<uint64_t> payload;  // the tag's parameters, in cells
  // Whether wasm code ever held a reference to it (catch_ref, catch_all_ref): one that was only
  // thrown and caught can be reused by the next throw.
  bool referenced = false;
  uint64_t charged_bytes = 0;  // against the store's memory budget
};

struct Extern {
  ExternKind kind = ExternKind::kFunction;
  // FunctionInstance*, TableInstance*, MemoryInstance*, GlobalInstance*, TagInstance*
  void* object = nullptr;
  FunctionInstance* function() const { return static_cast<FunctionInstance*>(object); }
  TableInstance* table() const { return static_cast<TableInstance*>(object); }
  MemoryInstance* memory() const { return static_cast<MemoryInstance*>(object); }
  GlobalInstance* global() const { return static_cast<GlobalInstance*>(object); }
  TagInstance* tag() const { return static_cast<TagInstance*>(object); }
};

struct Instance {
  std::shared_ptr<const Module> module;
  Store* store = nullptr;
  std::vector<FunctionInstance*> functions;
  std::vector<TableInstance*> tables;
  std::vector<MemoryInstance*> memories;
  std::vector<GlobalInstance*> globals;
  std::vector<TagInstance*> tags;
  std::vector<std::vector<uint64_t>> elements;  // evaluated references; emptied by elem.drop
  std::vector<std::span<const uint8_t>> data;   // emptied by data.drop
  VmContext vm;                                 // what generated code reads (vm_context.h)
  std::optional<Extern> find_export(std::string_view name, size_t hint = SIZE_MAX) const;
};

struct CallFrame;

// One store's wasm stack: value cells and call frames (DESIGN-NOTES section 2: calls do not
// recurse on the native stack). Reserved when the store first runs code, so stores that never
// run cost nothing, and a limit too large for the address space is a trap, not an abort.
struct ExecutionStack {
  ExecutionStack() = default;
  ExecutionStack(const ExecutionStack&) = delete;
  ExecutionStack& operator=(const ExecutionStack&) = delete;
  ~ExecutionStack();
  // Reserves the stacks for `limits` (once); false when the address space cannot hold them.
  bool reserve(const StoreLimits& limits);

  uint64_t* cells = nullptr;
  uint64_t* cells_end = nullptr;
  uint64_t* top = nullptr;  // first free cell; host functions called from wasm see it moved up
  CallFrame* frames = nullptr;
  // The frames the interpreter may push: all the records reserved, or fewer while frames of
  // generated code below it take part of the call depth (Store::interpret).
  uint32_t frame_capacity = 0;
  uint32_t frame_count = 0;
  uint32_t frame_records() const { return frame_records_; }

 private:
  uint32_t frame_records_ = 0;  // reserved
  size_t cells_bytes_ = 0, frames_bytes_ = 0;
};

// Are `limits` ones a store can have? (The stack limits must be at most their k...Limit.)
Result<void> check_store_limits(const StoreLimits& limits);

class Store {
 public:
  explicit Store(Engine& engine, StoreLimits limits = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Engine& engine() { return engine_; }

  // `type` interned in the engine's registry, with a reference held for as long as the store
  // may call the function: the store's own (intern), or the caller's (a validated component's,
  // for its lowerings).
  FunctionInstance* create_host_function(const TypeRegistry::Interned& type, HostCallback callback,
                                         std::string name);
  // Interns `type` for the store's life.
  TypeRegistry::Interned intern(const FuncType& type) { return types_.intern(type); }
  FunctionInstance* create_host_function(const FuncType& type, HostCallback callback,
                                         std::string name = {});
  Result<TableInstance*> create_table(const TableType& type, uint64_t init = 0);
  // With `image`, the memory starts with its bytes when it can be mapped
  // (LinearMemory::has_image).
  Result<MemoryInstance*> create_memory(const MemoryType& type, const MemoryImage* image = nullptr);
  GlobalInstance* create_global(const GlobalType& type, uint64_t low, uint64_t high = 0);
  // A tag whose payload is `type`'s parameters (its results must be empty); or the type's
  // engine-interned id, on which the caller holds a reference (its module's).
  TagInstance* create_tag(const FuncType& type);
  TagInstance* create_tag(uint32_t type_id);

  // Exceptions (Wasm 3.0): a new one of `tag` with `tag`'s payload cells from `payload`, owned
  // by the store. An exception that wasm code never held a reference to is reused once caught
  // (take_exception), so a loop that throws and catches allocates nothing; one it held a
  // reference to lives as long as the store (kiln has no collector for exnref yet).
  ExceptionObject* make_exception(const TagInstance* tag, const uint64_t* payload);
  // Catch clause `c` of a function of `instance`, whose frame is at `frame`, takes `exception`
  // if the clause catches all or names its tag (tags compare by identity): its payload and,
  // for the _ref forms, its reference go to the clause's destination in the frame. False when
  // the clause does not take it. (Both tiers catch with it.)
  bool take_exception(const ExceptionCatch& c, const Instance& instance, ExceptionObject* exception,
                      uint64_t* frame);
  // Exceptions made and not released (telemetry and tests).
  size_t live_exceptions() const { return exceptions_.size() - free_exceptions_.size(); }

  // Spec 4.5.4. `imports` are in the module's import order. A trap while initialising segments
  // or in the start function is an Error whose message is the trap's; `trap` receives it.
  Result<Instance*> instantiate(std::shared_ptr<const Module> module,
                                const std::vector<Extern>& imports, TrapPtr* trap = nullptr);

  // Spec 4.5.5: calls `function` with its arguments in `cells`, which receives the results and
  // must hold max(params, results) cells. Returns null on success.
  TrapPtr invoke(FunctionInstance* function, uint64_t* cells);

  ExecutionStack& stack() { return stack_; }
  const StoreLimits& limits() const { return limits_; }
  // The most elements a table of this store may have.
  uint64_t max_table_elements() const {
    return std::min<uint64_t>(ModuleLimits::kMaxTableSize, limits_.max_table_elements);
  }

  // Fuel (when the engine consumes fuel): set the remaining amount, add to it, ask.
  Result<void> set_fuel(uint64_t fuel);
  Result<void> add_fuel(uint64_t fuel);
  uint64_t fuel_remaining() const { return context_.fuel; }
  uint64_t fuel_consumed() const { return fuel_given_ - context_.fuel; }
  // Takes `cost` fuel if there is that much; false (and nothing taken) if not.
  bool consume_fuel(uint64_t cost) {
    if (context_.fuel < cost) return false;
    context_.fuel -= cost;
    return true;
  }

  // Deadline (when the engine has epoch interruption): trap once the engine's epoch has
  // advanced `ticks` from now, unless `callback` extends it.
  void set_epoch_deadline(uint64_t ticks);
  uint64_t epoch_deadline() const { return context_.epoch_deadline.load(); }
  void set_deadline_callback(DeadlineCallback callback) {
    deadline_callback_ = std::move(callback);
  }
  // Whether the engine's epoch has reached the deadline and the deadline callback (if any)
  // did not extend it: asked by the interpreter's epoch checks, and by host functions while
  // they wait (WASI's poll_oneoff, reads of stdin).
  bool deadline_passed() {
    return engine_.epoch() >= context_.epoch_deadline.load() && !deadline_reached();
  }
  // Sets the stack limit generated code checks (StoreContext::native_stack_limit) from the
  // thread's stack and the deadline: at every entry into generated code, when the deadline
  // moves, and after a deadline check that let the code go on.
  void refresh_native_stack_limit();
  // What generated code and the interpreter share (vm_context.h).
  StoreContext& context() { return context_; }
  // Runs `function` (defined in `instance`) with its frame at `fp` under the code tier when it
  // has machine code (compiled now if it is due); false when the interpreter must run it.
  // `trap` receives the trap, if any.
  bool run_native(Instance& instance, const CompiledFunction& function, uint64_t* fp,
                  TrapPtr& trap);
  // On-stack replacement: compiles `function` if it is not yet and runs its frame at `fp`,
  // which the interpreter has run up to the header of the loop at `loop_offset` (a module byte
  // offset), from that loop's entry in the machine code to the function's return. False when
  // the function has no machine code with such an entry (the interpreter goes on).
  bool run_native_from_loop(Instance& instance, const CompiledFunction& function,
                            uint32_t loop_offset, uint64_t* fp, TrapPtr& trap);
  // Calls host function `function` from wasm code of `caller`, its arguments at `fp` (the top
  // of the caller's operand stack), charging EngineConfig::host_call_fuel.
  TrapPtr call_host_from_wasm(Instance* caller, FunctionInstance* function, uint64_t* fp);
  // Calls any function from generated code through the runtime (imports, indirect calls,
  // functions without machine code), its arguments at `fp`.
  TrapPtr call_from_native(Instance* caller, FunctionInstance* function, uint64_t* fp);
  // Runs `function` in the interpreter, its frame at `fp`; the frames of generated code
  // enclosing the call (if any) count against its call depth.
  TrapPtr interpret(FunctionInstance* function, uint64_t* fp);
  // The frames of generated code in the current entry so far (0 when none is active).
  int64_t native_frames_of_current_entry() const;

  // Per-store state of a host that serves many stores from one set of host functions (the WASI
  // host's handles and grants, say), under a key the host owns (the address of its
  // definitions): host functions find it from the store they are called in. Freed with the
  // store, before its instances.
  void set_host_data(const void* key, std::shared_ptr<void> data);
  void* host_data(const void* key) const {
    for (const auto& [k, data] : host_data_)
      if (k == key) return data.get();
    return nullptr;
  }

  // Telemetry: a snapshot of what this store used.
  StoreTelemetry telemetry() const;
  // Memory of linear memories and tables, and host memory the guest makes the host hold
  // (reserve_within_budget, MemoryCharge), against limits().max_total_memory_bytes: charge
  // takes `bytes` if the budget has room (false, nothing taken, if not); release gives back.
  bool charge_memory(uint64_t bytes, bool table);
  void release_memory(uint64_t bytes, bool table);
  void note_grow_refused(bool memory) { (memory ? memory_grow_refusals_ : table_grow_refusals_)++; }
  void note_trap(const Trap& trap);

 private:
  Result<void> require_fuel() const;
  Result<void> check_count(size_t current, uint32_t limit, const char* what);
  // The refusal of a memory or table of `what` that the memory budget cannot hold.
  Error over_memory_budget(const std::string& what);
  // When the epoch reached the deadline: asks the deadline callback, true when it allowed more
  // ticks (and set the new deadline).
  bool deadline_reached();
  // invoke without the telemetry: the call itself.
  TrapPtr enter(FunctionInstance* function, uint64_t* cells);
  // Why the store cannot run code now (its stacks cannot be reserved, or the native stack is
  // nearly used up), as a trap; null when it can. The common case is inline: it runs at every
  // call from the host.
  TrapPtr check_entry() {
    if (stack_.cells && !native_stack_.exhausted()) return nullptr;
    return check_entry_slow_path();
  }
  TrapPtr check_entry_slow_path();
  // Runs `native` from `code` (its entry or a loop entry) with its frame at `fp`, the store's
  // state for generated code set for this entry and restored after it; `trap` receives the trap,
  // if any.
  void enter_native(Instance& instance, const NativeFunction& native, const void* code,
                    uint64_t* fp, TrapPtr& trap);

  Engine& engine_;
  StoreLimits limits_;
  StoreContext context_;
  uint64_t fuel_given_ = 0;
  DeadlineCallback deadline_callback_;
  uint64_t memory_bytes_ = 0, peak_memory_bytes_ = 0, table_bytes_ = 0;
  uint64_t instance_count_ = 0;  // instantiations that succeeded
  uint64_t memory_grow_refusals_ = 0, table_grow_refusals_ = 0, limit_refusals_ = 0;
  std::map<std::string, uint64_t> traps_;
  TypeReferences types_;  // of host functions and tags; released after them
  FunctionArena<FunctionInstance> functions_;
  std::vector<std::unique_ptr<TableInstance>> tables_;
  std::vector<std::unique_ptr<MemoryInstance>> memories_;
  std::vector<std::unique_ptr<GlobalInstance>> globals_;
  std::vector<std::unique_ptr<TagInstance>> tags_;
  std::vector<std::unique_ptr<ExceptionObject>> exceptions_;
  std::vector<ExceptionObject*> free_exceptions_;
  std::vector<std::unique_ptr<Instance>> instances_;
  ExecutionStack stack_;
  NativeStackCheck native_stack_;
  std::vector<std::pair<const void*, std::shared_ptr<void>>> host_data_;  // last: freed first
};

// Host memory a guest makes the host hold beside its linear memories (component resource
// handles, WASI resources, HTTP fields and bodies) counts against the store's memory budget
// (StoreLimits::max_total_memory_bytes) like them, so that a guest cannot exhaust the host by
// asking it to keep things (the class of wasmtime's GHSA-852m-cvvp-9p4w).
//
// Makes room for one more element at the end of `v` when it is full, growing it to at most
// `max_elements` and charging the capacity added, `bytes_per_element` a slot. False, `v`
// unchanged, when the budget has no room or `v` is at `max_elements`. The capacity stays
// charged while the store lives (a vector's capacity is never given back either).
template <typename T>
bool reserve_within_budget(Store& store, std::vector<T>& v, uint64_t bytes_per_element,
                           size_t max_elements) {
  if (v.size() < v.capacity()) return true;
  if (v.size() >= max_elements) return false;
  const size_t capacity = std::min(std::max<size_t>(16, v.capacity() * 2), max_elements);
  if (!store.charge_memory((capacity - v.capacity()) * bytes_per_element, false)) return false;
  v.reserve(capacity);
  return true;
}

// A charge of host memory the guest may give back (an HTTP fields object's bytes, a body held
// whole), released when it goes. It must not outlive the store it charges: the WASI host keeps
// these in its per-store state, which the store destroys first.
class MemoryCharge {
 public:
  MemoryCharge() = default;
  MemoryCharge(MemoryCharge&& other) noexcept
      : store_(std::exchange(other.store_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  MemoryCharge& operator=(MemoryCharge&& other) noexcept {
    if (this != &other) {
      release();
      store_ = std::exchange(other.store_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  MemoryCharge(const MemoryCharge&) = delete;
  MemoryCharge& operator=(const MemoryCharge&) = delete;
  ~MemoryCharge() { release(); }

  // Moves the charge to `bytes` against `store`: false, nothing changed, when the budget has no
  // room for the increase.
  bool set(Store& store, uint64_t bytes) {
    if (store_ && store_ != &store) release();
    if (bytes > bytes_ && !store.charge_memory(bytes - bytes_, false)) return false;
    if (bytes < bytes_) store.release_memory(bytes_ - bytes, false);
    store_ = &store;
    bytes_ = bytes;
    return true;
  }
  uint64_t bytes() const { return bytes_; }

 private:
  void release() {
    if (store_ && bytes_) store_->release_memory(bytes_, false);
    bytes_ = 0;
  }
  Store* store_ = nullptr;
  uint64_t bytes_ = 0;
};

// The backtrace frame of function `function_index` of `instance` at `module_offset`, named
// from the module's name section (both tiers build their frames with it); without `named`,
// the names are left for name_frames (an exception's frames: most exceptions are caught).
TraceFrame trace_frame(Instance* instance, uint32_t function_index, uint32_t module_offset,
                       bool named = true);
// Names `frame` from its instance's module (name section), unless it has no instance or a
// name already; name_frames does it for every frame of `trap` (while their instances live).
void name_frame(TraceFrame& frame);
void name_frames(Trap& trap);

// Spec 4.5.4 step 3-4: does `actual` match the import's declared type?
Result<void> check_import(const Module& module, uint32_t import_index, const Extern& actual);

}  // namespace kiln
