// wasi:sockets' host functions (wasi/sockets.cpp) called directly, as the canonical ABI calls
// them with checked handles, against real loopback sockets the test holds: the states and error
// codes of tcp.wit and udp.wit, the grants (nothing without one), name lookups, and what a
// hostile guest gets (WIT errors or traps, never a crash).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "component/component_instance.h"
#include "component/component_linker.h"
#include "runtime/store.h"
#include "wasi/network_grants.h"
#include "wasi/preview2.h"
#include "wasi/preview2_host.h"

namespace kiln {
namespace {

using component::ComponentValue;
using V = ComponentValue;
using K = ComponentValue::Kind;

// network.error-code cases the tests look for (network.wit's order).
constexpr uint32_t kAccessDenied = 1, kInvalidArgument = 3, kNotInProgress = 7, kWouldBlock = 8,
                   kInvalidState = 9, kNewSocketLimit = 10, kConnectionRefused = 14,
                   kConnectionReset = 15;

wasi::AddressRule rule(const std::string& text) {
  auto parsed = wasi::parse_address_rule(text);
  EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? *parsed : wasi::AddressRule{};
}

wasi::SocketAddress ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  wasi::SocketAddress s;
  s.bytes[0] = a;
  s.bytes[1] = b;
  s.bytes[2] = c;
  s.bytes[3] = d;
  s.port = port;
  return s;
}

TEST(NetworkGrants, RulesNameAddressesNetworksAndPorts) {
  using wasi::address_granted;
  EXPECT_TRUE(address_granted({rule("*")}, ipv4(8, 8, 8, 8, 53)));
  EXPECT_TRUE(address_granted({rule("*")}, ipv4(0, 0, 0, 0, 0)));
  EXPECT_FALSE(address_granted({}, ipv4(127, 0, 0, 1, 80)));  // nothing by default

  EXPECT_TRUE(address_granted({rule("127.0.0.1")}, ipv4(127, 0, 0, 1, 80)));
  EXPECT_FALSE(address_granted({rule("127.0.0.1")}, ipv4(127, 0, 0, 2, 80)));
  EXPECT_TRUE(address_granted({rule("10.0.0.0/8:443")}, ipv4(10, 200, 3, 4, 443)));
  EXPECT_FALSE(address_granted({rule("10.0.0.0/8:443")}, ipv4(10, 200, 3, 4, 80)));
  EXPECT_FALSE(address_granted({rule("10.0.0.0/8:443")}, ipv4(11, 0, 0, 1, 443)));
  EXPECT_TRUE(address_granted({rule("192.168.1.0/25")}, ipv4(192, 168, 1, 127, 1)));
  EXPECT_FALSE(address_granted({rule("192.168.1.0/25")}, ipv4(192, 168, 1, 128, 1)));
  EXPECT_TRUE(address_granted({rule("*:8000-8099")}, ipv4(1, 2, 3, 4, 8050)));
  EXPECT_FALSE(address_granted({rule("*:8000-8099")}, ipv4(1, 2, 3, 4, 8100)));
  // Port 0 (an ephemeral port) only where the rule's ports include it.
  EXPECT_FALSE(address_granted({rule("127.0.0.1:8080")}, ipv4(127, 0, 0, 1, 0)));
  EXPECT_TRUE(address_granted({rule("127.0.0.1:*")}, ipv4(127, 0, 0, 1, 0)));

  wasi::SocketAddress loopback6;
  loopback6.ipv6 = true;
  loopback6.bytes[15] = 1;
  loopback6.port = 8080;
  EXPECT_TRUE(address_granted({rule("[::1]:8080")}, loopback6));
  EXPECT_FALSE(address_granted({rule("127.0.0.1")}, loopback6));  // families do not mix
  EXPECT_TRUE(address_granted({rule("[::/0]")}, loopback6));
  EXPECT_FALSE(address_granted({rule("[fd00::/8]")}, loopback6));

  for (const char* bad : {"", "localhost", "1.2.3.4/33", "::1", "[::1", "[::1]80",
                          "1.2.3.4:", "1.2.3.4:70000", "1.2.3.4:9-8", "[*]", "300.1.1.1"}) {
    auto parsed = wasi::parse_address_rule(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_NE(parsed.error().message.find(std::string("`") + bad + "`"), std::string::npos)
        << parsed.error().message;
  }
}

// A loopback socket the test holds: a listener, a peer or a datagram socket.
class HostSocket {
 public:
  explicit HostSocket(int type) : fd_(::socket(AF_INET, type, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t length = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
  }
  explicit HostSocket(int fd, bool) : fd_(fd) {}
  ~HostSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  uint16_t port_ = 0;
};

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

class WasiSocketsHost : public testing::Test {
 protected:
  void start(wasi::WasiConfig config, EngineConfig engine_config = {}) {
    engine_ = std::make_unique<Engine>(engine_config);
    store_ = std::make_unique<Store>(*engine_);
    auto added = wasi::Preview2::add_to_linker(linker_);
    ASSERT_TRUE(added);
    host_ = *added;
    auto context = wasi::WasiContext::create(std::move(config));
    ASSERT_TRUE(context);
    context_ = std::move(*context);
    host_->attach(*store_, *context_);
    network_ = call("wasi:sockets/instance-network", "instance-network", {}).rep;
  }
  void start_granting_loopback() {
    wasi::WasiConfig config;
    config.allowed_tcp = {rule("127.0.0.1")};
    config.allowed_udp = {rule("127.0.0.1")};
    config.allow_ip_name_lookup = true;
    start(std::move(config));
  }

  V call(const std::string& interface, const std::string& function, std::vector<V> args,
         std::string* trap = nullptr) {
    const auto* callback = linker_.host_function(interface + "@0.2.12#" + function);
    EXPECT_NE(callback, nullptr) << function;
    if (!callback) return V{};
    std::optional<V> result;
    TrapPtr t = (*callback)(*store_, component::resolved::FunctionType{}, args, result);
    if (trap) {
      *trap = t ? t->message : "";
    } else {
      EXPECT_EQ(t, nullptr) << function << ": " << t->message;
    }
    return result.value_or(V{});
  }
  V tcp(const std::string& method, uint32_t socket, std::vector<V> more = {},
        std::string* trap = nullptr) {
    more.insert(more.begin(), borrow("tcp-socket", socket));
    return call("wasi:sockets/tcp", "[method]tcp-socket." + method, std::move(more), trap);
  }
  V udp(const std::string& method, uint32_t socket, std::vector<V> more = {}) {
    more.insert(more.begin(), borrow("udp-socket", socket));
    return call("wasi:sockets/udp", "[method]udp-socket." + method, std::move(more));
  }
  V borrow(const std::string& resource, uint32_t rep) {
    V v = V::own(host_->resource_type(resource), rep);
    v.kind = K::kBorrow;
    return v;
  }
  V network() { return borrow("network", network_); }
  static V family(bool ipv6) {
    V e;
    e.kind = K::kEnum;
    e.index = ipv6 ? 1 : 0;
    return e;
  }
  static V address(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    V bytes;
    bytes.kind = K::kTuple;
    for (uint8_t x : {a, b, c, d}) bytes.items.push_back(V::integer(K::kU8, x));
    V record;
    record.kind = K::kRecord;
    record.items = {V::integer(K::kU16, port), bytes};
    V v;
    v.kind = K::kVariant;
    v.index = 0;
    v.items.push_back(record);
    return v;
  }
  static V loopback(uint16_t port) { return address(127, 0, 0, 1, port); }
  static uint16_t port_of(const V& ip_socket_address) {
    return static_cast<uint16_t>(ip_socket_address.items[0].items[0].bits);
  }
  // An error result's network.error-code, or -1 for ok.
  static int64_t error_of(const V& result) {
    EXPECT_EQ(result.kind, K::kResult);
    return result.index == 0 ? -1 : static_cast<int64_t>(result.items[0].index);
  }
  uint32_t new_tcp_socket() {
    V created = call("wasi:sockets/tcp-create-socket", "create-tcp-socket", {family(false)});
    EXPECT_EQ(error_of(created), -1);
    return created.items[0].rep;
  }
  uint32_t new_udp_socket() {
    V created = call("wasi:sockets/udp-create-socket", "create-udp-socket", {family(false)});
    EXPECT_EQ(error_of(created), -1);
    return created.items[0].rep;
  }
  void block_on(uint32_t pollable) {
    call("wasi:io/poll", "[method]pollable.block", {borrow("pollable", pollable)});
  }
  // Connects a new socket to 127.0.0.1:`port`: its streams (input, output) once connected.
  std::pair<uint32_t, uint32_t> connect(uint16_t port, uint32_t* socket_out = nullptr) {
    const uint32_t socket = new_tcp_socket();
    if (socket_out) *socket_out = socket;
    EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), loopback(port)})), -1);
    block_on(tcp("subscribe", socket).rep);
    V done = tcp("finish-connect", socket);
    EXPECT_EQ(error_of(done), -1);
    if (done.index != 0) return {0, 0};
    return {done.items[0].items[0].rep, done.items[0].items[1].rep};
  }
  V stream(const std::string& method, const char* resource, uint32_t rep, std::vector<V> more = {},
           std::string* trap = nullptr) {
    more.insert(more.begin(), borrow(resource, rep));
    return call("wasi:io/streams", "[method]" + std::string(resource) + "." + method,
                std::move(more), trap);
  }

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Store> store_;
  component::ComponentLinker linker_;
  std::shared_ptr<const wasi::Preview2> host_;
  std::unique_ptr<wasi::WasiContext> context_;
  uint32_t network_ = 0;
};

