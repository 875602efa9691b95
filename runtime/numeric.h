// Exact Wasm semantics of the numeric operators that C++ does not give directly (spec 4.3).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "runtime/trap.h"

namespace kiln {

// Operators that can trap return 0, or 1 + the TrapCode.
inline int trap_result(TrapCode code) {
  return 1 + static_cast<int>(code);
}

template <typename F>
using float_bits_t = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
template <typename F>
constexpr float_bits_t<F> sign_bit = float_bits_t<F>{1} << (sizeof(F) * 8 - 1);

// abs, neg and copysign act on the sign bit only, NaN payloads included (spec 4.3.3).
template <typename F>
F float_abs(F a) {
  return std::bit_cast<F>(std::bit_cast<float_bits_t<F>>(a) & ~sign_bit<F>);
}
template <typename F>
F float_neg(F a) {
  return std::bit_cast<F>(std::bit_cast<float_bits_t<F>>(a) ^ sign_bit<F>);
}
template <typename F>
F float_copysign(F a, F b) {
  auto bits = std::bit_cast<float_bits_t<F>>(a) & ~sign_bit<F>;
  return std::bit_cast<F>(bits | (std::bit_cast<float_bits_t<F>>(b) & sign_bit<F>));
}

// ceil, floor and trunc of a NaN give a quiet NaN (spec 4.3.3: an arithmetic NaN); libm may
// hand a signalling NaN back unchanged.
template <typename F>
F float_ceil(F a) {
  return std::isnan(a) ? a + a : std::ceil(a);
}
template <typename F>
F float_floor(F a) {
  return std::isnan(a) ? a + a : std::floor(a);
}
template <typename F>
F float_trunc(F a) {
  return std::isnan(a) ? a + a : std::trunc(a);
}
// Round to nearest, ties to even (the default rounding mode, which kiln never changes).
template <typename F>
F float_nearest(F a) {
  return std::isnan(a) ? a + a : std::nearbyint(a);
}

// fmin/fmax per spec 4.3.3: any NaN operand gives NaN (a+b propagates a quiet NaN), and
// -0 is smaller than +0.
template <typename F>
F float_min(F a, F b) {
  if (std::isnan(a) || std::isnan(b)) return a + b;
  if (a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}
template <typename F>
F float_max(F a, F b) {
  if (std::isnan(a) || std::isnan(b)) return a + b;
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

// The exact float range that truncates into T: [lower, upper) after truncation toward zero.
template <typename T, typename F>
constexpr F trunc_upper() {
  return F(std::numeric_limits<T>::max() / 2 + 1) * F(2);
}
template <typename T, typename F>
constexpr F trunc_lower() {
  return std::is_signed_v<T> ? -trunc_upper<T, F>() : F(0);
}

template <typename T, typename F, typename R>
int trunc_checked(F a, R* result) {
  if (std::isnan(a)) return trap_result(TrapCode::kInvalidConversion);
  F t = std::trunc(a);
  if (!(t >= trunc_lower<T, F>() && t < trunc_upper<T, F>())) {
    return trap_result(TrapCode::kIntegerOverflow);
  }
  *result = static_cast<R>(static_cast<T>(t));
  return 0;
}

template <typename T, typename F>
T trunc_sat(F a) {
  if (std::isnan(a)) return 0;
  F t = std::trunc(a);
  if (t < trunc_lower<T, F>()) return std::numeric_limits<T>::min();
  if (t >= trunc_upper<T, F>()) return std::numeric_limits<T>::max();
  return static_cast<T>(t);
}

template <typename S, typename U = std::make_unsigned_t<S>>
int div_s(U a, U b, U* result) {
  if (b == 0) return trap_result(TrapCode::kIntegerDivideByZero);
  S sa = static_cast<S>(a), sb = static_cast<S>(b);
  if (sa == std::numeric_limits<S>::min() && sb == -1)
    return trap_result(TrapCode::kIntegerOverflow);
  *result = static_cast<U>(sa / sb);
  return 0;
}
template <typename U>
int div_u(U a, U b, U* result) {
  if (b == 0) return trap_result(TrapCode::kIntegerDivideByZero);
  *result = a / b;
  return 0;
}
template <typename S, typename U = std::make_unsigned_t<S>>
int rem_s(U a, U b, U* result) {
  if (b == 0) return trap_result(TrapCode::kIntegerDivideByZero);
  S sa = static_cast<S>(a), sb = static_cast<S>(b);
  *result = sb == -1 ? 0 : static_cast<U>(sa % sb);  // INT_MIN % -1 is 0, not UB
  return 0;
}
template <typename U>
int rem_u(U a, U b, U* result) {
  if (b == 0) return trap_result(TrapCode::kIntegerDivideByZero);
  *result = a % b;
  return 0;
}

}  // namespace kiln
