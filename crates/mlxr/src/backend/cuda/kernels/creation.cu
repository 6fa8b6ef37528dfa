// creation.cu: array-creation kernels, the GPU twin of backend/cpu/creation.rs. Every
// kernel writes a fresh row-contiguous output with a grid-stride loop:
//   fill        one value everywhere (by element width; 16-byte stores when aligned);
//   arange_int  integers: start + i * step with wrapping 64-bit arithmetic (exactly the
//               CPU's wrapping accumulation), converted like `from_i64`;
//   arange_fast floats whose accumulation never rounds (checked on the host): the value
//               `start + i * step` is exact, computed with one fma in double;
//   arange_seq  floats otherwise: one thread repeats the CPU's accumulation step by step
//               (the rounding of each step makes it inherently sequential);
//   linspace    `start * (1 - t) + stop * t`, t = i / (num - 1), in float (double for a
//               float64 output) with explicitly rounded operations (no fma contraction),
//               so the values equal the CPU's bit for bit;
//   eye_tri     ones where `col - row == k` (eye) or `<= k` (tri).
#include "elementwise.cuh"

namespace mlxr {

// 16 bytes stored at once.
struct __align__(16) Vec16 {
  unsigned long long lo, hi;
};

// y[0..n) = v[0]. T is the unsigned integer of the element's width. With `vec`, y is
// 16-byte aligned and whole 16-byte groups are stored as one vector.
template <class T, class Idx>
__global__ void fill(const T* v, T* y, Idx n, int vec) {
  T x = *v;
  Idx start = 0;
  if (vec) {
    constexpr int K = 16 / sizeof(T);
    union {
      T e[K];
      Vec16 u;
    } p;
#pragma unroll
    for (int k = 0; k < K; ++k) p.e[k] = x;
    Idx nv = n / K;
    Vec16* y16 = reinterpret_cast<Vec16*>(y);
    for (Idx i = thread_index<Idx>(); i < nv; i += thread_count<Idx>()) y16[i] = p.u;
    start = nv * K;
  }
  for (Idx i = start + thread_index<Idx>(); i < n; i += thread_count<Idx>()) y[i] = x;
}

// Integer arange: value i is s0 + i * st with 64-bit wrapping, then wrapped into T.
template <class T, class Idx>
__global__ void arange_int(T* y, long long s0, long long st, Idx n) {
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>()) {
    u64 v = (u64)s0 + (u64)i * (u64)st;
    y[i] = Conv<T>::from_i64((i64)v);
  }
}

// Store a float value (exactly representable in T when called from arange_fast).
template <class T> __device__ __forceinline__ T from_value(double v) {
  if constexpr (Cat<T>::v == 4) return c64{(float)v, 0.0f};
  else return Conv<T>::from_f64(v);
}

// Float arange without rounding: s0 + i * st is exact (one fma, then an exact conversion).
template <class T, class Idx>
__global__ void arange_fast(T* y, double s0, double st, Idx n) {
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = from_value<T>(fma((double)i, st, s0));
}

// Float arange with the CPU's step-by-step accumulation (one thread). `s0`/`st` are the
// start and step already converted to T (as doubles).
template <class T, class Idx>
__global__ void arange_seq(T* y, double s0, double st, Idx n) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  if constexpr (Cat<T>::v == 4) {
    float v = (float)s0, s = (float)st;
    for (Idx i = 0; i < n; ++i) {
      y[i] = c64{v, 0.0f};
      v = __fadd_rn(v, s);
    }
  } else {
    T v = Conv<T>::from_f64(s0);
    double s = st;
    for (Idx i = 0; i < n; ++i) {
      y[i] = v;
      v = Conv<T>::from_f64(__dadd_rn(to_f64(v), s));
    }
  }
}

// linspace computed in float and converted to T (every dtype but float64).
template <class T, class Idx>
__global__ void linspace_f32(T* y, float s, float e, Idx num) {
  float den = __ll2float_rn((long long)(num - 1));
  for (Idx i = thread_index<Idx>(); i < num; i += thread_count<Idx>()) {
    float v = s;
    if (num != 1) {
      float t = __fdiv_rn(__ll2float_rn((long long)i), den);
      v = __fadd_rn(__fmul_rn(s, __fsub_rn(1.0f, t)), __fmul_rn(e, t));
    }
    y[i] = cast<T>(v);
  }
}

// linspace of a float64 output, computed in double.
template <class Idx>
__global__ void linspace_f64(double* y, double s, double e, Idx num) {
  double den = __ll2double_rn((long long)(num - 1));
  for (Idx i = thread_index<Idx>(); i < num; i += thread_count<Idx>()) {
    double v = s;
    if (num != 1) {
      double t = __ddiv_rn(__ll2double_rn((long long)i), den);
      v = __dadd_rn(__dmul_rn(s, __dsub_rn(1.0, t)), __dmul_rn(e, t));
    }
    y[i] = v;
  }
}

// An n x m matrix with ones where `col - row == k` (tri == 0) or `col - row <= k`
// (tri != 0), zeros elsewhere.
template <class T, class Idx>
__global__ void eye_tri(T* y, Idx n, Idx m, long long k, int tri) {
  T one = cast<T>(true);
  T zero{};
  Idx total = n * m;
  for (Idx i = thread_index<Idx>(); i < total; i += thread_count<Idx>()) {
    Idx r = i / m;
    Idx c = i - r * m;
    long long d = (long long)c - (long long)r;
    bool keep = tri ? d <= k : d == k;
    y[i] = keep ? one : zero;
  }
}

}  // namespace mlxr
