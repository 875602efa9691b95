#include "cli/commands.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/http_client.h"
#include "cli/serve.h"
#include "cli/value_text.h"
#include "component/component_decoder.h"
#include "component/component_linker.h"
#include "component/component_validator.h"
#include "component/wave.h"
#include "runtime/epoch_timer.h"
#include "runtime/mapping_pool.h"
#include "runtime/module.h"
#include "runtime/sanitizers.h"
#include "runtime/store.h"
#include "wasi/preview1.h"
#include "wasi/preview2.h"
#include "wasi/wasi_context.h"

namespace kiln::cli {
namespace {

constexpr const char* kVersion = "kiln 0.1.0";

// Help text beyond what CLI11 generates from the option definitions.
constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0    success\n"
    "  2    usage error (unknown option, bad --invoke argument, a limit kiln does not support)\n"
    "  3    the module file cannot be read\n"
    "  4    malformed module (it does not decode)\n"
    "  5    invalid module (it does not validate)\n"
    "  6    unlinkable module (missing or mismatched imports)\n"
    "  7    a limit was exceeded: an implementation limit of the module (too many functions,\n"
    "       locals, parameters, ...) or a store limit at instantiation\n"
    "  126  the program called proc_exit with a status of 126 or more (statuses 0 to 125 are\n"
    "       the program's own)\n"
    "  134  the program trapped (the trap and a backtrace are printed)\n";

constexpr const char* kRunFooter =
    "MODULE is instantiated (running its start function), then its export `_start` is called\n"
    "if there is one, or the function named by --invoke (after `_initialize`, for reactors).\n"
    "Options come before MODULE; everything after MODULE is passed to the program: as its\n"
    "arguments (argv[0] is MODULE), and to --invoke as the function's arguments.\n"
    "\n"
    "Budgets and limits are in docs/BUDGETS.md; running out of one is a trap (exit 134).\n"
    "WASI (wasi_snapshot_preview1) grants nothing unless asked for: stdin, stdout and stderr are\n"
    "the host's. proc_exit(n) exits with status n when n is below 126; a larger status is an\n"
    "error (exit 126). --timeout also ends calls that wait (poll_oneoff, reading stdin): the\n"
    "program stops with the trap deadline exceeded.\n"
    "\n"
    "A component (told from a core module by its header) runs with --invoke 'NAME(ARGS)'; the\n"
    "budgets and limits apply to it too. Imports the host does not provide make it unlinkable\n"
    "(exit 6, each listed) unless --trap-unknown-imports is given.";

constexpr const char* kValidateFooter =
    "Prints nothing and exits 0 when MODULE is valid; otherwise prints what is wrong and where\n"
    "(section, function index, byte offset) and exits 4 (malformed), 5 (invalid) or\n"
    "7 (past an implementation limit: too many functions, locals, parameters, ...).\n"
    "2 is a usage error and 3 an unreadable file.";

}  // namespace

int error_exit(const Error& error) {
  fmt::print(stderr, "kiln: error: {}: {}\n", error_kind_name(error.kind), error.message);
  switch (error.kind) {
    case ErrorKind::kMalformed:
      return kExitMalformed;
    case ErrorKind::kInvalid:
      return kExitInvalid;
    case ErrorKind::kUnlinkable:
      return kExitUnlinkable;
    case ErrorKind::kLimit:
      return kExitLimit;
    case ErrorKind::kIo:
      return kExitIo;
    case ErrorKind::kUsage:
      return kExitUsage;
  }
  return kExitUsage;
}

int usage_error(const std::string& message) {
  fmt::print(stderr, "kiln: error: {} (see kiln --help)\n", message);
  return kExitUsage;
}

namespace {
// A large buffer is a fresh mapping, and its first touch would fault once per page (a WASI
// hello-world's 145 KB file: 36 faults, at about 2 us each on a virtual machine): the kernel
// maps the pages in one call instead (Linux 5.14; earlier kernels refuse and nothing changes).
void populate(void* start, size_t length) {
  constexpr uintptr_t kPage = 4096;
  constexpr size_t kWorthIt = 16 * kPage;
  if (length < kWorthIt) return;
  const auto first = (reinterpret_cast<uintptr_t>(start) + kPage - 1) & ~(kPage - 1);
  const auto last = (reinterpret_cast<uintptr_t>(start) + length) & ~(kPage - 1);
  if (last > first)
    (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
}
}  // namespace

Result<std::vector<uint8_t>> read_module_file(const std::string& path) {
  auto fail = [&](int error) {
    return Error{ErrorKind::kIo, fmt::format("cannot read {}: {}", path, std::strerror(error))};
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  struct stat info {};
  if (::fstat(fd, &info) != 0 || S_ISDIR(info.st_mode)) {
    int error = S_ISDIR(info.st_mode) ? EISDIR : errno;
    ::close(fd);
    return fail(error);
  }
  // Whole reads into a buffer sized from the file (pipes grow it): a byte-wise istream copy was
  // a tenth of a WASI hello-world's start-up.
  const size_t expected = S_ISREG(info.st_mode) ? static_cast<size_t>(info.st_size) + 1 : 65536;
  std::vector<uint8_t> bytes;
  bytes.reserve(expected);
  populate(bytes.data(), expected);
  bytes.resize(expected);
  size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    ssize_t n = ::read(fd, bytes.data() + used, bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return fail(error);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  bytes.resize(used);
  return bytes;
}

// Decodes and validates a component (its preamble's layer is 1); errors name the file.
Result<component::LoadedComponent> load_component(Engine& engine, const std::string& path,
                                                  std::vector<uint8_t>&& bytes) {
  auto loaded = component::load_component(engine, std::move(bytes));
  if (!loaded) {
    Error e = loaded.take_error();
    e.message = "component " + path + ": " + e.message;
    return e;
  }
  return loaded;
}

namespace {

int trap_exit(const Trap& trap) {
  fmt::print(stderr, "kiln: error: wasm trap: {}\n", trap.to_string());
  return kExitTrap;
}

int run_validate(const std::string& path) {
  auto bytes = read_module_file(path);
  if (!bytes) return error_exit(bytes.error());
  Engine engine;
  if (component::is_component(*bytes)) {
    auto valid = load_component(engine, path, std::move(*bytes));
    return valid ? kExitOk : error_exit(valid.error());
  }
  if (auto valid = Module::validate(engine, *bytes); !valid) return error_exit(valid.error());
  return kExitOk;
}

// Parses "HOST[::GUEST]" into a preopen; the guest path defaults to the host path as given.
wasi::Preopen parse_preopen(const std::string& spec, bool read_only) {
  wasi::Preopen p;
  size_t sep = spec.find("::");
  p.host_path = spec.substr(0, sep);
  p.guest_path = sep == std::string::npos ? spec : spec.substr(sep + 2);
  p.read_only = read_only;
  return p;
}

// What `kiln run` was asked to do: filled in by CLI11 from the options.
struct RunOptions {
  std::optional<std::string> invoke;
  std::vector<std::string> dirs, dirs_read_only, env, env_inherit, allow_http, allow_tcp, allow_udp;
  bool allow_ip_name_lookup = false;
  uint32_t max_open_files = wasi::WasiConfig{}.max_open_files;
  std::optional<uint64_t> fuel;
  uint64_t host_call_fuel = 0;
  std::optional<uint64_t> timeout_ns;
  std::optional<uint64_t> max_memory;
  StoreLimits limits;
  bool stats = false;
  std::string stats_json;
  std::string tier;  // the default tier (tier.h) unless given
  bool eager = false;
  bool trap_unknown_imports = false;
  std::string bounds_checks = "guard-pages";
  std::string profile;
  std::vector<std::string> module_and_args;  // MODULE and the program's arguments
};

void print_stats(const StoreTelemetry& t, int exit_code) {
  auto line = [](const char* what, auto value, const char* unit = "") {
    fmt::print(stderr, "  {:<30} {}{}\n", what, value, unit);
  };
  fmt::print(stderr, "kiln: store statistics\n");
  line("fuel consumed", t.fuel_consumed);
  line("peak memory (memories, tables)", t.peak_memory_bytes, " bytes");
  line("tables now", t.table_bytes, " bytes");
  line("memory.grow refused", t.memory_grow_refusals);
  line("table.grow refused", t.table_grow_refusals);
  line("refused by store limits", t.limit_refusals);
  fmt::print(stderr, "  host calls{}\n", t.host_calls.empty() ? ": none" : "");
  for (const auto& [name, calls] : t.host_calls) {
    fmt::print(stderr, "    {:<40} {:>8} calls {:>12.3f} ms\n", name, calls.count,
               static_cast<double>(calls.total_ns) / 1e6);
  }
  fmt::print(stderr, "  traps{}\n", t.traps.empty() ? ": none" : "");
  for (const auto& [kind, count] : t.traps) fmt::print(stderr, "    {:<40} {:>8}\n", kind, count);
  line("exit code", exit_code);
}

bool write_stats_json(const StoreTelemetry& t, int exit_code, const std::string& path) {
  nlohmann::ordered_json j;
  j["fuel_consumed"] = t.fuel_consumed;
  j["memory_bytes"] = t.memory_bytes;
  j["peak_memory_bytes"] = t.peak_memory_bytes;
  j["table_bytes"] = t.table_bytes;
  j["memory_grow_refusals"] = t.memory_grow_refusals;
  j["table_grow_refusals"] = t.table_grow_refusals;
  j["limit_refusals"] = t.limit_refusals;
  j["host_calls"] = nlohmann::ordered_json::object();
  for (const auto& [name, stats] : t.host_calls) {
    j["host_calls"][name] = {{"count", stats.count}, {"total_ns", stats.total_ns}};
  }
  j["traps"] = nlohmann::ordered_json::object();
  for (const auto& [kind, count] : t.traps) j["traps"][kind] = count;
  j["exit_code"] = exit_code;
  std::ofstream out(path, std::ios::binary);
  // Host function names come from the embedder; invalid UTF-8 is replaced, never thrown.
  out << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  return static_cast<bool>(out);
}

int run_instance(const std::shared_ptr<const Module>& module, Store& store,
                 wasi::WasiConfig wasi_config, const std::string& path,
                 const std::vector<std::string>& program_args,
                 const std::optional<std::string>& invoke);
// What a component's run builds that lives until the run's end (end_run): the caller's.
struct ComponentRun {
  component::LoadedComponent loaded;
  component::ComponentLinker linker;
};
int run_component(Engine& engine, Store& store, std::vector<uint8_t>&& bytes,
                  const std::string& path, const RunOptions& options,
                  const std::vector<std::string>& program_args, wasi::WasiConfig wasi_config,
                  ComponentRun& kept);

// The exit code for a trap: the status of proc_exit, or 134. Statuses from 126 up are kept
// for the shell and kiln (as wasmtime does); without this proc_exit(256) exited 0 and
// proc_exit(134) looked like a trap.
int exit_for(const Trap& trap) {
  if (trap.code != TrapCode::kExit) return trap_exit(trap);
  const uint32_t status = static_cast<uint32_t>(trap.exit_status);
  if (status < kExitInvalidStatus) return static_cast<int>(status);
  fmt::print(stderr,
             "kiln: error: the program called proc_exit({}): an exit status must be below 126\n",
             status);
  return kExitInvalidStatus;
}

// What `kiln run` and `kiln serve` make of their shared options: the WASI grants and the
// engine's configuration; the store limits are checked (a usage error when they do not fit).
struct Prepared {
  wasi::WasiConfig wasi;
  EngineConfig engine;
};
Result<Prepared> prepare(RunOptions& options) {
  Prepared prepared;
  wasi::WasiConfig& wasi_config = prepared.wasi;
  for (const std::string& dir : options.dirs)
    wasi_config.preopens.push_back(parse_preopen(dir, false));
  for (const std::string& dir : options.dirs_read_only) {
    wasi_config.preopens.push_back(parse_preopen(dir, true));
  }
  for (const std::string& variable : options.env) {
    const size_t eq = variable.find('=');
    wasi_config.env.emplace_back(variable.substr(0, eq), variable.substr(eq + 1));
  }
  for (const std::string& name : options.env_inherit) {
    if (const char* host_value = std::getenv(name.c_str()))
      wasi_config.env.emplace_back(name, host_value);
  }
  wasi_config.max_open_files = options.max_open_files;
  wasi_config.allowed_http = options.allow_http;
  if (!options.allow_http.empty()) wasi_config.http_sender = curl_http_sender();
  for (auto [texts, rules] : {std::pair{&options.allow_tcp, &wasi_config.allowed_tcp},
                              std::pair{&options.allow_udp, &wasi_config.allowed_udp}}) {
    for (const std::string& text : *texts) {
      auto rule = wasi::parse_address_rule(text);
      if (!rule) return rule.take_error();
      rules->push_back(*rule);
    }
  }
  wasi_config.allow_ip_name_lookup = options.allow_ip_name_lookup;
  if (options.max_memory) {
    options.limits.max_memory_bytes = *options.max_memory;
    options.limits.max_total_memory_bytes = *options.max_memory;
  }
  KILN_TRY(check_store_limits(options.limits));
  EngineConfig& engine_config = prepared.engine;
  engine_config.consume_fuel = options.fuel.has_value();
  engine_config.host_call_fuel = options.host_call_fuel;
  engine_config.epoch_interruption = options.timeout_ns.has_value();
  // auto unless the command line or KILN_TIER names a tier.
  std::string tier = options.tier.empty() ? std::string(tier_from_environment()) : options.tier;
  if (tier != "interp" && tier != "jit") tier = "auto";
  engine_config.tier = tier == "interp" ? Tier::kInterpreter : Tier::kJit;
  engine_config.set_auto_tier(tier == "auto");
  engine_config.eager_compilation = options.eager;
  engine_config.perf_map = options.profile == "perfmap";
  engine_config.bounds_checks =
      options.bounds_checks == "explicit" ? BoundsChecks::kExplicit : BoundsChecks::kGuardPages;
  return prepared;
}

// A finished `kiln run` ends its process here, before the store, its instances, modules and
// code are destroyed one by one: the kernel takes memory, mappings and descriptors back at
// once (clang's -disable-free likewise). Nothing is left to flush but stdio: WASI writes go
// straight to their descriptors, and the timer thread is stopped. Sanitizer builds return
// and tear everything down, so LeakSanitizer still checks that teardown frees it all.
void end_run([[maybe_unused]] int code) {
#ifndef KILN_UNDER_ASAN
  std::fflush(nullptr);
  std::_Exit(code);
#endif
}

int run_run(RunOptions options) {
  if (options.module_and_args.empty()) return usage_error("run needs a module");
  // One store, gone at exit: pooling its mappings for reuse would only restore them first.
  set_pooled_mappings_per_size(0);
  // Parsing stopped at the first argument CLI11 did not know: an option there is not one of
  // kiln's (options come before MODULE).
  if (const std::string& first = options.module_and_args.front();
      first.size() > 1 && first[0] == '-') {
    return usage_error(fmt::format("unknown option {}", first));
  }
  auto prepared = prepare(options);
  if (!prepared) return usage_error(prepared.error().message);
  wasi::WasiConfig wasi_config = std::move(prepared->wasi);
  const std::string path = options.module_and_args.front();
  std::vector<std::string> program_args(options.module_and_args.begin() + 1,
                                        options.module_and_args.end());

  auto bytes = read_module_file(path);
  if (!bytes) return error_exit(bytes.error());
  const bool is_component = component::is_component(*bytes);
  Engine engine(prepared->engine);
  std::shared_ptr<const Module> module;
  if (!is_component) {
    auto compiled = Module::compile(engine, std::move(*bytes));
    if (!compiled) return error_exit(compiled.error());
    module = std::move(*compiled);
  }

  Store store(engine, options.limits);
  if (options.fuel) (void)store.set_fuel(*options.fuel);
  std::optional<EpochTimer> timer;
  if (options.timeout_ns) {
    store.set_epoch_deadline(1);
    timer.emplace(engine, std::chrono::nanoseconds(*options.timeout_ns));
  }
  ComponentRun component_run;
  const int code = is_component ? run_component(engine, store, std::move(*bytes), path, options,
                                                program_args, std::move(wasi_config), component_run)
                                : run_instance(module, store, std::move(wasi_config), path,
                                               program_args, options.invoke);
  timer.reset();
  const StoreTelemetry telemetry = store.telemetry();
  if (options.stats) print_stats(telemetry, code);
  if (!options.stats_json.empty() && !write_stats_json(telemetry, code, options.stats_json)) {
    fmt::print(stderr, "kiln: error: cannot write {}\n", options.stats_json);
    return code == kExitOk ? kExitIo : code;
  }
  end_run(code);
  return code;
}

int run_instance(const std::shared_ptr<const Module>& module, Store& store,
                 wasi::WasiConfig wasi_config, const std::string& path,
                 const std::vector<std::string>& program_args,
                 const std::optional<std::string>& invoke) {
  const Module& m = *module;
  wasi_config.args.push_back(path);
  wasi_config.args.insert(wasi_config.args.end(), program_args.begin(), program_args.end());
  auto wasi_context = wasi::WasiContext::create(std::move(wasi_config));
  if (!wasi_context) return error_exit(wasi_context.error());
  wasi::Preview1 preview1(**wasi_context);
  auto imports = preview1.imports_for(store, m);
  if (!imports) return error_exit(imports.error());

  TrapPtr trap;
  auto instance = store.instantiate(module, *imports, &trap);
  if (!instance) return trap ? exit_for(*trap) : error_exit(instance.error());

  // A reactor is initialised before the function named by --invoke (WASI application ABI).
  if (invoke) {
    if (auto init = (*instance)->find_export("_initialize");
        init && init->kind == ExternKind::kFunction) {
      if (TrapPtr t = store.invoke(init->function(), nullptr)) return exit_for(*t);
    }
  }
  std::string entry = invoke.value_or("_start");
  auto ext = (*instance)->find_export(entry);
  if (!ext) {
    if (!invoke) return kExitOk;  // a module without `_start`: instantiating it was the run
    return usage_error(fmt::format("the module has no export named \"{}\"", entry));
  }
  if (ext->kind != ExternKind::kFunction) {
    return usage_error(
        fmt::format("export \"{}\" is a {}, not a function", entry, extern_kind_name(ext->kind)));
  }
  FunctionInstance* function = ext->function();
  const FuncType& type = *function->type;
  std::vector<uint64_t> cells(std::max(type.param_cells(), type.result_cells()) + 1);
  if (invoke) {
    if (program_args.size() != type.params.size()) {
      return usage_error(fmt::format("\"{}\" takes {} arguments {}, got {}", entry,
                                     type.params.size(), type.to_string(), program_args.size()));
    }
    for (size_t k = 0, cell = 0; k < type.params.size(); ++k) {
      if (auto parsed = parse_value(type.params[k], program_args[k], &cells[cell]); !parsed) {
        return error_exit(parsed.error());
      }
      cell += cell_count(type.params[k]);
    }
  } else if (!type.params.empty()) {
    return usage_error(
        fmt::format("_start must take no parameters, but has type {}", type.to_string()));
  }
  if (TrapPtr t = store.invoke(function, cells.data())) return exit_for(*t);
  for (size_t k = 0, cell = 0; k < type.results.size(); ++k) {
    fmt::print("{}\n", format_value(type.results[k], &cells[cell]));
    cell += cell_count(type.results[k]);
  }
  std::fflush(stdout);
  return kExitOk;
}

// `kiln run` of a component: linked with the WASI 0.2 host (wasi/preview2.h) and, with
// --trap-unknown-imports, trapping stand-ins for what else it imports. A command (it exports
// wasi:cli/run) runs with the program's arguments; --invoke calls an export with WAVE arguments
// and prints its result in WAVE.
int run_component(Engine& engine, Store& store, std::vector<uint8_t>&& bytes,
                  const std::string& path, const RunOptions& options,
                  const std::vector<std::string>& program_args, wasi::WasiConfig wasi_config,
                  ComponentRun& kept) {
  auto valid = load_component(engine, path, std::move(bytes));
  if (!valid) return error_exit(valid.error());
  kept.loaded = std::move(*valid);
  const component::ValidatedComponent& validated = *kept.loaded.validated;
  // wasi:cli/run's export, if the component is a command.
  std::string run_export;
  for (const auto& e : validated.type->exports) {
    if (e.name.rfind("wasi:cli/run@0.2.", 0) == 0) run_export = e.name + "#run";
  }
  std::optional<component::WaveCall> call;
  if (options.invoke) {
    if (!program_args.empty()) {
      return usage_error(fmt::format(
          "a component's arguments go inside --invoke 'NAME(ARG, ...)', not after it (got {})",
          program_args.front()));
    }
    auto split = component::split_wave_call(*options.invoke);
    if (!split) return error_exit(split.error());
    call = std::move(*split);
  } else if (run_export.empty()) {
    return usage_error(path +
                       " is a component that exports no wasi:cli/run: name the export to call "
                       "with --invoke 'NAME(ARGS)'");
  }

  wasi_config.args.insert(wasi_config.args.begin(), path);
  wasi_config.args.insert(wasi_config.args.end(), program_args.begin(), program_args.end());
  auto wasi_context = wasi::WasiContext::create(std::move(wasi_config));
  if (!wasi_context) return error_exit(wasi_context.error());
  component::ComponentLinker& linker = kept.linker;
  auto preview2 = wasi::Preview2::add_to_linker(linker, validated);
  if (!preview2) return error_exit(preview2.error());
  (*preview2)->attach(store, **wasi_context);
  if (options.trap_unknown_imports) {
    if (auto defined = linker.define_unknown_imports_as_traps(validated); !defined) {
      return error_exit(defined.error());
    }
  }
  TrapPtr trap;
  auto instance = linker.instantiate(store, validated, &trap);
  if (!instance) {
    if (trap) return exit_for(*trap);
    // Imports are resolved before anything runs: what is missing is listed whole, only when
    // linking failed (the list costs a resolution of every import again).
    if (auto missing = linker.missing_imports(validated); !missing.empty()) {
      std::string list;
      for (const std::string& name : missing) list += "\n  " + name;
      return error_exit(Error{
          ErrorKind::kUnlinkable,
          fmt::format("component {} imports what kiln does not provide (--trap-unknown-imports "
                      "links each missing function to one that traps when called):{}",
                      path, list)});
    }
    return error_exit(instance.error());
  }

  const std::string name = call ? call->name : run_export;
  component::ComponentFunction* function = (*instance)->exported_function(name);
  if (!function) {
    return usage_error(fmt::format("the component exports no function named \"{}\"", name));
  }
  std::vector<component::ComponentValue> args;
  if (call) {
    auto parsed = component::parse_wave_arguments(*call, *function->type);
    if (!parsed) return error_exit(parsed.error());
    args = std::move(*parsed);
  }
  std::optional<component::ComponentValue> result;
  if (TrapPtr t = component::call_component_function(store, *function, args, result)) {
    return exit_for(*t);
  }
  if (!call) return result && result->index != 0 ? 1 : kExitOk;  // run: result, err is 1
  if (result && function->type->result) {
    fmt::print("{}\n", component::to_wave(*result, *function->type->result));
  }
  std::fflush(stdout);
  return kExitOk;
}

// `kiln inspect`: a component's world, or a core module's imports and exports in the text
// format's notation.
int run_inspect(const std::string& path) {
  auto bytes = read_module_file(path);
  if (!bytes) return error_exit(bytes.error());
  Engine engine;
  if (component::is_component(*bytes)) {
    auto valid = load_component(engine, path, std::move(*bytes));
    if (!valid) return error_exit(valid.error());
    fmt::print("{}", component::resolved::world_wit(*valid->validated->type));
    return kExitOk;
  }
  auto module = Module::compile(engine, *bytes);
  if (!module) return error_exit(module.error());
  const Module& m = **module;
  auto limits = [](const Limits& l) {
    return l.max ? fmt::format("{} {}", l.min, *l.max) : fmt::format("{}", l.min);
  };
  auto function = [](const FuncType& t) {
    std::string out = "(func";
    if (!t.params.empty()) {
      out += " (param";
      for (ValType v : t.params) out.append(" ").append(valtype_name(v));
      out += ")";
    }
    if (!t.results.empty()) {
      out += " (result";
      for (ValType v : t.results) out.append(" ").append(valtype_name(v));
      out += ")";
    }
    return out + ")";
  };
  auto global = [](const GlobalType& g) {
    return g.mutable_ ? fmt::format("(global (mut {}))", valtype_name(g.type))
                      : fmt::format("(global {})", valtype_name(g.type));
  };
  auto tag = [&](const FuncType& t) {  // Wasm 3.0 exception handling: the payload
    std::string text = function(t);
    return "(tag" + text.substr(std::string_view("(func").size());
  };
  fmt::print("(module\n");
  for (const Import& i : m.imports) {
    std::string type;
    switch (i.kind) {
      case ExternKind::kFunction:
        type = function(m.types[i.type_index]);
        break;
      case ExternKind::kTable:
        type = fmt::format("(table {} {})", limits(i.table.limits), valtype_name(i.table.element));
        break;
      case ExternKind::kMemory:
        type = fmt::format("(memory {})", limits(i.memory.limits));
        break;
      case ExternKind::kGlobal:
        type = global(i.global);
        break;
      case ExternKind::kTag:
        type = tag(m.types[i.type_index]);
        break;
    }
    fmt::print("  (import {} {} {})\n", nlohmann::json(i.module).dump(),
               nlohmann::json(i.name).dump(), type);
  }
  for (const Export& e : m.exports) {
    std::string type;
    switch (e.kind) {
      case ExternKind::kFunction:
        type = function(m.function_type(e.index));
        break;
      case ExternKind::kTable:
        type = fmt::format("(table {} {})", limits(m.tables[e.index].limits),
                           valtype_name(m.tables[e.index].element));
        break;
      case ExternKind::kMemory:
        type = fmt::format("(memory {})", limits(m.memories[e.index].limits));
        break;
      case ExternKind::kGlobal:
        type = global(m.globals[e.index].type);
        break;
      case ExternKind::kTag:
        type = tag(m.tag_type(e.index));
        break;
    }
    fmt::print("  (export {} {})\n", nlohmann::json(e.name).dump(), type);
  }
  fmt::print(")\n");
  return kExitOk;
}

// CLI11's help, with the positional arguments of `kiln run` in its usage line (they are not
// CLI11 options: parsing stops at MODULE, so that the program's own options pass through).
class Formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string usage = CLI::Formatter::make_usage(app, std::move(name));
    if (app->get_name() == "run") usage.insert(usage.find('\n'), " MODULE [ARGS...]");
    return usage;
  }
};

// Where the run and serve options are defined: on `app`, all of them, or only those a command
// line names. CLI11 builds every option it is given (its names split and checked against every
// other option's: half a million instructions for kiln run's forty, a tenth of a WASI
// hello-world's run), so `kiln run --dir . app.wasm` defines --dir alone; an option the command
// line does not name gets its settings on a scratch option instead. Help, which lists every
// option, defines them all.
class OptionDefiner {
 public:
  // Every option.
  explicit OptionDefiner(CLI::App& app) : app_(app), all_(true) {}
  // Those `args` name: each argument that starts with '-', up to an '=' (more than the options
  // before the module, which is harmless: what follows the module is not parsed).
  OptionDefiner(CLI::App& app, std::span<char* const> args) : app_(app), all_(false) {
    for (const char* arg : args) {
      const std::string_view a(arg);
      if (a.empty() || a[0] != '-') continue;
      if (a == "-h" || a == "--help") all_ = true;
      named_.push_back(a.substr(0, a.find('=')));
    }
  }

  template <class T>
  CLI::Option* option(const std::string& names, T& variable, const std::string& description) {
    return wanted(names) ? app_.add_option(names, variable, description) : scratch();
  }
  template <class T>
  CLI::Option* flag(const std::string& names, T& variable, const std::string& description) {
    return wanted(names) ? app_.add_flag(names, variable, description) : scratch();
  }

 private:
  // Whether one of `names` ("--dir", "-V,--version", "!--no-x") is on the command line.
  bool wanted(std::string_view names) const {
    if (all_) return true;
    while (!names.empty()) {
      const size_t comma = names.find(',');
      std::string_view name = names.substr(0, comma);
      if (name.starts_with('!')) name.remove_prefix(1);
      if (std::find(named_.begin(), named_.end(), name) != named_.end()) return true;
      if (comma == std::string_view::npos) break;
      names.remove_prefix(comma + 1);
    }
    return false;
  }
  // Made at the first option not named (an App costs what defining an option does).
  CLI::Option* scratch() {
    if (!scratch_) {
      scratch_app_ = std::make_unique<CLI::App>();
      scratch_ = scratch_app_->add_option("--scratch");
    }
    return scratch_;
  }

  CLI::App& app_;
  bool all_;
  std::vector<std::string_view> named_;
  std::unique_ptr<CLI::App> scratch_app_;
  CLI::Option* scratch_ = nullptr;
};

void define_shared_options(OptionDefiner& app, RunOptions& o, bool run);

// Declares `kiln run`'s options on `run`, filling `o`.
void define_run_options(CLI::App& run, RunOptions& o, OptionDefiner& options) {
  options
      .option("--invoke", o.invoke,
              "core module: call the exported function NAME with the ARGS after MODULE, "
              "parsed by its parameter types (i32/i64: 5, -1, 0x10; f32/f64: -1.5, 0x1p-3, "
              "nan, nan:0x200000, inf; references: null; v128: 0x + 32 hex digits, or "
              "i32x4:1,2,3,4 and the like), and print each result on its own line. "
              "Component: --invoke 'NAME(ARG, ...)' with WAVE arguments (\"text\", [1, 2], "
              "{a: 1}, some(3), ok(\"x\"), {read, write}); NAME may be INTERFACE#FUNCTION; "
              "the result is printed in WAVE")
      ->type_name("NAME")
      ->check(CLI::Validator([](std::string& v) { return v.empty() ? "needs a name" : ""; }, ""));

  define_shared_options(options, o, true);
  // Options come before MODULE: parsing stops at the first positional, and MODULE with
  // everything after it is the program's.
  run.prefix_command();
}

// Declares the options of `kiln serve` alone (its server); it takes the shared ones too.
void define_serve_options(CLI::App& serve, ServeSettings& serve_settings) {
  serve.add_option("COMPONENT", serve_settings.component_path, "the component file")->required();
  serve
      .add_option("--addr", serve_settings.address,
                  "listen on HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one, "
                  "printed at start)")
      ->type_name("HOST:PORT");
  serve
      .add_option("--threads", serve_settings.threads,
                  "threads answering requests (default: one per core)")
      ->type_name("N");
  serve
      .add_option("--max-request-body", serve_settings.max_request_body,
                  "the largest request body accepted (default 16MiB); a larger one is "
                  "answered 413")
      ->transform(CLI::Validator([](std::string& v) { return CLI::AsSizeValue(false)(v); }, ""))
      ->type_name("SIZE");
  serve.add_flag("!--no-access-log", serve_settings.access_log,
                 "do not print a line per request (address, request line, status, body size, "
                 "duration) to stderr");
}

// Declares the options `kiln run` and `kiln serve` share (execution, budgets, WASI grants) on
// `app`; the telemetry options only for run (`run`).
void define_shared_options(OptionDefiner& app, RunOptions& o, bool run) {
  using CLI::AsNumberWithUnit;
  // 64KiB, 2MiB, 1GiB: every unit binary. (Validators' descriptions would repeat the type.)
  // CLI11's unit validators build their tables of units when constructed (a twentieth of a
  // hello-world's start-up): built here only when an option that has units is given.
  const CLI::Validator size([](std::string& v) { return CLI::AsSizeValue(false)(v); }, "");
  const CLI::Validator duration(
      [](std::string& v) {
        return AsNumberWithUnit(
            std::map<std::string, uint64_t>{
                {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000}},
            static_cast<AsNumberWithUnit::Options>(AsNumberWithUnit::CASE_SENSITIVE |
                                                   AsNumberWithUnit::UNIT_REQUIRED),
            "")(v);
      },
      "");
  const CLI::Validator name_value(
      [](std::string& v) -> std::string {
        return v.find('=') == std::string::npos || v.front() == '=' ? "needs NAME=VALUE"
                                                                    : std::string();
      },
      "");
  // Every repeatable option takes one value per occurrence: the module after it is not a value.
  auto one_each = [](CLI::Option* option) { return option->allow_extra_args(false); };
  const char* execution = "Execution";
  app.option("--tier", o.tier,
             "auto (the default): the JIT, with a function interpreted for its first 16 calls, "
             "so that code run once is never compiled, or until its loops have run 1,000 "
             "iterations, when its frame goes on in machine code from the loop's header; "
             "jit: compile every "
             "function to machine code at its first call (on x86-64; elsewhere, and for what "
             "the JIT cannot compile, the interpreter runs); interp: interpret everything")
      ->check(CLI::IsMember({"auto", "jit", "interp"}))
      ->group(execution);
  app.flag("--eager", o.eager, "with the JIT, compile every function before running")
      ->group(execution);
  app.flag("--trap-unknown-imports", o.trap_unknown_imports,
           "component: link each import the host does not provide to a function that "
           "traps when called (resources to host resources), instead of refusing to run")
      ->group(execution);
  app.option("--bounds-checks", o.bounds_checks,
             "how the JIT keeps memory accesses in bounds: guard-pages (the default: an "
             "access outside a memory's 8 GiB reservation faults, no compare) or explicit "
             "(a compare per access, for hosts that cap virtual memory)")
      ->check(CLI::IsMember({"guard-pages", "explicit"}))
      ->group(execution);
  app.option("--profile", o.profile,
             "perfmap: name JIT-compiled functions for Linux perf in /tmp/perf-PID.map")
      ->check(CLI::IsMember({"perfmap"}))
      ->group(execution);

  const char* budgets = "Budgets and limits";
  app.option("--fuel", o.fuel, "run with N units of fuel (an instruction costs 1)")
      ->type_name("N")
      ->group(budgets);
  app.option("--fuel-per-host-call", o.host_call_fuel,
             "charge N more fuel for each host (WASI) call")
      ->type_name("N")
      ->group(budgets);
  app.option("--timeout", o.timeout_ns, "stop the program after DURATION (250us, 500ms, 2s, 1m)")
      ->transform(duration)
      ->type_name("DURATION")
      ->group(budgets);
  app.option("--max-memory", o.max_memory,
             "the most memory the program may use: its linear memories and tables "
             "together, 8 bytes a table element, and what it makes the host hold (resource "
             "handles, WASI resources, HTTP fields and bodies) (65536, 64KiB, 2MiB, 1GiB; "
             "default 4GiB); memory.grow and table.grow past it return -1")
      ->transform(size)
      ->type_name("SIZE")
      ->group(budgets);
  app.option("--max-table-elements", o.limits.max_table_elements,
             "largest size of each table; table.grow past it returns -1")
      ->type_name("N")
      ->group(budgets);
  app.option("--max-instances", o.limits.max_instances, "instances in the store (10000)")
      ->type_name("N")
      ->group(budgets);
  app.option("--max-tables", o.limits.max_tables, "tables in the store (100)")
      ->type_name("N")
      ->group(budgets);
  app.option("--max-memories", o.limits.max_memories, "memories in the store (100)")
      ->type_name("N")
      ->group(budgets);
  app.option("--max-call-depth", o.limits.max_call_depth,
             "deepest wasm call stack, in frames (default 100000, at most 10000000)")
      ->type_name("N")
      ->group(budgets);
  app.option("--max-stack", o.limits.max_stack_bytes,
             "size of the interpreter's value stack (default 8MiB, at most 4GiB)")
      ->transform(size)
      ->type_name("SIZE")
      ->group(budgets);
  if (run) {
    app.flag("--stats", o.stats, "print the store's telemetry to stderr when done")->group(budgets);
    app.option("--stats-json", o.stats_json, "write the store's telemetry to FILE as JSON")
        ->type_name("FILE")
        ->group(budgets);
  }

  const char* wasi = "WASI (preview1 and 0.2); nothing is granted unless asked for";
  one_each(app.option("--dir", o.dirs,
                      "let the program read and write the host directory HOST, seen as "
                      "GUEST (default: HOST as written)"))
      ->type_name("HOST[::GUEST]")
      ->group(wasi);
  one_each(app.option("--dir-ro", o.dirs_read_only, "the same, read-only: every write is refused"))
      ->type_name("HOST[::GUEST]")
      ->group(wasi);
  one_each(app.option("--env", o.env, "set an environment variable for the program"))
      ->check(name_value)
      ->type_name("NAME=VALUE")
      ->group(wasi);
  one_each(app.option("--env-inherit", o.env_inherit,
                      "pass the host's NAME (no variable is inherited otherwise)"))
      ->type_name("NAME")
      ->group(wasi);
  app.option("--max-open-files", o.max_open_files,
             "the most descriptors the program may hold open, stdio and directories "
             "included (default 256); more opens fail (mfile)")
      ->type_name("N")
      ->group(wasi);
  one_each(app.option("--allow-http", o.allow_http,
                      "component: let the program send HTTP and HTTPS requests "
                      "(wasi:http/outgoing-handler) to HOST on PORT (default: the scheme's, "
                      "80 or 443); others are refused with HTTP-request-denied"))
      ->type_name("HOST[:PORT]")
      ->group(wasi);
  one_each(app.option("--allow-tcp", o.allow_tcp,
                      "component: let TCP sockets (wasi:sockets) bind and connect to the "
                      "addresses RULE grants: `*` (any), an address or network "
                      "(127.0.0.1, 10.0.0.0/8, [::1], [fd00::/8]) with :PORT, :LOW-HIGH "
                      "or :* (default: any port); others are refused with access-denied"))
      ->type_name("RULE")
      ->group(wasi);
  one_each(app.option("--allow-udp", o.allow_udp,
                      "component: the same for UDP sockets: the addresses they may bind and "
                      "send to"))
      ->type_name("RULE")
      ->group(wasi);
  app.flag("--allow-ip-name-lookup", o.allow_ip_name_lookup,
           "component: let the program look up host names (wasi:sockets/ip-name-lookup)")
      ->group(wasi);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("kiln: a WebAssembly runtime", "kiln");
  app.formatter(std::make_shared<Formatter>());
  app.set_version_flag("-V,--version", kVersion);
  app.require_subcommand(1);
  app.footer(kExitCodes);

  std::string validate_path;
  CLI::App* validate =
      app.add_subcommand("validate", "decode and validate a module or a component");
  validate->add_option("MODULE", validate_path, "the module file")->required();
  validate->footer(kValidateFooter);

  std::string inspect_path;
  CLI::App* inspect = app.add_subcommand(
      "inspect",
      "print a component's world (its imports and exports with their WIT types) or a core "
      "module's imports and exports");
  inspect->add_option("FILE", inspect_path, "the component or module file")->required();

  RunOptions run_options;
  CLI::App* run = app.add_subcommand("run", "run a module, or call a component's export");
  run->footer(kRunFooter);

  RunOptions serve_options;
  ServeSettings serve_settings;
  CLI::App* serve = app.add_subcommand(
      "serve",
      "serve a wasi:http/proxy component over HTTP/1.1: a fresh instance for each request, with "
      "the budgets and grants below applying to each");

  // The command named (null for none: top-level --help, a usage error). Defining options costs
  // (CLI11 builds and parses their names: a fifth of a WASI hello-world's start-up before this),
  // so only the command named gets its options, and every command gets them when none is.
  const std::vector<CLI::App*> named_commands =
      argc > 1 ? app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == argv[1]; })
               : std::vector<CLI::App*>();
  CLI::App* const named = named_commands.empty() ? nullptr : named_commands.front();
  // `kiln run MODULE ...` with no option before MODULE (parsing stops at the first positional)
  // leaves the options nothing to parse: they are not defined (CLI11's checks of each new
  // option's names against the others' were a twentieth of a WASI hello-world's start-up).
  if (named == run && argc > 2 && argv[2][0] != '-') {
    run->prefix_command();
  } else if (named == run) {
    OptionDefiner named_options(*run, std::span<char* const>(argv + 2, argc - 2));
    define_run_options(*run, run_options, named_options);
  } else if (!named) {
    OptionDefiner all_options(*run);
    define_run_options(*run, run_options, all_options);
  }
  if (!named || named == serve) {
    define_serve_options(*serve, serve_settings);
    OptionDefiner all_options(*serve);
    define_shared_options(all_options, serve_options, false);
  }

  // CLI11 would only say that a subcommand is required.
  if (argc > 1 && argv[1][0] != '-' && !named) {
    return usage_error(fmt::format("unknown command {}", argv[1]));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // the help of the command asked for, on stdout
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Every other parse error is a usage error, naming the option and what is wrong with it.
    fmt::print(stderr, "kiln: error: {} (see kiln --help)\n", e.what());
    return kExitUsage;
  }
  if (validate->parsed()) return run_validate(validate_path);
  if (inspect->parsed()) return run_inspect(inspect_path);
  if (serve->parsed()) {
    auto prepared = prepare(serve_options);
    if (!prepared) return usage_error(prepared.error().message);
    serve_settings.engine = prepared->engine;
    serve_settings.wasi = std::move(prepared->wasi);
    serve_settings.limits = serve_options.limits;
    serve_settings.fuel = serve_options.fuel;
    serve_settings.timeout_ns = serve_options.timeout_ns;
    serve_settings.trap_unknown_imports = serve_options.trap_unknown_imports;
    return run_serve(std::move(serve_settings));
  }
  run_options.module_and_args = run->remaining();
  return run_run(std::move(run_options));
}

}  // namespace kiln::cli
