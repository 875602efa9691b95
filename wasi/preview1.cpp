#include "wasi/preview1.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "runtime/binary_reader.h"
#include "wasi/clocks_random.h"

namespace kiln::wasi {
namespace {

// Preview1 errno values (wasi_snapshot_preview1 `errno`).
enum Errno : uint16_t {
  kSuccess = 0,
  kAcces = 2,
  kAgain = 6,
  kAlready = 7,
  kBadf = 8,
  kBusy = 10,
  kDeadlk = 16,
  kDquot = 19,
  kExist = 20,
  kFault = 21,
  kFbig = 22,
  kIlseq = 25,
  kInprogress = 26,
  kIntr = 27,
  kInval = 28,
  kIo = 29,
  kIsdir = 31,
  kLoop = 32,
  kMfile = 33,
  kMlink = 34,
  kMsgsize = 35,
  kNametoolong = 37,
  kNodev = 43,
  kNoent = 44,
  kNolck = 46,
  kNomem = 48,
  kNospc = 51,
  kNosys = 52,
  kNotdir = 54,
  kNotempty = 55,
  kNotrecoverable = 56,
  kNotsock = 57,
  kNotsup = 58,
  kNotty = 59,
  kNxio = 60,
  kOverflow = 61,
  kPerm = 63,
  kPipe = 64,
  kRofs = 69,
  kSpipe = 70,
  kTxtbsy = 74,
  kXdev = 75,
  kNotcapable = 76,
};

uint16_t errno_from(ErrorCode e) {
  static constexpr uint16_t kMap[] = {
      kAcces,  kAgain,    kAlready,        kBadf,   kBusy,  kDeadlk, kDquot,    kExist,
      kFbig,   kIlseq,    kInprogress,     kIntr,   kInval, kIo,     kIsdir,    kLoop,
      kMlink,  kMsgsize,  kNametoolong,    kNodev,  kNoent, kNolck,  kNomem,    kNospc,
      kNotdir, kNotempty, kNotrecoverable, kNotsup, kNotty, kNxio,   kOverflow, kPerm,
      kPipe,   kRofs,     kSpipe,          kTxtbsy, kXdev,  kMfile};
  static_assert(sizeof kMap / sizeof kMap[0] ==
                static_cast<size_t>(ErrorCode::kTooManyOpenFiles) + 1);
  return kMap[static_cast<size_t>(e)];
}

// Rights (wasi_snapshot_preview1 `rights`).
constexpr uint64_t kFdDatasync = 1ull << 0, kFdRead = 1ull << 1, kFdSeek = 1ull << 2,
                   kFdFdstatSetFlags = 1ull << 3, kFdSync = 1ull << 4, kFdTell = 1ull << 5,
                   kFdWrite = 1ull << 6, kFdAdvise = 1ull << 7, kFdAllocate = 1ull << 8,
                   kPathCreateDirectory = 1ull << 9, kPathCreateFile = 1ull << 10,
                   kPathLinkSource = 1ull << 11, kPathLinkTarget = 1ull << 12,
                   kPathOpen = 1ull << 13, kFdReaddir = 1ull << 14, kPathReadlink = 1ull << 15,
                   kPathRenameSource = 1ull << 16, kPathRenameTarget = 1ull << 17,
                   kPathFilestatGet = 1ull << 18, kPathFilestatSetSize = 1ull << 19,
                   kPathFilestatSetTimes = 1ull << 20, kFdFilestatGet = 1ull << 21,
                   kFdFilestatSetSize = 1ull << 22, kFdFilestatSetTimes = 1ull << 23,
                   kPathSymlink = 1ull << 24, kPathRemoveDirectory = 1ull << 25,
                   kPathUnlinkFile = 1ull << 26,
                   kPollFdReadwrite = 1ull << 27;  // bits 28-29: sockets, not granted

constexpr uint64_t kFileRights = kFdDatasync | kFdRead | kFdSeek | kFdFdstatSetFlags | kFdSync |
                                 kFdTell | kFdWrite | kFdAdvise | kFdAllocate | kFdFilestatGet |
                                 kFdFilestatSetSize | kFdFilestatSetTimes | kPollFdReadwrite;
constexpr uint64_t kFileWriteRights =
    kFdWrite | kFdAllocate | kFdFilestatSetSize | kFdFilestatSetTimes | kFdDatasync;
constexpr uint64_t kDirectoryRights =
    kFdFdstatSetFlags | kFdSync | kFdAdvise | kPathCreateDirectory | kPathCreateFile |
    kPathLinkSource | kPathLinkTarget | kPathOpen | kFdReaddir | kPathReadlink | kPathRenameSource |
    kPathRenameTarget | kPathFilestatGet | kPathFilestatSetSize | kPathFilestatSetTimes |
    kFdFilestatGet | kFdFilestatSetTimes | kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile |
    kPollFdReadwrite;
constexpr uint64_t kDirectoryWriteRights =
    kPathCreateDirectory | kPathCreateFile | kPathLinkSource | kPathLinkTarget | kPathRenameSource |
    kPathRenameTarget | kPathFilestatSetSize | kPathFilestatSetTimes | kFdFilestatSetTimes |
    kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile;

// fdflags, oflags, lookupflags, fstflags, whence, filetype.
constexpr uint16_t kFdflagAppend = 1, kFdflagDsync = 2, kFdflagNonblock = 4, kFdflagRsync = 8,
                   kFdflagSync = 16;
constexpr uint16_t kOflagCreat = 1, kOflagDirectory = 2, kOflagExcl = 4, kOflagTrunc = 8;
constexpr uint32_t kLookupSymlinkFollow = 1;
constexpr uint16_t kFstAtim = 1, kFstAtimNow = 2, kFstMtim = 4, kFstMtimNow = 8;
constexpr uint8_t kFiletypeUnknown = 0, kFiletypeBlockDevice = 1, kFiletypeCharacterDevice = 2,
                  kFiletypeDirectory = 3, kFiletypeRegularFile = 4, kFiletypeSocketStream = 6,
                  kFiletypeSymbolicLink = 7;

uint8_t filetype_of(DescriptorType t) {
  switch (t) {
    case DescriptorType::kBlockDevice:
      return kFiletypeBlockDevice;
    case DescriptorType::kCharacterDevice:
      return kFiletypeCharacterDevice;
    case DescriptorType::kDirectory:
      return kFiletypeDirectory;
    case DescriptorType::kRegularFile:
      return kFiletypeRegularFile;
    case DescriptorType::kSymbolicLink:
      return kFiletypeSymbolicLink;
    case DescriptorType::kSocket:
      return kFiletypeSocketStream;
    default:
      return kFiletypeUnknown;
  }
}

// The guest's linear memory; every access is bounds-checked (a bad pointer is `fault`, never a
// host crash).
struct GuestMemory {
  uint8_t* base = nullptr;
  uint64_t size = 0;
  bool fits(uint32_t ptr, uint64_t len) const { return uint64_t{ptr} + len <= size; }
  uint8_t* at(uint32_t ptr) const { return base + ptr; }
  template <typename T>
  bool load(uint32_t ptr, T& out) const {
    if (!fits(ptr, sizeof(T))) return false;
    std::memcpy(&out, base + ptr, sizeof(T));
    return true;
  }
  template <typename T>
  bool store(uint32_t ptr, T value) const {
    if (!fits(ptr, sizeof(T))) return false;
    std::memcpy(base + ptr, &value, sizeof(T));
    return true;
  }
  bool read_string(uint32_t ptr, uint32_t len, std::string& out) const {
    if (!fits(ptr, len)) return false;
    out.assign(reinterpret_cast<const char*>(base + ptr), len);
    return true;
  }
};

GuestMemory memory_of(HostCall& call) {
  if (!call.caller || call.caller->memories.empty()) return {};
  const LinearMemory& m = *call.caller->memories[0]->memory;
  return GuestMemory{m.base(), m.size_bytes()};
}

// A guest buffer list (iovec / ciovec: pointer and length, 8 bytes each).
struct Buffers {
  std::vector<std::span<uint8_t>> spans;
  uint16_t error = kSuccess;
};
Buffers read_iovecs(const GuestMemory& m, uint32_t iovs, uint32_t count) {
  Buffers b;
  if (count > 1024) {  // IOV_MAX
    b.error = kInval;
    return b;
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t ptr, len;
    if (!m.load(iovs + 8 * i, ptr) || !m.load(iovs + 8 * i + 4, len) || !m.fits(ptr, len)) {
      b.error = kFault;
      return b;
    }
    b.spans.emplace_back(m.at(ptr), len);
  }
  return b;
}

bool host_clock(uint32_t id, clockid_t& out) {
  switch (id) {
    case 0:
      out = CLOCK_REALTIME;
      return true;
    case 1:
      out = CLOCK_MONOTONIC;
      return true;
    case 2:
      out = CLOCK_PROCESS_CPUTIME_ID;
      return true;
    case 3:
      out = CLOCK_THREAD_CPUTIME_ID;
      return true;
    default:
      return false;
  }
}

}  // namespace

struct Preview1::Fd {
  enum Kind { kStdio, kDescriptor } kind = kDescriptor;
  InputStream* input = nullptr;    // stdin (owned by the WasiContext)
  OutputStream* output = nullptr;  // stdout, stderr
  int stdio_host_fd() const { return input ? input->host_fd() : output ? output->host_fd() : -1; }
  std::shared_ptr<Descriptor> descriptor;
  std::string preopen_path;  // set for preopened directories
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  uint16_t fdflags = 0;
  uint64_t position = 0;  // preview1's cursor over the positional descriptor operations
};

Preview1::Preview1(const WasiContext& context) : context_(context) {
  for (uint32_t i = 0; i < 3; ++i) {
    auto fd = std::make_unique<Fd>();
    fd->kind = Fd::kStdio;
    if (i == 0) {
      fd->input = context.stdin_stream();
    } else {
      fd->output = i == 1 ? context.stdout_stream() : context.stderr_stream();
    }
    fd->rights_base =
        (i == 0 ? kFdRead : kFdWrite) | kFdFdstatSetFlags | kFdFilestatGet | kPollFdReadwrite;
    fds_[i] = std::move(fd);
  }
  uint32_t next = 3;
  for (const OpenPreopen& p : context.preopens()) {
    auto fd = std::make_unique<Fd>();
    fd->descriptor = p.descriptor;
    fd->preopen_path = p.guest_path;
    const bool ro = p.descriptor->read_only();
    fd->rights_base = ro ? kDirectoryRights & ~kDirectoryWriteRights : kDirectoryRights;
    fd->rights_inheriting =
        ro ? (kDirectoryRights & ~kDirectoryWriteRights) | (kFileRights & ~kFileWriteRights)
           : kDirectoryRights | kFileRights;
    fds_[next++] = std::move(fd);
  }
}

Preview1::~Preview1() = default;

// The implementations. Each takes the guest memory and the argument cells and returns an errno.
struct Preview1Calls {
  using Fd = Preview1::Fd;

