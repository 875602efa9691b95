// The embedding API (include/wasm.h, include/kiln.h): the examples' output, building a C program
// against the headers and the libraries, the library's exported symbols, and every function
// family with its error paths.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "include/kiln.h"
#include "include/kiln_component.h"
#include "include/wasm.h"
#include "runtime/tier.h"
#include "tests/test_support.h"

namespace {

using kiln::test::quote;
using kiln::test::run_shell;

std::string source(const std::string& relative) {
  return std::string(KILN_SOURCE_DIR) + "/" + relative;
}

// ---------------------------------------------------------------------------------------------
// Examples and the library as a C embedder sees it.

TEST(CApiExamples, ProduceTheirExpectedOutput) {
  for (const char* name :
       {"hello", "memory", "global", "table", "trap", "multi", "fuel", "component"}) {
    SCOPED_TRACE(name);
    const std::string dir = KILN_C_EXAMPLES_DIR;
    auto run = run_shell(quote(dir + "/" + name) + " " + quote(dir + "/" + name + ".wasm"));
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, kiln::test::slurp(source("examples/c/" + std::string(name) + ".expected")));
  }
}

// Careless embedders (tests/embedders/*.c): each program checks its own expectations and exits
// 0; in the sanitizer build ASan, UBSan and LeakSanitizer watch them.
class CarelessEmbedder : public testing::TestWithParam<const char*> {};
TEST_P(CarelessEmbedder, MisuseIsRefusedWithoutMemoryErrors) {
  const std::string dir = KILN_EMBEDDERS_DIR;
  auto run = run_shell(quote(dir + "/" + GetParam()) + " " + quote(dir));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.err.find("Sanitizer"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("runtime error"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("ok: "), std::string::npos) << "the program checked nothing";
}
INSTANTIATE_TEST_SUITE_P(Programs, CarelessEmbedder,
                         testing::Values("store_lifetime", "delete_in_callback", "reentry", "calls",
                                         "components", "instances"));

// The issue's criterion: `cc -I include` and `-lkiln`, nothing else. That holds for the
// sanitizer build's libkiln.so too: it carries its sanitizer runtime (before, a C program could
// not link it: undefined __ubsan_vptr_type_cache and __ubsan_handle_*).
TEST(CApiLibrary, AProgramUsingOnlyTheHeadersBuildsWithTheSharedAndStaticLibraries) {
  kiln::test::TempDir dir;
  const std::string plain_cc = std::string(KILN_C_COMPILER) + " -std=c11";
  // libkiln.a has no runtime of its own: under the sanitizers the program links theirs.
  const std::string cc = plain_cc + " " + KILN_C_SANITIZE_FLAGS;
  const std::string shared_dir = std::filesystem::path(KILN_SHARED_LIBRARY).parent_path();
  const std::string program = (dir.path() / "hello").string();
  auto build = run_shell(plain_cc + " -I " + quote(source("include")) + " " +
                         quote(source("examples/c/hello.c")) + " -L " + quote(shared_dir) +
                         " -lkiln -o " + quote(program));
  ASSERT_EQ(build.exit_code, 0) << build.err;
  const std::string module = std::string(KILN_C_EXAMPLES_DIR) + "/hello.wasm";
  auto run = run_shell("LD_LIBRARY_PATH=" + quote(shared_dir) + " " + quote(program) + " " +
                       quote(module));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, kiln::test::slurp(source("examples/c/hello.expected")));

  // Statically: libkiln.a needs the C++ runtime (pkg-config's Libs.private say the same).
  const std::string static_program = (dir.path() / "hello_static").string();
  build = run_shell(cc + " -I " + quote(source("include")) + " " +
                    quote(source("examples/c/hello.c")) + " " + quote(KILN_STATIC_LIBRARY) +
                    " -lstdc++ -lm -lpthread -o " + quote(static_program));
  ASSERT_EQ(build.exit_code, 0) << build.err;
  run = run_shell(quote(static_program) + " " + quote(module));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, kiln::test::slurp(source("examples/c/hello.expected")));
}

// Installs the build in `build_dir` into a new prefix and checks that what it installs is
// enough to build an embedder with pkg-config and with find_package(kiln), against either
// library. `flags` are the embedder's compiler flags (the sanitizers', for the sanitizer build).
void expect_installed_package_works(const std::string& build_dir, const std::string& flags) {
  kiln::test::TempDir dir;
  const std::string prefix = (dir.path() / "prefix").string();
  auto install = run_shell(std::string(KILN_CMAKE_COMMAND) + " --install " + quote(build_dir) +
                           " --prefix " + quote(prefix));
  ASSERT_EQ(install.exit_code, 0) << install.err;
  const std::string module = std::string(KILN_C_EXAMPLES_DIR) + "/hello.wasm";
  const std::string expected = kiln::test::slurp(source("examples/c/hello.expected"));

  std::string pkg = "PKG_CONFIG_PATH=" + quote(prefix + "/lib/pkgconfig") + " pkg-config";
  std::string build = std::string(KILN_C_COMPILER) + " " + flags + " $(" + pkg +
                      " --cflags kiln) " + quote(source("examples/c/hello.c")) + " $(" + pkg +
                      " --libs kiln) -o " + quote((dir.path() / "hello").string());
  auto built = run_shell(build);
  ASSERT_EQ(built.exit_code, 0) << built.err;
  auto run = run_shell("LD_LIBRARY_PATH=" + quote(prefix + "/lib") + " " +
                       quote((dir.path() / "hello").string()) + " " + quote(module));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, expected);

  const std::string project = (dir.path() / "consumer").string();
  std::filesystem::create_directories(project);
  std::ofstream(project + "/CMakeLists.txt")
      << "cmake_minimum_required(VERSION 3.20)\nproject(consumer C CXX)\n"
      << "find_package(kiln 0.1 REQUIRED)\n"
      << "add_executable(hello " << source("examples/c/hello.c") << ")\n"
      << "target_link_libraries(hello PRIVATE kiln::kiln)\n"
      << "add_executable(hello_static " << source("examples/c/hello.c") << ")\n"
      << "target_link_libraries(hello_static PRIVATE kiln::kiln_static)\n"
      << "set_target_properties(hello_static PROPERTIES LINKER_LANGUAGE CXX)\n";
  const std::string cmake_flags =
      std::string("-DCMAKE_C_FLAGS=") + quote(flags) + " -DCMAKE_CXX_FLAGS=" + quote(flags);
  auto configured =
      run_shell(std::string(KILN_CMAKE_COMMAND) + " -S " + quote(project) + " -B " +
                quote(project + "/build") + " -DCMAKE_PREFIX_PATH=" + quote(prefix) +
                " -DCMAKE_C_COMPILER=" + quote(KILN_C_COMPILER) +
                " -DCMAKE_CXX_COMPILER=" + quote(KILN_CXX_COMPILER) + " " + cmake_flags);
  ASSERT_EQ(configured.exit_code, 0) << configured.out << configured.err;
  auto compiled =
      run_shell(std::string(KILN_CMAKE_COMMAND) + " --build " + quote(project + "/build"));
  ASSERT_EQ(compiled.exit_code, 0) << compiled.out << compiled.err;
  for (const char* program : {"hello", "hello_static"}) {
    run = run_shell(quote(project + "/build/" + program) + " " + quote(module));
    EXPECT_EQ(run.exit_code, 0) << program << ": " << run.err;
    EXPECT_EQ(run.out, expected) << program;
  }
}

