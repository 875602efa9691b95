// Host-SIMD operators (simd_host.h) against the portable lane code (simd.h), bit for bit, on
// random vectors mixed with edge values (NaNs with payloads, signed zeros, infinities,
// denormals, integer extremes).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "runtime/simd_host.h"

namespace kiln {
namespace {

class VectorSource {
 public:
  V128 next() {
    V128 v;
    switch (rng_() % 4) {
      case 0:  // random bits
        for (uint8_t& b : v.bytes) b = static_cast<uint8_t>(rng_());
        break;
      case 1:
        for (int i = 0; i < 4; ++i) simd::set_lane<uint32_t>(v, i, pick(kF32Edges));
        break;
      case 2:
        for (int i = 0; i < 2; ++i) simd::set_lane<uint64_t>(v, i, pick(kF64Edges));
        break;
      default:
        for (int i = 0; i < 16; ++i) v.bytes[i] = pick(kByteEdges);
        if (rng_() % 2) {  // integer extremes at every lane width
          const int width = 1 << (rng_() % 4);
          for (int i = 0; i < 16 / width; ++i) {
            uint64_t lane = pick(kIntEdges);
            std::memcpy(v.bytes + i * width, &lane, width);
          }
        }
    }
    return v;
  }

 private:
  template <typename T, size_t N>
  T pick(const T (&pool)[N]) {
    return rng_() % 3 == 0 ? static_cast<T>(rng_()) : pool[rng_() % N];
  }
  static constexpr uint32_t kF32Edges[] = {0x00000000, 0x80000000, 0x7f800000, 0xff800000,
                                           0x7fc00000, 0xffc00000, 0x7fa00001, 0x7f800001,
                                           0x00000001, 0x807fffff, 0x3f800000, 0x7f7fffff};
  static constexpr uint64_t kF64Edges[] = {0,
                                           0x8000000000000000,
                                           0x7ff0000000000000,
                                           0xfff0000000000000,
                                           0x7ff8000000000000,
                                           0x7ff4000000000001,
                                           0x0000000000000001,
                                           0x3ff0000000000000,
                                           0x7fefffffffffffff};
  static constexpr uint8_t kByteEdges[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe};
  static constexpr uint64_t kIntEdges[] = {0,
                                           1,
                                           0x7f,
                                           0x80,
                                           0x7fff,
                                           0x8000,
                                           0xffff,
                                           0x7fffffff,
                                           0x80000000,
                                           0xffffffff,
                                           0x7fffffffffffffff,
                                           0x8000000000000000,
                                           ~0ull};
  std::mt19937_64 rng_{20261124};
};

std::string hex(const V128& v) {
  char buf[40];
  uint64_t lo, hi;
  std::memcpy(&lo, v.bytes, 8);
  std::memcpy(&hi, v.bytes + 8, 8);
  std::snprintf(buf, sizeof buf, "0x%016llx%016llx", (unsigned long long)hi,
                (unsigned long long)lo);
  return buf;
}

// Spec 4.3.3 (NaN propagation): where a result lane is NaN, its payload is not fixed. It must
// be the canonical NaN if every NaN operand of the lane is canonical, and an arithmetic (quiet)
// NaN otherwise. Other lanes must match exactly.
template <typename Bits>
bool float_lanes_agree(const V128& a, const V128& b, const V128& actual, const V128& expected) {
  constexpr int kLanes = 16 / sizeof(Bits);
  constexpr Bits kExponent = sizeof(Bits) == 4 ? 0x7f800000u : 0x7ff0000000000000ull;
  constexpr Bits kQuiet = sizeof(Bits) == 4 ? 0x00400000u : 0x0008000000000000ull;
  constexpr Bits kSign = Bits{1} << (sizeof(Bits) * 8 - 1);
  auto is_nan = [&](Bits x) {
    return (x & kExponent) == kExponent && (x & ~(kExponent | kSign)) != 0;
  };
  auto is_canonical = [&](Bits x) { return (x & ~kSign) == (kExponent | kQuiet); };
  for (int i = 0; i < kLanes; ++i) {
    Bits x = simd::lane<Bits>(a, i), y = simd::lane<Bits>(b, i);
    Bits got = simd::lane<Bits>(actual, i), want = simd::lane<Bits>(expected, i);
    if (!is_nan(want)) {
      if (got != want) return false;
      continue;
    }
    if (!is_nan(got) || !(got & kQuiet)) return false;
    const bool all_canonical = (!is_nan(x) || is_canonical(x)) && (!is_nan(y) || is_canonical(y));
    if (all_canonical && !is_canonical(got)) return false;
  }
  return true;
}

#define KILN_CHECK_FLOAT_HOST_AGAINST_PORTABLE(Bits, name, portable)                            \
  TEST(SimdHostMatchesPortable, name) {                                                         \
    VectorSource source;                                                                        \
    for (int i = 0; i < 20000; ++i) {                                                           \
      const V128 a = source.next(), b = source.next();                                          \
      const V128 expected = portable;                                                           \
      const V128 actual = simd_host::name(a, b);                                                \
      ASSERT_TRUE(float_lanes_agree<Bits>(a, b, actual, expected))                              \
          << #name << "(" << hex(a) << ", " << hex(b) << ") = " << hex(actual) << ", portable " \
          << hex(expected);                                                                     \
    }                                                                                           \
  }
#define KILN_CHECK_F32(name, host, portable) \
  KILN_CHECK_FLOAT_HOST_AGAINST_PORTABLE(uint32_t, name, portable)
#define KILN_CHECK_F64(name, host, portable) \
  KILN_CHECK_FLOAT_HOST_AGAINST_PORTABLE(uint64_t, name, portable)

#define KILN_CHECK_HOST_AGAINST_PORTABLE(name, host, portable)                                  \
  TEST(SimdHostMatchesPortable, name) {                                                         \
    VectorSource source;                                                                        \
    for (int i = 0; i < 20000; ++i) {                                                           \
      const V128 a = source.next(), b = source.next();                                          \
      const V128 expected = portable;                                                           \
      const V128 actual = simd_host::name(a, b);                                                \
      ASSERT_EQ(hex(actual), hex(expected)) << #name << "(" << hex(a) << ", " << hex(b) << ")"; \
    }                                                                                           \
  }
KILN_SIMD_HOST_INT_BINARY_OPS(KILN_CHECK_HOST_AGAINST_PORTABLE)
KILN_SIMD_HOST_F32_BINARY_OPS(KILN_CHECK_F32)
KILN_SIMD_HOST_F64_BINARY_OPS(KILN_CHECK_F64)
KILN_SIMD_HOST_F32_COMPARE_OPS(KILN_CHECK_HOST_AGAINST_PORTABLE)
KILN_SIMD_HOST_F64_COMPARE_OPS(KILN_CHECK_HOST_AGAINST_PORTABLE)

TEST(SimdHost, UsesSse2OnX86_64) {
#if defined(__x86_64__)
#if !KILN_SIMD_HOST_SSE2
  FAIL() << "an x86-64 build must compile the SSE2 host operators";
#endif
#else
  GTEST_SKIP() << "no host-SIMD operators for this architecture yet; the portable code is used";
#endif
}

}  // namespace
}  // namespace kiln
