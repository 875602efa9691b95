// The `kiln` command's exit codes and output, run as a separate process.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "cli/commands.h"
#include "runtime/tier.h"
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

// --profile perfmap names JIT code for Linux perf: one "START SIZE NAME" line per compiled
// function in /tmp/perf-PID.map.
TEST_F(CliTest, PerfMapNamesCompiledFunctions) {
  // The shell prints its PID and becomes kiln, so kiln's PID is known.
  RunResult r =
      test::run_shell("sh -c 'echo $$; exec " + std::string(KILN_CLI_PATH) +
                      " run --tier jit --profile perfmap --invoke fib " + example("fib") + " 20'");
  ASSERT_EQ(r.exit_code, cli::kExitOk) << r.err;
  const std::string pid = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(r.out.substr(pid.size() + 1), "6765\n");
  const std::string map_path = "/tmp/perf-" + pid + ".map";
  const std::string map = test::slurp(map_path);
  std::remove(map_path.c_str());
  if (!code_tier()) {
    EXPECT_EQ(map, "");  // nothing was compiled
    return;
  }
  EXPECT_TRUE(std::regex_search(map, std::regex("(^|\n)[0-9a-f]+ [0-9a-f]+ [^ ]*!fib\n"))) << map;
  // With the interpreter as the default tier (KILN_TIER=interp) nothing is compiled, unless
  // --tier jit asks for the JIT.
  for (const std::string tier : {"", "--tier jit"}) {
    r = test::run_shell("sh -c 'echo $$; KILN_TIER=interp exec " + std::string(KILN_CLI_PATH) +
                        " run " + tier + " --profile perfmap --invoke fib " + example("fib") +
                        " 20'");
    ASSERT_EQ(r.exit_code, cli::kExitOk) << r.err;
    const std::string path = "/tmp/perf-" + r.out.substr(0, r.out.find('\n')) + ".map";
    const bool named = test::slurp(path).find("!fib") != std::string::npos;
    std::remove(path.c_str());
    EXPECT_EQ(named, !tier.empty()) << "with '" << tier << "'";
  }
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

TEST_F(CliTest, DirectoryAsModuleExitsWith3) {
  // A directory once sized a read buffer from tellg() (-1 as a size: std::bad_alloc, an abort).
  RunResult r = run("run " + dir_.path().string());
  EXPECT_EQ(r.exit_code, cli::kExitIo);
  EXPECT_NE(r.err.find("Is a directory"), std::string::npos) << r.err;
}

TEST_F(CliTest, ModuleFromAPipeRuns) {
  // fd 3 is the pipe (run() redirects stdin itself).
  RunResult r = test::run_shell("cat " + example("fib") + " | " + KILN_CLI_PATH +
                                " run --invoke fib /dev/fd/3 10 3<&0");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "55\n");
}

TEST_F(CliTest, ComponentsAreValidated) {
  const std::vector<uint8_t> preamble = {0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00};
  const std::string good = write_file("empty.component.wasm", preamble);
  RunResult r = run("validate " + good);
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  r = run("run " + good);  // nothing to call
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  EXPECT_NE(r.err.find("exports no wasi:cli/run: name the export to call with --invoke"),
            std::string::npos)
      << r.err;
  std::vector<uint8_t> invalid = preamble;
  invalid.insert(invalid.end(), {0x07, 0x03, 0x01, 0x69, 0x00});  // (own 0): no type 0
  r = run("validate " + write_file("invalid.component.wasm", invalid));
  EXPECT_EQ(r.exit_code, cli::kExitInvalid);
  EXPECT_NE(r.err.find("in type 0 (at byte offset 0xb): type index 0 out of bounds"),
            std::string::npos)
      << r.err;
  std::vector<uint8_t> bad = preamble;
  bad.insert(bad.end(), {0x07, 0x02, 0x01, 0x3e});  // a type section with no such type
  r = run("validate " + write_file("bad.component.wasm", bad));
  EXPECT_EQ(r.exit_code, cli::kExitMalformed);
  EXPECT_NE(r.err.find("in type section: item 0: invalid leading byte 0x3e"), std::string::npos)
      << r.err;
}

std::string test_component(const std::string& name) {
  return std::string(KILN_TEST_COMPONENTS_DIR) + "/" + name + ".wasm";
}