TEST(CApiLibrary, InstalledLibraryBuildsWithPkgConfigAndFindPackage) {
  expect_installed_package_works(KILN_BINARY_DIR, KILN_C_SANITIZE_FLAGS);
}

#ifndef KILN_SANITIZE_BUILD
// The library alone builds, installs and serves embedders with nothing but a compiler and CMake
// (issue: chosen libraries). The configuration does not even look for wat2wasm, clang-14,
// node, GoogleTest or Google Benchmark, and builds without the tools' CLI11, nlohmann/json and
// {fmt} (as if they were not installed). (A property of the source tree, so it is checked in the
// release build's run; the sanitizer build's library is not what an embedder installs.)
TEST(CApiLibrary, LibraryOnlyBuildNeedsOnlyACompilerAndCMake) {
  kiln::test::TempDir dir;
  const std::string build_dir = (dir.path() / "build").string();
  auto configured =
      run_shell(std::string(KILN_CMAKE_COMMAND) + " -S " + quote(KILN_SOURCE_DIR) + " -B " +
                quote(build_dir) +
                " -DCMAKE_BUILD_TYPE=Release -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_BENCH=OFF"
                " -DKILN_BUILD_EXAMPLES=OFF -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON"
                " -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON"
                " -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON"
                " -DCMAKE_CXX_COMPILER=" +
                quote(KILN_CXX_COMPILER) + " -DCMAKE_C_COMPILER=" + quote(KILN_C_COMPILER));
  ASSERT_EQ(configured.exit_code, 0) << configured.out << configured.err;
  const std::string cache = kiln::test::slurp(build_dir + "/CMakeCache.txt");
  for (const char* tool : {"WAT2WASM:", "CLANG14:", "NODE:", "GTest_DIR:", "benchmark_DIR:"}) {
    EXPECT_EQ(cache.find(std::string("\n") + tool), std::string::npos)
        << tool << " was looked for by a library-only configuration";
  }
  auto built =
      run_shell(std::string(KILN_CMAKE_COMMAND) + " --build " + quote(build_dir) + " --parallel 2");
  ASSERT_EQ(built.exit_code, 0) << built.out.substr(
                                       built.out.size() > 4000 ? built.out.size() - 4000 : 0)
                                << built.err;
  expect_installed_package_works(build_dir, "");
}
#endif

TEST(CApiLibrary, ExportsOnlyTheCApi) {
  auto nm = run_shell("nm -D --defined-only " + quote(KILN_SHARED_LIBRARY));
  ASSERT_EQ(nm.exit_code, 0) << nm.err;
  std::istringstream lines(nm.out);
  std::string line;
  size_t count = 0;
  std::vector<std::string> others;
  while (std::getline(lines, line)) {
    const std::string name = line.substr(line.rfind(' ') + 1);
    if (name.rfind("wasm_", 0) == 0 || name.rfind("kiln_", 0) == 0) {
      ++count;
    } else {
      others.push_back(name);
    }
  }
#ifdef KILN_SANITIZE_BUILD
  // The option that lets programs built without sanitizers load this build's library.
  std::erase(others, "__asan_default_options");
#endif
  EXPECT_TRUE(others.empty()) << "exported besides the C API: " << others.front();
  // Every function the headers declare is exported, and nothing else.
  // A pipeline in parentheses: run_shell redirects the whole command's input and output.
  std::string list_declared = "(";
  list_declared += KILN_C_COMPILER;
  // kiln_component.h includes kiln.h, which includes wasm.h: all three headers.
  list_declared +=
      " -E -P -I " + quote(source("include")) + " " + quote(source("include/kiln_component.h"));
  list_declared += R"( | tr ';' '\n' | grep 'visibility("default")')";
  list_declared += R"( | grep -oE '\b(wasm|kiln)_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u))";
  auto declared = run_shell(list_declared);
  ASSERT_EQ(declared.exit_code, 0) << declared.err;
  EXPECT_EQ(static_cast<size_t>(std::count(declared.out.begin(), declared.out.end(), '\n')), count);
  std::istringstream names(declared.out);
  while (std::getline(names, line)) {
    EXPECT_NE(nm.out.find(" " + line + "\n"), std::string::npos) << line << " is not exported";
  }
  EXPECT_GT(count, 300u);
  for (const char* required : {"wasm_engine_new", "wasm_func_call", "wasm_instance_new",
                               "wasm_trap_trace", "kiln_last_error_message", "kiln_wasi_imports"}) {
    EXPECT_NE(nm.out.find(std::string(" ") + required + "\n"), std::string::npos) << required;
  }
}

// ---------------------------------------------------------------------------------------------
// Function families, called directly.

wasm_byte_vec_t bytes_of(const std::vector<uint8_t>& bytes) {
  wasm_byte_vec_t v;
  wasm_byte_vec_new(&v, bytes.size(), reinterpret_cast<const wasm_byte_t*>(bytes.data()));
  return v;
}

// The function `module` exports as `name`, among an instance's `exports` (wasm.h lists them in
// the module's export order); null when there is none.
wasm_func_t* exported_function(const wasm_module_t* module, const wasm_extern_vec_t& exports,
                               const std::string& name) {
  wasm_exporttype_vec_t types;
  wasm_module_exports(module, &types);
  wasm_func_t* found = nullptr;
  for (size_t i = 0; i < types.size && i < exports.size && !found; ++i) {
    const wasm_name_t* n = wasm_exporttype_name(types.data[i]);
    if (std::string(n->data, n->size) == name) found = wasm_extern_as_func(exports.data[i]);
  }
  wasm_exporttype_vec_delete(&types);
  return found;
}

class CApi : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = wasm_engine_new();
    store_ = wasm_store_new(engine_);
  }
  void TearDown() override {
    wasm_store_delete(store_);
    wasm_engine_delete(engine_);
  }
  wasm_module_t* module(const std::string& name) {
    wasm_byte_vec_t binary = bytes_of(kiln::test::test_module(name));
    wasm_module_t* m = wasm_module_new(store_, &binary);
    wasm_byte_vec_delete(&binary);
    EXPECT_NE(m, nullptr) << kiln_last_error_message();
    return m;
  }
  wasm_engine_t* engine_ = nullptr;
  wasm_store_t* store_ = nullptr;
};

