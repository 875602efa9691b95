#include "wasi/filesystem.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>

namespace kiln::wasi {
namespace {

bool g_force_component_walk = false;

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

ErrorCode last_error() {
  return error_from_errno(errno);
}

DescriptorType type_from_mode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return DescriptorType::kRegularFile;
    case S_IFDIR:
      return DescriptorType::kDirectory;
    case S_IFLNK:
      return DescriptorType::kSymbolicLink;
    case S_IFCHR:
      return DescriptorType::kCharacterDevice;
    case S_IFBLK:
      return DescriptorType::kBlockDevice;
    case S_IFIFO:
      return DescriptorType::kFifo;
    case S_IFSOCK:
      return DescriptorType::kSocket;
    default:
      return DescriptorType::kUnknown;
  }
}

uint64_t to_ns(const struct timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

DescriptorStat stat_from(const struct stat& st) {
  DescriptorStat s;
  s.type = type_from_mode(st.st_mode);
  s.device = st.st_dev;
  s.inode = st.st_ino;
  s.link_count = st.st_nlink;
  s.size = static_cast<uint64_t>(st.st_size);
  s.access_ns = to_ns(st.st_atim);
  s.modification_ns = to_ns(st.st_mtim);
  s.status_change_ns = to_ns(st.st_ctim);
  return s;
}

struct timespec to_timespec(NewTimestamp t) {
  struct timespec ts {};
  switch (t.kind) {
    case NewTimestamp::kNoChange:
      ts.tv_nsec = UTIME_OMIT;
      break;
    case NewTimestamp::kNow:
      ts.tv_nsec = UTIME_NOW;
      break;
    case NewTimestamp::kTimestamp:
      ts.tv_sec = static_cast<time_t>(t.ns / 1000000000ull);
      ts.tv_nsec = static_cast<long>(t.ns % 1000000000ull);
      break;
  }
  return ts;
}

// Resolution by walking components, for kernels without openat2: `..` may not climb above the
// start, absolute paths and absolute symlinks are refused, and relative symlinks are spliced
// into the remaining path (at most 40 of them, as Linux allows).
FsResult<int> walk_beneath(int dirfd, const std::string& path, int flags, mode_t mode,
                           bool follow) {
  if (!path.empty() && path[0] == '/') return ErrorCode::kNotPermitted;
  std::deque<std::string> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  const bool trailing_slash = !path.empty() && path.back() == '/';
  std::vector<UniqueFd> chain;
  chain.emplace_back(::openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (chain.back().get() < 0) return last_error();
  int symlinks = 0;
  while (!parts.empty()) {
    std::string part = std::move(parts.front());
    parts.pop_front();
    const bool last = parts.empty();
    if (part == "..") {
      if (chain.size() == 1) return ErrorCode::kNotPermitted;  // would leave the directory
      chain.pop_back();
      continue;
    }
    struct stat st;
    if (::fstatat(chain.back().get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode) && (!last || follow || trailing_slash)) {
      if (++symlinks > 40) return ErrorCode::kLoop;
      char target[PATH_MAX];
      ssize_t n = ::readlinkat(chain.back().get(), part.c_str(), target, sizeof target - 1);
      if (n < 0) return last_error();
      std::string link(target, static_cast<size_t>(n));
      if (link.empty() || link[0] == '/') return ErrorCode::kNotPermitted;
      std::deque<std::string> spliced;
      for (size_t start = 0; start <= link.size();) {
        size_t slash = link.find('/', start);
        if (slash == std::string::npos) slash = link.size();
        std::string p = link.substr(start, slash - start);
        if (!p.empty() && p != ".") spliced.push_back(p);
        start = slash + 1;
      }
      parts.insert(parts.begin(), spliced.begin(), spliced.end());
      continue;
    }
    if (!last) {
      chain.emplace_back(::openat(chain.back().get(), part.c_str(),
                                  O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (chain.back().get() < 0) return last_error();
      continue;
    }
    int fd = ::openat(chain.back().get(), part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return last_error();
    return fd;
  }
  // The path named the start directory itself, or a directory reached through `..`.
  int fd = ::openat(chain.back().get(), ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC, mode);
  if (fd < 0) return last_error();
  return fd;
}

// Opens `path` beneath `dirfd` (an owned new fd, or an error). Escapes are kNotPermitted.
FsResult<int> open_beneath(int dirfd, const std::string& path, int flags, mode_t mode,
                           bool follow) {
  if (path.empty()) return ErrorCode::kNoEntry;
  if (!g_force_component_walk) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EXDEV) return ErrorCode::kNotPermitted;  // the path would leave the directory
    if (errno != ENOSYS && errno != EPERM) return last_error();
    // No openat2 here (old kernel, or a seccomp filter): walk the components instead.
  }
  return walk_beneath(dirfd, path, flags, mode, follow);
}

// A name in a directory: the parent (opened beneath the descriptor), the final component, and
// whether the path ended in a slash. POSIX (XBD 4.13): a trailing slash makes the path name a
// directory, following a final symlink. The *at calls get the name without the slash, so a
// final symlink is never followed by the kernel (it could lead outside the sandbox); the
// operations check the slash's meaning themselves (require_directory_name below).
struct NamedEntry {
  UniqueFd parent;
  std::string name;
  bool trailing_slash = false;
};

FsResult<NamedEntry> open_parent(int dirfd, std::string path) {
  if (path.empty()) return ErrorCode::kNoEntry;
  const bool trailing_slash = path.size() > 1 && path.back() == '/';
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (parent.empty()) return ErrorCode::kNotPermitted;  // an absolute path
  if (name == "." || name == "..") return ErrorCode::kInvalid;
  KILN_ASSIGN(int fd, open_beneath(dirfd, parent, O_PATH | O_DIRECTORY, 0, true));
  return NamedEntry{UniqueFd(fd), name, trailing_slash};
}

// What a name is, following a final symlink beneath `dirfd` (kNoEntry when nothing is there).
FsResult<DescriptorType> type_following(int dirfd, const std::string& path) {
  KILN_ASSIGN(int fd, open_beneath(dirfd, path, O_PATH, 0, true));
  UniqueFd owned(fd);
  struct stat st;
  if (::fstat(owned.get(), &st) != 0) return last_error();
  return type_from_mode(st.st_mode);
}

// For a name written with a trailing slash, which must be a directory: the error when it is
// not (kNoEntry when nothing is there, kNotDirectory when it is something else).
FsResult<void> require_directory_name(int dirfd, const std::string& path) {
  KILN_ASSIGN(DescriptorType type, type_following(dirfd, path));
  if (type != DescriptorType::kDirectory) return ErrorCode::kNotDirectory;
  return {};
}

// For a new name written with a trailing slash (link, symlink): POSIX gives ENOENT when nothing
// is there (a file cannot be made under a directory's name) and EEXIST when something is.
FsResult<void> refuse_new_name_with_slash(const NamedEntry& entry) {
  struct stat st;
  if (::fstatat(entry.parent.get(), entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return ErrorCode::kExist;
  }
  return ErrorCode::kNoEntry;
}

}  // namespace

ErrorCode error_from_errno(int e) {
  switch (e) {
    case EACCES:
      return ErrorCode::kAccess;
    case EAGAIN:
      return ErrorCode::kWouldBlock;
    case EALREADY:
      return ErrorCode::kAlready;
    case EBADF:
      return ErrorCode::kBadDescriptor;
    case EBUSY:
      return ErrorCode::kBusy;
    case EDEADLK:
      return ErrorCode::kDeadlock;
    case EDQUOT:
      return ErrorCode::kQuota;
    case EEXIST:
      return ErrorCode::kExist;
    case EFBIG:
      return ErrorCode::kFileTooLarge;
    case EILSEQ:
      return ErrorCode::kIllegalByteSequence;
    case EINPROGRESS:
      return ErrorCode::kInProgress;
    case EINTR:
      return ErrorCode::kInterrupted;
    case EINVAL:
      return ErrorCode::kInvalid;
    case EIO:
      return ErrorCode::kIo;
    case EISDIR:
      return ErrorCode::kIsDirectory;
    case ELOOP:
      return ErrorCode::kLoop;
    case EMLINK:
      return ErrorCode::kTooManyLinks;
    case EMSGSIZE:
      return ErrorCode::kMessageSize;
    case ENAMETOOLONG:
      return ErrorCode::kNameTooLong;
    case ENODEV:
      return ErrorCode::kNoDevice;
    case ENOENT:
      return ErrorCode::kNoEntry;
    case ENOLCK:
      return ErrorCode::kNoLock;
    case ENOMEM:
      return ErrorCode::kInsufficientMemory;
    case EMFILE:
    case ENFILE:
      return ErrorCode::kTooManyOpenFiles;
    case ENOSPC:
      return ErrorCode::kInsufficientSpace;
    case ENOTDIR:
      return ErrorCode::kNotDirectory;
    case ENOTEMPTY:
      return ErrorCode::kNotEmpty;
    case ENOTRECOVERABLE:
      return ErrorCode::kNotRecoverable;
    case EOPNOTSUPP:
      return ErrorCode::kUnsupported;
    case ENOTTY:
      return ErrorCode::kNoTty;
    case ENXIO:
      return ErrorCode::kNoSuchDevice;
    case EOVERFLOW:
      return ErrorCode::kOverflow;
    case EPERM:
      return ErrorCode::kNotPermitted;
    case EPIPE:
      return ErrorCode::kPipe;
    case EROFS:
      return ErrorCode::kReadOnly;
    case ESPIPE:
      return ErrorCode::kInvalidSeek;
    case ETXTBSY:
      return ErrorCode::kTextFileBusy;
    case EXDEV:
      return ErrorCode::kCrossDevice;
    default:
      return ErrorCode::kIo;
  }
}

void Descriptor::force_component_walk(bool on) {
  g_force_component_walk = on;
}

FsResult<std::shared_ptr<Descriptor>> Descriptor::open_directory(const std::string& host_path,
                                                                 bool read_only) {
  int fd = ::open(host_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  DescriptorFlags flags;
  flags.read = true;
  flags.write = !read_only;
  flags.mutate_directory = !read_only;
  return std::shared_ptr<Descriptor>(
      new Descriptor(fd, DescriptorType::kDirectory, read_only, flags));
}

Descriptor::~Descriptor() {
  if (fd_ >= 0) ::close(fd_);
}

FsResult<void> Descriptor::require_directory() const {
  if (type_ != DescriptorType::kDirectory) return ErrorCode::kNotDirectory;
  return {};
}
FsResult<void> Descriptor::require_writable() const {
  if (read_only_ || !flags_.write) return ErrorCode::kNotPermitted;
  return {};
}

FsResult<size_t> Descriptor::read(std::span<uint8_t> buffer, uint64_t offset) {
  if (type_ == DescriptorType::kDirectory) return ErrorCode::kIsDirectory;
  if (!flags_.read) return ErrorCode::kBadDescriptor;
  ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset));
  if (n < 0) return last_error();
  return static_cast<size_t>(n);
}

FsResult<size_t> Descriptor::write(std::span<const uint8_t> data, uint64_t offset) {
  if (type_ == DescriptorType::kDirectory) return ErrorCode::kIsDirectory;
  if (read_only_ || !flags_.write) return ErrorCode::kBadDescriptor;
  ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
  if (n < 0) return last_error();
  return static_cast<size_t>(n);
}

FsResult<void> Descriptor::set_size(uint64_t size) {
  KILN_TRY(require_writable());
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return last_error();
  return {};
}

FsResult<void> Descriptor::set_times(NewTimestamp access, NewTimestamp modification) {
  if (read_only_) return ErrorCode::kNotPermitted;
  struct timespec times[2] = {to_timespec(access), to_timespec(modification)};
  if (::futimens(fd_, times) != 0) return last_error();
  return {};
}

FsResult<void> Descriptor::sync() {
  if (::fsync(fd_) != 0 && errno != EINVAL) return last_error();
  return {};
}
FsResult<void> Descriptor::sync_data() {
  if (::fdatasync(fd_) != 0 && errno != EINVAL) return last_error();
  return {};
}

FsResult<void> Descriptor::advise(uint64_t offset, uint64_t length, int posix_advice) {
  if (type_ == DescriptorType::kDirectory) return ErrorCode::kBadDescriptor;
  int r =
      ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(length), posix_advice);
  if (r != 0) return error_from_errno(r);
  return {};
}

FsResult<void> Descriptor::allocate(uint64_t offset, uint64_t length) {
  KILN_TRY(require_writable());
  int r = ::posix_fallocate(fd_, static_cast<off_t>(offset), static_cast<off_t>(length));
  if (r != 0) return error_from_errno(r);
  return {};
}

FsResult<DescriptorStat> Descriptor::stat() {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return last_error();
  return stat_from(st);
}

FsResult<std::vector<DirectoryEntry>> Descriptor::read_directory() {
  KILN_TRY(require_directory());
  int fd = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ErrorCode e = last_error();
    ::close(fd);
    return e;
  }
  std::vector<DirectoryEntry> entries;
  errno = 0;
  while (struct dirent* d = ::readdir(dir)) {
    DirectoryEntry entry;
    entry.name = d->d_name;
    entry.inode = d->d_ino;
    entry.type = type_from_mode(DTTOIF(d->d_type));  // DT_UNKNOWN gives kUnknown
    entries.push_back(std::move(entry));
  }
  ErrorCode e = errno ? last_error() : ErrorCode::kIo;
  bool failed = errno != 0;
  ::closedir(dir);
  if (failed) return e;
  return entries;
}

