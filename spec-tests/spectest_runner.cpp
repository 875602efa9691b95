#include "spec-tests/spectest_runner.h"

#include <fmt/core.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "runtime/module.h"
#include "runtime/store.h"

namespace kiln::spectest {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The testsuite's host references `(ref.extern N)` become the cell N + 1 (0 is null).
uint64_t externref_cell(uint64_t n) {
  return n + 1;
}

// An expected or argument value: its cells, and how each lane is compared. Scalars are one
// lane; a v128 has 16 / lane_bytes lanes (the JSON's lane_type).
enum class Pattern { kExact, kCanonicalNan, kArithmeticNan, kAnyRef };
struct Value {
  ValType type = ValType::kI32;
  uint64_t cells[2] = {0, 0};
  unsigned lane_bytes = 4;
  bool float_lanes = false;
  std::vector<Pattern> patterns{Pattern::kExact};
};

std::optional<ValType> type_from_name(const std::string& name) {
  if (name == "i32") return ValType::kI32;
  if (name == "i64") return ValType::kI64;
  if (name == "f32") return ValType::kF32;
  if (name == "f64") return ValType::kF64;
  if (name == "v128") return ValType::kV128;
  if (name == "funcref") return ValType::kFuncRef;
  if (name == "externref") return ValType::kExternRef;
  return std::nullopt;
}

// Reads one lane (or scalar) of `lane_bytes` bytes given as a decimal string (floats as their
// bit pattern) into `v` at byte `at`; NaN patterns set the lane's pattern instead.
bool parse_lane(const std::string& text, Value& v, size_t lane, size_t at) {
  if (text == "nan:canonical" || text == "nan:arithmetic") {
    v.patterns[lane] = text == "nan:canonical" ? Pattern::kCanonicalNan : Pattern::kArithmeticNan;
    return true;
  }
  if (text.empty()) return false;
  uint64_t bits = text[0] == '-' ? static_cast<uint64_t>(std::strtoll(text.c_str(), nullptr, 10))
                                 : std::strtoull(text.c_str(), nullptr, 10);
  std::memcpy(reinterpret_cast<uint8_t*>(v.cells) + at, &bits, v.lane_bytes);  // little-endian
  return true;
}

// wast2json's output, read with nlohmann/json (without exceptions: a malformed file is a
// discarded value). These read members leniently, as the commands' optional fields need.
using Json = nlohmann::json;

// The member `key`, or null when absent.
const Json* get(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}
// A string value, or "" when it is absent or not a string.
std::string text_of(const Json* value) {
  return value && value->is_string() ? value->get<std::string>() : std::string();
}
std::string str(const Json& object, const char* key) {
  return text_of(get(object, key));
}
// The elements of an array value (none when it is absent or not an array).
const Json& items(const Json* value) {
  static const Json kNone = Json::array();
  return value && value->is_array() ? *value : kNone;
}

std::optional<Value> parse_value(const Json& json) {
  auto type = type_from_name(str(json, "type"));
  if (!type) return std::nullopt;
  Value v;
  v.type = *type;
  const Json* value = get(json, "value");
  if (is_reference(*type)) {
    v.lane_bytes = 8;
    if (!value) {
      v.patterns[0] = Pattern::kAnyRef;
    } else if (text_of(value) != "null") {
      uint64_t n = std::strtoull(text_of(value).c_str(), nullptr, 10);
      // A funcref given by number cannot name a host function here; only null is used.
      v.cells[0] = *type == ValType::kExternRef ? externref_cell(n) : n;
    }
    return v;
  }
  if (!value) return std::nullopt;
  if (*type == ValType::kV128) {
    const std::string shape = str(json, "lane_type");
    if (shape.size() < 2) return std::nullopt;
    v.lane_bytes = static_cast<unsigned>(std::atoi(shape.c_str() + 1) / 8);
    v.float_lanes = shape[0] == 'f';
    const size_t lanes = v.lane_bytes ? 16 / v.lane_bytes : 0;
    if (lanes == 0 || items(value).size() != lanes) return std::nullopt;
    v.patterns.assign(lanes, Pattern::kExact);
    for (size_t i = 0; i < lanes; ++i) {
      if (!parse_lane(text_of(&items(value)[i]), v, i, i * v.lane_bytes)) return std::nullopt;
    }
    return v;
  }
  v.lane_bytes = *type == ValType::kI32 || *type == ValType::kF32 ? 4 : 8;
  v.float_lanes = *type == ValType::kF32 || *type == ValType::kF64;
  if (!parse_lane(text_of(value), v, 0, 0)) return std::nullopt;
  return v;
}

// A value for failure messages: its bits, and floats also as numbers (%g's precision).
std::string format_value(ValType type, const uint64_t* cells) {
  switch (type) {
    case ValType::kI32:
      return fmt::format("i32:{}", static_cast<uint32_t>(cells[0]));
    case ValType::kI64:
      return fmt::format("i64:{}", cells[0]);
    case ValType::kF32: {
      const uint32_t bits = static_cast<uint32_t>(cells[0]);
      return fmt::format("f32:{:g} (0x{:08x})", std::bit_cast<float>(bits), bits);
    }
    case ValType::kF64:
      return fmt::format("f64:{:g} (0x{:016x})", std::bit_cast<double>(cells[0]), cells[0]);
    case ValType::kV128:
      return fmt::format("v128:0x{:016x}{:016x}", cells[1], cells[0]);
    default:
      return fmt::format("{}:0x{:x}", valtype_name(type), cells[0]);
  }
}

// The JSON value as written: "5", or "[1 2 3 4] (i32 lanes)" for v128.
std::string describe(const Json& json) {
  const Json* value = get(json, "value");
  if (!value) return str(json, "type");
  if (!value->is_array()) return text_of(value);
  std::string s = "[";
  for (const Json& lane : items(value)) s += (s.size() > 1 ? " " : "") + text_of(&lane);
  return s + "] (" + str(json, "lane_type") + " lanes)";
}

bool lane_matches(Pattern pattern, unsigned bytes, uint64_t actual, uint64_t expected) {
  const uint64_t sign = uint64_t{1} << (bytes * 8 - 1);
  const uint64_t quiet = bytes == 4 ? 0x7fc00000ull : 0x7ff8000000000000ull;
  switch (pattern) {
    case Pattern::kAnyRef:
      return actual != 0;
    case Pattern::kCanonicalNan:
      return (actual & ~sign) == quiet;
    case Pattern::kArithmeticNan:
      return (actual & quiet) == quiet;
    case Pattern::kExact:
      return actual == expected;
  }
  return false;
}

bool matches(const Value& expected, const uint64_t* cells) {
  const uint8_t* actual_bytes = reinterpret_cast<const uint8_t*>(cells);
  const uint8_t* expected_bytes = reinterpret_cast<const uint8_t*>(expected.cells);
  for (size_t lane = 0; lane < expected.patterns.size(); ++lane) {
    uint64_t actual = 0, wanted = 0;
    std::memcpy(&actual, actual_bytes + lane * expected.lane_bytes, expected.lane_bytes);
    std::memcpy(&wanted, expected_bytes + lane * expected.lane_bytes, expected.lane_bytes);
    if (!lane_matches(expected.patterns[lane], expected.lane_bytes, actual, wanted)) return false;
  }
  return true;
}

class Runner {
 public:
  Runner(const std::string& path, const EngineConfig& config)
      : dir_(directory_of(path)), engine_(config), store_(engine_) {
    report_.path = path;
    if (config.consume_fuel) {
      (void)store_.set_fuel(UINT64_MAX / 2);
      store_.set_epoch_deadline(UINT64_MAX / 2);
    }
    register_spectest();
  }

