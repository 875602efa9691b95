// Validation errors name the rule, the function index and the byte offset of the instruction.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/interpreter_code.h"
#include "runtime/module.h"
#include "runtime/module_decoder.h"
#include "runtime/store.h"
#include "tests/fuzz/wasm_writer.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

// A module with one function of type `functype` (e.g. {0x60, 0x00, 0x01, 0x7f}) whose body is
// `body` (local declarations, instructions, end). `before_code` holds complete sections that go
// between the function and code sections (table, memory, global, export, element, data count).
struct OneFunction {
  std::vector<uint8_t> bytes;
  size_t body_offset;  // offset of the first byte of `body` (the local declarations)
};
OneFunction one_function(std::vector<uint8_t> functype, std::vector<uint8_t> body,
                         std::vector<uint8_t> before_code = {}) {
  std::vector<uint8_t> b = test::module_bytes({});
  b.push_back(0x01);
  b.push_back(static_cast<uint8_t>(1 + functype.size()));
  b.push_back(0x01);
  b.insert(b.end(), functype.begin(), functype.end());
  b.insert(b.end(), {0x03, 0x02, 0x01, 0x00});
  b.insert(b.end(), before_code.begin(), before_code.end());
  b.push_back(0x0a);
  b.push_back(static_cast<uint8_t>(2 + body.size()));
  b.push_back(0x01);
  b.push_back(static_cast<uint8_t>(body.size()));
  size_t offset = b.size();
  b.insert(b.end(), body.begin(), body.end());
  return {b, offset};
}

const std::vector<uint8_t> kReturnsI32 = {0x60, 0x00, 0x01, 0x7f};
const std::vector<uint8_t> kNoResults = {0x60, 0x00, 0x00};

Error validation_error(const std::vector<uint8_t>& bytes) {
  Engine engine;
  auto valid = Module::validate(engine, bytes);
  EXPECT_FALSE(valid.ok()) << "the module was accepted";
  return valid.ok() ? Error{} : valid.error();
}

std::string hex(size_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%zx", offset);
  return buf;
}

TEST(Validator, AcceptsAWellTypedFunction) {
  Engine engine;
  auto m = one_function(kReturnsI32, {0x00, 0x41, 0x2a, 0x0b});  // i32.const 42
  EXPECT_TRUE(Module::validate(engine, m.bytes).ok());
}

// Wasm 3.0 exception handling (spec 3.2.9, 3.3.8): tag types return nothing; throw names a tag;
// each catch clause passes what its label takes, labels counted from outside the try_table.
TEST(Validator, ChecksTagsAndCatchClauses) {
  const std::vector<uint8_t> one_tag = {0x0d, 0x03, 0x01, 0x00, 0x00};  // a tag of type 0
  Error result_tag = validation_error(one_function(kReturnsI32, {0x00, 0x0b}, one_tag).bytes);
  EXPECT_NE(result_tag.message.find("non-empty tag result type (tag 0)"), std::string::npos)
      << result_tag.message;

  auto unknown = one_function(kNoResults, {0x00, 0x08, 0x05, 0x0b});  // throw 5
  Error e = validation_error(unknown.bytes);
  EXPECT_NE(e.message.find("unknown tag 5"), std::string::npos) << e.message;

  // try_table (catch_ref 0 0): the function's label takes no values, catch_ref passes an exnref.
  auto mismatch =
      one_function(kNoResults, {0x00, 0x1f, 0x40, 0x01, 0x01, 0x00, 0x00, 0x0b, 0x0b}, one_tag);
  e = validation_error(mismatch.bytes);
  EXPECT_NE(e.message.find("type mismatch: catch clause 0"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(hex(mismatch.body_offset + 4)), std::string::npos) << e.message;
  // (catch 0 0) passes the tag's values (none): valid. Label 1 does not exist outside.
  Engine engine;
  EXPECT_TRUE(
      Module::validate(
          engine,
          one_function(kNoResults, {0x00, 0x1f, 0x40, 0x01, 0x00, 0x00, 0x00, 0x0b, 0x0b}, one_tag)
              .bytes)
          .ok());
  e = validation_error(
      one_function(kNoResults, {0x00, 0x1f, 0x40, 0x01, 0x02, 0x01, 0x0b, 0x0b}, one_tag).bytes);
  EXPECT_NE(e.message.find("unknown label"), std::string::npos) << e.message;
}

// Multi-memory (spec 5.4.7): memarg's bit 6 says a memory index follows the flags; it must name
// a memory. With multi-memory off, such flags are malformed (Wasm 2.0).
TEST(Validator, MemargMemoryIndicesNameAMemory) {
  const std::vector<uint8_t> one_memory = {0x05, 0x03, 0x01, 0x00, 0x01};
  // i32.const 0; i32.load (flags 0x40: align 0, memory 1 follows) offset 0
  auto m = one_function(kReturnsI32, {0x00, 0x41, 0x00, 0x28, 0x40, 0x01, 0x00, 0x0b}, one_memory);
  Error e = validation_error(m.bytes);
  EXPECT_NE(e.message.find("unknown memory 1"), std::string::npos) << e.message;
  // Memory 0 named explicitly is fine.
  Engine engine;
  EXPECT_TRUE(Module::validate(
                  engine, one_function(kReturnsI32,
                                       {0x00, 0x41, 0x00, 0x28, 0x40, 0x00, 0x00, 0x0b}, one_memory)
                              .bytes)
                  .ok());
  EngineConfig wasm2;
  wasm2.multi_memory = false;
  Engine wasm2_engine(wasm2);
  auto refused = Module::validate(wasm2_engine, m.bytes);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kMalformed) << refused.error().message;
}

