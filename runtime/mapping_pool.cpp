#include "runtime/mapping_pool.h"

#include <sys/mman.h>

#include <mutex>
#include <utility>
#include <vector>

namespace kiln {

namespace {

// Enough for the stores of a server's busy threads; beyond it mappings are unmapped.
constexpr size_t kDefaultPooledPerSize = 32;

struct Pool {
  std::mutex mutex;
  size_t per_size = kDefaultPooledPerSize;
  std::vector<std::pair<size_t, std::vector<PooledMapping>>> by_size;

  std::vector<PooledMapping>& of(size_t bytes) {
    for (auto& [size, mappings] : by_size)
      if (size == bytes) return mappings;
    by_size.emplace_back(bytes, std::vector<PooledMapping>());
    return by_size.back().second;
  }
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: stores may be freed during exit
  return *p;
}

}  // namespace

std::optional<PooledMapping> take_pooled_mapping(size_t bytes) {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  std::vector<PooledMapping>& mappings = p.of(bytes);
  if (mappings.empty()) return std::nullopt;
  PooledMapping m = mappings.back();
  mappings.pop_back();
  return m;
}

void release_pooled_mapping(const PooledMapping& mapping) {
  {
    Pool& p = pool();
    std::lock_guard lock(p.mutex);
    std::vector<PooledMapping>& mappings = p.of(mapping.bytes);
    if (mappings.size() < p.per_size) {
      mappings.push_back(mapping);
      return;
    }
  }
  munmap(mapping.base, mapping.bytes);
}

bool pool_would_keep(size_t bytes) {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  return p.of(bytes).size() < p.per_size;
}

void set_pooled_mappings_per_size(size_t count) {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  p.per_size = count;
  for (auto& [size, mappings] : p.by_size) {
    for (; mappings.size() > count; mappings.pop_back()) munmap(mappings.back().base, size);
  }
}

}  // namespace kiln
