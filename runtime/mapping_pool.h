// Address-space mappings kept for reuse (as wasmtime's pooling allocator does): a store made per
// request (`kiln serve`) would otherwise map and unmap an 8 GiB memory reservation and its
// stacks each time. In a multi-threaded process every unmap, protection change and page drop
// costs a TLB shootdown on every core, so a pooled mapping comes back in the state it was left
// in, described by the entry, and its next user changes only what differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace kiln {

struct PooledMapping {
  void* base = nullptr;
  size_t bytes = 0;
  // A linear memory's reservation: how many bytes from the start are accessible, and which
  // MemoryImage (by id; 0: none) is mapped at its start, over `image_bytes`. Every accessible
  // byte is zero or, within the image, the image's (its owner dropped its pages).
  uint64_t accessible = 0;
  uint64_t image_id = 0;
  uint64_t image_bytes = 0;
};

// A mapping of `bytes` from the pool, or nothing when there is none of that size.
std::optional<PooledMapping> take_pooled_mapping(size_t bytes);
// Gives a mapping back; the pool keeps it if it has room (a few per size), or unmaps it.
void release_pooled_mapping(const PooledMapping& mapping);
// Whether the pool has room for a mapping of `bytes` now: when it has not, the mapping's owner
// unmaps it at once instead of first restoring the state that a pooled mapping promises.
bool pool_would_keep(size_t bytes);
// How many mappings of each size the pool keeps (32 unless set); 0 turns it off, for a process
// that makes one store and exits (kiln run).
void set_pooled_mappings_per_size(size_t count);

}  // namespace kiln
