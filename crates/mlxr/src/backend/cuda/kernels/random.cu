// random.cu: random bits (threefry2x32 with MLX's key/counter layout) and the kernels
// mapping bits to MLX's distributions, the GPU twin of backend/cpu/random.rs. Every
// formula replays the CPU's step by step: arithmetic in double rounded to the output
// type after each op, written with the _rn intrinsics so that nothing is contracted into
// an FMA the CPU does not use; MLX's exp / erf / erfinv approximations with the CPU's
// FMAs. `log`/`log1p` of float32 values go through double and are rounded once (the
// CPU calls glibc's logf/log1pf, which are within an ulp of that), so transformed
// samples may differ from the CPU's in the last bit in rare cases; bits are identical.
#include "cast.cuh"

namespace mlxr {

// ---- threefry2x32 ------------------------------------------------------------------------

__device__ __forceinline__ unsigned rotl(unsigned x, unsigned r) { return (x << r) | (x >> (32u - r)); }

// The threefry2x32 hash (20 rounds) of counter (c0, c1) under key (k0, k1).
__device__ __forceinline__ void threefry(unsigned k0, unsigned k1, unsigned c0, unsigned c1,
                                         unsigned& r0, unsigned& r1) {
  const unsigned rot[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
  unsigned ks[3] = {k0, k1, k0 ^ k1 ^ 0x1BD11BDAu};
  unsigned x0 = c0 + ks[0], x1 = c1 + ks[1];
#pragma unroll
  for (int i = 0; i < 5; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      x0 += x1;
      x1 = rotl(x1, rot[i % 2][j]) ^ x0;
    }
    x0 += ks[(i + 1) % 3];
    x1 += ks[(i + 2) % 3] + (unsigned)(i + 1);
  }
  r0 = x0;
  r1 = x1;
}

// Word `w` (little-endian) of an `nbytes` output: whole words are one store, the last
// partial word is written byte by byte.
__device__ __forceinline__ void put_word(unsigned char* out, unsigned long long w, unsigned v,
                                         unsigned long long nbytes) {
  unsigned long long at = 4ull * w;
  if (at + 4 <= nbytes) {
    *(unsigned*)(out + at) = v;
  } else {
    for (unsigned long long b = at; b < nbytes; ++b) out[b] = (unsigned char)(v >> (8 * (b - at)));
  }
}

// MLX's random bits of `nbytes` bytes for the key at key[0], key[kstride]: with
// words = ceil(nbytes / 4), half = words / 2, odd = words % 2, the pair
// (w[i], w[half + odd + i]) = threefry(key, (i, half + odd + i)) and, when odd,
// w[half] = threefry(key, (half, 0))[0]. Thread i < half + odd does pair i.
__global__ void random_bits(const unsigned* key, long long kstride, unsigned char* out,
                            unsigned long long nbytes) {
  unsigned k0 = key[0], k1 = key[kstride];
  unsigned long long words = (nbytes + 3) / 4;
  unsigned long long half = words / 2, odd = words % 2;
  unsigned long long n = half + odd;
  for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (unsigned long long)gridDim.x * blockDim.x) {
    unsigned r0, r1;
    if (i < half) {
      unsigned long long j = half + odd + i;
      threefry(k0, k1, (unsigned)i, (unsigned)j, r0, r1);
      put_word(out, i, r0, nbytes);
      put_word(out, j, r1, nbytes);
    } else {
      threefry(k0, k1, (unsigned)half, 0u, r0, r1);
      put_word(out, half, r0, nbytes);
    }
  }
}

// ---- MLX's float approximations (backend/cpu/random.rs) --------------------------------

__device__ __forceinline__ float r_logf(float x) { return (float)log((double)x); }
__device__ __forceinline__ float r_log1pf(float x) { return (float)log1p((double)x); }

