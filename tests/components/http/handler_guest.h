// What the wasi:http handlers written against the canonical ABI by hand share (hello_handler.c,
// informational_handler.c): the import attribute, a return area, the wasi:http and wasi:io
// functions every handler uses to answer, and reading an i32 from a return area. Freestanding:
// no libc.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define HTTP "wasi:http/types@0.2.12"
#define STREAMS "wasi:io/streams@0.2.12"

// Return areas: results with more than one flat value come back through memory
// (CanonicalABI.md, MAX_FLAT_RESULTS = 1). 8-aligned, large enough for every result used.
typedef struct {
  _Alignas(8) uint8_t bytes[64];
} ReturnArea;

IMPORT(HTTP, "[resource-drop]incoming-request") void drop_request(int32_t handle);
IMPORT(HTTP, "[constructor]fields") int32_t fields_new(void);
IMPORT(HTTP, "[method]fields.append")
void fields_append(int32_t self, const char* name, size_t name_len, const char* value,
                   size_t value_len, ReturnArea* out);
IMPORT(HTTP, "[constructor]outgoing-response") int32_t response_new(int32_t headers);
IMPORT(HTTP, "[method]outgoing-response.body") void response_body(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[method]outgoing-body.write") void body_write(int32_t self, ReturnArea* out);
IMPORT(HTTP, "[static]outgoing-body.finish")
void outgoing_body_finish(int32_t body, int32_t has_trailers, int32_t trailers, ReturnArea* out);
// response-outparam.set(param, result<outgoing-response, error-code>): the result flattens to
// its case and the join of the handle with error-code's flattening (its case, then its cases'
// payloads joined): [i32, i32, i32, i64, i32, i32, i32, i32].
IMPORT(HTTP, "[static]response-outparam.set")
void outparam_set(int32_t param, int32_t is_error, int32_t handle_or_case, int32_t p1, int64_t p2,
                  int32_t p3, int32_t p4, int32_t p5, int32_t p6);
IMPORT(STREAMS, "[method]output-stream.blocking-write-and-flush")
void stream_write(int32_t self, const uint8_t* bytes, size_t len, ReturnArea* out);
IMPORT(STREAMS, "[resource-drop]output-stream") void drop_output(int32_t handle);

// The little-endian i32 at `offset` of a return area.
static inline int32_t load_i32(const ReturnArea* a, size_t offset) {
  return (int32_t)((uint32_t)a->bytes[offset] | (uint32_t)a->bytes[offset + 1] << 8 |
                   (uint32_t)a->bytes[offset + 2] << 16 | (uint32_t)a->bytes[offset + 3] << 24);
}
