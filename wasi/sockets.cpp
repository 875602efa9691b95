// wasi:sockets@0.2.12 (network, instance-network, tcp, tcp-create-socket, udp,
// udp-create-socket, ip-name-lookup) over non-blocking host sockets. Every address a guest
// binds, connects or sends to must be granted (WasiConfig::allowed_tcp / allowed_udp), and
// names are looked up only with allow_ip_name_lookup; anything else is `access-denied`.
// The state machines and error codes are those of tcp.wit and udp.wit's doc comments (and
// the proposal's TcpSocketOperationalSemantics).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <thread>

#include "wasi/preview2_host.h"

namespace kiln::wasi::preview2 {

// network.error-code, in the WIT's order.
enum class NetworkError : uint8_t {
  kUnknown,
  kAccessDenied,
  kNotSupported,
  kInvalidArgument,
  kOutOfMemory,
  kTimeout,
  kConcurrencyConflict,
  kNotInProgress,
  kWouldBlock,
  kInvalidState,
  kNewSocketLimit,
  kAddressNotBindable,
  kAddressInUse,
  kRemoteUnreachable,
  kConnectionRefused,
  kConnectionReset,
  kConnectionAborted,
  kDatagramTooLarge,
  kNameUnresolvable,
  kTemporaryResolverFailure,
  kPermanentResolverFailure,
};

// tcp.wit's states (`bound` and above count as bound).
struct TcpSocket {
  enum class Phase : uint8_t {
    kUnbound,
    kBindStarted,
    kBound,
    kListenStarted,
    kListening,
    kConnectStarted,
    kConnected,
    kClosed,  // a connection attempt failed: only drop is left
  };
  std::shared_ptr<TcpStream> io;  // the descriptor, and the streams once connected
  bool ipv6 = false;
  Phase phase = Phase::kUnbound;
  int backlog = 128;
};

struct UdpSocket {
  enum class Phase : uint8_t { kUnbound, kBindStarted, kBound };
  explicit UdpSocket(int descriptor) : fd(descriptor) {}
  ~UdpSocket() { ::close(fd); }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  int fd;
  bool ipv6 = false;
  Phase phase = Phase::kUnbound;
  std::optional<SocketAddress> remote;  // set by stream(some(address))
  std::weak_ptr<void> streams;          // alive while the last stream() pair is
};

struct IncomingDatagrams {
  std::shared_ptr<UdpSocket> socket;
  std::shared_ptr<void> alive;
};

struct OutgoingDatagrams {
  std::shared_ptr<UdpSocket> socket;
  std::shared_ptr<void> alive;
  uint64_t permit = 0;  // datagrams the last check-send allowed
};

// A name lookup runs on a thread of its own (getaddrinfo blocks; resolve-addresses must not):
// it fills the results (under `mutex`) and completes, which the lookup's pollable waits for.
struct NameLookup : Completion {
  std::optional<NetworkError> error;
  std::vector<SocketAddress> addresses;
  size_t next = 0;
};

namespace {

constexpr uint32_t kMaxLookupsInFlight = 16;      // per store: each is a host thread
constexpr uint64_t kDatagramsPerCheck = 64;       // what check-send permits at once
constexpr size_t kMaxDatagramBytes = 65535;       // the largest UDP payload, with its header
constexpr uint64_t kMaxDatagramsPerReceive = 64;  // datagrams one receive call returns at most

using Args = const std::vector<V>&;
using Out = std::optional<V>&;

V enum_value(uint32_t index) {
  V e;
  e.kind = K::kEnum;
  e.index = index;
  return e;
}
V failed(NetworkError code) {
  return err(enum_value(static_cast<uint32_t>(code)));
}
V tuple(std::vector<V> items) {
  V t;
  t.kind = K::kTuple;
  t.items = std::move(items);
  return t;
}

// errno as network.error-code: the typical errors of tcp.wit and udp.wit.
NetworkError code_of(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return NetworkError::kAccessDenied;
    case EOPNOTSUPP:
    case EPROTONOSUPPORT:
      return NetworkError::kNotSupported;
    case EINVAL:
    case EAFNOSUPPORT:
    case EDESTADDRREQ:
      return NetworkError::kInvalidArgument;
    case ENOMEM:
    case ENOBUFS:
      return NetworkError::kOutOfMemory;
    case ETIMEDOUT:
      return NetworkError::kTimeout;
    case EALREADY:
      return NetworkError::kConcurrencyConflict;
    case EAGAIN:
      return NetworkError::kWouldBlock;
    case EISCONN:
    case ENOTCONN:
      return NetworkError::kInvalidState;
    case EMFILE:
    case ENFILE:
      return NetworkError::kNewSocketLimit;
    case EADDRNOTAVAIL:
      return NetworkError::kAddressNotBindable;
    case EADDRINUSE:
      return NetworkError::kAddressInUse;
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETUNREACH:
    case ENETDOWN:
    case ENONET:
      return NetworkError::kRemoteUnreachable;
    case ECONNREFUSED:
      return NetworkError::kConnectionRefused;
    case ECONNRESET:
    case EPIPE:
    case ENETRESET:
      return NetworkError::kConnectionReset;
    case ECONNABORTED:
      return NetworkError::kConnectionAborted;
    case EMSGSIZE:
      return NetworkError::kDatagramTooLarge;
    default:
      return NetworkError::kUnknown;
  }
}
// A connect's errors: there EADDRNOTAVAIL is an implicit bind without a free port.
NetworkError connect_code_of(int error) {
  return error == EADDRNOTAVAIL ? NetworkError::kAddressInUse : code_of(error);
}

// ---- addresses ----

bool is_integer(const V& v, K kind) {
  return v.kind == kind;
}

// An ip-socket-address value; nullopt when it has another shape (the guest imported the
// function with another type).
std::optional<SocketAddress> address_from(const V& v) {
  if (v.kind != K::kVariant || v.items.size() != 1 || v.items[0].kind != K::kRecord) {
    return std::nullopt;
  }
  const V& r = v.items[0];
  SocketAddress a;
  if (v.index == 0) {  // ipv4(ipv4-socket-address { port, address: tuple<u8 x4> })
    if (r.items.size() != 2 || !is_integer(r.items[0], K::kU16) || r.items[1].kind != K::kTuple ||
        r.items[1].items.size() != 4) {
      return std::nullopt;
    }
    for (size_t i = 0; i < 4; ++i) {
      if (!is_integer(r.items[1].items[i], K::kU8)) return std::nullopt;
      a.bytes[i] = static_cast<uint8_t>(r.items[1].items[i].bits);
    }
    a.port = static_cast<uint16_t>(r.items[0].bits);
    return a;
  }
  if (v.index != 1) return std::nullopt;
  // ipv6(ipv6-socket-address { port, flow-info, address: tuple<u16 x8>, scope-id })
  if (r.items.size() != 4 || !is_integer(r.items[0], K::kU16) || !is_integer(r.items[1], K::kU32) ||
      r.items[2].kind != K::kTuple || r.items[2].items.size() != 8 ||
      !is_integer(r.items[3], K::kU32)) {
    return std::nullopt;
  }
  a.ipv6 = true;
  for (size_t i = 0; i < 8; ++i) {
    if (!is_integer(r.items[2].items[i], K::kU16)) return std::nullopt;
    a.bytes[2 * i] = static_cast<uint8_t>(r.items[2].items[i].bits >> 8);
    a.bytes[2 * i + 1] = static_cast<uint8_t>(r.items[2].items[i].bits);
  }
  a.port = static_cast<uint16_t>(r.items[0].bits);
  a.flow_info = static_cast<uint32_t>(r.items[1].bits);
  a.scope_id = static_cast<uint32_t>(r.items[3].bits);
  return a;
}

V ip_address_value(const SocketAddress& a) {
  V address;
  address.kind = K::kTuple;
  if (a.ipv6) {
    for (size_t i = 0; i < 8; ++i) {
      address.items.push_back(
          V::integer(K::kU16, static_cast<uint64_t>(a.bytes[2 * i]) << 8 | a.bytes[2 * i + 1]));
    }
  } else {
    for (size_t i = 0; i < 4; ++i) address.items.push_back(V::integer(K::kU8, a.bytes[i]));
  }
  return address;
}

V address_value(const SocketAddress& a) {
  V record;
  record.kind = K::kRecord;
  if (a.ipv6) {
    record.items = {V::integer(K::kU16, a.port), V::integer(K::kU32, a.flow_info),
                    ip_address_value(a), V::integer(K::kU32, a.scope_id)};
  } else {
    record.items = {V::integer(K::kU16, a.port), ip_address_value(a)};
  }
  V v;
  v.kind = K::kVariant;
  v.index = a.ipv6 ? 1 : 0;
  v.items.push_back(std::move(record));
  return v;
}

socklen_t to_sockaddr(const SocketAddress& a, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof storage);
  if (a.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(a.port);
    in6->sin6_flowinfo = htonl(a.flow_info);
    in6->sin6_scope_id = a.scope_id;
    std::memcpy(&in6->sin6_addr, a.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(a.port);
  std::memcpy(&in->sin_addr, a.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

std::optional<SocketAddress> from_sockaddr(const sockaddr_storage& storage) {
  SocketAddress a;
  if (storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    a.ipv6 = true;
    a.port = ntohs(in6->sin6_port);
    a.flow_info = ntohl(in6->sin6_flowinfo);
    a.scope_id = in6->sin6_scope_id;
    std::memcpy(a.bytes.data(), &in6->sin6_addr, 16);
    return a;
  }
  if (storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    a.port = ntohs(in->sin_port);
    std::memcpy(a.bytes.data(), &in->sin_addr, 4);
    return a;
  }
  return std::nullopt;
}

bool is_unspecified(const SocketAddress& a) {
  const size_t n = a.ipv6 ? 16 : 4;
  return std::all_of(a.bytes.begin(), a.bytes.begin() + n, [](uint8_t b) { return b == 0; });
}
bool is_ipv4_mapped(const SocketAddress& a) {
  return a.ipv6 &&
         std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](uint8_t b) { return !b; }) &&
         a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}
bool is_unicast(const SocketAddress& a) {
  if (a.ipv6) return a.bytes[0] != 0xff;
  const bool multicast = (a.bytes[0] & 0xf0) == 0xe0;
  const bool broadcast =
      a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255;
  return !multicast && !broadcast;
}

// What tcp.wit and udp.wit refuse of any address before the host is asked: the wrong family,
// an IPv4-mapped IPv6 address, one that is not unicast; for a remote address also the
// unspecified address and port 0.
std::optional<NetworkError> refuse_address(const SocketAddress& a, bool socket_ipv6, bool remote) {
  if (a.ipv6 != socket_ipv6 || is_ipv4_mapped(a) || !is_unicast(a)) {
    return NetworkError::kInvalidArgument;
  }
  if (remote && (is_unspecified(a) || a.port == 0)) return NetworkError::kInvalidArgument;
  return std::nullopt;
}

std::optional<SocketAddress> socket_name(int fd, bool peer) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  if (r != 0) return std::nullopt;
  return from_sockaddr(storage);
}

// ---- socket options ----

std::optional<int> get_option(int fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, level, name, &value, &length) != 0) return std::nullopt;
  return value;
}
V set_option(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) return failed(code_of(errno));
  return ok();
}
V option_result(int fd, int level, int name, K kind, uint64_t scale = 1) {
  auto value = get_option(fd, level, name);
  if (!value) return failed(code_of(errno));
  return ok(V::integer(kind, static_cast<uint64_t>(*value) * scale));
}

