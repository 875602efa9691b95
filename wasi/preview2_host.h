// The WASI 0.2 host's insides, shared by the files that define its interfaces (preview2.cpp:
// io, cli, clocks, random; preview2_filesystem.cpp; http.cpp): the per-store State behind the
// resource handles, the linker-wide resource types, and the Definer that puts host functions on
// the linker. Not a public header.
#pragma once

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "component/component_linker.h"
#include "runtime/store.h"
#include "wasi/clocks_random.h"
#include "wasi/http.h"
#include "wasi/http_exchange.h"
#include "wasi/poll_source.h"
#include "wasi/preview2.h"
#include "wasi/tcp_stream.h"
#include "wasi/wasi_context.h"

namespace kiln::wasi::preview2 {

using component::ComponentLinker;
using component::ComponentValue;
using component::RuntimeResourceType;
using component::resolved::FunctionType;
using V = ComponentValue;
using K = ComponentValue::Kind;

inline constexpr const char* kVersion = "@0.2.12";
// Lists the host makes for a guest (random bytes, reads) are at most this long: the canonical
// ABI's bound on one value, so a guest's `len: u64` cannot make the host allocate more.
inline constexpr uint64_t kMaxListBytes = 1u << 28;
// What check-write permits, and what blocking-write-and-flush takes (streams.wit: "up to 4096").
inline constexpr uint64_t kWritePermit = 65536;
inline constexpr uint64_t kBlockingWriteLimit = 4096;

// Host objects behind resource handles: a rep is an index; freed reps are reused. The slab's
// growth is charged against the guest's store's memory budget (reserve_within_budget).
template <typename T>
class Slab {
 public:
  static constexpr uint32_t kMax = 1u << 20;
  // Null when the slab holds kMax objects or the budget has no room for more.
  std::optional<uint32_t> add(Store& store, T value) {
    if (!free_.empty()) {
      const uint32_t rep = free_.back();
      free_.pop_back();
      items_[rep] = std::move(value);
      return rep;
    }
    // An object, and its place in the free list once dropped.
    if (!reserve_within_budget(store, items_, sizeof(items_[0]) + sizeof(uint32_t), kMax)) {
      return std::nullopt;
    }
    items_.push_back(std::move(value));
    return static_cast<uint32_t>(items_.size() - 1);
  }
  T* get(uint32_t rep) { return rep < items_.size() && items_[rep] ? &*items_[rep] : nullptr; }
  void remove(uint32_t rep) {
    if (rep < items_.size() && items_[rep]) {
      items_[rep].reset();
      free_.push_back(rep);
    }
  }

 private:
  std::vector<std::optional<T>> items_;
  std::vector<uint32_t> free_;
};

inline V u64(uint64_t x) {
  return V::integer(K::kU64, x);
}
inline V ok(std::optional<V> payload = std::nullopt) {
  V r;
  r.kind = K::kResult;
  if (payload) r.items.push_back(std::move(*payload));
  return r;
}
inline V err(V payload) {
  V r;
  r.kind = K::kResult;
  r.index = 1;
  r.items.push_back(std::move(payload));
  return r;
}
inline V none() {
  V r;
  r.kind = K::kOption;
  return r;
}
inline V some(V value) {
  V r;
  r.kind = K::kOption;
  r.index = 1;
  r.items.push_back(std::move(value));
  return r;
}
inline V list(std::vector<V> items) {
  V r;
  r.kind = K::kList;
  r.items = std::move(items);
  return r;
}
// stream-error.closed
inline V closed() {
  V r;
  r.kind = K::kVariant;
  r.index = 1;
  return r;
}
// A list<u8> argument's bytes (lifted lists are packed; a host-built one may not be).
inline std::string bytes_of(const V& value) {
  if (value.packed) return value.text;
  std::string out;
  out.reserve(value.items.size());
  for (const V& item : value.items) out.push_back(static_cast<char>(item.bits));
  return out;
}

// wasi:clocks/wall-clock.datetime { seconds, nanoseconds }
inline V datetime(uint64_t ns) {
  V r;
  r.kind = K::kRecord;
  r.items = {u64(ns / 1000000000ull), V::integer(K::kU32, ns % 1000000000ull)};
  return r;
}

// A buffer of `len` bytes for one read (this thread's, reused, never zeroed again). Reading
// into it and copying out what came costs less than zero-filling a string of `len` bytes
// first when little comes: an HTTP request's empty body is asked for in reads of 64 KiB.
inline std::span<uint8_t> read_scratch(size_t len) {
  thread_local std::vector<uint8_t> buffer;
  if (buffer.size() < len) buffer.resize(len);
  return {buffer.data(), len};
}

inline TrapPtr host_trap(const std::string& message) {
  return Trap::make(TrapCode::kHostError, message);
}

// An HTTP message body held by the host: a request's (read by the guest) or a response's
// (written by the guest). `finished`: outgoing-body.finish was called.
struct HttpBody {
  std::string bytes;
  // An incoming body that arrives while the guest reads it (kiln serve's requests, the
  // responses to outgoing requests): read from here instead of `bytes`.
  std::shared_ptr<HttpBodySource> source;
  // An outgoing request's body that the guest still writes while its request is sent: written
  // to here instead of `bytes` (http_exchange.h).
  std::shared_ptr<HttpBodyPipe> pipe;
  bool finished = false;
  std::optional<uint32_t> stream;  // the rep of the stream child handed out, if any
  MemoryCharge charge;             // `bytes` the guest wrote, against its store's budget

