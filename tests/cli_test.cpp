// The `kiln` command's exit codes and output, run as a separate process.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

using test::RunResult;

class CliTest : public ::testing::Test {
 protected:
  RunResult run(const std::string& args) {
    return test::run_shell(std::string(KILN_CLI_PATH) + " " + args);
  }

  std::string write_file(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::string path = (dir_.path() / name).string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path;
  }

  std::string example(const std::string& name) {
    return std::string(KILN_EXAMPLES_DIR) + "/" + name + ".wasm";
  }
  test::TempDir dir_;
};

TEST_F(CliTest, InvokePrintsResults) {
  RunResult r = run("run --invoke fib " + example("fib") + " 20");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "6765\n");
}

TEST_F(CliTest, InvokeParsesArgumentsByParameterType) {
  std::string traps = std::string(KILN_TEST_WASM_DIR) + "/traps.wasm";
  RunResult r = run("run --invoke div_s " + traps + " -- -7 0x2");
  // `--` is not special after the module: it is the first program argument, so the count is off.
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  r = run("run --invoke div_s " + traps + " -7 0x2");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "-3\n");
  r = run("run --invoke trunc " + traps + " -1.5");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "-1\n");
  r = run("run --invoke div_s " + traps + " seven 1");
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  EXPECT_NE(r.err.find("cannot read 'seven' as i32"), std::string::npos) << r.err;
}

TEST_F(CliTest, TrapExitsWith134AndPrintsABacktrace) {
  RunResult r = run("run --invoke divide " + example("fib") + " 0");
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
  EXPECT_NE(r.err.find("wasm trap: integer divide by zero"), std::string::npos) << r.err;
  size_t quotient = r.err.find("quotient");
  size_t divide = r.err.find("divide (function");
  EXPECT_NE(quotient, std::string::npos) << r.err;
  EXPECT_NE(divide, std::string::npos) << r.err;
  EXPECT_LT(quotient, divide) << "innermost frame first";
}

TEST_F(CliTest, ValidateAcceptsValidModules) {
  RunResult r = run("validate " + example("fib"));
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, MalformedModuleExitsWith4) {
  std::string path = write_file("bad.wasm", {0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00});
  for (const char* command : {"validate ", "run "}) {
    RunResult r = run(command + path);
    EXPECT_EQ(r.exit_code, cli::kExitMalformed);
    EXPECT_NE(r.err.find("malformed module: unknown binary version"), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, InvalidModuleExitsWith5) {
  // (func (result i32) i64.const 0)
  std::string path =
      write_file("invalid.wasm",
                 test::module_bytes({0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01,
                                     0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x00, 0x0b}));
  RunResult r = run("validate " + path);
  EXPECT_EQ(r.exit_code, cli::kExitInvalid);
  EXPECT_NE(r.err.find("invalid module: type mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("function 0"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnlinkableModuleExitsWith6) {
  RunResult r = run("run " + std::string(KILN_TEST_WASM_DIR) + "/host.wasm");
  EXPECT_EQ(r.exit_code, cli::kExitUnlinkable);
  EXPECT_NE(r.err.find("unknown import \"env\" \"add\""), std::string::npos) << r.err;
}

TEST_F(CliTest, MissingFileExitsWith3) {
  RunResult r = run("run " + (dir_.path() / "does-not-exist.wasm").string());
  EXPECT_EQ(r.exit_code, cli::kExitIo);
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
}

TEST_F(CliTest, UsageErrorsExitWith2) {
  EXPECT_EQ(run("").exit_code, cli::kExitUsage);
  EXPECT_EQ(run("frobnicate").exit_code, cli::kExitUsage);
  EXPECT_EQ(run("run --no-such-option " + example("fib")).exit_code, cli::kExitUsage);
  EXPECT_EQ(run("run --invoke nope " + example("fib")).exit_code, cli::kExitUsage);
  EXPECT_EQ(run("run --invoke fib " + example("fib")).exit_code,
            cli::kExitUsage);  // missing argument
  EXPECT_EQ(run("validate").exit_code, cli::kExitUsage);
}

std::string budget_module() {
  return std::string(KILN_TEST_WASM_DIR) + "/cli_budget.wasm";
}

TEST_F(CliTest, FuelStopsAnInfiniteLoop) {
  RunResult r = run("run --fuel 100000 --invoke spin " + budget_module());
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
  EXPECT_NE(r.err.find("wasm trap: all fuel consumed"), std::string::npos) << r.err;
  // count(10) costs 5 + 9 * 10 fuel (docs/BUDGETS.md): exactly enough.
  r = run("run --fuel 95 --invoke count " + budget_module() + " 10");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "10\n");
  r = run("run --fuel 94 --invoke count " + budget_module() + " 10");
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
}

TEST_F(CliTest, TimeoutStopsAnInfiniteLoop) {
  const auto start = std::chrono::steady_clock::now();
  RunResult r = run("run --timeout 100ms --invoke spin " + budget_module());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
  EXPECT_NE(r.err.find("wasm trap: deadline exceeded"), std::string::npos) << r.err;
  EXPECT_LT(elapsed, std::chrono::seconds(20)) << "the deadline must stop the loop";
}

TEST_F(CliTest, LimitsRefuseGrowthAndDepth) {
  RunResult r = run("run --max-memory 128KiB --invoke grow " + budget_module() + " 1");
  EXPECT_EQ(r.out, "1\n");
  r = run("run --max-memory 128KiB --invoke grow " + budget_module() + " 2");
  EXPECT_EQ(r.out, "-1\n");
  r = run("run --max-call-depth 100 --invoke recurse " + budget_module() + " 0");
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
  EXPECT_NE(r.err.find("call stack exhausted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("99: cli_budget!recurse"), std::string::npos)
      << "100 frames in the backtrace";
  EXPECT_EQ(r.err.find("100: cli_budget!recurse"), std::string::npos);
  EXPECT_EQ(run("run --max-memory lots --invoke grow " + budget_module() + " 1").exit_code,
            cli::kExitUsage);
  EXPECT_EQ(run("run --timeout 5 --invoke spin " + budget_module()).exit_code, cli::kExitUsage);
}

TEST_F(CliTest, StatsReportTheStoresUse) {
  std::string json = (dir_.path() / "stats.json").string();
  RunResult r = run("run --stats --stats-json " + json +
                    " --fuel 1000 --max-memory 128KiB --invoke grow " + budget_module() + " 5");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_NE(r.err.find("memory.grow refused            1\n"), std::string::npos) << r.err;
  std::string stats = test::slurp(json);
  EXPECT_NE(stats.find("\"memory_grow_refusals\": 1,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"peak_memory_bytes\": 65536,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"fuel_consumed\": 2,"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"exit_code\": 0"), std::string::npos) << stats;
  r = run("run --stats-json " + json + " --fuel 50 --invoke spin " + budget_module());
  stats = test::slurp(json);
  EXPECT_NE(stats.find("\"all fuel consumed\": 1"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"exit_code\": 134"), std::string::npos) << stats;
}

TEST_F(CliTest, HelpListsEveryOption) {
  RunResult r = run("--help");
  EXPECT_EQ(r.exit_code, cli::kExitOk);
  for (const char* text : {"run", "validate", "--version", "134"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text;
  }
  r = run("run --help");
  EXPECT_EQ(r.exit_code, cli::kExitOk);
  EXPECT_NE(r.out.find("--invoke NAME"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace kiln
