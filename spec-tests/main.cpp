// kiln-spectest PATH... : runs wast2json output (JSON files, or folders searched for them),
// and the component model's .wast files (component_runner.h says how far they run today).
//
// An expected-failure list (--expected-failures FILE) names whole files that are known not to
// pass yet, each with the reason; their results are reported separately and do not count as
// failures. A listed file that passes completely is an error: the list only shrinks.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "spec-tests/component_runner.h"
#include "spec-tests/spectest_runner.h"

namespace fs = std::filesystem;
using kiln::spectest::FileReport;

namespace {

std::string stem_of(const std::string& path) {
  return fs::path(path).stem().string();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string expected_path;
  bool verbose = false, quiet = false, budgets = false;
  CLI::App app("kiln-spectest: runs the official testsuite's wast2json output", "kiln-spectest");
  app.add_option("PATH", inputs,
                 "a wast2json .json file, a component model .wast file, or a folder searched "
                 "for them")
      ->required();
  app.add_option("--expected-failures", expected_path,
                 "lines 'NAME  reason': JSON files (by stem) known to fail")
      ->type_name("FILE");
  app.add_flag("-v,--verbose", verbose,
               "print every failing assertion (default: the first 5 per file) and every module "
               "rejected for another reason than expected");
  app.add_flag("-q,--quiet", quiet, "print only failing files and the summary");
  app.add_flag("--with-budgets", budgets,
               "compile fuel charges and epoch checks in (results must not change)");
  std::string tier = "interp", bounds = "guard-pages", wasm = "3.0";
  app.add_option("--wasm", wasm,
                 "the core language the files test: 3.0 (the default) or 2.0, whose binary "
                 "format has zero bytes where multi-memory has memory indices (the Wasm 2.0 "
                 "testsuite checks that they are zero)")
      ->check(CLI::IsMember({"2.0", "3.0"}));
  app.add_option("--tier", tier,
                 "interp: the interpreter; jit: the JIT, compiling every function of every "
                 "module as it is compiled (functions it cannot compile are interpreted, counted "
                 "in the summary); auto: the interpreter first, every function compiled at its "
                 "second call, and every interpreted frame handed over to machine code at the "
                 "first header of a loop it reaches (on-stack replacement at every loop the "
                 "suite runs)")
      ->check(CLI::IsMember({"interp", "jit", "auto"}));
  app.add_option("--bounds-checks", bounds,
                 "how the JIT keeps memory accesses in bounds: guard-pages (the default: no "
                 "compare, an access outside faults) or explicit (a compare per access)")
      ->check(CLI::IsMember({"guard-pages", "explicit"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "kiln-spectest: {} (see --help)\n", e.what());
    return 2;
  }

  std::map<std::string, std::string> expected_failures;  // stem -> reason
  if (!expected_path.empty()) {
    std::ifstream in(expected_path);
    if (!in) {
      fmt::print(stderr, "kiln-spectest: cannot read {}\n", expected_path);
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      size_t space = line.find_first_of(" \t");
      std::string name = line.substr(0, space);
      std::string reason =
          space == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", space));
      if (reason.empty()) {
        fmt::print(stderr, "kiln-spectest: {}: entry '{}' gives no reason\n", expected_path, name);
        return 2;
      }
      expected_failures[name] = reason;
    }
  }

  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(input)) {
        const auto extension = entry.path().extension();
        if (extension == ".json" || extension == ".wast") files.push_back(entry.path().string());
      }
    } else if (fs::exists(input, ec)) {
      files.push_back(input);
    } else {
      fmt::print(stderr, "kiln-spectest: {}: no such file or folder\n", input);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());

  kiln::EngineConfig config;
  config.consume_fuel = config.epoch_interruption = budgets;
  config.multi_memory = wasm == "3.0";
  // Named, not left to EngineConfig's default (the JIT unless KILN_TIER says otherwise): before,
  // `--tier interp` ran the suite under the JIT, compiling lazily.
  config.tier = kiln::Tier::kInterpreter;
  if (tier == "jit" || tier == "auto") {
    config.tier = kiln::Tier::kJit;
    config.eager_compilation = tier == "jit";
    config.interpreted_calls_before_compile = config.loop_iterations_before_compile =
        tier == "auto" ? 1 : 0;
    config.bounds_checks =
        bounds == "explicit" ? kiln::BoundsChecks::kExplicit : kiln::BoundsChecks::kGuardPages;
    if (!kiln::code_tier()) {
      fmt::print(stderr, "kiln-spectest: this build of kiln has no JIT for this machine\n");
      return 2;
    }
  }
  const kiln::CodeTierStats jit_before =
      kiln::code_tier() ? kiln::code_tier()->stats() : kiln::CodeTierStats{};

  uint64_t passed = 0, failed = 0, skipped = 0, expected_failed = 0, other_reasons = 0;
  std::vector<std::string> stale_entries;
  for (const std::string& file : files) {
    FileReport r = fs::path(file).extension() == ".wast"
                       ? kiln::spectest::run_component_wast_file(file, config)
                       : kiln::spectest::run_spec_file(file, config);
    auto listed = expected_failures.find(stem_of(file));
    const bool is_expected = listed != expected_failures.end();
    if (is_expected && r.failed == 0) stale_entries.push_back(listed->first);
    if (!quiet || (r.failed && !is_expected)) {
      fmt::print("{}: {} passed, {} failed, {} skipped{}\n", file, r.passed, r.failed, r.skipped,
                 is_expected && r.failed ? fmt::format(" (expected: {})", listed->second) : "");
    }
    if (r.failed && !is_expected) {
      size_t shown = 0;
      for (const std::string& f : r.failures) {
        if (!verbose && shown++ == 5) {
          fmt::print("    ...\n");
          break;
        }
        fmt::print("    {}\n", f);
      }
    }
    if (!is_expected) {
      other_reasons += r.other_reasons.size();
      if (verbose) {
        for (const std::string& o : r.other_reasons) fmt::print("    other reason: {}\n", o);
        for (const std::string& o : r.skip_reasons) fmt::print("    skipped: {}\n", o);
      }
    }
    passed += r.passed;
    skipped += r.skipped;
    if (is_expected) {
      expected_failed += r.failed;
    } else {
      failed += r.failed;
    }
  }
  for (const std::string& stale : stale_entries) {
    fmt::print("error: {} passes completely; remove it from {}\n", stale, expected_path);
    ++failed;
  }
  if (expected_failed) {
    fmt::print("expected failures: {} assertions in files listed in {} (not counted below)\n",
               expected_failed, expected_path);
  }
  fmt::print("rejected for another reason than the testsuite names: {} (--verbose lists them)\n",
             other_reasons);
  if (config.tier == kiln::Tier::kJit) {
    const kiln::CodeTierStats jit = kiln::code_tier()->stats();
    fmt::print(
        "jit: {} functions compiled ({} bytes of code), {} left to the interpreter, {} frames "
        "handed over at a loop header\n",
        jit.compiled - jit_before.compiled, jit.code_bytes - jit_before.code_bytes,
        jit.not_compiled - jit_before.not_compiled, jit.loop_entries - jit_before.loop_entries);
  }
  fmt::print("{} passed, {} failed, {} skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}