  static Fd* get(Preview1& p, uint64_t cell) {
    auto it = p.fds_.find(static_cast<uint32_t>(cell));
    return it == p.fds_.end() ? nullptr : it->second.get();
  }
  // The fd with all of `rights`, or an errno: badf if there is none, notcapable if it lacks one.
  static uint16_t lookup(Preview1& p, uint64_t cell, uint64_t rights, Fd*& out) {
    out = get(p, cell);
    if (!out) return kBadf;
    if ((out->rights_base & rights) != rights) return kNotcapable;
    return kSuccess;
  }
  static uint16_t lookup_dir(Preview1& p, uint64_t cell, uint64_t rights, Fd*& out) {
    if (uint16_t e = lookup(p, cell, rights, out)) return e;
    if (out->kind != Fd::kDescriptor || out->descriptor->type() != DescriptorType::kDirectory) {
      return kNotdir;
    }
    return kSuccess;
  }
  template <typename T>
  static uint16_t status(const FsResult<T>& r) {
    return r.ok() ? uint16_t{kSuccess} : errno_from(r.error());
  }

  // --- args and environment (spec: pointers into one buffer of NUL-terminated strings)
  static uint16_t write_strings(const GuestMemory& m, const std::vector<std::string>& items,
                                uint32_t pointers, uint32_t buffer) {
    for (size_t i = 0; i < items.size(); ++i) {
      if (!m.store<uint32_t>(pointers + 4 * static_cast<uint32_t>(i), buffer)) return kFault;
      if (!m.fits(buffer, items[i].size() + 1)) return kFault;
      std::memcpy(m.at(buffer), items[i].c_str(), items[i].size() + 1);
      buffer += static_cast<uint32_t>(items[i].size() + 1);
    }
    return kSuccess;
  }
  static uint16_t write_sizes(const GuestMemory& m, const std::vector<std::string>& items,
                              uint32_t count_out, uint32_t size_out) {
    uint64_t total = 0;
    for (const std::string& s : items) total += s.size() + 1;
    if (!m.store<uint32_t>(count_out, static_cast<uint32_t>(items.size())) ||
        !m.store<uint32_t>(size_out, static_cast<uint32_t>(total))) {
      return kFault;
    }
    return kSuccess;
  }
  static std::vector<std::string> environment(Preview1& p) {
    std::vector<std::string> env;
    for (const auto& [name, value] : p.context_.config().env) env.push_back(name + "=" + value);
    return env;
  }

