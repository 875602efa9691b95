// A wasi:http/incoming-handler written against the canonical ABI by hand (no bindings
// generator): the minimal handler `kiln serve` is measured with, so the figures show kiln's own
// overhead. Freestanding: no libc, a bump allocator behind cabi_realloc (an instance serves one
// request). Made a component by scripts/component-new.mjs with world.wit.
//
// It answers "hello from C: METHOD PATH\n" followed by the request's body, as text/plain;
// /teapot answers 418, /trap traps, /loop never returns (for --timeout), /slow answers after
// 300 ms, /no-response returns without setting a response, /no-body sets a 204 and never asks
// for its body, /count counts the requests its instance has seen (a fresh instance: 1),
// /stream writes its answer, waits 100 ms on a timer and writes "more after a wait\n" (kiln
// serve sends the first part before the wait), /stream-forever waits an hour instead, /relay
// answers first and then sends each part of the request's body as it reads it (flushed).
#include "handler_guest.h"

IMPORT(HTTP, "[method]incoming-request.method") void request_method(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[method]incoming-request.path-with-query")
void request_path(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[method]incoming-request.consume")
void request_consume(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[method]incoming-body.stream") void body_stream(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[static]incoming-body.finish") int32_t body_finish(int32_t body);
IMPORT(HTTP, "[resource-drop]future-trailers") void drop_trailers(int32_t handle);
IMPORT(HTTP, "[method]outgoing-response.set-status-code")
int32_t response_set_status(int32_t self, int32_t status);
IMPORT(STREAMS, "[method]input-stream.blocking-read")
void stream_read(int32_t self, uint64_t len, ReturnArea* out);
IMPORT(STREAMS, "[resource-drop]input-stream") void drop_input(int32_t handle);
IMPORT("wasi:clocks/monotonic-clock@0.2.12", "now") uint64_t monotonic_now(void);
IMPORT("wasi:clocks/monotonic-clock@0.2.12", "subscribe-duration")
int32_t subscribe_duration(uint64_t ns);
IMPORT("wasi:io/poll@0.2.12", "[method]pollable.block") void pollable_block(int32_t self);
IMPORT("wasi:io/poll@0.2.12", "[resource-drop]pollable") void drop_pollable(int32_t handle);

static int requests_seen;

static uint8_t* heap_end;
extern uint8_t __heap_base;

static void* allocate(size_t size, size_t align) {
  if (!heap_end) heap_end = &__heap_base;
  uintptr_t p = ((uintptr_t)heap_end + align - 1) & ~(uintptr_t)(align - 1);
  const uintptr_t end = p + size;
  const uintptr_t limit = __builtin_wasm_memory_size(0) * 65536u;
  if (end > limit && __builtin_wasm_memory_grow(0, (end - limit + 65535) / 65536) == (size_t)-1) {
    __builtin_trap();
  }
  heap_end = (uint8_t*)end;
  return (void*)p;
}

static void copy(uint8_t* to, const uint8_t* from, size_t n) {
  for (size_t i = 0; i < n; ++i) to[i] = from[i];
}

__attribute__((export_name("cabi_realloc"))) void* cabi_realloc(void* old, size_t old_size,
                                                                size_t align, size_t new_size) {
  void* p = allocate(new_size, align);
  if (old) copy(p, old, old_size < new_size ? old_size : new_size);
  return p;
}

// A growing byte buffer in the bump heap.
typedef struct {
  uint8_t* data;
  size_t size, capacity;
} Buffer;

static void append(Buffer* b, const uint8_t* bytes, size_t n) {
  if (b->size + n > b->capacity) {
    size_t capacity = b->capacity ? b->capacity * 2 : 256;
    while (capacity < b->size + n) capacity *= 2;
    uint8_t* data = allocate(capacity, 1);
    copy(data, b->data, b->size);
    b->data = data;
    b->capacity = capacity;
  }
  copy(b->data + b->size, bytes, n);
  b->size += n;
}

static size_t length(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

static void append_text(Buffer* b, const char* s) {
  append(b, (const uint8_t*)s, length(s));
}

static int starts_with(const uint8_t* s, size_t n, const char* prefix) {
  size_t p = length(prefix);
  if (n < p) return 0;
  for (size_t i = 0; i < p; ++i)
    if (s[i] != (uint8_t)prefix[i]) return 0;
  return 1;
}

static const char* const kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                       "CONNECT", "OPTIONS", "TRACE", "PATCH"};

// The request's body stream: consume -> result<incoming-body>, stream -> result<stream>.
static int32_t open_request_body(int32_t request, int32_t* body) {
  ReturnArea r;
  request_consume(request, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  *body = load_i32(&r, 4);
  body_stream(*body, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  return load_i32(&r, 4);
}

// A text/plain response set on `outparam`: its body's output stream (in `*outgoing` the body).
static int32_t open_response_body(int32_t outparam, int32_t status, int32_t* outgoing) {
  ReturnArea r;
  const int32_t headers = fields_new();
  fields_append(headers, "content-type", 12, "text/plain", 10, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  const int32_t response = response_new(headers);
  if (response_set_status(response, status) != 0) __builtin_trap();
  response_body(response, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  *outgoing = load_i32(&r, 4);
  outparam_set(outparam, 0, response, 0, 0, 0, 0, 0, 0);
  body_write(*outgoing, &r);
  if (r.bytes[0] != 0) __builtin_trap();
  return load_i32(&r, 4);
}

static void write_all(int32_t stream, const uint8_t* bytes, size_t size) {
  ReturnArea r;
  for (size_t done = 0; done < size;) {  // blocking writes take at most 4096 bytes
    const size_t n = size - done < 4096 ? size - done : 4096;
    stream_write(stream, bytes + done, n, &r);
    if (r.bytes[0] != 0) __builtin_trap();
    done += n;
  }
}

static void finish_response(int32_t stream, int32_t outgoing) {
  ReturnArea r;
  drop_output(stream);
  outgoing_body_finish(outgoing, 0, 0, &r);
  if (r.bytes[0] != 0) __builtin_trap();
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.12#handle"))) void handle(
    int32_t request, int32_t outparam) {
  ReturnArea r;
  Buffer out = {0};
  append_text(&out, "hello from C: ");

  // method: variant (u8 case at 0; other(string) at 4: pointer, length)
  request_method(request, &r);
  if (r.bytes[0] < 9) {
    append_text(&out, kMethods[r.bytes[0]]);
  } else {
    append(&out, (const uint8_t*)(uintptr_t)load_i32(&r, 4), (size_t)load_i32(&r, 8));
  }
  append_text(&out, " ");
  // path-with-query: option<string> (u8 case at 0; pointer, length at 4, 8)
  request_path(request, &r);
  const uint8_t* path = 0;
  size_t path_len = 0;
  if (r.bytes[0] == 1) {
    path = (const uint8_t*)(uintptr_t)load_i32(&r, 4);
    path_len = (size_t)load_i32(&r, 8);
    append(&out, path, path_len);
  }
  append_text(&out, "\n");

  if (starts_with(path, path_len, "/trap")) __builtin_trap();
  if (starts_with(path, path_len, "/loop")) {
    for (volatile int spin = 1; spin;) {
    }
  }
  if (starts_with(path, path_len, "/slow")) {
    const uint64_t until = monotonic_now() + 300000000u;
    while (monotonic_now() < until) {
    }
  }
  if (starts_with(path, path_len, "/count")) {
    const char digit[2] = {(char)('0' + ++requests_seen % 10), 0};
    append_text(&out, "count: ");
    append_text(&out, digit);
    append_text(&out, "\n");
  }
  if (starts_with(path, path_len, "/no-response")) {
    drop_request(request);
    return;  // the outparam is dropped with the instance: no response was set
  }

  int32_t body, outgoing;
  const int32_t input = open_request_body(request, &body);
  const int relay = starts_with(path, path_len, "/relay");
  int32_t stream = relay ? open_response_body(outparam, 200, &outgoing) : -1;
  if (relay) write_all(stream, out.data, out.size);
  for (;;) {
    // result<list<u8>, stream-error>: case at 0; ok: pointer, length at 4, 8.
    stream_read(input, 65536, &r);
    if (r.bytes[0] != 0) break;  // closed: the end of the body
    const uint8_t* part = (const uint8_t*)(uintptr_t)load_i32(&r, 4);
    const size_t part_size = (size_t)load_i32(&r, 8);
    if (relay) {
      write_all(stream, part, part_size);
    } else {
      append(&out, part, part_size);
    }
  }
  drop_input(input);
  drop_trailers(body_finish(body));
  drop_request(request);
  if (relay) {
    finish_response(stream, outgoing);
    return;
  }

  if (starts_with(path, path_len, "/no-body")) {
    const int32_t headers = fields_new();
    fields_append(headers, "content-type", 12, "text/plain", 10, &r);
    if (r.bytes[0] != 0) __builtin_trap();
    const int32_t response = response_new(headers);
    if (response_set_status(response, 204) != 0) __builtin_trap();
    outparam_set(outparam, 0, response, 0, 0, 0, 0, 0, 0);
    return;
  }
  stream =
      open_response_body(outparam, starts_with(path, path_len, "/teapot") ? 418 : 200, &outgoing);
  write_all(stream, out.data, out.size);
  if (starts_with(path, path_len, "/stream")) {
    const int forever = starts_with(path, path_len, "/stream-forever");
    const int32_t wait = subscribe_duration(forever ? 3600000000000ull : 100000000ull);
    pollable_block(wait);
    drop_pollable(wait);
    write_all(stream, (const uint8_t*)"more after a wait\n", 18);
  }
  finish_response(stream, outgoing);
}
