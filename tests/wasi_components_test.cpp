// The WASI 0.2 host (wasi/preview2.h) through `kiln run`: the C programs of the preview1 tests,
// made WASI 0.2 command components by jco's preview1 adapter (`jco new --wasi-command`), run
// under kiln and under `jco run` (node and jco's preview2-shim, the reference host) with the same
// grants: the same stdout, stderr and exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "component/component_linker.h"
#include "runtime/store.h"
#include "tests/test_support.h"
#include "wasi/preview2.h"
#include "wasi/wasi_context.h"

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

// wasi:sockets: a command that listens, connects to itself and relays a line each way over TCP
// on 127.0.0.1 (tests/components/sockets/tcp_loopback.c) prints the same under kiln, granted
// 127.0.0.1, as under jco run; without the grant, or with one for other ports, its first bind is
// refused with access-denied (error-code 1) and it fails.
TEST(WasiComponents, TcpLoopbackAsUnderJcoAndRefusedWithoutAGrant) {
  const std::string program = std::string(KILN_TEST_COMPONENTS_DIR) + "/tcp_loopback.wasm";
  RunResult kiln = run_kiln("--allow-tcp 127.0.0.1", program);
  RunResult jco = run_jco("", program);
  EXPECT_EQ(kiln.exit_code, 0) << kiln.out << kiln.err;
  EXPECT_EQ(jco.exit_code, 0) << jco.out << jco.err;
  EXPECT_EQ(kiln.out, jco.out);
  EXPECT_NE(kiln.out.find("client got: and back again"), std::string::npos) << kiln.out;

  for (const char* flags : {"", "--allow-tcp 127.0.0.1:1-1023", "--allow-udp 127.0.0.1"}) {
    RunResult refused = run_kiln(flags, program);
    EXPECT_EQ(refused.exit_code, 1) << flags << ": " << refused.err;
    EXPECT_EQ(refused.out, "start-bind failed: error-code 1\n") << flags;
  }
  RunResult bad = run_kiln("--allow-tcp localhost", program);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("network grant `localhost`"), std::string::npos) << bad.err;
}