  ~HttpBody() {
    if (source) source->reader_gone();
    if (pipe && !finished) pipe->abort();
  }
};

// wasi:http's host objects (http.cpp), per store.
struct HttpState {
  struct Fields {
    HttpHeaders entries;  // names as the guest or the client spelled them, in order
    bool immutable = false;
    MemoryCharge charge;  // the entries' bytes (field_bytes), against the store's budget
  };
  struct IncomingRequest {
    V method;                 // a `method` value
    std::optional<V> scheme;  // a `scheme` value
    std::optional<std::string> authority, path_with_query;
    HttpHeaders headers;
    std::shared_ptr<HttpBody> body;
    bool consumed = false;
  };
  struct OutgoingResponse {
    uint16_t status = 200;
    HttpHeaders headers;
    MemoryCharge headers_charge;     // taken over from the fields they came from
    std::shared_ptr<HttpBody> body;  // made at the first body()
  };
  struct OutgoingRequest {
    V method;
    std::optional<V> scheme;
    std::optional<std::string> authority, path_with_query;
    HttpHeaders headers;
    MemoryCharge headers_charge;  // taken over from the fields they came from
    std::shared_ptr<HttpBody> body;
  };
  struct RequestOptions {
    std::optional<uint64_t> connect_timeout, first_byte_timeout, between_bytes_timeout;
  };
  struct IncomingResponse {
    uint16_t status = 0;
    HttpHeaders headers;
    std::shared_ptr<HttpBody> body;
    bool consumed = false;
  };
  struct Body {  // an incoming-body or an outgoing-body
    std::shared_ptr<HttpBody> body;
  };
  // Abandons its exchange (http_exchange.h) when the future holding it goes before the guest
  // took the response.
  struct ExchangeHandle {
    std::shared_ptr<HttpExchange> exchange;
    ExchangeHandle() = default;
    ExchangeHandle(ExchangeHandle&& other) noexcept : exchange(std::move(other.exchange)) {}
    ExchangeHandle& operator=(ExchangeHandle&& other) noexcept {
      abandon();
      exchange = std::move(other.exchange);
      return *this;
    }
    ~ExchangeHandle() { abandon(); }
    void abandon() {
      if (exchange) exchange->abandon();
    }
  };
  // A future-trailers (ready when made), or a future-incoming-response: its request went out
  // at outgoing-handler.handle; until the response is there, get is none.
  struct Future {
    std::optional<V> value;  // its result, until get takes it
    ExchangeHandle sending;
  };
  Slab<Fields> fields;
  Slab<IncomingRequest> incoming_requests;
  Slab<OutgoingResponse> outgoing_responses;
  Slab<OutgoingRequest> outgoing_requests;
  Slab<RequestOptions> request_options;
  Slab<IncomingResponse> incoming_responses;
  Slab<Body> incoming_bodies, outgoing_bodies;
  Slab<Future> futures;
  Slab<bool> outparams;
  // Requests being sent (their threads), shared with the threads: at most 16 per store.
  std::shared_ptr<std::atomic<uint32_t>> exchanges_in_flight =
      std::make_shared<std::atomic<uint32_t>>(0);

