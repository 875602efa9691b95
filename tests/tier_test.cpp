// The interpreter and the JIT must not be told apart by what a program does: results, traps
// with their backtraces, and fuel to the unit (DESIGN-NOTES section 5). Each program runs
// under `kiln run --tier interp` and `--tier jit` and the two runs are compared whole.
#include "runtime/tier.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

struct TierRun {
  test::RunResult result;
  uint64_t fuel_consumed = 0;
};

class TierEquivalence : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!code_tier()) GTEST_SKIP() << "this build has no JIT for this machine";
  }

  TierRun run(const std::string& tier, const std::string& args) {
    const std::string stats = (dir_.path() / "stats.json").string();
    std::filesystem::remove(stats);  // a run that writes none must not read the last one's
    TierRun r;
    r.result = test::run_shell(std::string(KILN_CLI_PATH) + " run --tier " + tier +
                               " --stats-json " + stats + " " + args);
    std::smatch m;
    const std::string json = test::slurp(stats);
    if (std::regex_search(json, m, std::regex("\"fuel_consumed\":\\s*([0-9]+)"))) {
      r.fuel_consumed = std::stoull(m[1]);
    }
    return r;
  }

  // Runs `args` under the interpreter, under the JIT in both bounds modes and under the auto
  // tier (which hands long loops over from the interpreter to machine code), and expects the
  // same exit code, output, error (the trap and its backtrace) and fuel; returns the
  // interpreter's run.
  TierRun expect_same(const std::string& args) {
    const TierRun interp = run("interp", args);
    for (const char* jit_mode :
         {"jit --bounds-checks guard-pages", "jit --bounds-checks explicit", "auto"}) {
      const TierRun jit = run(jit_mode, args);
      EXPECT_EQ(jit.result.exit_code, interp.result.exit_code) << jit_mode << ": " << args << "\n"
                                                               << jit.result.err;
      EXPECT_EQ(jit.result.out, interp.result.out) << jit_mode << ": " << args;
      EXPECT_EQ(jit.result.err, interp.result.err) << jit_mode << ": " << args;
      EXPECT_EQ(jit.fuel_consumed, interp.fuel_consumed) << jit_mode << ": " << args;
    }
    return interp;
  }

  static std::string workload(const std::string& name) {
    return std::string(KILN_TEST_PROGRAMS_DIR) + "/workloads/" + name + ".wasm";
  }

  test::TempDir dir_;
};

// Small inputs: a run to completion with fuel takes milliseconds under the interpreter.
const std::vector<std::pair<std::string, std::string>> kWorkloads = {
    {"bytecode_vm", "20000"}, {"crc32", "20000"},    {"fib", "18"},       {"hashtable", "3000"},
    {"indirect", "50000"},    {"mandelbrot", "30"},  {"matmul", "20"},    {"memops", "10"},
    {"nbody", "5000"},        {"quicksort", "5000"}, {"sha256", "50000"}, {"sieve", "40000"},
    {"words", "5000"},
};

// Each workload runs to completion under both tiers with the same output and fuel; then with
// fuel that runs out mid-program (early, a third of the way, and one unit short of the end),
// both tiers stop at the same instruction, with the same backtrace and the same fuel consumed.
TEST_F(TierEquivalence, WorkloadsConsumeTheSameFuelAndStopAtTheSameInstruction) {
  for (const auto& [name, input] : kWorkloads) {
    const std::string program = workload(name) + " " + input;
    const TierRun full = expect_same("--fuel 1000000000000 " + program);
    ASSERT_EQ(full.result.exit_code, cli::kExitOk) << name << ": " << full.result.err;
    const uint64_t total = full.fuel_consumed;
    ASSERT_GT(total, 10000u) << name;
    for (uint64_t fuel : {uint64_t{1000}, total / 3, total - 1}) {
      const TierRun r = expect_same("--fuel " + std::to_string(fuel) + " " + program);
      EXPECT_EQ(r.result.exit_code, cli::kExitTrap) << name << " with fuel " << fuel;
      EXPECT_NE(r.result.err.find("all fuel consumed"), std::string::npos) << r.result.err;
      EXPECT_LE(r.fuel_consumed, fuel);
    }
  }
}