// A socket option as tcp.wit and udp.wit have it: a getter and a setter (`set-NAME`, its
// argument of kind `letter`). A zero for a setter that refuses it is invalid-argument; values
// are clamped to what Linux takes (the WIT allows it), durations rounded up to seconds.
// Level and option -1: the hop limit, IP_TTL or IPV6_UNICAST_HOPS by the socket's family.
struct SocketOption {
  const char* name;
  int level, option;
  K kind;
  char letter;
  uint64_t scale;     // guest units per host unit (nanoseconds per second)
  int64_t low, high;  // host units
  bool zero_is_invalid;

  std::pair<int, int> level_and_option(bool ipv6) const {
    if (level >= 0) return {level, option};
    return ipv6 ? std::pair{IPPROTO_IPV6, IPV6_UNICAST_HOPS} : std::pair{IPPROTO_IP, IP_TTL};
  }
  V read(int fd, bool ipv6) const {
    const auto [l, o] = level_and_option(ipv6);
    return option_result(fd, l, o, kind, scale);
  }
  V write(int fd, bool ipv6, uint64_t value) const {
    if (zero_is_invalid && value == 0) return failed(NetworkError::kInvalidArgument);
    const uint64_t host_units = value / scale + (value % scale != 0);  // rounded up
    const auto [l, o] = level_and_option(ipv6);
    return set_option(fd, l, o,
                      static_cast<int>(std::clamp<uint64_t>(host_units, static_cast<uint64_t>(low),
                                                            static_cast<uint64_t>(high))));
  }
};

