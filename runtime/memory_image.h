// A module's initial memory contents as a copy-on-write image (DESIGN-NOTES section 6:
// "instantiation copies nothing that can be precomputed"): the bytes its active data segments
// put in its first defined memory, written once into an in-memory file (memfd). Instantiation
// maps the file privately over the new memory instead of copying the segments, so instances
// share the image's pages until they write to them. A WASI 0.2 HTTP handler made by
// componentize-js carries megabytes of snapshotted JavaScript heap: `kiln serve` instantiates
// it per request, and the copy was most of a request's time.
#pragma once

#include <cstdint>
#include <memory>

namespace kiln {

class Module;

class MemoryImage {
 public:
  // The image of `module`'s first defined memory, or null when there is none to make: the
  // memory is imported, a segment's offset is not a constant or lies beyond the memory's
  // initial size (instantiation must then trap as the spec says), the data is small, or the
  // system refuses a memfd.
  static std::unique_ptr<MemoryImage> create(const Module& module);
  ~MemoryImage();
  MemoryImage(const MemoryImage&) = delete;
  MemoryImage& operator=(const MemoryImage&) = delete;

  uint32_t memory_index() const { return memory_index_; }
  // The in-memory file holding the image, its size (a multiple of the system page size) and an
  // id no other image in the process has (pooled memories remember which image they map).
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  uint64_t id() const { return id_; }

 private:
  MemoryImage() = default;
  int fd_ = -1;
  uint64_t size_ = 0;  // a multiple of the system page size
  uint32_t memory_index_ = 0;
  uint64_t id_ = 0;
};

}  // namespace kiln
