#include "spec-tests/component_runner.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "component/component_decoder.h"
#include "component/component_validator.h"
#include "spec-tests/wast_reader.h"

namespace kiln::spectest {

namespace {

// The bytes of `(component [definition] [$id] binary "..." ...)`, or false when the form is
// not one in binary form.
bool binary_component(const SExpression& e, std::vector<uint8_t>& bytes) {
  if (!e.is_form("component")) return false;
  size_t i = 1;
  while (i < e.items.size() && e.items[i].kind == SExpression::Kind::kAtom &&
         !e.items[i].is_atom("binary")) {
    if (e.items[i].is_atom("instance")) return false;  // (component instance $i $C): a run
    ++i;
  }
  if (i == e.items.size() || !e.items[i].is_atom("binary")) return false;
  bytes.clear();
  for (++i; i < e.items.size(); ++i) {
    if (e.items[i].kind != SExpression::Kind::kString) return false;
    bytes.insert(bytes.end(), e.items[i].text.begin(), e.items[i].text.end());
  }
  return true;
}

// Whether `e` is `(component ... text-refused "why")`: jco's text parser refused it.
bool refused_text(const SExpression& e) {
  if (!e.is_form("component")) return false;
  for (const SExpression& item : e.items) {
    if (item.is_atom("text-refused")) return true;
  }
  return false;
}

// Whether kiln refused a valid component for using what it does not support (yet): the
// component-model async ABI and threads, Wasm 3.0 core features. Such tests count as skipped,
// each named in the report.
bool unsupported(const Error& e) {
  return e.message.find("is not supported yet") != std::string::npos ||
         e.message.find("are not supported yet") != std::string::npos;
}

// Decodes and validates.
Result<void> check_component(Engine& engine, const std::vector<uint8_t>& bytes) {
  KILN_ASSIGN(auto decoded, component::decode_component(bytes));
  KILN_TRY(component::validate_component(engine, *decoded));
  return {};
}

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
  Engine engine(config);
  std::vector<uint8_t> bytes;
  for (const SExpression& e : *script) {
    const std::string at = "line " + std::to_string(e.line) + ": ";
    if (binary_component(e, bytes)) {
      if (auto checked = check_component(engine, bytes)) {
        ++report.passed;
      } else if (unsupported(checked.error())) {
        ++report.skipped;
        report.skip_reasons.push_back(at + checked.error().message);
      } else {
        ++report.failed;
        report.failures.push_back(at + "a valid component is refused: " + checked.error().message);
      }
      continue;
    }
    const bool malformed = e.is_form("assert_malformed");
    const bool invalid = e.is_form("assert_invalid");
    if (malformed && e.items.size() >= 2 && binary_component(e.items[1], bytes)) {
      const std::string expected = e.items.size() > 2 ? e.items[2].text : "";
      if (component::decode_component(bytes)) {
        ++report.failed;
        report.failures.push_back(at + "a malformed component (" + expected + ") decodes");
      } else {
        ++report.passed;
      }
      continue;
    }
    if (invalid && e.items.size() >= 2 && binary_component(e.items[1], bytes)) {
      const std::string expected = e.items.size() > 2 ? e.items[2].text : "";
      if (auto checked = check_component(engine, bytes)) {
        ++report.failed;
        report.failures.push_back(at + "an invalid component (" + expected + ") validates");
      } else if (unsupported(checked.error())) {
        ++report.skipped;  // refused, but not for the reason the test is about
        report.skip_reasons.push_back(at + checked.error().message);
      } else {
        ++report.passed;
        if (checked.error().message.find(expected) == std::string::npos) {
          report.other_reasons.push_back(at + "expected invalid (" + expected +
                                         "), rejected as: " + checked.error().message);
        }
      }
      continue;
    }
    // Not run (yet): components the text parser refused (a text-format test, or a feature it
    // lacks), quoted text, and every command that runs a component (instantiation comes next).
    (void)refused_text;
    ++report.skipped;
  }
  return report;
}

}  // namespace kiln::spectest
