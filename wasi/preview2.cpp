#include "wasi/preview2.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "wasi/clocks_random.h"
#include "wasi/preview2_host.h"

namespace kiln::wasi {

namespace preview2 {

const char State::kStateKey = 0;

State::State(const ResourceTypes& types, WasiContext& c, Store& s)
    : ResourceTypes(types), context(c), store(s) {}

const uint64_t* State::insecure_seed() {
  if (!seeded_ && !fill_random(seed_, sizeof seed_)) {
    seed_[0] = clock_now_ns(CLOCK_REALTIME);  // insecure, as the interface says it may be
    seed_[1] = clock_now_ns(CLOCK_MONOTONIC);
  }
  seeded_ = true;
  return seed_;
}

const uint64_t* State::metadata_hash_key() {
  if (!hash_keyed_) (void)fill_random(hash_key_, sizeof hash_key_);
  hash_keyed_ = true;
  return hash_key_;
}

}  // namespace preview2

using namespace preview2;

Preview2::Preview2() : types_(std::make_unique<ResourceTypes>()) {}
Preview2::~Preview2() = default;

void Preview2::attach(Store& store, WasiContext& context) const {
  store.set_host_data(&State::kStateKey, std::make_shared<State>(*types_, context, store));
}

const RuntimeResourceType* Preview2::resource_type(const std::string& name) const {
  return types_->resource_named(name);
}

namespace {

// An output stream's operation failed: last-operation-failed, after which the stream is closed
// (streams.wit).
TrapPtr output_failed(State* s, State::Output& out, const StreamError& error, std::optional<V>& r) {
  out.closed = true;
  return s->stream_error(error, *(r = V{}));
}

// Random bytes from the host's CSPRNG (getrandom), `len` of them: at most 2^28, and at most
// the store's memory budget (the host makes them before the guest can refuse them).
TrapPtr random_bytes(const Store& store, uint64_t len, V& out) {
  if (len > kMaxListBytes) return host_trap("wasi:random: more than 2^28 bytes asked for");
  if (len > store.limits().max_total_memory_bytes) {
    return host_trap("wasi:random: more bytes asked for than the store's memory budget");
  }
  std::string bytes(len, '\0');
  if (!fill_random(bytes.data(), bytes.size())) {
    return host_trap("wasi:random: the host's random source failed");
  }
  out = V::bytes(std::move(bytes));
  return nullptr;
}
}  // namespace

Result<std::shared_ptr<const Preview2>> Preview2::add_to_linker(
    ComponentLinker& linker, const component::ValidatedComponent& component) {
  // "wasi:io/streams#[method]output-stream.write": each function (and type) the component
  // imports, its interface without a version. (The preview1 adapter imports 21 of the ~80
  // functions of the interfaces it names; each definition costs a few thousand instructions at
  // start-up.)
  std::set<std::string, std::less<>> imported;
  for (const auto& import : component.type->imports) {
    if (import.type.kind != component::resolved::ExternType::Kind::kInstance ||
        !import.type.instance) {
      continue;
    }
    const std::string interface = import.name.substr(0, import.name.find('@'));
    for (const auto& e : import.type.instance->exports) imported.insert(interface + '#' + e.name);
  }
  return define(linker, &imported);
}

Result<std::shared_ptr<const Preview2>> Preview2::add_to_linker(ComponentLinker& linker) {
  return define(linker, nullptr);
}

Result<std::shared_ptr<const Preview2>> Preview2::define(
    ComponentLinker& linker, const std::set<std::string, std::less<>>* only) {
  auto host = std::make_shared<Preview2>();
  ResourceTypes* t = host->types_.get();
  Definer d(linker, *t, host->functions_, only);
  using Kind = State::Pollable::Kind;

  // ---- wasi:io ----
  KILN_SET(t->error, d.resource("wasi:io/error", "error",
                                [](State* s, uint32_t rep) { s->errors.remove(rep); }));
  KILN_SET(t->pollable, d.resource("wasi:io/poll", "pollable",
                                   [](State* s, uint32_t rep) { s->pollables.remove(rep); }));
  KILN_SET(t->input_stream, d.resource("wasi:io/streams", "input-stream",
                                       [](State* s, uint32_t rep) { s->inputs.remove(rep); }));
  KILN_SET(t->output_stream, d.resource("wasi:io/streams", "output-stream",
                                        [](State* s, uint32_t rep) { s->outputs.remove(rep); }));
  KILN_TRY(d.alias("wasi:io/streams", "error", t->error));
  KILN_TRY(d.alias("wasi:io/streams", "pollable", t->pollable));

  KILN_TRY(d.function("wasi:io/error", "[method]error.to-debug-string", "b",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        // The debug text names the error-code (types.wit's enum order), or
                        // a socket's errno.
                        const StreamError* e = s->errors.get(a[0].rep);
                        r = V::string(!e ? std::string("unknown error")
                                      : e->socket_errno
                                          ? std::string(strerror(e->socket_errno))
                                          : "error-code " +
                                                std::to_string(static_cast<int>(e->error)));
                        return nullptr;
                      }));

