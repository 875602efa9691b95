// The 0xFD-prefixed (SIMD) operators of Wasm 2.0, in the shapes of opcodes.h: each row gives
// name, encoding, result and operand types, and semantics (runtime/simd.h), so the validator,
// the translator and the interpreter are generated from one list.
#pragma once

#include "runtime/opcodes.h"
#include "runtime/simd.h"
#include "runtime/simd_host.h"

namespace kiln {

using v128 = V128;
constexpr uint32_t simd_opcode(uint32_t sub) {
  return prefixed(kPrefixFD, sub);
}

// X(name, opcode, result, operand, expression over `a`)
#define KILN_SIMD_UNARY_OPS(X)                                                                     \
  X(i8x16_splat, simd_opcode(0x0f), v128, i32, simd::splat<uint8_t>(static_cast<uint8_t>(a)))      \
  X(i16x8_splat, simd_opcode(0x10), v128, i32, simd::splat<uint16_t>(static_cast<uint16_t>(a)))    \
  X(i32x4_splat, simd_opcode(0x11), v128, i32, simd::splat<uint32_t>(a))                           \
  X(i64x2_splat, simd_opcode(0x12), v128, i64, simd::splat<uint64_t>(a))                           \
  X(f32x4_splat, simd_opcode(0x13), v128, f32, simd::splat<float>(a))                              \
  X(f64x2_splat, simd_opcode(0x14), v128, f64, simd::splat<double>(a))                             \
  X(v128_not, simd_opcode(0x4d), v128, v128, simd::bitwise_not(a))                                 \
  X(v128_any_true, simd_opcode(0x53), i32, v128, simd::any_true(a))                                \
  X(f32x4_demote_f64x2_zero, simd_opcode(0x5e), v128, v128,                                        \
    (simd::narrow_f64x2_zero<float>(a, [](double x) { return static_cast<float>(x); })))           \
  X(f64x2_promote_low_f32x4, simd_opcode(0x5f), v128, v128, (simd::convert<float, double>(a)))     \
  X(i8x16_abs, simd_opcode(0x60), v128, v128, simd::abs<uint8_t>(a))                               \
  X(i8x16_neg, simd_opcode(0x61), v128, v128, simd::neg<uint8_t>(a))                               \
  X(i8x16_popcnt, simd_opcode(0x62), v128, v128, simd::popcnt(a))                                  \
  X(i8x16_all_true, simd_opcode(0x63), i32, v128, simd::all_true<uint8_t>(a))                      \
  X(i8x16_bitmask, simd_opcode(0x64), i32, v128, simd::bitmask<uint8_t>(a))                        \
  X(f32x4_ceil, simd_opcode(0x67), v128, v128, simd::map<float>(a, float_ceil<float>))             \
  X(f32x4_floor, simd_opcode(0x68), v128, v128, simd::map<float>(a, float_floor<float>))           \
  X(f32x4_trunc, simd_opcode(0x69), v128, v128, simd::map<float>(a, float_trunc<float>))           \
  X(f32x4_nearest, simd_opcode(0x6a), v128, v128, simd::map<float>(a, float_nearest<float>))       \
  X(f64x2_ceil, simd_opcode(0x74), v128, v128, simd::map<double>(a, float_ceil<double>))           \
  X(f64x2_floor, simd_opcode(0x75), v128, v128, simd::map<double>(a, float_floor<double>))         \
  X(f64x2_trunc, simd_opcode(0x7a), v128, v128, simd::map<double>(a, float_trunc<double>))         \
  X(i16x8_extadd_pairwise_i8x16_s, simd_opcode(0x7c), v128, v128,                                  \
    (simd::extadd_pairwise<int8_t, int16_t>(a)))                                                   \
  X(i16x8_extadd_pairwise_i8x16_u, simd_opcode(0x7d), v128, v128,                                  \
    (simd::extadd_pairwise<uint8_t, uint16_t>(a)))                                                 \
  X(i32x4_extadd_pairwise_i16x8_s, simd_opcode(0x7e), v128, v128,                                  \
    (simd::extadd_pairwise<int16_t, int32_t>(a)))                                                  \
  X(i32x4_extadd_pairwise_i16x8_u, simd_opcode(0x7f), v128, v128,                                  \
    (simd::extadd_pairwise<uint16_t, uint32_t>(a)))                                                \
  X(i16x8_abs, simd_opcode(0x80), v128, v128, simd::abs<uint16_t>(a))                              \
  X(i16x8_neg, simd_opcode(0x81), v128, v128, simd::neg<uint16_t>(a))                              \
  X(i16x8_all_true, simd_opcode(0x83), i32, v128, simd::all_true<uint16_t>(a))                     \
  X(i16x8_bitmask, simd_opcode(0x84), i32, v128, simd::bitmask<uint16_t>(a))                       \
  X(i16x8_extend_low_i8x16_s, simd_opcode(0x87), v128, v128,                                       \
    (simd::extend<int8_t, int16_t>(a, false)))                                                     \
  X(i16x8_extend_high_i8x16_s, simd_opcode(0x88), v128, v128,                                      \
    (simd::extend<int8_t, int16_t>(a, true)))                                                      \
  X(i16x8_extend_low_i8x16_u, simd_opcode(0x89), v128, v128,                                       \
    (simd::extend<uint8_t, uint16_t>(a, false)))                                                   \
  X(i16x8_extend_high_i8x16_u, simd_opcode(0x8a), v128, v128,                                      \
    (simd::extend<uint8_t, uint16_t>(a, true)))                                                    \
  X(f64x2_nearest, simd_opcode(0x94), v128, v128, simd::map<double>(a, float_nearest<double>))     \
  X(i32x4_abs, simd_opcode(0xa0), v128, v128, simd::abs<uint32_t>(a))                              \
  X(i32x4_neg, simd_opcode(0xa1), v128, v128, simd::neg<uint32_t>(a))                              \
  X(i32x4_all_true, simd_opcode(0xa3), i32, v128, simd::all_true<uint32_t>(a))                     \
  X(i32x4_bitmask, simd_opcode(0xa4), i32, v128, simd::bitmask<uint32_t>(a))                       \
  X(i32x4_extend_low_i16x8_s, simd_opcode(0xa7), v128, v128,                                       \
    (simd::extend<int16_t, int32_t>(a, false)))                                                    \
  X(i32x4_extend_high_i16x8_s, simd_opcode(0xa8), v128, v128,                                      \
    (simd::extend<int16_t, int32_t>(a, true)))                                                     \
  X(i32x4_extend_low_i16x8_u, simd_opcode(0xa9), v128, v128,                                       \
    (simd::extend<uint16_t, uint32_t>(a, false)))                                                  \
  X(i32x4_extend_high_i16x8_u, simd_opcode(0xaa), v128, v128,                                      \
    (simd::extend<uint16_t, uint32_t>(a, true)))                                                   \
  X(i64x2_abs, simd_opcode(0xc0), v128, v128, simd::abs<uint64_t>(a))                              \
  X(i64x2_neg, simd_opcode(0xc1), v128, v128, simd::neg<uint64_t>(a))                              \
  X(i64x2_all_true, simd_opcode(0xc3), i32, v128, simd::all_true<uint64_t>(a))                     \
  X(i64x2_bitmask, simd_opcode(0xc4), i32, v128, simd::bitmask<uint64_t>(a))                       \
  X(i64x2_extend_low_i32x4_s, simd_opcode(0xc7), v128, v128,                                       \
    (simd::extend<int32_t, int64_t>(a, false)))                                                    \
  X(i64x2_extend_high_i32x4_s, simd_opcode(0xc8), v128, v128,                                      \
    (simd::extend<int32_t, int64_t>(a, true)))                                                     \
  X(i64x2_extend_low_i32x4_u, simd_opcode(0xc9), v128, v128,                                       \
    (simd::extend<uint32_t, uint64_t>(a, false)))                                                  \
  X(i64x2_extend_high_i32x4_u, simd_opcode(0xca), v128, v128,                                      \
    (simd::extend<uint32_t, uint64_t>(a, true)))                                                   \
  X(f32x4_abs, simd_opcode(0xe0), v128, v128, simd::map<float>(a, float_abs<float>))               \
  X(f32x4_neg, simd_opcode(0xe1), v128, v128, simd::map<float>(a, float_neg<float>))               \
  X(f32x4_sqrt, simd_opcode(0xe3), v128, v128,                                                     \
    simd::map<float>(a, [](float x) { return std::sqrt(x); }))                                     \
  X(f64x2_abs, simd_opcode(0xec), v128, v128, simd::map<double>(a, float_abs<double>))             \
  X(f64x2_neg, simd_opcode(0xed), v128, v128, simd::map<double>(a, float_neg<double>))             \
  X(f64x2_sqrt, simd_opcode(0xef), v128, v128,                                                     \
    simd::map<double>(a, [](double x) { return std::sqrt(x); }))                                   \
  X(i32x4_trunc_sat_f32x4_s, simd_opcode(0xf8), v128, v128, simd::trunc_sat_f32x4<int32_t>(a))     \
  X(i32x4_trunc_sat_f32x4_u, simd_opcode(0xf9), v128, v128, simd::trunc_sat_f32x4<uint32_t>(a))    \
  X(f32x4_convert_i32x4_s, simd_opcode(0xfa), v128, v128, (simd::convert<int32_t, float>(a)))      \
  X(f32x4_convert_i32x4_u, simd_opcode(0xfb), v128, v128, (simd::convert<uint32_t, float>(a)))     \
  X(i32x4_trunc_sat_f64x2_s_zero, simd_opcode(0xfc), v128, v128,                                   \
    simd::narrow_f64x2_zero<int32_t>(a, trunc_sat<int32_t, double>))                               \
  X(i32x4_trunc_sat_f64x2_u_zero, simd_opcode(0xfd), v128, v128,                                   \
    simd::narrow_f64x2_zero<uint32_t>(a, trunc_sat<uint32_t, double>))                             \
  X(f64x2_convert_low_i32x4_s, simd_opcode(0xfe), v128, v128, (simd::convert<int32_t, double>(a))) \
  X(f64x2_convert_low_i32x4_u, simd_opcode(0xff), v128, v128, (simd::convert<uint32_t, double>(a)))

// X(name, opcode, result, operand, expression over `a` and `b`): both operands are v128.
#define KILN_SIMD_BINARY_OPS(X)                                                                   \
  X(i8x16_swizzle, simd_opcode(0x0e), v128, v128, simd::swizzle(a, b))                            \
  X(i8x16_eq, simd_opcode(0x23), v128, v128, simd_host::i8x16_eq(a, b))                           \
  X(i8x16_ne, simd_opcode(0x24), v128, v128, KILN_SIMD_COMPARE(uint8_t, !=))                      \
  X(i8x16_lt_s, simd_opcode(0x25), v128, v128, simd_host::i8x16_lt_s(a, b))                       \
  X(i8x16_lt_u, simd_opcode(0x26), v128, v128, KILN_SIMD_COMPARE(uint8_t, <))                     \
  X(i8x16_gt_s, simd_opcode(0x27), v128, v128, simd_host::i8x16_gt_s(a, b))                       \
  X(i8x16_gt_u, simd_opcode(0x28), v128, v128, KILN_SIMD_COMPARE(uint8_t, >))                     \
  X(i8x16_le_s, simd_opcode(0x29), v128, v128, KILN_SIMD_COMPARE(int8_t, <=))                     \
  X(i8x16_le_u, simd_opcode(0x2a), v128, v128, KILN_SIMD_COMPARE(uint8_t, <=))                    \
  X(i8x16_ge_s, simd_opcode(0x2b), v128, v128, KILN_SIMD_COMPARE(int8_t, >=))                     \
  X(i8x16_ge_u, simd_opcode(0x2c), v128, v128, KILN_SIMD_COMPARE(uint8_t, >=))                    \
  X(i16x8_eq, simd_opcode(0x2d), v128, v128, simd_host::i16x8_eq(a, b))                           \
  X(i16x8_ne, simd_opcode(0x2e), v128, v128, KILN_SIMD_COMPARE(uint16_t, !=))                     \
  X(i16x8_lt_s, simd_opcode(0x2f), v128, v128, simd_host::i16x8_lt_s(a, b))                       \
  X(i16x8_lt_u, simd_opcode(0x30), v128, v128, KILN_SIMD_COMPARE(uint16_t, <))                    \
  X(i16x8_gt_s, simd_opcode(0x31), v128, v128, simd_host::i16x8_gt_s(a, b))                       \
  X(i16x8_gt_u, simd_opcode(0x32), v128, v128, KILN_SIMD_COMPARE(uint16_t, >))                    \
  X(i16x8_le_s, simd_opcode(0x33), v128, v128, KILN_SIMD_COMPARE(int16_t, <=))                    \
  X(i16x8_le_u, simd_opcode(0x34), v128, v128, KILN_SIMD_COMPARE(uint16_t, <=))                   \
  X(i16x8_ge_s, simd_opcode(0x35), v128, v128, KILN_SIMD_COMPARE(int16_t, >=))                    \
  X(i16x8_ge_u, simd_opcode(0x36), v128, v128, KILN_SIMD_COMPARE(uint16_t, >=))                   \
  X(i32x4_eq, simd_opcode(0x37), v128, v128, simd_host::i32x4_eq(a, b))                           \
  X(i32x4_ne, simd_opcode(0x38), v128, v128, KILN_SIMD_COMPARE(uint32_t, !=))                     \
  X(i32x4_lt_s, simd_opcode(0x39), v128, v128, simd_host::i32x4_lt_s(a, b))                       \
  X(i32x4_lt_u, simd_opcode(0x3a), v128, v128, KILN_SIMD_COMPARE(uint32_t, <))                    \
  X(i32x4_gt_s, simd_opcode(0x3b), v128, v128, simd_host::i32x4_gt_s(a, b))                       \
  X(i32x4_gt_u, simd_opcode(0x3c), v128, v128, KILN_SIMD_COMPARE(uint32_t, >))                    \
  X(i32x4_le_s, simd_opcode(0x3d), v128, v128, KILN_SIMD_COMPARE(int32_t, <=))                    \
  X(i32x4_le_u, simd_opcode(0x3e), v128, v128, KILN_SIMD_COMPARE(uint32_t, <=))                   \
  X(i32x4_ge_s, simd_opcode(0x3f), v128, v128, KILN_SIMD_COMPARE(int32_t, >=))                    \
  X(i32x4_ge_u, simd_opcode(0x40), v128, v128, KILN_SIMD_COMPARE(uint32_t, >=))                   \
  X(f32x4_eq, simd_opcode(0x41), v128, v128, simd_host::f32x4_eq(a, b))                           \
  X(f32x4_ne, simd_opcode(0x42), v128, v128, simd_host::f32x4_ne(a, b))                           \
  X(f32x4_lt, simd_opcode(0x43), v128, v128, simd_host::f32x4_lt(a, b))                           \
  X(f32x4_gt, simd_opcode(0x44), v128, v128, simd_host::f32x4_gt(a, b))                           \
  X(f32x4_le, simd_opcode(0x45), v128, v128, simd_host::f32x4_le(a, b))                           \
  X(f32x4_ge, simd_opcode(0x46), v128, v128, simd_host::f32x4_ge(a, b))                           \
  X(f64x2_eq, simd_opcode(0x47), v128, v128, simd_host::f64x2_eq(a, b))                           \
  X(f64x2_ne, simd_opcode(0x48), v128, v128, simd_host::f64x2_ne(a, b))                           \
  X(f64x2_lt, simd_opcode(0x49), v128, v128, simd_host::f64x2_lt(a, b))                           \
  X(f64x2_gt, simd_opcode(0x4a), v128, v128, simd_host::f64x2_gt(a, b))                           \
  X(f64x2_le, simd_opcode(0x4b), v128, v128, simd_host::f64x2_le(a, b))                           \
  X(f64x2_ge, simd_opcode(0x4c), v128, v128, simd_host::f64x2_ge(a, b))                           \
  X(v128_and, simd_opcode(0x4e), v128, v128, simd_host::v128_and(a, b))                           \
  X(v128_andnot, simd_opcode(0x4f), v128, v128, simd_host::v128_andnot(a, b))                     \
  X(v128_or, simd_opcode(0x50), v128, v128, simd_host::v128_or(a, b))                             \
  X(v128_xor, simd_opcode(0x51), v128, v128, simd_host::v128_xor(a, b))                           \
  X(i8x16_narrow_i16x8_s, simd_opcode(0x65), v128, v128, (simd::narrow<int16_t, int8_t>(a, b)))   \
  X(i8x16_narrow_i16x8_u, simd_opcode(0x66), v128, v128, (simd::narrow<int16_t, uint8_t>(a, b)))  \
  X(i8x16_add, simd_opcode(0x6e), v128, v128, simd_host::i8x16_add(a, b))                         \
  X(i8x16_add_sat_s, simd_opcode(0x6f), v128, v128, simd_host::i8x16_add_sat_s(a, b))             \
  X(i8x16_add_sat_u, simd_opcode(0x70), v128, v128, simd_host::i8x16_add_sat_u(a, b))             \
  X(i8x16_sub, simd_opcode(0x71), v128, v128, simd_host::i8x16_sub(a, b))                         \
  X(i8x16_sub_sat_s, simd_opcode(0x72), v128, v128, simd_host::i8x16_sub_sat_s(a, b))             \
  X(i8x16_sub_sat_u, simd_opcode(0x73), v128, v128, simd_host::i8x16_sub_sat_u(a, b))             \
  X(i8x16_min_s, simd_opcode(0x76), v128, v128, simd::min<int8_t>(a, b))                          \
  X(i8x16_min_u, simd_opcode(0x77), v128, v128, simd_host::i8x16_min_u(a, b))                     \
  X(i8x16_max_s, simd_opcode(0x78), v128, v128, simd::max<int8_t>(a, b))                          \
  X(i8x16_max_u, simd_opcode(0x79), v128, v128, simd_host::i8x16_max_u(a, b))                     \
  X(i8x16_avgr_u, simd_opcode(0x7b), v128, v128, simd_host::i8x16_avgr_u(a, b))                   \
  X(i16x8_q15mulr_sat_s, simd_opcode(0x82), v128, v128, simd::q15mulr_sat_s(a, b))                \
  X(i16x8_narrow_i32x4_s, simd_opcode(0x85), v128, v128, (simd::narrow<int32_t, int16_t>(a, b)))  \
  X(i16x8_narrow_i32x4_u, simd_opcode(0x86), v128, v128, (simd::narrow<int32_t, uint16_t>(a, b))) \
  X(i16x8_add, simd_opcode(0x8e), v128, v128, simd_host::i16x8_add(a, b))                         \
  X(i16x8_add_sat_s, simd_opcode(0x8f), v128, v128, simd_host::i16x8_add_sat_s(a, b))             \
  X(i16x8_add_sat_u, simd_opcode(0x90), v128, v128, simd_host::i16x8_add_sat_u(a, b))             \
  X(i16x8_sub, simd_opcode(0x91), v128, v128, simd_host::i16x8_sub(a, b))                         \
  X(i16x8_sub_sat_s, simd_opcode(0x92), v128, v128, simd_host::i16x8_sub_sat_s(a, b))             \
  X(i16x8_sub_sat_u, simd_opcode(0x93), v128, v128, simd_host::i16x8_sub_sat_u(a, b))             \
  X(i16x8_mul, simd_opcode(0x95), v128, v128, simd_host::i16x8_mul(a, b))                         \
  X(i16x8_min_s, simd_opcode(0x96), v128, v128, simd_host::i16x8_min_s(a, b))                     \
  X(i16x8_min_u, simd_opcode(0x97), v128, v128, simd::min<uint16_t>(a, b))                        \
  X(i16x8_max_s, simd_opcode(0x98), v128, v128, simd_host::i16x8_max_s(a, b))                     \
  X(i16x8_max_u, simd_opcode(0x99), v128, v128, simd::max<uint16_t>(a, b))                        \
  X(i16x8_avgr_u, simd_opcode(0x9b), v128, v128, simd_host::i16x8_avgr_u(a, b))                   \
  X(i16x8_extmul_low_i8x16_s, simd_opcode(0x9c), v128, v128,                                      \
    (simd::extmul<int8_t, int16_t>(a, b, false)))                                                 \
  X(i16x8_extmul_high_i8x16_s, simd_opcode(0x9d), v128, v128,                                     \
    (simd::extmul<int8_t, int16_t>(a, b, true)))                                                  \
  X(i16x8_extmul_low_i8x16_u, simd_opcode(0x9e), v128, v128,                                      \
    (simd::extmul<uint8_t, uint16_t>(a, b, false)))                                               \
  X(i16x8_extmul_high_i8x16_u, simd_opcode(0x9f), v128, v128,                                     \
    (simd::extmul<uint8_t, uint16_t>(a, b, true)))                                                \
  X(i32x4_add, simd_opcode(0xae), v128, v128, simd_host::i32x4_add(a, b))                         \
  X(i32x4_sub, simd_opcode(0xb1), v128, v128, simd_host::i32x4_sub(a, b))                         \
  X(i32x4_mul, simd_opcode(0xb5), v128, v128, simd::mul<uint32_t>(a, b))                          \
  X(i32x4_min_s, simd_opcode(0xb6), v128, v128, simd::min<int32_t>(a, b))                         \
  X(i32x4_min_u, simd_opcode(0xb7), v128, v128, simd::min<uint32_t>(a, b))                        \
  X(i32x4_max_s, simd_opcode(0xb8), v128, v128, simd::max<int32_t>(a, b))                         \
  X(i32x4_max_u, simd_opcode(0xb9), v128, v128, simd::max<uint32_t>(a, b))                        \
  X(i32x4_dot_i16x8_s, simd_opcode(0xba), v128, v128, simd::dot_i16x8_s(a, b))                    \
  X(i32x4_extmul_low_i16x8_s, simd_opcode(0xbc), v128, v128,                                      \
    (simd::extmul<int16_t, int32_t>(a, b, false)))                                                \
  X(i32x4_extmul_high_i16x8_s, simd_opcode(0xbd), v128, v128,                                     \
    (simd::extmul<int16_t, int32_t>(a, b, true)))                                                 \
  X(i32x4_extmul_low_i16x8_u, simd_opcode(0xbe), v128, v128,                                      \
    (simd::extmul<uint16_t, uint32_t>(a, b, false)))                                              \
  X(i32x4_extmul_high_i16x8_u, simd_opcode(0xbf), v128, v128,                                     \
    (simd::extmul<uint16_t, uint32_t>(a, b, true)))                                               \
  X(i64x2_add, simd_opcode(0xce), v128, v128, simd_host::i64x2_add(a, b))                         \
  X(i64x2_sub, simd_opcode(0xd1), v128, v128, simd_host::i64x2_sub(a, b))                         \
  X(i64x2_mul, simd_opcode(0xd5), v128, v128, simd::mul<uint64_t>(a, b))                          \
  X(i64x2_eq, simd_opcode(0xd6), v128, v128, KILN_SIMD_COMPARE(uint64_t, ==))                     \
  X(i64x2_ne, simd_opcode(0xd7), v128, v128, KILN_SIMD_COMPARE(uint64_t, !=))                     \
  X(i64x2_lt_s, simd_opcode(0xd8), v128, v128, KILN_SIMD_COMPARE(int64_t, <))                     \
  X(i64x2_gt_s, simd_opcode(0xd9), v128, v128, KILN_SIMD_COMPARE(int64_t, >))                     \
  X(i64x2_le_s, simd_opcode(0xda), v128, v128, KILN_SIMD_COMPARE(int64_t, <=))                    \
  X(i64x2_ge_s, simd_opcode(0xdb), v128, v128, KILN_SIMD_COMPARE(int64_t, >=))                    \
  X(i64x2_extmul_low_i32x4_s, simd_opcode(0xdc), v128, v128,                                      \
    (simd::extmul<int32_t, int64_t>(a, b, false)))                                                \
  X(i64x2_extmul_high_i32x4_s, simd_opcode(0xdd), v128, v128,                                     \
    (simd::extmul<int32_t, int64_t>(a, b, true)))                                                 \
  X(i64x2_extmul_low_i32x4_u, simd_opcode(0xde), v128, v128,                                      \
    (simd::extmul<uint32_t, uint64_t>(a, b, false)))                                              \
  X(i64x2_extmul_high_i32x4_u, simd_opcode(0xdf), v128, v128,                                     \
    (simd::extmul<uint32_t, uint64_t>(a, b, true)))                                               \
  X(f32x4_add, simd_opcode(0xe4), v128, v128, simd_host::f32x4_add(a, b))                         \
  X(f32x4_sub, simd_opcode(0xe5), v128, v128, simd_host::f32x4_sub(a, b))                         \
  X(f32x4_mul, simd_opcode(0xe6), v128, v128, simd_host::f32x4_mul(a, b))                         \
  X(f32x4_div, simd_opcode(0xe7), v128, v128, simd_host::f32x4_div(a, b))                         \
  X(f32x4_min, simd_opcode(0xe8), v128, v128, KILN_SIMD_FLOAT(float, float_min(x, y)))            \
  X(f32x4_max, simd_opcode(0xe9), v128, v128, KILN_SIMD_FLOAT(float, float_max(x, y)))            \
  X(f32x4_pmin, simd_opcode(0xea), v128, v128, simd::pmin<float>(a, b))                           \
  X(f32x4_pmax, simd_opcode(0xeb), v128, v128, simd::pmax<float>(a, b))                           \
  X(f64x2_add, simd_opcode(0xf0), v128, v128, simd_host::f64x2_add(a, b))                         \
  X(f64x2_sub, simd_opcode(0xf1), v128, v128, simd_host::f64x2_sub(a, b))                         \
  X(f64x2_mul, simd_opcode(0xf2), v128, v128, simd_host::f64x2_mul(a, b))                         \
  X(f64x2_div, simd_opcode(0xf3), v128, v128, simd_host::f64x2_div(a, b))                         \
  X(f64x2_min, simd_opcode(0xf4), v128, v128, KILN_SIMD_FLOAT(double, float_min(x, y)))           \
  X(f64x2_max, simd_opcode(0xf5), v128, v128, KILN_SIMD_FLOAT(double, float_max(x, y)))           \
  X(f64x2_pmin, simd_opcode(0xf6), v128, v128, simd::pmin<double>(a, b))                          \
  X(f64x2_pmax, simd_opcode(0xf7), v128, v128, simd::pmax<double>(a, b))

// Shifts: X(name, opcode, result, operand a, operand b (the count), expression).
#define KILN_SIMD_SHIFT_OPS(X)                                                    \
  X(i8x16_shl, simd_opcode(0x6b), v128, v128, i32, simd::shl<uint8_t>(a, b))      \
  X(i8x16_shr_s, simd_opcode(0x6c), v128, v128, i32, simd::shr_s<uint8_t>(a, b))  \
  X(i8x16_shr_u, simd_opcode(0x6d), v128, v128, i32, simd::shr_u<uint8_t>(a, b))  \
  X(i16x8_shl, simd_opcode(0x8b), v128, v128, i32, simd::shl<uint16_t>(a, b))     \
  X(i16x8_shr_s, simd_opcode(0x8c), v128, v128, i32, simd::shr_s<uint16_t>(a, b)) \
  X(i16x8_shr_u, simd_opcode(0x8d), v128, v128, i32, simd::shr_u<uint16_t>(a, b)) \
  X(i32x4_shl, simd_opcode(0xab), v128, v128, i32, simd::shl<uint32_t>(a, b))     \
  X(i32x4_shr_s, simd_opcode(0xac), v128, v128, i32, simd::shr_s<uint32_t>(a, b)) \
  X(i32x4_shr_u, simd_opcode(0xad), v128, v128, i32, simd::shr_u<uint32_t>(a, b)) \
  X(i64x2_shl, simd_opcode(0xcb), v128, v128, i32, simd::shl<uint64_t>(a, b))     \
  X(i64x2_shr_s, simd_opcode(0xcc), v128, v128, i32, simd::shr_s<uint64_t>(a, b)) \
  X(i64x2_shr_u, simd_opcode(0xcd), v128, v128, i32, simd::shr_u<uint64_t>(a, b))

// Loads producing a v128: X(name, opcode, bytes read, natural alignment log2, expression over
// `p`, the address in linear memory).
#define KILN_SIMD_LOAD_OPS(X)                                                             \
  X(v128_load, simd_opcode(0x00), 16, 4, simd::load(p))                                   \
  X(v128_load8x8_s, simd_opcode(0x01), 8, 3, (simd::load_extend<int8_t, int16_t>(p)))     \
  X(v128_load8x8_u, simd_opcode(0x02), 8, 3, (simd::load_extend<uint8_t, uint16_t>(p)))   \
  X(v128_load16x4_s, simd_opcode(0x03), 8, 3, (simd::load_extend<int16_t, int32_t>(p)))   \
  X(v128_load16x4_u, simd_opcode(0x04), 8, 3, (simd::load_extend<uint16_t, uint32_t>(p))) \
  X(v128_load32x2_s, simd_opcode(0x05), 8, 3, (simd::load_extend<int32_t, int64_t>(p)))   \
  X(v128_load32x2_u, simd_opcode(0x06), 8, 3, (simd::load_extend<uint32_t, uint64_t>(p))) \
  X(v128_load8_splat, simd_opcode(0x07), 1, 0, simd::load_splat<uint8_t>(p))              \
  X(v128_load16_splat, simd_opcode(0x08), 2, 1, simd::load_splat<uint16_t>(p))            \
  X(v128_load32_splat, simd_opcode(0x09), 4, 2, simd::load_splat<uint32_t>(p))            \
  X(v128_load64_splat, simd_opcode(0x0a), 8, 3, simd::load_splat<uint64_t>(p))            \
  X(v128_load32_zero, simd_opcode(0x5c), 4, 2, simd::load_zero<uint32_t>(p))              \
  X(v128_load64_zero, simd_opcode(0x5d), 8, 3, simd::load_zero<uint64_t>(p))

// Lane loads and stores: X(name, opcode, lane C type, natural alignment log2).
#define KILN_SIMD_LOAD_LANE_OPS(X)                    \
  X(v128_load8_lane, simd_opcode(0x54), uint8_t, 0)   \
  X(v128_load16_lane, simd_opcode(0x55), uint16_t, 1) \
  X(v128_load32_lane, simd_opcode(0x56), uint32_t, 2) \
  X(v128_load64_lane, simd_opcode(0x57), uint64_t, 3)
#define KILN_SIMD_STORE_LANE_OPS(X)                    \
  X(v128_store8_lane, simd_opcode(0x58), uint8_t, 0)   \
  X(v128_store16_lane, simd_opcode(0x59), uint16_t, 1) \
  X(v128_store32_lane, simd_opcode(0x5a), uint32_t, 2) \
  X(v128_store64_lane, simd_opcode(0x5b), uint64_t, 3)

// X(name, opcode, lane C type, scalar value type)
#define KILN_SIMD_EXTRACT_LANE_OPS(X)                       \
  X(i8x16_extract_lane_s, simd_opcode(0x15), int8_t, i32)   \
  X(i8x16_extract_lane_u, simd_opcode(0x16), uint8_t, i32)  \
  X(i16x8_extract_lane_s, simd_opcode(0x18), int16_t, i32)  \
  X(i16x8_extract_lane_u, simd_opcode(0x19), uint16_t, i32) \
  X(i32x4_extract_lane, simd_opcode(0x1b), uint32_t, i32)   \
  X(i64x2_extract_lane, simd_opcode(0x1d), uint64_t, i64)   \
  X(f32x4_extract_lane, simd_opcode(0x1f), float, f32)      \
  X(f64x2_extract_lane, simd_opcode(0x21), double, f64)
#define KILN_SIMD_REPLACE_LANE_OPS(X)                     \
  X(i8x16_replace_lane, simd_opcode(0x17), uint8_t, i32)  \
  X(i16x8_replace_lane, simd_opcode(0x1a), uint16_t, i32) \
  X(i32x4_replace_lane, simd_opcode(0x1c), uint32_t, i32) \
  X(i64x2_replace_lane, simd_opcode(0x1e), uint64_t, i64) \
  X(f32x4_replace_lane, simd_opcode(0x20), float, f32)    \
  X(f64x2_replace_lane, simd_opcode(0x22), double, f64)

// Remaining SIMD operators with handlers of their own.
enum SimdOpcode : uint32_t {
  kV128Store = simd_opcode(0x0b),
  kV128Const = simd_opcode(0x0c),
  kI8x16Shuffle = simd_opcode(0x0d),
  kV128Bitselect = simd_opcode(0x52),
};

}  // namespace kiln