TEST_F(CApi, VectorsCopyAndReleaseTheirElements) {
  wasm_byte_vec_t bytes, copy;
  wasm_name_new_from_string(&bytes, "kiln");
  wasm_byte_vec_copy(&copy, &bytes);
  ASSERT_EQ(copy.size, 4u);
  EXPECT_EQ(std::string(copy.data, copy.size), "kiln");
  EXPECT_NE(copy.data, bytes.data);
  wasm_byte_vec_delete(&bytes);
  wasm_byte_vec_delete(&copy);
  EXPECT_EQ(copy.size, 0u);
  EXPECT_EQ(copy.data, nullptr);

  wasm_valtype_t* types[] = {wasm_valtype_new_i32(), wasm_valtype_new_funcref()};
  wasm_valtype_vec_t vec, vec_copy;
  wasm_valtype_vec_new(&vec, 2, types);
  wasm_valtype_vec_copy(&vec_copy, &vec);
  EXPECT_NE(vec_copy.data[1], vec.data[1]);
  EXPECT_EQ(wasm_valtype_kind(vec_copy.data[1]), WASM_FUNCREF);
  wasm_valtype_vec_delete(&vec);
  wasm_valtype_vec_delete(&vec_copy);

  wasm_val_vec_t empty;
  wasm_val_vec_new_uninitialized(&empty, 0);
  EXPECT_EQ(empty.size, 0u);
  wasm_val_vec_delete(&empty);
  wasm_val_vec_delete(nullptr);  // null is ignored, not a crash
}

TEST_F(CApi, TypesAreBuiltCheckedAndViewed) {
  EXPECT_EQ(wasm_valtype_new(17), nullptr);
  EXPECT_NE(std::string(kiln_last_error_message()).find("unknown value kind 17"),
            std::string::npos);

  wasm_functype_t* f = wasm_functype_new_2_1(wasm_valtype_new_i64(), wasm_valtype_new_f32(),
                                             wasm_valtype_new_externref());
  ASSERT_EQ(wasm_functype_params(f)->size, 2u);
  EXPECT_EQ(wasm_valtype_kind(wasm_functype_params(f)->data[1]), WASM_F32);
  EXPECT_EQ(wasm_valtype_kind(wasm_functype_results(f)->data[0]), WASM_EXTERNREF);
  wasm_externtype_t* as_extern = wasm_functype_as_externtype(f);
  EXPECT_EQ(wasm_externtype_kind(as_extern), WASM_EXTERN_FUNC);
  EXPECT_EQ(wasm_externtype_as_functype(as_extern), f);
  EXPECT_EQ(wasm_externtype_as_globaltype(as_extern), nullptr);
  wasm_externtype_t* copy = wasm_externtype_copy(as_extern);
  EXPECT_EQ(wasm_functype_params(wasm_externtype_as_functype(copy))->size, 2u);
  wasm_externtype_delete(copy);
  wasm_functype_delete(f);

  wasm_limits_t bad{5, 2};
  EXPECT_EQ(wasm_memorytype_new(&bad), nullptr);
  wasm_limits_t limits{1, wasm_limits_max_default};
  EXPECT_EQ(wasm_tabletype_new(wasm_valtype_new_i32(), &limits), nullptr);  // not a reference
  wasm_tabletype_t* t = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(wasm_tabletype_limits(t)->max, wasm_limits_max_default);
  wasm_tabletype_delete(t);
  EXPECT_EQ(wasm_globaltype_new(nullptr, WASM_VAR), nullptr);

  wasm_name_t module_name, name;
  wasm_name_new_from_string(&module_name, "env");
  wasm_name_new_from_string(&name, "memory");
  wasm_importtype_t* import = wasm_importtype_new(
      &module_name, &name, wasm_memorytype_as_externtype(wasm_memorytype_new(&limits)));
  wasm_importtype_t* import_copy = wasm_importtype_copy(import);
  EXPECT_EQ(std::string(wasm_importtype_name(import_copy)->data, 6), "memory");
  EXPECT_EQ(wasm_externtype_kind(wasm_importtype_type(import_copy)), WASM_EXTERN_MEMORY);
  wasm_importtype_delete(import);
  wasm_importtype_delete(import_copy);
}

TEST_F(CApi, MalformedAndInvalidModulesAreErrorsThatSayWhere) {
  std::vector<uint8_t> garbage = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01};
  wasm_byte_vec_t binary = bytes_of(garbage);
  EXPECT_EQ(wasm_module_new(store_, &binary), nullptr);
  EXPECT_NE(std::string(kiln_last_error_message()).find("offset"), std::string::npos)
      << kiln_last_error_message();
  EXPECT_FALSE(wasm_module_validate(store_, &binary));
  wasm_byte_vec_delete(&binary);
  EXPECT_EQ(wasm_module_new(nullptr, nullptr), nullptr);
  EXPECT_EQ(wasm_module_new(store_, nullptr), nullptr);

  wasm_byte_vec_t not_serialized = bytes_of({1, 2, 3});
  EXPECT_EQ(wasm_module_deserialize(store_, &not_serialized), nullptr);
  wasm_byte_vec_delete(&not_serialized);
}

// wasm.h has no extern kind for tags and no value kind for exnref: a module with either in its
// interface is refused, naming the import or export; it stays valid.
TEST_F(CApi, ModulesWithTagsInTheirInterfaceAreRefusedWithTheReason) {
  wasm_byte_vec_t binary = bytes_of(kiln::test::test_module("exceptions"));
  EXPECT_TRUE(wasm_module_validate(store_, &binary));
  EXPECT_EQ(wasm_module_new(store_, &binary), nullptr);
  const std::string why = kiln_last_error_message();
  EXPECT_NE(why.find("export \"small\" is a tag"), std::string::npos) << why;
  EXPECT_NE(why.find("cannot express"), std::string::npos) << why;
  wasm_byte_vec_delete(&binary);
}

TEST_F(CApi, ModulesListImportsAndExportsAndSurviveSerialization) {
  wasm_module_t* m = module("host");
  ASSERT_NE(m, nullptr);
  wasm_importtype_vec_t imports;
  wasm_exporttype_vec_t exports;
  wasm_module_imports(m, &imports);
  wasm_module_exports(m, &exports);
  EXPECT_GT(imports.size, 0u);
  EXPECT_GT(exports.size, 0u);

  wasm_byte_vec_t serialized;
  wasm_module_serialize(m, &serialized);
  wasm_module_t* again = wasm_module_deserialize(store_, &serialized);
  ASSERT_NE(again, nullptr) << kiln_last_error_message();
  wasm_exporttype_vec_t exports_again;
  wasm_module_exports(again, &exports_again);
  ASSERT_EQ(exports_again.size, exports.size);
  for (size_t i = 0; i < exports.size; ++i) {
    const wasm_name_t* a = wasm_exporttype_name(exports.data[i]);
    const wasm_name_t* b = wasm_exporttype_name(exports_again.data[i]);
    EXPECT_EQ(std::string(a->data, a->size), std::string(b->data, b->size));
  }

  // Shared across stores of the engine, refused by another engine's stores.
  wasm_shared_module_t* shared = wasm_module_share(m);
  wasm_store_t* other_store = wasm_store_new(engine_);
  wasm_module_t* obtained = wasm_module_obtain(other_store, shared);
  EXPECT_NE(obtained, nullptr);
  wasm_engine_t* other_engine = wasm_engine_new();
  wasm_store_t* foreign_store = wasm_store_new(other_engine);
  EXPECT_EQ(wasm_module_obtain(foreign_store, shared), nullptr);
  wasm_extern_vec_t none = WASM_EMPTY_VEC;
  EXPECT_EQ(wasm_instance_new(foreign_store, m, &none, nullptr), nullptr);
  EXPECT_NE(std::string(kiln_last_error_message()).find("another engine"), std::string::npos);

  wasm_module_delete(obtained);
  wasm_shared_module_delete(shared);
  wasm_store_delete(foreign_store);
  wasm_engine_delete(other_engine);
  wasm_store_delete(other_store);
  wasm_exporttype_vec_delete(&exports_again);
  wasm_byte_vec_delete(&serialized);
  wasm_module_delete(again);
  wasm_importtype_vec_delete(&imports);
  wasm_exporttype_vec_delete(&exports);
  wasm_module_delete(m);
}

