// HTTP messages as the WASI host hands them over (http.h), and the transport for outgoing
// requests: libkiln makes no network connection itself. An embedder (or the kiln command, over
// libcurl: cli/http_client.cpp) gives WasiConfig an HttpSender; without one, or for an authority
// not granted (WasiConfig::allowed_http), wasi:http/outgoing-handler refuses the request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/result.h"
#include "wasi/poll_source.h"
#include "wasi/streams.h"

namespace kiln::wasi {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The most of a body the host holds whole (one the guest writes before it is sent, or one a C
// sender takes in one piece); a larger one is an error.
constexpr uint64_t kMaxWholeBodyBytes = uint64_t{1} << 28;

// A body read while it is still coming: a request's body in kiln serve (from the client's
// connection, on the thread that runs the guest, as the guest's incoming-body stream reads it;
// pollables wait on `readable`), a response's body from a sender's thread (HttpExchange), or an
// outgoing request's body the guest still writes, read by its sender (HttpBodyPipe).
class HttpBodySource {
 public:
  virtual ~HttpBodySource() = default;
  // At most `buffer.size()` bytes; 0 (and `would_block` false) at the end of the body. Without
  // `blocking`, 0 with `would_block` when nothing has come yet; with it, waits for bytes until
  // `interrupt` ends the wait (StreamError::interrupted).
  virtual Result<size_t, StreamError> read(std::span<uint8_t> buffer, bool blocking,
                                           bool& would_block, const WaitInterrupt& interrupt) = 0;
  // Ready when a read would not block (bytes, the end, or an error are there); null for a
  // source that no pollable waits on.
  virtual std::shared_ptr<PollSource> readable() = 0;
  // Its reader is gone (the guest dropped the body, or the sender stopped): a source fed by
  // another thread can stop feeding it.
  virtual void reader_gone() {}
};

struct HttpRequest {
  std::string method = "GET";
  std::string scheme = "http";
  std::string authority;  // host[:port]; for a server, the Host header's value
  std::string path_with_query = "/";
  HttpHeaders headers;
  std::string body;
  // When set, the body comes from here as it is read (and `body` is empty): a server's request
  // as its guest reads it, an outgoing request's as the guest writes it.
  std::shared_ptr<HttpBodySource> body_stream;
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

// Where a sender puts the response as it arrives, for the guest to read while more comes
// (http_exchange.h). Thread-safe.
class HttpResponseReceiver {
 public:
  virtual ~HttpResponseReceiver() = default;
  // The status and headers, once, before any of the body: the guest can have the response now.
  virtual void head(uint16_t status, HttpHeaders headers) = 0;
  // Part of the body, after the head. Waits while the guest has a buffer full of it unread;
  // false when the guest gave up on the response (the sender should stop).
  virtual bool body(std::string_view bytes) = 0;
};

// Sends `request` (to request.scheme://request.authority) and gives `response` its head, then
// its body as it comes; returns when the body ended, or with the failure (before the head: the
// guest's future-incoming-response fails; after: its body stream does). It asks `interrupt`
// often enough that the guest's giving up ends it promptly. wasi:http calls it on a thread of
// its own for each request (several may be in flight at once).
using HttpSender = std::function<Result<void, HttpFailure>(
    const HttpRequest&, HttpResponseReceiver& response, const WaitInterrupt&)>;

}  // namespace kiln::wasi
