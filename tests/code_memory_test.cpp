// The JIT's code region (compiler/code_memory.cpp): room freed when a module goes is reused,
// so an embedder that compiles and drops modules for as long as it runs (a platform loading
// its tenants' modules on demand) neither runs the region out, after which its functions
// would no longer be compiled, nor slows its allocations down with a growing list of scraps.
#include "compiler/code_memory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::jit {
namespace {

constexpr size_t kGranule = CodeMemory::kGranule;

TEST(CodeMemory, FreedNeighboursServeOneLargerRoom) {
  CodeMemory memory;
  ASSERT_TRUE(memory.usable());
  const CodeSpan a = memory.allocate(kGranule);
  const CodeSpan b = memory.allocate(kGranule);
  const CodeSpan c = memory.allocate(kGranule);
  ASSERT_NE(c.executable, nullptr);
  ASSERT_EQ(b.executable, a.executable + kGranule);
  memory.release(a.executable, kGranule);
  memory.release(b.executable, kGranule);
  // a and b together: two granules where a began, not fresh room past c.
  const CodeSpan d = memory.allocate(2 * kGranule);
  EXPECT_EQ(d.executable, a.executable);
  EXPECT_EQ(d.writable, a.writable);
}

TEST(CodeMemory, RoomFreedAtTheEndIsHandedOutAgain) {
  CodeMemory memory;
  ASSERT_TRUE(memory.usable());
  const CodeSpan a = memory.allocate(kGranule);
  const CodeSpan b = memory.allocate(3 * kGranule);
  memory.release(b.executable, 3 * kGranule);
  // b was the last room handed out: a larger one starts where b did.
  const CodeSpan c = memory.allocate(5 * kGranule);
  EXPECT_EQ(c.executable, a.executable + kGranule);
}

TEST(CodeMemory, ChurnOfModulesOfEverySizeReusesTheSameRoom) {
  // Modules of functions of random sizes, each compiled and then dropped, in overlapping
  // generations (one still live while the next is compiled), as a server replacing its tenants'
  // modules does. What is in use at once never exceeds two generations, so the region's high
  // water mark must stay within a small multiple of that however long it goes on.
  CodeMemory memory;
  ASSERT_TRUE(memory.usable());
  std::mt19937 random(7);
  std::uniform_int_distribution<size_t> size(1, 6000);
  std::uniform_int_distribution<size_t> count(1, 60);
  struct Room {
    uint8_t* executable;
    size_t bytes;
  };
  std::vector<Room> previous;
  const uint8_t* lowest = nullptr;
  const uint8_t* highest = nullptr;
  size_t largest_two_generations = 0, previous_bytes = 0;
  for (int generation = 0; generation < 3000; ++generation) {
    std::vector<Room> current;
    size_t bytes = 0;
    for (size_t i = 0, n = count(random); i < n; ++i) {
      const size_t b = size(random);
      const CodeSpan span = memory.allocate(b);
      ASSERT_NE(span.executable, nullptr) << "region exhausted at generation " << generation;
      std::memset(span.writable, 0xcc, b);  // the room is usable
      current.push_back({span.executable, b});
      bytes += (b + kGranule - 1) / kGranule * kGranule;
      lowest = lowest ? std::min<const uint8_t*>(lowest, span.executable) : span.executable;
      highest = std::max<const uint8_t*>(highest, span.executable + b);
    }
    largest_two_generations = std::max(largest_two_generations, bytes + previous_bytes);
    // Dropped in another order than allocated (a module's functions go in table order).
    std::shuffle(previous.begin(), previous.end(), random);
    for (const Room& room : previous) memory.release(room.executable, room.bytes);
    previous = std::move(current);
    previous_bytes = bytes;
  }
  const size_t high_water = static_cast<size_t>(highest - lowest);
  EXPECT_LT(high_water, 4 * largest_two_generations)
      << "high water " << high_water << " bytes for at most " << largest_two_generations
      << " bytes in use at once";
}

TEST(CodeMemory, RoomReadsAsWrittenAfterItsNeighboursAreFreed) {
  // Whole pages freed around a live function are given back to the OS; the live function's
  // own pages must keep its bytes.
  CodeMemory memory;
  ASSERT_TRUE(memory.usable());
  const CodeSpan before = memory.allocate(3 * 4096);
  const CodeSpan live = memory.allocate(200);
  const CodeSpan after = memory.allocate(3 * 4096);
  std::memset(live.writable, 0x5a, 200);
  memory.release(before.executable, 3 * 4096);
  memory.release(after.executable, 3 * 4096);
  for (size_t i = 0; i < 200; ++i) ASSERT_EQ(live.executable[i], 0x5a) << "byte " << i;
}

TEST(CodeMemory, FreedWholePagesAreGivenBack) {
  // Their bytes are gone (they read as zeros through both views) rather than kept resident.
  CodeMemory memory;
  ASSERT_TRUE(memory.usable());
  const CodeSpan pages = memory.allocate(4 * 4096);
  const CodeSpan fence = memory.allocate(kGranule);  // keeps the top from merely being lowered
  ASSERT_NE(fence.executable, nullptr);
  std::memset(pages.writable, 0xcc, 4 * 4096);
  memory.release(pages.executable, 4 * 4096);
  for (size_t i = 0; i < 4 * 4096; i += 512) {
    ASSERT_EQ(pages.executable[i], 0) << "byte " << i;
    ASSERT_EQ(pages.writable[i], 0) << "byte " << i;
  }
}

// The line of /proc/self/maps whose range holds `address`: "START-END PERMS OFFSET DEV INODE
// PATH".
std::string mapping_of(const void* address) {
  std::ifstream maps("/proc/self/maps");
  const auto at = reinterpret_cast<uintptr_t>(address);
  for (std::string line; std::getline(maps, line);) {
    uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream in(line);
    in >> std::hex >> start >> dash >> end;
    if (at >= start && at < end) return line;
  }
  return "";
}

// The read, write and execute permissions ("r-x") of the mapping that holds `address`.
std::string permissions_of(const void* address) {
  std::istringstream line(mapping_of(address));
  std::string range, permissions;
  line >> range >> permissions;
  return permissions.substr(0, 3);
}

// The VmFlags of /proc/self/smaps for the mapping that holds `address` ("rd ex mr ..."), or "".
std::string vm_flags_of(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream in(line);
    if (in >> std::hex >> start >> dash >> end && dash == '-') {
      inside = at >= start && at < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.substr(8) + " ";
    }
  }
  return "";
}

