// kiln_wasi_host_fuzzer: random calls to the WASI 0.2 host's functions (wasi/preview2.h), as a
// guest could make them after the canonical ABI checked its handles, and as it cannot (handles
// of objects that do not exist, dropped ones, any rep): arguments of the kinds each function
// takes, built from the input, resources dropped at random. The host must answer with a value
// or a trap, never undefined behaviour. Files are made in a scratch directory granted as
// /sandbox; stdio goes nowhere; blocking waits end at a deadline that has passed. Sockets may
// bind 127.0.0.1 to ephemeral ports only (so a connection or datagram reaches no service of the
// machine: every remote address is refused); no names are looked up.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "component/component_linker.h"
#include "runtime/store.h"
#include "wasi/preview2.h"
#include "wasi/wasi_context.h"

using namespace kiln;
using component::ComponentValue;
using V = ComponentValue;
using K = ComponentValue::Kind;

namespace {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  uint64_t u64() {
    // Mostly small numbers, sometimes huge ones.
    const uint8_t kind = byte();
    if (kind < 200) return byte();
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | byte();
    return v;
  }
  std::string path() {
    static const char* kParts[] = {"a", "b", "..", ".", "/", "sub", "x.txt", "/etc/passwd", ""};
    std::string p;
    for (uint8_t n = byte() % 4; n > 0; --n) {
      if (!p.empty()) p += '/';
      p += kParts[byte() % (sizeof kParts / sizeof kParts[0])];
    }
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

struct Host {
  std::filesystem::path scratch;
  Engine engine;
  Store store{engine};
  std::unique_ptr<wasi::WasiContext> context;
  component::ComponentLinker linker;
  std::shared_ptr<const wasi::Preview2> preview2;

  static EngineConfig config() {
    EngineConfig c;
    c.epoch_interruption = true;
    return c;
  }
  Host() : engine(config()) {
    char pattern[] = "/tmp/kiln-wasi-fuzz-XXXXXX";
    scratch = ::mkdtemp(pattern);
    wasi::WasiConfig wasi_config;
    wasi_config.stdin_fd = -1;
    wasi_config.stdout_fd = -1;
    wasi_config.stderr_fd = -1;
    wasi_config.args = {"fuzz", "arg"};
    wasi_config.env = {{"A", "b"}};
    wasi_config.preopens.push_back({scratch.string(), "/sandbox", false});
    wasi_config.allowed_tcp = {*wasi::parse_address_rule("127.0.0.1:0")};
    wasi_config.allowed_udp = wasi_config.allowed_tcp;
    // Outgoing HTTP to two of the authorities path() makes, through a sender that reads what
    // body the guest streams and answers by the path's length: refused, cut off, or whole.
    wasi_config.allowed_http = {"a", "b"};
    wasi_config.http_sender =
        [](const wasi::HttpRequest& request, wasi::HttpResponseReceiver& response,
           const wasi::WaitInterrupt& interrupt) -> Result<void, wasi::HttpFailure> {
      if (request.body_stream) {
        uint8_t part[256];
        for (;;) {
          bool would_block = false;
          auto n = request.body_stream->read(part, true, would_block, interrupt);
          if (!n || *n == 0) break;
        }
      }
      const size_t choice = request.path_with_query.size() % 3;
      if (choice == 0) return wasi::HttpFailure{wasi::HttpFailure::kConnectionRefused, ""};
      response.head(200, {{"x-fuzz", "1"}});
      if (!response.body("body")) return {};
      if (choice == 1) return wasi::HttpFailure{wasi::HttpFailure::kHttpResponseIncomplete, ""};
      return {};
    };
    context = std::move(*wasi::WasiContext::create(std::move(wasi_config)));
    auto added = wasi::Preview2::add_to_linker(linker);
    if (!added) std::abort();
    preview2 = *added;
    preview2->attach(store, *context);
    // Every wait ends at once: the deadline has passed.
    store.set_epoch_deadline(0);
  }
};

const component::RuntimeResourceType* self_type(const Host& h, const std::string& path) {
  size_t method = path.find("[method]");
  if (method == std::string::npos) method = path.find("[static]");
  if (method == std::string::npos) return nullptr;
  const size_t start = method + 8;
  return h.preview2->resource_type(path.substr(start, path.find('.', start) - start));
}

V borrow(const component::RuntimeResourceType* type, uint32_t rep) {
  V v = V::own(type, rep);
  v.kind = K::kBorrow;
  return v;
}

// A wasi:sockets ip-socket-address: 127.0.0.1 or ::1 (sometimes another), port 0 or another.
V socket_address(Input& in) {
  const bool ipv6 = in.byte() % 2;
  V address;
  address.kind = K::kTuple;
  for (int i = 0; i < (ipv6 ? 8 : 4); ++i) {
    const uint8_t b = in.byte();
    const uint64_t loopback = ipv6 ? (i == 7) : (i == 0 ? 127 : i == 3);
    address.items.push_back(V::integer(ipv6 ? K::kU16 : K::kU8, b < 200 ? loopback : b));
  }
  const uint8_t port = in.byte();
  V record;
  record.kind = K::kRecord;
  record.items.push_back(V::integer(K::kU16, port < 128 ? 0 : port * 97));
  if (ipv6) record.items.push_back(V::integer(K::kU32, 0));
  record.items.push_back(std::move(address));
  if (ipv6) record.items.push_back(V::integer(K::kU32, 0));
  V v;
  v.kind = K::kVariant;
  v.index = ipv6 ? 1 : 0;
  v.items.push_back(std::move(record));
  return v;
}

V argument(Input& in, char letter, const component::RuntimeResourceType* self, const Host& h) {
  switch (letter) {
    case 'b':
      return borrow(self, in.byte() % 8);
    case 'i':
      return borrow(h.preview2->resource_type("input-stream"), in.byte() % 8);
    case 'e':
      return borrow(h.preview2->resource_type("error"), in.byte() % 8);
    case 'd':
      return borrow(h.preview2->resource_type("descriptor"), in.byte() % 8);
    case 'w':
      return V::integer(K::kU64, in.u64());
    case 'c':
      return V::integer(K::kU8, in.byte());
    case 's':
      return V::string(in.path());
    case 'l': {
      if (in.byte() % 4 == 3) {  // outgoing-datagrams (udp's send)
        V datagrams;
        datagrams.kind = K::kList;
        for (int n = in.byte() % 4; n > 0; --n) {
          V to;
          to.kind = K::kOption;
          if (in.byte() % 2) {
            to.index = 1;
            to.items.push_back(socket_address(in));
          }
          V datagram;
          datagram.kind = K::kRecord;
          datagram.items = {V::bytes(std::string(in.byte(), 'd')), std::move(to)};
          datagrams.items.push_back(std::move(datagram));
        }
        return datagrams;
      }
      std::string bytes(in.byte() % 64, 'x');
      V list = V::bytes(std::move(bytes));
      if (in.byte() % 2) list.unpack();
      return list;
    }
    case 'f': {
      V f;
      f.kind = K::kFlags;
      f.bits = in.byte() & 0x3f;
      return f;
    }
    case 'v': {  // new-timestamp: no-change, now, timestamp(datetime); or an ip-socket-address
      if (in.byte() % 2) return socket_address(in);
      V t;
      t.kind = K::kVariant;
      t.index = in.byte() % 3;
      if (t.index == 2) {
        V when;
        when.kind = K::kRecord;
        when.items = {V::integer(K::kU64, in.u64()), V::integer(K::kU32, in.u64() % 2000000000)};
        t.items.push_back(std::move(when));
      }
      return t;
    }
    case 'n': {
      V e;
      e.kind = K::kEnum;
      e.index = in.byte() % 6;
      return e;
    }
    case 'r': {  // sometimes with a handle as its payload (response-outparam.set's response)
      V r;
      r.kind = K::kResult;
      r.index = in.byte() % 2;
      if (in.byte() % 2) {
        r.items.push_back(V::own(h.preview2->resource_type("outgoing-response"), in.byte() % 8));
      }
      return r;
    }
    case 'u':
      return V::integer(K::kU16, in.byte() * 4);
    case 'x':
      return V::integer(K::kU32, in.u64());
    case 't':
      return V::integer(K::kBool, in.byte() % 2);
    case 'N':
      return borrow(h.preview2->resource_type("network"), in.byte() % 8);
    case 'p': {  // an option: none, or some of a string, a u64, a fields handle or an address
      V o;
      o.kind = K::kOption;
      switch (in.byte() % 5) {
        case 1:
          o.index = 1;
          o.items.push_back(V::string(in.path()));
          break;
        case 2:
          o.index = 1;
          o.items.push_back(V::integer(K::kU64, in.u64()));
          break;
        case 3:
          o.index = 1;
          o.items.push_back(V::own(h.preview2->resource_type("fields"), in.byte() % 8));
          break;
        case 4:
          o.index = 1;
          o.items.push_back(socket_address(in));
          break;
      }
      return o;
    }
    case 'o':
      return V::own(self, in.byte() % 8);
    case 'F':
      return V::own(h.preview2->resource_type("fields"), in.byte() % 8);
    case 'O':
      return V::own(h.preview2->resource_type("response-outparam"), in.byte() % 8);
    case 'R':
      return V::own(h.preview2->resource_type("outgoing-request"), in.byte() % 8);
    default: {
      // Any other kind: a mismatch the host must refuse.
      return V::integer(K::kU32, in.byte());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Host host;
  Input in(data, size);
  const auto& functions = host.preview2->defined_functions();
  static const char* kResources[] = {"error",
                                     "pollable",
                                     "input-stream",
                                     "output-stream",
                                     "descriptor",
                                     "directory-entry-stream",
                                     "fields",
                                     "outgoing-request",
                                     "outgoing-response",
                                     "outgoing-body",
                                     "incoming-body",
                                     "future-trailers",
                                     "network",
                                     "tcp-socket",
                                     "udp-socket",
                                     "incoming-datagram-stream",
                                     "outgoing-datagram-stream",
                                     "resolve-address-stream"};
  constexpr size_t kResourceCount = std::size(kResources);
  for (int step = 0; step < 64 && !in.empty(); ++step) {
    const uint8_t op = in.byte();
    if (op >= 240) {  // drop a handle (the host's destructor, as resource.drop runs it)
      const auto* type = host.preview2->resource_type(kResources[in.byte() % kResourceCount]);
      if (type && type->host_destructor) type->host_destructor(host.store, in.byte() % 8);
      continue;
    }
    // Two bytes choose among the functions: there are more than one byte counts.
    const auto& f = functions[(op | in.byte() << 8) % functions.size()];
    const auto* callback = host.linker.host_function(f.path);
    if (!callback) std::abort();
    std::vector<V> args;
    const component::RuntimeResourceType* self = self_type(host, f.path);
    std::string signature = f.signature == "*" ? std::string("bw") : f.signature;
    if (in.byte() == 0xff) signature += 'w';  // sometimes a wrong arity
    for (char letter : signature) args.push_back(argument(in, letter, self, host));
    // Sometimes a wrong kind in some position.
    if (!args.empty() && in.byte() == 0xfe) args[in.byte() % args.size()] = V::string("?");
    std::optional<V> result;
    (void)(*callback)(host.store, component::resolved::FunctionType{}, args, result);
  }
  std::error_code ignored;
  std::filesystem::remove_all(host.scratch, ignored);
  return 0;
}
