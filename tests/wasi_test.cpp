// WASI preview1: C programs compiled with clang-14 --target=wasm32-wasi, run by the kiln CLI and
// compared with node's built-in WASI; the sandbox (escapes, read-only directories) under both
// path resolvers; and hostile arguments that must come back as errnos.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/epoch_timer.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "tests/test_support.h"
#include "wasi/preview1.h"

namespace fs = std::filesystem;

namespace kiln {
namespace {

using test::quote;
using test::RunResult;
using test::slurp;
using test::TempDir;

std::string program(const std::string& name) {
  return std::string(KILN_TEST_PROGRAMS_DIR) + "/" + name + ".wasm";
}

// `flags` are shared by both (--dir HOST::GUEST, --env NAME=VALUE).
RunResult run_kiln(const std::string& flags, const std::string& module_and_args,
                   const std::string& input = "") {
  return test::run_shell(std::string(KILN_CLI_PATH) + " run " + flags + " " + module_and_args,
                         input);
}
RunResult run_node(const std::string& flags, const std::string& module_and_args,
                   const std::string& input = "") {
  return test::run_shell(std::string(KILN_NODE_PATH) + " " + KILN_NODE_WASI_RUNNER + " " + flags +
                             " " + module_and_args,
                         input);
}

TEST(WasiCli, EchoesArgumentsAndGrantedEnvironmentLikeNode) {
  const std::string flags = "--env GREETING=hello --env 'EMPTY=' --env 'EQ=a=b'";
  const std::string args = program("wasi_hello") + " one 'two words' ''";
  RunResult kiln = run_kiln(flags, args), node = run_node(flags, args);
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(kiln.out, node.out);
  EXPECT_NE(kiln.out.find("argv[2]=two words\n"), std::string::npos) << kiln.out;
  EXPECT_NE(kiln.out.find("env EQ=a=b\n"), std::string::npos) << kiln.out;
  EXPECT_NE(kiln.out.find("env count=3\n"), std::string::npos) << kiln.out;
  EXPECT_EQ(kiln.err, "to stderr\n");
}

TEST(WasiCli, GrantsNoEnvironmentUnlessAsked) {
  ASSERT_NE(std::getenv("PATH"), nullptr);
  RunResult none = run_kiln("", program("wasi_hello"));
  EXPECT_NE(none.out.find("env count=0\n"), std::string::npos) << none.out;
  RunResult inherited = run_kiln("--env-inherit PATH", program("wasi_hello"));
  EXPECT_NE(inherited.out.find(std::string("env PATH=") + std::getenv("PATH") + "\n"),
            std::string::npos)
      << inherited.out;
  EXPECT_NE(inherited.out.find("env count=1\n"), std::string::npos) << inherited.out;
}

TEST(WasiCli, ExitStatusIsTheProgramsLikeNode) {
  for (int status : {0, 7, 125}) {
    const std::string args = program("wasi_hello") + " exit=" + std::to_string(status);
    RunResult kiln = run_kiln("", args), node = run_node("", args);
    EXPECT_EQ(kiln.exit_code, status) << kiln.err;
    EXPECT_EQ(node.exit_code, status) << node.err;
    EXPECT_EQ(kiln.out, node.out);
  }
  // Unlike node, kiln keeps statuses from 126 up for the shell and itself, as wasmtime does:
  // the program's output is the same, the exit is an error (tests/cli_test.cpp has more).
  const std::string args = program("wasi_hello") + " exit=255";
  RunResult kiln = run_kiln("", args), node = run_node("", args);
  EXPECT_EQ(node.exit_code, 255);
  EXPECT_EQ(kiln.exit_code, 126) << kiln.err;
  EXPECT_EQ(kiln.out, node.out);
}

TEST(WasiCli, FilesInAGrantedDirectoryBehaveLikeNode) {
  TempDir kiln_dir, node_dir;
  RunResult kiln =
      run_kiln("--dir " + quote(kiln_dir.path().string()) + "::/sandbox", program("wasi_files"));
  RunResult node =
      run_node("--dir " + quote(node_dir.path().string()) + "::/sandbox", program("wasi_files"));
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(kiln.out, node.out);
  EXPECT_NE(kiln.out.find("through link: [FIRST line]\n"), std::string::npos) << kiln.out;
  EXPECT_NE(kiln.out.find("list /sandbox/sub: link moved.txt\n"), std::string::npos) << kiln.out;
  EXPECT_EQ(kiln.out.find(": ok\n") == std::string::npos, false);
  EXPECT_EQ(kiln.out.rfind("list /sandbox:\n"),
            kiln.out.size() - std::string("list /sandbox:\n").size());
  EXPECT_TRUE(fs::is_empty(kiln_dir.path())) << "the program removes everything it made";
}

TEST(WasiCli, ReadsAndWritesFilesGivenOnTheCommandLine) {
  // The acceptance case: read an input file from a granted directory, write a result.
  TempDir dir;
  std::ofstream(dir.path() / "in.txt") << "some input\n";
  const std::string flags = "--dir " + quote(dir.path().string()) + "::/data";
  RunResult kiln = run_kiln(flags, program("wasi_transform") + " /data/in.txt /data/out.txt");
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(slurp(dir.path() / "out.txt"), "SOME INPUT\n");
  fs::remove(dir.path() / "out.txt");
  RunResult node = run_node(flags, program("wasi_transform") + " /data/in.txt /data/out.txt");
  EXPECT_EQ(node.exit_code, 0) << node.err;
  EXPECT_EQ(slurp(dir.path() / "out.txt"), "SOME INPUT\n");
  EXPECT_EQ(kiln.out, node.out);
}

TEST(WasiCli, StdinIsPipedThroughLikeNode) {
  const std::string input = "hello wasi\nsecond line\n";
  RunResult kiln = run_kiln("", program("wasi_stdin"), input),
            node = run_node("", program("wasi_stdin"), input);
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  EXPECT_EQ(kiln.out, "HELLO WASI\nSECOND LINE\n");
  EXPECT_EQ(kiln.out, node.out);
  EXPECT_EQ(kiln.err, "23 bytes\n");
}

TEST(WasiCli, ClocksSleepAndRandomnessLikeNode) {
  RunResult kiln = run_kiln("", program("wasi_clocks")),
            node = run_node("", program("wasi_clocks"));
  EXPECT_EQ(kiln.exit_code, 0) << kiln.err;
  // node's sleep (libuv's millisecond timers) sometimes wakes a fraction of a millisecond
  // early, so "slept at least 30ms" is compared with node on every line but that one, and
  // required of kiln below.
  auto without_sleep_floor = [](std::string out) {
    const size_t at = out.find("slept at least 30ms: ");
    if (at != std::string::npos) out.erase(at, out.find('\n', at) + 1 - at);
    return out;
  };
  EXPECT_EQ(without_sleep_floor(kiln.out), without_sleep_floor(node.out));
  EXPECT_EQ(kiln.out.find(": no"), std::string::npos) << kiln.out;
  EXPECT_NE(kiln.out.find("slept at least 30ms: yes"), std::string::npos) << kiln.out;
}

TEST(WasiCli, InvokesAReactorExportAfterInitialize) {
  RunResult r = run_kiln("--invoke add_base", program("wasi_reactor") + " 234");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // 1234 proves the constructor ran (through _initialize) before the export.
  EXPECT_EQ(r.out, "add_base(234)\n1234\n");
}

TEST(WasiCli, AbortIsATrapWithABacktrace) {
  RunResult r = run_kiln("", program("wasi_hello") + " abort");
  EXPECT_EQ(r.exit_code, 134);
  EXPECT_NE(r.err.find("wasm trap: unreachable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("abort"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("main"), std::string::npos) << r.err;
}

TEST(WasiCli, MissingDirectoryIsAnError) {
  RunResult r = run_kiln("--dir /no/such/dir::/x", program("wasi_hello"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cannot open directory /no/such/dir"), std::string::npos) << r.err;
}

// A module instantiated in this process with the wasi_snapshot_preview1 imports.
struct WasiInstance {
  explicit WasiInstance(EngineConfig config = {}) : engine(config) {}
  Engine engine;
  Store store{engine};
  std::unique_ptr<wasi::WasiContext> context;
  std::unique_ptr<wasi::Preview1> preview1;
  Instance* instance = nullptr;

  bool start(const std::vector<uint8_t>& bytes, wasi::WasiConfig config) {
    auto module = Module::compile(engine, bytes);
    EXPECT_TRUE(module.ok()) << module.error().message;
    auto created = wasi::WasiContext::create(std::move(config));
    EXPECT_TRUE(created.ok()) << created.error().message;
    if (!module.ok() || !created.ok()) return false;
    context = std::move(*created);
    preview1 = std::make_unique<wasi::Preview1>(*context);
    auto imports = preview1->imports_for(store, **module);
    EXPECT_TRUE(imports.ok()) << imports.error().message;
    if (!imports.ok()) return false;
    auto made = store.instantiate(*module, *imports);
    EXPECT_TRUE(made.ok()) << made.error().message;
    instance = made.ok() ? *made : nullptr;
    return instance != nullptr;
  }
};

// Runs a WASI command in this process (so the path resolver can be chosen), with its stdout
// captured in a file.
RunResult run_in_process(const std::string& module_path, wasi::WasiConfig config) {
  TempDir io;
  int out = ::open((io.path() / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  config.stdin_fd = -1;
  config.stdout_fd = out;
  config.stderr_fd = out;
  RunResult r;
  WasiInstance wasi;
  if (wasi.start(test::read_bytes(module_path), std::move(config))) {
    TrapPtr trap = wasi.store.invoke(wasi.instance->find_export("_start")->function(), nullptr);
    r.exit_code = !trap ? 0 : trap->code == TrapCode::kExit ? trap->exit_status : 134;
  }
  ::close(out);
  r.out = slurp(io.path() / "stdout");
  return r;
}

class WasiSandbox : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { wasi::Descriptor::force_component_walk(GetParam()); }
  void TearDown() override { wasi::Descriptor::force_component_walk(false); }
};

TEST_P(WasiSandbox, EveryEscapeIsRefused) {
  TempDir root;
  fs::create_directory(root.path() / "sandbox");
  std::ofstream(root.path() / "outside.txt") << "secret";
  fs::create_directory_symlink("..", root.path() / "sandbox" / "host_link");
  fs::create_symlink("/etc/passwd", root.path() / "sandbox" / "abs_link");
  wasi::WasiConfig config;
  config.args = {"wasi_escape"};
  config.preopens.push_back({(root.path() / "sandbox").string(), "/sandbox", false});
  RunResult r = run_in_process(program("wasi_escape"), config);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("all escapes refused"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
  // Nothing outside the sandbox changed.
  EXPECT_EQ(slurp(root.path() / "outside.txt"), "secret");
  std::vector<std::string> top;
  for (const auto& e : fs::directory_iterator(root.path())) top.push_back(e.path().filename());
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, (std::vector<std::string>{"outside.txt", "sandbox"}));
}

TEST_P(WasiSandbox, ReadOnlyDirectoryRefusesEveryWrite) {
  TempDir dir;
  std::ofstream(dir.path() / "existing.txt") << "keep me";
  wasi::WasiConfig config;
  config.args = {"wasi_escape", "ro"};
  config.preopens.push_back({dir.path().string(), "/sandbox", true});
  RunResult r = run_in_process(program("wasi_escape"), config);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("all writes refused"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read existing still works: yes"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(dir.path() / "existing.txt"), "keep me");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

INSTANTIATE_TEST_SUITE_P(Resolvers, WasiSandbox, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ComponentWalk" : "Openat2";
                         });

TEST(WasiHostile, OutOfRangeArgumentsComeBackAsErrnos) {
  TempDir dir;
  wasi::WasiConfig config;
  config.args = {"hostile"};
  config.stdin_fd = -1;
  config.preopens.push_back({dir.path().string(), "/d", false});
  WasiInstance wasi;
  ASSERT_TRUE(wasi.start(test::test_module("wasi_hostile"), config));
  const std::pair<const char*, uint32_t> cases[] = {
      {"write_bad_iovec", 21},
      {"write_iovec_array_outside", 21},
      {"write_result_outside", 21},
      {"read_into_outside", 21},
      {"args_outside", 21},
      {"random_outside", 21},
      {"path_outside", 21},
      {"close_unknown_fd", 8},
      {"bad_clock", 28},
      {"poll_nothing", 28},
      {"poll_huge", 21},
      {"prestat_name_outside", 21},
  };
  for (auto [name, expected] : cases) {
    uint64_t cells[1] = {0};
    TrapPtr trap = wasi.store.invoke(wasi.instance->find_export(name)->function(), cells);
    ASSERT_EQ(trap, nullptr) << name << ": " << trap->to_string();
    EXPECT_EQ(static_cast<uint32_t>(cells[0]), expected) << name;
  }
}

// --- Hardening: hostile WASI calls (tests/wasm/wasi_blocking.wat).

std::string blocking_module() {
  return std::string(KILN_TEST_WASM_DIR) + "/wasi_blocking.wasm";
}

// Calls `name` with `args` in `wasi`; the i32 result, or the trap.
TrapPtr call(WasiInstance& wasi, const char* name, std::vector<uint64_t> args, int32_t* result) {
  args.resize(std::max<size_t>(args.size(), 1));
  TrapPtr trap = wasi.store.invoke(wasi.instance->find_export(name)->function(), args.data());
  *result = static_cast<int32_t>(args[0]);
  return trap;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A poll_oneoff for an hour ran on past --timeout until killed from outside.
TEST(WasiHostile, BlockedPollEndsAtTheDeadline) {
  EngineConfig config;
  config.epoch_interruption = true;
  WasiInstance wasi(config);
  wasi::WasiConfig wasi_config;
  wasi_config.stdin_fd = -1;
  ASSERT_TRUE(wasi.start(test::test_module("wasi_blocking"), wasi_config));
  wasi.store.set_epoch_deadline(1);
  EpochTimer timer(wasi.engine, std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  int32_t result = 0;
  TrapPtr trap = call(wasi, "sleep", {1, 3600ull * 1000000000ull}, &result);
  ASSERT_NE(trap, nullptr) << "the hour-long poll returned " << result;
  EXPECT_EQ(trap->code, TrapCode::kDeadlineExceeded) << trap->message;
  EXPECT_LT(seconds_since(start), 30.0);
  // The trap names where the guest was: in `sleep`, at its call of poll_oneoff.
  ASSERT_FALSE(trap->backtrace.empty());
  EXPECT_EQ(trap->backtrace[0].function_name, "sleep");

  // The CLI: the same program, --timeout 1s.
  const auto cli_start = std::chrono::steady_clock::now();
  RunResult r = run_kiln("--timeout 1s --invoke sleep", blocking_module() + " 1 3600000000000");
  EXPECT_EQ(r.exit_code, 134) << r.err;
  EXPECT_NE(r.err.find("wasm trap: deadline exceeded"), std::string::npos) << r.err;
  EXPECT_LT(seconds_since(cli_start), 30.0);
}

// fd_read on a stdin pipe that stays open ran on past --timeout.
TEST(WasiHostile, BlockedStdinReadEndsAtTheDeadline) {
  TempDir io;
  const std::string command = std::string(KILN_CLI_PATH) +
                              " run --timeout 1s --invoke read_stdin " + quote(blocking_module()) +
                              " >" + quote((io.path() / "out").string()) + " 2>" +
                              quote((io.path() / "err").string());
  const auto start = std::chrono::steady_clock::now();
  const int status = test::run_with_stdin_held_open(command);
  EXPECT_LT(seconds_since(start), 30.0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 134);
  EXPECT_NE(slurp(io.path() / "err").find("wasm trap: deadline exceeded"), std::string::npos)
      << slurp(io.path() / "err");
  // And data that arrives is read as before.
  RunResult r = run_kiln("--timeout 5s --invoke read_stdin", blocking_module(), "hello");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "5\n");
}

// A 2 s wait on CLOCK_PROCESS_CPUTIME_ID slept 2 s of wall-clock time and reported no event.
TEST(WasiHostile, CpuTimeClockSubscriptionsCompleteAtOnceWithNotsup) {
  WasiInstance wasi;
  wasi::WasiConfig wasi_config;
  wasi_config.stdin_fd = -1;
  ASSERT_TRUE(wasi.start(test::test_module("wasi_blocking"), wasi_config));
  for (uint64_t clock : {2u, 3u}) {  // process and thread CPU time
    const auto start = std::chrono::steady_clock::now();
    int32_t result = 0;
    ASSERT_EQ(call(wasi, "sleep", {clock, 2000000000ull}, &result), nullptr);
    EXPECT_EQ(result, 1 * 1000 + 58) << "one event, with error notsup (58); clock " << clock;
    EXPECT_LT(seconds_since(start), 1.0);
  }
  int32_t result = 0;
  ASSERT_EQ(call(wasi, "sleep", {1, 1000000}, &result), nullptr);  // monotonic, 1 ms
  EXPECT_EQ(result, 1000) << "one event, no error";
}

// A guest opened 1,018 host descriptors, after which every path call of the process failed.
TEST(WasiHostile, DescriptorsArePerStoreAndCapped) {
  TempDir dir;
  wasi::WasiConfig wasi_config;
  wasi_config.stdin_fd = -1;
  wasi_config.max_open_files = 10;
  wasi_config.preopens.push_back({dir.path().string(), "/d", false});
  WasiInstance greedy, other;
  ASSERT_TRUE(greedy.start(test::test_module("wasi_blocking"), wasi_config));
  ASSERT_TRUE(other.start(test::test_module("wasi_blocking"), wasi_config));
  int32_t result = 0;
  ASSERT_EQ(call(greedy, "open_many", {1000}, &result), nullptr);
  // Three stdio descriptors and the preopen are open already: 6 more, then mfile (33).
  EXPECT_EQ(result, 33 * 100000 + 6);
  ASSERT_EQ(call(other, "open_many", {3}, &result), nullptr);
  EXPECT_EQ(result, 3) << "another store is not starved";
  ASSERT_EQ(call(greedy, "open_many", {1000}, &result), nullptr);
  EXPECT_EQ(result, 33 * 100000 + 6) << "closed descriptors can be opened again";

  // The process's own limit is mfile too (it was io, 29), through the CLI's flag. UBSan's vptr
  // check opens a pipe to probe memory, so a process without a free descriptor cannot run under
  // it: this part runs in the other builds.
#ifdef KILN_UNDER_ASAN
  GTEST_LOG_(INFO) << "the process-wide EMFILE case is not run under the sanitizers";
#else
  RunResult r = test::run_shell("ulimit -n 40; " + std::string(KILN_CLI_PATH) +
                                " run --max-open-files 1000 --dir " + quote(dir.path().string()) +
                                " --invoke open_many " + quote(blocking_module()) + " 1000");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), 8u) << r.out;  // 33000NN and a newline
  EXPECT_EQ(r.out.substr(0, 3), "330") << r.out;
#endif
  RunResult capped =
      run_kiln("--max-open-files 5 --dir " + quote(dir.path().string()) + " --invoke open_many",
               blocking_module() + " 1000");
  EXPECT_EQ(capped.out, "3300001\n") << capped.err;
}

// path_create_directory created a non-UTF-8 name on the host.
TEST(WasiHostile, NonUtf8PathsAreIlseq) {
  TempDir dir;
  wasi::WasiConfig wasi_config;
  wasi_config.stdin_fd = -1;
  wasi_config.preopens.push_back({dir.path().string(), "/d", false});
  WasiInstance wasi;
  ASSERT_TRUE(wasi.start(test::test_module("wasi_blocking"), wasi_config));
  int32_t result = 0;
  ASSERT_EQ(call(wasi, "mkdir_not_utf8", {}, &result), nullptr);
  EXPECT_EQ(result, 25);  // ilseq
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// Trailing slashes, as POSIX gives them: a name ending in '/' names a directory.
class WasiTrailingSlash : public WasiSandbox {};
TEST_P(WasiTrailingSlash, FollowPosix) {
  TempDir dir;
  std::ofstream(dir.path() / "source") << "data";
  std::ofstream(dir.path() / "file.txt") << "file";
  fs::create_directory(dir.path() / "dir");
  fs::create_symlink("source", dir.path() / "sym");
  wasi::WasiConfig wasi_config;
  wasi_config.stdin_fd = -1;
  wasi_config.preopens.push_back({dir.path().string(), "/d", false});
  WasiInstance wasi;
  ASSERT_TRUE(wasi.start(test::test_module("wasi_blocking"), wasi_config));
  const std::pair<const char*, int32_t> cases[] = {
      {"link_to_slash", 44},      // noent: a file cannot take a directory's name "link/"
      {"symlink_to_slash", 44},   // noent, likewise
      {"unlink_dir_slash", 31},   // isdir (it was notdir)
      {"unlink_file_slash", 54},  // notdir
      {"link_following", 0},      // LOOKUPFLAGS_SYMLINK_FOLLOW links the symlink's target
  };
  for (auto [name, expected] : cases) {
    int32_t result = -1;
    ASSERT_EQ(call(wasi, name, {}, &result), nullptr) << name;
    EXPECT_EQ(result, expected) << name;
  }
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir.path() / "link")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir.path() / "target")));
  EXPECT_TRUE(fs::is_directory(dir.path() / "dir"));
  EXPECT_TRUE(fs::exists(dir.path() / "file.txt"));
  // "followed" is the source file itself (a hard link), not a link to the symlink.
  EXPECT_FALSE(fs::is_symlink(dir.path() / "followed"));
  EXPECT_EQ(fs::hard_link_count(dir.path() / "source"), 2u);
}
INSTANTIATE_TEST_SUITE_P(Resolvers, WasiTrailingSlash, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ComponentWalk" : "Openat2";
                         });

}  // namespace
}  // namespace kiln
