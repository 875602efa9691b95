// Host filesystem objects for WASI, shaped like WASI 0.2's wasi:filesystem/types (the
// `descriptor` resource and its `error-code`), so that preview2 can serve them directly and
// preview1 is a layer over them (DESIGN-NOTES section 8).
//
// Sandboxing: every path is resolved beneath the descriptor it is relative to, never escaping it
// through `..`, absolute paths or symlinks (openat2 with RESOLVE_BENEATH where the kernel has it,
// else a resolver that walks components itself). A descriptor opened read-only passes that on to
// everything opened through it, and every mutating operation checks it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/result.h"

namespace kiln::wasi {

// wasi:filesystem/types.error-code, in its order.
enum class ErrorCode : uint8_t {
  kAccess,
  kWouldBlock,
  kAlready,
  kBadDescriptor,
  kBusy,
  kDeadlock,
  kQuota,
  kExist,
  kFileTooLarge,
  kIllegalByteSequence,
  kInProgress,
  kInterrupted,
  kInvalid,
  kIo,
  kIsDirectory,
  kLoop,
  kTooManyLinks,
  kMessageSize,
  kNameTooLong,
  kNoDevice,
  kNoEntry,
  kNoLock,
  kInsufficientMemory,
  kInsufficientSpace,
  kNotDirectory,
  kNotEmpty,
  kNotRecoverable,
  kUnsupported,
  kNoTty,
  kNoSuchDevice,
  kOverflow,
  kNotPermitted,
  kPipe,
  kReadOnly,
  kInvalidSeek,
  kTextFileBusy,
  kCrossDevice,
  // Not in the WIT's error-code: the guest's descriptor limit or the host's (EMFILE, ENFILE).
  // Preview1 reports it as mfile; WASI 0.2 will report it as insufficient-memory.
  kTooManyOpenFiles,
};
ErrorCode error_from_errno(int host_errno);

template <typename T>
using FsResult = Result<T, ErrorCode>;

// wasi:filesystem/types.descriptor-type
enum class DescriptorType : uint8_t {
  kUnknown,
  kBlockDevice,
  kCharacterDevice,
  kDirectory,
  kFifo,
  kSymbolicLink,
  kRegularFile,
  kSocket,
};

struct DescriptorStat {
  DescriptorType type = DescriptorType::kUnknown;
  uint64_t device = 0;  // preview1's filestat needs these; preview2 exposes a metadata hash
  uint64_t inode = 0;
  uint64_t link_count = 0;
  uint64_t size = 0;
  uint64_t access_ns = 0, modification_ns = 0, status_change_ns = 0;
};

struct DirectoryEntry {
  std::string name;
  DescriptorType type = DescriptorType::kUnknown;
  uint64_t inode = 0;
};

struct OpenFlags {  // wasi:filesystem/types.open-flags
  bool create = false, directory = false, exclusive = false, truncate = false;
};
struct DescriptorFlags {  // wasi:filesystem/types.descriptor-flags (the ones kiln honours)
  bool read = false, write = false, file_integrity_sync = false, data_integrity_sync = false;
  // A directory opened without it is read-only: nothing can be created, removed or renamed
  // through it (WASI 0.2's mutate-directory; preview1 always asks for it).
  bool mutate_directory = true;
  bool nonblocking = false;  // preview1's fdflags.nonblock
};

// A timestamp for set-times: leave unchanged, set to now, or set to a time in nanoseconds.
struct NewTimestamp {
  enum Kind { kNoChange, kNow, kTimestamp } kind = kNoChange;
  uint64_t ns = 0;
};

class Descriptor {
 public:
  // Opens a host directory as a preopen. `read_only` forbids every write through it.
  static FsResult<std::shared_ptr<Descriptor>> open_directory(const std::string& host_path,
                                                              bool read_only);
  ~Descriptor();
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;

  DescriptorType type() const { return type_; }
  bool read_only() const { return read_only_; }
  const DescriptorFlags& flags() const { return flags_; }
  int host_fd() const { return fd_; }

  // Positional I/O (preview1's cursor is kept by the preview1 layer).
  FsResult<size_t> read(std::span<uint8_t> buffer, uint64_t offset);
  FsResult<size_t> write(std::span<const uint8_t> data, uint64_t offset);
  FsResult<void> set_size(uint64_t size);
  FsResult<void> set_times(NewTimestamp access, NewTimestamp modification);
  FsResult<void> sync();
  FsResult<void> sync_data();
  FsResult<void> advise(uint64_t offset, uint64_t length, int posix_advice);
  FsResult<void> allocate(uint64_t offset, uint64_t length);
  FsResult<DescriptorStat> stat();
  FsResult<std::vector<DirectoryEntry>> read_directory();  // includes "." and ".."

  // Path operations, relative to this directory and never escaping it.
  FsResult<std::shared_ptr<Descriptor>> open_at(const std::string& path, bool follow_symlinks,
                                                OpenFlags open, DescriptorFlags flags);
  FsResult<DescriptorStat> stat_at(const std::string& path, bool follow_symlinks);
  FsResult<void> set_times_at(const std::string& path, bool follow_symlinks, NewTimestamp access,
                              NewTimestamp modification);
  FsResult<void> create_directory_at(const std::string& path);
  FsResult<void> remove_directory_at(const std::string& path);
  FsResult<void> unlink_file_at(const std::string& path);
  FsResult<void> rename_at(const std::string& old_path, Descriptor& new_directory,
                           const std::string& new_path);
  // `follow_symlinks`: a final symlink in `old_path` is resolved (beneath this directory) and
  // its target linked, as preview1's LOOKUPFLAGS_SYMLINK_FOLLOW asks.
  FsResult<void> link_at(const std::string& old_path, bool follow_symlinks,
                         Descriptor& new_directory, const std::string& new_path);
  FsResult<void> symlink_at(const std::string& target, const std::string& path);
  FsResult<std::string> readlink_at(const std::string& path);

  // For tests: resolve paths by walking components instead of with openat2.
  static void force_component_walk(bool on);

 private:
  Descriptor(int fd, DescriptorType type, bool read_only, DescriptorFlags flags)
      : fd_(fd), type_(type), read_only_(read_only), flags_(flags) {}
  FsResult<void> require_directory() const;
  FsResult<void> require_writable() const;

  int fd_;
  DescriptorType type_;
  bool read_only_;
  DescriptorFlags flags_;
};

}  // namespace kiln::wasi
