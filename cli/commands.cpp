#include "cli/commands.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/value_text.h"
#include "runtime/epoch_timer.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "wasi/preview1.h"
#include "wasi/wasi_context.h"

namespace kiln::cli {
namespace {

constexpr const char* kVersion = "kiln 0.1.0";

constexpr const char* kMainHelp =
    "kiln: a WebAssembly runtime\n"
    "\n"
    "usage: kiln <command> [OPTIONS] ...\n"
    "\n"
    "commands:\n"
    "  run        run a module (kiln run --help)\n"
    "  validate   decode and validate a module (kiln validate --help)\n"
    "\n"
    "options:\n"
    "  -h, --help      this text\n"
    "  -V, --version   print the version\n"
    "\n"
    "exit codes:\n"
    "  0    success\n"
    "  2    usage error (unknown option, bad --invoke argument)\n"
    "  3    the module file cannot be read\n"
    "  4    malformed module (it does not decode)\n"
    "  5    invalid module (it does not validate)\n"
    "  6    unlinkable module (missing or mismatched imports)\n"
    "  7    a limit was exceeded: an implementation limit of the module (too many functions,\n"
    "       locals, parameters, ...) or a store limit at instantiation\n"
    "  126  the program called proc_exit with a status of 126 or more (statuses 0 to 125 are\n"
    "       the program's own)\n"
    "  134  the program trapped (the trap and a backtrace are printed)\n";

constexpr const char* kRunHelp =
    "usage: kiln run [OPTIONS] MODULE [ARGS...]\n"
    "\n"
    "Instantiates MODULE (running its start function), then calls the export `_start` if\n"
    "there is one, or the function named by --invoke (after `_initialize`, for reactors).\n"
    "Options come before MODULE; everything after MODULE is passed to the program: as its\n"
    "arguments (argv[0] is MODULE), and to --invoke as the function's arguments.\n"
    "\n"
    "Budgets and limits (docs/BUDGETS.md); running out of one is a trap (exit 134):\n"
    "  --fuel N                 run with N units of fuel (an instruction costs 1)\n"
    "  --fuel-per-host-call N   charge N more fuel for each host (WASI) call\n"
    "  --timeout DURATION       stop the program after DURATION (250us, 500ms, 2s, 1m)\n"
    "  --max-memory SIZE        the most memory the program may use: its linear memories and\n"
    "                           tables together, 8 bytes a table element (65536, 64KiB, 2MiB,\n"
    "                           1GiB; default 4GiB); memory.grow and table.grow past it\n"
    "                           return -1\n"
    "  --max-table-elements N   largest size of each table; table.grow past it returns -1\n"
    "  --max-instances N, --max-tables N, --max-memories N   counts in the store\n"
    "                           (defaults 10000, 100, 100)\n"
    "  --max-call-depth N       deepest wasm call stack, in frames (default 100000, at most\n"
    "                           10000000)\n"
    "  --max-stack SIZE         size of the interpreter's value stack (default 8MiB, at most\n"
    "                           4GiB)\n"
    "  --stats                  print the store's telemetry to stderr when done\n"
    "  --stats-json FILE        write it to FILE as JSON\n"
    "\n"
    "WASI (wasi_snapshot_preview1) is provided, with nothing granted unless asked for:\n"
    "  --dir HOST[::GUEST]      let the program read and write the host directory HOST,\n"
    "                           seen as GUEST (default: HOST as written)\n"
    "  --dir-ro HOST[::GUEST]   the same, read-only: every write is refused\n"
    "  --env NAME=VALUE         set an environment variable for the program\n"
    "  --env-inherit NAME       pass the host's NAME (no variable is inherited otherwise)\n"
    "  --max-open-files N       the most descriptors the program may hold open, stdio and\n"
    "                           directories included (default 256); more opens fail (mfile)\n"
    "  stdin, stdout and stderr are the host's. proc_exit(n) exits with status n when n is\n"
    "  below 126; a larger status is an error (exit 126). --timeout also ends calls that\n"
    "  wait (poll_oneoff, reading stdin): the program stops with the trap deadline exceeded.\n"
    "\n"
    "options:\n"
    "  --invoke NAME   call the exported function NAME with ARGS parsed by its parameter types\n"
    "                  (i32/i64: 5, -1, 0x10; f32/f64: -1.5, 0x1p-3, nan, nan:0x200000, inf;\n"
    "                  references: null; v128: 0x + 32 hex digits, or i32x4:1,2,3,4 and the\n"
    "                  like) and print each result on its own line\n"
    "  -h, --help      this text\n";

constexpr const char* kValidateHelp =
    "usage: kiln validate MODULE\n"
    "\n"
    "Decodes and validates MODULE. Prints nothing and exits 0 when it is valid; otherwise prints\n"
    "what is wrong and where (section, function index, byte offset) and exits 4 (malformed),\n"
    "5 (invalid) or 7 (past an implementation limit: too many functions, locals, parameters,\n"
    "...). 2 is a usage error and 3 an unreadable file.\n"
    "\n"
    "options:\n"
    "  -h, --help      this text\n";

int error_exit(const Error& error) {
  std::fprintf(stderr, "kiln: error: %s: %s\n", error_kind_name(error.kind), error.message.c_str());
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
  std::fprintf(stderr, "kiln: error: %s (see kiln --help)\n", message.c_str());
  return kExitUsage;
}

Result<std::vector<uint8_t>> read_module_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorKind::kIo, "cannot read " + path + ": " + std::strerror(errno)};
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int trap_exit(const Trap& trap) {
  std::fprintf(stderr, "kiln: error: wasm trap: %s\n", trap.to_string().c_str());
  return kExitTrap;
}

int run_validate(int argc, char** argv) {
  std::optional<std::string> path;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kValidateHelp, stdout);
      return kExitOk;
    }
    if (arg.rfind("-", 0) == 0 && arg.size() > 1) return usage_error("unknown option " + arg);
    if (path) return usage_error("validate takes one module");
    path = arg;
  }
  if (!path) return usage_error("validate needs a module");
  auto bytes = read_module_file(*path);
  if (!bytes) return error_exit(bytes.error());
  Engine engine;
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