FsResult<std::shared_ptr<Descriptor>> Descriptor::open_at(const std::string& path,
                                                          bool follow_symlinks, OpenFlags open,
                                                          DescriptorFlags flags) {
  KILN_TRY(require_directory());
  const bool mutates = flags.write || open.create || open.truncate;
  if (mutates && read_only_) return ErrorCode::kNotPermitted;
  int host_flags = 0;
  if (open.directory) {
    if (flags.write) return ErrorCode::kIsDirectory;
    host_flags = O_RDONLY | O_DIRECTORY;
  } else if (flags.read && flags.write) {
    host_flags = O_RDWR;
  } else if (flags.write) {
    host_flags = O_WRONLY;
  } else {
    host_flags = O_RDONLY;
  }
  if (open.create) host_flags |= O_CREAT;
  if (open.exclusive) host_flags |= O_EXCL;
  if (open.truncate) host_flags |= O_TRUNC;
  if (flags.nonblocking) host_flags |= O_NONBLOCK;
  if (flags.file_integrity_sync) host_flags |= O_SYNC;
  if (flags.data_integrity_sync) host_flags |= O_DSYNC;
  KILN_ASSIGN(int fd, open_beneath(fd_, path, host_flags, 0666, follow_symlinks));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ErrorCode e = last_error();
    ::close(fd);
    return e;
  }
  DescriptorFlags granted = flags;
  if (S_ISDIR(st.st_mode)) granted.read = true;
  const bool read_only = read_only_ || (S_ISDIR(st.st_mode) && !flags.mutate_directory);
  granted.mutate_directory = S_ISDIR(st.st_mode) && !read_only;
  return std::shared_ptr<Descriptor>(
      new Descriptor(fd, type_from_mode(st.st_mode), read_only, granted));
}

