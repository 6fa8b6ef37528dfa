// cast.cuh: `mlxr::cast<To>(x)`, the conversion between element types with exactly the
// CPU's semantics (dtype.rs `Element::cast`): integers wrap, floats truncate towards
// zero and saturate into 64-bit integers (NaN -> 0) before wrapping into narrower ones,
// non-zero -> true, complex -> real keeps the real part; f16 from a double rounds
// through float (as the `half` crate does on x86 with F16C), bf16 from a double rounds
// like `half`'s software conversion (which only looks at the top 32 bits).
#pragma once
#include "common.cuh"

namespace mlxr {

// Dtype categories: 0 bool, 1 unsigned, 2 signed, 3 floating, 4 complex.
template <class T> struct Cat;
template <> struct Cat<bool> { static constexpr int v = 0; };
template <> struct Cat<u8> { static constexpr int v = 1; };
template <> struct Cat<u16> { static constexpr int v = 1; };
template <> struct Cat<u32> { static constexpr int v = 1; };
template <> struct Cat<u64> { static constexpr int v = 1; };
template <> struct Cat<i8> { static constexpr int v = 2; };
template <> struct Cat<i16> { static constexpr int v = 2; };
template <> struct Cat<i32> { static constexpr int v = 2; };
template <> struct Cat<i64> { static constexpr int v = 2; };
template <> struct Cat<f16> { static constexpr int v = 3; };
template <> struct Cat<bf16> { static constexpr int v = 3; };
template <> struct Cat<float> { static constexpr int v = 3; };
template <> struct Cat<double> { static constexpr int v = 3; };
template <> struct Cat<c64> { static constexpr int v = 4; };

// `half`'s f64 -> bf16 conversion, bit for bit.
__device__ __forceinline__ bf16 f64_to_bf16(double value) {
  unsigned long long val = (unsigned long long)__double_as_longlong(value);
  unsigned x = (unsigned)(val >> 32);
  unsigned sign = x & 0x80000000u;
  unsigned exp = x & 0x7FF00000u;
  unsigned man = x & 0x000FFFFFu;
  bf16 r;
  if (exp == 0x7FF00000u) {
    unsigned nan_bit = (man == 0 && (unsigned)val == 0) ? 0u : 0x0040u;
    r.bits = (unsigned short)((sign >> 16) | 0x7F80u | nan_bit | (man >> 13));
    return r;
  }
  unsigned half_sign = sign >> 16;
  int half_exp = (int)(exp >> 20) - 1023 + 127;
  if (half_exp >= 0xFF) {
    r.bits = (unsigned short)(half_sign | 0x7F80u);
    return r;
  }
  if (half_exp <= 0) {
    if (7 - half_exp > 21) {
      r.bits = (unsigned short)half_sign;
      return r;
    }
    unsigned m = man | 0x00100000u;
    unsigned half_man = m >> (14 - half_exp);
    unsigned round_bit = 1u << (13 - half_exp);
    if ((m & round_bit) != 0 && (m & (3u * round_bit - 1u)) != 0) half_man += 1;
    r.bits = (unsigned short)(half_sign | half_man);
    return r;
  }
  unsigned he = ((unsigned)half_exp) << 7;
  unsigned half_man = man >> 13;
  unsigned round_bit = 0x00001000u;
  unsigned bits = half_sign | he | half_man;
  if ((man & round_bit) != 0 && (man & (3u * round_bit - 1u)) != 0) bits += 1;
  r.bits = (unsigned short)bits;
  return r;
}

// `half`'s f64 -> bf16 conversion of a float's exact double value, in 32-bit integer
// arithmetic: the same bits as `f64_to_bf16((double)f)`. A float's double keeps its
// mantissa in the top 23 bits, of which `half` looks at the top 20 (the float's bits
// 3..22), so it rounds to nearest-even with the round bit at float bit 15 and the sticky
// bits 3..14 (bits 0..2 are ignored). Zero, normal, infinite and NaN floats take this
// path; subnormals (rare) take the double path.
__device__ __forceinline__ bf16 f32_to_bf16_as_f64(float f) {
  unsigned u = __float_as_uint(f);
  unsigned e = u & 0x7F800000u;
  bf16 r;
  if (e == 0u && (u & 0x007FFFFFu) != 0u) return f64_to_bf16((double)f);
  if (e == 0x7F800000u) {
    r.bits = (unsigned short)((u >> 16) | ((u & 0x007FFFFFu) != 0u ? 0x0040u : 0u));
    return r;
  }
  unsigned bits = u >> 16;
  if ((u & 0x00008000u) != 0u && (u & 0x00017FF8u) != 0u) bits += 1u;
  r.bits = (unsigned short)bits;
  return r;
}

// ---- to_*: one overload per type (mirrors `Element::to_*`) ---------------------------

#define MLXR_INT_TO(T)                                                                   \
  __device__ __forceinline__ double to_f64(T x) { return (double)x; }                   \
  __device__ __forceinline__ i64 to_i64(T x) { return (i64)x; }                          \
  __device__ __forceinline__ u64 to_u64(T x) { return (u64)x; }                          \
  __device__ __forceinline__ bool to_bool(T x) { return x != 0; }                        \
  __device__ __forceinline__ c64 to_c64(T x) { return c64{(float)x, 0.0f}; }
MLXR_INT_TO(u8)
MLXR_INT_TO(u16)
MLXR_INT_TO(u32)
MLXR_INT_TO(u64)
MLXR_INT_TO(i8)
MLXR_INT_TO(i16)
MLXR_INT_TO(i32)
MLXR_INT_TO(i64)
#undef MLXR_INT_TO

__device__ __forceinline__ double to_f64(bool x) { return x ? 1.0 : 0.0; }
__device__ __forceinline__ i64 to_i64(bool x) { return x ? 1 : 0; }
__device__ __forceinline__ u64 to_u64(bool x) { return x ? 1 : 0; }
__device__ __forceinline__ bool to_bool(bool x) { return x; }
__device__ __forceinline__ c64 to_c64(bool x) { return c64{x ? 1.0f : 0.0f, 0.0f}; }

__device__ __forceinline__ double to_f64(float x) { return (double)x; }
__device__ __forceinline__ double to_f64(double x) { return x; }
__device__ __forceinline__ double to_f64(f16 x) { return (double)f16_to_f32(x); }
__device__ __forceinline__ double to_f64(bf16 x) { return (double)bf16_to_f32(x); }

// Floats: truncate, saturate, NaN -> 0 (Rust's `as i64`); to u64: negatives go through
// i64 and wrap, others saturate.
// (The hardware conversion saturates; NaN is tested explicitly.)
#define MLXR_FLOAT_TO(T)                                                                  \
  __device__ __forceinline__ i64 to_i64(T x) {                                           \
    double v = to_f64(x);                                                                 \
    return v != v ? 0 : __double2ll_rz(v);                                                \
  }                                                                                       \
  __device__ __forceinline__ u64 to_u64(T x) {                                           \
    double v = to_f64(x);                                                                 \
    if (v != v) return 0;                                                                 \
    return v < 0.0 ? (u64)__double2ll_rz(v) : __double2ull_rz(v);                        \
  }                                                                                       \
  __device__ __forceinline__ bool to_bool(T x) { return to_f64(x) != 0.0; }              \
  __device__ __forceinline__ c64 to_c64(T x) { return c64{(float)to_f64(x), 0.0f}; }
MLXR_FLOAT_TO(float)
MLXR_FLOAT_TO(double)
MLXR_FLOAT_TO(f16)
MLXR_FLOAT_TO(bf16)
#undef MLXR_FLOAT_TO

__device__ __forceinline__ double to_f64(c64 x) { return (double)x.re; }
__device__ __forceinline__ i64 to_i64(c64 x) { return x.re != x.re ? 0 : __float2ll_rz(x.re); }
__device__ __forceinline__ u64 to_u64(c64 x) { return x.re != x.re ? 0 : __float2ull_rz(x.re); }
__device__ __forceinline__ bool to_bool(c64 x) { return x.re != 0.0f || x.im != 0.0f; }
__device__ __forceinline__ c64 to_c64(c64 x) { return x; }

// ---- from_*: `Conv<T>` (mirrors `Element::from_*`) ----------------------------------

template <class T> struct Conv {
  // Integers (the only other case is specialised below).
  __device__ static __forceinline__ T from_i64(i64 v) { return (T)v; }
  __device__ static __forceinline__ T from_u64(u64 v) { return (T)v; }
};
template <> struct Conv<bool> {
  __device__ static __forceinline__ bool from_i64(i64 v) { return v != 0; }
  __device__ static __forceinline__ bool from_u64(u64 v) { return v != 0; }
};
template <> struct Conv<float> {
  __device__ static __forceinline__ float from_f64(double v) { return (float)v; }
  __device__ static __forceinline__ float from_i64(i64 v) { return (float)(double)v; }
  __device__ static __forceinline__ float from_u64(u64 v) { return (float)(double)v; }
};
template <> struct Conv<double> {
  __device__ static __forceinline__ double from_f64(double v) { return v; }
  __device__ static __forceinline__ double from_i64(i64 v) { return (double)v; }
  __device__ static __forceinline__ double from_u64(u64 v) { return (double)v; }
};
template <> struct Conv<f16> {
  __device__ static __forceinline__ f16 from_f64(double v) { return f32_to_f16((float)v); }
  __device__ static __forceinline__ f16 from_i64(i64 v) { return from_f64((double)v); }
  __device__ static __forceinline__ f16 from_u64(u64 v) { return from_f64((double)v); }
};
template <> struct Conv<bf16> {
  __device__ static __forceinline__ bf16 from_f64(double v) { return f64_to_bf16(v); }
  __device__ static __forceinline__ bf16 from_i64(i64 v) { return from_f64((double)v); }
  __device__ static __forceinline__ bf16 from_u64(u64 v) { return from_f64((double)v); }
};

// Convert `x` to `To` with the CPU's `Element::cast` semantics.
template <class To, class From> __device__ __forceinline__ To cast(From x) {
  if constexpr (is_same<To, From>::value) {
    return x;
  } else if constexpr (Cat<To>::v == 0) {
    return to_bool(x);
  } else if constexpr (Cat<To>::v == 1) {
    if constexpr (Cat<From>::v == 2) return Conv<To>::from_i64(to_i64(x));
    else return Conv<To>::from_u64(to_u64(x));
  } else if constexpr (Cat<To>::v == 2) {
    if constexpr (Cat<From>::v == 1) return Conv<To>::from_u64(to_u64(x));
    else return Conv<To>::from_i64(to_i64(x));
  } else if constexpr (Cat<To>::v == 3) {
    if constexpr (is_same<To, bf16>::value && is_same<From, float>::value)
      return f32_to_bf16_as_f64(x);
    else if constexpr (is_same<To, bf16>::value && is_same<From, f16>::value)
      return f32_to_bf16_as_f64(f16_to_f32(x));
    else if constexpr (Cat<From>::v == 3 || Cat<From>::v == 4) return Conv<To>::from_f64(to_f64(x));
    else if constexpr (Cat<From>::v == 1) return Conv<To>::from_u64(to_u64(x));
    else return Conv<To>::from_i64(to_i64(x));
  } else {
    return to_c64(x);
  }
}

}  // namespace mlxr
