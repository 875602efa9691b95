// A wasi:cli/run command that talks TCP with itself, written against the canonical ABI by hand
// (no bindings generator; wasi-libc's sockets are preview1's): it listens on 127.0.0.1 at a
// port the host picks, connects to it, accepts, sends a line from the client to the server and
// back, and prints what each side got. Each step that fails prints its network error-code and
// the run returns err (status 1). Made a component by scripts/component-new.mjs with
// world.wit; run under `kiln run --allow-tcp 127.0.0.1` and `jco run` by the tests, which
// compare their output.
#include "sockets_guest.h"

#define TCP "wasi:sockets/tcp@0.2.12"
#define STREAMS "wasi:io/streams@0.2.12"

IMPORT("wasi:sockets/tcp-create-socket@0.2.12", "create-tcp-socket")
void create_tcp_socket(int32_t family, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.start-bind")
void start_bind(int32_t self, int32_t network, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t,
                int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.finish-bind") void finish_bind(int32_t self, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.start-listen") void start_listen(int32_t self, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.finish-listen") void finish_listen(int32_t self, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.local-address") void local_address(int32_t self, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.start-connect")
void start_connect(int32_t self, int32_t network, int32_t, int32_t, int32_t, int32_t, int32_t,
                   int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.finish-connect") void finish_connect(int32_t self, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.accept") void accept(int32_t self, ReturnArea* out);
IMPORT(TCP, "[method]tcp-socket.subscribe") int32_t subscribe(int32_t self);
IMPORT(TCP, "[resource-drop]tcp-socket") void drop_socket(int32_t handle);
IMPORT(STREAMS, "[method]input-stream.blocking-read")
void stream_read(int32_t self, uint64_t len, ReturnArea* out);
IMPORT(STREAMS, "[resource-drop]input-stream") void drop_input(int32_t handle);

enum { kWouldBlock = 8 };  // network.error-code

// Prints "STEP failed: error-code N" when `r` holds result<_, error-code>'s error.
static int failed(const char* step, const ReturnArea* r) {
  if (r->bytes[0] == 0) return 0;
  print(step);
  print_number(" failed: error-code ", r->bytes[4]);  // at the result's alignment (4)
  return 1;
}
// result<_, error-code> has no payload alignment above 1: its error sits at offset 1.
static int failed_unit(const char* step, ReturnArea* r) {
  r->bytes[4] = r->bytes[1];
  return failed(step, r);
}

// Sends `text` on `out`, reads what arrives on `in`, prints "WHO got: ...".
static int relay(const char* who, int32_t out, int32_t in, const char* text) {
  ReturnArea r;
  stream_write(out, (const uint8_t*)text, length(text), &r);
  if (r.bytes[0] != 0) {
    print("write failed\n");
    return 1;
  }
  size_t got = 0;
  uint8_t line[64];
  while (got < length(text)) {
    stream_read(in, sizeof line - got, &r);
    if (r.bytes[0] != 0) {
      print("read failed\n");
      return 1;
    }
    const uint8_t* bytes = *(uint8_t**)(r.bytes + 4);
    const size_t n = *(uint32_t*)(r.bytes + 8);
    for (size_t i = 0; i < n && got < sizeof line; ++i) line[got++] = bytes[i];
  }
  print(who);
  print(" got: ");
  print_bytes(line, got);
  return 0;
}

__attribute__((export_name("wasi:cli/run@0.2.12#run"))) int32_t run(void) {
  ReturnArea r;
  const int32_t network = instance_network();

  create_tcp_socket(0, &r);  // ipv4
  if (failed("create-tcp-socket", &r)) return 1;
  const int32_t server = *(int32_t*)(r.bytes + 4);
  start_bind(server, network, IPV4(0, 127, 0, 0, 1), &r);
  if (failed_unit("start-bind", &r)) return 1;
  finish_bind(server, &r);
  if (failed_unit("finish-bind", &r)) return 1;
  start_listen(server, &r);
  if (failed_unit("start-listen", &r)) return 1;
  finish_listen(server, &r);
  if (failed_unit("finish-listen", &r)) return 1;
  // result<ip-socket-address, error-code>: the address at 4, its ipv4 payload at 4 more, the
  // port first.
  local_address(server, &r);
  if (failed("local-address", &r)) return 1;
  const int32_t port = *(uint16_t*)(r.bytes + 8);
  print(port != 0 ? "listening on a port the host chose\n" : "listening on port 0?\n");

  create_tcp_socket(0, &r);
  if (failed("create-tcp-socket", &r)) return 1;
  const int32_t client = *(int32_t*)(r.bytes + 4);
  start_connect(client, network, IPV4(port, 127, 0, 0, 1), &r);
  if (failed_unit("start-connect", &r)) return 1;
  const int32_t connecting = subscribe(client);
  for (;;) {
    finish_connect(client, &r);
    if (r.bytes[0] == 0 || r.bytes[4] != kWouldBlock) break;
    block(connecting);
  }
  drop_pollable(connecting);
  if (failed("finish-connect", &r)) return 1;
  const int32_t client_in = *(int32_t*)(r.bytes + 4), client_out = *(int32_t*)(r.bytes + 8);

  const int32_t listening = subscribe(server);
  for (;;) {
    accept(server, &r);
    if (r.bytes[0] == 0 || r.bytes[4] != kWouldBlock) break;
    block(listening);
  }
  drop_pollable(listening);
  if (failed("accept", &r)) return 1;
  const int32_t connection = *(int32_t*)(r.bytes + 4);
  const int32_t server_in = *(int32_t*)(r.bytes + 8), server_out = *(int32_t*)(r.bytes + 12);

  if (relay("server", client_out, server_in, "hello over tcp\n")) return 1;
  if (relay("client", server_out, client_in, "and back again\n")) return 1;

  drop_input(server_in);
  drop_output(server_out);
  drop_input(client_in);
  drop_output(client_out);
  drop_socket(connection);
  drop_socket(client);
  drop_socket(server);
  return 0;
}