TEST(Validator, TypeMismatchNamesFunctionAndOffset) {
  // (func (result i32) i64.const 0): the mismatch is found at `end`, 3 bytes into the code.
  auto m = one_function(kReturnsI32, {0x00, 0x42, 0x00, 0x0b});
  Error e = validation_error(m.bytes);
  EXPECT_EQ(e.kind, ErrorKind::kInvalid);
  EXPECT_NE(e.message.find("type mismatch"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("expected i32, found i64"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("function 0"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("offset " + hex(m.body_offset + 3)), std::string::npos) << e.message;
}

TEST(Validator, RejectsUnknownIndices) {
  auto local = one_function(kReturnsI32, {0x00, 0x20, 0x05, 0x0b});  // local.get 5
  Error e = validation_error(local.bytes);
  EXPECT_NE(e.message.find("unknown local 5"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("offset " + hex(local.body_offset + 1)), std::string::npos) << e.message;

  EXPECT_NE(validation_error(one_function(kNoResults, {0x00, 0x0c, 0x01, 0x0b}).bytes)
                .message.find("unknown label"),
            std::string::npos);
  EXPECT_NE(validation_error(one_function(kNoResults, {0x00, 0x10, 0x07, 0x0b}).bytes)
                .message.find("unknown function 7"),
            std::string::npos);
  EXPECT_NE(validation_error(one_function(kReturnsI32, {0x00, 0x23, 0x00, 0x0b}).bytes)
                .message.find("unknown global 0"),
            std::string::npos);
  EXPECT_NE(
      validation_error(one_function(kReturnsI32, {0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x0b}).bytes)
          .message.find("unknown memory 0"),
      std::string::npos);
}

TEST(Validator, RejectsAlignmentLargerThanNatural) {
  // Memory section (1 memory, min 1), then i32.load with alignment 2^3.
  auto m = one_function(kReturnsI32, {0x00, 0x41, 0x00, 0x28, 0x03, 0x00, 0x0b},
                        {0x05, 0x03, 0x01, 0x00, 0x01});
  EXPECT_NE(validation_error(m.bytes).message.find("alignment must not be larger than natural"),
            std::string::npos);
}

TEST(Validator, RejectsSetOfImmutableGlobal) {
  // Global section: one immutable i32 = 0; then global.set 0.
  auto m = one_function(kNoResults, {0x00, 0x41, 0x01, 0x24, 0x00, 0x0b},
                        {0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b});
  EXPECT_NE(validation_error(m.bytes).message.find("global is immutable"), std::string::npos);
}

TEST(Validator, RejectsIfWithoutElseThatChangesTheStack) {
  // (func (result i32) i32.const 1 if (result i32) i32.const 2 end)
  auto m = one_function(kReturnsI32, {0x00, 0x41, 0x01, 0x04, 0x7f, 0x41, 0x02, 0x0b, 0x0b});
  EXPECT_NE(validation_error(m.bytes).message.find("type mismatch"), std::string::npos);
}

TEST(Validator, RejectsUndeclaredFunctionReference) {
  // ref.func 0 with function 0 not referenced by any element, export or global.
  auto m = one_function({0x60, 0x00, 0x01, 0x70}, {0x00, 0xd2, 0x00, 0x0b});
  EXPECT_NE(validation_error(m.bytes).message.find("undeclared function reference"),
            std::string::npos);
}

TEST(Validator, MemoryInitNeedsADataSegment) {
  // memory.init 0 in a module with a memory and no data at all.
  auto m = one_function(kNoResults,
                        {0x00, 0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00, 0x0b},
                        {0x05, 0x03, 0x01, 0x00, 0x01});
  Error e = validation_error(m.bytes);
  EXPECT_EQ(e.kind, ErrorKind::kInvalid);
  EXPECT_NE(e.message.find("unknown data segment 0"), std::string::npos) << e.message;

  // With a data segment but no data count section, the binary format itself is broken.
  std::vector<uint8_t> with_data = m.bytes;
  for (uint8_t b : {0x0b, 0x04, 0x01, 0x01, 0x01, 0x2a}) with_data.push_back(b);  // passive "*"
  e = validation_error(with_data);
  EXPECT_EQ(e.kind, ErrorKind::kMalformed);
  EXPECT_NE(e.message.find("data count section required"), std::string::npos) << e.message;
}

TEST(Validator, AlignmentBeyond32BitsIsMalformed) {
  // i32.load with alignment exponent 32.
  auto m = one_function(kReturnsI32, {0x00, 0x41, 0x00, 0x28, 0x20, 0x00, 0x0b},
                        {0x05, 0x03, 0x01, 0x00, 0x01});
  Error e = validation_error(m.bytes);
  EXPECT_EQ(e.kind, ErrorKind::kMalformed);
  EXPECT_NE(e.message.find("malformed memop flags"), std::string::npos) << e.message;
}

TEST(Validator, RejectsCodeAfterTheFinalEnd) {
  auto m = one_function(kNoResults, {0x00, 0x0b, 0x01});
  Error e = validation_error(m.bytes);
  EXPECT_EQ(e.kind, ErrorKind::kMalformed);
}

TEST(Validator, RejectsBodyWithoutEnd) {
  auto m = one_function(kNoResults, {0x00, 0x01});
  EXPECT_NE(validation_error(m.bytes).message.find("unexpected end"), std::string::npos);
}

TEST(Validator, UnreachableCodeIsTypedPolymorphically) {
  Engine engine;
  // (func (result i32) unreachable i32.add): valid, the operands come from the bottom type.
  EXPECT_TRUE(
      Module::validate(engine, one_function(kReturnsI32, {0x00, 0x00, 0x6a, 0x0b}).bytes).ok());
  // ... but (func (result i32) unreachable i64.const 0 i32.add) is not.
  EXPECT_FALSE(Module::validate(
                   engine, one_function(kReturnsI32, {0x00, 0x00, 0x42, 0x00, 0x6a, 0x0b}).bytes)
                   .ok());
}

// Wasm 3.0 extended-const (spec 3.3.10): i32/i64 add, sub and mul in constant expressions,
// as toolchains emit them (componentize-js's QuickJS engine has `i32.add` in a global).
// A module with one exported global "g" of value type `type` initialised by `expr` (no `end`).
std::vector<uint8_t> global_module(uint8_t type, std::vector<uint8_t> expr) {
  std::vector<uint8_t> global = {0x01, type, 0x00};
  global.insert(global.end(), expr.begin(), expr.end());
  global.push_back(0x0b);
  std::vector<uint8_t> b = test::module_bytes({});
  b.push_back(0x06);
  b.push_back(static_cast<uint8_t>(global.size()));
  b.insert(b.end(), global.begin(), global.end());
  b.insert(b.end(), {0x07, 0x05, 0x01, 0x01, 'g', 0x03, 0x00});
  return b;
}

uint64_t global_value(const std::vector<uint8_t>& bytes) {
  Engine engine;
  auto module = Module::compile(engine, bytes);
  EXPECT_TRUE(module.ok()) << (module.ok() ? "" : module.error().message);
  if (!module.ok()) return 0;
  Store store(engine);
  auto instance = store.instantiate(*module, {});
  EXPECT_TRUE(instance.ok());
  if (!instance.ok()) return 0;
  auto g = (*instance)->find_export("g");
  EXPECT_TRUE(g && g->kind == ExternKind::kGlobal);
  return g ? static_cast<GlobalInstance*>(g->object)->cells[0] : 0;
}

TEST(Validator, ExtendedConstantExpressionsAreEvaluated) {
  // (i32.add (i32.mul (i32.const 6) (i32.const 7)) (i32.const -2)) = 40
  EXPECT_EQ(global_value(global_module(0x7f, {0x41, 0x06, 0x41, 0x07, 0x6c, 0x41, 0x7e, 0x6a})),
            40u);
  // (i32.sub (i32.const 0) (i32.const 1)) wraps to 0xffffffff in 32 bits
  EXPECT_EQ(global_value(global_module(0x7f, {0x41, 0x00, 0x41, 0x01, 0x6b})), 0xffffffffu);
  // (i64.sub (i64.const 5) (i64.mul (i64.const 7) (i64.const 1))) = -2
  EXPECT_EQ(global_value(global_module(0x7e, {0x42, 0x05, 0x42, 0x07, 0x42, 0x01, 0x7e, 0x7d})),
            static_cast<uint64_t>(-2));
}

TEST(Validator, ExtendedConstantExpressionsAreTypeChecked) {
  // i32.add of an i32 and an i64
  EXPECT_NE(validation_error(global_module(0x7f, {0x41, 0x01, 0x42, 0x01, 0x6a}))
                .message.find("i32_add in a constant expression needs two i32 operands"),
            std::string::npos);
  // i64.mul with one operand
  EXPECT_NE(validation_error(global_module(0x7e, {0x42, 0x01, 0x7e}))
                .message.find("needs two i64 operands"),
            std::string::npos);
  // Two values left: type mismatch.
  EXPECT_NE(
      validation_error(global_module(0x7f, {0x41, 0x01, 0x41, 0x01})).message.find("type mismatch"),
      std::string::npos);
  // Other operators stay non-constant (i32.div_s, i32.and).
  for (uint8_t op : {uint8_t{0x6d}, uint8_t{0x71}}) {
    EXPECT_NE(validation_error(global_module(0x7f, {0x41, 0x01, 0x41, 0x01, op}))
                  .message.find("constant expression required"),
              std::string::npos);
  }
}

// A module of `count` functions of type () -> i32, each about 1 KB of code (a sum of constants
// returning its own index), exported as f0, f1...; the functions in `invalid` add an i32 to an
// i64 instead. Large enough for several validation threads (module.cpp validate_bodies).
std::string export_name(uint32_t i) {
  std::string name = std::to_string(i);
  name.insert(name.begin(), 'f');
  return name;
}
std::vector<uint8_t> many_functions(uint32_t count, const std::set<uint32_t>& invalid) {
  using wasm_writer::leb;
  using wasm_writer::section;
  std::vector<uint8_t> m = test::module_bytes({});
  section(m, 1, {0x01, 0x60, 0x00, 0x01, 0x7f});
  std::vector<uint8_t> functions;
  leb(functions, count);
  functions.insert(functions.end(), count, 0x00);
  section(m, 3, functions);
  std::vector<uint8_t> exports;
  leb(exports, count);
  for (uint32_t i = 0; i < count; ++i) {
    const std::string name = export_name(i);
    leb(exports, name.size());
    exports.insert(exports.end(), name.begin(), name.end());
    exports.push_back(0x00);
    leb(exports, i);
  }
  section(m, 7, exports);
  std::vector<uint8_t> code;
  leb(code, count);
  for (uint32_t i = 0; i < count; ++i) {
    std::vector<uint8_t> body = {0x00, 0x41};  // no locals; i32.const i
    wasm_writer::sleb(body, i);
    for (int k = 0; k < 250; ++k) body.insert(body.end(), {0x41, 0x00, 0x6a});  // + 0
    if (invalid.count(i)) body.insert(body.end(), {0x42, 0x01, 0x6a});          // + an i64
    body.push_back(0x0b);
    leb(code, body.size());
    code.insert(code.end(), body.begin(), body.end());
  }
  section(m, 10, code);
  return m;
}

// Validation split over threads, and validation with the interpreter's translation (the
// interpreter tier translates every function at once), reports the same first error as one
// thread, whichever thread meets it, and a module validated or translated that way runs.
TEST(Validator, ParallelValidationFindsTheFirstInvalidFunction) {
  EngineConfig interpreter_config;
  interpreter_config.tier = Tier::kInterpreter;
  Engine interpreted(interpreter_config);
  for (const std::set<uint32_t>& invalid : std::vector<std::set<uint32_t>>{
           {199}, {150, 190}, {3, 120}, {0}, {60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70}}) {
    const std::vector<uint8_t> bytes = many_functions(200, invalid);
    EngineConfig one_thread;
    one_thread.parallel_compilation = false;
    Engine sequential(one_thread), parallel;
    auto a = Module::validate(sequential, bytes);
    auto b = Module::validate(parallel, bytes);
    auto c = Module::compile(parallel, bytes);
    auto d = Module::compile(interpreted, bytes);
    ASSERT_FALSE(a.ok());
    ASSERT_FALSE(b.ok());
    ASSERT_FALSE(c.ok());
    ASSERT_FALSE(d.ok());
    EXPECT_NE(a.error().message.find(std::string("in function ") +
                                     std::to_string(*invalid.begin()).append(",")),
              std::string::npos)
        << a.error().message;
    EXPECT_EQ(a.error().message, b.error().message);
    EXPECT_EQ(a.error().message, c.error().message);
    EXPECT_EQ(a.error().message, d.error().message);
  }
  Engine engine;
  for (Engine* e : {&engine, &interpreted}) {
    auto module = Module::compile(*e, many_functions(200, {}));
    ASSERT_TRUE(module.ok()) << module.error().message;
    // Every function translated, on whichever thread (the interpreter tier).
    if (e == &interpreted) {
      for (const auto& compiled : (*module)->compiled) EXPECT_FALSE(compiled->code.empty());
    }
    Store store(*e);
    auto instance = store.instantiate(*module, {});
    ASSERT_TRUE(instance.ok()) << instance.error().message;
    for (uint32_t i : {0u, 57u, 123u, 199u}) {
      uint64_t cells[1] = {0};
      ASSERT_EQ(store.invoke((*instance)->find_export(export_name(i))->function(), cells), nullptr);
      EXPECT_EQ(cells[0], i);
    }
  }
}

// Module::BodyCompilation: the bodies shared by threads that each take the next function (the
// component validator's core modules), with the first invalid function's error whichever
// thread met it, and every function translated when the module is valid.
TEST(Validator, BodiesSharedByThreadsReportTheFirstInvalidFunction) {
  EngineConfig interpreter_config;
  interpreter_config.tier = Tier::kInterpreter;
  Engine engine(interpreter_config);
  for (const std::set<uint32_t>& invalid : std::vector<std::set<uint32_t>>{
           {}, {199}, {150, 190}, {3, 120}, {0}, {60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70}}) {
    const std::vector<uint8_t> bytes = many_functions(200, invalid);
    auto decoded = std::make_shared<Module>();
    decoded->storage = std::make_shared<const std::vector<uint8_t>>(bytes);
    decoded->bytes = *decoded->storage;
    ASSERT_TRUE(decode_module(*decoded));
    auto module = Module::compile_structure(engine, decoded);
    ASSERT_TRUE(module) << module.error().message;
    for (int round = 0; round < 5; ++round) {
      if (round != 0) {
        // Compiled once: a fresh structure from the same bytes.
        module = Module::compile_structure(engine, *module);
        ASSERT_TRUE(module) << module.error().message;
      }
      Module::BodyCompilation compilation(engine, *module);
      std::thread other([&] { compilation.work(); });
      compilation.work();
      other.join();
      auto r = compilation.finish();
      ASSERT_EQ(r.ok(), invalid.empty());
      if (!invalid.empty()) {
        EXPECT_NE(r.error().message.find("in function " + std::to_string(*invalid.begin()) + ","),
                  std::string::npos)
            << r.error().message;
        continue;
      }
      for (const auto& compiled : (*module)->compiled) ASSERT_FALSE(compiled->code.empty());
      Store store(engine);
      auto instance = store.instantiate(*module, {});
      ASSERT_TRUE(instance.ok()) << instance.error().message;
      for (uint32_t i : {0u, 99u, 199u}) {
        uint64_t cells[1] = {0};
        ASSERT_EQ(store.invoke((*instance)->find_export(export_name(i))->function(), cells),
                  nullptr);
        EXPECT_EQ(cells[0], i);
      }
    }
  }
}

}  // namespace
}  // namespace kiln