  // --- fd I/O
  static uint16_t do_read(Preview1& p, const GuestMemory& m, uint64_t* a, bool positional) {
    Fd* fd;
    if (uint16_t e = lookup(p, a[0], kFdRead | (positional ? kFdSeek : 0), fd)) return e;
    Buffers bufs = read_iovecs(m, static_cast<uint32_t>(a[1]), static_cast<uint32_t>(a[2]));
    if (bufs.error) return bufs.error;
    const uint32_t nread_out = static_cast<uint32_t>(positional ? a[4] : a[3]);
    uint64_t offset = positional ? a[3] : fd->position;
    uint64_t total = 0;
    for (std::span<uint8_t> buf : bufs.spans) {
      size_t n;
      if (fd->kind == Fd::kStdio) {
        auto r = fd->input->blocking_read(buf, p.interrupt());
        if (!r) {
          if (r.error().interrupted) return kIntr;  // the wrapper turns it into the trap
          if (r.error().closed) break;              // end of stream
          return errno_from(r.error().error);
        }
        n = *r;
      } else {
        auto r = fd->descriptor->read(buf, offset + total);
        if (!r) return errno_from(r.error());
        n = *r;
      }
      total += n;
      if (n < buf.size()) break;
    }
    if (!positional && fd->kind == Fd::kDescriptor) fd->position += total;
    return m.store<uint32_t>(nread_out, static_cast<uint32_t>(total)) ? kSuccess : kFault;
  }

  static uint16_t do_write(Preview1& p, const GuestMemory& m, uint64_t* a, bool positional) {
    Fd* fd;
    if (uint16_t e = lookup(p, a[0], kFdWrite | (positional ? kFdSeek : 0), fd)) return e;
    Buffers bufs = read_iovecs(m, static_cast<uint32_t>(a[1]), static_cast<uint32_t>(a[2]));
    if (bufs.error) return bufs.error;
    const uint32_t nwritten_out = static_cast<uint32_t>(positional ? a[4] : a[3]);
    uint64_t total = 0;
    if (fd->kind == Fd::kStdio) {
      for (std::span<uint8_t> buf : bufs.spans) {
        auto r = fd->output->blocking_write_and_flush(buf, p.interrupt());
        if (!r) {
          if (r.error().interrupted) return kIntr;  // the wrapper turns it into the trap
          return r.error().closed ? uint16_t{kPipe} : errno_from(r.error().error);
        }
        total += buf.size();
      }
    } else {
      uint64_t offset = positional ? a[3] : fd->position;
      if (!positional && (fd->fdflags & kFdflagAppend)) {
        auto st = fd->descriptor->stat();
        if (!st) return errno_from(st.error());
        offset = st->size;
      }
      for (std::span<uint8_t> buf : bufs.spans) {
        auto r = fd->descriptor->write(buf, offset + total);
        if (!r) return errno_from(r.error());
        total += *r;
        if (*r < buf.size()) break;
      }
      if (!positional) fd->position = offset + total;
    }
    return m.store<uint32_t>(nwritten_out, static_cast<uint32_t>(total)) ? kSuccess : kFault;
  }

  static uint16_t write_filestat(const GuestMemory& m, uint32_t out, const DescriptorStat& st) {
    uint8_t buf[64] = {};
    auto put64 = [&](int at, uint64_t v) { std::memcpy(buf + at, &v, 8); };
    put64(0, st.device);
    put64(8, st.inode);
    buf[16] = filetype_of(st.type);
    put64(24, st.link_count);
    put64(32, st.size);
    put64(40, st.access_ns);
    put64(48, st.modification_ns);
    put64(56, st.status_change_ns);
    if (!m.fits(out, 64)) return kFault;
    std::memcpy(m.at(out), buf, 64);
    return kSuccess;
  }