TEST_F(WasiSocketsHost, TcpConnectsWritesReadsAndShutsDown) {
  start_granting_loopback();
  HostSocket listener(SOCK_STREAM);
  ASSERT_EQ(::listen(listener.fd(), 4), 0);
  uint32_t socket = 0;
  auto [input, output] = connect(listener.port(), &socket);
  HostSocket peer(::accept(listener.fd(), nullptr, nullptr), true);
  ASSERT_GE(peer.fd(), 0);

  V remote = tcp("remote-address", socket);
  ASSERT_EQ(error_of(remote), -1);
  EXPECT_EQ(port_of(remote.items[0]), listener.port());
  EXPECT_EQ(error_of(tcp("local-address", socket)), -1);
  EXPECT_EQ(tcp("is-listening", socket).bits, 0u);

  // Out: check-write, write, blocking-flush.
  V permit = stream("check-write", "output-stream", output);
  ASSERT_EQ(permit.index, 0u);
  EXPECT_GT(permit.items[0].bits, 0u);
  EXPECT_EQ(stream("write", "output-stream", output, {V::bytes("ping")}).index, 0u);
  EXPECT_EQ(stream("blocking-flush", "output-stream", output).index, 0u);
  char got[16] = {};
  ASSERT_EQ(::recv(peer.fd(), got, sizeof got, 0), 4);
  EXPECT_EQ(std::string(got, 4), "ping");

  // In: nothing there yet is an empty read; blocking-read waits for the peer's bytes.
  V nothing = stream("read", "input-stream", input, {V::integer(K::kU64, 100)});
  ASSERT_EQ(nothing.index, 0u);
  EXPECT_EQ(nothing.items[0].list_size(), 0u);
  ASSERT_EQ(::send(peer.fd(), "pong", 4, 0), 4);
  V pong = stream("blocking-read", "input-stream", input, {V::integer(K::kU64, 100)});
  ASSERT_EQ(pong.index, 0u);
  EXPECT_EQ(wasi::preview2::bytes_of(pong.items[0]), "pong");

  // shutdown(send): the peer sees the end; the output stream is closed.
  V send_side;
  send_side.kind = K::kEnum;
  send_side.index = 1;
  EXPECT_EQ(error_of(tcp("shutdown", socket, {send_side})), -1);
  EXPECT_EQ(::recv(peer.fd(), got, sizeof got, 0), 0);
  V after = stream("check-write", "output-stream", output);
  ASSERT_EQ(after.index, 1u);
  EXPECT_EQ(after.items[0].index, 1u);  // stream-error.closed

  // The peer closes: the guest reads the end as closed.
  peer.close();
  V end = stream("blocking-read", "input-stream", input, {V::integer(K::kU64, 100)});
  ASSERT_EQ(end.index, 1u);
  EXPECT_EQ(end.items[0].index, 1u);
}

