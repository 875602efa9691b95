// kiln.h, WASI's part: a WASI configuration, and wasi_snapshot_preview1 for a store's
// instances.
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "component/c_api_internal.h"
#include "include/kiln.h"
#include "include/kiln_component.h"
#include "runtime/c_api/c_api_internal.h"
#include "wasi/preview1.h"
#include "wasi/preview2.h"
#include "wasi/wasi_context.h"

extern char** environ;

using namespace kiln;
using namespace kiln::c_api;

struct kiln_wasi_config_t {
  wasi::WasiConfig config;
};

struct kiln_http_response_t {
  kiln::wasi::HttpResponse response;  // the head, until the first body bytes send it
  std::optional<kiln::wasi::HttpFailure> failure;
  const kiln::wasi::WaitInterrupt* interrupt = nullptr;
  kiln::wasi::HttpResponseReceiver* receiver = nullptr;
  bool head_sent = false;

  void send_head() {
    if (head_sent) return;
    head_sent = true;
    receiver->head(response.status, std::move(response.headers));
  }
};

namespace {
// error-code's cases that carry a payload (types.wit) the host does not make (http.cpp's
// error_code_of gives HTTP-response-body-size and internal-error theirs).
bool response_error_has_payload(uint32_t code) {
  switch (code) {
    case 1:
    case 14:
    case 17:
    case 21:
    case 22:
    case 23:
    case 24:
    case 26:
    case 27:
    case 29:
    case 30:
    case 31:
    case 32:
      return true;
    default:
      return false;
  }
}
}  // namespace

struct kiln_wasi_t {
  wasm_store_t* store = nullptr;
  std::unique_ptr<wasi::WasiContext> context;
  std::unique_ptr<wasi::Preview1> preview1;
};

extern "C" {

kiln_wasi_config_t* kiln_wasi_config_new(void) {
  return new kiln_wasi_config_t;
}
void kiln_wasi_config_delete(kiln_wasi_config_t* config) {
  delete config;
}
void kiln_wasi_config_set_args(kiln_wasi_config_t* config, int argc, const char* const argv[]) {
  if (!config || argc < 0 || (argc > 0 && !argv)) {
    return set_last_error("kiln_wasi_config_set_args: null config or arguments");
  }
  config->config.args.clear();
  for (int i = 0; i < argc; ++i) config->config.args.emplace_back(argv[i] ? argv[i] : "");
}
void kiln_wasi_config_set_env(kiln_wasi_config_t* config, const char* name, const char* value) {
  if (!config || !name || !value) {
    return set_last_error("kiln_wasi_config_set_env: null argument");
  }
  config->config.env.emplace_back(name, value);
}
void kiln_wasi_config_inherit_env(kiln_wasi_config_t* config) {
  if (!config) return set_last_error("kiln_wasi_config_inherit_env: null config");
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    config->config.env.emplace_back(text.substr(0, equals), text.substr(equals + 1));
  }
}
void kiln_wasi_config_preopen_dir(kiln_wasi_config_t* config, const char* host_path,
                                  const char* guest_path, bool read_only) {
  if (!config || !host_path || !guest_path) {
    return set_last_error("kiln_wasi_config_preopen_dir: null argument");
  }
  config->config.preopens.push_back(wasi::Preopen{host_path, guest_path, read_only});
}
void kiln_wasi_config_set_stdio(kiln_wasi_config_t* config, int stdin_fd, int stdout_fd,
                                int stderr_fd) {
  if (!config) return set_last_error("kiln_wasi_config_set_stdio: null config");
  config->config.stdin_fd = stdin_fd;
  config->config.stdout_fd = stdout_fd;
  config->config.stderr_fd = stderr_fd;
}

void kiln_wasi_config_set_max_open_files(kiln_wasi_config_t* config, uint32_t max) {
  if (!config) return set_last_error("kiln_wasi_config_set_max_open_files: null config");
  config->config.max_open_files = max;
}

bool kiln_wasi_config_set_stdin_bytes(kiln_wasi_config_t* config, const wasm_byte_vec_t* bytes) {
  if (!config || !bytes || (bytes->size && !bytes->data)) {
    return fail("kiln_wasi_config_set_stdin_bytes: null argument", false);
  }
  config->config.stdin_bytes = std::string(bytes->data, bytes->size);
  return true;
}
bool kiln_wasi_config_capture_stdout(kiln_wasi_config_t* config, size_t max_bytes) {
  if (!config) return fail("kiln_wasi_config_capture_stdout: null config", false);
  config->config.stdout_capture = std::make_shared<wasi::CapturedOutput>(max_bytes);
  return true;
}
bool kiln_wasi_config_capture_stderr(kiln_wasi_config_t* config, size_t max_bytes) {
  if (!config) return fail("kiln_wasi_config_capture_stderr: null config", false);
  config->config.stderr_capture = std::make_shared<wasi::CapturedOutput>(max_bytes);
  return true;
}

