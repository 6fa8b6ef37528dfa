// common.cuh: the element types of every mlxr dtype on the GPU, with no CUDA header
// needed (NVRTC compiles it as is): fixed-width integers, `mlxr::f16`, `mlxr::bf16`
// (16-bit storage, arithmetic in float rounded to nearest-even, like the CPU's `half`
// crate), `mlxr::c64` (complex64), and small type traits.
#pragma once

#ifndef MLXR_MAX_NDIM
#define MLXR_MAX_NDIM 10
#endif

namespace mlxr {

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char i8;
typedef short i16;
typedef int i32;
typedef long long i64;

// IEEE half precision (float16), stored as its bits.
struct __align__(2) f16 {
  unsigned short bits;
};
// bfloat16, stored as its bits.
struct __align__(2) bf16 {
  unsigned short bits;
};
// complex64: two float32, real part first (the CPU layout of `Complex32`).
struct __align__(8) c64 {
  float re;
  float im;
};

template <class A, class B> struct is_same { static constexpr bool value = false; };
template <class A> struct is_same<A, A> { static constexpr bool value = true; };

// ---- float16 / bfloat16 <-> float ------------------------------------------------------

__device__ __forceinline__ float f16_to_f32(f16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
  return f;
}
// Round to nearest even.
__device__ __forceinline__ f16 f32_to_f16(float f) {
  f16 h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
  return h;
}
__device__ __forceinline__ float bf16_to_f32(bf16 b) {
  return __uint_as_float(((unsigned)b.bits) << 16);
}
// Round to nearest even (NaN stays NaN).
__device__ __forceinline__ bf16 f32_to_bf16(float f) {
  unsigned x = __float_as_uint(f);
  bf16 r;
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
    r.bits = (unsigned short)((x >> 16) | 0x0040u);
    return r;
  }
  unsigned round_bit = 0x00008000u;
  unsigned short h = (unsigned short)(x >> 16);
  if ((x & round_bit) != 0 && (x & (3u * round_bit - 1u)) != 0) h += 1;
  r.bits = h;
  return r;
}

// Arithmetic on f16/bf16 in float, rounded back (as the CPU does).
#define MLXR_HALF_OPS(T, TO, FROM)                                                        \
  __device__ __forceinline__ T operator+(T a, T b) { return FROM(TO(a) + TO(b)); }        \
  __device__ __forceinline__ T operator-(T a, T b) { return FROM(TO(a) - TO(b)); }        \
  __device__ __forceinline__ T operator*(T a, T b) { return FROM(TO(a) * TO(b)); }        \
  __device__ __forceinline__ T operator/(T a, T b) { return FROM(TO(a) / TO(b)); }        \
  __device__ __forceinline__ T operator-(T a) { return FROM(-TO(a)); }                    \
  __device__ __forceinline__ bool operator==(T a, T b) { return TO(a) == TO(b); }         \
  __device__ __forceinline__ bool operator!=(T a, T b) { return TO(a) != TO(b); }         \
  __device__ __forceinline__ bool operator<(T a, T b) { return TO(a) < TO(b); }           \
  __device__ __forceinline__ bool operator<=(T a, T b) { return TO(a) <= TO(b); }         \
  __device__ __forceinline__ bool operator>(T a, T b) { return TO(a) > TO(b); }           \
  __device__ __forceinline__ bool operator>=(T a, T b) { return TO(a) >= TO(b); }
MLXR_HALF_OPS(f16, f16_to_f32, f32_to_f16)
MLXR_HALF_OPS(bf16, bf16_to_f32, f32_to_bf16)
#undef MLXR_HALF_OPS

// Complex addition, subtraction, multiplication, equality.
__device__ __forceinline__ c64 operator+(c64 a, c64 b) { return c64{a.re + b.re, a.im + b.im}; }
__device__ __forceinline__ c64 operator-(c64 a, c64 b) { return c64{a.re - b.re, a.im - b.im}; }
__device__ __forceinline__ c64 operator-(c64 a) { return c64{-a.re, -a.im}; }
__device__ __forceinline__ c64 operator*(c64 a, c64 b) {
  return c64{a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
__device__ __forceinline__ bool operator==(c64 a, c64 b) { return a.re == b.re && a.im == b.im; }
__device__ __forceinline__ bool operator!=(c64 a, c64 b) { return !(a == b); }

}  // namespace mlxr