  static DescriptorStat stdio_stat(int host_fd) {
    DescriptorStat s;
    s.type = DescriptorType::kCharacterDevice;
    struct stat st;
    if (host_fd >= 0 && ::fstat(host_fd, &st) == 0 && S_ISREG(st.st_mode)) {
      s.type = DescriptorType::kRegularFile;
    }
    return s;
  }

  static uint16_t timestamps(uint64_t atim, uint64_t mtim, uint32_t fst, NewTimestamp& access,
                             NewTimestamp& modification) {
    if (((fst & kFstAtim) && (fst & kFstAtimNow)) || ((fst & kFstMtim) && (fst & kFstMtimNow))) {
      return kInval;
    }
    access = fst & kFstAtimNow ? NewTimestamp{NewTimestamp::kNow}
             : fst & kFstAtim  ? NewTimestamp{NewTimestamp::kTimestamp, atim}
                               : NewTimestamp{};
    modification = fst & kFstMtimNow ? NewTimestamp{NewTimestamp::kNow}
                   : fst & kFstMtim  ? NewTimestamp{NewTimestamp::kTimestamp, mtim}
                                     : NewTimestamp{};
    return kSuccess;
  }

  // A path argument: ilseq unless it is UTF-8 without NUL (WASI paths are strings; the host
  // never sees other bytes).
  static uint16_t path_arg(const GuestMemory& m, uint64_t ptr, uint64_t len, std::string& out) {
    if (!m.read_string(static_cast<uint32_t>(ptr), static_cast<uint32_t>(len), out)) return kFault;
    if (out.find('\0') != std::string::npos || !is_valid_utf8(out)) return kIlseq;
    return kSuccess;
  }

