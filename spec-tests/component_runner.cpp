#include "spec-tests/component_runner.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "component/canonical_abi.h"
#include "component/component_decoder.h"
#include "component/component_instance.h"
#include "component/component_validator.h"
#include "component/unicode.h"
#include "spec-tests/wast_reader.h"

namespace kiln::spectest {

namespace {

using component::ComponentValue;
using component::resolved::DefinedType;
using component::resolved::ValueType;
using VKind = ComponentValue::Kind;

// A `(component ...)` form in binary form (or refused by jco's text parser), taken apart.
struct ComponentForm {
  bool definition = false;
  std::string id;
  std::vector<uint8_t> bytes;
};

// `(component [definition] [$id] binary "..." ...)`; false when the form is not one in binary
// form (a text-refused or quoted one, or `(component instance ...)`).
bool binary_component(const SExpression& e, ComponentForm& out) {
  if (!e.is_form("component")) return false;
  out = ComponentForm{};
  size_t i = 1;
  for (; i < e.items.size() && e.items[i].kind == SExpression::Kind::kAtom; ++i) {
    const std::string& atom = e.items[i].text;
    if (atom == "binary") break;
    if (atom == "instance" || atom == "quote" || atom == "text-refused") return false;
    if (atom == "definition") {
      out.definition = true;
    } else if (!atom.empty() && atom[0] == '$') {
      out.id = atom;
    }
  }
  if (i == e.items.size() || !e.items[i].is_atom("binary")) return false;
  for (++i; i < e.items.size(); ++i) {
    if (e.items[i].kind != SExpression::Kind::kString) return false;
    out.bytes.insert(out.bytes.end(), e.items[i].text.begin(), e.items[i].text.end());
  }
  return true;
}

// Whether kiln refused a valid component for using what it does not support (yet): the
// component-model async ABI and threads, Wasm 3.0 core features. Such tests count as skipped,
// each named in the report.
bool unsupported(const Error& e) {
  return e.message.find("is not supported yet") != std::string::npos ||
         e.message.find("are not supported yet") != std::string::npos;
}

// ---- values written in the script ----

Error bad_value(const SExpression& e, const std::string& why) {
  return Error{ErrorKind::kMalformed, "line " + std::to_string(e.line) + ": " + why};
}

std::optional<uint64_t> parse_integer(std::string text, bool& negative) {
  std::string digits;
  for (char c : text) {
    if (c != '_') digits += c;
  }
  negative = !digits.empty() && digits[0] == '-';
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.erase(0, 1);
  if (digits.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const bool hex = digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
  const uint64_t v = std::strtoull(hex ? digits.c_str() + 2 : digits.c_str(), &end, hex ? 16 : 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

// The defined type behind a value type, or null for a primitive.
const DefinedType* defined(const ValueType& t) {
  return t.defined && t.defined->kind != DefinedType::Kind::kPrimitive ? t.defined.get() : nullptr;
}

Result<ComponentValue> parse_value(const SExpression& e, const ValueType& t);

// `(field "a" v)` and `(field "a" u32.const 7)`: the value is a form or the rest of the items.
Result<ComponentValue> parse_inline(const SExpression& e, size_t from, const ValueType& t) {
  if (from + 1 == e.items.size() && e.items[from].kind == SExpression::Kind::kList) {
    return parse_value(e.items[from], t);
  }
  SExpression form;
  form.line = e.line;
  form.items.assign(e.items.begin() + static_cast<std::ptrdiff_t>(from), e.items.end());
  return parse_value(form, t);
}

Result<ComponentValue> parse_value(const SExpression& e, const ValueType& t) {
  if (e.kind != SExpression::Kind::kList || e.items.empty() ||
      e.items[0].kind != SExpression::Kind::kAtom) {
    return bad_value(e, "expected a value");
  }
  const std::string& head = e.items[0].text;
  auto arg = [&](size_t i) -> const SExpression* {
    return i < e.items.size() ? &e.items[i] : nullptr;
  };
  static const std::map<std::string, VKind> integers = {
      {"u8.const", VKind::kU8},   {"s8.const", VKind::kS8},   {"u16.const", VKind::kU16},
      {"s16.const", VKind::kS16}, {"u32.const", VKind::kU32}, {"s32.const", VKind::kS32},
      {"u64.const", VKind::kU64}, {"s64.const", VKind::kS64}};
  if (auto it = integers.find(head); it != integers.end()) {
    bool negative = false;
    auto v = arg(1) ? parse_integer(arg(1)->text, negative) : std::nullopt;
    if (!v) return bad_value(e, "bad integer");
    return ComponentValue::integer(it->second, negative ? ~*v + 1 : *v);
  }
  if (head == "bool.const") {
    if (!arg(1)) return bad_value(e, "bad bool");
    return ComponentValue::integer(VKind::kBool, arg(1)->text == "true" ? 1 : 0);
  }
  if (head == "f32.const" || head == "f64.const") {
    if (!arg(1)) return bad_value(e, "bad float");
    std::string text = arg(1)->text;
    const double d =
        text.find("nan") != std::string::npos ? NAN : std::strtod(text.c_str(), nullptr);
    ComponentValue v;
    v.kind = head == "f32.const" ? VKind::kF32 : VKind::kF64;
    v.f32 = static_cast<float>(d);
    v.f64 = d;
    return v;
  }
  if (head == "char.const") {
    if (!arg(1) || arg(1)->text.empty()) return bad_value(e, "bad char");
    std::vector<char32_t> code_points;
    const std::string& s = arg(1)->text;
    if (component::decode_utf8(reinterpret_cast<const uint8_t*>(s.data()), s.size(), code_points) ||
        code_points.size() != 1) {
      return bad_value(e, "a char.const is one code point");
    }
    const uint32_t c = code_points[0];
    return ComponentValue::integer(VKind::kChar, c);
  }
  if (head == "str.const") {
    if (!arg(1)) return bad_value(e, "bad string");
    return ComponentValue::string(arg(1)->text);
  }
  const DefinedType* d = defined(t);
  if (!d) return bad_value(e, head + " where the type is a primitive");
  using K = DefinedType::Kind;
  ComponentValue v;
  if (head == "list.const" || head == "tuple.const") {
    v.kind = head == "list.const" ? VKind::kList : VKind::kTuple;
    for (size_t i = 1; i < e.items.size(); ++i) {
      ValueType element;
      if (d->kind == K::kTuple) {
        if (i - 1 >= d->types.size()) return bad_value(e, "too many tuple elements");
        element = d->types[i - 1];
      } else if (d->kind == K::kMap) {
        auto tuple = std::make_shared<DefinedType>();
        tuple->kind = K::kTuple;
        tuple->types = d->types;
        element = ValueType{component::PrimitiveType::kBool, tuple};
      } else if (!d->types.empty()) {
        element = d->types[0];
      }
      KILN_ASSIGN(ComponentValue item, parse_value(e.items[i], element));
      v.items.push_back(std::move(item));
    }
    return v;
  }
  if (head == "record.const") {
    if (d->kind != K::kRecord) return bad_value(e, "record.const for a type that is not a record");
    v.kind = VKind::kRecord;
    v.items.resize(d->fields.size());
    for (size_t i = 1; i < e.items.size(); ++i) {
      const SExpression& f = e.items[i];
      if (!f.is_form("field") || f.items.size() < 3) return bad_value(e, "bad field");
      size_t index = 0;
      while (index < d->fields.size() && d->fields[index].label != f.items[1].text) ++index;
      if (index == d->fields.size()) return bad_value(e, "no field " + f.items[1].text);
      KILN_SET(v.items[index], parse_inline(f, 2, d->fields[index].type));
    }
    return v;
  }
  if (head == "variant.const" || head == "enum.const") {
    if (!arg(1)) return bad_value(e, "missing case");
    const std::string& label = arg(1)->text;
    v.kind = head == "variant.const" ? VKind::kVariant : VKind::kEnum;
    if (d->kind == K::kEnum) {
      while (v.index < d->labels.size() && d->labels[v.index] != label) ++v.index;
      if (v.index == d->labels.size()) return bad_value(e, "no case " + label);
      return v;
    }
    while (v.index < d->cases.size() && d->cases[v.index].label != label) ++v.index;
    if (v.index == d->cases.size()) return bad_value(e, "no case " + label);
    if (e.items.size() > 2) {
      if (!d->cases[v.index].type) return bad_value(e, "a payload for a case without one");
      KILN_ASSIGN(ComponentValue payload, parse_inline(e, 2, *d->cases[v.index].type));
      v.items.push_back(std::move(payload));
    }
    return v;
  }
  if (head == "option.none" || head == "option.some") {
    v.kind = VKind::kOption;
    v.index = head == "option.some" ? 1 : 0;
    if (v.index == 1) {
      if (!arg(1) || d->types.empty()) return bad_value(e, "bad option");
      KILN_ASSIGN(ComponentValue payload, parse_value(*arg(1), d->types[0]));
      v.items.push_back(std::move(payload));
    }
    return v;
  }
  if (head == "result.ok" || head == "result.err") {
    v.kind = VKind::kResult;
    v.index = head == "result.err" ? 1 : 0;
    const auto& payload_type = v.index == 0 ? d->ok : d->error;
    if (arg(1)) {
      if (!payload_type) return bad_value(e, "a payload for a case without one");
      KILN_ASSIGN(ComponentValue payload, parse_value(*arg(1), *payload_type));
      v.items.push_back(std::move(payload));
    }
    return v;
  }
  if (head == "flags.const") {
    v.kind = VKind::kFlags;
    for (size_t i = 1; i < e.items.size(); ++i) {
      size_t bit = 0;
      while (bit < d->labels.size() && d->labels[bit] != e.items[i].text) ++bit;
      if (bit == d->labels.size()) return bad_value(e, "no flag " + e.items[i].text);
      v.bits |= uint64_t{1} << bit;
    }
    return v;
  }
  return bad_value(e, "unknown value form " + head);
}

std::string show(const ComponentValue& value) {
  ComponentValue v = value;
  v.unpack();
  switch (v.kind) {
    case VKind::kString:
      return "\"" + v.text + "\"";
    case VKind::kF32:
      return std::to_string(v.f32);
    case VKind::kF64:
      return std::to_string(v.f64);
    case VKind::kList:
    case VKind::kRecord:
    case VKind::kTuple: {
      std::string out = "[";
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += " ";
        out += show(v.items[i]);
      }
      return out + "]";
    }
    case VKind::kVariant:
    case VKind::kEnum:
    case VKind::kOption:
    case VKind::kResult:
      return "case " + std::to_string(v.index) +
             (v.items.empty() ? "" : "(" + show(v.items[0]) + ")");
    case VKind::kOwn:
    case VKind::kBorrow:
      return "handle rep " + std::to_string(v.rep);
    default:
      return std::to_string(static_cast<int64_t>(v.bits));
  }
}

// ---- the script ----

class Script {
 public:
  Script(const EngineConfig& config, FileReport& report)
      : engine_(config), store_(engine_), report_(report) {}

  void run(const std::vector<SExpression>& script) {
    for (const SExpression& e : script) command(e);
  }

 private:
  void pass() { ++report_.passed; }
  void fail(const SExpression& e, const std::string& what) {
    ++report_.failed;
    report_.failures.push_back("line " + std::to_string(e.line) + ": " + what);
  }
  void skip(const SExpression& e, const std::string& why) {
    ++report_.skipped;
    if (!why.empty()) report_.skip_reasons.push_back("line " + std::to_string(e.line) + ": " + why);
  }

  // Decodes and validates; the component is kept (instances point into it).
  Result<const component::ValidatedComponent*> check(const std::vector<uint8_t>& bytes) {
    KILN_ASSIGN(component::LoadedComponent loaded, component::load_component(engine_, bytes));
    loaded_.push_back(std::move(loaded));
    return loaded_.back().validated.get();
  }

  // Instantiates a component that the script gives no imports.
  Result<component::ComponentInstance*> instantiate(const component::ValidatedComponent& v) {
    if (!v.type->imports.empty()) {
      return Error{ErrorKind::kUnlinkable, "the component imports `" + v.type->imports[0].name +
                                               "`, which the script does not provide"};
    }
    TrapPtr trap;
    KILN_ASSIGN(auto instance, component::instantiate_component(store_, v, {}, &trap));
    instances_.push_back(std::move(instance));
    return instances_.back().get();
  }

  void command(const SExpression& e) {
    ComponentForm form;
    if (binary_component(e, form)) return define(e, form);
    if (e.is_form("component") && e.items.size() >= 4 && e.items[1].is_atom("instance")) {
      return instance_command(e);
    }
    if (e.is_form("assert_malformed")) return assert_malformed(e);
    if (e.is_form("assert_invalid")) return assert_invalid(e);
    if (e.is_form("assert_return") || e.is_form("assert_trap")) return assert_call(e);
    if (e.is_form("invoke")) return assert_call(e);
    skip(e, "");  // text-format tests (quoted or refused by the text parser)
  }

  void define(const SExpression& e, const ComponentForm& form) {
    auto checked = check(form.bytes);
    if (!checked) {
      current_ = nullptr;  // the commands that follow would run it: they are skipped
      if (unsupported(checked.error())) return skip(e, checked.error().message);
      return fail(e, "a valid component is refused: " + checked.error().message);
    }
    if (form.definition) {
      if (!form.id.empty()) definitions_[form.id] = *checked;
      return pass();
    }
    auto instance = instantiate(**checked);
    if (!instance) {
      current_ = nullptr;
      return fail(e, "a valid component does not instantiate: " + instance.error().message);
    }
    current_ = *instance;
    if (!form.id.empty()) named_[form.id] = current_;
    pass();
  }

  void instance_command(const SExpression& e) {
    // (component instance $i $C)
    auto definition = definitions_.find(e.items[3].text);
    if (definition == definitions_.end()) {
      current_ = nullptr;
      return skip(e, "instance of a definition that was not defined (refused or unsupported)");
    }
    auto instance = instantiate(*definition->second);
    if (!instance) {
      current_ = nullptr;
      return fail(e, "does not instantiate: " + instance.error().message);
    }
    current_ = *instance;
    named_[e.items[2].text] = current_;
    pass();
  }

  void assert_malformed(const SExpression& e) {
    ComponentForm form;
    if (e.items.size() < 2 || !binary_component(e.items[1], form)) return skip(e, "");
    const std::string expected = e.items.size() > 2 ? e.items[2].text : "";
    if (component::decode_component(form.bytes)) {
      return fail(e, "a malformed component (" + expected + ") decodes");
    }
    pass();
  }

  void assert_invalid(const SExpression& e) {
    ComponentForm form;
    if (e.items.size() < 2 || !binary_component(e.items[1], form)) return skip(e, "");
    const std::string expected = e.items.size() > 2 ? e.items[2].text : "";
    auto checked = check(form.bytes);
    if (checked) return fail(e, "an invalid component (" + expected + ") validates");
    if (unsupported(checked.error())) return skip(e, checked.error().message);
    if (checked.error().message.find(expected) == std::string::npos) {
      report_.other_reasons.push_back("line " + std::to_string(e.line) + ": expected invalid (" +
                                      expected + "), rejected as: " + checked.error().message);
    }
    pass();
  }

  // (assert_return (invoke ["$i"] "f" args...) results...), (assert_trap (invoke ...) "msg"),
  // (invoke ...).
  void assert_call(const SExpression& e) {
    const bool is_invoke = e.is_form("invoke");
    const SExpression& call = is_invoke ? e : (e.items.size() > 1 ? e.items[1] : e);
    if (!call.is_form("invoke")) return skip(e, "");
    size_t i = 1;
    component::ComponentInstance* target = current_;
    if (i < call.items.size() && call.items[i].kind == SExpression::Kind::kAtom) {
      auto named = named_.find(call.items[i].text);
      target = named == named_.end() ? nullptr : named->second;
      ++i;
    }
    if (!target) return skip(e, "no instance to invoke (its component was refused or unsupported)");
    if (i >= call.items.size()) return fail(e, "invoke without a name");
    const std::string name = call.items[i++].text;
    const component::RuntimeItem* item = target->exports->find(name);
    if (!item || !item->function) return fail(e, "no exported function `" + name + "`");
    component::ComponentFunction& f = *item->function;
    std::vector<ComponentValue> args;
    for (size_t k = 0; i < call.items.size(); ++i, ++k) {
      if (k >= f.type->params.size()) return fail(e, "too many arguments");
      auto v = parse_value(call.items[i], f.type->params[k].type);
      if (!v) return fail(e, v.error().message);
      args.push_back(std::move(*v));
    }
    std::optional<ComponentValue> result;
    TrapPtr trap = component::call_component_function(store_, f, args, result);
    if (e.is_form("assert_trap")) {
      const std::string expected = e.items.size() > 2 ? e.items[2].text : "";
      if (!trap) return fail(e, "expected a trap (" + expected + "), the call returned");
      if (trap->message.find(expected) == std::string::npos &&
          trap->to_string().find(expected) == std::string::npos) {
        report_.other_reasons.push_back("line " + std::to_string(e.line) + ": expected trap (" +
                                        expected + "), trapped as: " + trap->to_string());
      }
      return pass();
    }
    if (trap) return fail(e, "trapped: " + trap->to_string());
    if (is_invoke) return pass();
    std::vector<ComponentValue> expected;
    for (size_t k = 2; k < e.items.size(); ++k) {
      if (!f.type->result) return fail(e, "a result expected of a function without one");
      auto v = parse_value(e.items[k], *f.type->result);
      if (!v) return fail(e, v.error().message);
      expected.push_back(std::move(*v));
    }
    if (expected.size() != (result ? 1u : 0u)) {
      return fail(e, "expected " + std::to_string(expected.size()) + " results, got " +
                         std::to_string(result ? 1 : 0));
    }
    if (result && !component::same_value(*result, expected[0])) {
      return fail(e, "expected " + show(expected[0]) + ", got " + show(*result));
    }
    pass();
  }

  Engine engine_;
  Store store_;
  FileReport& report_;
  std::vector<component::LoadedComponent> loaded_;
  std::map<std::string, const component::ValidatedComponent*> definitions_;
  std::vector<std::unique_ptr<component::ComponentInstance>> instances_;
  std::map<std::string, component::ComponentInstance*> named_;
  component::ComponentInstance* current_ = nullptr;
};

}  // namespace

FileReport run_component_wast_file(const std::string& wast_path, const EngineConfig& config) {
  FileReport report;
  report.path = wast_path;
  std::ifstream in(wast_path, std::ios::binary);
  if (!in) {
    report.failed = 1;
    report.failures.push_back("cannot read the file");
    return report;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto script = read_wast(text.str());
  if (!script) {
    report.failed = 1;
    report.failures.push_back(script.error().message);
    return report;
  }
  Script runner(config, report);
  runner.run(*script);
  return report;
}

}  // namespace kiln::spectest
