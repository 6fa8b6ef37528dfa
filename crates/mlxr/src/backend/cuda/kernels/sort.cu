// sort.cu: sorting on the GPU, the twin of backend/cpu/sort.rs. Rows are row-contiguous
// (the launcher moves the sorted axis innermost). Order is NumPy's total order: NaNs
// last, -0.0 == 0.0, complex numbers lexicographic with NaN-containing ones last; every
// sort is stable (ties keep their input order), so argsort equals the CPU's exactly.
//
// - `sort_block<T, ARG, THREADS, V>`: one block sorts one tile of up to THREADS * V
//   elements in shared memory: each thread sorts its V elements in registers (odd-even
//   transposition, stable), then log2(THREADS) rounds merge pairs of sorted runs, each
//   thread producing V outputs found by a merge-path binary search.
// - `merge_pass<T, ARG, THREADS, V>`: one pass of a global merge sort for rows longer
//   than a tile: sorted runs of `width` are merged pairwise; each block produces one
//   tile of the output, loading just the two input pieces it needs.
// - `searchsorted<T>`: binary search of each value in a sorted 1-D array.
#include "common.cuh"

namespace mlxr {

// ---- the order ---------------------------------------------------------------------------

template <class T> struct Order {
  // Integers and bool.
  static __device__ __forceinline__ bool lt(T a, T b) { return a < b; }
};
template <> struct Order<float> {
  static __device__ __forceinline__ bool lt(float a, float b) {
    return !(a != a) && (b != b || a < b);
  }
};
template <> struct Order<double> {
  static __device__ __forceinline__ bool lt(double a, double b) {
    return !(a != a) && (b != b || a < b);
  }
};
template <> struct Order<f16> {
  static __device__ __forceinline__ bool lt(f16 a, f16 b) {
    return Order<float>::lt(f16_to_f32(a), f16_to_f32(b));
  }
};
template <> struct Order<bf16> {
  static __device__ __forceinline__ bool lt(bf16 a, bf16 b) {
    return Order<float>::lt(bf16_to_f32(a), bf16_to_f32(b));
  }
};
template <> struct Order<c64> {
  static __device__ __forceinline__ bool lt(c64 a, c64 b) {
    bool an = a.re != a.re || a.im != a.im;
    bool bn = b.re != b.re || b.im != b.im;
    if (an) return false;
    if (bn) return true;
    return a.re < b.re || (a.re == b.re && a.im < b.im);
  }
};

// ---- shared-memory tile sort -------------------------------------------------------------

// The tile's arrays in dynamic shared memory: values first (8-byte aligned), then the
// indices (argsort only).
template <class T> __device__ __forceinline__ T* tile_vals(unsigned char* s) {
  return reinterpret_cast<T*>(s);
}
template <class T, int TILE> __device__ __forceinline__ u32* tile_idx(unsigned char* s) {
  return reinterpret_cast<u32*>(s + sizeof(T) * TILE);
}

// Merge-path split: how many of the first `diag` outputs of merging a (la) and b (lb)
// come from a, with ties taken from a first (stability).
template <class T>
__device__ __forceinline__ int merge_split(const T* a, int la, const T* b, int lb, int diag) {
  int lo = diag > lb ? diag - lb : 0;
  int hi = diag < la ? diag : la;
  while (lo < hi) {
    int mid = (lo + hi) >> 1;
    // a[mid] goes before b[diag - 1 - mid] unless b's is strictly smaller.
    if (!Order<T>::lt(b[diag - 1 - mid], a[mid])) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Merge `cnt` outputs starting at split (i, j) into registers.
template <class T, bool ARG, int V>
__device__ __forceinline__ void merge_serial(const T* a, const u32* ai, int la, const T* b,
                                             const u32* bi, int lb, int i, int j, int cnt,
                                             T (&v)[V], u32 (&id)[V]) {
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (k < cnt) {
      bool take_a = i < la && (j >= lb || !Order<T>::lt(b[j], a[i]));
      if (take_a) {
        v[k] = a[i];
        if (ARG) id[k] = ai[i];
        ++i;
      } else {
        v[k] = b[j];
        if (ARG) id[k] = bi[j];
        ++j;
      }
    }
  }
}

// Sort the first `n` (<= THREADS * V) elements of the tile in shared memory.
template <class T, bool ARG, int THREADS, int V>
__device__ void sort_tile(T* vals, u32* idx, int n) {
  const int tid = threadIdx.x;
  T v[V];
  u32 id[V];
  int start = tid * V;
  int cnt = n - start;
  cnt = cnt < 0 ? 0 : (cnt > V ? V : cnt);
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (k < cnt) {
      v[k] = vals[start + k];
      if (ARG) id[k] = idx[start + k];
    }
  }
  // Odd-even transposition sort of the thread's elements (swaps only strictly smaller
  // right neighbours: stable).
#pragma unroll
  for (int r = 0; r < V; ++r) {
#pragma unroll
    for (int k = r & 1; k + 1 < V; k += 2) {
      if (k + 1 < cnt && Order<T>::lt(v[k + 1], v[k])) {
        T t = v[k];
        v[k] = v[k + 1];
        v[k + 1] = t;
        if (ARG) {
          u32 u = id[k];
          id[k] = id[k + 1];
          id[k + 1] = u;
        }
      }
    }
  }
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (k < cnt) {
      vals[start + k] = v[k];
      if (ARG) idx[start + k] = id[k];
    }
  }
  __syncthreads();
  for (int w = V; w < n; w *= 2) {
    if (cnt > 0) {
      int base = (start / (2 * w)) * (2 * w);
      int amid = base + w < n ? base + w : n;
      int bend = base + 2 * w < n ? base + 2 * w : n;
      int la = amid - base, lb = bend - amid;
      int diag = start - base;
      int i = merge_split<T>(vals + base, la, vals + amid, lb, diag);
      merge_serial<T, ARG, V>(vals + base, idx + base, la, vals + amid, idx + amid, lb, i,
                              diag - i, cnt, v, id);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < V; ++k) {
      if (k < cnt) {
        vals[start + k] = v[k];
        if (ARG) idx[start + k] = id[k];
      }
    }
    __syncthreads();
  }
}

