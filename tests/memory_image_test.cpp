// Copy-on-write memory images (runtime/memory_image.h): from a module's second instantiation on,
// its data segments come from a shared image instead of a copy. What an instance sees must not
// change: the segments in order (a later one overwrites an earlier one), zeroes elsewhere, its
// writes its own, and a segment out of bounds still failing instantiation.
#include "runtime/memory_image.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/linear_memory.h"
#include "runtime/mapping_pool.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "tests/fuzz/wasm_writer.h"

namespace kiln {
namespace {

struct Segment {
  uint32_t offset;
  std::string bytes;
};

// A module with one memory of `pages` pages, exported as "memory", and active data segments.
std::vector<uint8_t> module_with_data(uint32_t pages, const std::vector<Segment>& segments) {
  std::vector<uint8_t> m = wasm_writer::header();
  std::vector<uint8_t> memory = {0x01, 0x00};
  wasm_writer::leb(memory, pages);
  wasm_writer::section(m, 5, memory);
  std::vector<uint8_t> exports = {0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00};
  wasm_writer::section(m, 7, exports);
  std::vector<uint8_t> data;
  wasm_writer::leb(data, static_cast<uint32_t>(segments.size()));
  for (const Segment& s : segments) {
    data.push_back(0x00);  // active, memory 0
    data.push_back(0x41);  // i32.const offset
    wasm_writer::sleb(data, static_cast<int32_t>(s.offset));
    data.push_back(0x0b);
    wasm_writer::leb(data, static_cast<uint32_t>(s.bytes.size()));
    data.insert(data.end(), s.bytes.begin(), s.bytes.end());
  }
  wasm_writer::section(m, 11, data);
  return m;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
  return s;
}

uint8_t* memory_of(Instance& instance) {
  return instance.memories[0]->memory->base();
}

TEST(MemoryImage, InstancesSeeTheSegmentsAndTheirOwnWrites) {
  const std::string big = pattern(100000);
  const std::vector<Segment> segments = {{0, big}, {70000, "later wins"}, {131000, "end"}};
  Engine engine;
  auto module = Module::compile(engine, module_with_data(3, segments));
  ASSERT_TRUE(module) << module.error().message;
  std::string expected(3 * 65536, '\0');
  for (const Segment& s : segments) expected.replace(s.offset, s.bytes.size(), s.bytes);

  Store first(engine), second(engine), third(engine);
  auto a = first.instantiate(*module, {});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ((*module)->memory_image(), nullptr) << "the first instance copies its segments";
  auto b = second.instantiate(*module, {});
  auto c = third.instantiate(*module, {});
  ASSERT_TRUE(b && c);
  ASSERT_NE((*module)->memory_image(), nullptr) << "a module with 100 KB of data has an image";
  for (Instance* instance : {*a, *b, *c}) {
    EXPECT_EQ(std::memcmp(memory_of(*instance), expected.data(), expected.size()), 0);
  }
  // Each instance's writes are its own (the image is mapped privately).
  std::memcpy(memory_of(**b) + 10, "written by b", 12);
  std::memcpy(memory_of(**b) + 150000, "past the data", 13);
  EXPECT_EQ(std::memcmp(memory_of(**c), expected.data(), expected.size()), 0);
  EXPECT_EQ(std::memcmp(memory_of(**a), expected.data(), expected.size()), 0);
  Store fourth(engine);
  auto d = fourth.instantiate(*module, {});
  ASSERT_TRUE(d);
  EXPECT_EQ(std::memcmp(memory_of(**d), expected.data(), expected.size()), 0);
  // The memory grows as any other: new pages are zero.
  MemoryInstance& memory = *(*d)->memories[0];
  EXPECT_EQ(memory.memory->grow(1), 3);
  EXPECT_EQ(memory_of(**d)[3 * 65536 + 5], 0);
}

TEST(MemoryImage, ASegmentOutOfBoundsStillFailsEveryInstantiation) {
  Engine engine;
  auto module = Module::compile(engine, module_with_data(1, {{0, pattern(70000)}}));
  ASSERT_TRUE(module) << module.error().message;
  for (int i = 0; i < 3; ++i) {
    Store store(engine);
    auto instance = store.instantiate(*module, {});
    ASSERT_FALSE(instance);
    EXPECT_NE(instance.error().message.find("out of bounds"), std::string::npos)
        << instance.error().message;
  }
  EXPECT_EQ((*module)->memory_image(), nullptr);
}

TEST(MemoryImage, SmallDataIsCopied) {
  Engine engine;
  auto module = Module::compile(engine, module_with_data(1, {{16, "small"}}));
  ASSERT_TRUE(module);
  for (int i = 0; i < 3; ++i) {
    Store store(engine);
    auto instance = store.instantiate(*module, {});
    ASSERT_TRUE(instance);
    EXPECT_EQ(std::memcmp(memory_of(**instance) + 16, "small", 5), 0);
  }
  EXPECT_EQ((*module)->memory_image(), nullptr);
}

// A memory goes back to the mapping pool when its store goes, its first kKeepResidentBytes
// zeroed in place and the rest dropped: the next memory that takes the reservation, of this
// module or another size, sees zeroes everywhere (and its own data), whatever the last one
// wrote, within and beyond the part kept resident.
TEST(MemoryImage, ReusedMemoriesAreZeroWhereverTheLastOneWrote) {
  Engine engine;
  constexpr uint32_t kPages = 24;  // 1.5 MiB: past the part kept resident
  auto module = Module::compile(engine, module_with_data(kPages, {{16, "small"}}));
  auto smaller = Module::compile(engine, module_with_data(2, {}));
  ASSERT_TRUE(module && smaller);
  static_assert(kPages * kWasmPageSize > kKeepResidentBytes);
  for (int round = 0; round < 3; ++round) {
    Store store(engine);
    auto instance = store.instantiate(*module, {});
    ASSERT_TRUE(instance);
    uint8_t* base = memory_of(**instance);
    const std::string expected = std::string(16, '\0') + "small";
    EXPECT_EQ(std::memcmp(base, expected.data(), expected.size()), 0) << round;
    // Where the last round wrote.
    for (uint64_t at = 4093; at < kPages * kWasmPageSize; at += 4093) {
      ASSERT_EQ(base[at], 0) << "round " << round << ", byte " << at;
    }
    EXPECT_EQ(base[kKeepResidentBytes - 1], 0);
    EXPECT_EQ(base[kKeepResidentBytes], 0);
    // Written all over, the resident part and beyond, for the next round to check.
    for (uint64_t at = 0; at < kPages * kWasmPageSize; at += 4093) base[at] = 0xAB;
    base[kKeepResidentBytes - 1] = base[kKeepResidentBytes] = 0xCD;

    Store other(engine);  // a smaller memory on a reservation the larger one may have left
    auto small = other.instantiate(*smaller, {});
    ASSERT_TRUE(small);
    for (uint64_t at = 0; at < 2 * kWasmPageSize; at += 4093) {
      ASSERT_EQ(memory_of(**small)[at], 0) << "round " << round << ", byte " << at;
    }
    EXPECT_EQ(memory_of(**small)[100], 0);
    memory_of(**small)[100] = 0xEF;
  }
}

// Going back to the pool zeroes only the pages the memory had in RAM and drops the rest: zeroing
// a page nobody touched would fault it in (kiln serve zeroed a whole memory per request, and
// kept it all resident). The next memory on the reservation finds resident only the pages its
// predecessor touched, and reads zero everywhere.
TEST(MemoryImage, AReleasedMemoryFaultsInNoPageItsGuestNeverTouched) {
  Engine engine;
  constexpr uint32_t kPages = 8;  // 512 KiB, all within the part kept resident
  static_assert(kPages * kWasmPageSize <= kKeepResidentBytes);
  auto module = Module::compile(engine, module_with_data(kPages, {}));
  ASSERT_TRUE(module);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = kPages * kWasmPageSize;
  const size_t pages = bytes / page;
  const std::vector<size_t> touched = {0, 5, pages / 2, pages - 1};
  uint8_t* first_base = nullptr;
  {
    Store store(engine);
    auto instance = store.instantiate(*module, {});
    ASSERT_TRUE(instance);
    first_base = memory_of(**instance);
    // A clean slate: the reservation may come from the pool with an earlier test's pages
    // resident (zero, as this memory's guest reads them anyway).
    ASSERT_EQ(madvise(first_base, bytes, MADV_DONTNEED), 0);
    for (size_t p : touched) first_base[p * page + 7] = 0x5A;
  }
  Store store(engine);
  auto instance = store.instantiate(*module, {});
  ASSERT_TRUE(instance);
  uint8_t* base = memory_of(**instance);
  ASSERT_EQ(base, first_base) << "the pool hands the last reservation back first";
  std::vector<unsigned char> present(pages);
  ASSERT_EQ(mincore(base, bytes, present.data()), 0);
  for (size_t p = 0; p < pages; ++p) {
    const bool expected = std::find(touched.begin(), touched.end(), p) != touched.end();
    EXPECT_EQ(present[p] & 1, expected ? 1 : 0) << "page " << p;
  }
  for (size_t at = 0; at < bytes; at += 509) ASSERT_EQ(base[at], 0) << "byte " << at;
  for (size_t p : touched) EXPECT_EQ(base[p * page + 7], 0) << "page " << p;
}

// A pool that will not keep a memory's reservation (off, as kiln run sets it, or full) gets
// nothing back: the memory is unmapped as it is, not zeroed first (which faulted in every page
// its guest never touched, only to unmap them). With room, the reservation stays mapped for
// the next memory.
TEST(MemoryImage, AMemoryThePoolWillNotKeepIsUnmappedAsItIs) {
  Engine engine;
  auto module = Module::compile(engine, module_with_data(8, {{16, "data"}}));
  ASSERT_TRUE(module);
  auto released_base = [&]() -> uint8_t* {
    Store store(engine);
    auto instance = store.instantiate(*module, {});
    if (!instance) return nullptr;
    memory_of(**instance)[4096 * 3] = 1;
    return memory_of(**instance);
  };
  unsigned char present = 0;
  set_pooled_mappings_per_size(0);
  uint8_t* unpooled = released_base();
  ASSERT_NE(unpooled, nullptr);
  EXPECT_NE(mincore(unpooled, 4096, &present), 0) << "still mapped";
  EXPECT_EQ(errno, ENOMEM);
  set_pooled_mappings_per_size(32);
  uint8_t* pooled = released_base();
  ASSERT_NE(pooled, nullptr);
  EXPECT_EQ(mincore(pooled, 4096, &present), 0) << "unmapped although the pool had room";
  EXPECT_EQ(released_base(), pooled) << "the next memory takes the pooled reservation";
}

}  // namespace
}  // namespace kiln
