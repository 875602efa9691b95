// A wasi:cli/run command that sends datagrams to itself, written against the canonical ABI by
// hand like tcp_loopback.c: two UDP sockets bound on 127.0.0.1 at ports the host picks; the
// client's stream is connected to the server's address, the server's is not. The client sends
// a line, the server receives it and answers to the address it came from, and each side
// prints what it got. Each step that fails prints its network error-code and the run returns
// err (status 1). Run under `kiln run --allow-udp 127.0.0.1` and `jco run` by the tests, which
// compare their output.
#include "sockets_guest.h"

#define UDP "wasi:sockets/udp@0.2.12"

IMPORT("wasi:sockets/udp-create-socket@0.2.12", "create-udp-socket")
void create_udp_socket(int32_t family, ReturnArea* out);
IMPORT(UDP, "[method]udp-socket.start-bind")
void start_bind(int32_t self, int32_t network, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t,
                int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, ReturnArea* out);
IMPORT(UDP, "[method]udp-socket.finish-bind") void finish_bind(int32_t self, ReturnArea* out);
IMPORT(UDP, "[method]udp-socket.local-address") void local_address(int32_t self, ReturnArea* out);
// stream(remote-address: option<ip-socket-address>): the option's case, then the address.
IMPORT(UDP, "[method]udp-socket.stream")
void udp_stream(int32_t self, int32_t has_remote, int32_t, int32_t, int32_t, int32_t, int32_t,
                int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, ReturnArea* out);
IMPORT(UDP, "[method]outgoing-datagram-stream.check-send")
void check_send(int32_t self, ReturnArea* out);
IMPORT(UDP, "[method]outgoing-datagram-stream.send")
void send_datagrams(int32_t self, const void* datagrams, size_t count, ReturnArea* out);
IMPORT(UDP, "[method]outgoing-datagram-stream.subscribe") int32_t subscribe_out(int32_t self);
IMPORT(UDP, "[method]incoming-datagram-stream.receive")
void receive(int32_t self, uint64_t max_results, ReturnArea* out);
IMPORT(UDP, "[method]incoming-datagram-stream.subscribe") int32_t subscribe_in(int32_t self);
IMPORT(UDP, "[resource-drop]incoming-datagram-stream") void drop_incoming(int32_t handle);
IMPORT(UDP, "[resource-drop]outgoing-datagram-stream") void drop_outgoing(int32_t handle);
IMPORT(UDP, "[resource-drop]udp-socket") void drop_socket(int32_t handle);

// outgoing-datagram { data: list<u8>, remote-address: option<ip-socket-address> } in memory:
// the list at 0, the option's case at 8 and its ip-socket-address at 12 (case at 12, an ipv4
// payload at 16: port, then the four octets): 44 bytes, 4-aligned.
typedef struct {
  const uint8_t* data;
  uint32_t size;
  uint8_t has_address;
  uint8_t pad0[3];
  uint8_t address_case;  // 0: ipv4
  uint8_t pad1[3];
  uint16_t port;
  uint8_t octets[4];
  uint8_t rest[22];
} OutgoingDatagram;
_Static_assert(sizeof(OutgoingDatagram) == 44, "outgoing-datagram is 44 bytes");

// Prints "STEP failed: error-code N" when `r` holds result<T, error-code>'s error, the error
// at `at` (the payload's offset).
static int failed_at(const char* step, const ReturnArea* r, size_t at) {
  if (r->bytes[0] == 0) return 0;
  print(step);
  print_number(" failed: error-code ", r->bytes[at]);
  return 1;
}

// A socket bound to 127.0.0.1 at a port the host picks; its port in `*port`.
static int bound_socket(int32_t network, int32_t* socket, uint16_t* port) {
  ReturnArea r;
  create_udp_socket(0, &r);  // ipv4
  if (failed_at("create-udp-socket", &r, 4)) return 1;
  *socket = *(int32_t*)(r.bytes + 4);
  start_bind(*socket, network, IPV4(0, 127, 0, 0, 1), &r);
  if (failed_at("start-bind", &r, 1)) return 1;
  finish_bind(*socket, &r);
  if (failed_at("finish-bind", &r, 1)) return 1;
  // result<ip-socket-address, error-code>: the address at 4, its ipv4 payload (port first) at 8.
  local_address(*socket, &r);
  if (failed_at("local-address", &r, 4)) return 1;
  *port = *(uint16_t*)(r.bytes + 8);
  return 0;
}

