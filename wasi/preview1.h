// The `wasi_snapshot_preview1` host module: the preview1 ABI (rights, fd table, cursors, errno)
// as a layer over the host objects of filesystem.h and wasi_context.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/store.h"
#include "wasi/filesystem.h"
#include "wasi/streams.h"
#include "wasi/wasi_context.h"

namespace kiln::wasi {

constexpr const char* kPreview1Module = "wasi_snapshot_preview1";

class Preview1 {
 public:
  explicit Preview1(const WasiContext& context);
  ~Preview1();

  // The imports of `module`, in order, for instantiating it in `store` (each function is made
  // there at its first import): an unlinkable Error naming the first import WASI lacks. The
  // Preview1 object must outlive every instance that imports them.
  Result<std::vector<Extern>> imports_for(Store& store, const Module& module);

  struct Fd;  // an entry of the fd table

 private:
  struct Entry;  // a function, its parameters (each returns an errno) and its implementation
  static std::span<const Entry> entries();  // every function but proc_exit
  // The host function `name` made in `store`; none for a name preview1 does not have.
  std::optional<Extern> define_function(Store& store, std::string_view name);

  // For the calls that wait (poll_oneoff, stdio reads and writes): ends the wait once the
  // calling store's deadline has passed, and remembers that it did.
  WaitInterrupt interrupt();
  Store* calling_store_ = nullptr;
  bool deadline_passed_ = false;

  const WasiContext& context_;
  std::map<uint32_t, std::unique_ptr<Fd>> fds_;
  Store* defined_in_ = nullptr;  // where `defined_` was created
  std::map<std::string, Extern> defined_;
  friend struct Preview1Calls;
};

}  // namespace kiln::wasi