  static uint16_t poll_oneoff(Preview1& p, const GuestMemory& m, uint64_t* a);
  static uint16_t fd_readdir(Preview1& p, const GuestMemory& m, uint64_t* a);
  static uint16_t path_open(Preview1& p, const GuestMemory& m, uint64_t* a);
};

WaitInterrupt Preview1::interrupt() {
  return [this] {
    // Only a store with deadlines compiled in has one (as for the guest's own code).
    if (!calling_store_ || !calling_store_->engine().config().epoch_interruption ||
        !calling_store_->deadline_passed()) {
      return false;
    }
    deadline_passed_ = true;
    return true;
  };
}

uint16_t Preview1Calls::fd_readdir(Preview1& p, const GuestMemory& m, uint64_t* a) {
  Fd* fd;
  if (uint16_t e = lookup_dir(p, a[0], kFdReaddir, fd)) return e;
  const uint32_t buf = static_cast<uint32_t>(a[1]), buf_len = static_cast<uint32_t>(a[2]);
  const uint64_t cookie = a[3];
  const uint32_t used_out = static_cast<uint32_t>(a[4]);
  if (!m.fits(buf, buf_len)) return kFault;
  auto entries = fd->descriptor->read_directory();
  if (!entries) return errno_from(entries.error());
  uint32_t used = 0;
  for (uint64_t i = cookie; i < entries->size() && used < buf_len; ++i) {
    const DirectoryEntry& e = (*entries)[i];
    // dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8 (24 bytes), then the name. An
    // entry that does not fit is written in part: a full buffer tells the guest to ask again.
    uint8_t header[24] = {};
    uint64_t next = i + 1;
    uint32_t namlen = static_cast<uint32_t>(e.name.size());
    std::memcpy(header, &next, 8);
    std::memcpy(header + 8, &e.inode, 8);
    std::memcpy(header + 16, &namlen, 4);
    header[20] = filetype_of(e.type);
    uint32_t n = std::min<uint32_t>(24, buf_len - used);
    std::memcpy(m.at(buf + used), header, n);
    used += n;
    n = std::min<uint32_t>(namlen, buf_len - used);
    std::memcpy(m.at(buf + used), e.name.data(), n);
    used += n;
  }
  return m.store<uint32_t>(used_out, used) ? kSuccess : kFault;
}

uint16_t Preview1Calls::path_open(Preview1& p, const GuestMemory& m, uint64_t* a) {
  // (fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags, fd_out)
  const uint16_t oflags = static_cast<uint16_t>(a[4]);
  const uint16_t fdflags = static_cast<uint16_t>(a[7]);
  uint64_t needed = kPathOpen;
  if (oflags & kOflagCreat) needed |= kPathCreateFile;
  if (oflags & kOflagTrunc) needed |= kPathFilestatSetSize;
  Fd* dir;
  if (uint16_t e = lookup_dir(p, a[0], needed, dir)) return e;
  std::string path;
  if (uint16_t e = path_arg(m, a[2], a[3], path)) return e;
  // The new descriptor's rights may not exceed what the directory lets descriptors inherit.
  const uint64_t base = a[5], inheriting = a[6];
  if ((base & ~dir->rights_inheriting) & (kFileWriteRights | kFdRead | kFdReaddir))
    return kNotcapable;
  OpenFlags open;
  open.create = oflags & kOflagCreat;
  open.directory = oflags & kOflagDirectory;
  open.exclusive = oflags & kOflagExcl;
  open.truncate = oflags & kOflagTrunc;
  DescriptorFlags flags;
  flags.read = base & (kFdRead | kFdReaddir);
  flags.write = base & (kFdWrite | kFdAllocate | kFdFilestatSetSize);
  flags.nonblocking = fdflags & kFdflagNonblock;
  flags.file_integrity_sync = fdflags & (kFdflagSync | kFdflagRsync);
  flags.data_integrity_sync = fdflags & kFdflagDsync;
  // The guest's descriptor limit (WasiConfig::max_open_files): a guest must not use up the
  // process's descriptors, which every store shares.
  if (p.fds_.size() >= p.context_.config().max_open_files) return kMfile;
  auto opened = dir->descriptor->open_at(path, a[1] & kLookupSymlinkFollow, open, flags);
  if (!opened) return errno_from(opened.error());
  auto fd = std::make_unique<Fd>();
  fd->descriptor = *opened;
  const bool is_dir = fd->descriptor->type() == DescriptorType::kDirectory;
  fd->rights_base = base & dir->rights_inheriting & (is_dir ? kDirectoryRights : kFileRights);
  fd->rights_inheriting = inheriting & dir->rights_inheriting;
  fd->fdflags =
      fdflags & (kFdflagAppend | kFdflagNonblock | kFdflagDsync | kFdflagRsync | kFdflagSync);
  uint32_t number = 3;
  while (p.fds_.count(number)) ++number;
  if (!m.store<uint32_t>(static_cast<uint32_t>(a[8]), number)) return kFault;
  p.fds_[number] = std::move(fd);
  return kSuccess;
}

uint16_t Preview1Calls::poll_oneoff(Preview1& p, const GuestMemory& m, uint64_t* a) {
  const uint32_t in = static_cast<uint32_t>(a[0]), out = static_cast<uint32_t>(a[1]);
  const uint32_t count = static_cast<uint32_t>(a[2]), nevents_out = static_cast<uint32_t>(a[3]);
  if (count == 0) return kInval;
  if (count > 4096 || !m.fits(in, uint64_t{count} * 48) || !m.fits(out, uint64_t{count} * 32)) {
    return kFault;
  }
  struct Event {
    uint64_t userdata;
    uint16_t error;
    uint8_t type;
    uint64_t nbytes;
  };
  std::vector<Event> ready;
  std::vector<struct pollfd> polls;
  std::vector<std::pair<size_t, uint8_t>> poll_subs;  // subscription index, type
  struct Clock {
    uint64_t userdata, deadline_ns;
    clockid_t clock;
  };
  std::vector<Clock> clocks;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t sub = in + 48 * i;
    uint64_t userdata = 0;
    uint8_t tag = 0;
    m.load(sub, userdata);
    m.load(sub + 8, tag);
    if (tag == 0) {  // clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40
      uint32_t id = 0;
      uint64_t timeout = 0;
      uint16_t flags = 0;
      m.load(sub + 16, id);
      m.load(sub + 24, timeout);
      m.load(sub + 40, flags);
      clockid_t clock;
      if (!host_clock(id, clock)) {
        ready.push_back({userdata, kInval, 0, 0});
        continue;
      }
      // A CPU-time clock does not advance while the guest waits, so a wait for it would never
      // end honestly: the subscription completes at once with notsup (before, it slept for
      // the wall-clock time and reported no event).
      if (clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID) {
        ready.push_back({userdata, kNotsup, 0, 0});
        continue;
      }
      const uint64_t now = clock_now_ns(clock);
      const uint64_t deadline = (flags & 1) ? timeout : now + std::min(timeout, UINT64_MAX - now);
      clocks.push_back({userdata, deadline, clock});
    } else if (tag == 1 || tag == 2) {  // fd_read / fd_write: fd u32 @16
      uint32_t number = 0;
      m.load(sub + 16, number);
      Fd* fd = get(p, number);
      if (!fd || !(fd->rights_base & kPollFdReadwrite)) {
        ready.push_back({userdata, fd ? uint16_t{kNotcapable} : uint16_t{kBadf}, tag, 0});
        continue;
      }
      if (fd->kind == Fd::kDescriptor) {  // files are always ready
        uint64_t nbytes = 0;
        if (tag == 1) {
          auto st = fd->descriptor->stat();
          if (st && st->size > fd->position) nbytes = st->size - fd->position;
        }
        ready.push_back({userdata, kSuccess, tag, nbytes});
        continue;
      }
      if (fd->stdio_host_fd() < 0) {
        ready.push_back({userdata, kSuccess, tag, 0});
        continue;
      }
      polls.push_back({fd->stdio_host_fd(), static_cast<short>(tag == 1 ? POLLIN : POLLOUT), 0});
      poll_subs.emplace_back(i, tag);
    } else {
      return kInval;
    }
  }
  // Wait for the stdio streams and the earliest clock, unless something is ready already.
  if (ready.empty() || !polls.empty()) {
    int64_t wait_ns = ready.empty() ? -1 : 0;
    for (const Clock& c : clocks) {
      uint64_t now = clock_now_ns(c.clock);
      int64_t left = c.deadline_ns > now
                         ? static_cast<int64_t>(std::min<uint64_t>(c.deadline_ns - now, INT64_MAX))
                         : 0;
      if (wait_ns < 0 || left < wait_ns) wait_ns = left;
    }
    // The store's deadline ends the wait too (the wrapper turns kIntr into the trap).
    const int r = interruptible_poll(polls.data(), polls.size(), wait_ns, p.interrupt());
    if (r == kWaitInterrupted) return kIntr;
    if (r < 0) return errno_from(error_from_errno(errno));
    for (size_t k = 0; k < polls.size(); ++k) {
      if (!polls[k].revents) continue;
      uint64_t userdata = 0;
      m.load(in + 48 * static_cast<uint32_t>(poll_subs[k].first), userdata);
      ready.push_back({userdata, kSuccess, poll_subs[k].second, 0});
    }
    for (const Clock& c : clocks) {
      if (clock_now_ns(c.clock) >= c.deadline_ns) ready.push_back({c.userdata, kSuccess, 0, 0});
    }
  }
  for (size_t k = 0; k < ready.size(); ++k) {
    uint8_t event[32] = {};
    std::memcpy(event, &ready[k].userdata, 8);
    std::memcpy(event + 8, &ready[k].error, 2);
    event[10] = ready[k].type;
    std::memcpy(event + 16, &ready[k].nbytes, 8);
    std::memcpy(m.at(out + 32 * static_cast<uint32_t>(k)), event, 32);
  }
  return m.store<uint32_t>(nevents_out, static_cast<uint32_t>(ready.size())) ? kSuccess : kFault;
}

