// kiln-spectest PATH... : runs wast2json output (JSON files, or folders searched for them).
//
// An expected-failure list (--expected-failures FILE) names whole files that are known not to
// pass yet, each with the reason; their results are reported separately and do not count as
// failures. A listed file that passes completely is an error: the list only shrinks.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "spec-tests/spectest_runner.h"

namespace fs = std::filesystem;
using kiln::spectest::FileReport;

namespace {

void usage() {
  std::puts(
      "usage: kiln-spectest [OPTIONS] PATH...\n"
      "  PATH                      a wast2json .json file, or a folder searched for them\n"
      "  --expected-failures FILE  lines 'NAME  reason': JSON files (by stem) known to fail\n"
      "  --verbose                 print every failing assertion (default: the first 5 per file)\n"
      "                            and every module rejected for another reason than expected\n"
      "  --quiet                   print only failing files and the summary\n"
      "  --with-budgets            compile fuel charges and epoch checks in (results must not\n"
      "                            change)\n"
      "  --help                    this text");
}

std::string stem_of(const std::string& path) {
  return fs::path(path).stem().string();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string expected_path;
  bool verbose = false, quiet = false, budgets = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    }
    if (arg == "--verbose" || arg == "-v") {
      verbose = true;
      continue;
    }
    if (arg == "--with-budgets") {
      budgets = true;
      continue;
    }
    if (arg == "--quiet" || arg == "-q") {
      quiet = true;
      continue;
    }
    if (arg == "--expected-failures" && i + 1 < argc) {
      expected_path = argv[++i];
      continue;
    }
    if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr, "kiln-spectest: unknown option %s\n", arg.c_str());
      return 2;
    }
    inputs.push_back(arg);
  }
  if (inputs.empty()) {
    usage();
    return 2;
  }

  std::map<std::string, std::string> expected_failures;  // stem -> reason
  if (!expected_path.empty()) {
    std::ifstream in(expected_path);
    if (!in) {
      std::fprintf(stderr, "kiln-spectest: cannot read %s\n", expected_path.c_str());
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
        std::fprintf(stderr, "kiln-spectest: %s: entry '%s' gives no reason\n",
                     expected_path.c_str(), name.c_str());
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
        if (entry.path().extension() == ".json") files.push_back(entry.path().string());
      }
    } else if (fs::exists(input, ec)) {
      files.push_back(input);
    } else {
      std::fprintf(stderr, "kiln-spectest: %s: no such file or folder\n", input.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());

  uint64_t passed = 0, failed = 0, skipped = 0, expected_failed = 0, other_reasons = 0;
  std::vector<std::string> stale_entries;
  for (const std::string& file : files) {
    FileReport r = kiln::spectest::run_spec_file(file, budgets);
    auto listed = expected_failures.find(stem_of(file));
    const bool is_expected = listed != expected_failures.end();
    if (is_expected && r.failed == 0) stale_entries.push_back(listed->first);
    if (!quiet || (r.failed && !is_expected)) {
      std::printf("%s: %llu passed, %llu failed, %llu skipped%s\n", file.c_str(),
                  (unsigned long long)r.passed, (unsigned long long)r.failed,
                  (unsigned long long)r.skipped,
                  is_expected && r.failed ? (" (expected: " + listed->second + ")").c_str() : "");
    }
    if (r.failed && !is_expected) {
      size_t shown = 0;
      for (const std::string& f : r.failures) {
        if (!verbose && shown++ == 5) {
          std::printf("    ...\n");
          break;
        }
        std::printf("    %s\n", f.c_str());
      }
    }
    if (!is_expected) {
      other_reasons += r.other_reasons.size();
      if (verbose) {
        for (const std::string& o : r.other_reasons)
          std::printf("    other reason: %s\n", o.c_str());
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
    std::printf("error: %s passes completely; remove it from %s\n", stale.c_str(),
                expected_path.c_str());
    ++failed;
  }
  if (expected_failed) {
    std::printf("expected failures: %llu assertions in files listed in %s (not counted below)\n",
                (unsigned long long)expected_failed, expected_path.c_str());
  }
  std::printf("rejected for another reason than the testsuite names: %llu (--verbose lists them)\n",
              (unsigned long long)other_reasons);
  std::printf("%llu passed, %llu failed, %llu skipped\n", (unsigned long long)passed,
              (unsigned long long)failed, (unsigned long long)skipped);
  return failed ? 1 : 0;
}
