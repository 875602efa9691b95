#include "runtime/store.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "runtime/interpreter_code.h"
#include "runtime/mapping_pool.h"
#include "runtime/memory_image.h"
#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"

namespace kiln {

const DispatchCache kEmptyDispatch;

namespace {
Error unlinkable(const std::string& message) {
  return Error{ErrorKind::kUnlinkable, message};
}
}  // namespace

int64_t TableInstance::grow(uint32_t delta, uint64_t init) {
  const uint64_t old = elements.size();
  const uint64_t ceiling = owner ? owner->max_table_elements() : ModuleLimits::kMaxTableSize;
  const uint64_t max = std::min<uint64_t>(type.limits.max.value_or(ceiling), ceiling);
  const uint64_t bytes = uint64_t{delta} * kTableElementBytes;
  if (delta > max - std::min(old, max) || (owner && !owner->charge_memory(bytes, true))) {
    if (owner) owner->note_grow_refused(false);
    return -1;
  }
  // No exception may leave here (it would cross the dispatch loop): a failed allocation is a
  // refused grow.
  try {
    elements.resize(old + delta, init);
    sync();
  } catch (const std::bad_alloc&) {
    if (owner) {
      owner->release_memory(bytes, true);
      owner->note_grow_refused(false);
    }
    return -1;
  }
  type.limits.min = elements.size();
  return static_cast<int64_t>(old);
}

TraceFrame trace_frame(Instance* instance, uint32_t function_index, uint32_t module_offset,
                       bool named) {
  TraceFrame frame;
  frame.function_index = function_index;
  frame.module_offset = module_offset;
  frame.instance = instance;
  if (named) name_frame(frame);
  if (instance) {
    const Module& module = *instance->module;
    frame.function_offset =
        module_offset - static_cast<uint32_t>(
                            module.bodies[function_index - module.imported_functions].code_offset);
  }
  return frame;
}

std::optional<Extern> Instance::find_export(std::string_view name, size_t hint) const {
  const Export* e = module->find_export(name, hint);
  if (!e) return std::nullopt;
  switch (e->kind) {
    case ExternKind::kFunction:
      return Extern{e->kind, functions[e->index]};
    case ExternKind::kTable:
      return Extern{e->kind, tables[e->index]};
    case ExternKind::kMemory:
      return Extern{e->kind, memories[e->index]};
    case ExternKind::kGlobal:
      return Extern{e->kind, globals[e->index]};
    case ExternKind::kTag:
      return Extern{e->kind, tags[e->index]};
  }
  return std::nullopt;
}

int64_t MemoryInstance::grow(uint64_t delta_pages) {
  const uint64_t bytes =
      delta_pages > ModuleLimits::kMaxMemoryPages ? UINT64_MAX : delta_pages * kWasmPageSize;
  if (owner && (!memory->can_grow(delta_pages) || !owner->charge_memory(bytes, false))) {
    owner->note_grow_refused(true);
    return -1;
  }
  int64_t old = memory->grow(delta_pages);
  if (old < 0 && owner) {
    owner->release_memory(bytes, false);
    owner->note_grow_refused(true);
  }
  return old;
}

namespace {
constexpr size_t kFramesOffset = 2048 + 64;
}  // namespace

// Stacks go back to the pool without their pages dropped: what a stack holds is never read
// before it is written (validation: operands; a call's frame record and locals are written at
// the call), so a store cannot see another's cells.
ExecutionStack::~ExecutionStack() {
  if (cells) release_pooled_mapping({cells, cells_bytes_});
  if (frames)
    release_pooled_mapping({reinterpret_cast<char*>(frames) - kFramesOffset, frames_bytes_});
}

bool ExecutionStack::reserve(const StoreLimits& limits) {
  if (cells) return true;
  // Page-granular reservations that cost nothing until touched (MAP_NORESERVE).
  auto map = [](size_t bytes) -> void* {
    if (auto pooled = take_pooled_mapping(bytes)) return pooled->base;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  };
  const uint64_t cell_count = std::max<uint64_t>(limits.max_stack_bytes / sizeof(uint64_t), 16);
  // A record is pushed per call for the caller, plus one per entry from the host; the running
  // frame has none. So this many records allow exactly max_call_depth wasm frames.
  const uint32_t frame_count = std::max<uint32_t>(limits.max_call_depth, 1);
  const size_t new_cells_bytes = cell_count * sizeof(uint64_t) + kValueStackSlackBytes;
  // The frame records start off a page boundary: were both arrays page-aligned, the first
  // frame record and the first cells would share their low 12 address bits, and every call
  // would stall on 4K aliasing between their stores and loads (host-to-wasm calls took twice
  // as long).
  const size_t new_frames_bytes = kFramesOffset + size_t{frame_count} * sizeof(CallFrame);
  void* new_cells = map(new_cells_bytes);
  void* new_frames = new_cells ? map(new_frames_bytes) : nullptr;
  if (!new_frames) {
    if (new_cells) munmap(new_cells, new_cells_bytes);
    return false;
  }
  cells = static_cast<uint64_t*>(new_cells);
  cells_end = cells + cell_count;
  top = cells;
  frames = reinterpret_cast<CallFrame*>(static_cast<char*>(new_frames) + kFramesOffset);
  frame_capacity = frame_count;
  frame_records_ = frame_count;
  cells_bytes_ = new_cells_bytes;
  frames_bytes_ = new_frames_bytes;
  return true;
}

Result<void> check_store_limits(const StoreLimits& limits) {
  if (limits.max_call_depth > StoreLimits::kMaxCallDepthLimit) {
    return Error{ErrorKind::kUsage, "max_call_depth " + std::to_string(limits.max_call_depth) +
                                        " is above the most kiln supports (" +
                                        std::to_string(StoreLimits::kMaxCallDepthLimit) + ")"};
  }
  if (limits.max_stack_bytes > StoreLimits::kMaxStackBytesLimit) {
    return Error{ErrorKind::kUsage, "max_stack_bytes " + std::to_string(limits.max_stack_bytes) +
                                        " is above the most kiln supports (" +
                                        std::to_string(StoreLimits::kMaxStackBytesLimit) +
                                        " bytes, 4 GiB)"};
  }
  return {};
}

Store::Store(Engine& engine, StoreLimits limits)
    : engine_(engine), limits_(limits), types_(engine.shared_types()) {
  // Limits past what kiln supports are refused by check_store_limits where they come in (the
  // CLI, the C API); one that reaches here anyway is clamped rather than trusted.
  limits_.max_call_depth = std::min(limits_.max_call_depth, StoreLimits::kMaxCallDepthLimit);
  limits_.max_stack_bytes = std::min(limits_.max_stack_bytes, StoreLimits::kMaxStackBytesLimit);
  context_.store = this;
  context_.call_depth_left = limits_.max_call_depth;
  if (engine.config().epoch_interruption) engine.watch_deadline(&context_);
}

// Engine::increment_epoch and Store::set_epoch_deadline race (a timer thread ticks while the
// store's thread moves its deadline). Both are sequentially consistent: the tick writes the
// epoch then reads the deadline, the store writes the deadline then reads the epoch, so at
// least one of them sees that the deadline is reached. If the store's refresh lands after the
// tick's interruption it can undo it, so every tick interrupts every store whose deadline has
// passed, not just the tick that reaches it: generated code is then at most one tick late.
void Engine::increment_epoch() {
  const uint64_t now = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
  std::lock_guard lock(watched_mutex_);
  for (StoreContext* store : watched_) {
    if (now >= store->epoch_deadline.load(std::memory_order_seq_cst)) {
      store->native_stack_limit.store(StoreContext::kInterrupted, std::memory_order_relaxed);
    }
  }
}

void Engine::watch_deadline(StoreContext* store) {
  std::lock_guard lock(watched_mutex_);
  watched_.push_back(store);
}

void Engine::unwatch_deadline(StoreContext* store) {
  std::lock_guard lock(watched_mutex_);
  std::erase(watched_, store);
}

void Store::refresh_native_stack_limit() {
  const bool interrupted =
      engine_.config().epoch_interruption && engine_.epoch() >= context_.epoch_deadline.load();
  context_.native_stack_limit.store(interrupted ? StoreContext::kInterrupted : context_.stack_limit,
                                    std::memory_order_relaxed);
}

TrapPtr Store::check_entry_slow_path() {
  if (!stack_.reserve(limits_)) {
    return Trap::make(TrapCode::kCallStackExhausted,
                      "call stack exhausted: cannot reserve the wasm stack (max_stack_bytes " +
                          std::to_string(limits_.max_stack_bytes) + ", max_call_depth " +
                          std::to_string(limits_.max_call_depth) + ")");
  }
  context_.cells_end = stack_.cells_end;
  if (native_stack_.exhausted()) return Trap::make(TrapCode::kCallStackExhausted);
  return nullptr;
}

Result<void> Store::require_fuel() const {
  if (engine_.config().consume_fuel) return {};
  return Error{ErrorKind::kUsage, "fuel is not enabled in this engine's configuration"};
}

Result<void> Store::set_fuel(uint64_t fuel) {
  KILN_TRY(require_fuel());
  fuel_given_ += fuel;
  fuel_given_ -= context_.fuel;  // what was left is taken back: consumed stays as it was
  context_.fuel = fuel;
  return {};
}

Result<void> Store::add_fuel(uint64_t fuel) {
  KILN_TRY(require_fuel());
  if (fuel > UINT64_MAX - context_.fuel) return Error{ErrorKind::kLimit, "fuel would overflow"};
  context_.fuel += fuel;
  fuel_given_ += fuel;
  return {};
}

void Store::set_epoch_deadline(uint64_t ticks) {
  const uint64_t now = engine_.epoch();
  context_.epoch_deadline.store(ticks > UINT64_MAX - now ? UINT64_MAX : now + ticks);
  refresh_native_stack_limit();
}

bool Store::deadline_reached() {
  if (!deadline_callback_) return false;
  std::optional<uint64_t> more = deadline_callback_(*this);
  if (!more) return false;
  set_epoch_deadline(*more);
  return true;
}

bool Store::charge_memory(uint64_t bytes, bool table) {
  const uint64_t budget = limits_.max_total_memory_bytes;
  if (bytes > budget - std::min(memory_bytes_, budget)) return false;
  memory_bytes_ += bytes;
  if (table) table_bytes_ += bytes;
  peak_memory_bytes_ = std::max(peak_memory_bytes_, memory_bytes_);
  return true;
}

void Store::release_memory(uint64_t bytes, bool table) {
  memory_bytes_ -= std::min(bytes, memory_bytes_);
  if (table) table_bytes_ -= std::min(bytes, table_bytes_);
}

void Store::note_trap(const Trap& trap) {
  const char* kind = trap_code_message(trap.code);
  ++traps_[kind];
}

void Store::set_host_data(const void* key, std::shared_ptr<void> data) {
  for (auto& [k, existing] : host_data_) {
    if (k == key) {
      existing = std::move(data);
      return;
    }
  }
  host_data_.emplace_back(key, std::move(data));
}

StoreTelemetry Store::telemetry() const {
  StoreTelemetry t;
  t.fuel_consumed = fuel_consumed();
  t.memory_bytes = memory_bytes_;
  t.peak_memory_bytes = peak_memory_bytes_;
  t.table_bytes = table_bytes_;
  t.memory_grow_refusals = memory_grow_refusals_;
  t.table_grow_refusals = table_grow_refusals_;
  t.limit_refusals = limit_refusals_;
  functions_.for_each([&](const FunctionInstance& f) {
    if (!f.code && f.stats.count) {
      HostCallStats& s = t.host_calls[f.host_name.empty() ? "<host>" : f.host_name];
      s.count += f.stats.count;
      s.total_ns += f.stats.total_ns;
    }
  });
  t.traps = traps_;
  return t;
}

Result<void> Store::check_count(size_t current, uint32_t limit, const char* what) {
  if (current < limit) return {};
  ++limit_refusals_;
  return Error{ErrorKind::kLimit,
               std::string("store limit reached: at most ") + std::to_string(limit) + " " + what};
}

Store::~Store() {
  if (engine_.config().epoch_interruption) engine_.unwatch_deadline(&context_);
}

FunctionInstance* Store::create_host_function(const FuncType& type, HostCallback callback,
                                              std::string name) {
  return create_host_function(intern(type), std::move(callback), std::move(name));
}

FunctionInstance* Store::create_host_function(const TypeRegistry::Interned& type,
                                              HostCallback callback, std::string name) {
  FunctionInstance* f = functions_.allocate(1);
  f->type_id = type.id;
  f->type = type.type;
  f->host = std::move(callback);
  f->host_name = std::move(name);
  return f;
}

Error Store::over_memory_budget(const std::string& what) {
  ++limit_refusals_;
  return Error{ErrorKind::kLimit, what + " exceeds the store's memory budget of " +
                                      std::to_string(limits_.max_total_memory_bytes) + " bytes (" +
                                      std::to_string(memory_bytes_) + " in use)"};
}

Result<TableInstance*> Store::create_table(const TableType& type, uint64_t init) {
  KILN_TRY(check_count(tables_.size(), limits_.max_tables, "tables"));
  const uint64_t limit = max_table_elements();
  if (type.limits.min > limit) {
    ++limit_refusals_;
    return Error{ErrorKind::kLimit, "table of " + std::to_string(type.limits.min) +
                                        " elements exceeds the limit of " + std::to_string(limit)};
  }
  const uint64_t bytes = type.limits.min * kTableElementBytes;
  if (!charge_memory(bytes, true)) {
    return over_memory_budget("table of " + std::to_string(type.limits.min) + " elements");
  }
  auto t = std::make_unique<TableInstance>();
  t->type = type;
  t->owner = this;
  try {
    t->elements.assign(type.limits.min, init);
    t->sync();
  } catch (const std::bad_alloc&) {
    release_memory(bytes, true);
    ++limit_refusals_;
    return Error{ErrorKind::kLimit,
                 "cannot allocate a table of " + std::to_string(type.limits.min) + " elements"};
  }
  tables_.push_back(std::move(t));
  return tables_.back().get();
}

Result<MemoryInstance*> Store::create_memory(const MemoryType& type, const MemoryImage* image) {
  KILN_TRY(check_count(memories_.size(), limits_.max_memories, "memories"));
  const uint64_t bytes = type.limits.min * kWasmPageSize;
  if (type.limits.min > ModuleLimits::kMaxMemoryPages || !charge_memory(bytes, false)) {
    return over_memory_budget("memory of " + std::to_string(type.limits.min) + " pages");
  }
  auto memory = LinearMemory::create(type, limits_.max_memory_bytes / kWasmPageSize, image);
  if (!memory) {
    release_memory(bytes, false);
    ++limit_refusals_;
    return memory.take_error();
  }
  auto m = std::make_unique<MemoryInstance>();
  m->memory = std::move(*memory);
  m->owner = this;
  memories_.push_back(std::move(m));
  return memories_.back().get();
}

GlobalInstance* Store::create_global(const GlobalType& type, uint64_t low, uint64_t high) {
  auto g = std::make_unique<GlobalInstance>();
  g->type = type;
  g->cells[0] = low;
  g->cells[1] = high;
  globals_.push_back(std::move(g));
  return globals_.back().get();
}

TagInstance* Store::create_tag(const FuncType& type) {
  return create_tag(intern(type).id);
}

TagInstance* Store::create_tag(uint32_t type_id) {
  auto tag = std::make_unique<TagInstance>();
  tag->type_id = type_id;
  tag->type = &engine_.types().get(type_id);
  tags_.push_back(std::move(tag));
  return tags_.back().get();
}

ExceptionObject* Store::make_exception(const TagInstance* tag, const uint64_t* payload) {
  const uint32_t cells = tag->type->param_cells();
  // Counted against the store's memory budget (DESIGN-NOTES section 4): a guest that keeps a
  // reference to every exception it throws runs out of its own budget, not of the process's
  // memory.
  const uint64_t bytes = sizeof(ExceptionObject) + uint64_t{cells} * sizeof(uint64_t);
  ExceptionObject* exception = nullptr;
  if (!free_exceptions_.empty()) {
    exception = free_exceptions_.back();
    if (bytes > exception->charged_bytes) {
      if (!charge_memory(bytes - exception->charged_bytes, false)) return nullptr;
      exception->charged_bytes = bytes;
    }
    free_exceptions_.pop_back();
  } else {
    if (!charge_memory(bytes, false)) return nullptr;
    exceptions_.push_back(std::make_unique<ExceptionObject>());
    exception = exceptions_.back().get();
    exception->charged_bytes = bytes;
  }
  exception->tag = tag;
  exception->referenced = false;
  exception->payload.assign(payload, payload + cells);
  return exception;
}

bool Store::take_exception(const ExceptionCatch& c, const Instance& instance,
                           ExceptionObject* exception, uint64_t* frame) {
  if (!c.all && instance.tags[c.tag] != exception->tag) return false;
  uint64_t* dst = reinterpret_cast<uint64_t*>(reinterpret_cast<uint8_t*>(frame) + c.destination);
  if (!c.all) dst = std::copy(exception->payload.begin(), exception->payload.end(), dst);
  if (c.reference) {
    *dst = reinterpret_cast<uint64_t>(exception);
    exception->referenced = true;
  } else if (!exception->referenced) {
    free_exceptions_.push_back(exception);  // nothing refers to it: the next throw reuses it
  }
  return true;
}

void name_frame(TraceFrame& frame) {
  if (!frame.instance || !frame.function_name.empty() || !frame.module_name.empty()) return;
  frame.function_name = frame.instance->module->function_name(frame.function_index);
  frame.module_name = frame.instance->module->names().module_name;
}

void name_frames(Trap& trap) {
  for (TraceFrame& frame : trap.backtrace) name_frame(frame);
  if (trap.omitted_frames && trap.omitted_one_function) name_frame(trap.omitted_function);
}

Result<void> check_import(const Module& module, uint32_t import_index, const Extern& actual) {
  const Import& imp = module.imports[import_index];
  // Made only for an error: instantiation checks every import (kiln serve: once per request).
  auto where = [&] {
    return " (import " + std::to_string(import_index) + " \"" + imp.module + "\" \"" + imp.name +
           "\")";
  };
  if (actual.kind != imp.kind || !actual.object) {
    return unlinkable(std::string("incompatible import type: expected a ") +
                      extern_kind_name(imp.kind) + ", got a " + extern_kind_name(actual.kind) +
                      where());
  }
  switch (imp.kind) {
    case ExternKind::kFunction: {
      const FuncType& expected = module.types[imp.type_index];
      if (actual.function()->type_id != module.type_ids[imp.type_index]) {
        return unlinkable("incompatible import type: expected " + expected.to_string() + ", got " +
                          actual.function()->type->to_string() + where());
      }
      return {};
    }
    case ExternKind::kTable: {
      const TableInstance& t = *actual.table();
      if (t.type.element != imp.table.element || !limits_match(t.type.limits, imp.table.limits)) {
        return unlinkable("incompatible import type: table type or limits differ" + where());
      }
      return {};
    }
    case ExternKind::kMemory: {
      const LinearMemory& m = *actual.memory()->memory;
      if (!limits_match(m.type().limits, imp.memory.limits)) {
        return unlinkable("incompatible import type: memory limits differ" + where());
      }
      return {};
    }
    case ExternKind::kGlobal: {
      const GlobalType& g = actual.global()->type;
      if (g.type != imp.global.type || g.mutable_ != imp.global.mutable_) {
        return unlinkable("incompatible import type: global type or mutability differ" + where());
      }
      return {};
    }
    case ExternKind::kTag:
      // Spec 4.5.x (external typing of tags): the types must be the same.
      if (actual.tag()->type_id != module.type_ids[imp.type_index]) {
        return unlinkable("incompatible import type: expected tag " +
                          module.types[imp.type_index].to_string() + ", got tag " +
                          actual.tag()->type->to_string() + where());
      }
      return {};
  }
  return {};
}

namespace {

// Spec 4.5.3 / 3.3.10: evaluates a validated constant expression to one value (two cells).
// Wasm 2.0's are one instruction; with extended-const an expression is a small stack program.
std::pair<uint64_t, uint64_t> evaluate_const(const Instance& instance, const ConstExpr& expr) {
  using Value = std::pair<uint64_t, uint64_t>;
  auto produce = [&](const ConstInstr& ins) -> Value {
    switch (ins.opcode) {
      case kV128Const:
        return {ins.bits, ins.bits_hi};
      case kRefNull:
        return {0, 0};
      case kRefFunc:
        return {reinterpret_cast<uint64_t>(instance.functions[ins.index]), 0};
      case kGlobalGet: {
        const GlobalInstance& g = *instance.globals[ins.index];
        return {g.cells[0], g.cells[1]};
      }
      default:  // i32/i64/f32/f64.const
        return {ins.bits, 0};
    }
  };
  if (expr.instrs.size() == 1) return produce(expr.instrs[0]);
  std::vector<Value> stack;
  for (const ConstInstr& ins : expr.instrs) {
    switch (ins.opcode) {
#define KILN_CONSTANT_OPERATOR(name, opcode, result_type, operand_type, expression)  \
  case opcode: {                                                                     \
    const operand_type b = static_cast<operand_type>(stack.back().first);            \
    stack.pop_back();                                                                \
    const operand_type a = static_cast<operand_type>(stack.back().first);            \
    stack.back() = {static_cast<uint64_t>(static_cast<result_type>(expression)), 0}; \
    break;                                                                           \
  }
      KILN_CONSTANT_OPS(KILN_CONSTANT_OPERATOR)
#undef KILN_CONSTANT_OPERATOR
      default:
        stack.push_back(produce(ins));
    }
  }
  return stack.back();
}

}  // namespace

Result<Instance*> Store::instantiate(std::shared_ptr<const Module> module_ptr,
                                     const std::vector<Extern>& imports, TrapPtr* trap_out) {
  const Module& m = *module_ptr;
  // Type ids are the compiling engine's, and so is the choice of tier (with a JIT the
  // interpreter's code is made on demand).
  if (m.engine && m.engine != &engine_) {
    return unlinkable("the module was compiled by another engine");
  }
  if (imports.size() != m.imports.size()) {
    return unlinkable("expected " + std::to_string(m.imports.size()) + " imports, got " +
                      std::to_string(imports.size()));
  }
  for (uint32_t i = 0; i < imports.size(); ++i) KILN_TRY(check_import(m, i, imports[i]));
  // Only instantiations that succeeded count against max_instances.
  KILN_TRY(check_count(instance_count_, limits_.max_instances, "instances"));

  auto instance = std::make_unique<Instance>();
  Instance& inst = *instance;
  inst.module = module_ptr;
  inst.store = this;
  // Sized once: kiln serve instantiates per request, where growing each vector was a few
  // allocations per import.
  inst.functions.reserve(m.functions.size());
  inst.tables.reserve(m.tables.size());
  inst.memories.reserve(m.memories.size());
  inst.globals.reserve(m.globals.size());
  inst.tags.reserve(m.tags.size());
  inst.data.reserve(m.data.size());
  for (const Extern& e : imports) {
    switch (e.kind) {
      case ExternKind::kFunction:
        inst.functions.push_back(e.function());
        break;
      case ExternKind::kTable:
        inst.tables.push_back(e.table());
        break;
      case ExternKind::kMemory:
        inst.memories.push_back(e.memory());
        break;
      case ExternKind::kGlobal:
        inst.globals.push_back(e.global());
        break;
      case ExternKind::kTag:
        inst.tags.push_back(e.tag());
        break;
    }
  }
  for (uint32_t i = m.imported_tags; i < m.tags.size(); ++i) {
    inst.tags.push_back(create_tag(m.type_ids[m.tags[i]]));
  }
  FunctionInstance* defined = functions_.allocate(m.functions.size() - m.imported_functions);
  for (uint32_t i = m.imported_functions; i < m.functions.size(); ++i) {
    FunctionInstance* f = defined++;
    f->type_id = m.type_ids[m.functions[i]];
    f->type = m.interned_types[m.functions[i]];
    f->instance = &inst;
    f->vm = &inst.vm;
    f->code = m.compiled[i - m.imported_functions].get();
    inst.functions.push_back(f);
  }
  for (uint32_t i = m.imported_tables; i < m.tables.size(); ++i) {
    KILN_ASSIGN(TableInstance * t, create_table(m.tables[i]));
    inst.tables.push_back(t);
  }
  // The first defined memory's data may come with it, from the module's copy-on-write image
  // (memory_image.h): the image's segments all lie within the memory, so none can trap.
  const MemoryImage* image = m.memory_image_for_instantiation();
  for (uint32_t i = m.imported_memories; i < m.memories.size(); ++i) {
    KILN_ASSIGN(
        MemoryInstance * mem,
        create_memory(m.memories[i], image && image->memory_index() == i ? image : nullptr));
    inst.memories.push_back(mem);
  }
  for (uint32_t i = m.imported_globals; i < m.globals.size(); ++i) {
    auto [low, high] = evaluate_const(inst, m.globals[i].init);
    inst.globals.push_back(create_global(m.globals[i].type, low, high));
  }
  inst.vm.store = &context_;
  inst.vm.instance = &inst;
  inst.vm.globals = inst.globals.data();
  inst.vm.functions = inst.functions.data();
  inst.vm.tables = inst.tables.data();
  if (!inst.memories.empty()) {
    inst.vm.memory = inst.memories[0]->memory.get();
    inst.vm.memory_base = inst.vm.memory->base();
  }
  inst.elements.reserve(m.elements.size());
  for (const ElementSegment& seg : m.elements) {
    std::vector<uint64_t> refs;
    refs.reserve(seg.items.size());
    for (const ConstExpr& item : seg.items) refs.push_back(evaluate_const(inst, item).first);
    inst.elements.push_back(std::move(refs));
  }
  for (const DataSegment& seg : m.data) inst.data.push_back(seg.bytes);

  instances_.push_back(std::move(instance));
  if (!inst.tables.empty()) {  // now that the instance lives as long as the store
    inst.vm.table0 = *inst.tables[0];
    inst.tables[0]->header_copies.push_back(&inst.vm.table0);
  }

  auto fail_with_trap = [&](TrapPtr trap) -> Error {
    Error error{ErrorKind::kLimit, trap->message};
    error.kind = ErrorKind::kUnlinkable;
    error.message = "instantiation trapped: " + trap->to_string();
    if (trap_out) *trap_out = std::move(trap);
    return error;
  };

  // Spec 4.5.4 steps 12-15: active element segments, then active data segments, in order,
  // each as table.init/memory.init followed by a drop. Declarative segments are dropped too.
  for (uint32_t i = 0; i < m.elements.size(); ++i) {
    const ElementSegment& seg = m.elements[i];
    if (seg.mode == SegmentMode::kActive) {
      uint64_t offset = static_cast<uint32_t>(evaluate_const(inst, seg.offset).first);
      TableInstance& table = *inst.tables[seg.table_index];
      const auto& refs = inst.elements[i];
      if (offset + refs.size() > table.elements.size()) {
        return fail_with_trap(Trap::make(TrapCode::kTableOutOfBounds));
      }
      std::copy(refs.begin(), refs.end(), table.elements.begin() + offset);
    }
    if (seg.mode != SegmentMode::kPassive) inst.elements[i].clear();
  }
  for (uint32_t i = 0; i < m.data.size(); ++i) {
    const DataSegment& seg = m.data[i];
    if (seg.mode != SegmentMode::kActive) continue;
    if (image && seg.memory_index == image->memory_index() &&
        inst.memories[seg.memory_index]->memory->has_image()) {
      inst.data[i] = {};
      continue;
    }
    uint64_t offset = static_cast<uint32_t>(evaluate_const(inst, seg.offset).first);
    LinearMemory& memory = *inst.memories[seg.memory_index]->memory;
    if (offset + seg.bytes.size() > memory.size_bytes()) {
      return fail_with_trap(Trap::make(TrapCode::kMemoryOutOfBounds));
    }
    if (!seg.bytes.empty()) std::memcpy(memory.base() + offset, seg.bytes.data(), seg.bytes.size());
    inst.data[i] = {};
  }
  if (m.start) {
    if (TrapPtr trap = invoke(inst.functions[*m.start], nullptr)) {
      return fail_with_trap(std::move(trap));
    }
  }
  ++instance_count_;
  return &inst;
}

}  // namespace kiln