Result<std::vector<Extern>> Preview1::imports_for(Store& store, const Module& module) {
  std::vector<Extern> imports;
  imports.reserve(module.imports.size());
  for (const Import& import : module.imports) {
    const bool preview1 = import.module == kPreview1Module;
    if (preview1 && defined_in_ != &store) {
      defined_.clear();
      defined_in_ = &store;
    }
    // Only the functions a module imports are made (a hello-world imports 8 of the 46).
    std::optional<Extern> function;
    if (preview1) {
      if (auto it = defined_.find(import.name); it != defined_.end()) {
        function = it->second;
      } else if ((function = define_function(store, import.name))) {
        defined_.emplace(import.name, *function);
      }
    }
    if (!function) {
      return Error{ErrorKind::kUnlinkable,
                   "unknown import \"" + import.module + "\" \"" + import.name + "\"" +
                       (preview1 ? "" : ": kiln provides wasi_snapshot_preview1 only")};
    }
    imports.push_back(*function);
  }
  return imports;
}

struct Preview1::Entry {
  const char* name;
  std::vector<ValType> params;
  uint16_t (*impl)(Preview1&, const GuestMemory&, uint64_t*);  // returns the errno
};

std::span<const Preview1::Entry> Preview1::entries() {
  using V = ValType;
  using C = Preview1Calls;
  const V I = V::kI32, L = V::kI64;
  // Signatures as wasi-libc imports them; every function returns an errno (i32).
  static const Entry kEntries[] = {
      {"args_get",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::write_strings(m, p.context_.config().args, uint32_t(a[0]), uint32_t(a[1]));
       }},
      {"args_sizes_get",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::write_sizes(m, p.context_.config().args, uint32_t(a[0]), uint32_t(a[1]));
       }},
      {"environ_get",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::write_strings(m, C::environment(p), uint32_t(a[0]), uint32_t(a[1]));
       }},
      {"environ_sizes_get",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::write_sizes(m, C::environment(p), uint32_t(a[0]), uint32_t(a[1]));
       }},
      {"clock_res_get",
       {I, I},
       [](Preview1&, const GuestMemory& m, uint64_t* a) -> uint16_t {
         clockid_t clock;
         if (!host_clock(uint32_t(a[0]), clock)) return kInval;
         return m.store<uint64_t>(uint32_t(a[1]), clock_resolution_ns(clock)) ? kSuccess : kFault;
       }},
      {"clock_time_get",
       {I, L, I},
       [](Preview1&, const GuestMemory& m, uint64_t* a) -> uint16_t {
         clockid_t clock;
         if (!host_clock(uint32_t(a[0]), clock)) return kInval;
         return m.store<uint64_t>(uint32_t(a[2]), clock_now_ns(clock)) ? kSuccess : kFault;
       }},
      {"fd_advise",
       {I, L, L, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdAdvise, fd)) return e;
         static const int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL,
                                       POSIX_FADV_RANDOM,   POSIX_FADV_WILLNEED,
                                       POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
         if (uint8_t(a[3]) > 5) return kInval;
         if (fd->kind != Fd::kDescriptor) return kBadf;
         return C::status(fd->descriptor->advise(a[1], a[2], kAdvice[uint8_t(a[3])]));
       }},
      {"fd_allocate",
       {I, L, L},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdAllocate, fd)) return e;
         if (fd->kind != Fd::kDescriptor) return kBadf;
         return C::status(fd->descriptor->allocate(a[1], a[2]));
       }},
      {"fd_close",
       {I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         return p.fds_.erase(uint32_t(a[0])) ? kSuccess : kBadf;
       }},
      {"fd_datasync",
       {I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdDatasync, fd)) return e;
         if (fd->kind != Fd::kDescriptor) return kInval;
         return C::status(fd->descriptor->sync_data());
       }},
      {"fd_fdstat_get",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* fd = C::get(p, a[0]);
         if (!fd) return kBadf;
         // fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16.
         uint8_t buf[24] = {};
         buf[0] = filetype_of(fd->kind == Fd::kStdio ? C::stdio_stat(fd->stdio_host_fd()).type
                                                     : fd->descriptor->type());
         std::memcpy(buf + 2, &fd->fdflags, 2);
         std::memcpy(buf + 8, &fd->rights_base, 8);
         std::memcpy(buf + 16, &fd->rights_inheriting, 8);
         if (!m.fits(uint32_t(a[1]), 24)) return kFault;
         std::memcpy(m.at(uint32_t(a[1])), buf, 24);
         return kSuccess;
       }},
      {"fd_fdstat_set_flags",
       {I, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdFdstatSetFlags, fd)) return e;
         const uint16_t flags = uint16_t(a[1]);
         if (flags & ~(kFdflagAppend | kFdflagNonblock))
           return kNotsup;  // sync modes are fixed at open
         fd->fdflags = (fd->fdflags & ~(kFdflagAppend | kFdflagNonblock)) | flags;
         return kSuccess;
       }},
      {"fd_fdstat_set_rights",
       {I, L, L},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd = C::get(p, a[0]);
         if (!fd) return kBadf;
         // Rights can only be dropped, never gained.
         if ((a[1] & ~fd->rights_base) || (a[2] & ~fd->rights_inheriting)) return kNotcapable;
         fd->rights_base = a[1];
         fd->rights_inheriting = a[2];
         return kSuccess;
       }},
      {"fd_filestat_get",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdFilestatGet, fd)) return e;
         if (fd->kind == Fd::kStdio)
           return C::write_filestat(m, uint32_t(a[1]), C::stdio_stat(fd->stdio_host_fd()));
         auto st = fd->descriptor->stat();
         if (!st) return errno_from(st.error());
         return C::write_filestat(m, uint32_t(a[1]), *st);
       }},
      {"fd_filestat_set_size",
       {I, L},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdFilestatSetSize, fd)) return e;
         if (fd->kind != Fd::kDescriptor) return kInval;
         return C::status(fd->descriptor->set_size(a[1]));
       }},
      {"fd_filestat_set_times",
       {I, L, L, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdFilestatSetTimes, fd)) return e;
         if (fd->kind != Fd::kDescriptor) return kInval;
         NewTimestamp at, mt;
         if (uint16_t e = C::timestamps(a[1], a[2], uint32_t(a[3]), at, mt)) return e;
         return C::status(fd->descriptor->set_times(at, mt));
       }},
      {"fd_pread",
       {I, I, I, L, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::do_read(p, m, a, true);
       }},
      {"fd_prestat_get",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* fd = C::get(p, a[0]);
         if (!fd) return kBadf;
         if (fd->preopen_path.empty()) return kBadf;
         // prestat: tag u8 @0 (0 = dir), pr_name_len u32 @4.
         return m.store<uint32_t>(uint32_t(a[1]), 0) &&
                        m.store<uint32_t>(uint32_t(a[1]) + 4, uint32_t(fd->preopen_path.size()))
                    ? kSuccess
                    : kFault;
       }},
      {"fd_prestat_dir_name",
       {I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* fd = C::get(p, a[0]);
         if (!fd) return kBadf;
         if (fd->preopen_path.empty()) return kBadf;
         const std::string& name = fd->preopen_path;
         if (uint32_t(a[2]) < name.size()) return kNametoolong;
         if (!m.fits(uint32_t(a[1]), name.size())) return kFault;
         std::memcpy(m.at(uint32_t(a[1])), name.data(), name.size());
         return kSuccess;
       }},
      {"fd_pwrite",
       {I, I, I, L, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::do_write(p, m, a, true);
       }},
      {"fd_read",
       {I, I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::do_read(p, m, a, false);
       }},
      {"fd_readdir", {I, I, I, L, I}, C::fd_readdir},
      {"fd_renumber",
       {I, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         auto from = p.fds_.find(uint32_t(a[0]));
         auto to = p.fds_.find(uint32_t(a[1]));
         if (from == p.fds_.end() || to == p.fds_.end()) return kBadf;
         if (from == to) return kSuccess;
         to->second = std::move(from->second);
         p.fds_.erase(from);
         return kSuccess;
       }},
      {"fd_seek",
       {I, L, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         const int64_t offset = int64_t(a[1]);
         const uint8_t whence = uint8_t(a[2]);
         Fd* fd;
         const uint64_t right = (offset == 0 && whence == 1) ? kFdTell : kFdSeek;
         if (uint16_t e = C::lookup(p, a[0], right, fd)) return e;
         if (fd->kind == Fd::kStdio) return kSpipe;
         if (fd->descriptor->type() == DescriptorType::kDirectory) return kBadf;
         int64_t base;
         switch (whence) {
           case 0:
             base = 0;
             break;
           case 1:
             base = int64_t(fd->position);
             break;
           case 2: {
             auto st = fd->descriptor->stat();
             if (!st) return errno_from(st.error());
             base = int64_t(st->size);
             break;
           }
           default:
             return kInval;
         }
         if ((offset < 0 && base + offset < 0) || (offset > 0 && base > INT64_MAX - offset))
           return kInval;
         fd->position = uint64_t(base + offset);
         return m.store<uint64_t>(uint32_t(a[3]), fd->position) ? kSuccess : kFault;
       }},
      {"fd_sync",
       {I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdSync, fd)) return e;
         if (fd->kind != Fd::kDescriptor) return kInval;
         return C::status(fd->descriptor->sync());
       }},
      {"fd_tell",
       {I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* fd;
         if (uint16_t e = C::lookup(p, a[0], kFdTell, fd)) return e;
         if (fd->kind == Fd::kStdio) return kSpipe;
         return m.store<uint64_t>(uint32_t(a[1]), fd->position) ? kSuccess : kFault;
       }},
      {"fd_write",
       {I, I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         return C::do_write(p, m, a, false);
       }},
      {"path_create_directory",
       {I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* dir;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathCreateDirectory, dir)) return e;
         std::string path;
         if (uint16_t e = C::path_arg(m, a[1], a[2], path)) return e;
         return C::status(dir->descriptor->create_directory_at(path));
       }},
      {"path_filestat_get",
       {I, I, I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* dir;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathFilestatGet, dir)) return e;
         std::string path;
         if (uint16_t e = C::path_arg(m, a[2], a[3], path)) return e;
         auto st = dir->descriptor->stat_at(path, a[1] & kLookupSymlinkFollow);
         if (!st) return errno_from(st.error());
         return C::write_filestat(m, uint32_t(a[4]), *st);
       }},
      {"path_filestat_set_times",
       {I, I, I, I, L, L, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* dir;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathFilestatSetTimes, dir)) return e;
         std::string path;
         if (uint16_t e = C::path_arg(m, a[2], a[3], path)) return e;
         NewTimestamp at, mt;
         if (uint16_t e = C::timestamps(a[4], a[5], uint32_t(a[6]), at, mt)) return e;
         return C::status(dir->descriptor->set_times_at(path, a[1] & kLookupSymlinkFollow, at, mt));
       }},
      {"path_link",
       {I, I, I, I, I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd *from, *to;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathLinkSource, from)) return e;
         if (uint16_t e = C::lookup_dir(p, a[4], kPathLinkTarget, to)) return e;
         std::string old_path, new_path;
         if (uint16_t e = C::path_arg(m, a[2], a[3], old_path)) return e;
         if (uint16_t e = C::path_arg(m, a[5], a[6], new_path)) return e;
         return C::status(from->descriptor->link_at(old_path, a[1] & kLookupSymlinkFollow,
                                                    *to->descriptor, new_path));
       }},
      {"path_open", {I, I, I, I, I, L, L, I, I}, C::path_open},
      {"path_readlink",
       {I, I, I, I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* dir;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathReadlink, dir)) return e;
         std::string path;
         if (uint16_t e = C::path_arg(m, a[1], a[2], path)) return e;
         auto target = dir->descriptor->readlink_at(path);
         if (!target) return errno_from(target.error());
         const uint32_t buf = uint32_t(a[3]), len = uint32_t(a[4]);
         if (!m.fits(buf, len)) return kFault;
         const uint32_t n =
             std::min<uint32_t>(len, uint32_t(target->size()));  // truncates, as POSIX
         std::memcpy(m.at(buf), target->data(), n);
         return m.store<uint32_t>(uint32_t(a[5]), n) ? kSuccess : kFault;
       }},
      {"path_remove_directory",
       {I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* dir;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathRemoveDirectory, dir)) return e;
         std::string path;
         if (uint16_t e = C::path_arg(m, a[1], a[2], path)) return e;
         return C::status(dir->descriptor->remove_directory_at(path));
       }},
      {"path_rename",
       {I, I, I, I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd *from, *to;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathRenameSource, from)) return e;
         if (uint16_t e = C::lookup_dir(p, a[3], kPathRenameTarget, to)) return e;
         std::string old_path, new_path;
         if (uint16_t e = C::path_arg(m, a[1], a[2], old_path)) return e;
         if (uint16_t e = C::path_arg(m, a[4], a[5], new_path)) return e;
         return C::status(from->descriptor->rename_at(old_path, *to->descriptor, new_path));
       }},
      {"path_symlink",
       {I, I, I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* dir;
         if (uint16_t e = C::lookup_dir(p, a[2], kPathSymlink, dir)) return e;
         std::string target, path;
         if (uint16_t e = C::path_arg(m, a[0], a[1], target)) return e;
         if (uint16_t e = C::path_arg(m, a[3], a[4], path)) return e;
         return C::status(dir->descriptor->symlink_at(target, path));
       }},
      {"path_unlink_file",
       {I, I, I},
       [](Preview1& p, const GuestMemory& m, uint64_t* a) -> uint16_t {
         Fd* dir;
         if (uint16_t e = C::lookup_dir(p, a[0], kPathUnlinkFile, dir)) return e;
         std::string path;
         if (uint16_t e = C::path_arg(m, a[1], a[2], path)) return e;
         return C::status(dir->descriptor->unlink_file_at(path));
       }},
      {"poll_oneoff", {I, I, I, I}, C::poll_oneoff},
      {"proc_raise",
       {I},
       [](Preview1&, const GuestMemory&, uint64_t*) -> uint16_t { return kNotsup; }},
      {"sched_yield",
       {},
       [](Preview1&, const GuestMemory&, uint64_t*) -> uint16_t {
         ::sched_yield();
         return kSuccess;
       }},
      {"random_get",
       {I, I},
       [](Preview1&, const GuestMemory& m, uint64_t* a) -> uint16_t {
         const uint32_t buf = uint32_t(a[0]), len = uint32_t(a[1]);
         if (!m.fits(buf, len)) return kFault;
         return len == 0 || fill_random(m.at(buf), len) ? kSuccess : kIo;
       }},
      // No socket can be granted yet: every descriptor is a non-socket (or none at all).
      {"sock_accept",
       {I, I, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         return C::get(p, a[0]) ? kNotsock : kBadf;
       }},
      {"sock_recv",
       {I, I, I, I, I, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         return C::get(p, a[0]) ? kNotsock : kBadf;
       }},
      {"sock_send",
       {I, I, I, I, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         return C::get(p, a[0]) ? kNotsock : kBadf;
       }},
      {"sock_shutdown",
       {I, I},
       [](Preview1& p, const GuestMemory&, uint64_t* a) -> uint16_t {
         return C::get(p, a[0]) ? kNotsock : kBadf;
       }},
  };

  return kEntries;
}

