// Helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/module.h"
#include "runtime/sanitizers.h"
#include "runtime/store.h"
#include "runtime/tier.h"

namespace kiln::test {

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A module assembled from tests/wasm/NAME.wat at build time.
inline std::vector<uint8_t> test_module(const std::string& name) {
  return read_bytes(std::string(KILN_TEST_WASM_DIR) + "/" + name + ".wasm");
}

// A test run under each tier (the parameter), with an engine of that tier and a store in it.
class TierTest : public ::testing::TestWithParam<Tier> {
 public:
  // INSTANTIATE_TEST_SUITE_P's names: Interpreter, Jit.
  static std::string tier_name(const ::testing::TestParamInfo<Tier>& info) {
    return info.param == Tier::kJit ? "Jit" : "Interpreter";
  }

 protected:
  // Makes engine_ from `config` with the parameter's tier, and store_ in it; skips the test
  // (IsSkipped() says so) when it asks for the JIT in a build without one.
  void start_engine(EngineConfig config = {}) {
    if (GetParam() == Tier::kJit && !code_tier()) GTEST_SKIP() << "this build has no JIT";
    config.tier = GetParam();
    engine_ = std::make_unique<Engine>(config);
    store_ = std::make_unique<Store>(*engine_);
  }

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Store> store_;
};

// tests/wasm/NAME.wat's module compiled in `store`'s engine and instantiated there with
// `imports`; null, after a test failure saying why, when either step fails.
inline Instance* instantiate_test_module(Store& store, const std::string& name,
                                         const std::vector<Extern>& imports = {}) {
  auto module = Module::compile(store.engine(), test_module(name));
  if (!module) {
    ADD_FAILURE() << name << ": " << module.error().message;
    return nullptr;
  }
  auto instance = store.instantiate(*module, imports);
  if (!instance) {
    ADD_FAILURE() << name << ": " << instance.error().message;
    return nullptr;
  }
  return *instance;
}

// "\0asm" version 1, followed by `sections`.
inline std::vector<uint8_t> module_bytes(std::initializer_list<uint8_t> sections) {
  static constexpr uint8_t kHeader[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  std::vector<uint8_t> bytes(sizeof kHeader + sections.size());
  std::copy(std::begin(kHeader), std::end(kHeader), bytes.begin());
  std::copy(sections.begin(), sections.end(), bytes.begin() + sizeof kHeader);
  return bytes;
}

// Runs `command` (sh -c) with a stdin pipe whose write end stays open until it exits, so that a
// read of stdin would wait forever: its wait status.
inline int run_with_stdin_held_open(const std::string& command) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::dup2(pipe_fds[0], 0);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(pipe_fds[1]);
  return status;
}

// This process's resident memory, in bytes (0 when /proc/self/statm cannot be read).
inline size_t resident_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * 4096;
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/kiln-test-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Single-quotes `s` for the shell.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the shell command line `command` with `input` on stdin, capturing stdout and stderr.
inline RunResult run_shell(const std::string& command, const std::string& input = "") {
  TempDir io;
  std::ofstream(io.path() / "stdin") << input;
  std::string line = command + " <" + quote((io.path() / "stdin").string()) + " >" +
                     quote((io.path() / "stdout").string()) + " 2>" +
                     quote((io.path() / "stderr").string());
  int status = std::system(line.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(io.path() / "stdout");
  r.err = slurp(io.path() / "stderr");
  return r;
}

}  // namespace kiln::test
