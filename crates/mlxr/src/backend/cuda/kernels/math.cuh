// math.cuh: scalar math shared by the op kernels (unary, binary, reduce, softmax): the
// compute type of each element type (float for f16/bf16, rounded back once like the
// CPU), float/double overloads of the CUDA math functions, wrapping integer arithmetic
// with the CPU's semantics (backend/cpu/binary.rs `IntOps`), complex64 functions with
// num_complex's formulas, ordering helpers and warp shuffles of any element type.
#pragma once
#include "cast.cuh"

namespace mlxr {

// ---- compute types -------------------------------------------------------------------

template <class T> struct Compute { typedef T type; };
template <> struct Compute<f16> { typedef float type; };
template <> struct Compute<bf16> { typedef float type; };

__device__ __forceinline__ float up(f16 x) { return f16_to_f32(x); }
__device__ __forceinline__ float up(bf16 x) { return bf16_to_f32(x); }
__device__ __forceinline__ float up(float x) { return x; }
__device__ __forceinline__ double up(double x) { return x; }

// Round a compute value back to `T` (f32 -> half rounds to nearest even, as `half`'s from_f32).
template <class T> __device__ __forceinline__ T down(typename Compute<T>::type v);
template <> __device__ __forceinline__ f16 down<f16>(float v) { return f32_to_f16(v); }
template <> __device__ __forceinline__ bf16 down<bf16>(float v) { return f32_to_bf16(v); }
template <> __device__ __forceinline__ float down<float>(float v) { return v; }
template <> __device__ __forceinline__ double down<double>(double v) { return v; }

template <class T> __device__ __forceinline__ bool is_nan(T x) {
  if constexpr (Cat<T>::v == 3) {
    auto v = up(x);
    return v != v;
  } else if constexpr (Cat<T>::v == 4) {
    return x.re != x.re || x.im != x.im;
  } else {
    return false;
  }
}

// ---- float/double math overloads ---------------------------------------------------------

#define MLXR_M1(name, ff, df)                                                   \
  __device__ __forceinline__ float name(float x) { return ff(x); }             \
  __device__ __forceinline__ double name(double x) { return df(x); }
MLXR_M1(m_exp, expf, exp)
MLXR_M1(m_expm1, expm1f, expm1)
MLXR_M1(m_log, logf, log)
MLXR_M1(m_log1p, log1pf, log1p)
MLXR_M1(m_log2, log2f, log2)
MLXR_M1(m_log10, log10f, log10)
MLXR_M1(m_sqrt, sqrtf, sqrt)
MLXR_M1(m_sin, sinf, sin)
MLXR_M1(m_cos, cosf, cos)
MLXR_M1(m_tan, tanf, tan)
MLXR_M1(m_asin, asinf, asin)
MLXR_M1(m_acos, acosf, acos)
MLXR_M1(m_atan, atanf, atan)
MLXR_M1(m_sinh, sinhf, sinh)
MLXR_M1(m_cosh, coshf, cosh)
MLXR_M1(m_tanh, tanhf, tanh)
MLXR_M1(m_asinh, asinhf, asinh)
MLXR_M1(m_acosh, acoshf, acosh)
MLXR_M1(m_floor, floorf, floor)
MLXR_M1(m_ceil, ceilf, ceil)
MLXR_M1(m_rint, rintf, rint)
MLXR_M1(m_fabs, fabsf, fabs)
#undef MLXR_M1
// atanh as the CPU (Rust's std) computes it: 0.5 * log1p(2x / (1 - x)); CUDA's atanhf
// differs from it by up to ~1e-5 relative near |x| = 1, where the function is
// ill-conditioned.
__device__ __forceinline__ float m_atanh(float x) { return 0.5f * log1pf((2.0f * x) / (1.0f - x)); }
__device__ __forceinline__ double m_atanh(double x) { return 0.5 * log1p((2.0 * x) / (1.0 - x)); }
__device__ __forceinline__ float m_atan2(float y, float x) { return atan2f(y, x); }
__device__ __forceinline__ double m_atan2(double y, double x) { return atan2(y, x); }
__device__ __forceinline__ float m_pow(float y, float x) { return powf(y, x); }
__device__ __forceinline__ double m_pow(double y, double x) { return pow(y, x); }
__device__ __forceinline__ float m_fmod(float y, float x) { return fmodf(y, x); }
__device__ __forceinline__ double m_fmod(double y, double x) { return fmod(y, x); }
__device__ __forceinline__ float m_inf(float) { return __int_as_float(0x7f800000); }
__device__ __forceinline__ double m_inf(double) { return __longlong_as_double(0x7ff0000000000000LL); }

// ---- wrapping integer arithmetic ------------------------------------------------------------

template <class T> __device__ __forceinline__ T w_add(T a, T b) { return (T)((u64)a + (u64)b); }
template <class T> __device__ __forceinline__ T w_sub(T a, T b) { return (T)((u64)a - (u64)b); }
template <class T> __device__ __forceinline__ T w_mul(T a, T b) { return (T)((u64)a * (u64)b); }
template <class T> __device__ __forceinline__ T w_neg(T a) { return (T)(0ull - (u64)a); }

// Quotient rounded towards -inf; 0 when o == 0 (MIN / -1 wraps).
template <class T> __device__ __forceinline__ T floor_div(T a, T o) {
  if (o == 0) return 0;
  if constexpr (Cat<T>::v == 2) {
    if (o == (T)-1) return w_neg(a);
    T q = a / o;
    if (a % o != 0 && ((a < 0) != (o < 0))) q = (T)(q - 1);
    return q;
  } else {
    return a / o;
  }
}
// Remainder with the sign of o; a when o == 0.
template <class T> __device__ __forceinline__ T py_rem(T a, T o) {
  if (o == 0) return a;
  if constexpr (Cat<T>::v == 2) {
    if (o == (T)-1) return 0;
    T r = a % o;
    if (r != 0 && ((r < 0) != (o < 0))) r = w_add(r, o);
    return r;
  } else {
    return a % o;
  }
}
// Wrapping power; 0 for negative exponents.
template <class T> __device__ __forceinline__ T w_pow(T base, T e) {
  if constexpr (Cat<T>::v == 2) {
    if (e < 0) return 0;
  }
  u64 b = (u64)base, acc = 1;
  u64 k = (u64)e;
  while (k != 0) {
    if (k & 1) acc = acc * b;
    b = b * b;
    k >>= 1;
  }
  return (T)acc;
}
template <class T> __device__ __forceinline__ T w_shl(T a, T o) {
  if constexpr (Cat<T>::v == 2) {
    if (o < 0) return 0;
  }
  if ((u64)o >= sizeof(T) * 8) return 0;
  return (T)((u64)a << (int)o);
}
template <class T> __device__ __forceinline__ T w_shr(T a, T o) {
  bool neg = false;
  if constexpr (Cat<T>::v == 2) {
    neg = a < 0;
    if (o < 0) return neg ? (T)-1 : (T)0;
  }
  if ((u64)o >= sizeof(T) * 8) return neg ? (T)-1 : (T)0;
  return (T)(a >> (int)o);
}

// ---- complex64 (num_complex's formulas) ---------------------------------------------------

__device__ __forceinline__ c64 cx(float re, float im) { return c64{re, im}; }
__device__ __forceinline__ c64 c_scale(c64 z, float k) { return c64{z.re * k, z.im * k}; }
__device__ __forceinline__ float c_norm(c64 z) { return hypotf(z.re, z.im); }
__device__ __forceinline__ float c_arg(c64 z) { return atan2f(z.im, z.re); }
__device__ __forceinline__ c64 c_polar(float r, float t) { return c64{r * cosf(t), r * sinf(t)}; }
// num_complex's `Div`.
__device__ __forceinline__ c64 c_div_plain(c64 a, c64 b) {
  float ns = b.re * b.re + b.im * b.im;
  return c64{(a.re * b.re + a.im * b.im) / ns, (a.im * b.re - a.re * b.im) / ns};
}
// C-like division: a non-zero number over zero gives infinities (CPU `c_div`).
__device__ __forceinline__ c64 c_div(c64 x, c64 y) {
  c64 q = c_div_plain(x, y);
  if (q.re != q.re && q.im != q.im && y.re == 0.0f && y.im == 0.0f &&
      !(x.re != x.re || x.im != x.im)) {
    float s = copysignf(__int_as_float(0x7f800000), y.re);
    return c64{s * x.re, s * x.im};
  }
  return q;
}
__device__ __forceinline__ c64 c_inv(c64 z) {
  float ns = z.re * z.re + z.im * z.im;
  return c64{z.re / ns, -z.im / ns};
}
__device__ __forceinline__ bool c_lt(c64 x, c64 y) {
  return x.re < y.re || (x.re == y.re && x.im < y.im);
}
__device__ __forceinline__ c64 c_exp(c64 z) {
  float re = z.re, im = z.im;
  bool re_inf = isinf(re);
  if (re_inf) {
    if (re < 0.0f) {
      if (!isfinite(im)) return c64{0.0f, 0.0f};
    } else if (im == 0.0f || !isfinite(im)) {
      if (isinf(im)) im = __int_as_float(0x7fc00000);
      return c64{re, im};
    }
  } else if (re != re && im == 0.0f) {
    return z;
  }
  return c_polar(expf(re), im);
}
__device__ __forceinline__ c64 c_log(c64 z) { return c64{logf(c_norm(z)), c_arg(z)}; }
__device__ __forceinline__ c64 c_sqrt(c64 z) {
  if (z.im == 0.0f) {
    if (!signbit(z.re)) return c64{sqrtf(z.re), z.im};
    float im = sqrtf(-z.re);
    return signbit(z.im) ? c64{0.0f, -im} : c64{0.0f, im};
  }
  if (z.re == 0.0f) {
    float x = sqrtf(fabsf(z.im) / 2.0f);
    return signbit(z.im) ? c64{x, -x} : c64{x, x};
  }
  return c_polar(sqrtf(c_norm(z)), c_arg(z) / 2.0f);
}
__device__ __forceinline__ c64 c_sin(c64 z) {
  return c64{sinf(z.re) * coshf(z.im), cosf(z.re) * sinhf(z.im)};
}
__device__ __forceinline__ c64 c_cos(c64 z) {
  return c64{cosf(z.re) * coshf(z.im), -sinf(z.re) * sinhf(z.im)};
}
__device__ __forceinline__ c64 c_tan(c64 z) {
  float a = z.re + z.re, b = z.im + z.im;
  float d = cosf(a) + coshf(b);
  return c64{sinf(a) / d, sinhf(b) / d};
}
__device__ __forceinline__ c64 c_sinh(c64 z) {
  return c64{sinhf(z.re) * cosf(z.im), coshf(z.re) * sinf(z.im)};
}
__device__ __forceinline__ c64 c_cosh(c64 z) {
  return c64{coshf(z.re) * cosf(z.im), sinhf(z.re) * sinf(z.im)};
}
__device__ __forceinline__ c64 c_tanh(c64 z) {
  float a = z.re + z.re, b = z.im + z.im;
  float d = coshf(a) + cosf(b);
  return c64{sinhf(a) / d, sinf(b) / d};
}
// i * w and -i * w.
__device__ __forceinline__ c64 c_mul_i(c64 w) { return c64{-w.im, w.re}; }
__device__ __forceinline__ c64 c_mul_neg_i(c64 w) { return c64{w.im, -w.re}; }
__device__ __forceinline__ c64 c_one() { return c64{1.0f, 0.0f}; }
__device__ __forceinline__ c64 c_asin(c64 z) {
  return c_mul_neg_i(c_log(c_sqrt(c_one() - z * z) + c_mul_i(z)));
}
__device__ __forceinline__ c64 c_acos(c64 z) {
  return c_mul_neg_i(c_log(z + c_mul_i(c_sqrt(c_one() - z * z))));
}
__device__ __forceinline__ c64 c_atan(c64 z) {
  float inf = __int_as_float(0x7f800000);
  if (z.re == 0.0f && z.im == 1.0f) return c64{0.0f, inf};
  if (z.re == 0.0f && z.im == -1.0f) return c64{0.0f, -inf};
  c64 iz = c_mul_i(z);
  return c_div_plain(c_log(c_one() + iz) - c_log(c_one() - iz), c64{0.0f, 2.0f});
}
__device__ __forceinline__ c64 c_asinh(c64 z) { return c_log(z + c_sqrt(c_one() + z * z)); }
// 2 ln(sqrt((z+1)/2) + sqrt((z-1)/2)) with complex division and product by 2 + 0i, as
// the CPU (num-complex) does, so special values (infinities) give the same NaNs.
__device__ __forceinline__ c64 c_acosh(c64 z) {
  c64 two = c64{2.0f, 0.0f};
  c64 a = c_sqrt(c_div_plain(z + c_one(), two));
  c64 b = c_sqrt(c_div_plain(z - c_one(), two));
  return two * c_log(a + b);
}
__device__ __forceinline__ c64 c_atanh(c64 z) {
  float inf = __int_as_float(0x7f800000);
  if (z.re == 1.0f && z.im == 0.0f) return c64{inf, 0.0f};
  if (z.re == -1.0f && z.im == 0.0f) return c64{-inf, 0.0f};
  return c_scale(c_log(c_one() + z) - c_log(c_one() - z), 0.5f);
}
__device__ __forceinline__ c64 c_pow(c64 x, c64 y) { return c_exp(y * c_log(x)); }

// ---- ordering (max/min/argmax; NaN handled by the callers) ---------------------------------

template <class T> struct Limits;
#define MLXR_LIM(T, LO, HI)                                                      \
  template <> struct Limits<T> {                                                 \
    __device__ static __forceinline__ T lowest() { return LO; }                  \
    __device__ static __forceinline__ T highest() { return HI; }                 \
  };
MLXR_LIM(bool, false, true)
MLXR_LIM(u8, 0, 0xff)
MLXR_LIM(u16, 0, 0xffff)
MLXR_LIM(u32, 0u, 0xffffffffu)
MLXR_LIM(u64, 0ull, 0xffffffffffffffffull)
MLXR_LIM(i8, -128, 127)
MLXR_LIM(i16, -32768, 32767)
MLXR_LIM(i32, (i32)0x80000000, 0x7fffffff)
MLXR_LIM(i64, (i64)0x8000000000000000ull, 0x7fffffffffffffffll)
MLXR_LIM(float, __int_as_float(0xff800000), __int_as_float(0x7f800000))
MLXR_LIM(double, __longlong_as_double(0xfff0000000000000ll),
         __longlong_as_double(0x7ff0000000000000ll))
MLXR_LIM(f16, (f16{0xfc00}), (f16{0x7c00}))
MLXR_LIM(bf16, (bf16{0xff80}), (bf16{0x7f80}))
MLXR_LIM(c64, (c64{__int_as_float(0xff800000), __int_as_float(0xff800000)}),
         (c64{__int_as_float(0x7f800000), __int_as_float(0x7f800000)}))
#undef MLXR_LIM

template <class T> __device__ __forceinline__ bool gt(T a, T b) {
  if constexpr (Cat<T>::v == 0) return a && !b;
  else if constexpr (Cat<T>::v == 4) return c_lt(b, a);
  else return a > b;
}
template <class T> __device__ __forceinline__ bool lt(T a, T b) {
  if constexpr (Cat<T>::v == 0) return !a && b;
  else if constexpr (Cat<T>::v == 4) return c_lt(a, b);
  else return a < b;
}

// ---- warp shuffles of any element type ------------------------------------------------------

template <class T> __device__ __forceinline__ T shfl_down(T v, int off) {
  if constexpr (sizeof(T) == 8) {
    union {
      T v;
      unsigned long long b;
    } u;
    u.v = v;
    u.b = __shfl_down_sync(0xffffffffu, u.b, off);
    return u.v;
  } else {
    union {
      T v;
      unsigned b;
    } u;
    u.b = 0;
    u.v = v;
    u.b = __shfl_down_sync(0xffffffffu, u.b, off);
    return u.v;
  }
}

}  // namespace mlxr