std::optional<Extern> Preview1::define_function(Store& store, std::string_view name) {
  const std::string debug_name = std::string(kPreview1Module) + "." + std::string(name);
  if (name == "proc_exit") {
    // proc_exit does not return: it unwinds the guest with a trap that carries the status.
    auto* exit = store.create_host_function(
        FuncType{{ValType::kI32}, {}},
        [](HostCall&, uint64_t* cells) -> TrapPtr {
          return Trap::make_exit(static_cast<int32_t>(cells[0]));
        },
        debug_name);
    return Extern{ExternKind::kFunction, exit};
  }
  for (const Entry& entry : entries()) {
    if (name != entry.name) continue;
    auto impl = entry.impl;
    auto* f = store.create_host_function(
        FuncType{entry.params, {ValType::kI32}},
        [this, impl](HostCall& call, uint64_t* cells) -> TrapPtr {
          GuestMemory m = memory_of(call);
          calling_store_ = &call.store;
          deadline_passed_ = false;
          cells[0] = impl(*this, m, cells);
          calling_store_ = nullptr;
          // A call that waited past the store's deadline ends the program as the interpreter
          // would at its next check: with the trap, not an errno the guest might retry on.
          if (deadline_passed_) return Trap::make(TrapCode::kDeadlineExceeded);
          return nullptr;
        },
        debug_name);
    return Extern{ExternKind::kFunction, f};
  }
  return std::nullopt;
}

}  // namespace kiln::wasi