bool kiln_wasi_config_allow_http(kiln_wasi_config_t* config, const char* authority) {
  if (!config || !authority) return fail("kiln_wasi_config_allow_http: null argument", false);
  config->config.allowed_http.emplace_back(authority);
  return true;
}

void kiln_http_response_set_status(kiln_http_response_t* response, uint16_t status) {
  if (!response) return set_last_error("kiln_http_response_set_status: null response");
  if (response->head_sent) {
    return set_last_error("kiln_http_response_set_status: the head went with the body already");
  }
  response->response.status = status;
}
void kiln_http_response_add_header(kiln_http_response_t* response, const char* name,
                                   size_t name_size, const char* value, size_t value_size) {
  if (!response || (!name && name_size) || (!value && value_size)) {
    return set_last_error("kiln_http_response_add_header: null argument");
  }
  if (response->head_sent) {
    return set_last_error("kiln_http_response_add_header: the head went with the body already");
  }
  response->response.headers.emplace_back(std::string(name, name_size),
                                          std::string(value, value_size));
}
bool kiln_http_response_append_body(kiln_http_response_t* response, const void* data, size_t size) {
  if (!response || (!data && size)) {
    return fail("kiln_http_response_append_body: null argument", false);
  }
  response->send_head();
  return response->receiver->body(std::string_view(static_cast<const char*>(data), size));
}
void kiln_http_response_fail(kiln_http_response_t* response, uint32_t error_code,
                             const char* message) {
  if (!response) return set_last_error("kiln_http_response_fail: null response");
  wasi::HttpFailure failure;
  // Only payload-less cases (and internal-error) can be given from C: another is internal.
  const bool known =
      error_code <= wasi::HttpFailure::kInternalError && !response_error_has_payload(error_code);
  failure.error_code = known ? error_code : wasi::HttpFailure::kInternalError;
  if (message) failure.message = message;
  response->failure = std::move(failure);
}
bool kiln_http_response_interrupted(const kiln_http_response_t* response) {
  return response && response->interrupt && (*response->interrupt) && (*response->interrupt)();
}

void kiln_wasi_config_set_http_sender(kiln_wasi_config_t* config, kiln_http_sender_t sender,
                                      void* env, void (*finalizer)(void*)) {
  if (!config || !sender) {
    if (finalizer) finalizer(env);
    return set_last_error("kiln_wasi_config_set_http_sender: null argument");
  }
  // The sender's environment is finalized once, when the last copy of the sender goes.
  auto holder = std::shared_ptr<void>(env, [finalizer](void* e) {
    if (finalizer) finalizer(e);
  });
  config->config.http_sender =
      [sender, holder](const wasi::HttpRequest& request, wasi::HttpResponseReceiver& receiver,
                       const wasi::WaitInterrupt& interrupt) -> Result<void, wasi::HttpFailure> {
    std::vector<kiln_http_header_t> headers;
    headers.reserve(request.headers.size());
    for (const auto& [name, value] : request.headers) {
      headers.push_back({name.c_str(), name.size(), value.c_str(), value.size()});
    }
    kiln_http_request_t view{};
    view.method = request.method.c_str();
    view.scheme = request.scheme.c_str();
    view.authority = request.authority.c_str();
    view.path_with_query = request.path_with_query.c_str();
    view.headers = headers.data();
    view.header_count = headers.size();
    // A body the guest still writes is read whole first (at most kMaxWholeBodyBytes): the C
    // sender sees it in one piece.
    std::string streamed;
    if (request.body_stream) {
      uint8_t part[16384];
      for (;;) {
        bool would_block = false;
        auto n = request.body_stream->read(part, true, would_block, interrupt);
        if (!n) {
          if (n.error().interrupted) {
            wasi::HttpFailure failure;
            failure.interrupted = true;
            return failure;
          }
          return wasi::HttpFailure{wasi::HttpFailure::kInternalError,
                                   "the request's body was not finished"};
        }
        if (*n == 0) break;
        if (streamed.size() + *n > wasi::kMaxWholeBodyBytes) {
          return wasi::HttpFailure{wasi::HttpFailure::kInternalError,
                                   "the request's body is over 256 MiB"};
        }
        streamed.append(reinterpret_cast<const char*>(part), *n);
      }
    }
    const std::string& body = request.body_stream ? streamed : request.body;
    view.body = reinterpret_cast<const uint8_t*>(body.data());
    view.body_size = body.size();
    view.connect_timeout_ns = request.connect_timeout_ns.value_or(0);
    view.first_byte_timeout_ns = request.first_byte_timeout_ns.value_or(0);
    view.between_bytes_timeout_ns = request.between_bytes_timeout_ns.value_or(0);
    kiln_http_response_t answer;
    answer.interrupt = &interrupt;
    answer.receiver = &receiver;
    sender(holder.get(), &view, &answer);
    if (interrupt && interrupt()) {
      wasi::HttpFailure failure;
      failure.interrupted = true;
      return failure;
    }
    if (answer.failure) return std::move(*answer.failure);
    answer.send_head();  // a response without a body
    return {};
  };
}