// The same over UDP (tests/components/sockets/udp_loopback.c): two sockets on 127.0.0.1, a
// datagram from a connected stream and the answer to the address it came from print the same
// under kiln, granted UDP on 127.0.0.1, as under jco run; a TCP grant or one for other ports
// does not let it bind.
TEST(WasiComponents, UdpLoopbackAsUnderJcoAndRefusedWithoutAGrant) {
  const std::string program = std::string(KILN_TEST_COMPONENTS_DIR) + "/udp_loopback.wasm";
  RunResult kiln = run_kiln("--allow-udp 127.0.0.1", program);
  RunResult jco = run_jco("", program);
  EXPECT_EQ(kiln.exit_code, 0) << kiln.out << kiln.err;
  EXPECT_EQ(jco.exit_code, 0) << jco.out << jco.err;
  EXPECT_EQ(kiln.out, jco.out);
  EXPECT_NE(kiln.out.find("client got: and back again\nfrom the server's port\n"),
            std::string::npos)
      << kiln.out;
  for (const char* flags : {"", "--allow-udp 127.0.0.1:1-1023", "--allow-tcp 127.0.0.1"}) {
    RunResult refused = run_kiln(flags, program);
    EXPECT_EQ(refused.exit_code, 1) << flags << ": " << refused.err;
    EXPECT_EQ(refused.out, "start-bind failed: error-code 1\n") << flags;
  }
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
  const std::string command = std::string(KILN_CLI_PATH) + " run --timeout 300ms " +
                              test::quote(component("wasi_stdin")) + " 2>" +
                              test::quote((io.path() / "err").string());
  const auto start = std::chrono::steady_clock::now();
  const int status = test::run_with_stdin_held_open(command);
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

// Misuse through correctly typed imports: traps with the canonical ABI's or the host's message.
TEST(WasiComponents, MisusedResourcesAndHugeLengthsTrap) {
  const std::string hostile = std::string(KILN_TEST_COMPONENTS_DIR) + "/hostile_wasi_handles.wasm";
  const std::pair<const char*, const char*> cases[] = {
      {"write-after-drop", "unknown handle index 1"},
      {"drop-twice", "unknown handle index 1"},
      {"huge-random", "wasi:random: more than 2^28 bytes asked for"},
      {"huge-zeroes", "wasi:io/streams: a blocking write of more than 4096 bytes"},
      {"long-blocking-write", "wasi:io/streams: a blocking write of more than 4096 bytes"},
  };
  for (const auto& [function, message] : cases) {
    RunResult r = run_kiln("--invoke '" + std::string(function) + "()'", hostile);
    EXPECT_EQ(r.exit_code, 134) << function << ": " << r.err;
    EXPECT_NE(r.err.find(std::string("wasm trap: ") + message), std::string::npos)
        << function << ": " << r.err;
  }
  // The write before the drop went through.
  EXPECT_EQ(run_kiln("--invoke 'write-after-drop()'", hostile).out, "hi\n");
}

// What a guest makes the host hold (handles, WASI resources, HTTP fields, a body written whole)
// or copy (a call's lifted arguments) counts against --max-memory: hoarding stops there, in a
// trap or a stream error, where it used to take the host's memory without bound (a million
// handles, 40 MB of fields, 100 MiB of arguments out of 3 MiB under a 16 MiB budget). Within
// the budget the same calls go through.
TEST(WasiComponents, WhatTheGuestMakesTheHostHoldCountsAgainstItsMemoryBudget) {
  const std::string hoarding = std::string(KILN_TEST_COMPONENTS_DIR) + "/hostile_hoarding.wasm";
  const std::string budget = "--max-memory 16MiB ";
  const std::pair<const char*, const char*> traps[] = {
      {"hoard-own(1000000)", "resource handles past the store's memory budget"},
      {"hoard-streams(1000000)", "too many WASI resources held by the guest"},
      {"hoard-fields(10000)", "wasi:http/types: fields past the store's memory budget"},
      // 100 MiB copied out of 3 MiB of memory (100 entries naming the same 1 MiB).
      {"quadratic-fields(100)", "values lifted past the store's memory budget"},
      {"random(100000000)", "wasi:random: more bytes asked for than the store's memory budget"},
  };
  for (const auto& [call, message] : traps) {
    RunResult r = run_kiln(budget + "--invoke '" + call + "'", hoarding);
    EXPECT_EQ(r.exit_code, 134) << call << ": " << r.err;
    EXPECT_NE(r.err.find(std::string("wasm trap: ") + message), std::string::npos)
        << call << ": " << r.err;
  }
  // 10,000 writes of 4 KiB: one before the 16 MiB fails, with a stream error (the guest sees it).
  RunResult body = run_kiln(budget + "--invoke 'hoard-body(10000)'", hoarding);
  EXPECT_EQ(body.exit_code, 0) << body.err;
  const unsigned long failed_write = std::stoul("0" + body.out);
  EXPECT_GT(failed_write, 1000u) << body.out;
  EXPECT_LT(failed_write, 4097u) << body.out;
  // Under the budget: all of it.
  EXPECT_EQ(run_kiln(budget + "--invoke 'hoard-own(1000)'", hoarding).out, "1000\n");
  EXPECT_EQ(run_kiln(budget + "--invoke 'hoard-streams(1000)'", hoarding).out, "1000\n");
  EXPECT_EQ(run_kiln(budget + "--invoke 'hoard-fields(100)'", hoarding).out, "100\n");
  EXPECT_EQ(run_kiln(budget + "--invoke 'hoard-body(100)'", hoarding).out, "0\n");
  EXPECT_EQ(run_kiln(budget + "--invoke 'quadratic-fields(2)'", hoarding).out, "0\n");
  EXPECT_EQ(run_kiln(budget + "--invoke 'random(1000000)'", hoarding).out, "1000000\n");
}

// Files through wasi:filesystem (the same Descriptor objects as preview1): the program's output
// is preview1's under kiln (which tests/wasi_test.cpp holds to node's), but for fallocate, which
// WASI 0.2 does not have (jco's preview1 adapter fails it), and the two checks after it that
// expect its 100 bytes. (jco run is no reference here: its preview2-shim refuses the
// mutate-directory flag the adapter asks for, so it cannot create files in a preopen.)
TEST(WasiComponents, FilesInAGrantedDirectoryAsUnderPreview1) {
  test::TempDir component_dir, module_dir;
  RunResult component_run =
      run_kiln("--dir " + test::quote(component_dir.path().string()) + "::/sandbox",
               component("wasi_files"));
  RunResult module_run = run_kiln("--dir " + test::quote(module_dir.path().string()) + "::/sandbox",
                                  std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_files.wasm");
  EXPECT_EQ(component_run.exit_code, 0) << component_run.err;
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const std::vector<std::string> got = lines(component_run.out), want = lines(module_run.out);
  ASSERT_EQ(got.size(), want.size()) << component_run.out;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool allocation = got[i].rfind("fallocate to 100: ", 0) == 0 ||
                            got[i].rfind("size now 100: ", 0) == 0 ||
                            got[i].rfind("link count 2: ", 0) == 0;
    if (allocation) {
      EXPECT_NE(got[i].find(": ok"), got[i].size() - 4) << got[i];
      EXPECT_EQ(want[i].substr(want[i].size() - 4), ": ok") << want[i];
    } else {
      EXPECT_EQ(got[i], want[i]);
    }
  }
  EXPECT_NE(component_run.out.find("through link: [FIRST line]\n"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(component_dir.path())) << "the program removes its files";
}

TEST(WasiComponents, ReadsAndWritesFilesGivenOnTheCommandLine) {
  test::TempDir dir;
  std::ofstream(dir.path() / "in.txt") << "some input\n";
  RunResult r = run_kiln("--dir " + test::quote(dir.path().string()) + "::/data",
                         component("wasi_transform") + " /data/in.txt /data/out.txt");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::slurp(dir.path() / "out.txt"), "SOME INPUT\n");
}

// The sandbox is the preview1 one (wasi/filesystem.h): no escape by `..`, absolute paths or
// symlinks, and a read-only grant refuses every write.
TEST(WasiComponents, EveryEscapeIsRefusedAndReadOnlyMeansReadOnly) {
  test::TempDir root;
  std::filesystem::create_directory(root.path() / "sandbox");
  std::ofstream(root.path() / "outside.txt") << "secret";
  std::filesystem::create_directory_symlink("..", root.path() / "sandbox" / "host_link");
  std::filesystem::create_symlink("/etc/passwd", root.path() / "sandbox" / "abs_link");
  RunResult r = run_kiln("--dir " + test::quote((root.path() / "sandbox").string()) + "::/sandbox",
                         component("wasi_escape"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("all escapes refused"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
  EXPECT_EQ(test::slurp(root.path() / "outside.txt"), "secret");

  test::TempDir read_only;
  std::ofstream(read_only.path() / "existing.txt") << "keep me";
  r = run_kiln("--dir-ro " + test::quote(read_only.path().string()) + "::/sandbox",
               component("wasi_escape") + " ro");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("all writes refused"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read existing still works: yes"), std::string::npos) << r.out;
  EXPECT_EQ(test::slurp(read_only.path() / "existing.txt"), "keep me");
}

// The host's filesystem functions called directly (as the canonical ABI calls them, with
// checked handles): a directory opened without mutate-directory is read-only; metadata hashes
// and is-same-object tell the same object from another without giving away inode numbers.
TEST(WasiPreview2Host, DirectoriesOpenedWithoutMutateDirectoryAreReadOnly) {
  using component::ComponentValue;
  using V = ComponentValue;
  using K = ComponentValue::Kind;
  test::TempDir dir;
  std::filesystem::create_directory(dir.path() / "sub");
  std::ofstream(dir.path() / "file.txt") << "x";
  Engine engine;
  Store store(engine);
  wasi::WasiConfig config;
  config.preopens.push_back({dir.path().string(), "/sandbox", false});
  auto context = wasi::WasiContext::create(std::move(config));
  ASSERT_TRUE(context.ok()) << context.error().message;
  component::ComponentLinker linker;
  auto added = wasi::Preview2::add_to_linker(linker);
  ASSERT_TRUE(added);
  const wasi::Preview2& host = **added;
  host.attach(store, **context);
  auto call = [&](const std::string& function, std::vector<V> args) {
    const auto* callback = linker.host_function("wasi:filesystem/types@0.2.12#" + function);
    EXPECT_NE(callback, nullptr) << function;
    std::optional<V> result;
    TrapPtr trap = (*callback)(store, component::resolved::FunctionType{}, args, result);
    EXPECT_EQ(trap, nullptr) << function << ": " << (trap ? trap->message : "");
    return result.value_or(V{});
  };
  auto borrow = [&](uint32_t rep) {
    V v = V::own(host.resource_type("descriptor"), rep);
    v.kind = K::kBorrow;
    return v;
  };
  auto flags = [](uint64_t bits) {
    V f;
    f.kind = K::kFlags;
    f.bits = bits;
    return f;
  };
  std::optional<V> preopens;
  ASSERT_EQ((*linker.host_function("wasi:filesystem/preopens@0.2.12#get-directories"))(
                store, component::resolved::FunctionType{}, {}, preopens),
            nullptr);
  ASSERT_EQ(preopens->items.size(), 1u);
  const uint32_t root = preopens->items[0].items[0].rep;
  EXPECT_EQ(preopens->items[0].items[1].text, "/sandbox");

  // open-at(path-flags, path, open-flags directory, descriptor-flags read): no mutate-directory.
  V opened = call("[method]descriptor.open-at",
                  {borrow(root), flags(0), V::string("sub"), flags(2), flags(1)});
  ASSERT_EQ(opened.index, 0u) << "open-at failed";
  const uint32_t sub = opened.items[0].rep;
  V made = call("[method]descriptor.create-directory-at", {borrow(sub), V::string("new")});
  EXPECT_EQ(made.index, 1u);  // err
  EXPECT_EQ(made.items[0].index, static_cast<uint32_t>(wasi::ErrorCode::kNotPermitted));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "sub" / "new"));
  V sub_flags = call("[method]descriptor.get-flags", {borrow(sub)});
  EXPECT_EQ(sub_flags.items[0].bits & 32, 0u) << "no mutate-directory";
  // With mutate-directory (32) the same directory can be changed.
  V writable = call("[method]descriptor.open-at",
                    {borrow(root), flags(0), V::string("sub"), flags(2), flags(1 | 32)});
  ASSERT_EQ(writable.index, 0u);
  EXPECT_EQ(call("[method]descriptor.create-directory-at",
                 {borrow(writable.items[0].rep), V::string("new")})
                .index,
            0u);
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "sub" / "new"));

  // Same object: the same hash and is-same-object; another object: a different hash.
  V hash_sub = call("[method]descriptor.metadata-hash", {borrow(sub)});
  V hash_writable = call("[method]descriptor.metadata-hash", {borrow(writable.items[0].rep)});
  V hash_root = call("[method]descriptor.metadata-hash", {borrow(root)});
  ASSERT_EQ(hash_sub.index, 0u);
  EXPECT_EQ(hash_sub.items[0].items[0].bits, hash_writable.items[0].items[0].bits);
  EXPECT_NE(hash_sub.items[0].items[0].bits, hash_root.items[0].items[0].bits);
  EXPECT_EQ(
      call("[method]descriptor.is-same-object", {borrow(sub), borrow(writable.items[0].rep)}).bits,
      1u);
  EXPECT_EQ(call("[method]descriptor.is-same-object", {borrow(sub), borrow(root)}).bits, 0u);
}

// One linker serves many stores (kiln serve: a store per request): each store has its own WASI
// state, its grants and its handles; a store without one gets a trap, not another's state.
TEST(WasiPreview2Host, EachStoreHasItsOwnWasiState) {
  using component::ComponentValue;
  using V = ComponentValue;
  test::TempDir a, b;
  Engine engine;
  component::ComponentLinker linker;
  auto host = wasi::Preview2::add_to_linker(linker);
  ASSERT_TRUE(host);
  auto context_for = [](const test::TempDir& dir, const std::string& guest_path) {
    wasi::WasiConfig config;
    config.preopens.push_back({dir.path().string(), guest_path, false});
    return std::move(*wasi::WasiContext::create(std::move(config)));
  };
  auto context_a = context_for(a, "/a"), context_b = context_for(b, "/b");
  Store store_a(engine), store_b(engine), bare(engine);
  (*host)->attach(store_a, *context_a);
  (*host)->attach(store_b, *context_b);
  const auto* get_directories =
      linker.host_function("wasi:filesystem/preopens@0.2.12#get-directories");
  ASSERT_NE(get_directories, nullptr);
  auto guest_paths = [&](Store& store) {
    std::optional<V> result;
    TrapPtr trap = (*get_directories)(store, component::resolved::FunctionType{}, {}, result);
    EXPECT_EQ(trap, nullptr);
    std::vector<std::string> paths;
    for (const V& pair : result->items) paths.push_back(pair.items[1].text);
    return paths;
  };
  EXPECT_EQ(guest_paths(store_a), std::vector<std::string>{"/a"});
  EXPECT_EQ(guest_paths(store_b), std::vector<std::string>{"/b"});
  std::optional<V> result;
  TrapPtr trap = (*get_directories)(bare, component::resolved::FunctionType{}, {}, result);
  ASSERT_NE(trap, nullptr);
  EXPECT_NE(trap->message.find("without WASI"), std::string::npos) << trap->message;
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// A linker for one component gets the functions it imports only (from any version of their
// interfaces), which is all it needs: nothing is missing, and nothing else is defined.
TEST(WasiPreview2Host, ALinkerForOneComponentDefinesTheFunctionsItImports) {
  Engine engine;
  const std::vector<uint8_t> bytes = test::read_bytes(component("wasi_hello"));
  auto loaded = component::load_component(engine, bytes);
  ASSERT_TRUE(loaded) << loaded.error().message;
  const component::ValidatedComponent& validated = *loaded->validated;
  std::set<std::string> interfaces, functions;  // without versions
  for (const auto& import : validated.type->imports) {
    const std::string interface = import.name.substr(0, import.name.find('@'));
    interfaces.insert(interface);
    for (const auto& e : import.type.instance->exports) {
      if (e.type.kind == component::resolved::ExternType::Kind::kFunc) {
        functions.insert(interface + "#" + e.name);
      }
    }
  }
  ASSERT_TRUE(interfaces.count("wasi:cli/stdout"));
  ASSERT_TRUE(interfaces.count("wasi:filesystem/types"));
  ASSERT_FALSE(interfaces.count("wasi:sockets/tcp"));
  ASSERT_FALSE(functions.count("wasi:filesystem/types#[method]descriptor.sync"));
  component::ComponentLinker only;
  auto some = wasi::Preview2::add_to_linker(only, validated);
  ASSERT_TRUE(some) << some.error().message;
  component::ComponentLinker everything;
  auto all = wasi::Preview2::add_to_linker(everything);
  ASSERT_TRUE(all);
  EXPECT_TRUE(only.missing_imports(validated).empty());
  std::set<std::string> defined;
  for (const auto& f : (*some)->defined_functions()) {
    const size_t at = f.path.find('@'), hash = f.path.find('#');
    defined.insert(f.path.substr(0, at) + f.path.substr(hash));
  }
  EXPECT_EQ(defined, functions);
  EXPECT_LT((*some)->defined_functions().size(), (*all)->defined_functions().size());
  // Of an interface it imports, a function it does not import is left out too.
  EXPECT_EQ(only.host_function("wasi:filesystem/types@0.2.12#[method]descriptor.sync"), nullptr);
  EXPECT_NE(everything.host_function("wasi:filesystem/types@0.2.12#[method]descriptor.sync"),
            nullptr);
  EXPECT_NE(only.host_function("wasi:cli/stdout@0.2.0#get-stdout"), nullptr);
  EXPECT_EQ(only.host_function("wasi:sockets/tcp@0.2.12#[method]tcp-socket.start-bind"), nullptr);
  EXPECT_NE(everything.host_function("wasi:sockets/tcp@0.2.12#[method]tcp-socket.start-bind"),
            nullptr);
}

}  // namespace
}  // namespace kiln
