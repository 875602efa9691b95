// WASI preview1: C programs compiled with clang-14 --target=wasm32-wasi, run by the kiln CLI and
// compared with node's built-in WASI; the sandbox (escapes, read-only directories) under both
// path resolvers; and hostile arguments that must come back as errnos.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
  for (int status : {0, 7, 255}) {
    const std::string args = program("wasi_hello") + " exit=" + std::to_string(status);
    RunResult kiln = run_kiln("", args), node = run_node("", args);
    EXPECT_EQ(kiln.exit_code, status) << kiln.err;
    EXPECT_EQ(node.exit_code, status) << node.err;
    EXPECT_EQ(kiln.out, node.out);
  }
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
  EXPECT_EQ(kiln.out, node.out);
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
    auto externs = preview1->define(store);
    std::vector<Extern> imports;
    for (const Import& imp : (*module)->imports) imports.push_back(externs.at(imp.name));
    auto made = store.instantiate(*module, imports);
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

}  // namespace
}  // namespace kiln
