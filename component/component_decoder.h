// Binary decoding of components (Binary.md). Every malformed input is an Error naming the
// section, the item and the byte offset; nothing is validated beyond the encoding.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "component/component.h"
#include "runtime/result.h"

namespace kiln::component {

// Whether `bytes` starts with a component's preamble (magic, then the layer field 1), as
// opposed to a core module's (layer 0). The version is not looked at: decode_component
// reports an unknown one.
bool is_component(std::span<const uint8_t> bytes);

// Components and component types nest at most this deep: deeper input is refused (a limit
// error), so decoding never recurses without bound.
constexpr uint32_t kMaxNesting = 100;

Result<std::unique_ptr<Component>> decode_component(std::span<const uint8_t> bytes);
// The same without a copy: the component's core modules view `bytes` (Module::storage).
Result<std::unique_ptr<Component>> decode_component(
    std::shared_ptr<const std::vector<uint8_t>> bytes);

}  // namespace kiln::component
