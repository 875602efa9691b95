// The WASI 0.2 host (wasi/preview2.h) through `kiln run`: the C programs of the preview1 tests,
// made WASI 0.2 command components by jco's preview1 adapter (`jco new --wasi-command`), run
// under kiln and under `jco run` (node and jco's preview2-shim, the reference host) with the same
// grants: the same stdout, stderr and exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "tests/test_support.h"

namespace kiln {
namespace {

using test::RunResult;

std::string component(const std::string& name) {
  return std::string(KILN_TEST_PROGRAMS_DIR) + "/" + name + ".component.wasm";
}

RunResult run_kiln(const std::string& flags, const std::string& args,
                   const std::string& input = "") {
  return test::run_shell(std::string(KILN_CLI_PATH) + " run " + flags + " " + args, input);
}

// jco run passes the whole environment of its process: it gets exactly `env` (NAME=VALUE ...).
RunResult run_jco(const std::string& env, const std::string& args, const std::string& input = "") {
  return test::run_shell(
      "env -i " + env + " " + KILN_NODE_PATH + " " + KILN_JCO_PATH + " run " + args, input);
}

TEST(WasiComponents, ArgumentsAndGrantedEnvironmentAsUnderJco) {
  const std::string args = component("wasi_hello") + " one 'two words' ''";
  RunResult kiln = run_kiln("--env GREETING=hello --env 'EQ=a=b' --env 'EMPTY='", args);
  RunResult jco = run_jco("GREETING=hello 'EQ=a=b' 'EMPTY='", args);
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(jco.exit_code, 0) << jco.err;
  EXPECT_EQ(kiln.out, jco.out);
  EXPECT_EQ(kiln.err, jco.err);
  EXPECT_NE(kiln.out.find("argv[2]=two words\nargv[3]=\n"), std::string::npos) << kiln.out;
  EXPECT_NE(kiln.out.find("env count=3\n"), std::string::npos) << kiln.out;
  // Nothing is inherited unless asked for.
  EXPECT_NE(run_kiln("", component("wasi_hello")).out.find("env count=0\n"), std::string::npos);
}

TEST(WasiComponents, ExitStatusAsUnderJco) {
  // wasi:cli/exit carries ok or err only: a C exit(7) becomes err, status 1, under both hosts.
  for (const char* status : {"exit=0", "exit=7"}) {
    const std::string args = component("wasi_hello") + " " + status;
    RunResult kiln = run_kiln("", args), jco = run_jco("", args);
    EXPECT_EQ(kiln.exit_code, jco.exit_code) << status << ": " << kiln.err;
    EXPECT_EQ(kiln.out, jco.out);
  }
  EXPECT_EQ(run_kiln("", component("wasi_hello") + " exit=7").exit_code, 1);
}

TEST(WasiComponents, StdinIsPipedThroughAsUnderJco) {
  const std::string input = "hello wasi\nsecond line\n";
  RunResult kiln = run_kiln("", component("wasi_stdin"), input);
  RunResult jco = run_jco("", component("wasi_stdin"), input);
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(kiln.out, "HELLO WASI\nSECOND LINE\n");
  EXPECT_EQ(kiln.out, jco.out);
  EXPECT_EQ(kiln.err, jco.err);
}

TEST(WasiComponents, ClocksSleepAndRandomnessAsUnderJco) {
  RunResult kiln = run_kiln("", component("wasi_clocks"));
  RunResult jco = run_jco("", component("wasi_clocks"));
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(kiln.out, jco.out);
  EXPECT_EQ(kiln.out.find(": no"), std::string::npos) << kiln.out;
  EXPECT_NE(kiln.out.find("slept at least 30ms: yes"), std::string::npos) << kiln.out;
}

TEST(WasiComponents, AbortIsATrapWithABacktraceThroughTheAdapter) {
  RunResult r = run_kiln("", component("wasi_hello") + " abort");
  EXPECT_EQ(r.exit_code, 134);
  EXPECT_NE(r.err.find("wasm trap: unreachable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wasi:cli/run@0.2.12#run"), std::string::npos) << r.err;
}

// A blocking read of a stdin pipe that stays open ends at --timeout (wasi:io/streams
// blocking-read waits interruptibly, as preview1's fd_read does).
TEST(WasiComponents, ABlockedReadOfStdinEndsAtTheDeadline) {
  test::TempDir io;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const std::string command = std::string(KILN_CLI_PATH) + " run --timeout 300ms " +
                              test::quote(component("wasi_stdin")) + " 2>" +
                              test::quote((io.path() / "err").string());
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(pipe_fds[0], 0);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[0]);  // the write end stays open: the read would wait forever
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pipe_fds[1]);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 134);
  EXPECT_NE(test::slurp(io.path() / "err").find("wasm trap: deadline exceeded"), std::string::npos)
      << test::slurp(io.path() / "err");
}

// The linker matches imports by name: a guest importing WASI functions with other types gets a
// trap naming the function when it calls one, and the host reads nothing it was not given.
TEST(WasiComponents, WasiFunctionsImportedWithOtherTypesTrap) {
  const std::string hostile = std::string(KILN_TEST_COMPONENTS_DIR) + "/hostile_wasi.wasm";
  RunResult r = run_kiln("--invoke 'draw()'", hostile);
  EXPECT_EQ(r.exit_code, 134);
  EXPECT_NE(r.err.find("get-random-u64 was imported with another type than WASI's"),
            std::string::npos)
      << r.err;
  r = run_kiln("--invoke 'quit()'", hostile);
  EXPECT_EQ(r.exit_code, 134);
  EXPECT_NE(r.err.find("wasi:cli/exit@0.2.12#exit was imported with another type"),
            std::string::npos)
      << r.err;
}

TEST(WasiComponents, DirectoriesCannotBeGrantedToComponentsYet) {
  RunResult r = run_kiln("--dir /tmp", component("wasi_hello"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--dir and --dir-ro are not supported for components yet"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace kiln