TEST_F(TierEquivalence, TrapsAndBacktracesAreTheSame) {
  const std::string traps = std::string(KILN_TEST_WASM_DIR) + "/traps.wasm";
  const std::vector<std::string> cases = {
      "unreachable",
      "div_s 1 0",
      "div_s -2147483648 -1",
      "rem_s -2147483648 -1",
      "rem_s 7 0",
      "trunc nan",
      "trunc 3e9",
      "load 65532",
      "load 65531",
      "load -1",
      "call_indirect 0",
      "call_indirect 1",
      "call_indirect 2",
      "call_indirect 3",
      "recurse 0",
      "nested",
      "fac 20",
  };
  for (const std::string& c : cases) {
    const std::string name = c.substr(0, c.find(' '));
    const std::string args = c.find(' ') == std::string::npos ? "" : c.substr(c.find(' '));
    const TierRun r = expect_same("--fuel 100000000 --invoke " + name + " " + traps + args);
    if (c != "fac 20" && c != "load 65531" && c != "rem_s -2147483648 -1" &&
        c != "call_indirect 0") {
      EXPECT_EQ(r.result.exit_code, cli::kExitTrap) << c;
    }
  }
}

// The JIT's leaf functions (no calls) compare the call depth instead of taking one: a leaf one
// frame past the limit still traps, at the same place, and one at the limit runs.
TEST_F(TierEquivalence, ALeafFunctionCountsAgainstTheCallDepth) {
  const std::string traps = std::string(KILN_TEST_WASM_DIR) + "/traps.wasm";
  // descend(n): n + 1 frames of descend, and the leaf below them.
  const TierRun fits = expect_same("--max-call-depth 50 --invoke descend " + traps + " 48");
  EXPECT_EQ(fits.result.exit_code, cli::kExitOk) << fits.result.err;
  EXPECT_EQ(fits.result.out, "42\n");
  const TierRun over = expect_same("--max-call-depth 50 --invoke descend " + traps + " 49");
  EXPECT_EQ(over.result.exit_code, cli::kExitTrap);
  EXPECT_NE(over.result.err.find("call stack exhausted"), std::string::npos) << over.result.err;
}

// docs/BUDGETS.md's worked example, count(10) = 95 units, under both tiers.
TEST_F(TierEquivalence, TheDocumentedCostsHoldUnderBothTiers) {
  const std::string budget = std::string(KILN_TEST_WASM_DIR) + "/cli_budget.wasm";
  const TierRun enough = expect_same("--fuel 95 --invoke count " + budget + " 10");
  EXPECT_EQ(enough.result.exit_code, cli::kExitOk) << enough.result.err;
  EXPECT_EQ(enough.fuel_consumed, 95u);
  const TierRun short_by_one = expect_same("--fuel 94 --invoke count " + budget + " 10");
  EXPECT_EQ(short_by_one.result.exit_code, cli::kExitTrap);
  EXPECT_EQ(short_by_one.fuel_consumed, 94u);
  const TierRun deep = expect_same("--fuel 100000000 --invoke recurse " + budget + " 0");
  EXPECT_EQ(deep.result.exit_code, cli::kExitTrap);
  EXPECT_NE(deep.result.err.find("call stack exhausted"), std::string::npos) << deep.result.err;
}

// The JIT's fault handler takes only faults of its own code's memory accesses: any other fault
// still ends the process as it would without kiln (or reaches the sanitizer's handler).
TEST_F(TierEquivalence, FaultsOutsideJitCodeAreNotTaken) {
  EXPECT_DEATH(
      {
        ASSERT_NE(code_tier(), nullptr);  // the handler is installed with the tier
        void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *static_cast<volatile int*>(page) = 1;
      },
      "");
}

}  // namespace
}  // namespace kiln