  // What the guest answered with response-outparam.set: a response, or an error-code's text.
  bool answered = false;
  std::optional<OutgoingResponse> response;
  std::string error;
  // handle_http_request's sink, and whether the response went out through it (`stream_error`:
  // why it was cut short). A flush of the response body sends it only when the handler has
  // run a while or the body is large (`flush_requested` otherwise, until the guest waits):
  // a quick handler's response still goes out whole, with its length.
  HttpResponseSink* sink = nullptr;
  bool streaming = false;
  bool flush_requested = false;
  uint64_t started_cpu_ns = 0;   // the thread's CPU time when the handler was called
  uint64_t started_wall_ns = 0;  // and the monotonic clock's
  std::string stream_error;
};

// The host's resource types, defined once on the linker (every store sees the same ones).
struct ResourceTypes {
  const RuntimeResourceType* error = nullptr;
  const RuntimeResourceType* pollable = nullptr;
  const RuntimeResourceType* input_stream = nullptr;
  const RuntimeResourceType* output_stream = nullptr;
  const RuntimeResourceType* descriptor = nullptr;
  const RuntimeResourceType* directory_entry_stream = nullptr;
  // wasi:http/types (http.cpp)
  const RuntimeResourceType* fields = nullptr;
  const RuntimeResourceType* incoming_request = nullptr;
  const RuntimeResourceType* outgoing_request = nullptr;
  const RuntimeResourceType* request_options = nullptr;
  const RuntimeResourceType* response_outparam = nullptr;
  const RuntimeResourceType* incoming_response = nullptr;
  const RuntimeResourceType* incoming_body = nullptr;
  const RuntimeResourceType* future_trailers = nullptr;
  const RuntimeResourceType* outgoing_response = nullptr;
  const RuntimeResourceType* outgoing_body = nullptr;
  const RuntimeResourceType* future_incoming_response = nullptr;
  // wasi:sockets (sockets.cpp)
  const RuntimeResourceType* network = nullptr;
  const RuntimeResourceType* tcp_socket = nullptr;
  const RuntimeResourceType* udp_socket = nullptr;
  const RuntimeResourceType* incoming_datagram_stream = nullptr;
  const RuntimeResourceType* outgoing_datagram_stream = nullptr;
  const RuntimeResourceType* resolve_address_stream = nullptr;

  const RuntimeResourceType* resource_named(const std::string& name) const {
    if (name == "error") return error;
    if (name == "pollable") return pollable;
    if (name == "input-stream") return input_stream;
    if (name == "output-stream") return output_stream;
    if (name == "descriptor") return descriptor;
    if (name == "directory-entry-stream") return directory_entry_stream;
    if (name == "fields") return fields;
    if (name == "incoming-request") return incoming_request;
    if (name == "outgoing-request") return outgoing_request;
    if (name == "request-options") return request_options;
    if (name == "response-outparam") return response_outparam;
    if (name == "incoming-response") return incoming_response;
    if (name == "incoming-body") return incoming_body;
    if (name == "future-trailers") return future_trailers;
    if (name == "outgoing-response") return outgoing_response;
    if (name == "outgoing-body") return outgoing_body;
    if (name == "future-incoming-response") return future_incoming_response;
    if (name == "network") return network;
    if (name == "tcp-socket") return tcp_socket;
    if (name == "udp-socket") return udp_socket;
    if (name == "incoming-datagram-stream") return incoming_datagram_stream;
    if (name == "outgoing-datagram-stream") return outgoing_datagram_stream;
    if (name == "resolve-address-stream") return resolve_address_stream;
    return nullptr;
  }
};

struct State;
// The guest is about to wait (poll, a blocking read): a response body it flushed goes out now
// (http.cpp), so a handler that writes, then waits, is seen to answer.
void send_flushed_response(State* s);

// wasi:sockets' host objects (sockets.cpp), per store.
struct TcpSocket;
struct UdpSocket;
struct IncomingDatagrams;
struct OutgoingDatagrams;
struct NameLookup;
struct SocketsState {
  Slab<bool> networks;
  Slab<std::shared_ptr<TcpSocket>> tcp;
  Slab<std::shared_ptr<UdpSocket>> udp;
  Slab<std::shared_ptr<IncomingDatagrams>> incoming;
  Slab<std::shared_ptr<OutgoingDatagrams>> outgoing;
  Slab<std::shared_ptr<NameLookup>> lookups;
  // Name lookups running on their threads (sockets.cpp), shared with the threads.
  std::shared_ptr<std::atomic<uint32_t>> lookups_in_flight =
      std::make_shared<std::atomic<uint32_t>>(0);
};

// A store's WASI state (Preview2::attach): its grants, and the host objects behind its handles.
// The resource types are the linker's, the same in every store.
struct State : ResourceTypes {
  WasiContext& context;
  Store& store;

