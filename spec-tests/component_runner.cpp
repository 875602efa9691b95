#include "spec-tests/component_runner.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "component/component_decoder.h"
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

}  // namespace

FileReport run_component_wast_file(const std::string& wast_path) {
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
  std::vector<uint8_t> bytes;
  for (const SExpression& e : *script) {
    const std::string at = "line " + std::to_string(e.line) + ": ";
    if (binary_component(e, bytes)) {
      auto decoded = component::decode_component(bytes);
      if (decoded) {
        ++report.passed;
      } else {
        ++report.failed;
        report.failures.push_back(at +
                                  "a valid component does not decode: " + decoded.error().message);
      }
      continue;
    }
    const bool malformed = e.is_form("assert_malformed");
    const bool invalid = e.is_form("assert_invalid");
    if ((malformed || invalid) && e.items.size() >= 2 && binary_component(e.items[1], bytes)) {
      auto decoded = component::decode_component(bytes);
      const std::string expected = e.items.size() > 2 ? e.items[2].text : "";
      if (!decoded) {
        ++report.passed;
        if (invalid) {
          report.other_reasons.push_back(at + "expected invalid (" + expected +
                                         "), rejected as: " + decoded.error().message);
        }
      } else if (malformed) {
        ++report.failed;
        report.failures.push_back(at + "a malformed component (" + expected + ") decodes");
      } else {
        ++report.skipped;  // decodes; whether it validates needs the validator
      }
      continue;
    }
    ++report.skipped;  // the text format, or running components
  }
  return report;
}

}  // namespace kiln::spectest
