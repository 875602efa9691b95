// kiln.h, the runtime's part: errors, engine configuration, fuel, deadlines, limits,
// telemetry and traps. (WASI's part is wasi/c_api.cpp.)
#include "include/kiln.h"
#include "runtime/c_api/c_api_internal.h"

using namespace kiln;
using namespace kiln::c_api;

// kiln_trap_code_t numbers the runtime's trap codes in their order.
static_assert(KILN_TRAP_UNREACHABLE == static_cast<int>(TrapCode::kUnreachable));
static_assert(KILN_TRAP_CALL_STACK_EXHAUSTED == static_cast<int>(TrapCode::kCallStackExhausted));
static_assert(KILN_TRAP_HOST_ERROR == static_cast<int>(TrapCode::kHostError));
static_assert(KILN_TRAP_EXIT == static_cast<int>(TrapCode::kExit));
static_assert(KILN_TRAP_DEADLINE_EXCEEDED == static_cast<int>(TrapCode::kDeadlineExceeded));
static_assert(KILN_TRAP_OUT_OF_MEMORY == static_cast<int>(TrapCode::kOutOfMemory));

namespace {
thread_local std::string last_error;
}  // namespace

void kiln::c_api::set_last_error(std::string message) {
  last_error = std::move(message);
}

extern "C" {

const char* kiln_last_error_message(void) {
  return last_error.c_str();
}

bool kiln_config_set_tier(wasm_config_t* config, kiln_tier_t tier) {
  if (!config) return fail("kiln_config_set_tier: null config", false);
  switch (tier) {
    case KILN_TIER_AUTO:
      config->engine.tier = Tier::kJit;  // the interpreter where there is no JIT
      config->engine.set_auto_tier(true);
      return true;
    case KILN_TIER_INTERPRETER:
      config->engine.tier = Tier::kInterpreter;
      return true;
    case KILN_TIER_JIT:
      if (!code_tier())
        return fail("kiln_config_set_tier: no JIT for this machine in this build", false);
      config->engine.tier = Tier::kJit;
      config->engine.set_auto_tier(false);
      return true;
    default:
      return fail("kiln_config_set_tier: unknown tier " + std::to_string(tier), false);
  }
}

void kiln_config_set_eager_compilation(wasm_config_t* config, bool eager) {
  if (config) config->engine.eager_compilation = eager;
}
bool kiln_config_set_bounds_checks(wasm_config_t* config, kiln_bounds_checks_t mode) {
  if (!config) return fail("kiln_config_set_bounds_checks: null config", false);
  if (mode == KILN_BOUNDS_GUARD_PAGES) {
    config->engine.bounds_checks = BoundsChecks::kGuardPages;
  } else if (mode == KILN_BOUNDS_EXPLICIT) {
    config->engine.bounds_checks = BoundsChecks::kExplicit;
  } else {
    return fail("kiln_config_set_bounds_checks: unknown mode " + std::to_string(mode), false);
  }
  return true;
}

void kiln_config_set_perf_map(wasm_config_t* config, bool enable) {
  if (config) config->engine.perf_map = enable;
}

void kiln_config_consume_fuel(wasm_config_t* config, bool enable) {
  if (config) config->engine.consume_fuel = enable;
}
void kiln_config_host_call_fuel(wasm_config_t* config, uint64_t fuel) {
  if (config) config->engine.host_call_fuel = fuel;
}
void kiln_config_epoch_interruption(wasm_config_t* config, bool enable) {
  if (config) config->engine.epoch_interruption = enable;
}
void kiln_engine_increment_epoch(wasm_engine_t* engine) {
  if (engine) engine->engine.increment_epoch();
}

void kiln_limits_default(kiln_limits_t* out) {
  if (!out) return;
  const StoreLimits d = standard_store_limits();
  *out = {d.max_memory_bytes, d.max_table_elements, d.max_instances,   d.max_tables,
          d.max_memories,     d.max_call_depth,     d.max_stack_bytes, d.max_total_memory_bytes};
}
namespace {
// The runtime's limits for `limits`; false (with the error set) for ones no store can have.
bool copy_limits(const char* function, const kiln_limits_t* limits, StoreLimits& out) {
  StoreLimits l = out;
  l.max_memory_bytes = limits->max_memory_bytes;
  l.max_table_elements = limits->max_table_elements;
  l.max_instances = limits->max_instances;
  l.max_tables = limits->max_tables;
  l.max_memories = limits->max_memories;
  l.max_call_depth = limits->max_call_depth;
  l.max_stack_bytes = limits->max_stack_bytes;
  l.max_total_memory_bytes = limits->max_total_memory_bytes;
  if (auto valid = check_store_limits(l); !valid) {
    return fail(std::string(function) + ": " + valid.error().message, false);
  }
  out = l;
  return true;
}
}  // namespace

bool kiln_config_set_limits(wasm_config_t* config, const kiln_limits_t* limits) {
  if (!config || !limits) return fail("kiln_config_set_limits: null argument", false);
  return copy_limits("kiln_config_set_limits", limits, config->limits);
}

wasm_store_t* kiln_store_new_with_limits(wasm_engine_t* engine, const kiln_limits_t* limits) {
  if (!engine || !limits) {
    return fail("kiln_store_new_with_limits: null argument", static_cast<wasm_store_t*>(nullptr));
  }
  StoreLimits store_limits = engine->limits;
  if (!copy_limits("kiln_store_new_with_limits", limits, store_limits)) return nullptr;
  return new wasm_store_t(engine, store_limits);
}

bool kiln_store_set_fuel(wasm_store_t* store, uint64_t fuel) {
  if (!store) return fail("kiln_store_set_fuel: null store", false);
  auto result = store->store.set_fuel(fuel);
  return result.ok() || fail("kiln_store_set_fuel: " + result.error().message, false);
}
bool kiln_store_add_fuel(wasm_store_t* store, uint64_t fuel) {
  if (!store) return fail("kiln_store_add_fuel: null store", false);
  auto result = store->store.add_fuel(fuel);
  return result.ok() || fail("kiln_store_add_fuel: " + result.error().message, false);
}
uint64_t kiln_store_fuel_remaining(const wasm_store_t* store) {
  return store ? store->store.fuel_remaining() : 0;
}
uint64_t kiln_store_fuel_consumed(const wasm_store_t* store) {
  return store ? store->store.fuel_consumed() : 0;
}
void kiln_store_set_epoch_deadline(wasm_store_t* store, uint64_t ticks) {
  if (store) store->store.set_epoch_deadline(ticks);
}

void kiln_store_set_deadline_callback(wasm_store_t* store, kiln_deadline_callback_t callback,
                                      void* env, void (*finalizer)(void*)) {
  if (!store) {
    if (finalizer) finalizer(env);
    return set_last_error("kiln_store_set_deadline_callback: null store");
  }
  store->deadline_env.reset(env, finalizer);
  if (!callback) return store->store.set_deadline_callback(nullptr);
  store->store.set_deadline_callback([store, callback, env](Store&) -> std::optional<uint64_t> {
    if (!store->liveness->store) return std::nullopt;  // deleted during the call: stop it
    uint64_t more = 0;
    if (!callback(env, &more) || !store->liveness->store) return std::nullopt;
    return more;
  });
}

void kiln_store_telemetry(const wasm_store_t* store, kiln_telemetry_t* out) {
  if (!store || !out) return;
  const StoreTelemetry t = store->store.telemetry();
  *out = {};
  out->fuel_consumed = t.fuel_consumed;
  out->memory_bytes = t.memory_bytes;
  out->peak_memory_bytes = t.peak_memory_bytes;
  out->table_bytes = t.table_bytes;
  out->memory_grow_refusals = t.memory_grow_refusals;
  out->table_grow_refusals = t.table_grow_refusals;
  out->limit_refusals = t.limit_refusals;
  for (const auto& [name, stats] : t.host_calls) {
    out->host_calls += stats.count;
    out->host_call_ns += stats.total_ns;
  }
  for (const auto& [kind, count] : t.traps) out->traps += count;
}

kiln_trap_code_t kiln_trap_code(const wasm_trap_t* trap) {
  return trap ? static_cast<kiln_trap_code_t>(trap->trap->code)
              : kiln_trap_code_t{KILN_TRAP_HOST_ERROR};
}
bool kiln_trap_exit_status(const wasm_trap_t* trap, int32_t* status) {
  if (!trap || trap->trap->code != TrapCode::kExit) return false;
  if (status) *status = trap->trap->exit_status;
  return true;
}
uint64_t kiln_trap_omitted_frames(const wasm_trap_t* trap) {
  return trap ? trap->trap->omitted_frames : 0;
}
void kiln_frame_func_name(const wasm_frame_t* frame, wasm_name_t* out) {
  if (!out) return;
  // Recorded in the frame when the trap was made: the instance may be gone by now.
  if (!frame) return wasm_name_new_empty(out);
  wasm_name_new(out, frame->function_name.size(), frame->function_name.data());
}

}  // extern "C"