__device__ __forceinline__ float mlx_exp(float x0) {
  float x = __fmul_rn(x0, 1.442695f);
  float ip = floorf(__fadd_rn(x, 0.5f));
  float fp = __fsub_rn(x, ip);
  float p = 1.535336188319500e-4f;
  p = __fmaf_rn(p, fp, 1.339887440266574e-3f);
  p = __fmaf_rn(p, fp, 9.618437357674640e-3f);
  p = __fmaf_rn(p, fp, 5.550332471162809e-2f);
  p = __fmaf_rn(p, fp, 2.402264791363012e-1f);
  p = __fmaf_rn(p, fp, 6.931472028550421e-1f);
  p = __fmaf_rn(p, fp, 1.0f);
  int ii = __float2int_rz(ip);  // saturating, NaN -> 0 (as Rust's `as i32`)
  unsigned e = ((unsigned)ii + 127u) << 23;
  float r = x0 != x0 ? x0 : __fmul_rn(__uint_as_float(e), p);
  if (x0 > 88.0f) return __int_as_float(0x7f800000);
  if (x0 < -88.0f) return 0.0f;
  return r;
}

__device__ __forceinline__ float mlx_erf(float v) {
  float t = __fdiv_rn(1.0f, __fmaf_rn(0.3275911f, fabsf(v), 1.0f));
  float r = __fmaf_rn(1.061405429f, t, -1.453152027f);
  r = __fmaf_rn(r, t, 1.421413741f);
  r = __fmaf_rn(r, t, -0.284496736f);
  r = __fmaf_rn(r, t, 0.254829592f);
  float e = -mlx_exp(__fmul_rn(-v, v));
  float res = __fmaf_rn(__fmul_rn(e, t), r, 1.0f);
  return v > 0.0f ? res : -res;
}

__device__ __forceinline__ float mlx_erfinv(float a) {
  float t = r_logf(__fmaf_rn(a, __fsub_rn(0.0f, a), 1.0f));
  float p;
  if (fabsf(t) > 6.125f) {
    p = 3.03697567e-10f;
    p = __fmaf_rn(p, t, 2.93243101e-8f);
    p = __fmaf_rn(p, t, 1.22150334e-6f);
    p = __fmaf_rn(p, t, 2.84108955e-5f);
    p = __fmaf_rn(p, t, 3.93552968e-4f);
    p = __fmaf_rn(p, t, 3.02698812e-3f);
    p = __fmaf_rn(p, t, 4.83185798e-3f);
    p = __fmaf_rn(p, t, -2.64646143e-1f);
    p = __fmaf_rn(p, t, 8.40016484e-1f);
  } else {
    p = 5.43877832e-9f;
    p = __fmaf_rn(p, t, 1.43285448e-7f);
    p = __fmaf_rn(p, t, 1.22774793e-6f);
    p = __fmaf_rn(p, t, 1.12963626e-7f);
    p = __fmaf_rn(p, t, -5.61530760e-5f);
    p = __fmaf_rn(p, t, -1.47697632e-4f);
    p = __fmaf_rn(p, t, 2.31468678e-3f);
    p = __fmaf_rn(p, t, 1.15392581e-2f);
    p = __fmaf_rn(p, t, -2.32015476e-1f);
    p = __fmaf_rn(p, t, 8.86226892e-1f);
  }
  return __fmul_rn(a, p);
}

// ---- rounding to the output type (the CPU's `RFloat`) ---------------------------------

// Round a double to T (f16 / bf16 through float).
template <class T> __device__ __forceinline__ T rnd(double x) {
  if constexpr (is_same<T, double>::value) return x;
  else if constexpr (is_same<T, float>::value) return (float)x;
  else if constexpr (is_same<T, f16>::value) return f32_to_f16((float)x);
  else return f32_to_bf16((float)x);
}
template <class T> __device__ __forceinline__ double val(T x) { return to_f64(x); }
// The largest value below 1 in T.
template <class T> __device__ __forceinline__ double below_one() {
  if constexpr (is_same<T, double>::value) return 1.0 - 1.1102230246251565e-16;
  else if constexpr (is_same<T, float>::value) return (double)(1.0f - 5.9604645e-8f);
  else if constexpr (is_same<T, f16>::value) return 0.99951171875;
  else return 0.99609375;
}
template <class T> __device__ __forceinline__ T t_log(T x) {
  if constexpr (is_same<T, double>::value) return log(x);
  else return rnd<T>((double)r_logf((float)val(x)));
}
template <class T> __device__ __forceinline__ T t_erf(T x) {
  return rnd<T>((double)mlx_erf((float)val(x)));
}
template <class T> __device__ __forceinline__ T t_erfinv(T x) {
  return rnd<T>((double)mlx_erfinv((float)val(x)));
}