TEST_F(WasiSocketsHost, TcpListensAndAccepts) {
  start_granting_loopback();
  const uint32_t listener = new_tcp_socket();
  EXPECT_EQ(error_of(tcp("finish-bind", listener)), kNotInProgress);
  EXPECT_EQ(error_of(tcp("start-listen", listener)), kInvalidState);  // not bound
  EXPECT_EQ(error_of(tcp("local-address", listener)), kInvalidState);
  EXPECT_EQ(error_of(tcp("start-bind", listener, {network(), loopback(0)})), -1);
  EXPECT_EQ(error_of(tcp("finish-bind", listener)), -1);
  EXPECT_EQ(error_of(tcp("start-bind", listener, {network(), loopback(0)})), kInvalidState);
  EXPECT_EQ(error_of(tcp("start-listen", listener)), -1);
  EXPECT_EQ(error_of(tcp("finish-listen", listener)), -1);
  EXPECT_EQ(tcp("is-listening", listener).bits, 1u);
  EXPECT_EQ(error_of(tcp("accept", listener)), kWouldBlock);
  V local = tcp("local-address", listener);
  ASSERT_EQ(error_of(local), -1);
  const uint16_t port = port_of(local.items[0]);
  ASSERT_NE(port, 0);

  HostSocket client(connect_to(port), true);
  block_on(tcp("subscribe", listener).rep);
  V accepted = tcp("accept", listener);
  ASSERT_EQ(error_of(accepted), -1);
  const uint32_t connection = accepted.items[0].items[0].rep;
  const uint32_t input = accepted.items[0].items[1].rep;
  ASSERT_EQ(::send(client.fd(), "hello", 5, 0), 5);
  V got = stream("blocking-read", "input-stream", input, {V::integer(K::kU64, 5)});
  ASSERT_EQ(got.index, 0u);
  EXPECT_EQ(wasi::preview2::bytes_of(got.items[0]), "hello");
  EXPECT_EQ(error_of(tcp("remote-address", connection)), -1);
  // A listening socket takes no connect.
  EXPECT_EQ(error_of(tcp("start-connect", listener, {network(), loopback(port)})), kInvalidState);
}

