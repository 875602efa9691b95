#include "runtime/memory_image.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "runtime/linear_memory.h"
#include "runtime/module.h"
#include "runtime/opcodes.h"

namespace kiln {

namespace {

// Below this many bytes of data a copy costs less than the mapping and its page faults.
constexpr uint64_t kMinimumImageBytes = 64 * 1024;

}  // namespace

std::unique_ptr<MemoryImage> MemoryImage::create(const Module& m) {
  if (m.memories.size() <= m.imported_memories) return nullptr;
  const uint32_t memory_index = m.imported_memories;
  const uint64_t memory_bytes = m.memories[memory_index].limits.min * kWasmPageSize;
  uint64_t end = 0, total = 0;
  for (const DataSegment& seg : m.data) {
    if (seg.mode != SegmentMode::kActive || seg.memory_index != memory_index) continue;
    if (seg.offset.instrs.size() != 1 || seg.offset.instrs[0].opcode != Opcode::kI32Const) {
      return nullptr;
    }
    const uint64_t offset = static_cast<uint32_t>(seg.offset.instrs[0].bits);
    if (offset + seg.bytes.size() > memory_bytes) return nullptr;
    end = std::max<uint64_t>(end, offset + seg.bytes.size());
    total += seg.bytes.size();
  }
  if (total < kMinimumImageBytes) return nullptr;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t size = (end + page - 1) / page * page;  // within the memory: its pages are 64 KiB

  // The segments in order (a later one overwrites an earlier one, as instantiation would).
  std::vector<uint8_t> bytes(size, 0);
  for (const DataSegment& seg : m.data) {
    if (seg.mode != SegmentMode::kActive || seg.memory_index != memory_index) continue;
    if (!seg.bytes.empty()) {
      std::memcpy(bytes.data() + static_cast<uint32_t>(seg.offset.instrs[0].bits), seg.bytes.data(),
                  seg.bytes.size());
    }
  }
  std::unique_ptr<MemoryImage> image(new MemoryImage());
  image->fd_ = memfd_create("kiln-memory-image", MFD_CLOEXEC);
  if (image->fd_ < 0 || ftruncate(image->fd_, static_cast<off_t>(size)) != 0) return nullptr;
  for (uint64_t done = 0; done < size;) {
    const ssize_t n =
        pwrite(image->fd_, bytes.data() + done, size - done, static_cast<off_t>(done));
    if (n <= 0) return nullptr;
    done += static_cast<uint64_t>(n);
  }
  static std::atomic<uint64_t> last_id{0};
  image->size_ = size;
  image->memory_index_ = memory_index;
  image->id_ = ++last_id;
  return image;
}

MemoryImage::~MemoryImage() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace kiln