// MLX's uniform sample in [0, 1) of type T from 32 bits.
template <class T> __device__ __forceinline__ T unit(unsigned b) {
  float s = __fdiv_rn(__uint2float_rn(b), 4294967296.0f);
  T r = rnd<T>((double)s);
  double lim = below_one<T>();
  return val(r) > lim ? rnd<T>(lim) : r;
}

// lo + (hi - lo) * unit, each op rounded to T.
template <class T> __device__ __forceinline__ T scaled(unsigned b, T lo, T hi) {
  T range = rnd<T>(__dsub_rn(val(hi), val(lo)));
  T prod = rnd<T>(__dmul_rn(val(range), val(unit<T>(b))));
  return rnd<T>(__dadd_rn(val(prod), val(lo)));
}

__device__ __forceinline__ double param(const double* p, int scalar, long long i) {
  return p[scalar ? 0 : i];
}

// Distributions (backend/cpu/random.rs `Dist`).
enum { D_UNIFORM = 0, D_NORMAL = 1, D_TRUNC = 2, D_GUMBEL = 3, D_LAPLACE = 4 };

// out[i] = sample of `dist` from bits[i]; p0/p1 are the parameters (f64, one value when
// the matching scalar flag is set); `has_scale` / `has_loc` for normal and laplace.
template <class T>
__global__ void random_transform(const unsigned* __restrict__ bits, T* __restrict__ out,
                                 long long n, int dist, const double* p0, int s0,
                                 const double* p1, int s1, int has_scale, int has_loc) {
  const float m1 = -(1.0f - 5.9604645e-8f);
  T sqrt2 = rnd<T>(1.4142135623730951);
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    unsigned b = bits[i];
    T x;
    if (dist == D_UNIFORM) {
      x = scaled<T>(b, rnd<T>(param(p0, s0, i)), rnd<T>(param(p1, s1, i)));
    } else if (dist == D_NORMAL || dist == D_LAPLACE) {
      float u = scaled<float>(b, m1, 1.0f);
      if (dist == D_NORMAL) {
        T e = rnd<T>((double)mlx_erfinv(u));
        x = rnd<T>(__dmul_rn(val(sqrt2), val(e)));
      } else {
        float l = r_log1pf(-fabsf(u));
        float sg = u > 0.0f ? 1.0f : (u < 0.0f ? -1.0f : 0.0f);
        x = rnd<T>((double)__fmul_rn(sg, l));
      }
      const double* q = p0;
      int sq = s0;
      if (has_scale) {
        x = rnd<T>(__dmul_rn(val(x), val(rnd<T>(param(q, sq, i)))));
        q = p1;
        sq = s1;
      }
      if (has_loc) x = rnd<T>(__dadd_rn(val(x), val(rnd<T>(param(q, sq, i)))));
    } else if (dist == D_TRUNC) {
      T lo = rnd<T>(param(p0, s0, i)), hi = rnd<T>(param(p1, s1, i));
      T a = t_erf(rnd<T>(__ddiv_rn(val(lo), val(sqrt2))));
      T c = t_erf(rnd<T>(__ddiv_rn(val(hi), val(sqrt2))));
      T u = scaled<T>(b, a, c);
      x = rnd<T>(__dmul_rn(val(sqrt2), val(t_erfinv(u))));
      if (val(hi) < val(x)) x = hi;
      if (val(lo) > val(x)) x = lo;
    } else {
      T u = unit<T>(b);
      T l1 = rnd<T>(-val(t_log(u)));
      x = rnd<T>(-val(t_log(l1)));
    }
    out[i] = x;
  }
}

// uniform(float32) < p rounded to P: bool samples.
template <class P>
__global__ void bernoulli(const unsigned* __restrict__ bits, bool* __restrict__ out, long long n,
                          const double* p, int sp) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float u = unit<float>(bits[i]);
    out[i] = (double)u < val(rnd<P>(param(p, sp, i)));
  }
}

