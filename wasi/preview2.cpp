#include "wasi/preview2.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "wasi/clocks_random.h"
namespace kiln::wasi {

namespace {

using component::ComponentLinker;
using component::ComponentValue;
using component::RuntimeResourceType;
using component::resolved::FunctionType;
using V = ComponentValue;
using K = ComponentValue::Kind;

constexpr const char* kVersion = "@0.2.12";
// Lists the host makes for a guest (random bytes, reads) are at most this long: the canonical
// ABI's bound on one value, so a guest's `len: u64` cannot make the host allocate more.
constexpr uint64_t kMaxListBytes = 1u << 28;
// What check-write permits, and what blocking-write-and-flush takes (streams.wit: "up to 4096").
constexpr uint64_t kWritePermit = 65536;
constexpr uint64_t kBlockingWriteLimit = 4096;

// Host objects behind resource handles: a rep is an index; freed reps are reused.
template <typename T>
class Slab {
 public:
  static constexpr uint32_t kMax = 1u << 20;
  std::optional<uint32_t> add(T value) {
    if (!free_.empty()) {
      const uint32_t rep = free_.back();
      free_.pop_back();
      items_[rep] = std::move(value);
      return rep;
    }
    if (items_.size() >= kMax) return std::nullopt;
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

V u64(uint64_t x) {
  return V::integer(K::kU64, x);
}
V ok(std::optional<V> payload = std::nullopt) {
  V r;
  r.kind = K::kResult;
  if (payload) r.items.push_back(std::move(*payload));
  return r;
}
V err(V payload) {
  V r;
  r.kind = K::kResult;
  r.index = 1;
  r.items.push_back(std::move(payload));
  return r;
}
V none() {
  V r;
  r.kind = K::kOption;
  return r;
}
V some(V value) {
  V r;
  r.kind = K::kOption;
  r.index = 1;
  r.items.push_back(std::move(value));
  return r;
}
V list(std::vector<V> items) {
  V r;
  r.kind = K::kList;
  r.items = std::move(items);
  return r;
}
// stream-error.closed
V closed() {
  V r;
  r.kind = K::kVariant;
  r.index = 1;
  return r;
}
// A list<u8> argument's bytes (lifted lists are packed; a host-built one may not be).
std::string bytes_of(const V& value) {
  if (value.packed) return value.text;
  std::string out;
  out.reserve(value.items.size());
  for (const V& item : value.items) out.push_back(static_cast<char>(item.bits));
  return out;
}

V error_code(ErrorCode code) {  // ErrorCode follows types.wit's error-code order
  V v;
  v.kind = K::kEnum;
  v.index = static_cast<uint32_t>(code);
  return v;
}
V descriptor_type(DescriptorType type) {  // the same order as descriptor-type
  V v;
  v.kind = K::kEnum;
  v.index = static_cast<uint32_t>(type);
  return v;
}
V datetime(uint64_t ns) {
  V r;
  r.kind = K::kRecord;
  r.items = {u64(ns / 1000000000ull), V::integer(K::kU32, ns % 1000000000ull)};
  return r;
}
V descriptor_stat(const DescriptorStat& st) {
  V r;
  r.kind = K::kRecord;
  r.items = {descriptor_type(st.type),
             u64(st.link_count),
             u64(st.size),
             some(datetime(st.access_ns)),
             some(datetime(st.modification_ns)),
             some(datetime(st.status_change_ns))};
  return r;
}
uint64_t mix64(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// metadata-hash-value { lower, upper }: a hash of what identifies the object (device and inode),
// keyed per host so that a guest learns no inode numbers, only equality.
V metadata_hash(const DescriptorStat& st, const uint64_t key[2]) {
  V r;
  r.kind = K::kRecord;
  r.items = {u64(mix64(st.inode ^ mix64(st.device ^ key[0]))),
             u64(mix64(st.device ^ mix64(st.inode ^ key[1])))};
  return r;
}
// new-timestamp: no-change, now, or timestamp(datetime).
NewTimestamp new_timestamp(const V& v) {
  NewTimestamp t;
  if (v.index == 1) t.kind = NewTimestamp::kNow;
  if (v.index == 2 && !v.items.empty() && v.items[0].items.size() == 2) {
    t.kind = NewTimestamp::kTimestamp;
    const uint64_t seconds = v.items[0].items[0].bits, nanos = v.items[0].items[1].bits;
    t.ns = seconds > (UINT64_MAX - nanos) / 1000000000ull ? UINT64_MAX
                                                          : seconds * 1000000000ull + nanos;
  }
  return t;
}

TrapPtr host_trap(const std::string& message) {
  return Trap::make(TrapCode::kHostError, message);
}

}  // namespace

struct Preview2::State {
  WasiContext& context;
  Store& store;
  const RuntimeResourceType* error = nullptr;
  const RuntimeResourceType* pollable = nullptr;
  const RuntimeResourceType* input_stream = nullptr;
  const RuntimeResourceType* output_stream = nullptr;

  // A stream is stdio (`stream`) or a file's (`file`, from read-via-stream, write-via-stream or
  // append-via-stream: positional I/O from `position`).
  struct Output {
    OutputStream* stream = nullptr;
    std::shared_ptr<Descriptor> file;
    uint64_t position = 0;
    bool append = false;
    uint64_t permit = 0;  // what the last check-write allowed
    bool closed = false;
  };
  struct Input {
    InputStream* stream = nullptr;
    std::shared_ptr<Descriptor> file;
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
  size_t open_descriptors = 0;  // beside the preopens: bounded by max_open_files
  const RuntimeResourceType* descriptor = nullptr;
  const RuntimeResourceType* directory_entry_stream = nullptr;
  struct Pollable {
    enum class Kind : uint8_t { kReady, kTimer, kReadable } kind = Kind::kReady;
    uint64_t deadline_ns = 0;  // kTimer, on the monotonic clock
    int fd = -1;               // kReadable
  };
  Slab<Output> outputs;
  Slab<Input> inputs;
  Slab<ErrorCode> errors;  // an io error: what failed, as wasi:filesystem's error-code
  Slab<Pollable> pollables;
  uint64_t seed[2] = {0, 0};
  uint64_t hash_key[2] = {0, 0};  // metadata-hash's key

  std::vector<Preview2::DefinedFunction> functions;  // what add_to_linker defined

  State(WasiContext& c, Store& s) : context(c), store(s) {}

  const RuntimeResourceType* resource_named(const std::string& name) const {
    if (name == "error") return error;
    if (name == "pollable") return pollable;
    if (name == "input-stream") return input_stream;
    if (name == "output-stream") return output_stream;
    if (name == "descriptor") return descriptor;
    if (name == "directory-entry-stream") return directory_entry_stream;
    return nullptr;
  }

  WaitInterrupt interrupt() {
    Store* s = &store;
    return [s] { return s->engine().config().epoch_interruption && s->deadline_passed(); };
  }

  // A new owning handle of `type` for the object `rep` (or a trap when the slab is full).
  TrapPtr own(const RuntimeResourceType* type, std::optional<uint32_t> rep, V& out) {
    if (!rep) return host_trap("too many WASI resources held by the guest");
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
    if (TrapPtr t = own(error, errors.add(e.error), handle)) return t;
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
    return in.stream->blocking_read(buffer, interrupt());
  }

  // Writes all of `bytes` (stdio blocks until done; files write at their position, or at their
  // end when appending).
  Result<void, StreamError> write(Output& out, const std::string& bytes) {
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
      }
      if (!ready_indices.empty()) return nullptr;
      const uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
      const int64_t wait =
          earliest == UINT64_MAX ? -1 : static_cast<int64_t>(std::max(earliest, now) - now);
      if (interruptible_poll(fds.data(), fds.size(), wait, interrupt()) == kWaitInterrupted) {
        return Trap::make(TrapCode::kDeadlineExceeded);
      }
    }
  }
};

Preview2::Preview2(WasiContext& context, Store& store)
    : state_(std::make_shared<State>(context, store)) {
  (void)fill_random(state_->hash_key, sizeof state_->hash_key);
  if (!fill_random(state_->seed, sizeof state_->seed)) {
    state_->seed[0] = clock_now_ns(CLOCK_REALTIME);
    state_->seed[1] = clock_now_ns(CLOCK_MONOTONIC);
  }
}

Preview2::~Preview2() = default;

const std::vector<Preview2::DefinedFunction>& Preview2::defined_functions() const {
  return state_->functions;
}

const RuntimeResourceType* Preview2::resource_type(const std::string& name) const {
  return state_->resource_named(name);
}

namespace {

// A host function: the arguments as lifted, the result to fill (the linker checks it against
// the imported type).
using Function = std::function<TrapPtr(const std::vector<V>& args, std::optional<V>& result)>;

class Definer {
 public:
  Definer(ComponentLinker& linker, std::shared_ptr<Preview2::State> state)
      : linker_(linker), state_(std::move(state)) {}

