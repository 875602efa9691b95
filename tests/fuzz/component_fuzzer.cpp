// Fuzzes the component binary decoder and validator (component/component_decoder.h,
// component_validator.h) with arbitrary bytes behind a component preamble: every input
// validates or is refused, with no crash, leak or undefined behaviour (the fuzz build has ASan
// and UBSan).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "component/component_decoder.h"
#include "component/component_validator.h"
#include "runtime/store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One engine for the run: compiling core modules is the validator's most expensive part.
  static kiln::Engine engine;
  // Most inputs get the preamble, so the fuzzer spends its time past it.
  std::vector<uint8_t> bytes;
  if (size == 0 || data[0] != 0x00) bytes = {0x00, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00};
  bytes.insert(bytes.end(), data, data + size);
  auto decoded = kiln::component::decode_component(bytes);
  if (decoded) (void)kiln::component::validate_component(engine, **decoded);
  return 0;
}