// Sends one datagram on `out` (to `port` on 127.0.0.1, or to the stream's remote address when
// `port` is 0), waiting for permission first.
static int send_line(int32_t out, const char* text, uint16_t port) {
  ReturnArea r;
  const int32_t ready = subscribe_out(out);
  for (;;) {
    check_send(out, &r);  // result<u64, error-code>: the permit at 8
    if (failed_at("check-send", &r, 8)) return 1;
    if (*(uint64_t*)(r.bytes + 8) > 0) break;
    block(ready);
  }
  drop_pollable(ready);
  OutgoingDatagram d = {0};
  d.data = (const uint8_t*)text;
  d.size = (uint32_t)length(text);
  if (port) {
    d.has_address = 1;
    d.port = port;
    d.octets[0] = 127;
    d.octets[3] = 1;
  }
  send_datagrams(out, &d, 1, &r);
  if (failed_at("send", &r, 8)) return 1;
  if (*(uint64_t*)(r.bytes + 8) != 1) {
    print("send took no datagram\n");
    return 1;
  }
  return 0;
}

// Receives one datagram on `in`, prints "WHO got: ..." and gives the sender's port.
static int receive_line(const char* who, int32_t in, uint16_t* from_port) {
  ReturnArea r;
  const int32_t ready = subscribe_in(in);
  for (;;) {
    receive(in, 1, &r);  // result<list<incoming-datagram>, error-code>: the list at 4
    if (failed_at("receive", &r, 4)) return 1;
    if (*(uint32_t*)(r.bytes + 8) > 0) break;
    block(ready);
  }
  drop_pollable(ready);
  // incoming-datagram { data: list<u8> at 0, remote-address at 8 (its ipv4 port at 12) }.
  const uint8_t* datagram = *(const uint8_t**)(r.bytes + 4);
  const uint8_t* data = *(const uint8_t**)datagram;
  const uint32_t size = *(const uint32_t*)(datagram + 4);
  *from_port = *(const uint16_t*)(datagram + 12);
  print(who);
  print(" got: ");
  print_bytes(data, size);
  return 0;
}

__attribute__((export_name("wasi:cli/run@0.2.12#run"))) int32_t run(void) {
  ReturnArea r;
  const int32_t network = instance_network();
  int32_t server, client;
  uint16_t server_port, client_port, from_port;
  if (bound_socket(network, &server, &server_port)) return 1;
  if (bound_socket(network, &client, &client_port)) return 1;
  print(server_port != 0 && client_port != 0 && server_port != client_port
            ? "bound two sockets to ports the host chose\n"
            : "bound to port 0?\n");

  udp_stream(server, 0, IPV4(0, 0, 0, 0, 0), &r);  // not connected
  if (failed_at("stream", &r, 4)) return 1;
  const int32_t server_in = *(int32_t*)(r.bytes + 4), server_out = *(int32_t*)(r.bytes + 8);
  udp_stream(client, 1, IPV4(server_port, 127, 0, 0, 1), &r);  // connected to the server
  if (failed_at("stream", &r, 4)) return 1;
  const int32_t client_in = *(int32_t*)(r.bytes + 4), client_out = *(int32_t*)(r.bytes + 8);

  if (send_line(client_out, "hello over udp\n", 0)) return 1;
  if (receive_line("server", server_in, &from_port)) return 1;
  print(from_port == client_port ? "from the client's port\n" : "from another port?\n");
  if (send_line(server_out, "and back again\n", from_port)) return 1;
  if (receive_line("client", client_in, &from_port)) return 1;
  print(from_port == server_port ? "from the server's port\n" : "from another port?\n");

  drop_incoming(server_in);
  drop_outgoing(server_out);
  drop_incoming(client_in);
  drop_outgoing(client_out);
  drop_socket(client);
  drop_socket(server);
  return 0;
}