int make_socket(bool ipv6, int type) {
  const int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ipv6) {
    // tcp-create-socket.wit: "IPV6_V6ONLY is enabled by default and can't be configured".
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  return fd;
}

// The address family enum (ipv4, ipv6) as `ipv6`; nullopt for another case.
std::optional<bool> family_from(const V& v) {
  if (v.index > 1) return std::nullopt;
  return v.index == 1;
}

// create-tcp-socket and create-udp-socket: a non-blocking socket of `family` and `socket_type`,
// made a `Socket` by `make` and held in `slab` as a `resource`, counted against the guest's
// descriptor budget (new-socket-limit past it).
template <class Socket, class Make>
TrapPtr create_socket(State* s, const V& family, int socket_type, const char* function,
                      const RuntimeResourceType* resource, Slab<std::shared_ptr<Socket>>& slab,
                      Make make, std::optional<V>& r) {
  const auto ipv6 = family_from(family);
  if (!ipv6) return host_trap(std::string(function) + ": not an address family");
  if (!s->descriptor_budget_left()) {
    r = failed(NetworkError::kNewSocketLimit);
    return nullptr;
  }
  const int fd = make_socket(*ipv6, socket_type);
  if (fd < 0) {
    r = failed(code_of(errno));
    return nullptr;
  }
  std::shared_ptr<Socket> socket = make(fd);
  socket->ipv6 = *ipv6;
  V handle;
  if (TrapPtr t = s->own(resource, slab.add(s->store, socket), handle)) return t;
  ++s->open_descriptors;
  r = ok(std::move(handle));
  return nullptr;
}

// A name lookup's host side: what getaddrinfo gives, as ip-name-lookup.wit wants it (no
// IPv4-mapped addresses, no duplicates), or its error.
void run_lookup(const std::shared_ptr<NameLookup>& lookup, const std::string& name, bool idn) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;  // one entry per address, not one per socket type
#ifdef AI_IDN
  if (idn) hints.ai_flags |= AI_IDN;  // Unicode names in IDNA (ip-name-lookup.wit)
#endif
  addrinfo* found = nullptr;
  const int r = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
  std::vector<SocketAddress> addresses;
  std::optional<NetworkError> error;
  if (r != 0) {
    switch (r) {
      case EAI_NONAME:
#ifdef EAI_NODATA
      case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
      case EAI_ADDRFAMILY:
#endif
        error = NetworkError::kNameUnresolvable;
        break;
      case EAI_AGAIN:
        error = NetworkError::kTemporaryResolverFailure;
        break;
      case EAI_FAIL:
        error = NetworkError::kPermanentResolverFailure;
        break;
      case EAI_MEMORY:
        error = NetworkError::kOutOfMemory;
        break;
      default:
        error = NetworkError::kUnknown;
    }
  }
  for (addrinfo* i = found; i; i = i->ai_next) {
    if (!i->ai_addr || i->ai_addrlen > sizeof(sockaddr_storage)) continue;
    sockaddr_storage storage{};
    std::memcpy(&storage, i->ai_addr, i->ai_addrlen);
    auto a = from_sockaddr(storage);
    if (!a || is_ipv4_mapped(*a)) continue;
    a->port = 0;
    a->flow_info = 0;
    a->scope_id = 0;
    const bool seen = std::any_of(addresses.begin(), addresses.end(), [&](const SocketAddress& b) {
      return b.ipv6 == a->ipv6 && b.bytes == a->bytes;
    });
    if (!seen) addresses.push_back(*a);
  }
  if (found) ::freeaddrinfo(found);
  if (!error && addresses.empty()) error = NetworkError::kNameUnresolvable;
  {
    std::lock_guard<std::mutex> lock(lookup->mutex);
    lookup->addresses = std::move(addresses);
    lookup->error = error;
  }
  lookup->complete();
}

// Whether `name` may be a domain name: 1-253 characters of labels of 1-63, letters, digits,
// `-` and `_` (or non-ASCII: an IDNA name). `idn` says whether it has non-ASCII characters.
bool plausible_domain_name(std::string name, bool& idn) {
  idn = false;
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (unsigned char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (++label > 63) return false;
    if (c >= 0x80) {
      idn = true;
    } else if (!std::isalnum(c) && c != '-' && c != '_') {
      return false;
    }
  }
  return label > 0;
}

class TcpSocketReady final : public PollSource {
 public:
  explicit TcpSocketReady(std::shared_ptr<TcpSocket> socket) : socket_(std::move(socket)) {}
  // Ready when an operation in progress can finish: a connection is made or failed, a
  // connection waits to be accepted. Otherwise at once (the call says what is wrong).
  bool ready() override {
    if (socket_->phase != TcpSocket::Phase::kConnectStarted &&
        socket_->phase != TcpSocket::Phase::kListening) {
      return true;
    }
    struct pollfd p = wait_on();
    return ::poll(&p, 1, 0) != 0;
  }
  struct pollfd wait_on() const override {
    const bool connecting = socket_->phase == TcpSocket::Phase::kConnectStarted;
    return {socket_->io->fd(), static_cast<short>(connecting ? POLLOUT : POLLIN), 0};
  }

 private:
  std::shared_ptr<TcpSocket> socket_;
};

}  // namespace