// Block b sorts tile (b % tiles) of row (b / tiles): elements [t * TILE, min(t * TILE +
// TILE, n)) of a row of n. Outputs: the sorted values (`out`, unless ARG) or the indices
// within the row (`out_idx`, ARG); with `keep_vals`, ARG also writes the values (for the
// merge passes that follow).
template <class T, bool ARG, int THREADS, int V>
__global__ void __launch_bounds__(THREADS)
    sort_block(const T* __restrict__ x, T* __restrict__ out, u32* __restrict__ out_idx,
               long long n, long long tiles, int keep_vals) {
  constexpr int TILE = THREADS * V;
  extern __shared__ __align__(16) unsigned char smem[];
  T* vals = tile_vals<T>(smem);
  u32* idx = tile_idx<T, TILE>(smem);
  long long row = blockIdx.x / tiles;
  long long t0 = (blockIdx.x % tiles) * (long long)TILE;
  long long rem = n - t0;
  int len = rem < TILE ? (int)rem : TILE;
  const T* src = x + row * n + t0;
  for (int i = threadIdx.x; i < len; i += THREADS) {
    vals[i] = src[i];
    if (ARG) idx[i] = (u32)(t0 + i);
  }
  __syncthreads();
  sort_tile<T, ARG, THREADS, V>(vals, idx, len);
  long long o = row * n + t0;
  for (int i = threadIdx.x; i < len; i += THREADS) {
    if (!ARG || keep_vals) out[o + i] = vals[i];
    if (ARG) out_idx[o + i] = idx[i];
  }
}

