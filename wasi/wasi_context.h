// What a WASI program is granted (capabilities are denied by default, DESIGN-NOTES section 8):
// its arguments, the environment variables it is given, the directories it may see, and stdio.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/result.h"
#include "wasi/filesystem.h"
#include "wasi/http_client.h"
#include "wasi/network_grants.h"
#include "wasi/streams.h"

namespace kiln::wasi {

struct Preopen {
  std::string host_path;
  std::string guest_path;
  bool read_only = false;
};

struct WasiConfig {
  std::vector<std::string> args;  // args[0] is the program name
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<Preopen> preopens;
  // Host descriptors for the guest's stdin, stdout and stderr; -1 gives the guest none.
  int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;
  // Or stdio in host memory: stdin read from bytes, stdout and stderr kept (in place of the
  // descriptors, when set).
  std::optional<std::string> stdin_bytes;
  std::shared_ptr<CapturedOutput> stdout_capture, stderr_capture;
  // The most descriptors the guest may hold open at once (stdio and preopens included): more
  // opens fail with mfile, so one guest cannot use up the descriptors of the whole process.
  uint32_t max_open_files = 256;
  // Outgoing HTTP (wasi:http/outgoing-handler): the authorities a guest may send requests to,
  // "host" (the scheme's default port) or "host:port", and the transport that sends them.
  std::vector<std::string> allowed_http;
  HttpSender http_sender;
  // wasi:sockets: the addresses TCP sockets may bind and connect to, UDP sockets bind and send
  // to (network_grants.h), and whether names may be looked up. Nothing by default.
  std::vector<AddressRule> allowed_tcp, allowed_udp;
  bool allow_ip_name_lookup = false;
};

// A granted directory, opened.
struct OpenPreopen {
  std::shared_ptr<Descriptor> descriptor;
  std::string guest_path;
};

class WasiContext {
 public:
  // Opens every preopened directory; fails naming the one that cannot be opened.
  static Result<std::unique_ptr<WasiContext>> create(WasiConfig config);

  const WasiConfig& config() const { return config_; }
  const std::vector<OpenPreopen>& preopens() const { return preopens_; }
  InputStream* stdin_stream() const { return stdin_.get(); }
  OutputStream* stdout_stream() const { return stdout_.get(); }
  OutputStream* stderr_stream() const { return stderr_.get(); }

 private:
  WasiConfig config_;
  std::vector<OpenPreopen> preopens_;
  std::unique_ptr<InputStream> stdin_;
  std::unique_ptr<OutputStream> stdout_, stderr_;
};

}  // namespace kiln::wasi