  FileReport run() {
    auto text = read_file(report_.path);
    if (!text) return fail_file("cannot read file");
    const Json json = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return fail_file("malformed JSON");
    const Json* commands = get(json, "commands");
    if (!commands) return fail_file("no commands");
    for (const Json& command : items(commands)) run_command(command);
    return std::move(report_);
  }

 private:
  using Exports = std::map<std::string, Extern, std::less<>>;

  FileReport fail_file(const std::string& why) {
    report_.failed++;
    report_.failures.push_back(why);
    return std::move(report_);
  }

  void pass() { report_.passed++; }
  void fail(int line, const std::string& why) {
    report_.failed++;
    report_.failures.push_back(fmt::format("line {}: {}", line, why));
  }

  void register_spectest() {
    Exports e;
    auto print = [this](const FuncType& type, const char* name) {
      return Extern{ExternKind::kFunction,
                    store_.create_host_function(
                        type, [](HostCall&, uint64_t*) { return TrapPtr(); }, name)};
    };
    using V = ValType;
    e["print"] = print(FuncType{}, "print");
    e["print_i32"] = print(FuncType{{V::kI32}, {}}, "print_i32");
    e["print_i64"] = print(FuncType{{V::kI64}, {}}, "print_i64");
    e["print_f32"] = print(FuncType{{V::kF32}, {}}, "print_f32");
    e["print_f64"] = print(FuncType{{V::kF64}, {}}, "print_f64");
    e["print_i32_f32"] = print(FuncType{{V::kI32, V::kF32}, {}}, "print_i32_f32");
    e["print_f64_f64"] = print(FuncType{{V::kF64, V::kF64}, {}}, "print_f64_f64");
    float f32 = 666.6f;
    double f64 = 666.6;
    uint32_t f32_bits;
    uint64_t f64_bits;
    std::memcpy(&f32_bits, &f32, 4);
    std::memcpy(&f64_bits, &f64, 8);
    e["global_i32"] = Extern{ExternKind::kGlobal, store_.create_global({V::kI32, false}, 666)};
    e["global_i64"] = Extern{ExternKind::kGlobal, store_.create_global({V::kI64, false}, 666)};
    e["global_f32"] = Extern{ExternKind::kGlobal, store_.create_global({V::kF32, false}, f32_bits)};
    e["global_f64"] = Extern{ExternKind::kGlobal, store_.create_global({V::kF64, false}, f64_bits)};
    e["table"] =
        Extern{ExternKind::kTable, store_.create_table(TableType{V::kFuncRef, {10, 20}}).value()};
    e["memory"] = Extern{ExternKind::kMemory, store_.create_memory(MemoryType{{1, 2}}).value()};
    registered_["spectest"] = std::move(e);
  }