  // `signature` says what the arguments must be, one letter each: b a borrow of the method's
  // own resource, i of an input-stream, e of an error, d of a descriptor, w a u64, c a u8,
  // s a string, l a list, r a result, f flags, v a variant, n an enum;
  // "*" checks nothing (the function only traps). The linker matches imports by name, so a guest
  // may import a function with another type: its arguments are checked here, before the host
  // reads them (a u32 where a borrow belongs must not name a host object it was never given).
  Result<void> function(const std::string& interface, const std::string& name,
                        std::string signature, Function f) {
    const RuntimeResourceType* self = nullptr;
    if (name.rfind("[method]", 0) == 0) {
      self = state_->resource_named(name.substr(8, name.find('.') - 8));
    }
    const Preview2::State* s = state_.get();
    const std::string full = path(interface, name);
    state_->functions.push_back({full, signature});
    return linker_.define_function(
        full, [f = std::move(f), signature, self, s, full](
                  const FunctionType&, const std::vector<V>& args, std::optional<V>& result) {
          if (signature != "*" && !matches(signature, self, *s, args)) {
            return host_trap(full + " was imported with another type than WASI's");
          }
          return f(args, result);
        });
  }
  Result<const RuntimeResourceType*> resource(const std::string& interface, const std::string& name,
                                              std::function<void(uint32_t)> destructor) {
    return linker_.define_resource(path(interface, name), std::move(destructor));
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
  static std::string path(const std::string& interface, const std::string& name) {
    return interface + kVersion + "#" + name;
  }
  static bool matches(const std::string& signature, const RuntimeResourceType* self,
                      const Preview2::State& s, const std::vector<V>& args) {
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
        case 'w':
          if (a.kind != K::kU64) return false;
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
  std::shared_ptr<Preview2::State> state_;
};

// Random bytes from the host's CSPRNG (getrandom), `len` of them.
TrapPtr random_bytes(uint64_t len, V& out) {
  if (len > kMaxListBytes) return host_trap("wasi:random: more than 2^28 bytes asked for");
  std::string bytes(len, '\0');
  if (!fill_random(bytes.data(), bytes.size())) {
    return host_trap("wasi:random: the host's random source failed");
  }
  out = V::bytes(std::move(bytes));
  return nullptr;
}

}  // namespace

Result<void> Preview2::add_to_linker(ComponentLinker& linker) {
  std::shared_ptr<State> s = state_;
  Definer d(linker, s);
  using Kind = State::Pollable::Kind;

  // ---- wasi:io ----
  KILN_SET(s->error,
           d.resource("wasi:io/error", "error", [s](uint32_t rep) { s->errors.remove(rep); }));
  KILN_SET(s->pollable,
           d.resource("wasi:io/poll", "pollable", [s](uint32_t rep) { s->pollables.remove(rep); }));
  KILN_SET(s->input_stream, d.resource("wasi:io/streams", "input-stream",
                                       [s](uint32_t rep) { s->inputs.remove(rep); }));
  KILN_SET(s->output_stream, d.resource("wasi:io/streams", "output-stream",
                                        [s](uint32_t rep) { s->outputs.remove(rep); }));
  KILN_TRY(d.alias("wasi:io/streams", "error", s->error));
  KILN_TRY(d.alias("wasi:io/streams", "pollable", s->pollable));

  KILN_TRY(d.function("wasi:io/error", "[method]error.to-debug-string", "b",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        // The debug text names the error-code (types.wit's enum order).
                        const ErrorCode* code = s->errors.get(a[0].rep);
                        r = V::string(code ? "error-code " + std::to_string(static_cast<int>(*code))
                                           : std::string("unknown error"));
                        return nullptr;
                      }));

