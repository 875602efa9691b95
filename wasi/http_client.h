// HTTP messages as the WASI host hands them over (http.h), and the transport for outgoing
// requests: libkiln makes no network connection itself. An embedder (or the kiln command, over
// libcurl: cli/http_client.cpp) gives WasiConfig an HttpSender; without one, or for an authority
// not granted (WasiConfig::allowed_http), wasi:http/outgoing-handler refuses the request.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/result.h"
#include "wasi/streams.h"

namespace kiln::wasi {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string scheme = "http";
  std::string authority;  // host[:port]; for a server, the Host header's value
  std::string path_with_query = "/";
  HttpHeaders headers;
  std::string body;
  // request-options (nanoseconds), for outgoing requests.
  std::optional<uint64_t> connect_timeout_ns, first_byte_timeout_ns, between_bytes_timeout_ns;
};

struct HttpResponse {
  uint16_t status = 200;
  HttpHeaders headers;
  std::string body;
  // A server's response that went out through its HttpResponseSink (http.h) while the guest
  // wrote it: nothing is left to send (`body` is empty).
  bool streamed = false;
};

// Why an outgoing request failed: the case of wasi:http's error-code (types.wit's order; the
// cases used carry no payload but internal-error's message), or `interrupted` when the store's
// deadline ended the wait.
struct HttpFailure {
  static constexpr uint32_t kDnsTimeout = 0, kDestinationNotFound = 2, kConnectionRefused = 6,
                            kConnectionTimeout = 8, kTlsProtocolError = 12,
                            kTlsCertificateError = 13, kHttpRequestDenied = 15,
                            kHttpRequestUriInvalid = 19, kHttpResponseIncomplete = 25,
                            kHttpResponseBodySize = 28, kHttpResponseTimeout = 33,
                            kHttpProtocolError = 35, kInternalError = 38;
  uint32_t error_code = kInternalError;
  std::string message;  // internal-error's text
  bool interrupted = false;
};

// Sends `request` (to request.scheme://request.authority) and returns the whole response. It
// asks `interrupt` often enough that a deadline ends it promptly. wasi:http calls it on a
// thread of its own for each request (several may be in flight at once), and its interrupt
// says the guest gave up on the request.
using HttpSender =
    std::function<Result<HttpResponse, HttpFailure>(const HttpRequest&, const WaitInterrupt&)>;

}  // namespace kiln::wasi