TEST_F(CApi, InstantiationChecksItsImports) {
  wasm_module_t* m = module("host");
  ASSERT_NE(m, nullptr);
  wasm_importtype_vec_t imports;
  wasm_module_imports(m, &imports);
  wasm_extern_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = reinterpret_cast<wasm_trap_t*>(1);
  EXPECT_EQ(wasm_instance_new(store_, m, &none, &trap), nullptr);
  EXPECT_EQ(trap, nullptr);
  EXPECT_NE(std::string(kiln_last_error_message()).find("imports"), std::string::npos);

  // Imports of the wrong type are unlinkable, not a crash.
  std::vector<wasm_extern_t*> wrong;
  wasm_limits_t limits{1, 1};
  wasm_memorytype_t* memory_type = wasm_memorytype_new(&limits);
  for (size_t i = 0; i < imports.size; ++i) {
    wrong.push_back(wasm_memory_as_extern(wasm_memory_new(store_, memory_type)));
  }
  wasm_extern_vec_t wrong_vec{wrong.size(), wrong.data()};
  EXPECT_EQ(wasm_instance_new(store_, m, &wrong_vec, nullptr), nullptr);
  for (wasm_extern_t* e : wrong) wasm_extern_delete(e);
  wasm_memorytype_delete(memory_type);
  wasm_importtype_vec_delete(&imports);
  wasm_module_delete(m);
}

