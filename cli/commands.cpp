#include "cli/commands.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "cli/value_text.h"
#include "runtime/module.h"
#include "runtime/store.h"

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
    "  6    unlinkable module (missing or mismatched imports, or a limit at instantiation)\n"
    "  134  the program trapped (the trap and a backtrace are printed)\n";

constexpr const char* kRunHelp =
    "usage: kiln run [OPTIONS] MODULE [ARGS...]\n"
    "\n"
    "Instantiates MODULE (running its start function), then calls the export `_start` if\n"
    "there is one, or the function named by --invoke. Options come before MODULE; everything\n"
    "after MODULE is passed to the program.\n"
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
    "what is wrong and where (section, function index, byte offset) and exits 4 (malformed) or\n"
    "5 (invalid).\n"
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
      return kExitUnlinkable;
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

int run_run(int argc, char** argv) {
  std::optional<std::string> invoke;
  int i = 0;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kRunHelp, stdout);
      return kExitOk;
    }
    if (arg == "--invoke") {
      if (i + 1 >= argc) return usage_error("--invoke needs a function name");
      invoke = argv[++i];
      continue;
    }
    if (arg.rfind("--invoke=", 0) == 0) {
      invoke = arg.substr(9);
      continue;
    }
    if (arg.rfind("-", 0) == 0 && arg.size() > 1) return usage_error("unknown option " + arg);
    break;
  }
  if (i >= argc) return usage_error("run needs a module");
  const std::string path = argv[i++];
  std::vector<std::string> program_args(argv + i, argv + argc);

  auto bytes = read_module_file(path);
  if (!bytes) return error_exit(bytes.error());
  Engine engine;
  auto module = Module::compile(engine, *bytes);
  if (!module) return error_exit(module.error());
  const Module& m = **module;
  if (!m.imports.empty()) {
    const Import& imp = m.imports[0];
    return error_exit(
        Error{ErrorKind::kUnlinkable, "unknown import \"" + imp.module + "\" \"" + imp.name +
                                          "\": kiln run provides no host modules yet"});
  }

  Store store(engine);
  TrapPtr trap;
  auto instance = store.instantiate(*module, {}, &trap);
  if (!instance) return trap ? trap_exit(*trap) : error_exit(instance.error());

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
  if (program_args.size() != type.params.size()) {
    return usage_error("\"" + entry + "\" takes " + std::to_string(type.params.size()) +
                       " arguments " + type.to_string() + ", got " +
                       std::to_string(program_args.size()));
  }
  std::vector<uint64_t> cells(std::max(type.param_cells(), type.result_cells()) + 1);
  for (size_t k = 0, cell = 0; k < type.params.size(); ++k) {
    if (auto parsed = parse_value(type.params[k], program_args[k], &cells[cell]); !parsed) {
      return error_exit(parsed.error());
    }
    cell += cell_count(type.params[k]);
  }
  if (TrapPtr t = store.invoke(function, cells.data())) return trap_exit(*t);
  for (size_t k = 0, cell = 0; k < type.results.size(); ++k) {
    std::printf("%s\n", format_value(type.results[k], &cells[cell]).c_str());
    cell += cell_count(type.results[k]);
  }
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
