// scan.cu: scans and 1-D convolution, the GPU twin of backend/cpu/scan.rs.
//
// Scans accumulate in the element type with the CPU's `Arith` semantics: integers wrap,
// bool `+` is `or` and `*` is `and`, f16/bf16 compute in float and round every step,
// complex compares lexicographically; max/min propagate the first NaN. The input is
// row-contiguous, seen as [outer, n, inner] with the scanned axis in the middle:
//   scan_row<.., TPR>  inner == 1: TPR threads per row (32: a warp per row, 256: a block
//                      per row). Each thread takes VT consecutive elements of a chunk of
//                      TPR * VT, reduces them, the group scans the thread totals (warp
//                      shuffles, then shared memory across warps), and each thread writes
//                      its elements sequentially from its prefix; the chunk's total
//                      carries into the next chunk;
//   scan_col           inner > 1: one thread per (outer, inner) column walking the axis,
//                      adjacent threads on adjacent columns (coalesced); the CPU's exact
//                      order of operations.
// When there are too few rows (columns) to fill the GPU, the axis is cut into segments
// and three launches of the same kernels run a segmented scan: segment totals (no
// output), an exclusive scan of the totals, then each segment from its carry-in.
// `reverse` scans from the end; an exclusive scan writes the accumulation before the
// element. convolve_full: one thread per output, summing in the CPU's order and precision
// with explicitly rounded operations, so the result equals the CPU's bit for bit.
#include "math.cuh"

