// A wasi:cli/run command that sends `GET http://AUTHORITY PATH` for each PATH of its arguments
// (AUTHORITY PATH...) through wasi:http/outgoing-handler, all of them before it waits for any,
// and prints "status N" and each response's body in order, written against the
// canonical ABI by hand like hello_handler.c. A request the host refuses prints
// "handle failed: error-code N" (types.wit's error-code case), a body that breaks off "body
// failed: error-code N" (http-error-code), and the run returns err.
// Made a component by scripts/component-new.mjs with world.wit's `fetch`.
#include "../command_guest.h"

#define HTTP "wasi:http/types@0.2.12"
#define STREAMS "wasi:io/streams@0.2.12"

IMPORT("wasi:cli/environment@0.2.12", "get-arguments") void get_arguments(ReturnArea* out);
IMPORT(HTTP, "[constructor]fields") int32_t fields_new(void);
IMPORT(HTTP, "[constructor]outgoing-request") int32_t request_new(int32_t headers);
// set-method(method): method is a variant whose `other` case carries a string.
IMPORT(HTTP, "[method]outgoing-request.set-method")
int32_t set_method(int32_t self, int32_t method, const char* other, size_t other_len);
// set-scheme(option<scheme>): is-some, the scheme's case, `other`'s string.
IMPORT(HTTP, "[method]outgoing-request.set-scheme")
int32_t set_scheme(int32_t self, int32_t is_some, int32_t scheme, const char* other,
                   size_t other_len);
IMPORT(HTTP, "[method]outgoing-request.set-authority")
int32_t set_authority(int32_t self, int32_t is_some, const char* text, size_t len);
IMPORT(HTTP, "[method]outgoing-request.set-path-with-query")
int32_t set_path(int32_t self, int32_t is_some, const char* text, size_t len);
IMPORT("wasi:http/outgoing-handler@0.2.12", "handle")
void handle(int32_t request, int32_t has_options, int32_t options, ReturnArea* out);
IMPORT(HTTP, "[method]future-incoming-response.subscribe") int32_t future_subscribe(int32_t self);
IMPORT(HTTP, "[method]future-incoming-response.get") void future_get(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[method]incoming-response.status") int32_t response_status(int32_t self);
IMPORT(HTTP, "[method]incoming-response.consume")
void response_consume(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[method]incoming-body.stream") void body_stream(int32_t self, ReturnArea* out);
IMPORT("wasi:io/poll@0.2.12", "[method]pollable.block") void block(int32_t self);
IMPORT(STREAMS, "[method]input-stream.blocking-read")
void stream_read(int32_t self, uint64_t len, ReturnArea* out);
IMPORT(HTTP, "http-error-code") void http_error_code(int32_t error, ReturnArea* out);

typedef struct {
  const char* data;
  size_t length;
} String;

// Prints a future's response: "status N", then its body. 0, or 1 when it failed.
static int print_response(int32_t future) {
  ReturnArea r;
  // option<result<result<own<incoming-response>, error-code>>>: the cases at 0, 8 and 16, the
  // response (or the error-code) at 24.
  future_get(future, &r);
  if (r.bytes[0] != 1 || r.bytes[8] != 0) {
    print("no response\n");
    return 1;
  }
  if (r.bytes[16] != 0) {
    print_number("response failed: error-code ", r.bytes[24]);
    return 1;
  }
  const int32_t response = *(int32_t*)(r.bytes + 24);
  print_number("status ", (uint32_t)response_status(response));
  response_consume(response, &r);
  if (r.bytes[0] != 0) return 1;
  body_stream(*(int32_t*)(r.bytes + 4), &r);
  if (r.bytes[0] != 0) return 1;
  const int32_t body = *(int32_t*)(r.bytes + 4);
  for (;;) {
    stream_read(body, 4096, &r);
    if (r.bytes[0] != 0) break;
    print_bytes(*(const uint8_t**)(r.bytes + 4), *(uint32_t*)(r.bytes + 8));
  }
  // stream-error at 4: closed (1) is the end of the body; last-operation-failed (0) carries an
  // io-error at 8, whose option<error-code> has its case at 0 and error-code's at 8.
  if (r.bytes[4] == 0) {
    http_error_code(*(int32_t*)(r.bytes + 8), &r);
    if (r.bytes[0] != 1) {
      print("body failed\n");
    } else {
      print_number("body failed: error-code ", r.bytes[8]);
    }
    return 1;
  }
  return 0;
}

__attribute__((export_name("wasi:cli/run@0.2.12#run"))) int32_t run(void) {
  ReturnArea r;
  get_arguments(&r);
  const String* args = *(const String**)(r.bytes);
  const size_t count = *(uint32_t*)(r.bytes + 4);
  enum { kMaxRequests = 8 };
  if (count < 3 || count - 2 > kMaxRequests) {
    print("usage: http_fetch AUTHORITY PATH...\n");
    return 1;
  }

  // Every request is handed over first, then each is waited for: they are in flight together.
  int32_t futures[kMaxRequests], pollables[kMaxRequests];
  for (size_t i = 0; i + 2 < count; ++i) {
    const int32_t request = request_new(fields_new());
    set_method(request, 0, 0, 0);     // get
    set_scheme(request, 1, 0, 0, 0);  // some(HTTP)
    set_authority(request, 1, args[1].data, args[1].length);
    set_path(request, 1, args[i + 2].data, args[i + 2].length);
    // result<own<future-incoming-response>, error-code>: the payload at 8.
    handle(request, 0, 0, &r);
    if (r.bytes[0] != 0) {
      print_number("handle failed: error-code ", r.bytes[8]);
      return 1;
    }
    futures[i] = *(int32_t*)(r.bytes + 8);
    pollables[i] = future_subscribe(futures[i]);
  }
  for (size_t i = 0; i + 2 < count; ++i) {
    block(pollables[i]);
    if (print_response(futures[i])) return 1;
  }
  return 0;
}