  // A stream is stdio (`stream`) or a file's (`file`, from read-via-stream, write-via-stream or
  // append-via-stream: positional I/O from `position`).
  // An HTTP body's stream writes into `body` (http.cpp), a TCP socket's into `tcp`.
  struct Output {
    OutputStream* stream = nullptr;
    std::shared_ptr<Descriptor> file;
    std::shared_ptr<HttpBody> body;
    std::shared_ptr<TcpStream> tcp;
    uint64_t position = 0;
    bool append = false;
    uint64_t permit = 0;  // what the last check-write allowed
    bool closed = false;
  };
  struct Input {
    InputStream* stream = nullptr;
    std::shared_ptr<Descriptor> file;
    std::shared_ptr<HttpBody> body;  // an HTTP body's bytes, read from `position`
    std::shared_ptr<TcpStream> tcp;
    uint64_t position = 0;
    bool closed = false;
  };
  struct Directory {  // a directory-entry-stream: the entries read at read-directory
    std::vector<DirectoryEntry> entries;
    size_t next = 0;
  };
  struct OpenDescriptor {
    std::shared_ptr<Descriptor> descriptor;
    bool counted = false;  // opened by the guest (a preopen's handle is not)
  };
  Slab<OpenDescriptor> descriptors;
  Slab<Directory> directories;
  // Beside the preopens, descriptors and sockets the guest holds: bounded by max_open_files.
  size_t open_descriptors = 0;
  // Whether the guest may hold one more (stdio and the preopens count too).
  bool descriptor_budget_left() const {
    const size_t used = open_descriptors + context.preopens().size() + 3;
    return used < context.config().max_open_files;
  }
  struct Pollable {
    enum class Kind : uint8_t { kReady, kTimer, kReadable, kSource } kind = Kind::kReady;
    uint64_t deadline_ns = 0;            // kTimer, on the monotonic clock
    int fd = -1;                         // kReadable
    std::shared_ptr<PollSource> source;  // kSource

    // A pollable for `source`, or one ready at once when there is none.
    static Pollable of(std::shared_ptr<PollSource> source) {
      Pollable p;
      if (source) {
        p.kind = Kind::kSource;
        p.source = std::move(source);
      }
      return p;
    }
  };
  Slab<Output> outputs;
  Slab<Input> inputs;
  Slab<StreamError> errors;  // an io error: what failed, as wasi:filesystem's error-code or
                             // (a socket's) an errno
  Slab<Pollable> pollables;
  // Random per instance, made at its first use and the same ever after: most instances never
  // ask, and two getrandom calls per instance were two system calls per kiln serve request.
  const uint64_t* insecure_seed();      // wasi:random/insecure-seed's
  const uint64_t* metadata_hash_key();  // wasi:filesystem metadata-hash's key
  HttpState http;
  SocketsState sockets;

  State(const ResourceTypes& types, WasiContext& c, Store& s);
  // The state of the store a host function is called in, or null when it has none.
  static State* of(Store& store) { return static_cast<State*>(store.host_data(&kStateKey)); }
  static const char kStateKey;

  WaitInterrupt interrupt() {
    Store* s = &store;
    return [s] { return s->engine().config().epoch_interruption && s->deadline_passed(); };
  }