namespace mlxr {

// ---- element arithmetic (backend/cpu/scan.rs `Arith`) -----------------------------------

// Rust's saturating float -> integer `as` (NaN -> 0).
template <class T> __device__ __forceinline__ T sat_int(double v) {
  if (v != v) return (T)0;
  if (v <= (double)Limits<T>::lowest()) return Limits<T>::lowest();
  if (v >= (double)Limits<T>::highest()) return Limits<T>::highest();
  if constexpr (Cat<T>::v == 1) return (T)__double2ull_rz(v);
  else return (T)__double2ll_rz(v);
}

__device__ __forceinline__ float lae(float a, float b) {
  if (a != a || b != b) return __int_as_float(0x7fc00000);
  float mx = a > b ? a : b, mn = a > b ? b : a;
  if (mn == __int_as_float(0xff800000) || mx == __int_as_float(0x7f800000)) return mx;
  return mx + log1pf(expf(mn - mx));
}
__device__ __forceinline__ double lae(double a, double b) {
  if (a != a || b != b) return __longlong_as_double(0x7ff8000000000000ll);
  double mx = a > b ? a : b, mn = a > b ? b : a;
  if (mn == __longlong_as_double(0xfff0000000000000ll) ||
      mx == __longlong_as_double(0x7ff0000000000000ll))
    return mx;
  return mx + log1p(exp(mn - mx));
}

struct ScanSum {
  template <class T> __device__ static __forceinline__ T init() { return T{}; }
  template <class T> __device__ static __forceinline__ T apply(T a, T b) {
    if constexpr (Cat<T>::v == 0) return a || b;
    else if constexpr (Cat<T>::v == 1 || Cat<T>::v == 2) return w_add(a, b);
    else return a + b;
  }
};

struct ScanProd {
  template <class T> __device__ static __forceinline__ T init() { return cast<T>(true); }
  template <class T> __device__ static __forceinline__ T apply(T a, T b) {
    if constexpr (Cat<T>::v == 0) return a && b;
    else if constexpr (Cat<T>::v == 1 || Cat<T>::v == 2) return w_mul(a, b);
    else return a * b;
  }
};

struct ScanMax {
  template <class T> __device__ static __forceinline__ T init() { return Limits<T>::lowest(); }
  template <class T> __device__ static __forceinline__ T apply(T a, T b) {
    if (is_nan(a)) return a;
    return (is_nan(b) || gt(b, a)) ? b : a;
  }
};

struct ScanMin {
  template <class T> __device__ static __forceinline__ T init() { return Limits<T>::highest(); }
  template <class T> __device__ static __forceinline__ T apply(T a, T b) {
    if (is_nan(a)) return a;
    return (is_nan(b) || lt(b, a)) ? b : a;
  }
};

struct ScanLogAddExp {
  template <class T> __device__ static __forceinline__ T init() { return Limits<T>::lowest(); }
  template <class T> __device__ static __forceinline__ T apply(T a, T b) {
    if constexpr (Cat<T>::v == 0) {
      return a || b;
    } else if constexpr (Cat<T>::v == 1 || Cat<T>::v == 2) {
      return sat_int<T>(lae((double)a, (double)b));
    } else if constexpr (Cat<T>::v == 4) {
      if (is_nan(a) || is_nan(b)) {
        float nan = __int_as_float(0x7fc00000);
        return c64{nan, nan};
      }
      c64 mx = a.re > b.re ? a : b, mn = a.re > b.re ? b : a;
      if (mn.re == __int_as_float(0xff800000)) return mx;
      return mx + c_log(c_exp(mn - mx) + c_one());
    } else {
      return down<T>(lae(up(a), up(b)));
    }
  }
};

// ---- warp shuffles of any element type ---------------------------------------------------

template <class T> __device__ __forceinline__ T shfl_up_any(T v, int off) {
  if constexpr (sizeof(T) == 8) {
    union {
      T v;
      unsigned long long b;
    } u;
    u.v = v;
    u.b = __shfl_up_sync(0xffffffffu, u.b, off);
    return u.v;
  } else {
    union {
      T v;
      unsigned b;
    } u;
    u.b = 0;
    u.v = v;
    u.b = __shfl_up_sync(0xffffffffu, u.b, off);
    return u.v;
  }
}

template <class T> __device__ __forceinline__ T shfl_any(T v, int lane) {
  if constexpr (sizeof(T) == 8) {
    union {
      T v;
      unsigned long long b;
    } u;
    u.v = v;
    u.b = __shfl_sync(0xffffffffu, u.b, lane);
    return u.v;
  } else {
    union {
      T v;
      unsigned b;
    } u;
    u.b = 0;
    u.v = v;
    u.b = __shfl_sync(0xffffffffu, u.b, lane);
    return u.v;
  }
}

// Elements per thread and chunk: 16 bytes' worth, at least 4.
template <class T> struct ScanVt {
  static constexpr int v = 16 / (int)sizeof(T) < 4 ? 4 : 16 / (int)sizeof(T);
};

// ---- row scans (contiguous axis) ----------------------------------------------------------

// Scan the rows of length n. A *unit* is segment `u % segs` (positions [seg * seg_len,
// min(n, (seg + 1) * seg_len)) in scan order) of row `u / segs`; `units` = rows * segs.
// A unit starts from `carry_in[u]` when given (else the identity), writes its outputs
// when `y` is given, and its total (carry included) to `totals[u]` when given — the
// passes of a segmented scan of rows too few to fill the GPU. blockDim.x must be 256 (a
// multiple of TPR); TPR == 32 gives each warp its own units, TPR == 256 each block.
template <class Op, class T, class Idx, int TPR>
__global__ void scan_row(const T* x, T* y, const T* carry_in, T* totals, Idx units, Idx n,
                         Idx seg_len, Idx segs, int reverse, int inclusive) {
  constexpr int VT = ScanVt<T>::v;
  constexpr int W = TPR / 32;  // warps per unit
  constexpr Idx C = (Idx)TPR * VT;
  const int groups = blockDim.x / TPR;
  const int g = threadIdx.x / TPR;
  const int t = threadIdx.x % TPR;
  const int lane = threadIdx.x & 31;
  const int w = t >> 5;
  const Idx step = (Idx)gridDim.x * groups;
  // Block-uniform trip count when TPR == blockDim.x (the __syncthreads below need it).
  for (Idx u0 = (Idx)blockIdx.x * groups; u0 < units; u0 += step) {
    const Idx u = u0 + g;
    if (TPR == 32 && u >= units) break;
    const Idx row = u / segs;
    const Idx base = row * n;
    const Idx lo = (u - row * segs) * seg_len;
    const Idx hi = n - lo < seg_len ? n : lo + seg_len;
    T carry = carry_in ? carry_in[u] : Op::template init<T>();
    for (Idx cb = lo; cb < hi; cb += C) {
      T v[VT];
      T local = Op::template init<T>();
      const Idx p0 = cb + (Idx)t * VT;
#pragma unroll
      for (int k = 0; k < VT; ++k) {
        Idx p = p0 + k;
        if (p < hi) {
          v[k] = x[base + (reverse ? n - 1 - p : p)];
          local = Op::apply(local, v[k]);
        }
      }
      // Inclusive scan of the thread totals within the warp.
      T incl = local;
#pragma unroll
      for (int off = 1; off < 32; off <<= 1) {
        T o = shfl_up_any(incl, off);
        if (lane >= off) incl = Op::apply(o, incl);
      }
      T excl = shfl_up_any(incl, 1);
      if (lane == 0) excl = Op::template init<T>();
      T prefix;
      T total;
      if constexpr (W == 1) {
        prefix = Op::apply(carry, excl);
        total = shfl_any(incl, 31);
      } else {
        __shared__ T wsum[W];
        if (lane == 31) wsum[w] = incl;
        __syncthreads();
        T wp = Op::template init<T>();
        total = Op::template init<T>();
#pragma unroll
        for (int i = 0; i < W; ++i) {
          if (i < w) wp = Op::apply(wp, wsum[i]);
          total = Op::apply(total, wsum[i]);
        }
        __syncthreads();
        prefix = Op::apply(carry, Op::apply(wp, excl));
      }
      if (y) {
        T acc = prefix;
#pragma unroll
        for (int k = 0; k < VT; ++k) {
          Idx p = p0 + k;
          if (p < hi) {
            Idx at = base + (reverse ? n - 1 - p : p);
            if (inclusive) {
              acc = Op::apply(acc, v[k]);
              y[at] = acc;
            } else {
              y[at] = acc;
              acc = Op::apply(acc, v[k]);
            }
          }
        }
      }
      carry = Op::apply(carry, total);
    }
    if (totals && t == 0) totals[u] = carry;
  }
}

// ---- column scans (strided axis) ----------------------------------------------------------

// Scan [outer, n, inner] along n, one thread per unit: unit u is (o, seg, i) with
// u = (o * segs + seg) * inner + i, covering positions [seg * seg_len, min(n, (seg + 1) *
// seg_len)) of column (o, i); `carry_in`, `y` and `totals` as in scan_row.
template <class Op, class T, class Idx>
__global__ void scan_col(const T* x, T* y, const T* carry_in, T* totals, Idx outer, Idx n,
                         Idx inner, Idx seg_len, Idx segs, int reverse, int inclusive) {
  const Idx per_o = segs * inner;
  const Idx units = outer * per_o;
  for (Idx u = (Idx)blockIdx.x * blockDim.x + threadIdx.x; u < units;
       u += (Idx)gridDim.x * blockDim.x) {
    Idx o = u / per_o;
    Idx rem = u - o * per_o;
    Idx seg = rem / inner;
    Idx base = o * n * inner + (rem - seg * inner);
    Idx lo = seg * seg_len;
    Idx hi = n - lo < seg_len ? n : lo + seg_len;
    T acc = carry_in ? carry_in[u] : Op::template init<T>();
    for (Idx s = lo; s < hi; ++s) {
      Idx at = base + (reverse ? n - 1 - s : s) * inner;
      T v = x[at];
      if (!y) {
        acc = Op::apply(acc, v);
      } else if (inclusive) {
        acc = Op::apply(acc, v);
        y[at] = acc;
      } else {
        y[at] = acc;
        acc = Op::apply(acc, v);
      }
    }
    if (totals) totals[u] = acc;
  }
}

// ---- convolution ---------------------------------------------------------------------

// Full 1-D convolution y[k] = Σ_j a[j] v[k - j] of a (length n, stride sa) and v (length
// m, stride sv); float accumulation (double for double), in the CPU's order.
template <class T, class Idx>
__global__ void convolve_full(const T* a, const T* v, T* y, Idx n, Idx m, Idx sa, Idx sv) {
  Idx len = n + m - 1;
  for (Idx k = (Idx)blockIdx.x * blockDim.x + threadIdx.x; k < len;
       k += (Idx)gridDim.x * blockDim.x) {
    Idx j0 = k >= m - 1 ? k - (m - 1) : 0;
    Idx j1 = k < n - 1 ? k : n - 1;
    if constexpr (is_same<T, double>::value) {
      double s = 0.0;
      for (Idx j = j0; j <= j1; ++j) s = __dadd_rn(s, __dmul_rn(a[j * sa], v[(k - j) * sv]));
      y[k] = s;
    } else {
      float s = 0.0f;
      for (Idx j = j0; j <= j1; ++j)
        s = __fadd_rn(s, __fmul_rn(up(a[j * sa]), up(v[(k - j) * sv])));
      y[k] = Conv<T>::from_f64((double)s);
    }
  }
}

}  // namespace mlxr