Result<void> define_sockets(Definer& d, ResourceTypes& t) {
  if (!d.wants_package("wasi:sockets/")) return {};
  const std::string network = "wasi:sockets/network";
  const std::string tcp = "wasi:sockets/tcp";
  const std::string udp = "wasi:sockets/udp";
  const std::string lookup = "wasi:sockets/ip-name-lookup";

  // ---- resources ----
  KILN_SET(t.network, d.resource(network, "network",
                                 [](State* s, uint32_t rep) { s->sockets.networks.remove(rep); }));
  KILN_SET(t.tcp_socket, d.resource(tcp, "tcp-socket", [](State* s, uint32_t rep) {
    if (s->sockets.tcp.get(rep)) --s->open_descriptors;
    s->sockets.tcp.remove(rep);
  }));
  KILN_SET(t.udp_socket, d.resource(udp, "udp-socket", [](State* s, uint32_t rep) {
    if (s->sockets.udp.get(rep)) --s->open_descriptors;
    s->sockets.udp.remove(rep);
  }));
  KILN_SET(t.incoming_datagram_stream,
           d.resource(udp, "incoming-datagram-stream",
                      [](State* s, uint32_t rep) { s->sockets.incoming.remove(rep); }));
  KILN_SET(t.outgoing_datagram_stream,
           d.resource(udp, "outgoing-datagram-stream",
                      [](State* s, uint32_t rep) { s->sockets.outgoing.remove(rep); }));
  KILN_SET(t.resolve_address_stream,
           d.resource(lookup, "resolve-address-stream",
                      [](State* s, uint32_t rep) { s->sockets.lookups.remove(rep); }));
  KILN_TRY(d.alias(network, "error", t.error));
  for (const std::string& interface :
       {tcp, udp, lookup, std::string("wasi:sockets/instance-network")}) {
    KILN_TRY(d.alias(interface, "network", t.network));
  }
  for (const std::string& interface : {tcp, udp, lookup}) {
    KILN_TRY(d.alias(interface, "pollable", t.pollable));
  }
  KILN_TRY(d.alias(tcp, "input-stream", t.input_stream));
  KILN_TRY(d.alias(tcp, "output-stream", t.output_stream));
  KILN_TRY(d.alias("wasi:sockets/tcp-create-socket", "tcp-socket", t.tcp_socket));
  KILN_TRY(d.alias("wasi:sockets/udp-create-socket", "udp-socket", t.udp_socket));

  // ---- network, instance-network ----
  KILN_TRY(d.function(network, "network-error-code", "e", [](State* s, Args a, Out r) -> TrapPtr {
    const StreamError* e = s->errors.get(a[0].rep);
    r = e && e->socket_errno ? some(enum_value(static_cast<uint32_t>(code_of(e->socket_errno))))
                             : none();
    return nullptr;
  }));
  KILN_TRY(d.function("wasi:sockets/instance-network", "instance-network", "",
                      [](State* s, Args, Out r) -> TrapPtr {
                        return s->own(s->network, s->sockets.networks.add(s->store, true),
                                      *(r = V{}));
                      }));

  // ---- tcp-create-socket, udp-create-socket ----
  KILN_TRY(d.function("wasi:sockets/tcp-create-socket", "create-tcp-socket", "n",
                      [](State* s, Args a, Out r) -> TrapPtr {
                        return create_socket(
                            s, a[0], SOCK_STREAM, "create-tcp-socket", s->tcp_socket,
                            s->sockets.tcp,
                            [](int fd) {
                              auto socket = std::make_shared<TcpSocket>();
                              socket->io = std::make_shared<TcpStream>(fd);
                              return socket;
                            },
                            r);
                      }));
  KILN_TRY(d.function("wasi:sockets/udp-create-socket", "create-udp-socket", "n",
                      [](State* s, Args a, Out r) -> TrapPtr {
                        return create_socket(
                            s, a[0], SOCK_DGRAM, "create-udp-socket", s->udp_socket, s->sockets.udp,
                            [](int fd) { return std::make_shared<UdpSocket>(fd); }, r);
                      }));

  // Binds `fd` to `address` when the grants allow it: the result of start-bind.
  auto bind = [](int fd, bool socket_ipv6, const std::vector<AddressRule>& rules,
                 const SocketAddress& address) -> std::optional<NetworkError> {
    if (auto refused = refuse_address(address, socket_ipv6, false)) return refused;
    if (!address_granted(rules, address)) return NetworkError::kAccessDenied;
    if (address.port != 0) {
      // tcp.wit: binding a port must not be hindered by a recent connection's TIME_WAIT.
      const int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    sockaddr_storage storage;
    const socklen_t length = to_sockaddr(address, storage);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) return code_of(errno);
    return std::nullopt;
  };

  // ---- tcp ----
  using TcpMethod = std::function<TrapPtr(State*, TcpSocket&, Args, Out)>;
  auto tcp_method = [&](const std::string& name, const std::string& signature, TcpMethod f) {
    return d.function(tcp, "[method]tcp-socket." + name, signature,
                      [f = std::move(f)](State* s, Args a, Out r) -> TrapPtr {
                        std::shared_ptr<TcpSocket>* socket = s->sockets.tcp.get(a[0].rep);
                        if (!socket) return host_trap("wasi:sockets/tcp: unknown tcp-socket");
                        return f(s, **socket, a, r);
                      });
  };
  using Phase = TcpSocket::Phase;

  KILN_TRY(tcp_method("start-bind", "bNv", [bind](State* s, TcpSocket& socket, Args a, Out r) {
    const auto address = address_from(a[2]);
    if (!address) return host_trap("tcp-socket.start-bind: not an ip-socket-address");
    if (socket.phase != Phase::kUnbound) {
      r = failed(NetworkError::kInvalidState);
      return TrapPtr();
    }
    auto refused = bind(socket.io->fd(), socket.ipv6, s->context.config().allowed_tcp, *address);
    if (refused) {
      r = failed(*refused);
      return TrapPtr();
    }
    socket.phase = Phase::kBindStarted;
    r = ok();
    return TrapPtr();
  }));
  KILN_TRY(tcp_method("finish-bind", "b", [](State*, TcpSocket& socket, Args, Out r) {
    if (socket.phase != Phase::kBindStarted) {
      r = failed(NetworkError::kNotInProgress);
      return TrapPtr();
    }
    socket.phase = Phase::kBound;
    r = ok();
    return TrapPtr();
  }));
  KILN_TRY(tcp_method("start-connect", "bNv", [](State* s, TcpSocket& socket, Args a, Out r) {
    const auto address = address_from(a[2]);
    if (!address) return host_trap("tcp-socket.start-connect: not an ip-socket-address");
    switch (socket.phase) {
      case Phase::kUnbound:
      case Phase::kBound:
        break;
      case Phase::kBindStarted:
      case Phase::kConnectStarted:
      case Phase::kListenStarted:
        r = failed(NetworkError::kConcurrencyConflict);
        return TrapPtr();
      default:
        r = failed(NetworkError::kInvalidState);
        return TrapPtr();
    }
    if (auto refused = refuse_address(*address, socket.ipv6, true)) {
      r = failed(*refused);
      return TrapPtr();
    }
    if (!address_granted(s->context.config().allowed_tcp, *address)) {
      r = failed(NetworkError::kAccessDenied);
      return TrapPtr();
    }
    sockaddr_storage storage;
    const socklen_t length = to_sockaddr(*address, storage);
    int result;
    do {
      result = ::connect(socket.io->fd(), reinterpret_cast<sockaddr*>(&storage), length);
    } while (result != 0 && errno == EINTR);
    if (result != 0 && errno != EINPROGRESS) {
      socket.phase = Phase::kClosed;  // tcp.wit: a failed attempt leaves only drop
      r = failed(connect_code_of(errno));
      return TrapPtr();
    }
    socket.phase = Phase::kConnectStarted;
    r = ok();
    return TrapPtr();
  }));
  // The streams of a connected socket, as an own<input-stream>, own<output-stream> pair.
  auto streams_of = [](State* s, TcpSocket& socket, std::vector<V>& out) -> TrapPtr {
    V input, output;
    State::Input in;
    in.tcp = socket.io;
    if (TrapPtr t = s->own(s->input_stream, s->inputs.add(s->store, std::move(in)), input))
      return t;
    State::Output o;
    o.tcp = socket.io;
    if (TrapPtr t = s->own(s->output_stream, s->outputs.add(s->store, std::move(o)), output))
      return t;
    out.push_back(std::move(input));
    out.push_back(std::move(output));
    return nullptr;
  };
  KILN_TRY(
      tcp_method("finish-connect", "b", [streams_of](State* s, TcpSocket& socket, Args, Out r) {
        if (socket.phase != Phase::kConnectStarted) {
          r = failed(NetworkError::kNotInProgress);
          return TrapPtr();
        }
        struct pollfd p {
          socket.io->fd(), POLLOUT, 0
        };
        if (::poll(&p, 1, 0) == 0) {
          r = failed(NetworkError::kWouldBlock);
          return TrapPtr();
        }
        const auto error = get_option(socket.io->fd(), SOL_SOCKET, SO_ERROR);
        if (!error || *error != 0) {
          socket.phase = Phase::kClosed;
          r = failed(error ? connect_code_of(*error) : code_of(errno));
          return TrapPtr();
        }
        socket.phase = Phase::kConnected;
        std::vector<V> streams;
        if (TrapPtr t = streams_of(s, socket, streams)) return t;
        r = ok(tuple(std::move(streams)));
        return TrapPtr();
      }));
  KILN_TRY(tcp_method("start-listen", "b", [](State*, TcpSocket& socket, Args, Out r) {
    if (socket.phase == Phase::kBindStarted || socket.phase == Phase::kConnectStarted ||
        socket.phase == Phase::kListenStarted) {
      r = failed(NetworkError::kConcurrencyConflict);
      return TrapPtr();
    }
    if (socket.phase != Phase::kBound) {  // unbound, listening, connected or closed
      r = failed(NetworkError::kInvalidState);
      return TrapPtr();
    }
    if (::listen(socket.io->fd(), socket.backlog) != 0) {
      r = failed(code_of(errno));
      return TrapPtr();
    }
    socket.phase = Phase::kListenStarted;
    r = ok();
    return TrapPtr();
  }));
  KILN_TRY(tcp_method("finish-listen", "b", [](State*, TcpSocket& socket, Args, Out r) {
    if (socket.phase != Phase::kListenStarted) {
      r = failed(NetworkError::kNotInProgress);
      return TrapPtr();
    }
    socket.phase = Phase::kListening;
    r = ok();
    return TrapPtr();
  }));
  KILN_TRY(tcp_method("accept", "b", [streams_of](State* s, TcpSocket& socket, Args, Out r) {
    if (socket.phase != Phase::kListening) {
      r = failed(NetworkError::kInvalidState);
      return TrapPtr();
    }
    if (!s->descriptor_budget_left()) {
      r = failed(NetworkError::kNewSocketLimit);
      return TrapPtr();
    }
    int fd;
    do {
      fd = ::accept4(socket.io->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      r = failed(code_of(errno == EWOULDBLOCK ? EAGAIN : errno));
      return TrapPtr();
    }
    auto client = std::make_shared<TcpSocket>();
    client->io = std::make_shared<TcpStream>(fd);
    client->ipv6 = socket.ipv6;
    client->phase = Phase::kConnected;
    V handle;
    if (TrapPtr t = s->own(s->tcp_socket, s->sockets.tcp.add(s->store, client), handle)) return t;
    ++s->open_descriptors;
    std::vector<V> items{std::move(handle)};
    if (TrapPtr t = streams_of(s, *client, items)) return t;
    r = ok(tuple(std::move(items)));
    return TrapPtr();
  }));
  auto bound = [](const TcpSocket& socket) {
    return socket.phase != Phase::kUnbound && socket.phase != Phase::kBindStarted &&
           socket.phase != Phase::kClosed;
  };
  KILN_TRY(tcp_method("local-address", "b", [bound](State*, TcpSocket& socket, Args, Out r) {
    const auto address = bound(socket) ? socket_name(socket.io->fd(), false) : std::nullopt;
    r = address ? ok(address_value(*address)) : failed(NetworkError::kInvalidState);
    return TrapPtr();
  }));
  KILN_TRY(tcp_method("remote-address", "b", [](State*, TcpSocket& socket, Args, Out r) {
    const auto address =
        socket.phase == Phase::kConnected ? socket_name(socket.io->fd(), true) : std::nullopt;
    r = address ? ok(address_value(*address)) : failed(NetworkError::kInvalidState);
    return TrapPtr();
  }));
  KILN_TRY(tcp_method("is-listening", "b", [](State*, TcpSocket& socket, Args, Out r) {
    r = V::integer(K::kBool, socket.phase == Phase::kListening ? 1 : 0);
    return TrapPtr();
  }));
  KILN_TRY(tcp_method("address-family", "b", [](State*, TcpSocket& socket, Args, Out r) {
    r = enum_value(socket.ipv6 ? 1 : 0);
    return TrapPtr();
  }));
  KILN_TRY(
      tcp_method("set-listen-backlog-size", "bw", [](State*, TcpSocket& socket, Args a, Out r) {
        if (a[1].bits == 0) {
          r = failed(NetworkError::kInvalidArgument);
          return TrapPtr();
        }
        if (socket.phase == Phase::kConnectStarted || socket.phase == Phase::kConnected ||
            socket.phase == Phase::kClosed) {
          r = failed(NetworkError::kInvalidState);
          return TrapPtr();
        }
        socket.backlog = static_cast<int>(std::min<uint64_t>(a[1].bits, INT_MAX));
        // Linux takes a new backlog for a listening socket from another listen.
        if (socket.phase == Phase::kListening && ::listen(socket.io->fd(), socket.backlog) != 0) {
          r = failed(code_of(errno));
          return TrapPtr();
        }
        r = ok();
        return TrapPtr();
      }));
  constexpr uint64_t kSecond = 1000000000ull;
  const SocketOption tcp_options[] = {
      {"keep-alive-enabled", SOL_SOCKET, SO_KEEPALIVE, K::kBool, 't', 1, 0, 1, false},
      {"keep-alive-idle-time", IPPROTO_TCP, TCP_KEEPIDLE, K::kU64, 'w', kSecond, 1, 32767, true},
      {"keep-alive-interval", IPPROTO_TCP, TCP_KEEPINTVL, K::kU64, 'w', kSecond, 1, 32767, true},
      {"keep-alive-count", IPPROTO_TCP, TCP_KEEPCNT, K::kU32, 'x', 1, 1, 127, true},
      {"hop-limit", -1, -1, K::kU8, 'c', 1, 1, 255, true},
      {"receive-buffer-size", SOL_SOCKET, SO_RCVBUF, K::kU64, 'w', 1, 1, INT_MAX / 2, true},
      {"send-buffer-size", SOL_SOCKET, SO_SNDBUF, K::kU64, 'w', 1, 1, INT_MAX / 2, true},
  };
  for (const SocketOption& o : tcp_options) {
    KILN_TRY(tcp_method(o.name, "b", [o](State*, TcpSocket& socket, Args, Out r) {
      r = o.read(socket.io->fd(), socket.ipv6);
      return TrapPtr();
    }));
    KILN_TRY(tcp_method(std::string("set-") + o.name, std::string("b") + o.letter,
                        [o](State*, TcpSocket& socket, Args a, Out r) {
                          r = o.write(socket.io->fd(), socket.ipv6, a[1].bits);
                          return TrapPtr();
                        }));
  }
  KILN_TRY(d.function(tcp, "[method]tcp-socket.subscribe", "b", [](State* s, Args a, Out r) {
    std::shared_ptr<TcpSocket>* socket = s->sockets.tcp.get(a[0].rep);
    if (!socket) return host_trap("wasi:sockets/tcp: unknown tcp-socket");
    return s->own(
        s->pollable,
        s->pollables.add(s->store, State::Pollable::of(std::make_shared<TcpSocketReady>(*socket))),
        *(r = V{}));
  }));
  KILN_TRY(tcp_method("shutdown", "bn", [](State*, TcpSocket& socket, Args a, Out r) {
    if (a[1].index > 2) return host_trap("tcp-socket.shutdown: not a shutdown-type");
    if (socket.phase != Phase::kConnected) {
      r = failed(NetworkError::kInvalidState);
      return TrapPtr();
    }
    socket.io->shutdown(a[1].index != 1, a[1].index != 0);  // receive, send, both
    r = ok();
    return TrapPtr();
  }));

  // ---- udp ----
  using UdpMethod = std::function<TrapPtr(State*, const std::shared_ptr<UdpSocket>&, Args, Out)>;
  auto udp_method = [&](const std::string& name, const std::string& signature, UdpMethod f) {
    return d.function(udp, "[method]udp-socket." + name, signature,
                      [f = std::move(f)](State* s, Args a, Out r) -> TrapPtr {
                        std::shared_ptr<UdpSocket>* socket = s->sockets.udp.get(a[0].rep);
                        if (!socket) return host_trap("wasi:sockets/udp: unknown udp-socket");
                        return f(s, *socket, a, r);
                      });
  };
  using UdpPhase = UdpSocket::Phase;
  KILN_TRY(udp_method("start-bind", "bNv",
                      [bind](State* s, const std::shared_ptr<UdpSocket>& socket, Args a, Out r) {
                        const auto address = address_from(a[2]);
                        if (!address)
                          return host_trap("udp-socket.start-bind: not an ip-socket-address");
                        if (socket->phase != UdpPhase::kUnbound) {
                          r = failed(socket->phase == UdpPhase::kBindStarted
                                         ? NetworkError::kConcurrencyConflict
                                         : NetworkError::kInvalidState);
                          return TrapPtr();
                        }
                        if (auto refused = bind(socket->fd, socket->ipv6,
                                                s->context.config().allowed_udp, *address)) {
                          r = failed(*refused);
                          return TrapPtr();
                        }
                        socket->phase = UdpPhase::kBindStarted;
                        r = ok();
                        return TrapPtr();
                      }));
  KILN_TRY(udp_method("finish-bind", "b",
                      [](State*, const std::shared_ptr<UdpSocket>& socket, Args, Out r) {
                        if (socket->phase != UdpPhase::kBindStarted) {
                          r = failed(NetworkError::kNotInProgress);
                          return TrapPtr();
                        }
                        socket->phase = UdpPhase::kBound;
                        r = ok();
                        return TrapPtr();
                      }));
  KILN_TRY(udp_method(
      "stream", "bp", [](State* s, const std::shared_ptr<UdpSocket>& socket, Args a, Out r) {
        std::optional<SocketAddress> remote;
        if (a[1].index == 1) {
          if (a[1].items.size() != 1 || !(remote = address_from(a[1].items[0]))) {
            return host_trap("udp-socket.stream: not an option<ip-socket-address>");
          }
        }
        if (socket->phase != UdpPhase::kBound) {
          r = failed(NetworkError::kInvalidState);
          return TrapPtr();
        }
        if (!socket->streams.expired()) {
          // udp.wit: "Implementations may trap if the streams returned by a previous invocation
          // haven't been dropped yet before calling `stream` again."
          return host_trap("udp-socket.stream: the streams of the last call are not dropped yet");
        }
        if (remote) {
          if (auto refused = refuse_address(*remote, socket->ipv6, true)) {
            r = failed(*refused);
            return TrapPtr();
          }
          if (!address_granted(s->context.config().allowed_udp, *remote)) {
            r = failed(NetworkError::kAccessDenied);
            return TrapPtr();
          }
        }
        if (socket->remote) {  // dissolve the last association: connect to AF_UNSPEC
          sockaddr unspecified{};
          unspecified.sa_family = AF_UNSPEC;
          ::connect(socket->fd, &unspecified, sizeof unspecified);
          socket->remote.reset();
        }
        if (remote) {
          sockaddr_storage storage;
          const socklen_t length = to_sockaddr(*remote, storage);
          if (::connect(socket->fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
            r = failed(connect_code_of(errno));
            return TrapPtr();
          }
          socket->remote = remote;
        }
        std::shared_ptr<void> alive = std::make_shared<int>(0);
        socket->streams = alive;
        V incoming, outgoing;
        if (TrapPtr t =
                s->own(s->incoming_datagram_stream,
                       s->sockets.incoming.add(s->store, std::make_shared<IncomingDatagrams>(
                                                             IncomingDatagrams{socket, alive})),
                       incoming)) {
          return t;
        }
        if (TrapPtr t =
                s->own(s->outgoing_datagram_stream,
                       s->sockets.outgoing.add(s->store, std::make_shared<OutgoingDatagrams>(
                                                             OutgoingDatagrams{socket, alive, 0})),
                       outgoing)) {
          return t;
        }
        r = ok(tuple({std::move(incoming), std::move(outgoing)}));
        return TrapPtr();
      }));
  KILN_TRY(udp_method(
      "local-address", "b", [](State*, const std::shared_ptr<UdpSocket>& socket, Args, Out r) {
        const auto address =
            socket->phase == UdpPhase::kBound ? socket_name(socket->fd, false) : std::nullopt;
        r = address ? ok(address_value(*address)) : failed(NetworkError::kInvalidState);
        return TrapPtr();
      }));
  KILN_TRY(udp_method(
      "remote-address", "b", [](State*, const std::shared_ptr<UdpSocket>& socket, Args, Out r) {
        const auto address = socket->remote ? socket_name(socket->fd, true) : std::nullopt;
        r = address ? ok(address_value(*address)) : failed(NetworkError::kInvalidState);
        return TrapPtr();
      }));
  KILN_TRY(udp_method("address-family", "b",
                      [](State*, const std::shared_ptr<UdpSocket>& socket, Args, Out r) {
                        r = enum_value(socket->ipv6 ? 1 : 0);
                        return TrapPtr();
                      }));
  const SocketOption udp_options[] = {
      {"unicast-hop-limit", -1, -1, K::kU8, 'c', 1, 1, 255, true},
      {"receive-buffer-size", SOL_SOCKET, SO_RCVBUF, K::kU64, 'w', 1, 1, INT_MAX / 2, true},
      {"send-buffer-size", SOL_SOCKET, SO_SNDBUF, K::kU64, 'w', 1, 1, INT_MAX / 2, true},
  };
  for (const SocketOption& o : udp_options) {
    KILN_TRY(
        udp_method(o.name, "b", [o](State*, const std::shared_ptr<UdpSocket>& socket, Args, Out r) {
          r = o.read(socket->fd, socket->ipv6);
          return TrapPtr();
        }));
    KILN_TRY(udp_method(std::string("set-") + o.name, std::string("b") + o.letter,
                        [o](State*, const std::shared_ptr<UdpSocket>& socket, Args a, Out r) {
                          r = o.write(socket->fd, socket->ipv6, a[1].bits);
                          return TrapPtr();
                        }));
  }
  KILN_TRY(udp_method(
      "subscribe", "b", [](State* s, const std::shared_ptr<UdpSocket>&, Args, Out r) -> TrapPtr {
        // No operation of a udp-socket waits: bind and stream finish at once.
        return s->own(s->pollable, s->pollables.add(s->store, State::Pollable{}), *(r = V{}));
      }));

  KILN_TRY(d.function(udp, "[method]incoming-datagram-stream.receive", "bw",
                      [](State* s, Args a, Out r) -> TrapPtr {
                        std::shared_ptr<IncomingDatagrams>* stream =
                            s->sockets.incoming.get(a[0].rep);
                        if (!stream)
                          return host_trap("wasi:sockets/udp: unknown incoming-datagram-stream");
                        const int fd = (*stream)->socket->fd;
                        std::vector<V> datagrams;
                        const uint64_t wanted = std::min(a[1].bits, kMaxDatagramsPerReceive);
                        std::string buffer(kMaxDatagramBytes, '\0');
                        while (datagrams.size() < wanted) {
                          sockaddr_storage from{};
                          socklen_t length = sizeof from;
                          const ssize_t n =
                              ::recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                         reinterpret_cast<sockaddr*>(&from), &length);
                          if (n < 0) {
                            if (errno == EINTR) continue;
                            if (errno == EAGAIN || errno == EWOULDBLOCK || !datagrams.empty())
                              break;
                            r = failed(code_of(errno));
                            return nullptr;
                          }
                          const auto sender = from_sockaddr(from);
                          if (!sender) continue;
                          V datagram;
                          datagram.kind = K::kRecord;
                          datagram.items = {V::bytes(buffer.substr(0, static_cast<size_t>(n))),
                                            address_value(*sender)};
                          datagrams.push_back(std::move(datagram));
                        }
                        r = ok(list(std::move(datagrams)));
                        return nullptr;
                      }));
  KILN_TRY(d.function(
      udp, "[method]incoming-datagram-stream.subscribe", "b",
      [](State* s, Args a, Out r) -> TrapPtr {
        std::shared_ptr<IncomingDatagrams>* stream = s->sockets.incoming.get(a[0].rep);
        if (!stream) {
          return host_trap("wasi:sockets/udp: unknown incoming-datagram-stream");
        }
        auto source =
            std::make_shared<DescriptorReady>((*stream)->socket, (*stream)->socket->fd, POLLIN);
        return s->own(s->pollable, s->pollables.add(s->store, State::Pollable::of(source)),
                      *(r = V{}));
      }));
  KILN_TRY(d.function(udp, "[method]outgoing-datagram-stream.check-send", "b",
                      [](State* s, Args a, Out r) -> TrapPtr {
                        std::shared_ptr<OutgoingDatagrams>* stream =
                            s->sockets.outgoing.get(a[0].rep);
                        if (!stream) {
                          return host_trap("wasi:sockets/udp: unknown outgoing-datagram-stream");
                        }
                        struct pollfd p {
                          (*stream)->socket->fd, POLLOUT, 0
                        };
                        (*stream)->permit = ::poll(&p, 1, 0) > 0 ? kDatagramsPerCheck : 0;
                        r = ok(u64((*stream)->permit));
                        return nullptr;
                      }));
  KILN_TRY(d.function(
      udp, "[method]outgoing-datagram-stream.send", "bl", [](State* s, Args a, Out r) -> TrapPtr {
        std::shared_ptr<OutgoingDatagrams>* found = s->sockets.outgoing.get(a[0].rep);
        if (!found) return host_trap("wasi:sockets/udp: unknown outgoing-datagram-stream");
        OutgoingDatagrams& stream = **found;
        const std::vector<V>& datagrams = a[1].items;
        if (datagrams.size() > stream.permit) {
          return host_trap(
              "outgoing-datagram-stream.send: more datagrams than check-send permitted");
        }
        stream.permit -= datagrams.size();
        const UdpSocket& socket = *stream.socket;
        uint64_t sent = 0;
        auto stop = [&](NetworkError code) {
          // udp.wit: once a datagram is sent, send never returns an error.
          r = sent > 0 ? ok(u64(sent)) : failed(code);
          return TrapPtr();
        };
        for (const V& datagram : datagrams) {
          if (datagram.kind != K::kRecord || datagram.items.size() != 2 ||
              datagram.items[0].kind != K::kList || datagram.items[1].kind != K::kOption) {
            return host_trap("outgoing-datagram-stream.send: not a list of outgoing-datagram");
          }
          std::optional<SocketAddress> to;
          if (datagram.items[1].index == 1) {
            if (datagram.items[1].items.size() != 1 ||
                !(to = address_from(datagram.items[1].items[0]))) {
              return host_trap("outgoing-datagram-stream.send: not an ip-socket-address");
            }
            if (refuse_address(*to, socket.ipv6, true)) return stop(NetworkError::kInvalidArgument);
            if (socket.remote) {
              const SocketAddress& peer = *socket.remote;
              if (to->ipv6 != peer.ipv6 || to->bytes != peer.bytes || to->port != peer.port) {
                return stop(NetworkError::kInvalidArgument);
              }
            } else if (!address_granted(s->context.config().allowed_udp, *to)) {
              return stop(NetworkError::kAccessDenied);
            }
          } else if (!socket.remote) {
            return stop(NetworkError::kInvalidArgument);
          }
          const std::string bytes = bytes_of(datagram.items[0]);
          ssize_t n;
          do {
            if (to && !socket.remote) {
              sockaddr_storage storage;
              const socklen_t length = to_sockaddr(*to, storage);
              n = ::sendto(socket.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                           reinterpret_cast<sockaddr*>(&storage), length);
            } else {
              n = ::send(socket.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            }
          } while (n < 0 && errno == EINTR);
          if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return stop(code_of(errno));
          }
          ++sent;
        }
        r = ok(u64(sent));
        return nullptr;
      }));
  KILN_TRY(d.function(
      udp, "[method]outgoing-datagram-stream.subscribe", "b",
      [](State* s, Args a, Out r) -> TrapPtr {
        std::shared_ptr<OutgoingDatagrams>* stream = s->sockets.outgoing.get(a[0].rep);
        if (!stream) {
          return host_trap("wasi:sockets/udp: unknown outgoing-datagram-stream");
        }
        auto source =
            std::make_shared<DescriptorReady>((*stream)->socket, (*stream)->socket->fd, POLLOUT);
        return s->own(s->pollable, s->pollables.add(s->store, State::Pollable::of(source)),
                      *(r = V{}));
      }));

  // ---- ip-name-lookup ----
  KILN_TRY(d.function(lookup, "resolve-addresses", "Ns", [](State* s, Args a, Out r) -> TrapPtr {
    if (!s->context.config().allow_ip_name_lookup) {
      r = failed(NetworkError::kAccessDenied);
      return nullptr;
    }
    const std::string& name = a[1].text;
    auto result = std::make_shared<NameLookup>();
    if (!result->valid()) {
      r = failed(code_of(errno));
      return nullptr;
    }
    // An IP address is the answer itself (ip-name-lookup.wit), without a lookup.
    SocketAddress literal;
    if (::inet_pton(AF_INET, name.c_str(), literal.bytes.data()) == 1 ||
        (literal.ipv6 = ::inet_pton(AF_INET6, name.c_str(), literal.bytes.data()) == 1)) {
      result->done = true;
      result->addresses.push_back(literal);
    } else {
      bool idn = false;
      if (!plausible_domain_name(name, idn)) {
        r = failed(NetworkError::kInvalidArgument);
        return nullptr;
      }
      auto in_flight = s->sockets.lookups_in_flight;
      if (in_flight->load() >= kMaxLookupsInFlight) {
        r = failed(NetworkError::kTemporaryResolverFailure);
        return nullptr;
      }
      ++*in_flight;
      try {
        std::thread([result, name, idn, in_flight] {
          run_lookup(result, name, idn);
          --*in_flight;
        }).detach();
      } catch (const std::system_error&) {  // no thread to be had: a failure, not a crash
        --*in_flight;
        r = failed(NetworkError::kTemporaryResolverFailure);
        return nullptr;
      }
    }
    V handle;
    if (TrapPtr t =
            s->own(s->resolve_address_stream, s->sockets.lookups.add(s->store, result), handle)) {
      return t;
    }
    r = ok(std::move(handle));
    return nullptr;
  }));
  KILN_TRY(d.function(lookup, "[method]resolve-address-stream.resolve-next-address", "b",
                      [](State* s, Args a, Out r) -> TrapPtr {
                        std::shared_ptr<NameLookup>* found = s->sockets.lookups.get(a[0].rep);
                        if (!found) {
                          return host_trap("wasi:sockets: unknown resolve-address-stream");
                        }
                        NameLookup& l = **found;
                        std::lock_guard<std::mutex> lock(l.mutex);
                        if (!l.done) {
                          r = failed(NetworkError::kWouldBlock);
                        } else if (l.error) {
                          r = failed(*l.error);
                        } else if (l.next < l.addresses.size()) {
                          V address;
                          address.kind = K::kVariant;
                          address.index = l.addresses[l.next].ipv6 ? 1 : 0;
                          address.items.push_back(ip_address_value(l.addresses[l.next++]));
                          r = ok(some(std::move(address)));
                        } else {
                          r = ok(none());
                        }
                        return nullptr;
                      }));
  KILN_TRY(d.function(
      lookup, "[method]resolve-address-stream.subscribe", "b",
      [](State* s, Args a, Out r) -> TrapPtr {
        std::shared_ptr<NameLookup>* found = s->sockets.lookups.get(a[0].rep);
        if (!found) {
          return host_trap("wasi:sockets: unknown resolve-address-stream");
        }
        return s->own(s->pollable,
                      s->pollables.add(
                          s->store, State::Pollable::of(std::make_shared<CompletionReady>(*found))),
                      *(r = V{}));
      }));
  return {};
}

}  // namespace kiln::wasi::preview2
