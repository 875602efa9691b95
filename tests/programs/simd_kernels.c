// Vector kernels written twice: with wasm_simd128.h intrinsics when compiled for wasm32 with
// -msimd128, and as plain scalar C otherwise. tests/simd_program_test.cpp runs the wasm build
// under kiln and compares every result with the native scalar build: they must be identical.
// Float kernels are element-wise only (no reductions), so results do not depend on the order
// of operations; checksums are computed over the bits.
#include <stdint.h>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define KILN_EXPORT(name) __attribute__((export_name(#name)))
#else
#define KILN_EXPORT(name)
#endif

#define N 4096

static int16_t a16[N], b16[N];
static uint8_t pixels[N], output8[N];
static float xs[N], ys[N];

static uint32_t lcg_state;
static uint32_t next_random(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return lcg_state;
}

// FNV-1a over bytes.
static uint64_t checksum(const void* data, uint32_t size) {
  const uint8_t* p = (const uint8_t*)data;
  uint64_t h = 1469598103934665603ull;
  for (uint32_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

KILN_EXPORT(fill) void kiln_fill(uint32_t seed) {
  lcg_state = seed;
  for (int i = 0; i < N; ++i) {
    a16[i] = (int16_t)next_random();
    b16[i] = (int16_t)next_random();
    pixels[i] = (uint8_t)next_random();
    // Finite values of both signs and a spread of magnitudes, plus an occasional zero.
    xs[i] = (float)((int32_t)next_random() % 100000) / 64.0f;
    ys[i] = (float)((int32_t)next_random() % 100000) / 1024.0f;
  }
}

// Sum over i of a16[i] * b16[i], in pairs as i32x4.dot_i16x8_s does (wrapping int32 lanes).
KILN_EXPORT(dot) int32_t kiln_dot(void) {
#if defined(__wasm_simd128__)
  v128_t acc = wasm_i32x4_splat(0);
  for (int i = 0; i < N; i += 8) {
    acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_load(&a16[i]), wasm_v128_load(&b16[i])));
  }
  return (int32_t)((uint32_t)wasm_i32x4_extract_lane(acc, 0) + (uint32_t)wasm_i32x4_extract_lane(acc, 1) +
                   (uint32_t)wasm_i32x4_extract_lane(acc, 2) + (uint32_t)wasm_i32x4_extract_lane(acc, 3));
#else
  uint32_t lanes[4] = {0, 0, 0, 0};
  for (int i = 0; i < N; i += 8) {
    for (int l = 0; l < 4; ++l) {
      int32_t p0 = (int32_t)a16[i + 2 * l] * b16[i + 2 * l];
      int32_t p1 = (int32_t)a16[i + 2 * l + 1] * b16[i + 2 * l + 1];
      lanes[l] += (uint32_t)p0 + (uint32_t)p1;
    }
  }
  return (int32_t)(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
#endif
}

// Brightens pixels with unsigned saturation, then averages with the original (avgr_u).
KILN_EXPORT(brighten) uint64_t kiln_brighten(uint32_t amount) {
#if defined(__wasm_simd128__)
  v128_t add = wasm_u8x16_splat((uint8_t)amount);
  for (int i = 0; i < N; i += 16) {
    v128_t p = wasm_v128_load(&pixels[i]);
    wasm_v128_store(&output8[i], wasm_u8x16_avgr(wasm_u8x16_add_sat(p, add), p));
  }
#else
  for (int i = 0; i < N; ++i) {
    unsigned bright = pixels[i] + (uint8_t)amount;
    if (bright > 255) bright = 255;
    output8[i] = (uint8_t)((bright + pixels[i] + 1) / 2);
  }
#endif
  return checksum(output8, N);
}

// Counts bytes equal to `needle` (eq + bitmask + popcount).
KILN_EXPORT(count_byte) uint32_t kiln_count_byte(uint32_t needle) {
  uint32_t count = 0;
#if defined(__wasm_simd128__)
  v128_t n = wasm_i8x16_splat((int8_t)needle);
  for (int i = 0; i < N; i += 16) {
    count += (uint32_t)__builtin_popcount(wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(&pixels[i]), n)));
  }
#else
  for (int i = 0; i < N; ++i) count += pixels[i] == (uint8_t)needle;
#endif
  return count;
}

// y = clamp(a * x + y, -lo, lo) element-wise in f32 (no fused multiply-add on either side).
KILN_EXPORT(saxpy_clamp) uint64_t kiln_saxpy_clamp(float a, float limit) {
#if defined(__wasm_simd128__)
  v128_t va = wasm_f32x4_splat(a), hi = wasm_f32x4_splat(limit), lo = wasm_f32x4_splat(-limit);
  for (int i = 0; i < N; i += 4) {
    v128_t r = wasm_f32x4_add(wasm_f32x4_mul(va, wasm_v128_load(&xs[i])), wasm_v128_load(&ys[i]));
    wasm_v128_store(&ys[i], wasm_f32x4_min(wasm_f32x4_max(r, lo), hi));
  }
#else
  for (int i = 0; i < N; ++i) {
    float r = a * xs[i] + ys[i];
    r = r < -limit ? -limit : r;
    ys[i] = r > limit ? limit : r;
  }
#endif
  return checksum(ys, sizeof ys);
}

// Reverses each 16-byte block (shuffle) and widens to a sum of u16 (extend + extadd).
KILN_EXPORT(reverse_sum) uint64_t kiln_reverse_sum(void) {
  uint32_t sum = 0;
#if defined(__wasm_simd128__)
  v128_t total = wasm_i32x4_splat(0);
  for (int i = 0; i < N; i += 16) {
    v128_t p = wasm_v128_load(&pixels[i]);
    v128_t r = wasm_i8x16_shuffle(p, p, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    wasm_v128_store(&output8[i], r);
    v128_t wide = wasm_u16x8_extend_low_u8x16(r);
    total = wasm_i32x4_add(total, wasm_u32x4_extadd_pairwise_u16x8(wide));
  }
  sum = (uint32_t)wasm_i32x4_extract_lane(total, 0) + (uint32_t)wasm_i32x4_extract_lane(total, 1) +
        (uint32_t)wasm_i32x4_extract_lane(total, 2) + (uint32_t)wasm_i32x4_extract_lane(total, 3);
#else
  for (int i = 0; i < N; i += 16) {
    for (int k = 0; k < 16; ++k) output8[i + k] = pixels[i + 15 - k];
    for (int k = 0; k < 8; ++k) sum += output8[i + k];
  }
#endif
  return checksum(output8, N) ^ ((uint64_t)sum << 32);
}
