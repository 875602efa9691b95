// The component C API's handle types that another part of libkiln also fills in (the WASI 0.2
// host's kiln_component_linker_define_wasi lives in wasi/c_api.cpp: component/ does not depend
// on wasi/).
#pragma once

#include <memory>

#include "component/component_linker.h"
#include "runtime/c_api/c_api_internal.h"

// Both own the shared state: instances keep the linker's host functions and resource types.
struct kiln_component_linker_t {
  std::shared_ptr<kiln::component::ComponentLinker> linker =
      std::make_shared<kiln::component::ComponentLinker>();
  // With WASI defined (kiln_component_linker_define_wasi): the store whose WASI context the
  // host functions use; the linker instantiates in that store only.
  std::shared_ptr<kiln::c_api::StoreLiveness> wasi_store;
};