  Result<std::shared_ptr<const Module>> compile(const std::string& filename) {
    auto bytes = read_file(dir_ + "/" + filename);
    if (!bytes) return Error{ErrorKind::kIo, "cannot read " + filename};
    return Module::compile(
        engine_, std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
  }

  Result<std::vector<Extern>> resolve_imports(const Module& module) {
    std::vector<Extern> externs;
    for (const Import& imp : module.imports) {
      auto mod = registered_.find(imp.module);
      if (mod == registered_.end()) {
        return Error{ErrorKind::kUnlinkable, "unknown import: module \"" + imp.module + "\""};
      }
      auto item = mod->second.find(imp.name);
      if (item == mod->second.end()) {
        return Error{ErrorKind::kUnlinkable,
                     "unknown import \"" + imp.module + "\" \"" + imp.name + "\""};
      }
      externs.push_back(item->second);
    }
    return externs;
  }

  // Compiles and instantiates; `trap` receives a trap raised during instantiation.
  Result<Instance*> load(const std::string& filename, TrapPtr* trap) {
    KILN_ASSIGN(auto module, compile(filename));
    KILN_ASSIGN(auto imports, resolve_imports(*module));
    return store_.instantiate(module, imports, trap);
  }

  Instance* instance_named(const Json& command) {
    std::string name = str(command, "module");
    if (name.empty()) return current_;
    auto it = named_.find(name);
    return it == named_.end() ? nullptr : it->second;
  }

  struct ActionResult {
    std::string error;  // the action could not be performed
    TrapPtr trap;
    std::vector<uint64_t> cells;
    std::vector<ValType> types;
  };

  ActionResult perform(const Json& action) {
    ActionResult r;
    Instance* inst = instance_named(action);
    if (!inst) {
      r.error = "no module instance";
      return r;
    }
    std::string field = str(action, "field");
    auto ext = inst->find_export(field);
    if (!ext) {
      r.error = "no export \"" + field + "\"";
      return r;
    }
    if (str(action, "type") == "get") {
      if (ext->kind != ExternKind::kGlobal) {
        r.error = "export is not a global";
        return r;
      }
      GlobalInstance* g = ext->global();
      r.types = {g->type.type};
      r.cells = {g->cells[0], g->cells[1]};
      return r;
    }
    if (ext->kind != ExternKind::kFunction) {
      r.error = "export is not a function";
      return r;
    }
    FunctionInstance* f = ext->function();
    const FuncType& type = *f->type;
    std::vector<uint64_t> cells;
    if (const Json* args = get(action, "args")) {
      for (const Json& arg : items(args)) {
        auto v = parse_value(arg);
        if (!v) {
          r.error = "unsupported argument " + str(arg, "type");
          return r;
        }
        for (uint32_t i = 0; i < cell_count(v->type); ++i) cells.push_back(v->cells[i]);
      }
    }
    if (cells.size() != type.param_cells()) {
      r.error = "argument count mismatch";
      return r;
    }
    cells.resize(std::max(type.param_cells(), type.result_cells()) + 1);
    r.trap = store_.invoke(f, cells.data());
    cells.resize(type.result_cells());
    r.cells = std::move(cells);
    r.types = type.results;
    return r;
  }

  void run_command(const Json& c) {
    const std::string type = str(c, "type");
    const Json* line_number = get(c, "line");
    const int line = line_number && line_number->is_number() ? line_number->get<int>() : 0;
    if (type == "module" && str(c, "definition") == "true") {
      // Wasm 3.0's `(module definition ...)`: compiled, not instantiated.
      auto module = compile(str(c, "filename"));
      if (!module) return fail(line, "module did not compile: " + module.error().message);
      return pass();
    }
    if (type == "module") {
      TrapPtr trap;
      auto inst = load(str(c, "filename"), &trap);
      if (!inst) return fail(line, "module did not load: " + inst.error().message);
      current_ = *inst;
      if (!str(c, "name").empty()) named_[str(c, "name")] = current_;
      return pass();
    }
    if (type == "register") {
      Instance* inst = current_;
      if (std::string name = str(c, "name"); !name.empty()) {
        auto it = named_.find(name);
        inst = it == named_.end() ? nullptr : it->second;
      }
      if (!inst) return fail(line, "register: no module instance");
      Exports e;
      for (const Export& ex : inst->module->exports) e[ex.name] = *inst->find_export(ex.name);
      registered_[str(c, "as")] = std::move(e);
      return;
    }
    if (type == "action") {
      ActionResult r = perform(*get(c, "action"));
      if (!r.error.empty()) return fail(line, r.error);
      if (r.trap) return fail(line, "unexpected trap: " + r.trap->message);
      return pass();
    }
    if (type == "assert_return") {
      ActionResult r = perform(*get(c, "action"));
      if (!r.error.empty()) return fail(line, r.error);
      if (r.trap) return fail(line, "unexpected trap: " + r.trap->message);
      const Json* expected = get(c, "expected");
      if (!expected || items(expected).size() != r.types.size())
        return fail(line, "result count mismatch");
      size_t cell = 0;
      for (size_t i = 0; i < r.types.size(); ++i) {
        auto v = parse_value(items(expected)[i]);
        if (!v) return fail(line, "unsupported expected value " + str(items(expected)[i], "type"));
        if (!matches(*v, &r.cells[cell])) {
          return fail(
              line,
              fmt::format("{}: result {} is {}, expected {}", str(*get(c, "action"), "field"), i,
                          format_value(r.types[i], &r.cells[cell]), describe(items(expected)[i])));
        }
        cell += cell_count(r.types[i]);
      }
      return pass();
    }
    if (type == "assert_trap" || type == "assert_exhaustion") {
      const std::string text = str(c, "text");
      if (const Json* action = get(c, "action")) {
        ActionResult r = perform(*action);
        if (!r.error.empty()) return fail(line, r.error);
        if (!r.trap) return fail(line, "expected trap \"" + text + "\", got none");
        if (r.trap->message.rfind(text, 0) != 0) {
          return fail(line, "expected trap \"" + text + "\", got \"" + r.trap->message + "\"");
        }
        return pass();
      }
      return expect_uninstantiable(c, line);
    }
    if (type == "assert_exception") {  // Wasm 3.0: an exception leaves the invocation
      ActionResult r = perform(*get(c, "action"));
      if (!r.error.empty()) return fail(line, r.error);
      if (!r.trap) return fail(line, "expected an uncaught exception, got none");
      if (r.trap->code != TrapCode::kUncaughtException) {
        return fail(line, "expected an uncaught exception, got trap \"" + r.trap->message + "\"");
      }
      return pass();
    }
    if (type == "assert_uninstantiable") return expect_uninstantiable(c, line);
    if (type == "assert_invalid" || type == "assert_malformed") {
      if (str(c, "module_type") == "text") {
        report_.skipped++;  // the text format comes with its own issue
        return;
      }
      auto module = compile(str(c, "filename"));
      if (module) return fail(line, "module was accepted; expected \"" + str(c, "text") + "\"");
      if (module.error().message.find(str(c, "text")) == std::string::npos) {
        report_.other_reasons.push_back(fmt::format("line {}: expected \"{}\", kiln says \"{}\"",
                                                    line, str(c, "text"), module.error().message));
      }
      return pass();
    }
    if (type == "assert_unlinkable") {
      auto module = compile(str(c, "filename"));
      if (!module) return fail(line, "module did not compile: " + module.error().message);
      auto imports = resolve_imports(**module);
      if (!imports) return pass();
      TrapPtr trap;
      auto inst = store_.instantiate(*module, *imports, &trap);
      if (inst) return fail(line, "module linked; expected \"" + str(c, "text") + "\"");
      if (trap)
        return fail(line, "instantiation trapped instead of failing to link: " + trap->message);
      return pass();
    }
    fail(line, "unknown command " + type);
  }

  void expect_uninstantiable(const Json& c, int line) {
    const std::string text = str(c, "text");
    TrapPtr trap;
    auto inst = load(str(c, "filename"), &trap);
    if (inst) return fail(line, "module instantiated; expected trap \"" + text + "\"");
    if (!trap) return fail(line, "module failed without a trap: " + inst.error().message);
    if (trap->message.rfind(text, 0) != 0) {
      return fail(line, "expected trap \"" + text + "\", got \"" + trap->message + "\"");
    }
    pass();
  }

  std::string dir_;
  Engine engine_;
  Store store_;
  FileReport report_;
  Instance* current_ = nullptr;
  std::map<std::string, Instance*, std::less<>> named_;
  std::map<std::string, Exports, std::less<>> registered_;
};

}  // namespace

FileReport run_spec_file(const std::string& json_path, const EngineConfig& config) {
  return Runner(json_path, config).run();
}

}  // namespace kiln::spectest