TEST_F(WasiSocketsHost, NothingIsGrantedByDefault) {
  start({});
  const uint32_t socket = new_tcp_socket();  // a socket alone reaches nothing
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), loopback(80)})), kAccessDenied);
  EXPECT_EQ(error_of(tcp("start-bind", socket, {network(), loopback(0)})), kAccessDenied);
  const uint32_t datagrams = new_udp_socket();
  EXPECT_EQ(error_of(udp("start-bind", datagrams, {network(), loopback(0)})), kAccessDenied);
  V lookup =
      call("wasi:sockets/ip-name-lookup", "resolve-addresses", {network(), V::string("localhost")});
  EXPECT_EQ(error_of(lookup), kAccessDenied);
}

TEST_F(WasiSocketsHost, GrantsAreExactAboutAddressAndPort) {
  wasi::WasiConfig config;
  config.allowed_tcp = {rule("127.0.0.1:1-1000")};
  start(std::move(config));
  const uint32_t socket = new_tcp_socket();
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), loopback(1001)})), kAccessDenied);
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), address(127, 0, 0, 2, 80)})),
            kAccessDenied);
  EXPECT_EQ(error_of(tcp("start-bind", socket, {network(), loopback(0)})), kAccessDenied);
}

TEST_F(WasiSocketsHost, TcpRefusesBadAddressesAndFailedConnectionsClose) {
  start_granting_loopback();
  const uint32_t socket = new_tcp_socket();
  // Port 0, the unspecified address, broadcast: invalid-argument, and the socket stays usable.
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), loopback(0)})), kInvalidArgument);
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), address(0, 0, 0, 0, 80)})),
            kInvalidArgument);
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), address(255, 255, 255, 255, 80)})),
            kInvalidArgument);
  // An IPv6 address for an IPv4 socket.
  V v6;
  v6.kind = K::kVariant;
  v6.index = 1;
  V record;
  record.kind = K::kRecord;
  V bytes;
  bytes.kind = K::kTuple;
  for (int i = 0; i < 8; ++i) bytes.items.push_back(V::integer(K::kU16, i == 7 ? 1 : 0));
  record.items = {V::integer(K::kU16, 80), V::integer(K::kU32, 0), bytes, V::integer(K::kU32, 0)};
  v6.items.push_back(record);
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), v6})), kInvalidArgument);
  EXPECT_EQ(error_of(tcp("finish-connect", socket)), kNotInProgress);

  // A port nobody listens on: connection-refused at finish-connect, then only drop is left.
  HostSocket closed(SOCK_STREAM);
  const uint16_t port = closed.port();
  closed.close();
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), loopback(port)})), -1);
  block_on(tcp("subscribe", socket).rep);
  EXPECT_EQ(error_of(tcp("finish-connect", socket)), kConnectionRefused);
  EXPECT_EQ(error_of(tcp("start-connect", socket, {network(), loopback(port)})), kInvalidState);
  EXPECT_EQ(error_of(tcp("local-address", socket)), kInvalidState);

  // A value that is not an ip-socket-address (a guest that imported another type) traps.
  V not_an_address;
  not_an_address.kind = K::kVariant;
  not_an_address.index = 0;
  std::string trap;
  tcp("start-connect", new_tcp_socket(), {network(), not_an_address}, &trap);
  EXPECT_NE(trap.find("not an ip-socket-address"), std::string::npos) << trap;
}