// One merge pass over rows of n whose runs of `width` are sorted: block b writes output
// tile (b % tiles) of row (b / tiles). Thread 0 finds where the tile's output range
// starts and ends in the two runs (merge-path search in global memory); the block loads
// those pieces into shared memory and merges them there.
template <class T, bool ARG, int THREADS, int V>
__global__ void __launch_bounds__(THREADS)
    merge_pass(const T* __restrict__ xv, const u32* __restrict__ xi, T* __restrict__ yv,
               u32* __restrict__ yi, long long n, long long tiles, long long width) {
  constexpr int TILE = THREADS * V;
  extern __shared__ __align__(16) unsigned char smem[];
  T* vals = tile_vals<T>(smem);
  u32* idx = tile_idx<T, TILE>(smem);
  __shared__ long long split[2];
  long long row = blockIdx.x / tiles;
  long long o0 = (blockIdx.x % tiles) * (long long)TILE;
  long long o1 = o0 + TILE < n ? o0 + TILE : n;
  long long base = (o0 / (2 * width)) * (2 * width);
  long long amid = base + width < n ? base + width : n;
  long long bend = base + 2 * width < n ? base + 2 * width : n;
  long long la = amid - base, lb = bend - amid;
  const T* rv = xv + row * n;
  const u32* ri = ARG ? xi + row * n : nullptr;
  if (threadIdx.x < 2) {
    long long diag = (threadIdx.x == 0 ? o0 : o1) - base;
    const T* a = rv + base;
    const T* b = rv + amid;
    long long lo = diag > lb ? diag - lb : 0;
    long long hi = diag < la ? diag : la;
    while (lo < hi) {
      long long mid = (lo + hi) >> 1;
      if (!Order<T>::lt(b[diag - 1 - mid], a[mid])) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    split[threadIdx.x] = lo;
  }
  __syncthreads();
  long long i0 = split[0], i1 = split[1];
  long long j0 = (o0 - base) - i0, j1 = (o1 - base) - i1;
  int na = (int)(i1 - i0), nb = (int)(j1 - j0);
  for (int k = threadIdx.x; k < na; k += THREADS) {
    vals[k] = rv[base + i0 + k];
    if (ARG) idx[k] = ri[base + i0 + k];
  }
  for (int k = threadIdx.x; k < nb; k += THREADS) {
    vals[na + k] = rv[amid + j0 + k];
    if (ARG) idx[na + k] = ri[amid + j0 + k];
  }
  __syncthreads();
  T v[V];
  u32 id[V];
  int start = threadIdx.x * V;
  int total = na + nb;
  int cnt = total - start;
  cnt = cnt < 0 ? 0 : (cnt > V ? V : cnt);
  if (cnt > 0) {
    int i = merge_split<T>(vals, na, vals + na, nb, start);
    merge_serial<T, ARG, V>(vals, idx, na, vals + na, idx + na, nb, i, start - i, cnt, v, id);
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (k < cnt) {
      vals[start + k] = v[k];
      if (ARG) idx[start + k] = id[k];
    }
  }
  __syncthreads();
  long long o = row * n + o0;
  for (int k = threadIdx.x; k < total; k += THREADS) {
    yv[o + k] = vals[k];
    if (ARG) yi[o + k] = idx[k];
  }
}

// ---- searchsorted ------------------------------------------------------------------------

// For each of the m values of `v`: the first index i of the sorted `a` (length n) with
// v <= a[i] (left) or v < a[i] (right).
template <class T>
__global__ void searchsorted(const T* __restrict__ a, const T* __restrict__ v,
                             u32* __restrict__ out, long long n, long long m, int right) {
  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < m;
       e += (long long)gridDim.x * blockDim.x) {
    T x = v[e];
    long long lo = 0, hi = n;
    while (lo < hi) {
      long long mid = (lo + hi) >> 1;
      bool before = right ? !Order<T>::lt(x, a[mid]) : Order<T>::lt(a[mid], x);
      if (before) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    out[e] = (u32)lo;
  }
}

}  // namespace mlxr
