// Component micro-benchmarks (Google Benchmark): the canonical ABI's cost around core calls that
// do next to nothing (bench/components/strings.wat), against the bare core call; lifting and
// lowering of strings and list<u8> in bytes per second, utf8 -> utf16 transcoding; and
// instantiating a component whose core modules are compiled already.
// Run: build/bench/kiln_component_bench
#include <benchmark/benchmark.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "component/component_decoder.h"
#include "component/component_instance.h"
#include "component/component_validator.h"

namespace {

using namespace kiln;
using namespace kiln::component;

struct Bench {
  Engine engine;
  LoadedComponent loaded;
  Store store{engine};
  std::unique_ptr<ComponentInstance> instance;

  Bench() {
    std::ifstream in(std::string(KILN_BENCH_COMPONENTS_DIR) + "/strings.wasm", std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    auto l = load_component(engine, bytes);
    if (!l) return;
    loaded = std::move(*l);
    auto i = instantiate_component(store, *loaded.validated, {});
    if (i) instance = std::move(*i);
  }
  ComponentFunction* function(const std::string& name) {
    const RuntimeItem* item = instance ? instance->exports->find(name) : nullptr;
    return item ? item->function.get() : nullptr;
  }
};

Bench& bench() {
  static Bench b;
  return b;
}

std::string ascii(size_t length) {
  std::string s(length, 'a');
  for (size_t i = 0; i < length; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// Calls the export `name` with one argument, bytes per second over `bytes` per call.
void call_with(benchmark::State& state, const char* name, ComponentValue argument, size_t bytes) {
  ComponentFunction* f = bench().function(name);
  if (!f) return state.SkipWithError("bench/components/strings.wasm did not load");
  const std::vector<ComponentValue> args{std::move(argument)};
  std::optional<ComponentValue> result;
  for (auto _ : state) {
    TrapPtr trap = call_component_function(bench().store, *f, args, result);
    if (trap) return state.SkipWithError(trap->message.c_str());
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

// A call of the export with one string, bytes per second over the string's length.
void call_with_string(benchmark::State& state, const char* name, const std::string& text) {
  call_with(state, name, ComponentValue::string(text), text.size());
}

// echo(s) = s: the string lowered into the guest, then lifted back out.
void BM_ComponentStringEcho(benchmark::State& state) {
  call_with_string(state, "echo", ascii(static_cast<size_t>(state.range(0))));
}

// length(s): the string lowered into the guest only.
void BM_ComponentStringLower(benchmark::State& state) {
  call_with_string(state, "length", ascii(static_cast<size_t>(state.range(0))));
}

// length-utf16(s): the string transcoded from utf8 into the guest's utf16.
void BM_ComponentStringUtf8ToUtf16(benchmark::State& state) {
  call_with_string(state, "length-utf16", ascii(static_cast<size_t>(state.range(0))));
}

// echo-utf16(s) = s in a utf16 guest: utf8 -> utf16 in, utf16 -> utf8 out.
void BM_ComponentStringUtf16RoundTrip(benchmark::State& state) {
  call_with_string(state, "echo-utf16", ascii(static_cast<size_t>(state.range(0))));
}

// bytes(l): a list<u8> of items lowered into the guest (the general representation).
void BM_ComponentListU8Lower(benchmark::State& state) {
  ComponentValue list;
  list.kind = ComponentValue::Kind::kList;
  list.items.assign(static_cast<size_t>(state.range(0)),
                    ComponentValue::integer(ComponentValue::Kind::kU8, 7));
  call_with(state, "bytes", std::move(list), static_cast<size_t>(state.range(0)));
}

// bytes(l): a list<u8> held packed (ComponentValue::bytes), lowered into the guest.
void BM_ComponentBytesLower(benchmark::State& state) {
  const size_t length = static_cast<size_t>(state.range(0));
  call_with(state, "bytes", ComponentValue::bytes(std::string(length, '\x07')), length);
}

// echo-bytes(l) = l: a packed list<u8> lowered into the guest and lifted back out.
void BM_ComponentBytesEcho(benchmark::State& state) {
  const size_t length = static_cast<size_t>(state.range(0));
  call_with(state, "echo-bytes", ComponentValue::bytes(std::string(length, '\x07')), length);
}

// The core function echo wraps, called directly (the baseline for the component call's
// overhead): the same (pointer, length) every time.
void BM_CoreEcho(benchmark::State& state) {
  ComponentFunction* f = bench().function("echo");
  if (!f) return state.SkipWithError("bench/components/strings.wasm did not load");
  uint64_t cells[2];
  for (auto _ : state) {
    cells[0] = 1024;
    cells[1] = 8;
    TrapPtr trap = bench().store.invoke(f->callee, cells);
    if (trap) return state.SkipWithError(trap->message.c_str());
  }
}

// Instantiating the validated component: its core module is compiled already.
void BM_InstantiateComponent(benchmark::State& state) {
  if (!bench().loaded.validated)
    return state.SkipWithError("bench/components/strings.wasm did not load");
  // A store holds at most 100 memories by default: a fresh one every 50 instances (untimed).
  auto store = std::make_unique<Store>(bench().engine);
  int64_t in_store = 0;
  for (auto _ : state) {
    if (++in_store == 50) {
      state.PauseTiming();
      store = std::make_unique<Store>(bench().engine);
      in_store = 0;
      state.ResumeTiming();
    }
    auto instance = instantiate_component(*store, *bench().loaded.validated, {});
    if (!instance) return state.SkipWithError(instance.error().message.c_str());
    benchmark::DoNotOptimize(instance);
  }
}

}  // namespace

BENCHMARK(BM_CoreEcho);
BENCHMARK(BM_ComponentStringEcho)->Arg(8)->Arg(64)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_ComponentStringLower)->Arg(8)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_ComponentStringUtf8ToUtf16)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_ComponentStringUtf16RoundTrip)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_ComponentListU8Lower)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_ComponentBytesLower)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_ComponentBytesEcho)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_InstantiateComponent)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
