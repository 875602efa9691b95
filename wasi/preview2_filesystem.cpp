// wasi:filesystem for the WASI 0.2 host (preview2_host.h): over the WasiContext's preopens and
// wasi/filesystem.h's Descriptor (sandboxed path resolution, read-only grants), shared with
// preview1.
#include <fcntl.h>

#include <cerrno>
#include <string>
#include <vector>

#include "wasi/preview2_host.h"

namespace kiln::wasi::preview2 {

namespace {

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

}  // namespace

Result<void> define_filesystem(Definer& d, ResourceTypes& t) {
  if (!d.wants_package("wasi:filesystem/")) return {};
  KILN_SET(t.descriptor,
           d.resource("wasi:filesystem/types", "descriptor", [](State* s, uint32_t rep) {
             if (const State::OpenDescriptor* o = s->descriptors.get(rep); o && o->counted) {
               --s->open_descriptors;
             }
             s->descriptors.remove(rep);
           }));
  KILN_SET(t.directory_entry_stream,
           d.resource("wasi:filesystem/types", "directory-entry-stream",
                      [](State* s, uint32_t rep) { s->directories.remove(rep); }));
  KILN_TRY(d.alias("wasi:filesystem/types", "input-stream", t.input_stream));
  KILN_TRY(d.alias("wasi:filesystem/types", "output-stream", t.output_stream));
  KILN_TRY(d.alias("wasi:filesystem/types", "error", t.error));
  KILN_TRY(d.alias("wasi:filesystem/preopens", "descriptor", t.descriptor));
  KILN_TRY(d.function("wasi:filesystem/preopens", "get-directories", "",
                      [](State* s, const std::vector<V>&, std::optional<V>& r) -> TrapPtr {
                        std::vector<V> pairs;
                        for (const OpenPreopen& p : s->context.preopens()) {
                          V handle;
                          if (TrapPtr t = s->own(
                                  s->descriptor,
                                  s->descriptors.add(s->store, {p.descriptor, false}), handle)) {
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
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        // ErrorCode follows types.wit's error-code order. A socket's
                        // error is not the file system's.
                        const StreamError* e = s->errors.get(a[0].rep);
                        r = e && !e->socket_errno ? some(error_code(e->error)) : none();
                        return nullptr;
                      }));

  // A descriptor method: `f` gets the descriptor and the arguments and gives the ok payload (or
  // nothing for result<_, error-code>), or an error-code.
  using Method = std::function<FsResult<std::optional<V>>(
      State*, const std::shared_ptr<Descriptor>&, const std::vector<V>&)>;
  auto method = [&](const std::string& name, const char* signature, Method f) {
    return d.function("wasi:filesystem/types", "[method]descriptor." + name, signature,
                      [f](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
                        const State::OpenDescriptor* o = s->descriptors.get(a[0].rep);
                        if (!o) return host_trap("wasi:filesystem: unknown descriptor");
                        std::shared_ptr<Descriptor> keep = o->descriptor;
                        auto out = f(s, keep, a);
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
  auto adopt = [](State* s, std::shared_ptr<Descriptor> opened) -> FsResult<std::optional<V>> {
    auto rep = s->descriptors.add(s->store, {std::move(opened), true});
    if (!rep) return ErrorCode::kInsufficientMemory;
    ++s->open_descriptors;
    return std::optional<V>(V::own(s->descriptor, *rep));
  };

  KILN_TRY(method("read-via-stream", "bw",
                  [](State* s, const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    if (self->type() == DescriptorType::kDirectory) return ErrorCode::kIsDirectory;
                    if (!self->flags().read) return ErrorCode::kBadDescriptor;
                    State::Input in;
                    in.file = self;
                    in.position = a[1].bits;
                    auto rep = s->inputs.add(s->store, std::move(in));
                    if (!rep) return ErrorCode::kInsufficientMemory;
                    return std::optional<V>(V::own(s->input_stream, *rep));
                  }));
  auto writer = [](bool append) {
    return [append](State* s, const std::shared_ptr<Descriptor>& self,
                    const std::vector<V>& a) -> FsResult<std::optional<V>> {
      if (self->type() == DescriptorType::kDirectory) return ErrorCode::kIsDirectory;
      if (!self->flags().write) return ErrorCode::kBadDescriptor;
      State::Output out;
      out.file = self;
      out.append = append;
      out.position = append ? 0 : a[1].bits;
      auto rep = s->outputs.add(s->store, std::move(out));
      if (!rep) return ErrorCode::kInsufficientMemory;
      return std::optional<V>(V::own(s->output_stream, *rep));
    };
  };
  KILN_TRY(method("write-via-stream", "bw", writer(false)));
  KILN_TRY(method("append-via-stream", "b", writer(true)));
  KILN_TRY(
      method("advise", "bwwn",
             [nothing](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL,
                                                 POSIX_FADV_RANDOM,   POSIX_FADV_WILLNEED,
                                                 POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
               if (a[3].index >= std::size(kAdvice))
                 return FsResult<std::optional<V>>(ErrorCode::kInvalid);
               return nothing(self->advise(a[1].bits, a[2].bits, kAdvice[a[3].index]));
             }));
  KILN_TRY(method("sync-data", "b",
                  [nothing](State*, const std::shared_ptr<Descriptor>& self,
                            const std::vector<V>&) { return nothing(self->sync_data()); }));
  KILN_TRY(method("sync", "b",
                  [nothing](State*, const std::shared_ptr<Descriptor>& self,
                            const std::vector<V>&) { return nothing(self->sync()); }));
  KILN_TRY(method("get-flags", "b",
                  [](State*, const std::shared_ptr<Descriptor>& self,
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
                  [](State*, const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>&) -> FsResult<std::optional<V>> {
                    return std::optional<V>(descriptor_type(self->type()));
                  }));
  KILN_TRY(
      method("set-size", "bw",
             [nothing](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               return nothing(self->set_size(a[1].bits));
             }));
  KILN_TRY(
      method("set-times", "bvv",
             [nothing](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               return nothing(self->set_times(new_timestamp(a[1]), new_timestamp(a[2])));
             }));
  KILN_TRY(method("read", "bww",
                  [](State*, const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    const uint64_t want = std::min<uint64_t>(a[1].bits, 1u << 20);
                    const std::span<uint8_t> buffer = read_scratch(want);
                    auto n = self->read(buffer, a[2].bits);
                    if (!n) return n.error();
                    V pair;
                    pair.kind = K::kTuple;
                    pair.items = {
                        V::bytes(std::string(reinterpret_cast<const char*>(buffer.data()), *n)),
                        V::integer(K::kBool, *n < want || want == 0)};
                    return std::optional<V>(std::move(pair));
                  }));
  KILN_TRY(method("write", "blw",
                  [](State*, const std::shared_ptr<Descriptor>& self,
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
                  [](State* s, const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>&) -> FsResult<std::optional<V>> {
                    auto entries = self->read_directory();
                    if (!entries) return entries.error();
                    State::Directory dir;
                    for (DirectoryEntry& e : *entries) {
                      if (e.name != "." && e.name != "..") dir.entries.push_back(std::move(e));
                    }
                    auto rep = s->directories.add(s->store, std::move(dir));
                    if (!rep) return ErrorCode::kInsufficientMemory;
                    return std::optional<V>(V::own(s->directory_entry_stream, *rep));
                  }));
  KILN_TRY(
      method("create-directory-at", "bs",
             [nothing](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               return nothing(self->create_directory_at(a[1].text));
             }));
  KILN_TRY(method("stat", "b",
                  [](State*, const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>&) -> FsResult<std::optional<V>> {
                    auto st = self->stat();
                    if (!st) return st.error();
                    return std::optional<V>(descriptor_stat(*st));
                  }));
  KILN_TRY(method("stat-at", "bfs",
                  [follow](State*, const std::shared_ptr<Descriptor>& self,
                           const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    auto st = self->stat_at(a[2].text, follow(a[1]));
                    if (!st) return st.error();
                    return std::optional<V>(descriptor_stat(*st));
                  }));
  KILN_TRY(method(
      "set-times-at", "bfsvv",
      [nothing, follow](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
        return nothing(
            self->set_times_at(a[2].text, follow(a[1]), new_timestamp(a[3]), new_timestamp(a[4])));
      }));
  KILN_TRY(method("link-at", "bfsds",
                  [nothing, follow](State* s, const std::shared_ptr<Descriptor>& self,
                                    const std::vector<V>& a) {
                    const State::OpenDescriptor* to = s->descriptors.get(a[3].rep);
                    if (!to) return FsResult<std::optional<V>>(ErrorCode::kBadDescriptor);
                    return nothing(
                        self->link_at(a[2].text, follow(a[1]), *to->descriptor, a[4].text));
                  }));
  KILN_TRY(method("open-at", "bfsff",
                  [follow, adopt](State* s, const std::shared_ptr<Descriptor>& self,
                                  const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    if (!s->descriptor_budget_left()) return error_from_errno(EMFILE);
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
                    return adopt(s, std::move(*opened));
                  }));
  KILN_TRY(method("readlink-at", "bs",
                  [](State*, const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    auto target = self->readlink_at(a[1].text);
                    if (!target) return target.error();
                    return std::optional<V>(V::string(std::move(*target)));
                  }));
  KILN_TRY(
      method("remove-directory-at", "bs",
             [nothing](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               return nothing(self->remove_directory_at(a[1].text));
             }));
  KILN_TRY(
      method("rename-at", "bsds",
             [nothing](State* s, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               const State::OpenDescriptor* to = s->descriptors.get(a[2].rep);
               if (!to) return FsResult<std::optional<V>>(ErrorCode::kBadDescriptor);
               return nothing(self->rename_at(a[1].text, *to->descriptor, a[3].text));
             }));
  KILN_TRY(
      method("symlink-at", "bss",
             [nothing](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               return nothing(self->symlink_at(a[1].text, a[2].text));
             }));
  KILN_TRY(
      method("unlink-file-at", "bs",
             [nothing](State*, const std::shared_ptr<Descriptor>& self, const std::vector<V>& a) {
               return nothing(self->unlink_file_at(a[1].text));
             }));
  // is-same-object returns a bool, not a result.
  KILN_TRY(d.function("wasi:filesystem/types", "[method]descriptor.is-same-object", "bd",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
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
                  [](State* s, const std::shared_ptr<Descriptor>& self,
                     const std::vector<V>&) -> FsResult<std::optional<V>> {
                    auto st = self->stat();
                    if (!st) return st.error();
                    return std::optional<V>(metadata_hash(*st, s->metadata_hash_key()));
                  }));
  KILN_TRY(method("metadata-hash-at", "bfs",
                  [follow](State* s, const std::shared_ptr<Descriptor>& self,
                           const std::vector<V>& a) -> FsResult<std::optional<V>> {
                    auto st = self->stat_at(a[2].text, follow(a[1]));
                    if (!st) return st.error();
                    return std::optional<V>(metadata_hash(*st, s->metadata_hash_key()));
                  }));
  KILN_TRY(d.function("wasi:filesystem/types",
                      "[method]directory-entry-stream.read-directory-entry", "b",
                      [](State* s, const std::vector<V>& a, std::optional<V>& r) -> TrapPtr {
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

}  // namespace kiln::wasi::preview2
