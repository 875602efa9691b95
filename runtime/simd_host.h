// Host-SIMD versions of common vector operators. On x86-64, SSE2 is part of the baseline ABI,
// so these always use it there; elsewhere (and for operators not listed) the portable lane
// code of simd.h is used. Each row names the portable expression the host version must equal
// bit for bit; tests/simd_test.cpp checks that on random and edge-case inputs.
// (An ARM64 NEON column belongs here when the ARM64 build exists.)
#pragma once

#include "runtime/simd.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define KILN_SIMD_HOST_SSE2 1
#endif

namespace kiln::simd_host {

// X(name, SSE2 expression over __m128i/__m128/__m128d `x` and `y`, portable expression over
// V128 `a` and `b`). The SSE2 expression's operand kind is given by the list it is in.
#define KILN_SIMD_HOST_INT_BINARY_OPS(X)                                     \
  X(i8x16_add, _mm_add_epi8(x, y), simd::add<uint8_t>(a, b))                 \
  X(i16x8_add, _mm_add_epi16(x, y), simd::add<uint16_t>(a, b))               \
  X(i32x4_add, _mm_add_epi32(x, y), simd::add<uint32_t>(a, b))               \
  X(i64x2_add, _mm_add_epi64(x, y), simd::add<uint64_t>(a, b))               \
  X(i8x16_sub, _mm_sub_epi8(x, y), simd::sub<uint8_t>(a, b))                 \
  X(i16x8_sub, _mm_sub_epi16(x, y), simd::sub<uint16_t>(a, b))               \
  X(i32x4_sub, _mm_sub_epi32(x, y), simd::sub<uint32_t>(a, b))               \
  X(i64x2_sub, _mm_sub_epi64(x, y), simd::sub<uint64_t>(a, b))               \
  X(i16x8_mul, _mm_mullo_epi16(x, y), simd::mul<uint16_t>(a, b))             \
  X(i8x16_add_sat_s, _mm_adds_epi8(x, y), simd::add_sat<int8_t>(a, b))       \
  X(i8x16_add_sat_u, _mm_adds_epu8(x, y), simd::add_sat<uint8_t>(a, b))      \
  X(i16x8_add_sat_s, _mm_adds_epi16(x, y), simd::add_sat<int16_t>(a, b))     \
  X(i16x8_add_sat_u, _mm_adds_epu16(x, y), simd::add_sat<uint16_t>(a, b))    \
  X(i8x16_sub_sat_s, _mm_subs_epi8(x, y), simd::sub_sat<int8_t>(a, b))       \
  X(i8x16_sub_sat_u, _mm_subs_epu8(x, y), simd::sub_sat<uint8_t>(a, b))      \
  X(i16x8_sub_sat_s, _mm_subs_epi16(x, y), simd::sub_sat<int16_t>(a, b))     \
  X(i16x8_sub_sat_u, _mm_subs_epu16(x, y), simd::sub_sat<uint16_t>(a, b))    \
  X(i8x16_min_u, _mm_min_epu8(x, y), simd::min<uint8_t>(a, b))               \
  X(i8x16_max_u, _mm_max_epu8(x, y), simd::max<uint8_t>(a, b))               \
  X(i16x8_min_s, _mm_min_epi16(x, y), simd::min<int16_t>(a, b))              \
  X(i16x8_max_s, _mm_max_epi16(x, y), simd::max<int16_t>(a, b))              \
  X(i8x16_avgr_u, _mm_avg_epu8(x, y), simd::avgr_u<uint8_t>(a, b))           \
  X(i16x8_avgr_u, _mm_avg_epu16(x, y), simd::avgr_u<uint16_t>(a, b))         \
  X(i8x16_eq, _mm_cmpeq_epi8(x, y), KILN_SIMD_COMPARE(uint8_t, ==))          \
  X(i16x8_eq, _mm_cmpeq_epi16(x, y), KILN_SIMD_COMPARE(uint16_t, ==))        \
  X(i32x4_eq, _mm_cmpeq_epi32(x, y), KILN_SIMD_COMPARE(uint32_t, ==))        \
  X(i8x16_gt_s, _mm_cmpgt_epi8(x, y), KILN_SIMD_COMPARE(int8_t, >))          \
  X(i16x8_gt_s, _mm_cmpgt_epi16(x, y), KILN_SIMD_COMPARE(int16_t, >))        \
  X(i32x4_gt_s, _mm_cmpgt_epi32(x, y), KILN_SIMD_COMPARE(int32_t, >))        \
  X(i8x16_lt_s, _mm_cmplt_epi8(x, y), KILN_SIMD_COMPARE(int8_t, <))          \
  X(i16x8_lt_s, _mm_cmplt_epi16(x, y), KILN_SIMD_COMPARE(int16_t, <))        \
  X(i32x4_lt_s, _mm_cmplt_epi32(x, y), KILN_SIMD_COMPARE(int32_t, <))        \
  X(v128_and, _mm_and_si128(x, y),                                           \
    simd::map<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return p & q; })) \
  X(v128_or, _mm_or_si128(x, y),                                             \
    simd::map<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return p | q; })) \
  X(v128_xor, _mm_xor_si128(x, y),                                           \
    simd::map<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return p ^ q; })) \
  X(v128_andnot, _mm_andnot_si128(y, x),                                     \
    simd::map<uint64_t>(a, b, [](uint64_t p, uint64_t q) { return p & ~q; }))