namespace {
bool captured_bytes(const char* function, const kiln_wasi_t* wasi,
                    std::shared_ptr<wasi::CapturedOutput> wasi::WasiConfig::*capture,
                    wasm_byte_vec_t* out) {
  if (out) wasm_byte_vec_new_empty(out);
  if (!wasi || !out) return fail(std::string(function) + ": null argument", false);
  const auto& captured = wasi->context->config().*capture;
  if (!captured) return fail(std::string(function) + ": the stream is not captured", false);
  const std::string bytes = captured->read();
  wasm_byte_vec_new(out, bytes.size(), bytes.data());
  return true;
}

bool allow_network(const char* function, kiln_wasi_config_t* config, const char* text,
                   std::vector<wasi::AddressRule> wasi::WasiConfig::*rules) {
  if (!config || !text) return fail(std::string(function) + ": null argument", false);
  auto rule = wasi::parse_address_rule(text);
  if (!rule) return fail(std::string(function) + ": " + rule.error().message, false);
  (config->config.*rules).push_back(*rule);
  return true;
}
}  // namespace

bool kiln_wasi_config_allow_tcp(kiln_wasi_config_t* config, const char* rule) {
  return allow_network("kiln_wasi_config_allow_tcp", config, rule, &wasi::WasiConfig::allowed_tcp);
}
bool kiln_wasi_config_allow_udp(kiln_wasi_config_t* config, const char* rule) {
  return allow_network("kiln_wasi_config_allow_udp", config, rule, &wasi::WasiConfig::allowed_udp);
}
void kiln_wasi_config_allow_ip_name_lookup(kiln_wasi_config_t* config, bool allow) {
  if (!config) return set_last_error("kiln_wasi_config_allow_ip_name_lookup: null config");
  config->config.allow_ip_name_lookup = allow;
}

kiln_wasi_t* kiln_wasi_new(wasm_store_t* store, kiln_wasi_config_t* config) {
  std::unique_ptr<kiln_wasi_config_t> owned(config);
  if (!store || !config) {
    return fail("kiln_wasi_new: null store or config", static_cast<kiln_wasi_t*>(nullptr));
  }
  auto context = wasi::WasiContext::create(std::move(config->config));
  if (!context.ok()) {
    return fail("kiln_wasi_new: " + context.error().message, static_cast<kiln_wasi_t*>(nullptr));
  }
  auto wasi = std::make_shared<kiln_wasi_t>();
  wasi->store = store;
  wasi->context = std::move(*context);
  wasi->preview1 = std::make_unique<wasi::Preview1>(*wasi->context);
  store->attachments.push_back(wasi);
  return wasi.get();
}

bool kiln_wasi_stdout_bytes(const kiln_wasi_t* wasi, wasm_byte_vec_t* out) {
  return captured_bytes("kiln_wasi_stdout_bytes", wasi, &wasi::WasiConfig::stdout_capture, out);
}
bool kiln_wasi_stderr_bytes(const kiln_wasi_t* wasi, wasm_byte_vec_t* out) {
  return captured_bytes("kiln_wasi_stderr_bytes", wasi, &wasi::WasiConfig::stderr_capture, out);
}

bool kiln_wasi_imports(kiln_wasi_t* wasi, const wasm_module_t* module, wasm_extern_vec_t* out) {
  if (out) wasm_extern_vec_new_empty(out);
  if (!wasi || !module || !out) return fail("kiln_wasi_imports: null argument", false);
  auto imports = wasi->preview1->imports_for(wasi->store->store, *module->module);
  if (!imports.ok()) return fail("kiln_wasi_imports: " + imports.error().message, false);
  wasm_extern_vec_new_uninitialized(out, imports->size());
  for (size_t i = 0; i < out->size; ++i) out->data[i] = make_extern(wasi->store, (*imports)[i]);
  return true;
}

bool kiln_component_linker_define_wasi(kiln_component_linker_t* linker, kiln_wasi_t* wasi) {
  if (!linker || !wasi) return fail("kiln_component_linker_define_wasi: null argument", false);
  if (linker->wasi_store) {
    return fail("kiln_component_linker_define_wasi: the linker has WASI already", false);
  }
  // The host functions are the linker's; the WASI state (handles, grants) is the store's and
  // refers to the context, which `wasi` keeps.
  auto added = wasi::Preview2::add_to_linker(*linker->linker);
  if (!added) return fail("kiln_component_linker_define_wasi: " + added.error().message, false);
  (*added)->attach(wasi->store->store, *wasi->context);
  linker->wasi_store = wasi->store->liveness;
  return true;
}

}  // extern "C"