TEST_F(WasiSocketsHost, TcpOptionsRefuseZeroAndReadBack) {
  start_granting_loopback();
  const uint32_t socket = new_tcp_socket();
  EXPECT_EQ(error_of(tcp("set-keep-alive-enabled", socket, {V::integer(K::kBool, 1)})), -1);
  EXPECT_EQ(tcp("keep-alive-enabled", socket).items[0].bits, 1u);
  EXPECT_EQ(error_of(tcp("set-keep-alive-idle-time", socket, {V::integer(K::kU64, 0)})),
            kInvalidArgument);
  // Durations round up to whole seconds.
  EXPECT_EQ(error_of(tcp("set-keep-alive-idle-time", socket, {V::integer(K::kU64, 1500000000ull)})),
            -1);
  EXPECT_EQ(tcp("keep-alive-idle-time", socket).items[0].bits, 2000000000ull);
  EXPECT_EQ(error_of(tcp("set-keep-alive-count", socket, {V::integer(K::kU32, 5)})), -1);
  EXPECT_EQ(tcp("keep-alive-count", socket).items[0].bits, 5u);
  EXPECT_EQ(error_of(tcp("set-hop-limit", socket, {V::integer(K::kU8, 0)})), kInvalidArgument);
  EXPECT_EQ(error_of(tcp("set-hop-limit", socket, {V::integer(K::kU8, 9)})), -1);
  EXPECT_EQ(tcp("hop-limit", socket).items[0].bits, 9u);
  EXPECT_EQ(error_of(tcp("set-receive-buffer-size", socket, {V::integer(K::kU64, 0)})),
            kInvalidArgument);
  EXPECT_EQ(error_of(tcp("set-listen-backlog-size", socket, {V::integer(K::kU64, 0)})),
            kInvalidArgument);
  EXPECT_EQ(tcp("address-family", socket).index, 0u);
}