  // A new owning handle of `type` for the object `rep` (or a trap when the slab is full).
  TrapPtr own(const RuntimeResourceType* type, std::optional<uint32_t> rep, V& out) {
    if (!rep) {
      return host_trap(
          "too many WASI resources held by the guest (2^20 of a kind, or past the store's memory "
          "budget)");
    }
    out = V::own(type, *rep);
    return nullptr;
  }

  // stream-error.last-operation-failed(error), or closed.
  TrapPtr stream_error(const StreamError& e, V& out) {
    if (e.interrupted) return Trap::make(TrapCode::kDeadlineExceeded);
    if (e.closed) {
      out = err(closed());
      return nullptr;
    }
    V handle;
    if (TrapPtr t = own(error, errors.add(store, e), handle)) return t;
    V failed;
    failed.kind = K::kVariant;
    failed.index = 0;
    failed.items.push_back(std::move(handle));
    out = err(std::move(failed));
    return nullptr;
  }

  // Reads at most `buffer.size()` bytes (0: the end). Blocking reads of stdin end at the store's
  // deadline; a non-blocking one reads only what is there (`would_block` when nothing is).
  Result<size_t, StreamError> read(Input& in, std::span<uint8_t> buffer, bool blocking,
                                   bool& would_block) {
    would_block = false;
    if (in.body && in.body->source) {
      if (blocking) send_flushed_response(this);
      return in.body->source->read(buffer, blocking, would_block, interrupt());
    }
    if (in.body) {
      const std::string& bytes = in.body->bytes;
      const size_t n = std::min<uint64_t>(buffer.size(), bytes.size() - in.position);
      std::copy_n(bytes.data() + in.position, n, buffer.data());
      in.position += n;
      return n;
    }
    if (in.tcp) {
      if (blocking) send_flushed_response(this);
      return in.tcp->receive(buffer, blocking, would_block, interrupt());
    }
    if (in.file) {
      auto n = in.file->read(buffer, in.position);
      if (!n) return StreamError{false, n.error()};
      in.position += *n;
      return *n;
    }
    if (!blocking && in.stream->host_fd() >= 0) {
      struct pollfd fd {
        in.stream->host_fd(), POLLIN, 0
      };
      if (::poll(&fd, 1, 0) == 0) {
        would_block = true;
        return size_t{0};
      }
    }
    if (blocking) send_flushed_response(this);
    return in.stream->blocking_read(buffer, interrupt());
  }

  // Writes all of `bytes` (stdio blocks until done; files write at their position, or at their
  // end when appending).
  Result<void, StreamError> write(Output& out, const std::string& bytes) {
    if (out.body && out.body->pipe) return out.body->pipe->write(bytes, interrupt());
    if (out.body) {
      if (out.body->bytes.size() + bytes.size() > kMaxWholeBodyBytes) {
        return StreamError{false, ErrorCode::kFileTooLarge};
      }
      if (!out.body->charge.set(store, out.body->bytes.size() + bytes.size())) {
        return StreamError{false, ErrorCode::kInsufficientMemory};
      }
      out.body->bytes += bytes;
      return {};
    }
    if (out.tcp) return out.tcp->write(bytes);
    if (!out.file) {
      return out.stream->blocking_write_and_flush(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
          interrupt());
    }
    if (out.append) {
      auto st = out.file->stat();
      if (!st) return StreamError{false, st.error()};
      out.position = st->size;
    }
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = out.file->write(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + done,
                                   bytes.size() - done),
          out.position);
      if (!n) return StreamError{false, n.error()};
      if (*n == 0) return StreamError{false, ErrorCode::kIo};
      done += *n;
      out.position += *n;
    }
    return {};
  }

  bool ready(const Pollable& p) {
    switch (p.kind) {
      case Pollable::Kind::kReady:
        return true;
      case Pollable::Kind::kTimer:
        return clock_now_ns(CLOCK_MONOTONIC) >= p.deadline_ns;
      case Pollable::Kind::kReadable: {
        struct pollfd fd {
          p.fd, POLLIN, 0
        };
        return ::poll(&fd, 1, 0) != 0;  // readable, at its end, or failed: all "ready"
      }
      case Pollable::Kind::kSource:
        return p.source->ready();
    }
    return true;
  }

  // wasi:io/poll.poll: waits until one of `reps` is ready; their indices.
  TrapPtr poll(const std::vector<uint32_t>& reps, std::vector<uint32_t>& ready_indices) {
    if (reps.empty()) return host_trap("wasi:io/poll.poll: the list of pollables is empty");
    for (;;) {
      std::vector<struct pollfd> fds;
      uint64_t earliest = UINT64_MAX;
      for (uint32_t i = 0; i < reps.size(); ++i) {
        const Pollable* p = pollables.get(reps[i]);
        if (!p) return host_trap("wasi:io/poll.poll: unknown pollable");
        if (ready(*p)) ready_indices.push_back(i);
        if (p->kind == Pollable::Kind::kTimer) earliest = std::min(earliest, p->deadline_ns);
        if (p->kind == Pollable::Kind::kReadable) fds.push_back({p->fd, POLLIN, 0});
        if (p->kind == Pollable::Kind::kSource) fds.push_back(p->source->wait_on());
      }
      if (!ready_indices.empty()) return nullptr;
      send_flushed_response(this);
      const uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
      const int64_t wait =
          earliest == UINT64_MAX ? -1 : static_cast<int64_t>(std::max(earliest, now) - now);
      if (interruptible_poll(fds.data(), fds.size(), wait, interrupt()) == kWaitInterrupted) {
        return Trap::make(TrapCode::kDeadlineExceeded);
      }
    }
  }

 private:
  uint64_t seed_[2] = {0, 0};
  uint64_t hash_key_[2] = {0, 0};
  bool seeded_ = false, hash_keyed_ = false;
};

