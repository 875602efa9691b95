// wasi:http for the WASI 0.2 host (issue 16): the types interface's resources (fields, requests,
// responses, bodies as wasi:io streams, futures), the outgoing-handler (requests to the
// authorities WasiConfig::allowed_http grants, sent by its HttpSender on a thread of their own
// when the guest first subscribes to or asks for the response, so several are in flight at
// once, their bodies read as they arrive; any other is refused with HTTP-request-denied), and the
// host side of the incoming-handler: one request handed to a guest's exported
// `wasi:http/incoming-handler#handle` and the response it sets read back, for `kiln serve`.
//
// A request's body is held whole by the host (at most kMaxWholeBodyBytes), or read from the
// request's HttpBodySource as the guest reads it. A response's body is sent after `handle`
// returns, or, given a sink, as the guest flushes it: the head at its first flush, then each
// flush's bytes. Responses to outgoing requests stream through an HttpExchange.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "component/component_instance.h"
#include "runtime/result.h"
#include "runtime/trap.h"
#include "wasi/http_client.h"

namespace kiln::wasi {

// Where a server sends a response while the guest still writes its body (kiln serve). Called on
// the thread that runs the guest; a failure (the client went away, the deadline passed) is the
// guest's stream error. `start` comes once, with the status and headers (no body), before the
// body's bytes in parts (`send`), then `finish` when the guest finished the body.
class HttpResponseSink {
 public:
  virtual ~HttpResponseSink() = default;
  virtual Result<void, StreamError> start(const HttpResponse& head,
                                          const WaitInterrupt& interrupt) = 0;
  virtual Result<void, StreamError> send(std::string_view bytes,
                                         const WaitInterrupt& interrupt) = 0;
  virtual Result<void, StreamError> finish(const WaitInterrupt& interrupt) = 0;
  // An informational (1xx) response before the final one (response-outparam.send-informational,
  // @unstable in wasi:http 0.2): sent at once, or the reason it cannot be (error_code
  // internal-error, or `interrupted`). A sink that cannot send them says so.
  virtual Result<void, HttpFailure> informational(uint16_t status, const HttpHeaders& headers,
                                                  const WaitInterrupt& interrupt) {
    (void)status;
    (void)headers;
    (void)interrupt;
    return HttpFailure{HttpFailure::kInternalError, "informational responses are not supported"};
  }
};

// The name of the `wasi:http/incoming-handler@0.2.x` instance `component` exports ("" when it
// exports none): the export a server calls.
std::string incoming_handler_export(const component::ValidatedComponent& component);

// Hands `request` to `instance`'s exported incoming-handler in `store` (which must have its WASI
// state: Preview2::attach) and returns the response the guest set with response-outparam.set.
// An Error when the guest trapped (the trap in `*trap`), set no response, set an error-code, or
// left its body unfinished, or when the request cannot be given to it (an invalid header).
// With a `sink`, a response whose body the guest flushes before finishing it goes out through
// the sink as it is written (the result is then `streamed`); an Error after the sink started
// means the response was cut short.
Result<HttpResponse> handle_http_request(Store& store, component::ComponentInstance& instance,
                                         const std::string& handler_export, HttpRequest request,
                                         TrapPtr* trap = nullptr, HttpResponseSink* sink = nullptr);

// RFC 9110 section 5.1 / 5.5: is `name` a token, `value` a field value (no CR, LF or NUL)?
bool valid_field_name(const std::string& name);
bool valid_field_value(const std::string& value);

}  // namespace kiln::wasi
