// Opcode numbering (spec 5.4) and the tables of simple operators. Each table row gives the
// operator's name, encoding, result and operand types and its semantics, so the validator
// (typing) and the interpreter (handlers) are generated from one list.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/types.h"

namespace kiln {

// Prefixed opcodes are numbered prefix << 8 | sub-opcode (sub-opcodes here are < 256).
constexpr uint32_t kPrefixFC = 0xfc;
constexpr uint32_t kPrefixFD = 0xfd;  // SIMD: decoded in the SIMD issue
constexpr uint32_t prefixed(uint32_t prefix, uint32_t sub) {
  return prefix << 8 | sub;
}
// Dense index of a single-byte, 0xFC- or 0xFD-prefixed opcode, for per-operator tables.
constexpr uint32_t kSimpleOpSlots = 0x300;
constexpr size_t simple_op_slot(uint32_t opcode) {
  return opcode < 0x100 ? opcode : ((opcode >> 8) == 0xfc ? 0x100 : 0x200) + (opcode & 0xff);
}

enum Opcode : uint32_t {
  kUnreachable = 0x00,
  kNop = 0x01,
  kBlock = 0x02,
  kLoop = 0x03,
  kIf = 0x04,
  kElse = 0x05,
  kThrow = 0x08,     // Wasm 3.0 exception handling
  kThrowRef = 0x0a,  // Wasm 3.0 exception handling
  kEnd = 0x0b,
  kBr = 0x0c,
  kBrIf = 0x0d,
  kBrTable = 0x0e,
  kReturn = 0x0f,
  kCall = 0x10,
  kCallIndirect = 0x11,
  kDrop = 0x1a,
  kSelect = 0x1b,
  kSelectTyped = 0x1c,
  kTryTable = 0x1f,  // Wasm 3.0 exception handling
  kLocalGet = 0x20,
  kLocalSet = 0x21,
  kLocalTee = 0x22,
  kGlobalGet = 0x23,
  kGlobalSet = 0x24,
  kTableGet = 0x25,
  kTableSet = 0x26,
  kMemorySize = 0x3f,
  kMemoryGrow = 0x40,
  kI32Const = 0x41,
  kI64Const = 0x42,
  kF32Const = 0x43,
  kF64Const = 0x44,
  kRefNull = 0xd0,
  kRefIsNull = 0xd1,
  kRefFunc = 0xd2,
  kMemoryInit = prefixed(kPrefixFC, 8),
  kDataDrop = prefixed(kPrefixFC, 9),
  kMemoryCopy = prefixed(kPrefixFC, 10),
  kMemoryFill = prefixed(kPrefixFC, 11),
  kTableInit = prefixed(kPrefixFC, 12),
  kElemDrop = prefixed(kPrefixFC, 13),
  kTableCopy = prefixed(kPrefixFC, 14),
  kTableGrow = prefixed(kPrefixFC, 15),
  kTableSize = prefixed(kPrefixFC, 16),
  kTableFill = prefixed(kPrefixFC, 17),
};

// C types of the value types inside the interpreter and in host-call cells.
using i32 = uint32_t;
using i64 = uint64_t;
using f32 = float;
using f64 = double;

// The ValType of a table's type column (KILN_VT(i32) is ValType::kI32).
constexpr ValType value_type_of_i32 = ValType::kI32;
constexpr ValType value_type_of_i64 = ValType::kI64;
constexpr ValType value_type_of_f32 = ValType::kF32;
constexpr ValType value_type_of_f64 = ValType::kF64;
constexpr ValType value_type_of_v128 = ValType::kV128;
#define KILN_VT(t) value_type_of_##t

// Tests against zero: X(name, opcode, result, operand, expression over `a`). A test followed by
// `br_if` or `if` becomes one branch instruction (interpreter_code.h).
#define KILN_TEST_OPS(X)             \
  X(i32_eqz, 0x45, i32, i32, a == 0) \
  X(i64_eqz, 0x50, i32, i64, a == 0)

// X(name, opcode, result, operand, expression over `a`)
#define KILN_UNARY_OPS(X)                                                            \
  KILN_TEST_OPS(X)                                                                   \
  X(i32_clz, 0x67, i32, i32, a == 0 ? 32 : __builtin_clz(a))                         \
  X(i32_ctz, 0x68, i32, i32, a == 0 ? 32 : __builtin_ctz(a))                         \
  X(i32_popcnt, 0x69, i32, i32, __builtin_popcount(a))                               \
  X(i64_clz, 0x79, i64, i64, a == 0 ? 64 : __builtin_clzll(a))                       \
  X(i64_ctz, 0x7a, i64, i64, a == 0 ? 64 : __builtin_ctzll(a))                       \
  X(i64_popcnt, 0x7b, i64, i64, __builtin_popcountll(a))                             \
  X(f32_abs, 0x8b, f32, f32, float_abs(a))                                           \
  X(f32_neg, 0x8c, f32, f32, float_neg(a))                                           \
  X(f32_ceil, 0x8d, f32, f32, float_ceil(a))                                         \
  X(f32_floor, 0x8e, f32, f32, float_floor(a))                                       \
  X(f32_trunc, 0x8f, f32, f32, float_trunc(a))                                       \
  X(f32_nearest, 0x90, f32, f32, float_nearest(a))                                   \
  X(f32_sqrt, 0x91, f32, f32, std::sqrt(a))                                          \
  X(f64_abs, 0x99, f64, f64, float_abs(a))                                           \
  X(f64_neg, 0x9a, f64, f64, float_neg(a))                                           \
  X(f64_ceil, 0x9b, f64, f64, float_ceil(a))                                         \
  X(f64_floor, 0x9c, f64, f64, float_floor(a))                                       \
  X(f64_trunc, 0x9d, f64, f64, float_trunc(a))                                       \
  X(f64_nearest, 0x9e, f64, f64, float_nearest(a))                                   \
  X(f64_sqrt, 0x9f, f64, f64, std::sqrt(a))                                          \
  X(i32_wrap_i64, 0xa7, i32, i64, static_cast<i32>(a))                               \
  X(i64_extend_i32_s, 0xac, i64, i32, static_cast<i64>(static_cast<int32_t>(a)))     \
  X(i64_extend_i32_u, 0xad, i64, i32, static_cast<i64>(a))                           \
  X(f32_convert_i32_s, 0xb2, f32, i32, static_cast<f32>(static_cast<int32_t>(a)))    \
  X(f32_convert_i32_u, 0xb3, f32, i32, static_cast<f32>(a))                          \
  X(f32_convert_i64_s, 0xb4, f32, i64, static_cast<f32>(static_cast<int64_t>(a)))    \
  X(f32_convert_i64_u, 0xb5, f32, i64, static_cast<f32>(a))                          \
  X(f32_demote_f64, 0xb6, f32, f64, static_cast<f32>(a))                             \
  X(f64_convert_i32_s, 0xb7, f64, i32, static_cast<f64>(static_cast<int32_t>(a)))    \
  X(f64_convert_i32_u, 0xb8, f64, i32, static_cast<f64>(a))                          \
  X(f64_convert_i64_s, 0xb9, f64, i64, static_cast<f64>(static_cast<int64_t>(a)))    \
  X(f64_convert_i64_u, 0xba, f64, i64, static_cast<f64>(a))                          \
  X(f64_promote_f32, 0xbb, f64, f32, static_cast<f64>(a))                            \
  X(i32_reinterpret_f32, 0xbc, i32, f32, std::bit_cast<i32>(a))                      \
  X(i64_reinterpret_f64, 0xbd, i64, f64, std::bit_cast<i64>(a))                      \
  X(f32_reinterpret_i32, 0xbe, f32, i32, std::bit_cast<f32>(a))                      \
  X(f64_reinterpret_i64, 0xbf, f64, i64, std::bit_cast<f64>(a))                      \
  X(i32_extend8_s, 0xc0, i32, i32, static_cast<i32>(static_cast<int8_t>(a)))         \
  X(i32_extend16_s, 0xc1, i32, i32, static_cast<i32>(static_cast<int16_t>(a)))       \
  X(i64_extend8_s, 0xc2, i64, i64, static_cast<i64>(static_cast<int8_t>(a)))         \
  X(i64_extend16_s, 0xc3, i64, i64, static_cast<i64>(static_cast<int16_t>(a)))       \
  X(i64_extend32_s, 0xc4, i64, i64, static_cast<i64>(static_cast<int32_t>(a)))       \
  X(i32_trunc_sat_f32_s, prefixed(kPrefixFC, 0), i32, f32, (trunc_sat<int32_t>(a)))  \
  X(i32_trunc_sat_f32_u, prefixed(kPrefixFC, 1), i32, f32, (trunc_sat<uint32_t>(a))) \
  X(i32_trunc_sat_f64_s, prefixed(kPrefixFC, 2), i32, f64, (trunc_sat<int32_t>(a)))  \
  X(i32_trunc_sat_f64_u, prefixed(kPrefixFC, 3), i32, f64, (trunc_sat<uint32_t>(a))) \
  X(i64_trunc_sat_f32_s, prefixed(kPrefixFC, 4), i64, f32, (trunc_sat<int64_t>(a)))  \
  X(i64_trunc_sat_f32_u, prefixed(kPrefixFC, 5), i64, f32, (trunc_sat<uint64_t>(a))) \
  X(i64_trunc_sat_f64_s, prefixed(kPrefixFC, 6), i64, f64, (trunc_sat<int64_t>(a)))  \
  X(i64_trunc_sat_f64_u, prefixed(kPrefixFC, 7), i64, f64, (trunc_sat<uint64_t>(a)))

// Unary operators that can trap: X(name, opcode, result, operand, function).
// `function(a, &result)` returns a TrapCode (kNone on success).
#define KILN_CHECKED_UNARY_OPS(X)                             \
  X(i32_trunc_f32_s, 0xa8, i32, f32, trunc_checked<int32_t>)  \
  X(i32_trunc_f32_u, 0xa9, i32, f32, trunc_checked<uint32_t>) \
  X(i32_trunc_f64_s, 0xaa, i32, f64, trunc_checked<int32_t>)  \
  X(i32_trunc_f64_u, 0xab, i32, f64, trunc_checked<uint32_t>) \
  X(i64_trunc_f32_s, 0xae, i64, f32, trunc_checked<int64_t>)  \
  X(i64_trunc_f32_u, 0xaf, i64, f32, trunc_checked<uint64_t>) \
  X(i64_trunc_f64_s, 0xb0, i64, f64, trunc_checked<int64_t>)  \
  X(i64_trunc_f64_u, 0xb1, i64, f64, trunc_checked<uint64_t>)

// Comparisons: X(name, opcode, result, operand, expression over `a` and `b`). A comparison
// followed by `br_if` or `if` becomes one branch instruction (interpreter_code.h).
#define KILN_COMPARE_OPS(X)                                                       \
  X(i32_eq, 0x46, i32, i32, a == b)                                               \
  X(i32_ne, 0x47, i32, i32, a != b)                                               \
  X(i32_lt_s, 0x48, i32, i32, static_cast<int32_t>(a) < static_cast<int32_t>(b))  \
  X(i32_lt_u, 0x49, i32, i32, a < b)                                              \
  X(i32_gt_s, 0x4a, i32, i32, static_cast<int32_t>(a) > static_cast<int32_t>(b))  \
  X(i32_gt_u, 0x4b, i32, i32, a > b)                                              \
  X(i32_le_s, 0x4c, i32, i32, static_cast<int32_t>(a) <= static_cast<int32_t>(b)) \
  X(i32_le_u, 0x4d, i32, i32, a <= b)                                             \
  X(i32_ge_s, 0x4e, i32, i32, static_cast<int32_t>(a) >= static_cast<int32_t>(b)) \
  X(i32_ge_u, 0x4f, i32, i32, a >= b)                                             \
  X(i64_eq, 0x51, i32, i64, a == b)                                               \
  X(i64_ne, 0x52, i32, i64, a != b)                                               \
  X(i64_lt_s, 0x53, i32, i64, static_cast<int64_t>(a) < static_cast<int64_t>(b))  \
  X(i64_lt_u, 0x54, i32, i64, a < b)                                              \
  X(i64_gt_s, 0x55, i32, i64, static_cast<int64_t>(a) > static_cast<int64_t>(b))  \
  X(i64_gt_u, 0x56, i32, i64, a > b)                                              \
  X(i64_le_s, 0x57, i32, i64, static_cast<int64_t>(a) <= static_cast<int64_t>(b)) \
  X(i64_le_u, 0x58, i32, i64, a <= b)                                             \
  X(i64_ge_s, 0x59, i32, i64, static_cast<int64_t>(a) >= static_cast<int64_t>(b)) \
  X(i64_ge_u, 0x5a, i32, i64, a >= b)                                             \
  X(f32_eq, 0x5b, i32, f32, a == b)                                               \
  X(f32_ne, 0x5c, i32, f32, a != b)                                               \
  X(f32_lt, 0x5d, i32, f32, a < b)                                                \
  X(f32_gt, 0x5e, i32, f32, a > b)                                                \
  X(f32_le, 0x5f, i32, f32, a <= b)                                               \
  X(f32_ge, 0x60, i32, f32, a >= b)                                               \
  X(f64_eq, 0x61, i32, f64, a == b)                                               \
  X(f64_ne, 0x62, i32, f64, a != b)                                               \
  X(f64_lt, 0x63, i32, f64, a < b)                                                \
  X(f64_gt, 0x64, i32, f64, a > b)                                                \
  X(f64_le, 0x65, i32, f64, a <= b)                                               \
  X(f64_ge, 0x66, i32, f64, a >= b)

// Wasm 3.0 extended-const (spec 3.3.10, "Constant Expressions"): the binary operators a
// constant expression may use besides the producing instructions. Part of
// KILN_MEMORY_OPERAND_OPS below, which is where the interpreter expands them.
// X(name, opcode, result, operand, expression over `a` and `b`)
#define KILN_CONSTANT_I32_OPS(X)    \
  X(i32_add, 0x6a, i32, i32, a + b) \
  X(i32_sub, 0x6b, i32, i32, a - b) \
  X(i32_mul, 0x6c, i32, i32, a* b)
#define KILN_CONSTANT_I64_OPS(X)    \
  X(i64_add, 0x7c, i64, i64, a + b) \
  X(i64_sub, 0x7d, i64, i64, a - b) \
  X(i64_mul, 0x7e, i64, i64, a* b)
#define KILN_CONSTANT_OPS(X) KILN_CONSTANT_I32_OPS(X) KILN_CONSTANT_I64_OPS(X)

// Binary operators that also take their second operand straight from memory, fused with a
// load of their own type (NAME_load in interpreter_code.h).
// X(name, opcode, result, operand, expression over `a` and `b`)
#define KILN_MEMORY_OPERAND_OPS(X)  \
  KILN_CONSTANT_I32_OPS(X)          \
  X(i32_and, 0x71, i32, i32, a& b)  \
  X(i32_or, 0x72, i32, i32, a | b)  \
  X(i32_xor, 0x73, i32, i32, a ^ b) \
  KILN_CONSTANT_I64_OPS(X)          \
  X(i64_and, 0x83, i64, i64, a& b)  \
  X(i64_or, 0x84, i64, i64, a | b)  \
  X(i64_xor, 0x85, i64, i64, a ^ b) \
  X(f32_add, 0x92, f32, f32, a + b) \
  X(f32_sub, 0x93, f32, f32, a - b) \
  X(f32_mul, 0x94, f32, f32, a* b)  \
  X(f64_add, 0xa0, f64, f64, a + b) \
  X(f64_sub, 0xa1, f64, f64, a - b) \
  X(f64_mul, 0xa2, f64, f64, a* b)

// X(name, opcode, result, operand, expression over `a` and `b`)
#define KILN_BINARY_OPS(X)                                                            \
  KILN_COMPARE_OPS(X)                                                                 \
  KILN_MEMORY_OPERAND_OPS(X)                                                          \
  X(i32_shl, 0x74, i32, i32, a << (b & 31))                                           \
  X(i32_shr_s, 0x75, i32, i32, static_cast<i32>(static_cast<int32_t>(a) >> (b & 31))) \
  X(i32_shr_u, 0x76, i32, i32, a >> (b & 31))                                         \
  X(i32_rotl, 0x77, i32, i32, std::rotl(a, static_cast<int>(b & 31)))                 \
  X(i32_rotr, 0x78, i32, i32, std::rotr(a, static_cast<int>(b & 31)))                 \
  X(i64_shl, 0x86, i64, i64, a << (b & 63))                                           \
  X(i64_shr_s, 0x87, i64, i64, static_cast<i64>(static_cast<int64_t>(a) >> (b & 63))) \
  X(i64_shr_u, 0x88, i64, i64, a >> (b & 63))                                         \
  X(i64_rotl, 0x89, i64, i64, std::rotl(a, static_cast<int>(b & 63)))                 \
  X(i64_rotr, 0x8a, i64, i64, std::rotr(a, static_cast<int>(b & 63)))                 \
  X(f32_div, 0x95, f32, f32, a / b)                                                   \
  X(f32_min, 0x96, f32, f32, float_min(a, b))                                         \
  X(f32_max, 0x97, f32, f32, float_max(a, b))                                         \
  X(f32_copysign, 0x98, f32, f32, float_copysign(a, b))                               \
  X(f64_div, 0xa3, f64, f64, a / b)                                                   \
  X(f64_min, 0xa4, f64, f64, float_min(a, b))                                         \
  X(f64_max, 0xa5, f64, f64, float_max(a, b))                                         \
  X(f64_copysign, 0xa6, f64, f64, float_copysign(a, b))

// Binary operators that can trap: X(name, opcode, result, operand, function).
#define KILN_CHECKED_BINARY_OPS(X)              \
  X(i32_div_s, 0x6d, i32, i32, div_s<int32_t>)  \
  X(i32_div_u, 0x6e, i32, i32, div_u<uint32_t>) \
  X(i32_rem_s, 0x6f, i32, i32, rem_s<int32_t>)  \
  X(i32_rem_u, 0x70, i32, i32, rem_u<uint32_t>) \
  X(i64_div_s, 0x7f, i64, i64, div_s<int64_t>)  \
  X(i64_div_u, 0x80, i64, i64, div_u<uint64_t>) \
  X(i64_rem_s, 0x81, i64, i64, rem_s<int64_t>)  \
  X(i64_rem_u, 0x82, i64, i64, rem_u<uint64_t>)

// X(name, opcode, value type, memory C type, natural alignment as log2)
#define KILN_LOAD_OPS(X)                  \
  X(i32_load, 0x28, i32, uint32_t, 2)     \
  X(i64_load, 0x29, i64, uint64_t, 3)     \
  X(f32_load, 0x2a, f32, float, 2)        \
  X(f64_load, 0x2b, f64, double, 3)       \
  X(i32_load8_s, 0x2c, i32, int8_t, 0)    \
  X(i32_load8_u, 0x2d, i32, uint8_t, 0)   \
  X(i32_load16_s, 0x2e, i32, int16_t, 1)  \
  X(i32_load16_u, 0x2f, i32, uint16_t, 1) \
  X(i64_load8_s, 0x30, i64, int8_t, 0)    \
  X(i64_load8_u, 0x31, i64, uint8_t, 0)   \
  X(i64_load16_s, 0x32, i64, int16_t, 1)  \
  X(i64_load16_u, 0x33, i64, uint16_t, 1) \
  X(i64_load32_s, 0x34, i64, int32_t, 2)  \
  X(i64_load32_u, 0x35, i64, uint32_t, 2)

#define KILN_STORE_OPS(X)                \
  X(i32_store, 0x36, i32, uint32_t, 2)   \
  X(i64_store, 0x37, i64, uint64_t, 3)   \
  X(f32_store, 0x38, f32, float, 2)      \
  X(f64_store, 0x39, f64, double, 3)     \
  X(i32_store8, 0x3a, i32, uint8_t, 0)   \
  X(i32_store16, 0x3b, i32, uint16_t, 1) \
  X(i64_store8, 0x3c, i64, uint8_t, 0)   \
  X(i64_store16, 0x3d, i64, uint16_t, 1) \
  X(i64_store32, 0x3e, i64, uint32_t, 2)

}  // namespace kiln