TEST(CodeMemory, ACoreDumpHoldsTheCodeOnce) {
  // The writable view is left out of core dumps (its "dd" flag); the executable view, where a
  // crash's code is looked for, is kept.
  for (CodeMemory::Views views :
       {CodeMemory::Views::kAnonymousOrMemfd, CodeMemory::Views::kMemfd}) {
    CodeMemory memory(views);
    ASSERT_TRUE(memory.usable());
    const CodeSpan span = memory.allocate(kGranule);
    const std::string writable = vm_flags_of(span.writable);
    const std::string executable = vm_flags_of(span.executable);
    ASSERT_FALSE(writable.empty());
    ASSERT_FALSE(executable.empty());
    EXPECT_NE(writable.find(" dd "), std::string::npos) << writable;
    EXPECT_EQ(executable.find(" dd "), std::string::npos) << executable;
  }
}

TEST(CodeMemory, CodeIsNeverWritableWhereItRunsAndPerfCanNameIt) {
  CodeMemory memory;
  ASSERT_TRUE(memory.usable());
  const CodeSpan span = memory.allocate(kGranule);
  const std::string executable = mapping_of(span.executable);
  ASSERT_FALSE(executable.empty());
  EXPECT_EQ(permissions_of(span.executable), "r-x") << executable;  // W^X
  EXPECT_EQ(permissions_of(span.writable), "rw-") << mapping_of(span.writable);
  // Linux perf reads /tmp/perf-PID.map (kiln run --profile perfmap) only for executable memory
  // it takes for anonymous: no path, or one starting "/dev/zero" or "/anon_hugepage" (its
  // map.c, is_anon_memory). A memfd's "/memfd:..." is a file it looks for and cannot read.
  const bool anonymous = executable.find('/') == std::string::npos ||
                         executable.find(" /dev/zero") != std::string::npos ||
                         executable.find(" /anon_hugepage") != std::string::npos;
  EXPECT_TRUE(anonymous) << executable;
}

TEST(CodeMemory, TheMemfdFallbackKeepsWriteXorExecuteAndGivesFreedPagesBack) {
  // Where mremap cannot map shared anonymous pages twice (under valgrind), the region is a memfd
  // mapped twice: the same bytes through both views, never writable where they run, and freed
  // whole pages punched out as in the anonymous region.
  CodeMemory memory(CodeMemory::Views::kMemfd);
  ASSERT_TRUE(memory.usable());
  const CodeSpan pages = memory.allocate(4 * 4096);
  const CodeSpan fence = memory.allocate(kGranule);
  ASSERT_NE(fence.executable, nullptr);
  std::memset(pages.writable, 0xcc, 4 * 4096);
  EXPECT_EQ(pages.executable[4096 + 7], 0xcc);
  const std::string executable = mapping_of(pages.executable);
  EXPECT_EQ(permissions_of(pages.executable), "r-x") << executable;
  EXPECT_EQ(permissions_of(pages.writable), "rw-") << mapping_of(pages.writable);
  EXPECT_NE(executable.find("memfd:kiln-jit-code"), std::string::npos) << executable;
  memory.release(pages.executable, 4 * 4096);
  for (size_t i = 0; i < 4 * 4096; i += 512) {
    ASSERT_EQ(pages.executable[i], 0) << "byte " << i;
    ASSERT_EQ(pages.writable[i], 0) << "byte " << i;
  }
}

}  // namespace
}  // namespace kiln::jit