FsResult<DescriptorStat> Descriptor::stat_at(const std::string& path, bool follow_symlinks) {
  KILN_TRY(require_directory());
  KILN_ASSIGN(int fd, open_beneath(fd_, path, O_PATH, 0, follow_symlinks));
  UniqueFd owned(fd);
  struct stat st;
  if (::fstat(owned.get(), &st) != 0) return last_error();
  return stat_from(st);
}

FsResult<void> Descriptor::set_times_at(const std::string& path, bool follow_symlinks,
                                        NewTimestamp access, NewTimestamp modification) {
  KILN_TRY(require_directory());
  if (read_only_) return ErrorCode::kNotPermitted;
  struct timespec times[2] = {to_timespec(access), to_timespec(modification)};
  const bool trailing_slash = !path.empty() && path.back() == '/';
  if (!follow_symlinks && !trailing_slash) {
    KILN_ASSIGN(NamedEntry entry, open_parent(fd_, path));
    if (::utimensat(entry.parent.get(), entry.name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return last_error();
    }
    return {};
  }
  // Following (a trailing slash follows too, and must name a directory).
  if (trailing_slash) KILN_TRY(require_directory_name(fd_, path));
  KILN_ASSIGN(int fd, open_beneath(fd_, path, O_PATH, 0, true));
  UniqueFd owned(fd);
  // An O_PATH descriptor cannot be passed to futimens; its /proc alias can to utimensat.
  std::string alias = "/proc/self/fd/" + std::to_string(owned.get());
  if (::utimensat(AT_FDCWD, alias.c_str(), times, 0) != 0) return last_error();
  return {};
}

FsResult<void> Descriptor::create_directory_at(const std::string& path) {
  KILN_TRY(require_directory());
  if (read_only_) return ErrorCode::kNotPermitted;
  KILN_ASSIGN(NamedEntry entry, open_parent(fd_, path));  // "dir/" names a directory: fine
  if (::mkdirat(entry.parent.get(), entry.name.c_str(), 0777) != 0) return last_error();
  return {};
}

FsResult<void> Descriptor::remove_directory_at(const std::string& path) {
  KILN_TRY(require_directory());
  if (read_only_) return ErrorCode::kNotPermitted;
  KILN_ASSIGN(NamedEntry entry, open_parent(fd_, path));
  if (entry.trailing_slash) KILN_TRY(require_directory_name(fd_, path));
  if (::unlinkat(entry.parent.get(), entry.name.c_str(), AT_REMOVEDIR) != 0) return last_error();
  return {};
}

FsResult<void> Descriptor::unlink_file_at(const std::string& path) {
  KILN_TRY(require_directory());
  if (read_only_) return ErrorCode::kNotPermitted;
  KILN_ASSIGN(NamedEntry entry, open_parent(fd_, path));
  if (entry.trailing_slash) {
    // "name/" names a directory, which unlink never removes: isdir when it is one (as
    // unlink(2) says for a directory), notdir or noent otherwise.
    KILN_TRY(require_directory_name(fd_, path));
    return ErrorCode::kIsDirectory;
  }
  if (::unlinkat(entry.parent.get(), entry.name.c_str(), 0) != 0) return last_error();
  return {};
}

FsResult<void> Descriptor::rename_at(const std::string& old_path, Descriptor& new_directory,
                                     const std::string& new_path) {
  KILN_TRY(require_directory());
  KILN_TRY(new_directory.require_directory());
  if (read_only_ || new_directory.read_only_) return ErrorCode::kNotPermitted;
  KILN_ASSIGN(NamedEntry from, open_parent(fd_, old_path));
  KILN_ASSIGN(NamedEntry to, open_parent(new_directory.fd_, new_path));
  // A trailing slash on either name requires the renamed entry to be a directory (POSIX
  // rename(): "the source shall be a directory"); a symlink is renamed itself, never followed.
  if (from.trailing_slash || to.trailing_slash) {
    struct stat st;
    if (::fstatat(from.parent.get(), from.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return last_error();
    }
    if (!S_ISDIR(st.st_mode)) return ErrorCode::kNotDirectory;
  }
  if (::renameat(from.parent.get(), from.name.c_str(), to.parent.get(), to.name.c_str()) != 0) {
    return last_error();
  }
  return {};
}

FsResult<void> Descriptor::link_at(const std::string& old_path, bool follow_symlinks,
                                   Descriptor& new_directory, const std::string& new_path) {
  KILN_TRY(require_directory());
  KILN_TRY(new_directory.require_directory());
  if (read_only_ || new_directory.read_only_) return ErrorCode::kNotPermitted;
  KILN_ASSIGN(NamedEntry from, open_parent(fd_, old_path));
  KILN_ASSIGN(NamedEntry to, open_parent(new_directory.fd_, new_path));
  // "old/" names a directory, and directories cannot be linked.
  if (from.trailing_slash) {
    KILN_TRY(require_directory_name(fd_, old_path));
    return ErrorCode::kNotPermitted;
  }
  if (to.trailing_slash) return refuse_new_name_with_slash(to);
  if (follow_symlinks) {
    // The old path is resolved beneath this directory (a symlink out of the sandbox fails
    // there); the target's /proc alias then names exactly what was resolved.
    KILN_ASSIGN(int fd, open_beneath(fd_, old_path, O_PATH, 0, true));
    UniqueFd target(fd);
    const std::string alias = "/proc/self/fd/" + std::to_string(target.get());
    if (::linkat(AT_FDCWD, alias.c_str(), to.parent.get(), to.name.c_str(), AT_SYMLINK_FOLLOW) !=
        0) {
      return last_error();
    }
    return {};
  }
  // Without the flag the link names the symlink itself (never its target, which could lie
  // outside the sandbox).
  if (::linkat(from.parent.get(), from.name.c_str(), to.parent.get(), to.name.c_str(), 0) != 0) {
    return last_error();
  }
  return {};
}

FsResult<void> Descriptor::symlink_at(const std::string& target, const std::string& path) {
  KILN_TRY(require_directory());
  if (read_only_) return ErrorCode::kNotPermitted;
  // Following a link is always resolved beneath its directory, so an escaping target could
  // never be used; an absolute one is refused up front so the guest learns it at once.
  if (target.empty()) return ErrorCode::kNoEntry;
  if (target[0] == '/') return ErrorCode::kNotPermitted;
  KILN_ASSIGN(NamedEntry entry, open_parent(fd_, path));
  if (entry.trailing_slash) return refuse_new_name_with_slash(entry);
  if (::symlinkat(target.c_str(), entry.parent.get(), entry.name.c_str()) != 0) {
    return last_error();
  }
  return {};
}

FsResult<std::string> Descriptor::readlink_at(const std::string& path) {
  KILN_TRY(require_directory());
  KILN_ASSIGN(NamedEntry entry, open_parent(fd_, path));
  if (entry.trailing_slash) {
    // "link/" follows the link: what it names is a directory (not a link: inval) or an error.
    KILN_TRY(require_directory_name(fd_, path));
    return ErrorCode::kInvalid;
  }
  char buffer[PATH_MAX];
  ssize_t n = ::readlinkat(entry.parent.get(), entry.name.c_str(), buffer, sizeof buffer);
  if (n < 0) return last_error();
  return std::string(buffer, static_cast<size_t>(n));
}

}  // namespace kiln::wasi