// Float lanes: SSE2 arithmetic is IEEE per lane. With two NaN operands it may return the other
// operand's payload than the portable code does; spec 4.3.3 allows either (the test checks
// the rule, not the bits, for NaN results). Comparisons give the same all-ones masks, `ne`
// being true for unordered operands (_mm_cmpneq) exactly as Wasm's.
#define KILN_SIMD_HOST_F32_BINARY_OPS(X)                        \
  X(f32x4_add, _mm_add_ps(x, y), KILN_SIMD_FLOAT(float, x + y)) \
  X(f32x4_sub, _mm_sub_ps(x, y), KILN_SIMD_FLOAT(float, x - y)) \
  X(f32x4_mul, _mm_mul_ps(x, y), KILN_SIMD_FLOAT(float, x* y))  \
  X(f32x4_div, _mm_div_ps(x, y), KILN_SIMD_FLOAT(float, x / y))
#define KILN_SIMD_HOST_F32_COMPARE_OPS(X)                        \
  X(f32x4_eq, _mm_cmpeq_ps(x, y), KILN_SIMD_COMPARE(float, ==))  \
  X(f32x4_ne, _mm_cmpneq_ps(x, y), KILN_SIMD_COMPARE(float, !=)) \
  X(f32x4_lt, _mm_cmplt_ps(x, y), KILN_SIMD_COMPARE(float, <))   \
  X(f32x4_le, _mm_cmple_ps(x, y), KILN_SIMD_COMPARE(float, <=))  \
  X(f32x4_gt, _mm_cmpgt_ps(x, y), KILN_SIMD_COMPARE(float, >))   \
  X(f32x4_ge, _mm_cmpge_ps(x, y), KILN_SIMD_COMPARE(float, >=))
#define KILN_SIMD_HOST_F64_BINARY_OPS(X)                         \
  X(f64x2_add, _mm_add_pd(x, y), KILN_SIMD_FLOAT(double, x + y)) \
  X(f64x2_sub, _mm_sub_pd(x, y), KILN_SIMD_FLOAT(double, x - y)) \
  X(f64x2_mul, _mm_mul_pd(x, y), KILN_SIMD_FLOAT(double, x* y))  \
  X(f64x2_div, _mm_div_pd(x, y), KILN_SIMD_FLOAT(double, x / y))
#define KILN_SIMD_HOST_F64_COMPARE_OPS(X)                         \
  X(f64x2_eq, _mm_cmpeq_pd(x, y), KILN_SIMD_COMPARE(double, ==))  \
  X(f64x2_ne, _mm_cmpneq_pd(x, y), KILN_SIMD_COMPARE(double, !=)) \
  X(f64x2_lt, _mm_cmplt_pd(x, y), KILN_SIMD_COMPARE(double, <))   \
  X(f64x2_le, _mm_cmple_pd(x, y), KILN_SIMD_COMPARE(double, <=))  \
  X(f64x2_gt, _mm_cmpgt_pd(x, y), KILN_SIMD_COMPARE(double, >))   \
  X(f64x2_ge, _mm_cmpge_pd(x, y), KILN_SIMD_COMPARE(double, >=))

#if KILN_SIMD_HOST_SSE2
inline __m128i to_int(V128 v) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(v.bytes));
}
inline __m128 to_f32(V128 v) {
  return _mm_castsi128_ps(to_int(v));
}
inline __m128d to_f64(V128 v) {
  return _mm_castsi128_pd(to_int(v));
}
inline V128 from(__m128i x) {
  V128 r;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(r.bytes), x);
  return r;
}
inline V128 from(__m128 x) {
  return from(_mm_castps_si128(x));
}
inline V128 from(__m128d x) {
  return from(_mm_castpd_si128(x));
}
#define KILN_HOST_DEFINE(name, host, portable, convert) \
  inline V128 name(V128 a, V128 b) {                    \
    auto x = convert(a);                                \
    auto y = convert(b);                                \
    return from(host);                                  \
  }
#define KILN_HOST_INT(name, host, portable) KILN_HOST_DEFINE(name, host, portable, to_int)
#define KILN_HOST_F32(name, host, portable) KILN_HOST_DEFINE(name, host, portable, to_f32)
#define KILN_HOST_F64(name, host, portable) KILN_HOST_DEFINE(name, host, portable, to_f64)
#else
#define KILN_HOST_PORTABLE(name, host, portable) \
  inline V128 name(V128 a, V128 b) {             \
    return portable;                             \
  }
#define KILN_HOST_INT KILN_HOST_PORTABLE
#define KILN_HOST_F32 KILN_HOST_PORTABLE
#define KILN_HOST_F64 KILN_HOST_PORTABLE
#endif

KILN_SIMD_HOST_INT_BINARY_OPS(KILN_HOST_INT)
KILN_SIMD_HOST_F32_BINARY_OPS(KILN_HOST_F32)
KILN_SIMD_HOST_F32_COMPARE_OPS(KILN_HOST_F32)
KILN_SIMD_HOST_F64_BINARY_OPS(KILN_HOST_F64)
KILN_SIMD_HOST_F64_COMPARE_OPS(KILN_HOST_F64)

}  // namespace kiln::simd_host