  KILN_TRY(d.function("wasi:io/poll", "[method]pollable.ready", "b",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        const State::Pollable* p = s->pollables.get(a[0].rep);
                        r = V::integer(K::kBool, p && s->ready(*p) ? 1 : 0);
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:io/poll", "[method]pollable.block", "b",
                      [](State* s, const std::vector<V>& a, std::optional<V>&) -> TrapPtr {
                        std::vector<uint32_t> ready;
                        return s->poll({a[0].rep}, ready);
                      }));
  KILN_TRY(d.function("wasi:io/poll", "poll", "l",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        if (a[0].items.size() > UINT32_MAX) {
                          return host_trap("wasi:io/poll.poll: more than 2^32 pollables");
                        }
                        std::vector<uint32_t> reps;
                        for (const V& p : a[0].items) {
                          if (p.kind != K::kBorrow || p.resource != s->pollable) {
                            return host_trap("wasi:io/poll.poll: not a list of pollables");
                          }
                          reps.push_back(p.rep);
                        }
                        std::vector<uint32_t> ready;
                        if (TrapPtr t = s->poll(reps, ready)) return t;
                        std::vector<V> indices;
                        for (uint32_t i : ready) indices.push_back(V::integer(K::kU32, i));
                        r = list(std::move(indices));
                        return nullptr;
                      }));

  // input-stream: stdin, or a file's (read-via-stream).
  auto read = [](bool blocking) {
    return [blocking](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      State::Input* in = s->inputs.get(a[0].rep);
      if (!in || in->closed) {
        r = err(closed());
        return nullptr;
      }
      const uint64_t len = std::min<uint64_t>(a[1].bits, 65536);
      if (len == 0) {
        r = ok(V::bytes(""));
        return nullptr;
      }
      const std::span<uint8_t> buffer = read_scratch(len);
      bool would_block = false;
      auto n = s->read(*in, buffer, blocking, would_block);
      if (!n) return s->stream_error(n.error(), *(r = V{}));
      if (*n == 0 && !would_block) {  // end of stream
        in->closed = true;
        r = err(closed());
        return nullptr;
      }
      r = ok(V::bytes(std::string(reinterpret_cast<const char*>(buffer.data()), *n)));
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.read", "bw", read(false)));
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.blocking-read", "bw", read(true)));
  auto skip = [read](bool blocking) {
    auto reader = read(blocking);
    return [reader](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      if (TrapPtr t = reader(s, a, r)) return t;
      if (r->index == 0) r = ok(u64(r->items[0].list_size()));
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.skip", "bw", skip(false)));
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.blocking-skip", "bw", skip(true)));
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.subscribe", "b",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        State::Pollable p;
                        const State::Input* in = s->inputs.get(a[0].rep);
                        if (in && !in->closed && in->tcp)
                          p = State::Pollable::of(in->tcp->readable());
                        if (in && !in->closed && in->body && in->body->source)
                          p = State::Pollable::of(in->body->source->readable());
                        if (in && !in->closed && in->stream && in->stream->host_fd() >= 0) {
                          p.kind = Kind::kReadable;
                          p.fd = in->stream->host_fd();
                        }
                        return s->own(s->pollable, s->pollables.add(s->store, p), *(r = V{}));
                      }));

  // output-stream: stdout, stderr, or a file's (write-via-stream, append-via-stream): writes go
  // out at once (blocking), so the stream is always ready and a flush has nothing to wait for.
  // A TCP socket's (tcp_stream.h) holds what the socket does not take at once: check-write
  // permits nothing until it has gone, and flushes wait for it.
  auto write = [](bool check_permit, bool zeroes, bool blocking) {
    return [=](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      State::Output* out = s->outputs.get(a[0].rep);
      if (!out || out->closed) {
        r = err(closed());
        return nullptr;
      }
      const uint64_t length = zeroes ? a[1].bits : a[1].list_size();
      if (blocking && length > kBlockingWriteLimit) {
        return host_trap("wasi:io/streams: a blocking write of more than 4096 bytes");
      }
      if (check_permit) {
        if (length > out->permit) {
          return host_trap("wasi:io/streams: a write of more bytes than check-write permitted");
        }
        out->permit -= length;
      }
      if (zeroes && length > kMaxListBytes) {
        return host_trap("wasi:io/streams: more than 2^28 zeroes asked for");
      }
      const std::string bytes = zeroes ? std::string(length, '\0') : bytes_of(a[1]);
      auto written = s->write(*out, bytes);
      if (written && blocking && out->tcp) written = out->tcp->flush(true, s->interrupt());
      if (written && blocking && out->body) written = flush_http_body(s, *out->body);
      if (!written) return output_failed(s, *out, written.error(), r);
      r = ok();
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.check-write", "b",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        State::Output* out = s->outputs.get(a[0].rep);
                        if (!out || out->closed) {
                          r = err(closed());
                          return nullptr;
                        }
                        out->permit = kWritePermit;
                        if (out->body && out->body->pipe) {  // a request body being sent
                          auto room = out->body->pipe->room();
                          if (!room) return output_failed(s, *out, room.error(), r);
                          out->permit = std::min<uint64_t>(kWritePermit, *room);
                        }
                        if (out->tcp) {
                          auto permit = out->tcp->check_write();
                          if (!permit) return output_failed(s, *out, permit.error(), r);
                          out->permit = *permit;
                        }
                        r = ok(u64(out->permit));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.write", "bl",
                      write(true, false, false)));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.blocking-write-and-flush", "bl",
                      write(false, false, true)));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.write-zeroes", "bw",
                      write(true, true, false)));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.blocking-write-zeroes-and-flush",
                      "bw", write(false, true, true)));
  auto flush = [](bool blocking) {
    return [blocking](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      State::Output* out = s->outputs.get(a[0].rep);
      if (!out || out->closed) {
        r = err(closed());
        return nullptr;
      }
      auto flushed = out->tcp    ? out->tcp->flush(blocking, s->interrupt())
                     : out->body ? flush_http_body(s, *out->body)
                                 : Result<void, StreamError>();
      if (!flushed) return output_failed(s, *out, flushed.error(), r);
      r = ok();
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.flush", "b", flush(false)));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.blocking-flush", "b", flush(true)));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.subscribe", "b",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        const State::Output* out = s->outputs.get(a[0].rep);
                        State::Pollable p;
                        if (out && !out->closed && out->tcp)
                          p = State::Pollable::of(out->tcp->writable());
                        if (out && !out->closed && out->body && out->body->pipe)
                          p = State::Pollable::of(out->body->pipe->writable());
                        return s->own(s->pollable, s->pollables.add(s->store, std::move(p)),
                                      *(r = V{}));
                      }));
  // splice: read from the input stream, write what came to the output stream.
  auto splice = [read](bool blocking) {
    auto reader = read(blocking);
    return [reader](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      State::Output* out = s->outputs.get(a[0].rep);
      if (!out || out->closed) {
        r = err(closed());
        return nullptr;
      }
      std::optional<V> got;
      if (TrapPtr t = reader(s, {a[1], a[2]}, got)) return t;
      if (got->index != 0) {
        r = std::move(got);
        return nullptr;
      }
      const std::string bytes = bytes_of(got->items[0]);
      auto written = s->write(*out, bytes);
      if (!written) return output_failed(s, *out, written.error(), r);
      r = ok(u64(bytes.size()));
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.splice", "biw", splice(false)));
  KILN_TRY(
      d.function("wasi:io/streams", "[method]output-stream.blocking-splice", "biw", splice(true)));

  // ---- wasi:cli ----
  KILN_TRY(d.function("wasi:cli/environment", "get-environment", "",
                      [](State* s, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        std::vector<V> pairs;
                        for (const auto& [name, value] : s->context.config().env) {
                          V pair;
                          pair.kind = K::kTuple;
                          pair.items = {V::string(name), V::string(value)};
                          pairs.push_back(std::move(pair));
                        }
                        r = list(std::move(pairs));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:cli/environment", "get-arguments", "",
                      [](State* s, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        std::vector<V> args;
                        for (const std::string& a : s->context.config().args) {
                          args.push_back(V::string(a));
                        }
                        r = list(std::move(args));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:cli/environment", "initial-cwd", "",
                      [](State*, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = none();  // no directory is granted as the working directory
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:cli/exit", "exit", "r",
                      [](State*, const std::vector<V>& a, std::optional<V>&) -> TrapPtr {
                        return Trap::make_exit(a[0].index == 0 ? 0 : 1);
                      }));
  KILN_TRY(d.function("wasi:cli/exit", "exit-with-code", "c",
                      [](State*, const std::vector<V>& a, std::optional<V>&) -> TrapPtr {
                        return Trap::make_exit(static_cast<int32_t>(a[0].bits));
                      }));
  KILN_TRY(d.alias("wasi:cli/stdin", "input-stream", t->input_stream));
  KILN_TRY(d.alias("wasi:cli/stdout", "output-stream", t->output_stream));
  KILN_TRY(d.alias("wasi:cli/stderr", "output-stream", t->output_stream));
  KILN_TRY(d.function("wasi:cli/stdin", "get-stdin", "",
                      [](State* s, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        State::Input in;
                        in.stream = s->context.stdin_stream();
                        return s->own(s->input_stream, s->inputs.add(s->store, in), *(r = V{}));
                      }));
  auto get_output = [](OutputStream* (WasiContext::*which)() const) {
    return [which](State* s, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
      State::Output out;
      out.stream = (s->context.*which)();
      return s->own(s->output_stream, s->outputs.add(s->store, out), *(r = V{}));
    };
  };
  KILN_TRY(
      d.function("wasi:cli/stdout", "get-stdout", "", get_output(&WasiContext::stdout_stream)));
  KILN_TRY(
      d.function("wasi:cli/stderr", "get-stderr", "", get_output(&WasiContext::stderr_stream)));
  // Terminals: the guest's stdio is never presented as one (as wasmtime does for redirected
  // stdio): no terminal objects exist.
  const RuntimeResourceType* terminal_input = nullptr;
  const RuntimeResourceType* terminal_output = nullptr;
  KILN_SET(terminal_input, d.resource("wasi:cli/terminal-input", "terminal-input", {}));
  KILN_SET(terminal_output, d.resource("wasi:cli/terminal-output", "terminal-output", {}));
  KILN_TRY(d.alias("wasi:cli/terminal-stdin", "terminal-input", terminal_input));
  for (const char* name : {"terminal-stdout", "terminal-stderr"}) {
    KILN_TRY(d.alias(std::string("wasi:cli/") + name, "terminal-output", terminal_output));
  }
  auto no_terminal = [](State*, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
    r = none();
    return nullptr;
  };
  KILN_TRY(d.function("wasi:cli/terminal-stdin", "get-terminal-stdin", "", no_terminal));
  KILN_TRY(d.function("wasi:cli/terminal-stdout", "get-terminal-stdout", "", no_terminal));
  KILN_TRY(d.function("wasi:cli/terminal-stderr", "get-terminal-stderr", "", no_terminal));

  // ---- wasi:clocks ----
  KILN_TRY(d.alias("wasi:clocks/monotonic-clock", "pollable", t->pollable));
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "now", "",
                      [](State*, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = u64(clock_now_ns(CLOCK_MONOTONIC));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "resolution", "",
                      [](State*, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = u64(clock_resolution_ns(CLOCK_MONOTONIC));
                        return nullptr;
                      }));
  auto subscribe = [](bool relative) {
    return [relative](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      State::Pollable p;
      p.kind = Kind::kTimer;
      const uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
      p.deadline_ns = !relative                      ? a[0].bits
                      : a[0].bits > UINT64_MAX - now ? UINT64_MAX
                                                     : now + a[0].bits;
      return s->own(s->pollable, s->pollables.add(s->store, p), *(r = V{}));
    };
  };
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "subscribe-instant", "w", subscribe(false)));
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "subscribe-duration", "w", subscribe(true)));
  KILN_TRY(d.function("wasi:clocks/wall-clock", "now", "",
                      [](State*, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = datetime(clock_now_ns(CLOCK_REALTIME));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:clocks/wall-clock", "resolution", "",
                      [](State*, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = datetime(clock_resolution_ns(CLOCK_REALTIME));
                        return nullptr;
                      }));

  // ---- wasi:random ---- (the insecure interfaces are served from the same source)
  for (const auto& [interface, bytes_name, u64_name] :
       {std::tuple{"wasi:random/random", "get-random-bytes", "get-random-u64"},
        std::tuple{"wasi:random/insecure", "get-insecure-random-bytes",
                   "get-insecure-random-u64"}}) {
    KILN_TRY(d.function(interface, bytes_name, "w",
                        [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                          return random_bytes(s->store, a[0].bits, *(r = V{}));
                        }));
    KILN_TRY(d.function(interface, u64_name, "",
                        [](State*, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                          uint64_t x = 0;
                          if (!fill_random(&x, sizeof x)) {
                            return host_trap("wasi:random: the host's random source failed");
                          }
                          r = u64(x);
                          return nullptr;
                        }));
  }
  KILN_TRY(d.function("wasi:random/insecure-seed", "insecure-seed", "",
                      [](State* s, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        V pair;
                        pair.kind = K::kTuple;
                        const uint64_t* seed = s->insecure_seed();
                        pair.items = {u64(seed[0]), u64(seed[1])};
                        r = std::move(pair);
                        return nullptr;
                      }));
  KILN_TRY(define_filesystem(d, *t));
  KILN_TRY(define_http(d, *t));
  KILN_TRY(define_sockets(d, *t));
  return std::shared_ptr<const Preview2>(std::move(host));
}

}  // namespace kiln::wasi
