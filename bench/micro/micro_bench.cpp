// Micro-benchmarks (Google Benchmark): decode+validate throughput, translation cost per byte of
// code, instantiation, host-to-wasm and wasm-to-host calls, memory.grow.
// Run: build/bench/micro/kiln_micro_bench   (after scripts/build release and bench/run-workloads,
// which builds the workload modules; without them those benchmarks are skipped).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "runtime/function_validator.h"
#include "runtime/function_validator_run.h"
#include "runtime/module.h"
#include "runtime/module_decoder.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/fuzz/wasm_writer.h"

namespace {

using namespace kiln;

using wasm_writer::header;
using wasm_writer::leb;
using wasm_writer::section;

// `functions` functions of type (i32 i32) -> i32 with straight-line arithmetic bodies of about
// `body_bytes` bytes each: more than 5 MB of code with the defaults.
std::vector<uint8_t> generated_module(uint32_t functions = 2500, uint32_t body_bytes = 2100) {
  std::vector<uint8_t> m = header();
  section(m, 1, {0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f});
  std::vector<uint8_t> funcs;
  leb(funcs, functions);
  for (uint32_t i = 0; i < functions; ++i) funcs.push_back(0);
  section(m, 3, funcs);
  std::vector<uint8_t> code;
  leb(code, functions);
  std::vector<uint8_t> body = {0x01, 0x02, 0x7f};              // two i32 locals
  body.insert(body.end(), {0x20, 0x00});                       // local.get 0
  const uint8_t ops[] = {0x6a, 0x6c, 0x73, 0x6b, 0x71, 0x74};  // add mul xor sub and shl
  for (uint32_t k = 0; body.size() < body_bytes; ++k) {
    // [x] -> local.get 1, op, local.tee 2, local.get 2, i32.const k, i32.add, i32.xor -> [x']
    body.insert(body.end(), {0x20, 0x01, ops[k % 6], 0x22, 0x02, 0x20, 0x02, 0x41,
                             static_cast<uint8_t>(k % 64), 0x6a, 0x73});
  }
  body.push_back(0x0b);
  for (uint32_t i = 0; i < functions; ++i) {
    leb(code, body.size());
    code.insert(code.end(), body.begin(), body.end());
  }
  section(m, 10, code);
  return m;
}

std::vector<uint8_t> largest_workload() {
  std::filesystem::path dir = std::filesystem::path(KILN_SOURCE_DIR) / "build" / "bench";
  std::filesystem::path best;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".wasm" &&
        (best.empty() || e.file_size() > std::filesystem::file_size(best))) {
      best = e.path();
    }
  }
  if (best.empty()) return {};
  std::ifstream in(best, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

size_t code_bytes(const Module& m) {
  size_t n = 0;
  for (const FunctionBody& b : m.bodies) n += b.code.size();
  return n;
}

// The code bytes of a module's function bodies (decoded only).
size_t code_bytes(const std::vector<uint8_t>& bytes) {
  Module m;
  m.bytes = bytes;
  return decode_module(m).ok() ? code_bytes(m) : 0;
}

// Time per byte of function code, the one figure every compile benchmark reports.
void count_per_code_byte(benchmark::State& state, size_t code) {
  state.counters["code_bytes"] = static_cast<double>(code);
  state.counters["ns_per_code_byte"] =
      benchmark::Counter(static_cast<double>(state.iterations() * code),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// On one core, unless `parallel` (EngineConfig::parallel_compilation: a large module's bodies
// validated on several threads).
void decode_validate(benchmark::State& state, const std::vector<uint8_t>& bytes,
                     bool parallel = false) {
  if (bytes.empty()) {
    state.SkipWithError("no workload modules: run bench/run-workloads first");
    return;
  }
  EngineConfig config;
  config.parallel_compilation = parallel;
  Engine engine(config);
  for (auto _ : state) {
    auto r = Module::validate(engine, bytes);
    if (!r.ok()) state.SkipWithError(r.error().message.c_str());
  }
  count_per_code_byte(state, code_bytes(bytes));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

// What a consumer of the one function-body decoder cannot do without: the decoder's pass over
// every body of a validated module, handing each instruction to a consumer that only reads it.
// A code generator's pass costs this and its own work; with the validation pass before it, the
// two are the floor of compiling a module.
struct ReadingConsumer {
  uint64_t opcodes = 0;
  void begin_function(const FunctionValidator&) {}
  void on_instruction(const Instruction& ins, const FunctionValidator&) {
    opcodes += ins.opcode + ins.cells_before;
  }
  void end_function(const FunctionValidator&) {}
};

void decode_for_consumer(benchmark::State& state, const std::vector<uint8_t>& bytes) {
  if (bytes.empty()) {
    state.SkipWithError("no workload modules: run bench/run-workloads first");
    return;
  }
  EngineConfig config;
  config.tier = Tier::kJit;  // validated and nothing more, when there is a JIT to compile later
  config.parallel_compilation = false;
  Engine engine(config);
  auto module = Module::compile(engine, bytes);
  if (!module.ok()) {
    state.SkipWithError(module.error().message.c_str());
    return;
  }
  const Module& m = **module;
  const uint32_t defined = static_cast<uint32_t>(m.bodies.size());
  if (defined == 0) {
    state.SkipWithError("the module has no function bodies");
    return;
  }
  FunctionValidator decoder(m, m.imported_functions);
  ReadingConsumer consumer;
  for (auto _ : state) {
    for (uint32_t i = 0; i < defined; ++i) {
      decoder.reset(m.imported_functions + i);
      if (!decoder.run(consumer)) state.SkipWithError("a validated body failed to decode");
    }
  }
  benchmark::DoNotOptimize(consumer.opcodes);
  count_per_code_byte(state, code_bytes(m));
}

// Validation and translation together (what Module::compile does), per byte of function code;
// with `jit`, every function is also compiled to machine code (eager compilation).
void compile(benchmark::State& state, const std::vector<uint8_t>& bytes, bool jit = false) {
  if (bytes.empty()) {
    state.SkipWithError("no workload modules: run bench/run-workloads first");
    return;
  }
  EngineConfig config;
  config.tier = jit ? Tier::kJit : Tier::kInterpreter;
  config.eager_compilation = jit;
  config.parallel_compilation = false;  // one core's speed
  if (jit && !code_tier()) {
    state.SkipWithError("no JIT in this build");
    return;
  }
  Engine engine(config);
  const CodeTierStats before = code_tier() ? code_tier()->stats() : CodeTierStats{};
  size_t code = 0;
  for (auto _ : state) {
    auto m = Module::compile(engine, bytes);
    if (!m.ok()) state.SkipWithError(m.error().message.c_str());
    code = code_bytes(**m);
  }
  if (jit) {  // per module compiled: functions compiled and left to the interpreter
    const CodeTierStats after = code_tier()->stats();
    const double modules = static_cast<double>(state.iterations());
    state.counters["jit_functions"] =
        static_cast<double>(after.compiled - before.compiled) / modules;
    state.counters["interpreted"] =
        static_cast<double>(after.not_compiled - before.not_compiled) / modules;
  }
  count_per_code_byte(state, code);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

// Each module made once, for every benchmark that measures it.
const std::vector<uint8_t>& largest_workload_bytes() {
  static const std::vector<uint8_t> bytes = largest_workload();
  return bytes;
}
const std::vector<uint8_t>& generated_module_bytes() {
  static const std::vector<uint8_t> bytes = generated_module();
  return bytes;
}

void BM_DecodeValidate_LargestWorkload(benchmark::State& state) {
  decode_validate(state, largest_workload_bytes());
}
void BM_DecodeValidate_Generated5MB(benchmark::State& state) {
  decode_validate(state, generated_module_bytes());
}
void BM_DecodeValidateParallel_Generated5MB(benchmark::State& state) {
  decode_validate(state, generated_module_bytes(), true);
}
void BM_DecodeForConsumer_LargestWorkload(benchmark::State& state) {
  decode_for_consumer(state, largest_workload_bytes());
}
void BM_DecodeForConsumer_Generated5MB(benchmark::State& state) {
  decode_for_consumer(state, generated_module_bytes());
}
void BM_Compile_LargestWorkload(benchmark::State& state) {
  compile(state, largest_workload_bytes());
}
void BM_Compile_Generated5MB(benchmark::State& state) {
  compile(state, generated_module_bytes());
}
void BM_CompileJit_LargestWorkload(benchmark::State& state) {
  compile(state, largest_workload_bytes(), true);
}
void BM_CompileJit_Generated5MB(benchmark::State& state) {
  compile(state, generated_module_bytes(), true);
}

// A module with one page of memory, an identity export, a loop calling an imported host
// function n times, and memory.grow.
std::vector<uint8_t> call_module() {
  std::vector<uint8_t> m = header();
  // types: 0 (i32)->i32, 1 ()->()
  section(m, 1, {0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00});
  section(m, 2,
          {0x01, 0x03, 'e', 'n', 'v', 0x04, 'h', 'o', 's', 't', 0x00, 0x00});  // import (i32)->i32
  section(m, 3, {0x03, 0x00, 0x00, 0x00});  // identity, call_host_n, grow: all (i32)->i32
  section(m, 5, {0x01, 0x00, 0x01});        // memory 1
  section(m, 7, {0x03, 0x08, 'i', 'd', 'e', 'n',  't',  'i',  't', 'y', 0x00, 0x01, 0x06, 'c',
                 'a',  'l',  'l', '_', 'n', 0x00, 0x02, 0x04, 'g', 'r', 'o',  'w',  0x00, 0x03});
  std::vector<uint8_t> code = {0x03};
  // identity: local.get 0
  std::vector<uint8_t> identity = {0x00, 0x20, 0x00, 0x0b};
  // call_n: loop { local.get 0 call 0 drop ; local.get 0 i32.const 1 i32.sub local.tee 0 br_if }
  // i32.const 0
  std::vector<uint8_t> call_n = {0x00, 0x03, 0x40, 0x20, 0x00, 0x10, 0x00, 0x1a, 0x20, 0x00, 0x41,
                                 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b, 0x41, 0x00, 0x0b};
  // grow: local.get 0 memory.grow 0
  std::vector<uint8_t> grow = {0x00, 0x20, 0x00, 0x40, 0x00, 0x0b};
  for (auto* body : {&identity, &call_n, &grow}) {
    leb(code, body->size());
    code.insert(code.end(), body->begin(), body->end());
  }
  section(m, 10, code);
  return m;
}

struct CallFixture {
  Engine engine;
  Store store{engine};
  Instance* instance = nullptr;
  CallFixture() {
    auto module = Module::compile(engine, call_module());
    FunctionInstance* host = store.create_host_function(
        FuncType{{ValType::kI32}, {ValType::kI32}}, [](HostCall&, uint64_t*) { return TrapPtr(); },
        "env.host");
    instance = *store.instantiate(*module, {Extern{ExternKind::kFunction, host}});
  }
  FunctionInstance* get(const char* name) { return instance->find_export(name)->function(); }
};

void BM_Instantiate(benchmark::State& state) {
  Engine engine;
  auto module = Module::compile(engine, call_module());
  for (auto _ : state) {
    Store store(engine);
    FunctionInstance* host = store.create_host_function(
        FuncType{{ValType::kI32}, {ValType::kI32}}, [](HostCall&, uint64_t*) { return TrapPtr(); });
    auto instance = store.instantiate(*module, {Extern{ExternKind::kFunction, host}});
    benchmark::DoNotOptimize(instance);
  }
  // The store reserves its stacks at its first call, so they are not part of this figure.
  state.SetLabel("a new store per iteration");
}

void BM_HostToWasmCall(benchmark::State& state) {
  CallFixture f;
  FunctionInstance* identity = f.get("identity");
  uint64_t cells[1] = {0};
  for (auto _ : state) {
    cells[0] = 42;
    TrapPtr trap = f.store.invoke(identity, cells);
    benchmark::DoNotOptimize(trap);
  }
}

void BM_WasmToHostCall(benchmark::State& state) {
  CallFixture f;
  FunctionInstance* call_n = f.get("call_n");
  constexpr uint64_t kCalls = 10000;
  for (auto _ : state) {
    uint64_t cells[1] = {kCalls};
    TrapPtr trap = f.store.invoke(call_n, cells);
    benchmark::DoNotOptimize(trap);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kCalls));
  state.SetLabel("per item: one wasm-to-host call and the loop around it");
}

void BM_MemoryGrow(benchmark::State& state) {
  auto fixture = std::make_unique<CallFixture>();
  uint32_t grown = 0;
  for (auto _ : state) {
    if (grown == 1000) {  // stay far from 4 GiB: start again with a fresh instance
      state.PauseTiming();
      fixture = std::make_unique<CallFixture>();
      grown = 0;
      state.ResumeTiming();
    }
    uint64_t cells[1] = {1};
    TrapPtr trap = fixture->store.invoke(fixture->get("grow"), cells);
    benchmark::DoNotOptimize(trap);
    ++grown;
  }
  state.SetLabel("memory.grow by one page from wasm");
}

BENCHMARK(BM_DecodeValidate_LargestWorkload)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeValidate_Generated5MB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeValidateParallel_Generated5MB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeForConsumer_LargestWorkload)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeForConsumer_Generated5MB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Compile_LargestWorkload)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Compile_Generated5MB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompileJit_LargestWorkload)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompileJit_Generated5MB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Instantiate)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HostToWasmCall);
BENCHMARK(BM_WasmToHostCall)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MemoryGrow);

}  // namespace

BENCHMARK_MAIN();