// tests/components/jco/values.c behind values.wit: each export's result follows from its C code
// (translate adds, toggle is exclusive or, parse-number refuses what is not a u32).
TEST_F(CliTest, ComponentExportsAreCalledWithWaveValues) {
  const std::string values = test_component("values");
  auto invoke = [&](const std::string& call) {
    return run("run --invoke '" + call + "' " + values);
  };
  RunResult r = invoke("translate({x: 1, y: 2}, 10, -20)");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "{x: 11, y: -18, label: none}\n");
  EXPECT_EQ(invoke("translate({label: some(\"p\"), y: 0, x: 0}, 1, 1)").out,
            "{x: 1, y: 1, label: some(\"p\")}\n");
  EXPECT_EQ(invoke("toggle({read, exec}, {exec, write})").out, "{read, write}\n");
  EXPECT_EQ(invoke("next-color(blue)").out, "red\n");
  EXPECT_EQ(invoke("area(rect({x: -3, y: 4}))").out, "12\n");
  EXPECT_EQ(invoke("parse-number(\"7\")").out, "ok(7)\n");
  EXPECT_EQ(invoke("parse-number(\"x\")").out, "err(\"not a u32: x\")\n");
  EXPECT_EQ(invoke("first-char(\"\\u{1F600}!\")").out, "some('\xF0\x9F\x98\x80')\n");
  EXPECT_EQ(invoke("swap((255, -1))").out, "(-1, 255)\n");
  EXPECT_EQ(invoke("words(\" a  bc \")").out, "[\"a\", \"bc\"]\n");
  EXPECT_EQ(invoke("reverse([1, 2, 3])").out, "[3, 2, 1]\n");
  EXPECT_EQ(invoke("is-even(18446744073709551615)").out, "false\n");

  // Bad calls are usage errors naming what is wrong and where.
  r = invoke("add(1, 2147483648)");
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  EXPECT_NE(r.err.find("WAVE value at offset 7: expected an s32, found `2147483648)`"),
            std::string::npos)
      << r.err;
  r = invoke("add(1)");
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  EXPECT_NE(r.err.find("`add` takes 2 arguments, given 1"), std::string::npos) << r.err;
  r = invoke("next-color(purple)");
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  EXPECT_NE(r.err.find("`purple` is not a case of enum { red, green, blue }"), std::string::npos)
      << r.err;
  r = invoke("subtract(1, 2)");
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  EXPECT_NE(r.err.find("the component exports no function named \"subtract\""), std::string::npos)
      << r.err;
  r = run("run --invoke 'add(1, 2)' " + values + " 3");
  EXPECT_EQ(r.exit_code, cli::kExitUsage);
  EXPECT_NE(r.err.find("a component's arguments go inside --invoke"), std::string::npos) << r.err;
}

TEST_F(CliTest, ComponentCallsRunOnTheStoresBudgets) {
  const std::string call = "--invoke 'words(\"a b c d e f g h i j\")' " + test_component("values");
  RunResult r = run("run --fuel 20 " + call);
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
  EXPECT_NE(r.err.find("all fuel consumed"), std::string::npos) << r.err;
  r = run("run --fuel 100000 " + call);
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\"]\n");
}

// examples/components/component.wat imports local:demo/host@1.0.0 (a resource, a function and a
// method); its greet export calls the imported log.
TEST_F(CliTest, MissingComponentImportsAreListedOrLinkedToTraps) {
  const std::string component = std::string(KILN_C_EXAMPLES_DIR) + "/component.wasm";
  RunResult r = run("run --invoke 'greet(\"kiln\")' " + component);
  EXPECT_EQ(r.exit_code, cli::kExitUnlinkable);
  EXPECT_NE(r.err.find("imports what kiln does not provide"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\n  local:demo/host@1.0.0#counter\n  local:demo/host@1.0.0#log\n"
                       "  local:demo/host@1.0.0#[method]counter.bump"),
            std::string::npos)
      << r.err;
  r = run("run --trap-unknown-imports --invoke 'greet(\"kiln\")' " + component);
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
  EXPECT_NE(r.err.find("wasm trap: unknown import `local:demo/host@1.0.0#log` called"),
            std::string::npos)
      << r.err;
}