  KILN_TRY(d.function("wasi:io/poll", "[method]pollable.ready", "b",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        const State::Pollable* p = s->pollables.get(a[0].rep);
                        r = V::integer(K::kBool, p && s->ready(*p) ? 1 : 0);
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:io/poll", "[method]pollable.block", "b",
                      [s](const std::vector<V>& a, std::optional<V>&) -> TrapPtr {
                        std::vector<uint32_t> ready;
                        return s->poll({a[0].rep}, ready);
                      }));
  KILN_TRY(d.function("wasi:io/poll", "poll", "l",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
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
  auto read = [s](bool blocking) {
    return [s, blocking](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
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
      std::string buffer(len, '\0');
      bool would_block = false;
      auto n =
          s->read(*in, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buffer.data()), buffer.size()),
                  blocking, would_block);
      if (!n) return s->stream_error(n.error(), *(r = V{}));
      if (*n == 0 && !would_block) {  // end of stream
        in->closed = true;
        r = err(closed());
        return nullptr;
      }
      buffer.resize(*n);
      r = ok(V::bytes(std::move(buffer)));
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.read", "bw", read(false)));
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.blocking-read", "bw", read(true)));
  auto skip = [read](bool blocking) {
    auto reader = read(blocking);
    return [reader](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      if (TrapPtr t = reader(a, r)) return t;
      if (r->index == 0) r = ok(u64(r->items[0].list_size()));
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.skip", "bw", skip(false)));
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.blocking-skip", "bw", skip(true)));
  KILN_TRY(d.function("wasi:io/streams", "[method]input-stream.subscribe", "b",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        State::Pollable p;
                        const State::Input* in = s->inputs.get(a[0].rep);
                        if (in && !in->closed && !in->file && in->stream->host_fd() >= 0) {
                          p.kind = Kind::kReadable;
                          p.fd = in->stream->host_fd();
                        }
                        return s->own(s->pollable, s->pollables.add(p), *(r = V{}));
                      }));

  // output-stream: stdout, stderr, or a file's (write-via-stream, append-via-stream). Writes go
  // out at once (blocking), so the stream is always ready and a flush has nothing to wait for.
  auto write = [s](bool check_permit, bool zeroes, bool blocking) {
    return [=](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
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
      if (!written) {
        if (written.error().closed) out->closed = true;
        return s->stream_error(written.error(), *(r = V{}));
      }
      r = ok();
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.check-write", "b",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        State::Output* out = s->outputs.get(a[0].rep);
                        if (!out || out->closed) {
                          r = err(closed());
                          return nullptr;
                        }
                        out->permit = kWritePermit;
                        r = ok(u64(kWritePermit));
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
  auto flush = [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
    const State::Output* out = s->outputs.get(a[0].rep);
    r = !out || out->closed ? err(closed()) : ok();
    return nullptr;
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.flush", "b", flush));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.blocking-flush", "b", flush));
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.subscribe", "b",
                      [s](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        return s->own(s->pollable, s->pollables.add(State::Pollable{}), *(r = V{}));
                      }));
  // splice: read from the input stream, write what came to the output stream.
  auto splice = [s, read](bool blocking) {
    auto reader = read(blocking);
    return [s, reader](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      State::Output* out = s->outputs.get(a[0].rep);
      if (!out || out->closed) {
        r = err(closed());
        return nullptr;
      }
      std::optional<V> got;
      if (TrapPtr t = reader({a[1], a[2]}, got)) return t;
      if (got->index != 0) {
        r = std::move(got);
        return nullptr;
      }
      const std::string bytes = bytes_of(got->items[0]);
      auto written = s->write(*out, bytes);
      if (!written) return s->stream_error(written.error(), *(r = V{}));
      r = ok(u64(bytes.size()));
      return nullptr;
    };
  };
  KILN_TRY(d.function("wasi:io/streams", "[method]output-stream.splice", "biw", splice(false)));
  KILN_TRY(
      d.function("wasi:io/streams", "[method]output-stream.blocking-splice", "biw", splice(true)));

  // ---- wasi:cli ----
  KILN_TRY(d.function("wasi:cli/environment", "get-environment", "",
                      [s](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
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
                      [s](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        std::vector<V> args;
                        for (const std::string& a : s->context.config().args) {
                          args.push_back(V::string(a));
                        }
                        r = list(std::move(args));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:cli/environment", "initial-cwd", "",
                      [](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = none();  // no directory is granted as the working directory
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:cli/exit", "exit", "r",
                      [](const std::vector<V>& a, std::optional<V>&) -> TrapPtr {
                        return Trap::make_exit(a[0].index == 0 ? 0 : 1);
                      }));
  KILN_TRY(d.function("wasi:cli/exit", "exit-with-code", "c",
                      [](const std::vector<V>& a, std::optional<V>&) -> TrapPtr {
                        return Trap::make_exit(static_cast<int32_t>(a[0].bits));
                      }));
  KILN_TRY(d.alias("wasi:cli/stdin", "input-stream", s->input_stream));
  KILN_TRY(d.alias("wasi:cli/stdout", "output-stream", s->output_stream));
  KILN_TRY(d.alias("wasi:cli/stderr", "output-stream", s->output_stream));
  KILN_TRY(d.function("wasi:cli/stdin", "get-stdin", "",
                      [s](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        State::Input in;
                        in.stream = s->context.stdin_stream();
                        return s->own(s->input_stream, s->inputs.add(in), *(r = V{}));
                      }));
  auto get_output = [s](OutputStream* (WasiContext::*which)() const) {
    return [s, which](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
      State::Output out;
      out.stream = (s->context.*which)();
      return s->own(s->output_stream, s->outputs.add(out), *(r = V{}));
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
  auto no_terminal = [](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
    r = none();
    return nullptr;
  };
  KILN_TRY(d.function("wasi:cli/terminal-stdin", "get-terminal-stdin", "", no_terminal));
  KILN_TRY(d.function("wasi:cli/terminal-stdout", "get-terminal-stdout", "", no_terminal));
  KILN_TRY(d.function("wasi:cli/terminal-stderr", "get-terminal-stderr", "", no_terminal));

  // ---- wasi:clocks ----
  KILN_TRY(d.alias("wasi:clocks/monotonic-clock", "pollable", s->pollable));
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "now", "",
                      [](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = u64(clock_now_ns(CLOCK_MONOTONIC));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "resolution", "",
                      [](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = u64(clock_resolution_ns(CLOCK_MONOTONIC));
                        return nullptr;
                      }));
  auto subscribe = [s](bool relative) {
    return [s, relative](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
      State::Pollable p;
      p.kind = Kind::kTimer;
      const uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
      p.deadline_ns = !relative                      ? a[0].bits
                      : a[0].bits > UINT64_MAX - now ? UINT64_MAX
                                                     : now + a[0].bits;
      return s->own(s->pollable, s->pollables.add(p), *(r = V{}));
    };
  };
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "subscribe-instant", "w", subscribe(false)));
  KILN_TRY(d.function("wasi:clocks/monotonic-clock", "subscribe-duration", "w", subscribe(true)));
  KILN_TRY(d.function("wasi:clocks/wall-clock", "now", "",
                      [](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = datetime(clock_now_ns(CLOCK_REALTIME));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:clocks/wall-clock", "resolution", "",
                      [](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        r = datetime(clock_resolution_ns(CLOCK_REALTIME));
                        return nullptr;
                      }));

  // ---- wasi:random ---- (the insecure interfaces are served from the same source)
  for (const auto& [interface, bytes_name, u64_name] :
       {std::tuple{"wasi:random/random", "get-random-bytes", "get-random-u64"},
        std::tuple{"wasi:random/insecure", "get-insecure-random-bytes",
                   "get-insecure-random-u64"}}) {
    KILN_TRY(d.function(interface, bytes_name, "w",
                        [](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                          return random_bytes(a[0].bits, *(r = V{}));
                        }));
    KILN_TRY(d.function(interface, u64_name, "",
                        [](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                          uint64_t x = 0;
                          if (!fill_random(&x, sizeof x)) {
                            return host_trap("wasi:random: the host's random source failed");
                          }
                          r = u64(x);
                          return nullptr;
                        }));
  }
  KILN_TRY(d.function("wasi:random/insecure-seed", "insecure-seed", "",
                      [s](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        V pair;
                        pair.kind = K::kTuple;
                        pair.items = {u64(s->seed[0]), u64(s->seed[1])};
                        r = std::move(pair);
                        return nullptr;
                      }));

  // ---- wasi:filesystem ---- over the WasiContext's preopens and wasi/filesystem.h's
  // Descriptor (sandboxed path resolution, read-only grants), shared with preview1.
  KILN_SET(s->descriptor, d.resource("wasi:filesystem/types", "descriptor", [s](uint32_t rep) {
    if (const State::OpenDescriptor* o = s->descriptors.get(rep); o && o->counted) {
      --s->open_descriptors;
    }
    s->descriptors.remove(rep);
  }));
  KILN_SET(s->directory_entry_stream,
           d.resource("wasi:filesystem/types", "directory-entry-stream",
                      [s](uint32_t rep) { s->directories.remove(rep); }));
  KILN_TRY(d.alias("wasi:filesystem/types", "input-stream", s->input_stream));
  KILN_TRY(d.alias("wasi:filesystem/types", "output-stream", s->output_stream));
  KILN_TRY(d.alias("wasi:filesystem/types", "error", s->error));
  KILN_TRY(d.alias("wasi:filesystem/preopens", "descriptor", s->descriptor));
  KILN_TRY(d.function("wasi:filesystem/preopens", "get-directories", "",
                      [s](const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        std::vector<V> pairs;
                        for (const OpenPreopen& p : s->context.preopens()) {
                          V handle;
                          if (TrapPtr t =
                                  s->own(s->descriptor, s->descriptors.add({p.descriptor, false}),
                                         handle)) {
                            return t;
                          }
                          V pair;
                          pair.kind = K::kTuple;
                          pair.items = {std::move(handle), V::string(p.guest_path)};
                          pairs.push_back(std::move(pair));
                        }
                        r = list(std::move(pairs));
                        return nullptr;
                      }));
  KILN_TRY(d.function("wasi:filesystem/types", "filesystem-error-code", "e",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        // ErrorCode follows types.wit's error-code order.
                        const ErrorCode* code = s->errors.get(a[0].rep);
                        r = code ? some(error_code(*code)) : none();
                        return nullptr;
                      }));

  // A descriptor method: `f` gets the descriptor and the arguments and gives the ok payload (or
  // nothing for result<_, error-code>), or an error-code.
  using Method = std::function<FsResult<std::optional<V>>(const std::shared_ptr<Descriptor>&,
                                                          const std::vector<V>&)>;
  auto method = [&](const std::string& name, const char* signature, Method f) {
    return d.function("wasi:filesystem/types", "[method]descriptor." + name, signature,
                      [s, f](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        const State::OpenDescriptor* o = s->descriptors.get(a[0].rep);
                        if (!o) return host_trap("wasi:filesystem: unknown descriptor");
                        std::shared_ptr<Descriptor> keep = o->descriptor;
                        auto out = f(keep, a);
                        if (!out) {
                          r = err(error_code(out.error()));
                        } else {
                          r = ok(std::move(*out));
                        }
                        return nullptr;
                      });
  };
  auto nothing = [](FsResult<void> done) -> FsResult<std::optional<V>> {
    if (!done) return done.error();
    return std::optional<V>();
  };
  auto follow = [](const V& path_flags) { return (path_flags.bits & 1) != 0; };
  // A new descriptor handle for a file the guest opened, within its descriptor budget.
  auto adopt = [s](std::shared_ptr<Descriptor> opened) -> FsResult<std::optional<V>> {
    auto rep = s->descriptors.add({std::move(opened), true});
    if (!rep) return ErrorCode::kInsufficientMemory;
    ++s->open_descriptors;
    return std::optional<V>(V::own(s->descriptor, *rep));
  };
  auto budget_left = [s]() {
    const size_t used = s->open_descriptors + s->context.preopens().size() + 3;
    return used < s->context.config().max_open_files;
  };

  KILN_TRY(method("read-via-stream", "bw",
                  [s](const std::shared_ptr<Descriptor>& self,
                      const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    if (self->type() == DescriptorType::kDirectory) return ErrorCode::kIsDirectory;
                    if (!self->flags().read) return ErrorCode::kBadDescriptor;
                    State::Input in;
                    in.file = self;
                    in.position = a[1].bits;
                    auto rep = s->inputs.add(std::move(in));
                    if (!rep) return ErrorCode::kInsufficientMemory;
                    return std::optional<V>(V::own(s->input_stream, *rep));
                  }));
  auto writer = [s](bool append) {
    return [s, append](const std::shared_ptr<Descriptor>& self,
                       const std::vector<V>& a) -> FsResult<std::optional<V>> {
      if (self->type() == DescriptorType::kDirectory) return ErrorCode::kIsDirectory;
      if (!self->flags().write) return ErrorCode::kBadDescriptor;
      State::Output out;
      out.file = self;
      out.append = append;
      out.position = append ? 0 : a[1].bits;
      auto rep = s->outputs.add(std::move(out));
      if (!rep) return ErrorCode::kInsufficientMemory;
      return std::optional<V>(V::own(s->output_stream, *rep));
    };
  };
  KILN_TRY(method("write-via-stream", "bw", writer(false)));
  KILN_TRY(method("append-via-stream", "b", writer(true)));
  KILN_TRY(method("advise", "bwwn",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL,
                                                      POSIX_FADV_RANDOM,   POSIX_FADV_WILLNEED,
                                                      POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
                    if (a[3].index >= std::size(kAdvice))
                      return FsResult<std::optional<V>>(ErrorCode::kInvalid);
                    return nothing(self->advise(a[1].bits, a[2].bits, kAdvice[a[3].index]));
                  }));
  KILN_TRY(method("sync-data", "b",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>&) {
                    return nothing(self->sync_data());
                  }));
  KILN_TRY(method("sync", "b",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>&) {
                    return nothing(self->sync());
                  }));
  KILN_TRY(method("get-flags", "b",
                  [](const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>&) -> FsResult<std::optional<V>> {
                    // descriptor-flags: read, write, file-integrity-sync, data-integrity-sync,
                    // requested-write-sync, mutate-directory (bit i for flag i).
                    const DescriptorFlags& f = self->flags();
                    V flags;
                    flags.kind = K::kFlags;
                    flags.bits = (f.read ? 1 : 0) | (f.write ? 2 : 0) |
                                 (f.file_integrity_sync ? 4 : 0) | (f.data_integrity_sync ? 8 : 0) |
                                 (f.mutate_directory && !self->read_only() ? 32 : 0);
                    return std::optional<V>(std::move(flags));
                  }));
  KILN_TRY(method("get-type", "b",
                  [](const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>&) -> FsResult<std::optional<V>> {
                    return std::optional<V>(descriptor_type(self->type()));
                  }));
  KILN_TRY(method("set-size", "bw",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    return nothing(self->set_size(a[1].bits));
                  }));
  KILN_TRY(method("set-times", "bvv",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    return nothing(self->set_times(new_timestamp(a[1]), new_timestamp(a[2])));
                  }));
  KILN_TRY(method(
      "read", "bww",
      [](const std::shared_ptr<Descriptor>& self,
         const std::vector<V>& a) -> FsResult<std::optional<V>> {
        const uint64_t want = std::min<uint64_t>(a[1].bits, 1u << 20);
        std::string buffer(want, '\0');
        auto n =
            self->read(std::span<uint8_t>(reinterpret_cast<uint8_t*>(buffer.data()), buffer.size()),
                       a[2].bits);
        if (!n) return n.error();
        buffer.resize(*n);
        V pair;
        pair.kind = K::kTuple;
        pair.items = {V::bytes(std::move(buffer)), V::integer(K::kBool, *n < want || want == 0)};
        return std::optional<V>(std::move(pair));
      }));
  KILN_TRY(method("write", "blw",
                  [](const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    const std::string bytes = bytes_of(a[1]);
                    auto n = self->write(
                        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                 bytes.size()),
                        a[2].bits);
                    if (!n) return n.error();
                    return std::optional<V>(u64(*n));
                  }));
  KILN_TRY(method("read-directory", "b",
                  [s](const std::shared_ptr<Descriptor>& self,
                      const std::vector<V>&) -> FsResult<std::optional<V>> {
                    auto entries = self->read_directory();
                    if (!entries) return entries.error();
                    State::Directory dir;
                    for (DirectoryEntry& e : *entries) {
                      if (e.name != "." && e.name != "..") dir.entries.push_back(std::move(e));
                    }
                    auto rep = s->directories.add(std::move(dir));
                    if (!rep) return ErrorCode::kInsufficientMemory;
                    return std::optional<V>(V::own(s->directory_entry_stream, *rep));
                  }));
  KILN_TRY(method("create-directory-at", "bs",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    return nothing(self->create_directory_at(a[1].text));
                  }));
  KILN_TRY(method("stat", "b",
                  [](const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>&) -> FsResult<std::optional<V>> {
                    auto st = self->stat();
                    if (!st) return st.error();
                    return std::optional<V>(descriptor_stat(*st));
                  }));
  KILN_TRY(method("stat-at", "bfs",
                  [follow](const std::shared_ptr<Descriptor>& self,
                           const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    auto st = self->stat_at(a[2].text, follow(a[1]));
                    if (!st) return st.error();
                    return std::optional<V>(descriptor_stat(*st));
                  }));
  KILN_TRY(
      method("set-times-at", "bfsvv",
             [nothing, follow](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               return nothing(self->set_times_at(a[2].text, follow(a[1]), new_timestamp(a[3]),
                                                 new_timestamp(a[4])));
             }));
  KILN_TRY(method(
      "link-at", "bfsds",
      [s, nothing, follow](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
        const State::OpenDescriptor* to = s->descriptors.get(a[3].rep);
        if (!to) return FsResult<std::optional<V>>(ErrorCode::kBadDescriptor);
        return nothing(self->link_at(a[2].text, follow(a[1]), *to->descriptor, a[4].text));
      }));
  KILN_TRY(
      method("open-at", "bfsff",
             [follow, adopt, budget_left](const std::shared_ptr<Descriptor>& self,
                                          const std::vector<V>& a) -> FsResult<std::optional<V>> {
               if (!budget_left()) return error_from_errno(EMFILE);
               OpenFlags open;
               open.create = a[3].bits & 1;
               open.directory = a[3].bits & 2;
               open.exclusive = a[3].bits & 4;
               open.truncate = a[3].bits & 8;
               DescriptorFlags flags;
               flags.read = a[4].bits & 1;
               flags.write = a[4].bits & 2;
               flags.file_integrity_sync = a[4].bits & 4;
               flags.data_integrity_sync = a[4].bits & 8;
               flags.mutate_directory = a[4].bits & 32;
               auto opened = self->open_at(a[2].text, follow(a[1]), open, flags);
               if (!opened) return opened.error();
               return adopt(std::move(*opened));
             }));
  KILN_TRY(method("readlink-at", "bs",
                  [](const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    auto target = self->readlink_at(a[1].text);
                    if (!target) return target.error();
                    return std::optional<V>(V::string(std::move(*target)));
                  }));
  KILN_TRY(method("remove-directory-at", "bs",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    return nothing(self->remove_directory_at(a[1].text));
                  }));
  KILN_TRY(method("rename-at", "bsds",
                  [s, nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    const State::OpenDescriptor* to = s->descriptors.get(a[2].rep);
                    if (!to) return FsResult<std::optional<V>>(ErrorCode::kBadDescriptor);
                    return nothing(self->rename_at(a[1].text, *to->descriptor, a[3].text));
                  }));
  KILN_TRY(method("symlink-at", "bss",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    return nothing(self->symlink_at(a[1].text, a[2].text));
                  }));
  KILN_TRY(method("unlink-file-at", "bs",
                  [nothing](const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
                    return nothing(self->unlink_file_at(a[1].text));
                  }));
  // is-same-object returns a bool, not a result.
  KILN_TRY(d.function("wasi:filesystem/types", "[method]descriptor.is-same-object", "bd",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        const State::OpenDescriptor* x = s->descriptors.get(a[0].rep);
                        const State::OpenDescriptor* y = s->descriptors.get(a[1].rep);
                        bool same = false;
                        if (x && y) {
                          auto sx = x->descriptor->stat(), sy = y->descriptor->stat();
                          same = sx && sy && sx->device == sy->device && sx->inode == sy->inode;
                        }
                        r = V::integer(K::kBool, same ? 1 : 0);
                        return nullptr;
                      }));
  KILN_TRY(method("metadata-hash", "b",
                  [s](const std::shared_ptr<Descriptor>& self,
                      const std::vector<V>&) -> FsResult<std::optional<V>> {
                    auto st = self->stat();
                    if (!st) return st.error();
                    return std::optional<V>(metadata_hash(*st, s->hash_key));
                  }));
  KILN_TRY(method("metadata-hash-at", "bfs",
                  [s, follow](const std::shared_ptr<Descriptor>& self,
                              const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    auto st = self->stat_at(a[2].text, follow(a[1]));
                    if (!st) return st.error();
                    return std::optional<V>(metadata_hash(*st, s->hash_key));
                  }));
  KILN_TRY(d.function("wasi:filesystem/types",
                      "[method]directory-entry-stream.read-directory-entry", "b",
                      [s](const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        State::Directory* dir = s->directories.get(a[0].rep);
                        if (!dir || dir->next >= dir->entries.size()) {
                          r = ok(none());
                          return nullptr;
                        }
                        const DirectoryEntry& e = dir->entries[dir->next++];
                        V entry;
                        entry.kind = K::kRecord;
                        entry.items = {descriptor_type(e.type), V::string(e.name)};
                        r = ok(some(std::move(entry)));
                        return nullptr;
                      }));
  return {};
}

}  // namespace kiln::wasi
