// Portable semantics of the 128-bit vector operators (spec 4.3.4, 4.4.3), lane by lane.
// These always exist; host-SIMD versions (simd_x86.h) must agree with them bit for bit, which
// tests/simd_test.cpp checks on random inputs.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "runtime/numeric.h"

namespace kiln {

struct V128 {
  uint8_t bytes[16];
  bool operator==(const V128& other) const { return std::memcmp(bytes, other.bytes, 16) == 0; }
};
static_assert(sizeof(V128) == 16);

namespace simd {

template <typename L>
constexpr int kLanes = 16 / sizeof(L);

template <typename L>
inline L lane(const V128& v, int i) {
  L x;
  std::memcpy(&x, v.bytes + i * sizeof(L), sizeof(L));
  return x;
}
template <typename L>
inline void set_lane(V128& v, int i, L x) {
  std::memcpy(v.bytes + i * sizeof(L), &x, sizeof(L));
}

template <typename L, typename F>
inline V128 map(V128 a, F f) {
  V128 r;
  for (int i = 0; i < kLanes<L>; ++i) set_lane<L>(r, i, static_cast<L>(f(lane<L>(a, i))));
  return r;
}
template <typename L, typename F>
inline V128 map(V128 a, V128 b, F f) {
  V128 r;
  for (int i = 0; i < kLanes<L>; ++i) {
    set_lane<L>(r, i, static_cast<L>(f(lane<L>(a, i), lane<L>(b, i))));
  }
  return r;
}
// Comparisons give all ones or all zeros per lane.
template <typename L, typename F>
inline V128 compare(V128 a, V128 b, F f) {
  using Bits = std::conditional_t<
      sizeof(L) == 1, uint8_t,
      std::conditional_t<sizeof(L) == 2, uint16_t,
                         std::conditional_t<sizeof(L) == 4, uint32_t, uint64_t>>>;
  V128 r;
  for (int i = 0; i < kLanes<L>; ++i) {
    set_lane<Bits>(r, i, f(lane<L>(a, i), lane<L>(b, i)) ? static_cast<Bits>(~Bits{0}) : Bits{0});
  }
  return r;
}

// Lane-wise comparison and float arithmetic over operands named `a` and `b` (used in the
// operator tables of simd_ops.h and simd_host.h).
#define KILN_SIMD_COMPARE(L, op) (simd::compare<L>(a, b, [](L x, L y) { return x op y; }))
#define KILN_SIMD_FLOAT(F, expr) (simd::map<F>(a, b, [](F x, F y) { return expr; }))

template <typename L>
inline V128 splat(L x) {
  V128 r;
  for (int i = 0; i < kLanes<L>; ++i) set_lane<L>(r, i, x);
  return r;
}

inline V128 bitwise_not(V128 a) {
  return map<uint64_t>(a, [](uint64_t x) { return ~x; });
}
inline V128 bitselect(V128 a, V128 b, V128 mask) {
  V128 r;
  for (int i = 0; i < 2; ++i) {
    uint64_t m = lane<uint64_t>(mask, i);
    set_lane<uint64_t>(r, i, (lane<uint64_t>(a, i) & m) | (lane<uint64_t>(b, i) & ~m));
  }
  return r;
}
inline uint32_t any_true(V128 a) {
  return (lane<uint64_t>(a, 0) | lane<uint64_t>(a, 1)) != 0;
}

template <typename L>
inline uint32_t all_true(V128 a) {
  for (int i = 0; i < kLanes<L>; ++i) {
    if (lane<L>(a, i) == 0) return 0;
  }
  return 1;
}
template <typename L>
inline uint32_t bitmask(V128 a) {
  using S = std::make_signed_t<L>;
  uint32_t mask = 0;
  for (int i = 0; i < kLanes<L>; ++i) mask |= uint32_t{static_cast<S>(lane<L>(a, i)) < 0} << i;
  return mask;
}

// Shifts take the count modulo the lane width (spec 4.3.2 ishl etc.).
template <typename L>
inline V128 shl(V128 a, uint32_t n) {
  n &= sizeof(L) * 8 - 1;
  return map<L>(a, [n](L x) { return static_cast<L>(x << n); });
}
template <typename L>
inline V128 shr_s(V128 a, uint32_t n) {
  using S = std::make_signed_t<L>;
  n &= sizeof(L) * 8 - 1;
  return map<L>(a, [n](L x) { return static_cast<L>(static_cast<S>(x) >> n); });
}
template <typename L>
inline V128 shr_u(V128 a, uint32_t n) {
  n &= sizeof(L) * 8 - 1;
  return map<L>(a, [n](L x) { return static_cast<L>(x >> n); });
}

// Integer lane arithmetic wraps; L is the unsigned lane type.
template <typename L>
inline V128 add(V128 a, V128 b) {
  return map<L>(a, b, [](L x, L y) { return static_cast<L>(x + y); });
}
template <typename L>
inline V128 sub(V128 a, V128 b) {
  return map<L>(a, b, [](L x, L y) { return static_cast<L>(x - y); });
}
// Unsigned lanes narrower than int promote to (signed) int in arithmetic, where a product can
// overflow: multiply in an unsigned type at least as wide as int instead.
template <typename L>
using WideUnsigned = std::conditional_t<(sizeof(L) < 4), uint32_t, std::make_unsigned_t<L>>;

template <typename L>
inline V128 mul(V128 a, V128 b) {
  using W = WideUnsigned<L>;
  return map<L>(a, b, [](L x, L y) { return static_cast<L>(W{x} * W{y}); });
}
template <typename L>
inline V128 neg(V128 a) {
  return map<L>(a, [](L x) { return static_cast<L>(L{0} - x); });
}
template <typename L>
inline V128 abs(V128 a) {
  using S = std::make_signed_t<L>;
  return map<L>(a, [](L x) { return static_cast<S>(x) < 0 ? static_cast<L>(L{0} - x) : x; });
}
inline V128 popcnt(V128 a) {
  return map<uint8_t>(a, [](uint8_t x) { return static_cast<uint8_t>(std::popcount(x)); });
}
template <typename T>  // T: the signed or unsigned lane type to compare as
inline V128 min(V128 a, V128 b) {
  return map<T>(a, b, [](T x, T y) { return std::min(x, y); });
}
template <typename T>
inline V128 max(V128 a, V128 b) {
  return map<T>(a, b, [](T x, T y) { return std::max(x, y); });
}
template <typename L>
inline V128 avgr_u(V128 a, V128 b) {
  return map<L>(a, b, [](L x, L y) { return static_cast<L>((uint32_t{x} + uint32_t{y} + 1) / 2); });
}
template <typename T>  // saturating add/sub in the lane type T (signed or unsigned)
inline T saturate(int32_t v) {
  return static_cast<T>(
      std::clamp<int32_t>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}
template <typename T>
inline V128 add_sat(V128 a, V128 b) {
  return map<T>(a, b, [](T x, T y) { return saturate<T>(int32_t{x} + int32_t{y}); });
}
template <typename T>
inline V128 sub_sat(V128 a, V128 b) {
  return map<T>(a, b, [](T x, T y) { return saturate<T>(int32_t{x} - int32_t{y}); });
}
inline V128 q15mulr_sat_s(V128 a, V128 b) {
  return map<int16_t>(a, b, [](int16_t x, int16_t y) {
    return saturate<int16_t>((int32_t{x} * int32_t{y} + 0x4000) >> 15);
  });
}

// Narrowing: signed inputs saturate to the narrower signed (S) or unsigned (U) lane type.
template <typename Wide, typename Narrow>
inline V128 narrow(V128 a, V128 b) {
  constexpr int n = kLanes<Wide>;
  V128 r;
  for (int i = 0; i < n; ++i) {
    set_lane<Narrow>(r, i, saturate<Narrow>(lane<Wide>(a, i)));
    set_lane<Narrow>(r, i + n, saturate<Narrow>(lane<Wide>(b, i)));
  }
  return r;
}
// Widening of the low or high half: From is the (signed or unsigned) narrow type.
template <typename From, typename To>
inline V128 extend(V128 a, bool high) {
  V128 r;
  const int base = high ? kLanes<To> : 0;
  for (int i = 0; i < kLanes<To>; ++i) set_lane<To>(r, i, static_cast<To>(lane<From>(a, base + i)));
  return r;
}
template <typename From, typename To>
inline V128 extmul(V128 a, V128 b, bool high) {
  V128 r;
  const int base = high ? kLanes<To> : 0;
  for (int i = 0; i < kLanes<To>; ++i) {
    To x = static_cast<To>(lane<From>(a, base + i)), y = static_cast<To>(lane<From>(b, base + i));
    using W = WideUnsigned<To>;
    set_lane<To>(r, i, static_cast<To>(static_cast<W>(x) * static_cast<W>(y)));
  }
  return r;
}
template <typename From, typename To>
inline V128 extadd_pairwise(V128 a) {
  V128 r;
  for (int i = 0; i < kLanes<To>; ++i) {
    set_lane<To>(r, i, static_cast<To>(To{lane<From>(a, 2 * i)} + To{lane<From>(a, 2 * i + 1)}));
  }
  return r;
}
inline V128 dot_i16x8_s(V128 a, V128 b) {
  V128 r;
  for (int i = 0; i < 4; ++i) {
    int32_t p0 = int32_t{lane<int16_t>(a, 2 * i)} * lane<int16_t>(b, 2 * i);
    int32_t p1 = int32_t{lane<int16_t>(a, 2 * i + 1)} * lane<int16_t>(b, 2 * i + 1);
    set_lane<uint32_t>(r, i, static_cast<uint32_t>(p0) + static_cast<uint32_t>(p1));  // wraps
  }
  return r;
}

inline V128 swizzle(V128 a, V128 indices) {
  V128 r;
  for (int i = 0; i < 16; ++i) r.bytes[i] = indices.bytes[i] < 16 ? a.bytes[indices.bytes[i]] : 0;
  return r;
}
inline V128 shuffle(V128 a, V128 b, const uint8_t* lanes) {
  V128 r;
  for (int i = 0; i < 16; ++i)
    r.bytes[i] = lanes[i] < 16 ? a.bytes[lanes[i]] : b.bytes[lanes[i] - 16];
  return r;
}

// Float lanes: the scalar operators of numeric.h applied per lane.
template <typename F, typename Op>
inline V128 fmap(V128 a, Op op) {
  return map<F>(a, op);
}
template <typename F>
inline V128 pmin(V128 a, V128 b) {
  return map<F>(a, b, [](F x, F y) { return y < x ? y : x; });
}
template <typename F>
inline V128 pmax(V128 a, V128 b) {
  return map<F>(a, b, [](F x, F y) { return x < y ? y : x; });
}

template <typename From, typename To>
inline V128 convert(V128 a) {  // lane count preserved, or the low half of `a` (convert_low)
  V128 r;
  for (int i = 0; i < kLanes<To>; ++i) set_lane<To>(r, i, static_cast<To>(lane<From>(a, i)));
  return r;
}
// The two lanes of an f64x2 into the low lanes of an i32x4 or f32x4; the high lanes are zero.
template <typename To, typename Op>
inline V128 narrow_f64x2_zero(V128 a, Op op) {
  V128 r{};
  for (int i = 0; i < 2; ++i) set_lane<To>(r, i, op(lane<double>(a, i)));
  return r;
}
template <typename To>
inline V128 trunc_sat_f32x4(V128 a) {
  V128 r;
  for (int i = 0; i < 4; ++i) set_lane<To>(r, i, trunc_sat<To>(lane<float>(a, i)));
  return r;
}

// Loads: `p` points at the bytes in linear memory (bounds already checked).
template <typename From, typename To>
inline V128 load_extend(const uint8_t* p) {
  V128 r;
  for (int i = 0; i < kLanes<To>; ++i) {
    From x;
    std::memcpy(&x, p + i * sizeof(From), sizeof(From));
    set_lane<To>(r, i, static_cast<To>(x));
  }
  return r;
}
template <typename L>
inline V128 load_splat(const uint8_t* p) {
  L x;
  std::memcpy(&x, p, sizeof x);
  return splat<L>(x);
}
template <typename L>
inline V128 load_zero(const uint8_t* p) {
  V128 r{};
  std::memcpy(r.bytes, p, sizeof(L));
  return r;
}
inline V128 load(const uint8_t* p) {
  V128 r;
  std::memcpy(r.bytes, p, 16);
  return r;
}

}  // namespace simd
}  // namespace kiln