TEST_F(CliTest, InspectPrintsAComponentsWorldAndAModulesImportsAndExports) {
  RunResult r = run("inspect " + test_component("values"));
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out.rfind("world root {\n", 0), 0u) << r.out;
  for (const char* line :
       {"  export translate: func(p: point, dx: s32, dy: s32) -> point;\n",
        "  export parse-number: func(text: string) -> result<u32, string>;\n",
        "  import point: type = record { x: s32, y: s32, label: option<string> };\n"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " in\n" << r.out;
  }
  r = run("inspect " + std::string(KILN_C_EXAMPLES_DIR) + "/component.wasm");
  EXPECT_NE(r.out.find("  import local:demo/host@1.0.0: interface {\n    counter: resource;\n"),
            std::string::npos)
      << r.out;
  r = run("inspect " + example("fib"));
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_NE(r.out.find("  (export \"fib\" (func (param i32) (result i64)))\n"), std::string::npos)
      << r.out;
  r = run("inspect " + dir_.path().string() + "/missing.wasm");
  EXPECT_EQ(r.exit_code, cli::kExitIo);
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

// kiln run defines only the options its command line names (cli/commands.cpp, OptionDefiner):
// each still parses in both spellings, together with others; one written after MODULE is the
// program's argument, not kiln's.
TEST_F(CliTest, NamedOptionsParseAloneOrTogether) {
  RunResult r = run("run --fuel=94 --invoke count " + budget_module() + " 10");
  EXPECT_EQ(r.exit_code, cli::kExitTrap) << r.err;
  r = run("run --invoke=count --fuel 95 " + budget_module() + " 10");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "10\n");
  const std::string hello = std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_hello.wasm";
  r = run("run --env GREETING=hi --env-inherit=NO_SUCH_VARIABLE_HERE " + hello + " --fuel 1");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;  // with 1 unit of fuel it would trap
  EXPECT_EQ(r.out, "argc=3\nargv[1]=--fuel\nargv[2]=1\nenv GREETING=hi\nenv count=1\n");
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

std::string test_wasm(const std::string& name) {
  return std::string(KILN_TEST_WASM_DIR) + "/" + name + ".wasm";
}

// Hardening: limits no store can have are usage errors, never an uncaught exception (before,
// both died with std::bad_alloc and exit 134, indistinguishable from a trap).
TEST_F(CliTest, StackLimitsPastWhatKilnSupportsAreUsageErrors) {
  RunResult r = run("run --max-stack 1000G --invoke count " + budget_module() + " 1");
  EXPECT_EQ(r.exit_code, cli::kExitUsage) << r.err;
  EXPECT_NE(r.err.find("max_stack_bytes"), std::string::npos) << r.err;
  r = run("run --max-call-depth 4294967295 --invoke count " + budget_module() + " 1");
  EXPECT_EQ(r.exit_code, cli::kExitUsage) << r.err;
  EXPECT_NE(r.err.find("max_call_depth"), std::string::npos) << r.err;
  r = run("run --max-call-depth 10000000 --max-stack 4GiB --invoke count " + budget_module() +
          " 3");
  EXPECT_EQ(r.exit_code, cli::kExitOk) << r.err;
  EXPECT_EQ(r.out, "3\n");
}

// Hardening: 20 tables of 10 M elements took 1.57 GB under --max-memory 1MiB.
TEST_F(CliTest, MaxMemoryCoversTables) {
  RunResult r = run("run --max-memory 1MiB " + test_wasm("hostile_tables"));
  EXPECT_EQ(r.exit_code, cli::kExitLimit) << r.err;
  EXPECT_NE(r.err.find("exceeds the store's memory budget of 1048576 bytes"), std::string::npos)
      << r.err;
  r = run("run --max-memory 1MiB --stats --invoke grow " + test_wasm("hostile_table_grow") +
          " 100000");
  EXPECT_EQ(r.out, "0\n") << r.err;
  EXPECT_NE(r.err.find("tables now                     800000 bytes"), std::string::npos) << r.err;
  r = run("run --max-memory 1MiB --invoke grow " + test_wasm("hostile_table_grow") + " 200000");
  EXPECT_EQ(r.out, "-1\n") << r.err;
}

// Hardening: a deep recursion printed 100,001 lines of backtrace.
TEST_F(CliTest, DeepBacktracesAreCollapsed) {
  RunResult r = run("run --invoke recurse " + budget_module() + " 0");
  EXPECT_EQ(r.exit_code, cli::kExitTrap);
  EXPECT_NE(r.err.find("\n  ... 99980 more frames of cli_budget!recurse\n"), std::string::npos)
      << r.err.substr(0, 4000);
  EXPECT_NE(r.err.find("\n  99999: cli_budget!recurse"), std::string::npos);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 22) << r.err.substr(0, 4000);
}