// Budgets and limits from the command line (docs/BUDGETS.md).
struct Budgets {
  std::optional<uint64_t> fuel;
  uint64_t host_call_fuel = 0;
  std::optional<std::chrono::nanoseconds> timeout;
  StoreLimits limits;
  bool stats = false;
  std::string stats_json;
};

std::optional<uint64_t> parse_count(const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

// "65536", "64KiB", "2MiB", "1GiB" (also K, M, G and KB, MB, GB, all binary).
std::optional<uint64_t> parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  auto n = parse_count(text.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string unit = text.substr(digits);
  unsigned shift;
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "K" || unit == "KB" || unit == "KiB")
    shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    shift = 30;
  else
    return std::nullopt;
  if (*n > (UINT64_MAX >> shift)) return std::nullopt;
  return *n << shift;
}

// "250us", "500ms", "2s", "1m".
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  auto n = parse_count(text.substr(0, digits));
  if (!n || *n > 1000000000ull) return std::nullopt;
  const std::string unit = text.substr(digits);
  using namespace std::chrono;
  if (unit == "us") return microseconds(*n);
  if (unit == "ms") return milliseconds(*n);
  if (unit == "s") return seconds(*n);
  if (unit == "m") return minutes(*n);
  return std::nullopt;
}

void print_stats(const StoreTelemetry& t, int exit_code) {
  std::fprintf(stderr, "kiln: store statistics\n");
  std::fprintf(stderr, "  %-30s %llu\n", "fuel consumed", (unsigned long long)t.fuel_consumed);
  std::fprintf(stderr, "  %-30s %llu bytes\n", "peak memory (memories, tables)",
               (unsigned long long)t.peak_memory_bytes);
  std::fprintf(stderr, "  %-30s %llu bytes\n", "tables now", (unsigned long long)t.table_bytes);
  std::fprintf(stderr, "  %-30s %llu\n", "memory.grow refused",
               (unsigned long long)t.memory_grow_refusals);
  std::fprintf(stderr, "  %-30s %llu\n", "table.grow refused",
               (unsigned long long)t.table_grow_refusals);
  std::fprintf(stderr, "  %-30s %llu\n", "refused by store limits",
               (unsigned long long)t.limit_refusals);
  std::fprintf(stderr, "  host calls%s\n", t.host_calls.empty() ? ": none" : "");
  for (const auto& [name, s] : t.host_calls) {
    std::fprintf(stderr, "    %-40s %8llu calls %12.3f ms\n", name.c_str(),
                 (unsigned long long)s.count, static_cast<double>(s.total_ns) / 1e6);
  }
  std::fprintf(stderr, "  traps%s\n", t.traps.empty() ? ": none" : "");
  for (const auto& [kind, count] : t.traps) {
    std::fprintf(stderr, "    %-40s %8llu\n", kind.c_str(), (unsigned long long)count);
  }
  std::fprintf(stderr, "  %-30s %d\n", "exit code", exit_code);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Appends are used throughout: GCC 12 warns falsely (-Wrestrict) on chained operator+.
bool write_stats_json(const StoreTelemetry& t, int exit_code, const std::string& path) {
  std::string j = "{\n";
  auto field = [&](const char* name, uint64_t v) {
    j += "  \"";
    j += name;
    j += "\": ";
    j += std::to_string(v);
    j += ",\n";
  };
  field("fuel_consumed", t.fuel_consumed);
  field("memory_bytes", t.memory_bytes);
  field("peak_memory_bytes", t.peak_memory_bytes);
  field("table_bytes", t.table_bytes);
  field("memory_grow_refusals", t.memory_grow_refusals);
  field("table_grow_refusals", t.table_grow_refusals);
  field("limit_refusals", t.limit_refusals);
  j += "  \"host_calls\": {";
  bool first = true;
  for (const auto& [name, s] : t.host_calls) {
    j += first ? "\n    " : ",\n    ";
    first = false;
    j += json_string(name);
    j += ": {\"count\": ";
    j += std::to_string(s.count);
    j += ", \"total_ns\": ";
    j += std::to_string(s.total_ns);
    j += "}";
  }
  j += t.host_calls.empty() ? "},\n" : "\n  },\n";
  j += "  \"traps\": {";
  first = true;
  for (const auto& [kind, count] : t.traps) {
    j += first ? "\n    " : ",\n    ";
    first = false;
    j += json_string(kind);
    j += ": ";
    j += std::to_string(count);
  }
  j += t.traps.empty() ? "},\n" : "\n  },\n";
  j += "  \"exit_code\": ";
  j += std::to_string(exit_code);
  j += "\n}\n";
  std::ofstream out(path, std::ios::binary);
  out << j;
  return static_cast<bool>(out);
}

int run_instance(const std::shared_ptr<const Module>& module, Store& store,
                 wasi::WasiConfig wasi_config, const std::string& path,
                 const std::vector<std::string>& program_args,
                 const std::optional<std::string>& invoke);

// The exit code for a trap: the status of proc_exit, or 134. Statuses from 126 up are kept
// for the shell and kiln (as wasmtime does); without this proc_exit(256) exited 0 and
// proc_exit(134) looked like a trap.
int exit_for(const Trap& trap) {
  if (trap.code != TrapCode::kExit) return trap_exit(trap);
  const uint32_t status = static_cast<uint32_t>(trap.exit_status);
  if (status < kExitInvalidStatus) return static_cast<int>(status);
  std::fprintf(stderr,
               "kiln: error: the program called proc_exit(%u): an exit status must be below 126\n",
               status);
  return kExitInvalidStatus;
}

int run_run(int argc, char** argv) {
  std::optional<std::string> invoke;
  wasi::WasiConfig wasi_config;
  Budgets budgets;
  int i = 0;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* option) -> std::optional<std::string> {
      std::string prefix = std::string(option) + "=";
      if (arg == option) {
        if (i + 1 >= argc) return std::nullopt;
        return std::string(argv[++i]);
      }
      if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
      return std::nullopt;
    };
    auto is = [&](const char* option) {
      return arg == option || arg.rfind(std::string(option) + "=", 0) == 0;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kRunHelp, stdout);
      return kExitOk;
    }
    if (is("--invoke")) {
      auto v = value("--invoke");
      if (!v) return usage_error("--invoke needs a function name");
      invoke = *v;
    } else if (is("--dir") || is("--dir-ro")) {
      const bool read_only = is("--dir-ro");
      auto v = value(read_only ? "--dir-ro" : "--dir");
      if (!v || v->empty()) return usage_error(arg + " needs HOST[::GUEST]");
      wasi_config.preopens.push_back(parse_preopen(*v, read_only));
    } else if (is("--env")) {
      auto v = value("--env");
      if (!v || v->find('=') == std::string::npos || v->front() == '=') {
        return usage_error("--env needs NAME=VALUE");
      }
      size_t eq = v->find('=');
      wasi_config.env.emplace_back(v->substr(0, eq), v->substr(eq + 1));
    } else if (is("--fuel") || is("--fuel-per-host-call") || is("--max-table-elements") ||
               is("--max-instances") || is("--max-tables") || is("--max-memories") ||
               is("--max-call-depth") || is("--max-open-files")) {
      const std::string name = arg.substr(0, arg.find('='));
      auto v = value(name.c_str());
      auto n = v ? parse_count(*v) : std::nullopt;
      if (!n) return usage_error(name + " needs a whole number");
      if (name == "--fuel") budgets.fuel = *n;
      if (name == "--fuel-per-host-call") budgets.host_call_fuel = *n;
      if (name == "--max-table-elements") budgets.limits.max_table_elements = *n;
      if (name == "--max-instances")
        budgets.limits.max_instances = static_cast<uint32_t>(std::min<uint64_t>(*n, UINT32_MAX));
      if (name == "--max-tables")
        budgets.limits.max_tables = static_cast<uint32_t>(std::min<uint64_t>(*n, UINT32_MAX));
      if (name == "--max-memories")
        budgets.limits.max_memories = static_cast<uint32_t>(std::min<uint64_t>(*n, UINT32_MAX));
      if (name == "--max-call-depth")
        budgets.limits.max_call_depth = static_cast<uint32_t>(std::min<uint64_t>(*n, UINT32_MAX));
      if (name == "--max-open-files")
        wasi_config.max_open_files = static_cast<uint32_t>(std::min<uint64_t>(*n, UINT32_MAX));
    } else if (is("--max-memory") || is("--max-stack")) {
      const std::string name = arg.substr(0, arg.find('='));
      auto v = value(name.c_str());
      auto n = v ? parse_size(*v) : std::nullopt;
      if (!n) return usage_error(name + " needs a size such as 65536, 64KiB, 2MiB or 1GiB");
      if (name == "--max-memory") {
        budgets.limits.max_memory_bytes = *n;
        budgets.limits.max_total_memory_bytes = *n;
      } else {
        budgets.limits.max_stack_bytes = *n;
      }
    } else if (is("--timeout")) {
      auto v = value("--timeout");
      auto d = v ? parse_duration(*v) : std::nullopt;
      if (!d) return usage_error("--timeout needs a duration such as 500ms, 2s or 1m");
      budgets.timeout = *d;
    } else if (arg == "--stats") {
      budgets.stats = true;
    } else if (is("--stats-json")) {
      auto v = value("--stats-json");
      if (!v || v->empty()) return usage_error("--stats-json needs a file name");
      budgets.stats_json = *v;
    } else if (is("--env-inherit")) {
      auto v = value("--env-inherit");
      if (!v || v->empty()) return usage_error("--env-inherit needs NAME");
      if (const char* host_value = std::getenv(v->c_str()))
        wasi_config.env.emplace_back(*v, host_value);
    } else if (arg.rfind("-", 0) == 0 && arg.size() > 1) {
      return usage_error("unknown option " + arg);
    } else {
      break;
    }
  }
  if (i >= argc) return usage_error("run needs a module");
  if (auto valid = check_store_limits(budgets.limits); !valid) {
    return usage_error(valid.error().message);
  }
  const std::string path = argv[i++];
  std::vector<std::string> program_args(argv + i, argv + argc);

  auto bytes = read_module_file(path);
  if (!bytes) return error_exit(bytes.error());
  EngineConfig engine_config;
  engine_config.consume_fuel = budgets.fuel.has_value();
  engine_config.host_call_fuel = budgets.host_call_fuel;
  engine_config.epoch_interruption = budgets.timeout.has_value();
  Engine engine(engine_config);
  auto module = Module::compile(engine, *bytes);
  if (!module) return error_exit(module.error());

  Store store(engine, budgets.limits);
  if (budgets.fuel) (void)store.set_fuel(*budgets.fuel);
  std::optional<EpochTimer> timer;
  if (budgets.timeout) {
    store.set_epoch_deadline(1);
    timer.emplace(engine, *budgets.timeout);
  }
  const int code = run_instance(*module, store, std::move(wasi_config), path, program_args, invoke);
  timer.reset();
  if (budgets.stats) print_stats(store.telemetry(), code);
  if (!budgets.stats_json.empty() &&
      !write_stats_json(store.telemetry(), code, budgets.stats_json)) {
    std::fprintf(stderr, "kiln: error: cannot write %s\n", budgets.stats_json.c_str());
    return code == kExitOk ? kExitIo : code;
  }
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
    return usage_error("the module has no export named \"" + entry + "\"");
  }
  if (ext->kind != ExternKind::kFunction) {
    return usage_error("export \"" + entry + "\" is a " + extern_kind_name(ext->kind) +
                       ", not a function");
  }
  FunctionInstance* function = ext->function();
  const FuncType& type = *function->type;
  std::vector<uint64_t> cells(std::max(type.param_cells(), type.result_cells()) + 1);
  if (invoke) {
    if (program_args.size() != type.params.size()) {
      return usage_error("\"" + entry + "\" takes " + std::to_string(type.params.size()) +
                         " arguments " + type.to_string() + ", got " +
                         std::to_string(program_args.size()));
    }
    for (size_t k = 0, cell = 0; k < type.params.size(); ++k) {
      if (auto parsed = parse_value(type.params[k], program_args[k], &cells[cell]); !parsed) {
        return error_exit(parsed.error());
      }
      cell += cell_count(type.params[k]);
    }
  } else if (!type.params.empty()) {
    return usage_error("_start must take no parameters, but has type " + type.to_string());
  }
  if (TrapPtr t = store.invoke(function, cells.data())) return exit_for(*t);
  for (size_t k = 0, cell = 0; k < type.results.size(); ++k) {
    std::printf("%s\n", format_value(type.results[k], &cells[cell]).c_str());
    cell += cell_count(type.results[k]);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kMainHelp, stderr);
    return kExitUsage;
  }
  std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kMainHelp, stdout);
    return kExitOk;
  }
  if (command == "-V" || command == "--version") {
    std::puts(kVersion);
    return kExitOk;
  }
  if (command == "run") return run_run(argc - 2, argv + 2);
  if (command == "validate") return run_validate(argc - 2, argv + 2);
  return usage_error("unknown command " + command);
}

}  // namespace kiln::cli