// A host function: the calling store's state, the arguments as lifted, the result to fill (the
// linker checks it against the imported type).
using Function =
    std::function<TrapPtr(State* s, const std::vector<V>& args, std::optional<V>& result)>;

class Definer {
 public:
  // With `only`: those functions only ("wasi:io/poll#poll", the interface without a version;
  // the imported types are there too, for wants_package).
  Definer(ComponentLinker& linker, ResourceTypes& types,
          std::vector<Preview2::DefinedFunction>& functions,
          const std::set<std::string, std::less<>>* only = nullptr)
      : linker_(linker), types_(types), functions_(functions), only_(only) {}

  // `signature` says what the arguments must be, one letter each: b a borrow of the method's
  // own resource, o an own of it (a static function's `this`), i a borrow of an input-stream,
  // e of an error, d of a descriptor, F an own of fields, O of a response-outparam, R of an
  // outgoing-request, N a borrow of a network, w a u64, x a u32, u a u16, c a u8, t a bool,
  // s a string, l a list, r a result, p an option, f flags, v a variant, n an enum (a payload's
  // handles are the function's to check);
  // "*" checks nothing (the function only traps). The linker matches imports by name, so a guest
  // may import a function with another type: its arguments are checked here, before the host
  // reads them (a u32 where a borrow belongs must not name a host object it was never given).
  Result<void> function(std::string_view interface, std::string_view name,
                        std::string_view signature_text, Function f) {
    if (only_) {
      wanted_.assign(interface).append(1, '#').append(name);
      if (!only_->contains(wanted_)) return {};
    }
    const RuntimeResourceType* self = nullptr;
    for (const char* prefix : {"[method]", "[static]"}) {
      const size_t length = std::char_traits<char>::length(prefix);
      if (name.starts_with(prefix)) {
        self = types_.resource_named(std::string(name.substr(length, name.find('.') - length)));
      }
    }
    const std::string full = path(interface, name);
    std::string signature(signature_text);
    functions_.push_back({full, signature});
    return linker_.define_function(full, [f = std::move(f), signature, self, full](
                                             Store& store, const FunctionType&,
                                             const std::vector<V>& args, std::optional<V>& result) {
      State* s = State::of(store);
      if (!s) return host_trap(full + " called in a store without WASI (Preview2::attach)");
      if (signature != "*" && !matches(signature, self, *s, args)) {
        return host_trap(full + " was imported with another type than WASI's");
      }
      return f(s, args, result);
    });
  }
  // Whether anything of a package ("wasi:sockets/") is to be defined: a package none of whose
  // functions or types a component imports is left out whole, resource types included.
  bool wants_package(std::string_view prefix) const {
    if (!only_) return true;
    auto it = only_->lower_bound(prefix);
    return it != only_->end() && it->starts_with(prefix);
  }
  Result<const RuntimeResourceType*> resource(const std::string& interface, const std::string& name,
                                              std::function<void(State*, uint32_t)> destructor) {
    component::HostResourceDestructor drop;
    if (destructor) {
      drop = [destructor = std::move(destructor)](Store& store, uint32_t rep) {
        if (State* s = State::of(store)) destructor(s, rep);
      };
    }
    return linker_.define_resource(path(interface, name), std::move(drop));
  }
  // The same resource type under another interface (a WIT `use`).
  Result<void> alias(const std::string& interface, const std::string& name,
                     const RuntimeResourceType* type) {
    component::RuntimeItem item;
    item.kind = component::resolved::ExternType::Kind::kType;
    item.resource = type;
    return linker_.define(path(interface, name), std::move(item));
  }