TEST_F(WasiSocketsHost, ResetConnectionIsAStreamErrorWithItsNetworkCode) {
  start_granting_loopback();
  HostSocket listener(SOCK_STREAM);
  ASSERT_EQ(::listen(listener.fd(), 4), 0);
  auto [input, output] = connect(listener.port());
  const int peer = ::accept(listener.fd(), nullptr, nullptr);
  struct linger abort_on_close {
    1, 0
  };
  ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  ::close(peer);  // a reset, not an orderly end
  V failed = stream("blocking-read", "input-stream", input, {V::integer(K::kU64, 10)});
  ASSERT_EQ(failed.index, 1u);
  ASSERT_EQ(failed.items[0].index, 0u);  // last-operation-failed(error)
  const uint32_t error = failed.items[0].items[0].rep;
  V code = call("wasi:sockets/network", "network-error-code", {borrow("error", error)});
  ASSERT_EQ(code.index, 1u);
  EXPECT_EQ(code.items[0].index, kConnectionReset);
  // It is not a file system error.
  EXPECT_EQ(call("wasi:filesystem/types", "filesystem-error-code", {borrow("error", error)}).index,
            0u);
  (void)output;
}

TEST_F(WasiSocketsHost, BlockedReadEndsAtTheDeadline) {
  EngineConfig engine_config;
  engine_config.epoch_interruption = true;
  wasi::WasiConfig config;
  config.allowed_tcp = {rule("127.0.0.1")};
  start(std::move(config), engine_config);
  HostSocket listener(SOCK_STREAM);
  ASSERT_EQ(::listen(listener.fd(), 4), 0);
  auto [input, output] = connect(listener.port());
  store_->set_epoch_deadline(1);
  engine_->increment_epoch();
  const auto start = std::chrono::steady_clock::now();
  std::string trap;
  stream("blocking-read", "input-stream", input, {V::integer(K::kU64, 10)}, &trap);
  EXPECT_NE(trap.find("deadline"), std::string::npos) << trap;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  (void)output;
}

TEST_F(WasiSocketsHost, SocketsCountAgainstTheDescriptorLimit) {
  wasi::WasiConfig config;
  config.max_open_files = 5;  // stdio takes 3
  start(std::move(config));
  const uint32_t first = new_tcp_socket();
  new_udp_socket();
  V refused = call("wasi:sockets/tcp-create-socket", "create-tcp-socket", {family(false)});
  EXPECT_EQ(error_of(refused), kNewSocketLimit);
  // Dropping one gives its place back.
  host_->resource_type("tcp-socket")->host_destructor(*store_, first);
  EXPECT_EQ(error_of(call("wasi:sockets/tcp-create-socket", "create-tcp-socket", {family(false)})),
            -1);
}

