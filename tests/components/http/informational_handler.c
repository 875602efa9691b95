// A wasi:http/incoming-handler that sends informational (1xx) responses before its answer, with
// wasi:http's @unstable response-outparam.send-informational (feature
// informational-outbound-responses), written against the canonical ABI by hand like
// hello_handler.c (a separate component: jco serve, which the other handler is compared with,
// does not have the function).
//
// It sends 103 Early Hints with a `link` field, then tries status 200 and 101 as informational
// responses (refused: HTTP-protocol-error and internal-error), and answers 200 with a body that
// names the error-code case of each refusal: "103 ok, 200 error 35, 101 error 38\n".
#include "handler_guest.h"

// send-informational(self: borrow<response-outparam>, status: u16, headers: own<fields>)
//   -> result<_, error-code>: through a return area (case at 0, error-code's case at 8).
IMPORT(HTTP, "[method]response-outparam.send-informational")
void send_informational(int32_t self, int32_t status, int32_t headers, ReturnArea* out);

static uint8_t heap[4096];
static size_t heap_used;

__attribute__((export_name("cabi_realloc"))) void* cabi_realloc(void* old, size_t old_size,
                                                                size_t align, size_t size) {
  (void)old;
  (void)old_size;
  heap_used = (heap_used + align - 1) & ~(align - 1);
  if (heap_used + size > sizeof heap) __builtin_trap();
  void* p = heap + heap_used;
  heap_used += size;
  return p;
}

// "ok", or "error N" with N the error-code's case.
static size_t outcome(const ReturnArea* r, char* out) {
  if (r->bytes[0] == 0) {
    out[0] = 'o';
    out[1] = 'k';
    return 2;
  }
  const uint8_t code = r->bytes[8];
  const char text[] = "error ";
  size_t n = 0;
  for (; text[n]; ++n) out[n] = text[n];
  if (code >= 10) out[n++] = (char)('0' + code / 10);
  out[n++] = (char)('0' + code % 10);
  return n;
}

static size_t append(char* to, size_t at, const char* s) {
  while (*s) to[at++] = *s++;
  return at;
}

// Sends an informational response with status `status` (and a link field) and appends
// "STATUS OUTCOME" to the text.
static size_t inform(int32_t outparam, int32_t status, const char* label, char* text, size_t at) {
  ReturnArea r;
  const int32_t headers = fields_new();
  fields_append(headers, "link", 4, "</style.css>; rel=preload", 25, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  send_informational(outparam, status, headers, &r);
  at = append(text, at, label);
  at += outcome(&r, text + at);
  return at;
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle"))) void handle(
    int32_t request, int32_t outparam) {
  char text[128];
  size_t at = 0;
  at = inform(outparam, 103, "103 ", text, at);
  at = inform(outparam, 200, ", 200 ", text, at);
  at = inform(outparam, 101, ", 101 ", text, at);
  text[at++] = '\n';
  drop_request(request);

  ReturnArea r;
  const int32_t headers = fields_new();
  fields_append(headers, "content-type", 12, "text/plain", 10, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  const int32_t response = response_new(headers);
  response_body(response, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  const int32_t outgoing = load_i32(&r, 4);
  outparam_set(outparam, 0, response, 0, 0, 0, 0, 0, 0);
  body_write(outgoing, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  const int32_t stream = load_i32(&r, 4);
  stream_write(stream, (const uint8_t*)text, at, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  drop_output(stream);
  outgoing_body_finish(outgoing, 0, 0, &r);
  if (r.bytes[0] != 0) __builtin_trap();
}