 private:
  static std::string path(std::string_view interface, std::string_view name) {
    std::string path(interface);
    path += kVersion;
    path += '#';
    path += name;
    return path;
  }
  static bool matches(const std::string& signature, const RuntimeResourceType* self, const State& s,
                      const std::vector<V>& args) {
    if (args.size() != signature.size()) return false;
    for (size_t i = 0; i < args.size(); ++i) {
      const V& a = args[i];
      switch (signature[i]) {
        case 'b':
          if (a.kind != K::kBorrow || a.resource != self) return false;
          break;
        case 'i':
          if (a.kind != K::kBorrow || a.resource != s.input_stream) return false;
          break;
        case 'e':
          if (a.kind != K::kBorrow || a.resource != s.error) return false;
          break;
        case 'd':
          if (a.kind != K::kBorrow || a.resource != s.descriptor) return false;
          break;
        case 'N':
          if (a.kind != K::kBorrow || a.resource != s.network) return false;
          break;
        case 'w':
          if (a.kind != K::kU64) return false;
          break;
        case 'x':
          if (a.kind != K::kU32) return false;
          break;
        case 't':
          if (a.kind != K::kBool) return false;
          break;
        case 's':
          if (a.kind != K::kString) return false;
          break;
        case 'f':
          if (a.kind != K::kFlags) return false;
          break;
        case 'v':
          if (a.kind != K::kVariant) return false;
          break;
        case 'n':
          if (a.kind != K::kEnum) return false;
          break;
        case 'c':
          if (a.kind != K::kU8) return false;
          break;
        case 'u':
          if (a.kind != K::kU16) return false;
          break;
        case 'p':
          if (a.kind != K::kOption) return false;
          break;
        case 'o':  // a static function's `this`
          if (a.kind != K::kOwn || a.resource != self) return false;
          break;
        case 'F':
          if (a.kind != K::kOwn || a.resource != s.fields) return false;
          break;
        case 'O':
          if (a.kind != K::kOwn || a.resource != s.response_outparam) return false;
          break;
        case 'R':
          if (a.kind != K::kOwn || a.resource != s.outgoing_request) return false;
          break;
        case 'l':
          if (a.kind != K::kList) return false;
          break;
        case 'r':
          if (a.kind != K::kResult) return false;
          break;
        default:
          return false;
      }
    }
    return true;
  }
  ComponentLinker& linker_;
  ResourceTypes& types_;
  std::vector<Preview2::DefinedFunction>& functions_;
  const std::set<std::string, std::less<>>* only_;
  std::string wanted_;  // function()'s key into only_, its buffer kept
};

// The interfaces beside wasi:io, wasi:cli, wasi:clocks and wasi:random (preview2.cpp).
Result<void> define_filesystem(Definer& d, ResourceTypes& t);
Result<void> define_http(Definer& d, ResourceTypes& t);
Result<void> define_sockets(Definer& d, ResourceTypes& t);

// The guest flushed an HTTP body's stream: a response body going out through the request's
// sink is sent (its head first); any other body keeps its bytes (http.cpp).
Result<void, StreamError> flush_http_body(State* s, HttpBody& body);

}  // namespace kiln::wasi::preview2