// Hardening: proc_exit(256) exited 0, and 134, 6 and 4 looked like kiln's own codes.
TEST_F(CliTest, ProcExitStatusesFrom126UpAreAnError) {
  for (uint32_t status : {0u, 3u, 125u}) {
    RunResult r =
        run("run --invoke exit_with " + test_wasm("hostile_exit") + " " + std::to_string(status));
    EXPECT_EQ(r.exit_code, static_cast<int>(status)) << r.err;
    EXPECT_EQ(r.err, "");
  }
  for (uint32_t status : {126u, 134u, 256u, 4294967295u}) {
    RunResult r =
        run("run --invoke exit_with " + test_wasm("hostile_exit") + " " + std::to_string(status));
    EXPECT_EQ(r.exit_code, cli::kExitInvalidStatus) << status;
    EXPECT_NE(
        r.err.find("proc_exit(" + std::to_string(status) + "): an exit status must be below 126"),
        std::string::npos)
        << r.err;
  }
}

// Hardening: `kiln validate` exited 6 for an implementation limit while its help said 0, 4
// or 5. A limit is now its own documented code.
TEST_F(CliTest, ValidateReportsImplementationLimitsWithTheirOwnCode) {
  // One function declaring 50,001 locals (the limit is 50,000).
  std::string path = write_file(
      "locals.wasm", test::module_bytes({0x01, 0x04, 0x01, 0x60, 0x00, 0x00,  // type () -> ()
                                         0x03, 0x02, 0x01, 0x00,              // one function
                                         0x0a, 0x08, 0x01, 0x06, 0x01,        // code: 1 run
                                         0xd1, 0x86, 0x03, 0x7f, 0x0b}));     // 50001 i32
  RunResult r = run("validate " + path);
  EXPECT_EQ(r.exit_code, cli::kExitLimit) << r.err;
  EXPECT_NE(r.err.find("too many locals: more than 50000 in one function"), std::string::npos)
      << r.err;
  r = run("validate --help");
  EXPECT_NE(r.out.find("7 (past an implementation limit"), std::string::npos) << r.out;
  r = run("--help");
  EXPECT_NE(r.out.find("  7    a limit was exceeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  126  the program called proc_exit"), std::string::npos) << r.out;
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
  EXPECT_NE(r.out.find("Usage: kiln run [OPTIONS] MODULE [ARGS...]"), std::string::npos) << r.out;
}

// The README and the help come from different places: every option the README names must
// exist in the help (which CLI11 writes from the option definitions), and every option of
// `kiln run` must be in the README.
TEST_F(CliTest, ReadmeAndHelpNameTheSameOptions) {
  const std::string readme = test::slurp(std::string(KILN_SOURCE_DIR) + "/README.md");
  const std::string help = run("--help").out + run("run --help").out + run("validate --help").out +
                           run("serve --help").out;
  auto options_in = [](const std::string& text) {
    std::set<std::string> options;
    for (size_t at = text.find("--"); at != std::string::npos; at = text.find("--", at + 2)) {
      if (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '-'))
        continue;
      size_t end = at + 2;
      if (end >= text.size() || !std::islower(static_cast<unsigned char>(text[end]))) continue;
      while (end < text.size() &&
             (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '-'))
        ++end;
      if (end > at + 2) options.insert(text.substr(at, end - at));
    }
    return options;
  };
  const std::set<std::string> in_help = options_in(help);
  // The README also names options of other programs (bench/run-workloads, scripts).
  const std::set<std::string> not_kiln = {"--engines",
                                          "--repeat",
                                          "--filter",
                                          "--quick",
                                          "--install",
                                          "--prefix",
                                          "--instructions",
                                          "--verbose",
                                          "--with-budgets",
                                          "--expected-failures",
                                          "--quiet",
                                          "--cflags",
                                          "--libs",
                                          "--target",
                                          "--engine",
                                          "--single-threaded",
                                          "--wasi-command",
                                          "--duration",
                                          "--connections",
                                          "--only",
                                          "--isolate-requests",
                                          "--runs",      // bench/startup's
                                          "--baseline",  // bench/startup's
                                          "--wasm",
                                          "--benchmark",  // kiln_micro_bench's --benchmark_*
                                          "--tool",       // valgrind's
                                          "--toggle-collect"};
  for (const std::string& option : options_in(readme)) {
    if (not_kiln.count(option)) continue;
    EXPECT_TRUE(in_help.count(option)) << option << " is in the README but not in --help";
  }
  const std::string run_help = run("run --help").out + run("serve --help").out;
  for (const std::string& option : options_in(run_help)) {
    if (option == "--help") continue;
    EXPECT_NE(readme.find(option), std::string::npos) << option << " is not in the README";
  }
}

}  // namespace
}  // namespace kiln