TEST_F(WasiSocketsHost, UdpSendsAndReceivesDatagrams) {
  start_granting_loopback();
  HostSocket peer(SOCK_DGRAM);
  const uint32_t socket = new_udp_socket();
  EXPECT_EQ(error_of(udp("start-bind", socket, {network(), loopback(0)})), -1);
  EXPECT_EQ(error_of(udp("finish-bind", socket)), -1);
  V none;
  none.kind = K::kOption;
  V streams = udp("stream", socket, {none});
  ASSERT_EQ(error_of(streams), -1);
  const uint32_t incoming = streams.items[0].items[0].rep;
  const uint32_t outgoing = streams.items[0].items[1].rep;
  const uint16_t port = port_of(udp("local-address", socket).items[0]);

  // In: the peer's datagram, with its address.
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  ASSERT_EQ(::sendto(peer.fd(), "hi", 2, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 2);
  block_on(call("wasi:sockets/udp", "[method]incoming-datagram-stream.subscribe",
                {borrow("incoming-datagram-stream", incoming)})
               .rep);
  V received = call("wasi:sockets/udp", "[method]incoming-datagram-stream.receive",
                    {borrow("incoming-datagram-stream", incoming), V::integer(K::kU64, 8)});
  ASSERT_EQ(error_of(received), -1);
  ASSERT_EQ(received.items[0].items.size(), 1u);
  EXPECT_EQ(wasi::preview2::bytes_of(received.items[0].items[0].items[0]), "hi");
  EXPECT_EQ(port_of(received.items[0].items[0].items[1]), peer.port());

  // Out: check-send, then send to the peer; more than permitted traps.
  auto datagram = [](const std::string& data, std::optional<V> to) {
    V d;
    d.kind = K::kRecord;
    V option;
    option.kind = K::kOption;
    if (to) {
      option.index = 1;
      option.items.push_back(*to);
    }
    d.items = {V::bytes(data), option};
    return d;
  };
  auto send = [&](std::vector<V> datagrams, std::string* trap = nullptr) {
    return call("wasi:sockets/udp", "[method]outgoing-datagram-stream.send",
                {borrow("outgoing-datagram-stream", outgoing), wasi::preview2::list(datagrams)},
                trap);
  };
  std::string trap;
  send({datagram("x", loopback(peer.port()))}, &trap);
  EXPECT_NE(trap.find("check-send"), std::string::npos) << trap;
  V permit = call("wasi:sockets/udp", "[method]outgoing-datagram-stream.check-send",
                  {borrow("outgoing-datagram-stream", outgoing)});
  ASSERT_EQ(error_of(permit), -1);
  EXPECT_GT(permit.items[0].bits, 0u);
  V sent = send({datagram("back", loopback(peer.port()))});
  ASSERT_EQ(error_of(sent), -1);
  EXPECT_EQ(sent.items[0].bits, 1u);
  char got[16] = {};
  EXPECT_EQ(::recv(peer.fd(), got, sizeof got, 0), 4);
  EXPECT_EQ(std::string(got, 4), "back");
  // Not granted: access-denied; no address on an unconnected stream: invalid-argument.
  EXPECT_EQ(error_of(send({datagram("x", address(10, 0, 0, 1, 53))})), kAccessDenied);
  EXPECT_EQ(error_of(send({datagram("x", std::nullopt)})), kInvalidArgument);

  // A second stream() while the first pair lives traps (udp.wit allows it).
  const auto* callback = linker_.host_function("wasi:sockets/udp@0.2.12#[method]udp-socket.stream");
  std::optional<V> result;
  TrapPtr t = (*callback)(*store_, {}, {borrow("udp-socket", socket), none}, result);
  ASSERT_NE(t, nullptr);
  EXPECT_NE(t->message.find("not dropped"), std::string::npos) << t->message;
}

TEST_F(WasiSocketsHost, NamesAreLookedUpOffThread) {
  start_granting_loopback();
  auto resolve = [&](const std::string& name) {
    return call("wasi:sockets/ip-name-lookup", "resolve-addresses", {network(), V::string(name)});
  };
  auto next = [&](uint32_t stream) {
    return call("wasi:sockets/ip-name-lookup",
                "[method]resolve-address-stream.resolve-next-address",
                {borrow("resolve-address-stream", stream)});
  };
  // An address is its own answer.
  V literal = resolve("192.0.2.7");
  ASSERT_EQ(error_of(literal), -1);
  V first = next(literal.items[0].rep);
  ASSERT_EQ(error_of(first), -1);
  ASSERT_EQ(first.items[0].index, 1u);  // some
  EXPECT_EQ(first.items[0].items[0].items[0].items[3].bits, 7u);
  EXPECT_EQ(next(literal.items[0].rep).items[0].index, 0u);  // then none

  EXPECT_EQ(error_of(resolve("not a name")), kInvalidArgument);
  EXPECT_EQ(error_of(resolve("")), kInvalidArgument);
  EXPECT_EQ(error_of(resolve(std::string(300, 'a'))), kInvalidArgument);

  // localhost, from the host's resolver on its thread: wait on the pollable.
  V lookup = resolve("localhost");
  ASSERT_EQ(error_of(lookup), -1);
  block_on(call("wasi:sockets/ip-name-lookup", "[method]resolve-address-stream.subscribe",
                {borrow("resolve-address-stream", lookup.items[0].rep)})
               .rep);
  V answer = next(lookup.items[0].rep);
  ASSERT_EQ(error_of(answer), -1);
  EXPECT_EQ(answer.items[0].index, 1u);  // at least one address
}

}  // namespace
}  // namespace kiln