TEST_F(CApi, CallsCheckTheirArgumentsAndReportTrapsWithFrames) {
  wasm_module_t* m = module("traps");
  ASSERT_NE(m, nullptr);
  wasm_extern_vec_t none = WASM_EMPTY_VEC;
  wasm_instance_t* instance = wasm_instance_new(store_, m, &none, nullptr);
  ASSERT_NE(instance, nullptr) << kiln_last_error_message();
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* div_s = exported_function(m, exports, "div_s");
  ASSERT_NE(div_s, nullptr);
  EXPECT_EQ(wasm_func_param_arity(div_s), 2u);
  wasm_val_t wrong_kind[] = {WASM_I64_VAL(1), WASM_I32_VAL(1)};
  wasm_val_t result[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(wrong_kind);
  wasm_val_vec_t results = WASM_ARRAY_VEC(result);
  wasm_trap_t* trap = wasm_func_call(div_s, &args, &results);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(kiln_trap_code(trap), KILN_TRAP_HOST_ERROR);
  wasm_trap_delete(trap);
  wasm_val_vec_t too_few = {1, wrong_kind};
  trap = wasm_func_call(div_s, &too_few, &results);
  ASSERT_NE(trap, nullptr);
  wasm_trap_delete(trap);

  wasm_func_t* nested = exported_function(m, exports, "nested");
  wasm_val_vec_t no_values = WASM_EMPTY_VEC;
  trap = wasm_func_call(nested, &no_values, &no_values);
  ASSERT_NE(trap, nullptr);
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  EXPECT_STREQ(message.data, "unreachable");
  wasm_byte_vec_delete(&message);
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  ASSERT_EQ(trace.size, 3u);
  wasm_name_t name;
  kiln_frame_func_name(trace.data[2], &name);
  EXPECT_EQ(std::string(name.data, name.size), "outer");
  wasm_name_delete(&name);
  EXPECT_TRUE(wasm_instance_same(wasm_frame_instance(trace.data[0]), instance));
  EXPECT_GT(wasm_frame_module_offset(trace.data[0]), wasm_frame_func_offset(trace.data[0]));
  wasm_frame_t* origin = wasm_trap_origin(trap);
  EXPECT_EQ(wasm_frame_func_index(origin), wasm_frame_func_index(trace.data[0]));
  wasm_frame_delete(origin);
  wasm_frame_vec_delete(&trace);
  wasm_trap_delete(trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(m);
}

int finalized = 0;
void count_finalization(void* info) {
  finalized += *static_cast<int*>(info);
}

TEST_F(CApi, HostInfoIsSharedByReferencesAndFinalizedOnce) {
  int one = 1, ten = 10;
  finalized = 0;
  wasm_foreign_t* foreign = wasm_foreign_new(store_);
  wasm_foreign_t* copy = wasm_foreign_copy(foreign);
  EXPECT_TRUE(wasm_foreign_same(foreign, copy));
  wasm_foreign_set_host_info_with_finalizer(foreign, &one, count_finalization);
  EXPECT_EQ(wasm_foreign_get_host_info(copy), &one);
  wasm_foreign_set_host_info_with_finalizer(copy, &ten, count_finalization);
  EXPECT_EQ(finalized, 1);  // the replaced info's finalizer ran
  wasm_foreign_delete(foreign);
  wasm_foreign_delete(copy);
  EXPECT_EQ(finalized, 1);  // references go; the object stays with its store
  wasm_store_delete(store_);
  store_ = wasm_store_new(engine_);
  EXPECT_EQ(finalized, 11);
}

TEST_F(CApi, ForeignObjectsTravelAsExternrefsAndComeBackTheSame) {
  wasm_limits_t limits{2, 2};
  wasm_tabletype_t* type = wasm_tabletype_new(wasm_valtype_new_externref(), &limits);
  wasm_table_t* table = wasm_table_new(store_, type, nullptr);
  wasm_tabletype_delete(type);
  ASSERT_NE(table, nullptr);
  wasm_foreign_t* foreign = wasm_foreign_new(store_);
  ASSERT_TRUE(wasm_table_set(table, 1, wasm_foreign_as_ref(foreign)));
  wasm_ref_t* back = wasm_table_get(table, 1);
  ASSERT_NE(back, nullptr);
  EXPECT_TRUE(wasm_ref_same(back, wasm_foreign_as_ref(foreign)));
  EXPECT_NE(wasm_ref_as_foreign(back), nullptr);
  EXPECT_EQ(wasm_ref_as_func(back), nullptr);
  EXPECT_EQ(wasm_table_get(table, 0), nullptr);   // null element
  EXPECT_EQ(wasm_table_get(table, 99), nullptr);  // out of range
  // A funcref table refuses a foreign object; another store's reference is refused too.
  wasm_tabletype_t* func_type = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
  wasm_table_t* func_table = wasm_table_new(store_, func_type, nullptr);
  EXPECT_FALSE(wasm_table_set(func_table, 0, wasm_foreign_as_ref(foreign)));
  wasm_store_t* other = wasm_store_new(engine_);
  wasm_foreign_t* stranger = wasm_foreign_new(other);
  EXPECT_FALSE(wasm_table_set(table, 0, wasm_foreign_as_ref(stranger)));
  wasm_foreign_delete(stranger);
  wasm_store_delete(other);
  wasm_tabletype_delete(func_type);
  wasm_table_delete(func_table);
  wasm_ref_delete(back);
  wasm_foreign_delete(foreign);
  wasm_table_delete(table);
}

TEST_F(CApi, NullArgumentsAreRefusedNotCrashes) {
  EXPECT_EQ(wasm_store_new(nullptr), nullptr);
  EXPECT_EQ(wasm_func_new(nullptr, nullptr, nullptr), nullptr);
  EXPECT_EQ(wasm_global_new(store_, nullptr, nullptr), nullptr);
  EXPECT_EQ(wasm_table_new(store_, nullptr, nullptr), nullptr);
  EXPECT_EQ(wasm_memory_new(store_, nullptr), nullptr);
  EXPECT_EQ(wasm_instance_new(store_, nullptr, nullptr, nullptr), nullptr);
  EXPECT_EQ(wasm_func_call(nullptr, nullptr, nullptr), nullptr);
  EXPECT_FALSE(wasm_memory_grow(nullptr, 1));
  EXPECT_FALSE(wasm_table_grow(nullptr, 1, nullptr));
  EXPECT_EQ(wasm_memory_data(nullptr), nullptr);
  EXPECT_EQ(wasm_extern_as_func(nullptr), nullptr);
  EXPECT_EQ(wasm_trap_origin(nullptr), nullptr);
  wasm_global_set(nullptr, nullptr);
  wasm_val_t v;
  wasm_global_get(nullptr, &v);
  EXPECT_FALSE(kiln_store_set_fuel(nullptr, 1));
  EXPECT_FALSE(kiln_store_set_fuel(store_, 1));  // this engine does not consume fuel
  EXPECT_NE(std::string(kiln_last_error_message()).find("fuel"), std::string::npos);
  EXPECT_EQ(kiln_wasi_new(nullptr, nullptr), nullptr);
}

TEST(CApiKiln, LimitsDeadlinesAndTelemetryApplyToStores) {
  wasm_config_t* config = wasm_config_new();
  kiln_limits_t limits;
  kiln_limits_default(&limits);
  limits.max_memory_bytes = 2 * MEMORY_PAGE_SIZE;
  kiln_config_set_limits(config, &limits);
  kiln_config_epoch_interruption(config, true);
  // The JIT is offered exactly when this build has one for this machine.
  EXPECT_EQ(kiln_config_set_tier(config, KILN_TIER_JIT), kiln::code_tier() != nullptr);
  EXPECT_FALSE(kiln_config_set_tier(config, 7));
  EXPECT_TRUE(kiln_config_set_tier(config, KILN_TIER_INTERPRETER));
  wasm_engine_t* engine = wasm_engine_new_with_config(config);
  wasm_store_t* store = wasm_store_new(engine);

  wasm_limits_t memory_limits{1, 10};
  wasm_memorytype_t* type = wasm_memorytype_new(&memory_limits);
  wasm_memory_t* memory = wasm_memory_new(store, type);
  wasm_memorytype_delete(type);
  ASSERT_NE(memory, nullptr);
  EXPECT_TRUE(wasm_memory_grow(memory, 1));
  EXPECT_FALSE(wasm_memory_grow(memory, 1));  // the store's limit, below the type's maximum
  kiln_telemetry_t telemetry;
  kiln_store_telemetry(store, &telemetry);
  EXPECT_EQ(telemetry.memory_bytes, 2 * MEMORY_PAGE_SIZE);
  EXPECT_EQ(telemetry.memory_grow_refusals, 1u);

  // A store with limits of its own: one page, where its engine's stores may have two.
  kiln_limits_t tenant = limits;
  tenant.max_memory_bytes = MEMORY_PAGE_SIZE;
  wasm_store_t* small_store = kiln_store_new_with_limits(engine, &tenant);
  wasm_memorytype_t* small_type = wasm_memorytype_new(&memory_limits);
  wasm_memory_t* small = wasm_memory_new(small_store, small_type);
  ASSERT_NE(small, nullptr);
  EXPECT_FALSE(wasm_memory_grow(small, 1));
  EXPECT_EQ(kiln_store_new_with_limits(engine, nullptr), nullptr);
  wasm_memory_delete(small);
  wasm_memorytype_delete(small_type);
  wasm_store_delete(small_store);

  // An endless loop stops at the deadline.
  wasm_byte_vec_t binary = bytes_of(kiln::test::test_module("budget"));
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  ASSERT_NE(module, nullptr);
  wasm_importtype_vec_t import_types;
  wasm_module_imports(module, &import_types);
  ASSERT_EQ(import_types.size, 1u);
  wasm_functype_t* host_type =
      wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* host = wasm_func_new(
      store, host_type, [](const wasm_val_vec_t* args, wasm_val_vec_t* results) -> wasm_trap_t* {
        results->data[0] = args->data[0];
        return nullptr;
      });
  wasm_functype_delete(host_type);
  wasm_extern_t* import_list[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(import_list);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, nullptr);
  ASSERT_NE(instance, nullptr) << kiln_last_error_message();
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* spin = exported_function(module, exports, "spin");
  ASSERT_NE(spin, nullptr);
  kiln_store_set_epoch_deadline(store, 1);
  kiln_engine_increment_epoch(engine);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = wasm_func_call(spin, &none, &none);
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(kiln_trap_code(trap), KILN_TRAP_DEADLINE_EXCEEDED);
  wasm_trap_delete(trap);

  // A callback extends the deadline twice, then lets it stop the call.
  static int extensions;
  extensions = 0;
  kiln_store_set_deadline_callback(
      store,
      [](void* env, uint64_t* more) {
        int& count = *static_cast<int*>(env);
        if (count == 2) return false;
        ++count;
        *more = 1;
        return true;
      },
      &extensions, nullptr);
  kiln_store_set_epoch_deadline(store, 1);
  std::atomic<bool> done{false};
  std::thread ticker([&] {
    while (!done) {
      kiln_engine_increment_epoch(engine);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  trap = wasm_func_call(spin, &none, &none);
  done = true;
  ticker.join();
  ASSERT_NE(trap, nullptr);
  EXPECT_EQ(kiln_trap_code(trap), KILN_TRAP_DEADLINE_EXCEEDED);
  EXPECT_EQ(extensions, 2);
  wasm_trap_delete(trap);
  kiln_store_telemetry(store, &telemetry);
  EXPECT_EQ(telemetry.traps, 2u);

  wasm_extern_vec_delete(&exports);
  wasm_importtype_vec_delete(&import_types);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_memory_delete(memory);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
}

// WASI for tests/programs/wasi/wasi_hello.c: arguments "hello exit=3", GREETING=hi, stdout
// into `out_path` (its descriptor in `out_fd`, for the caller to close).
kiln_wasi_t* hello_wasi(wasm_store_t* store, const std::string& out_path, int& out_fd) {
  out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (out_fd < 0) return nullptr;
  kiln_wasi_config_t* config = kiln_wasi_config_new();
  const char* argv[] = {"hello", "exit=3"};
  kiln_wasi_config_set_args(config, 2, argv);
  kiln_wasi_config_set_env(config, "GREETING", "hi");
  kiln_wasi_config_set_stdio(config, -1, out_fd, -1);
  return kiln_wasi_new(store, config);
}

TEST(CApiKiln, WasiRunsACommandWithTheGrantedArgumentsEnvironmentAndStdio) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  auto bytes = kiln::test::read_bytes(std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_hello.wasm");
  wasm_byte_vec_t binary = bytes_of(bytes);
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  ASSERT_NE(module, nullptr) << kiln_last_error_message();

  kiln::test::TempDir dir;
  const std::string out_path = (dir.path() / "stdout").string();
  int out_fd = -1;
  kiln_wasi_t* wasi = hello_wasi(store, out_path, out_fd);
  ASSERT_NE(wasi, nullptr) << kiln_last_error_message();
  wasm_extern_vec_t imports;
  ASSERT_TRUE(kiln_wasi_imports(wasi, module, &imports)) << kiln_last_error_message();
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, nullptr);
  ASSERT_NE(instance, nullptr) << kiln_last_error_message();

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* start = exported_function(module, exports, "_start");
  ASSERT_NE(start, nullptr);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = wasm_func_call(start, &none, &none);
  ASSERT_NE(trap, nullptr);
  int32_t status = -1;
  EXPECT_TRUE(kiln_trap_exit_status(trap, &status));
  EXPECT_EQ(status, 3);
  wasm_trap_delete(trap);
  close(out_fd);
  EXPECT_EQ(kiln::test::slurp(out_path), "argc=2\nargv[1]=exit=3\nenv GREETING=hi\nenv count=1\n");

  // A module importing something WASI lacks is refused, naming the import.
  wasm_byte_vec_t host_binary = bytes_of(kiln::test::test_module("host"));
  wasm_module_t* host_module = wasm_module_new(store, &host_binary);
  wasm_byte_vec_delete(&host_binary);
  wasm_extern_vec_t host_imports;
  EXPECT_FALSE(kiln_wasi_imports(wasi, host_module, &host_imports));
  EXPECT_NE(std::string(kiln_last_error_message()).find("unknown import"), std::string::npos);

  wasm_module_delete(host_module);
  wasm_extern_vec_delete(&exports);
  wasm_extern_vec_delete(&imports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
}

// The same program as a WASI 0.2 command component, through kiln_component.h: the WASI 0.2
// host on a component linker with the grants of a kiln_wasi_t.
TEST(CApiKiln, Wasi02RunsACommandComponentWithTheGrantedArgumentsEnvironmentAndStdio) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_store_t* other_store = wasm_store_new(engine);
  auto bytes =
      kiln::test::read_bytes(std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_hello.component.wasm");
  wasm_byte_vec_t binary = bytes_of(bytes);
  kiln_component_t* component = kiln_component_new(engine, &binary);
  wasm_byte_vec_delete(&binary);
  ASSERT_NE(component, nullptr) << kiln_last_error_message();

  kiln::test::TempDir dir;
  const std::string out_path = (dir.path() / "stdout").string();
  int out_fd = -1;
  kiln_wasi_t* wasi = hello_wasi(store, out_path, out_fd);
  ASSERT_NE(wasi, nullptr) << kiln_last_error_message();

  kiln_component_linker_t* linker = kiln_component_linker_new();
  wasm_name_t missing;
  ASSERT_TRUE(kiln_component_linker_missing_imports(linker, component, &missing));
  EXPECT_NE(std::string(missing.data, missing.size).find("wasi:cli/environment@0.2.12#"),
            std::string::npos);
  wasm_byte_vec_delete(&missing);
  ASSERT_TRUE(kiln_component_linker_define_wasi(linker, wasi)) << kiln_last_error_message();
  EXPECT_FALSE(kiln_component_linker_define_wasi(linker, wasi));  // once per linker
  ASSERT_TRUE(kiln_component_linker_missing_imports(linker, component, &missing));
  EXPECT_EQ(missing.size, 0u) << std::string(missing.data, missing.size);
  wasm_byte_vec_delete(&missing);

  wasm_trap_t* trap = nullptr;
  EXPECT_EQ(kiln_component_instantiate(linker, other_store, component, &trap), nullptr);
  EXPECT_NE(std::string(kiln_last_error_message()).find("belongs to another store"),
            std::string::npos);
  kiln_component_instance_t* instance = kiln_component_instantiate(linker, store, component, &trap);
  ASSERT_NE(instance, nullptr) << kiln_last_error_message();
  // exit(3) in C is wasi:cli/exit's exit(err): status 1.
  wasm_name_t result;
  EXPECT_FALSE(
      kiln_component_instance_call_wave(instance, "wasi:cli/run@0.2.12#run()", &result, &trap));
  ASSERT_NE(trap, nullptr);
  int32_t status = -1;
  EXPECT_TRUE(kiln_trap_exit_status(trap, &status));
  EXPECT_EQ(status, 1);
  wasm_trap_delete(trap);
  wasm_byte_vec_delete(&result);
  close(out_fd);
  EXPECT_EQ(kiln::test::slurp(out_path), "argc=2\nargv[1]=exit=3\nenv GREETING=hi\nenv count=1\n");

  kiln_component_instance_delete(instance);
  kiln_component_linker_delete(linker);
  kiln_component_delete(component);
  wasm_store_delete(other_store);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
}

// stdio in host memory: the same bytes in, the same bytes out, for a preview1 module and for
// the same program as a WASI 0.2 component; a capture keeps at most what it was given room for.
TEST(CApiKiln, WasiStdioInHostMemoryForBothHosts) {
  wasm_engine_t* engine = wasm_engine_new();
  auto memory_stdio = [](wasm_store_t* store, size_t stderr_room) {
    kiln_wasi_config_t* config = kiln_wasi_config_new();
    wasm_byte_vec_t input;
    wasm_byte_vec_new(&input, 9, "hello, c\n");
    EXPECT_TRUE(kiln_wasi_config_set_stdin_bytes(config, &input));
    wasm_byte_vec_delete(&input);
    EXPECT_TRUE(kiln_wasi_config_capture_stdout(config, 1 << 20));
    EXPECT_TRUE(kiln_wasi_config_capture_stderr(config, stderr_room));
    return kiln_wasi_new(store, config);
  };
  auto captured = [](bool (*read)(const kiln_wasi_t*, wasm_byte_vec_t*), kiln_wasi_t* wasi) {
    wasm_byte_vec_t bytes;
    EXPECT_TRUE(read(wasi, &bytes)) << kiln_last_error_message();
    std::string text(bytes.data, bytes.size);
    wasm_byte_vec_delete(&bytes);
    return text;
  };

  // preview1: stderr has room for all ("9 bytes\n").
  wasm_store_t* store = wasm_store_new(engine);
  auto bytes = kiln::test::read_bytes(std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_stdin.wasm");
  wasm_byte_vec_t binary = bytes_of(bytes);
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  ASSERT_NE(module, nullptr) << kiln_last_error_message();
  kiln_wasi_t* wasi = memory_stdio(store, 64);
  ASSERT_NE(wasi, nullptr) << kiln_last_error_message();
  wasm_extern_vec_t imports;
  ASSERT_TRUE(kiln_wasi_imports(wasi, module, &imports)) << kiln_last_error_message();
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, nullptr);
  ASSERT_NE(instance, nullptr) << kiln_last_error_message();
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* start = exported_function(module, exports, "_start");
  ASSERT_NE(start, nullptr);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = wasm_func_call(start, &none, &none);
  if (trap) {  // exit(0) may be a trap carrying status 0
    int32_t status = -1;
    EXPECT_TRUE(kiln_trap_exit_status(trap, &status));
    EXPECT_EQ(status, 0);
    wasm_trap_delete(trap);
  }
  EXPECT_EQ(captured(kiln_wasi_stdout_bytes, wasi), "HELLO, C\n");
  EXPECT_EQ(captured(kiln_wasi_stderr_bytes, wasi), "9 bytes\n");
  wasm_extern_vec_delete(&exports);
  wasm_extern_vec_delete(&imports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);

  // WASI 0.2: stderr has room for 4 bytes only.
  store = wasm_store_new(engine);
  bytes =
      kiln::test::read_bytes(std::string(KILN_TEST_PROGRAMS_DIR) + "/wasi_stdin.component.wasm");
  binary = bytes_of(bytes);
  kiln_component_t* component = kiln_component_new(engine, &binary);
  wasm_byte_vec_delete(&binary);
  ASSERT_NE(component, nullptr) << kiln_last_error_message();
  wasi = memory_stdio(store, 4);
  ASSERT_NE(wasi, nullptr) << kiln_last_error_message();
  kiln_component_linker_t* linker = kiln_component_linker_new();
  ASSERT_TRUE(kiln_component_linker_define_wasi(linker, wasi)) << kiln_last_error_message();
  kiln_component_instance_t* component_instance =
      kiln_component_instantiate(linker, store, component, &trap);
  ASSERT_NE(component_instance, nullptr) << kiln_last_error_message();
  wasm_name_t result;
  kiln_component_instance_call_wave(component_instance, "wasi:cli/run@0.2.12#run()", &result,
                                    &trap);
  if (trap) wasm_trap_delete(trap);
  wasm_byte_vec_delete(&result);
  EXPECT_EQ(captured(kiln_wasi_stdout_bytes, wasi), "HELLO, C\n");
  EXPECT_EQ(captured(kiln_wasi_stderr_bytes, wasi), "9 by");
  kiln_component_instance_delete(component_instance);
  kiln_component_linker_delete(linker);
  kiln_component_delete(component);

  // Streams that are not captured say so.
  kiln_wasi_t* plain = kiln_wasi_new(store, kiln_wasi_config_new());
  wasm_byte_vec_t nothing;
  EXPECT_FALSE(kiln_wasi_stdout_bytes(plain, &nothing));
  EXPECT_NE(std::string(kiln_last_error_message()).find("not captured"), std::string::npos);
  EXPECT_EQ(nothing.size, 0u);
  EXPECT_FALSE(kiln_wasi_stderr_bytes(nullptr, &nothing));
  EXPECT_FALSE(kiln_wasi_config_set_stdin_bytes(nullptr, nullptr));
  wasm_store_delete(store);
  wasm_engine_delete(engine);
}

// Outgoing HTTP from C: granted authorities' requests reach the embedder's sender, whose
// answer (or failure) the guest gets; others are refused without calling it. The sender's
// environment is finalized once.
struct SenderLog {
  int calls = 0, finalized = 0;
  std::string seen;
  bool fail = false;
};
void record_and_answer(void* env, const kiln_http_request_t* request,
                       kiln_http_response_t* response) {
  auto* log = static_cast<SenderLog*>(env);
  ++log->calls;
  log->seen = std::string(request->method) + " " + request->scheme + "://" + request->authority +
              request->path_with_query;
  if (log->fail) {
    kiln_http_response_fail(response, KILN_HTTP_ERROR_CONNECTION_REFUSED, nullptr);
    return;
  }
  kiln_http_response_set_status(response, 201);
  kiln_http_response_add_header(response, "content-type", 12, "text/plain", 10);
  kiln_http_response_append_body(response, "from the C sender\n", 18);
  EXPECT_FALSE(kiln_http_response_interrupted(response));
}

// A WASI 0.2 command (KILN_TEST_COMPONENTS_DIR/NAME.wasm) run through kiln_component.h with
// the grants of `config` (taken), its stdout kept: what wasi:cli/run returned, in WAVE, and what
// it printed.
struct CommandRun {
  std::string result, out;
};
CommandRun run_wasi_command(const std::string& name, kiln_wasi_config_t* config,
                            const std::function<void(kiln_wasi_t*)>& on_wasi = {}) {
  CommandRun run;
  wasm_engine_t* engine = wasm_engine_new();
  auto bytes = kiln::test::read_bytes(std::string(KILN_TEST_COMPONENTS_DIR) + "/" + name + ".wasm");
  wasm_byte_vec_t binary = bytes_of(bytes);
  kiln_component_t* component = kiln_component_new(engine, &binary);
  wasm_byte_vec_delete(&binary);
  EXPECT_NE(component, nullptr) << kiln_last_error_message();
  wasm_store_t* store = wasm_store_new(engine);
  EXPECT_TRUE(kiln_wasi_config_capture_stdout(config, 1 << 16));
  kiln_wasi_t* wasi = kiln_wasi_new(store, config);
  EXPECT_NE(wasi, nullptr) << kiln_last_error_message();
  if (on_wasi) on_wasi(wasi);
  kiln_component_linker_t* linker = kiln_component_linker_new();
  EXPECT_TRUE(kiln_component_linker_define_wasi(linker, wasi)) << kiln_last_error_message();
  wasm_trap_t* trap = nullptr;
  kiln_component_instance_t* instance = kiln_component_instantiate(linker, store, component, &trap);
  EXPECT_NE(instance, nullptr) << kiln_last_error_message();
  wasm_name_t result;
  EXPECT_TRUE(
      kiln_component_instance_call_wave(instance, "wasi:cli/run@0.2.12#run()", &result, &trap))
      << kiln_last_error_message();
  run.result = std::string(result.data, result.size);
  wasm_byte_vec_delete(&result);
  wasm_byte_vec_t out;
  EXPECT_TRUE(kiln_wasi_stdout_bytes(wasi, &out));
  run.out = std::string(out.data, out.size);
  wasm_byte_vec_delete(&out);
  kiln_component_instance_delete(instance);
  kiln_component_linker_delete(linker);
  wasm_store_delete(store);
  kiln_component_delete(component);
  wasm_engine_delete(engine);
  return run;
}

TEST(CApiKiln, Wasi02OutgoingHttpGoesThroughTheEmbeddersSender) {
  SenderLog log;
  auto fetch = [&](const char* authority, bool fail) {
    log.fail = fail;
    kiln_wasi_config_t* config = kiln_wasi_config_new();
    const char* argv[] = {"fetch", authority, "/hello?x=1"};
    kiln_wasi_config_set_args(config, 3, argv);
    EXPECT_TRUE(kiln_wasi_config_allow_http(config, "example.test"));
    kiln_wasi_config_set_http_sender(config, record_and_answer, &log,
                                     [](void* env) { ++static_cast<SenderLog*>(env)->finalized; });
    return run_wasi_command("http_fetch", config).out;
  };
  EXPECT_EQ(fetch("example.test", false), "status 201\nfrom the C sender\n");
  EXPECT_EQ(log.seen, "GET http://example.test/hello?x=1");
  EXPECT_EQ(fetch("example.test", true), "response failed: error-code 6\n");
  EXPECT_EQ(log.calls, 2);
  EXPECT_EQ(fetch("example.test:8080", false), "handle failed: error-code 15\n");
  EXPECT_EQ(log.calls, 2);      // the sender never saw the refused request
  EXPECT_EQ(log.finalized, 3);  // once per config

  // A null sender is refused, and its environment still finalized.
  kiln_wasi_config_t* config = kiln_wasi_config_new();
  int finalized = 0;
  kiln_wasi_config_set_http_sender(config, nullptr, &finalized,
                                   [](void* env) { ++*static_cast<int*>(env); });
  EXPECT_EQ(finalized, 1);
  EXPECT_FALSE(kiln_wasi_config_allow_http(config, nullptr));
  kiln_wasi_config_delete(config);
}

// Outgoing requests are in flight together (wasi:http's futures are real): a guest that hands
// over two requests before waiting for either has both at its sender at once. The sender
// answers a request only when the other has arrived too (or says it came alone after 10 s).
struct Rendezvous {
  std::mutex mutex;
  std::condition_variable arrived_cv;
  int arrived = 0;
};
void answer_together(void* env, const kiln_http_request_t* request,
                     kiln_http_response_t* response) {
  auto* meeting = static_cast<Rendezvous*>(env);
  std::unique_lock<std::mutex> lock(meeting->mutex);
  ++meeting->arrived;
  meeting->arrived_cv.notify_all();
  const bool together = meeting->arrived_cv.wait_for(lock, std::chrono::seconds(10),
                                                     [&] { return meeting->arrived >= 2; });
  const std::string body =
      std::string(together ? "together: " : "alone: ") + request->path_with_query + "\n";
  kiln_http_response_append_body(response, body.data(), body.size());
}

TEST(CApiKiln, Wasi02OutgoingRequestsAreInFlightTogether) {
  Rendezvous meeting;
  kiln_wasi_config_t* config = kiln_wasi_config_new();
  const char* argv[] = {"fetch", "example.test", "/a", "/b"};
  kiln_wasi_config_set_args(config, 4, argv);
  EXPECT_TRUE(kiln_wasi_config_allow_http(config, "example.test"));
  kiln_wasi_config_set_http_sender(config, answer_together, &meeting, nullptr);
  EXPECT_EQ(run_wasi_command("http_fetch", config).out,
            "status 200\ntogether: /a\nstatus 200\ntogether: /b\n");
}

// A response's body streams to the guest: the sender sends its first part and waits until the
// guest has printed it (which it could not if the body were held until the sender returned),
// then a second part, then breaks off (the guest's body stream fails with the sender's
// error-code, as http-error-code tells). Body bytes after the head refuse a later header.
struct StreamedAnswer {
  std::atomic<kiln_wasi_t*> wasi{nullptr};
};
void answer_in_parts(void* env, const kiln_http_request_t*, kiln_http_response_t* response) {
  auto* answer = static_cast<StreamedAnswer*>(env);
  EXPECT_TRUE(kiln_http_response_append_body(response, "first part\n", 11));
  kiln_http_response_add_header(response, "x-late", 6, "1", 1);
  EXPECT_NE(std::string(kiln_last_error_message()).find("the head went with the body already"),
            std::string::npos);
  bool seen = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!seen && std::chrono::steady_clock::now() < until) {
    wasm_byte_vec_t out;
    if (answer->wasi && kiln_wasi_stdout_bytes(answer->wasi, &out)) {
      seen = std::string(out.data, out.size).find("first part\n") != std::string::npos;
      wasm_byte_vec_delete(&out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const std::string second = seen ? "after the guest read it\n" : "before the guest read it\n";
  EXPECT_TRUE(kiln_http_response_append_body(response, second.data(), second.size()));
  kiln_http_response_fail(response, KILN_HTTP_ERROR_HTTP_RESPONSE_INCOMPLETE, nullptr);
}

TEST(CApiKiln, Wasi02ResponseBodiesStreamFromTheSender) {
  StreamedAnswer answer;
  kiln_wasi_config_t* config = kiln_wasi_config_new();
  const char* argv[] = {"fetch", "example.test", "/parts"};
  kiln_wasi_config_set_args(config, 3, argv);
  EXPECT_TRUE(kiln_wasi_config_allow_http(config, "example.test"));
  kiln_wasi_config_set_http_sender(config, answer_in_parts, &answer, nullptr);
  CommandRun run =
      run_wasi_command("http_fetch", config, [&](kiln_wasi_t* wasi) { answer.wasi = wasi; });
  EXPECT_EQ(run.out,
            "status 200\nfirst part\nafter the guest read it\nbody failed: error-code 25\n");
  EXPECT_EQ(run.result, "err");
}

// wasi:sockets from C: the network grants of kiln.h reach the WASI 0.2 host. The TCP loopback
// command (tests/components/sockets) runs granted 127.0.0.1, and is refused without.
TEST(CApiKiln, Wasi02SocketsUseTheConfigsNetworkGrants) {
  kiln_wasi_config_t* refused = kiln_wasi_config_new();
  EXPECT_FALSE(kiln_wasi_config_allow_tcp(refused, "localhost"));
  EXPECT_NE(std::string(kiln_last_error_message()).find("network grant `localhost`"),
            std::string::npos)
      << kiln_last_error_message();
  EXPECT_FALSE(kiln_wasi_config_allow_udp(nullptr, "*"));
  EXPECT_FALSE(kiln_wasi_config_allow_tcp(refused, nullptr));
  kiln_wasi_config_delete(refused);

  kiln_wasi_config_t* granted = kiln_wasi_config_new();
  ASSERT_TRUE(kiln_wasi_config_allow_tcp(granted, "127.0.0.1"));
  CommandRun loopback = run_wasi_command("tcp_loopback", granted);
  EXPECT_EQ(loopback.result, "ok");
  EXPECT_NE(loopback.out.find("client got: and back again"), std::string::npos) << loopback.out;
  CommandRun denied = run_wasi_command("tcp_loopback", kiln_wasi_config_new());
  EXPECT_EQ(denied.result, "err");
  EXPECT_EQ(denied.out, "start-bind failed: error-code 1\n");
}

}  // namespace
