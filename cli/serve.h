// `kiln serve`: serves a wasi:http/proxy component over HTTP/1.1 (issue 16).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/store.h"
#include "wasi/wasi_context.h"

namespace kiln::cli {

struct ServeSettings {
  std::string component_path;
  std::string address = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  unsigned threads = 0;                    // 0: one per core
  uint64_t max_request_body = 16u << 20;
  bool access_log = true;
  bool trap_unknown_imports = false;
  EngineConfig engine;
  // Each request's budgets: its store's limits, fuel and deadline.
  StoreLimits limits;
  std::optional<uint64_t> fuel;
  std::optional<uint64_t> timeout_ns;
  wasi::WasiConfig wasi;  // the grants every request's guest has
};

// Loads the component once, then answers each request with a fresh instance of it on one of
// `threads` threads, until SIGINT or SIGTERM (in-flight requests finish first). The exit code.
int run_serve(ServeSettings settings);

}  // namespace kiln::cli