// MLX's x86-64 float -> integer conversion (the CPU's `float_to_int`).
template <class T> __device__ __forceinline__ T float_to_int(float x) {
  constexpr bool wide = is_same<T, i64>::value || is_same<T, u64>::value || is_same<T, u32>::value;
  long long v;
  if (wide) {
    v = (x != x || !(x >= -9.223372e18f && x < 9.223372e18f)) ? (long long)0x8000000000000000ull
                                                               : (long long)x;
  } else {
    v = (x != x || !(x >= -2147483648.0f && x < 2147483648.0f)) ? -2147483648ll
                                                                : (long long)(int)x;
  }
  return cast<T>((i64)v);
}

template <class T> __device__ __forceinline__ T ri_add(T a, T b) {
  if constexpr (Cat<T>::v == 0) return a || b;
  else return (T)((u64)a + (u64)b);
}
template <class T> __device__ __forceinline__ bool ri_lt(T a, T b) {
  if constexpr (Cat<T>::v == 0) return !a && b;
  else return a < b;
}
template <class T> __device__ __forceinline__ bool ri_gt(T a, T b) {
  if constexpr (Cat<T>::v == 0) return a && !b;
  else return a > b;
}

// MLX's randint: floor(uniform(low, high) in float32) converted to T, clipped to
// [low, high - 1] with the bounds converted to T (lt/ht) as MLX does.
template <class T>
__global__ void randint(const unsigned* __restrict__ bits, T* __restrict__ out, long long n,
                        const double* lf, int sl, const double* hf, int sh, const T* lt,
                        const T* ht) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float lo = (float)param(lf, sl, i), hi = (float)param(hf, sh, i);
    float u = scaled<float>(bits[i], lo, hi);
    T x = float_to_int<T>(floorf(u));
    T h1 = ri_add(ht[sh ? 0 : i], cast<T>((i64)-1));
    if (ri_lt(h1, x)) x = h1;
    T l = lt[sl ? 0 : i];
    if (ri_gt(l, x)) x = l;
    out[i] = x;
  }
}

// argmax over k of round(g + logits) along an axis (`inner` apart), first index on
// ties, NaN wins: one thread per output. `f64` selects the rounding of the sum.
__global__ void categorical(const float* __restrict__ g, const double* __restrict__ logits,
                            unsigned* __restrict__ out, long long m, long long k,
                            long long inner, int f64) {
  for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < m;
       o += (long long)gridDim.x * blockDim.x) {
    long long outer = o / inner, inn = o - outer * inner;
    long long base = outer * k * inner + inn;
    double best = 0.0;
    unsigned bi = 0;
    for (long long j = 0; j < k; ++j) {
      long long e = base + j * inner;
      double v = __dadd_rn((double)g[e], logits[e]);
      if (!f64) v = (double)(float)v;
      if (j == 0 || v > best || (v != v && best == best)) {
        best = v;
        bi = (unsigned)j;
      }
    }
    out[o] = bi;
  }
}

// out[r, j] = mean[r, j] + sum_k z[r, k] * s[r, k, j], accumulated in float in k order.
__global__ void mvn_apply(const float* __restrict__ z, const float* __restrict__ mean,
                          const float* __restrict__ s, float* __restrict__ out, long long rows,
                          long long n) {
  long long total = rows * n;
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < total;
       t += (long long)gridDim.x * blockDim.x) {
    long long r = t / n, j = t - r * n;
    const float* zr = z + r * n;
    const float* sr = s + r * n * n;
    float acc = 0.0f;
    for (long long q = 0; q < n; ++q) acc = __fadd_rn(acc, __fmul_rn(zr[q], sr[q * n + j]));
    out[t] = __fadd_rn(mean[t], acc);
  }
}

// Complex normal: float i of the output = erfinv(u_i) (* scale) (+ loc on real parts).
__global__ void complex_normal(const unsigned* __restrict__ bits, float* __restrict__ out,
                               long long n, int has_scale, float scale, int has_loc, float loc) {
  const float m1 = -(1.0f - 5.9604645e-8f);
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float x = mlx_erfinv(scaled<float>(bits[i], m1, 1.0f));
    if (has_scale) x = __fmul_rn(x, scale);
    if (has_loc && i % 2 == 0) x = __fadd_rn(x, loc);
    out[i] = x;
  }
}

}  // namespace mlxr
