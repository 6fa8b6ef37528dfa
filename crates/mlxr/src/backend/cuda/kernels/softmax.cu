// softmax.cu: softmax and log-sum-exp over the last axis of row-contiguous rows, the GPU
// twin of backend/cpu/softmax.rs (other axes are moved last by the launcher). One block
// per row: each thread keeps an online (max, sum of exp(x - max)) pair over its strided
// elements, pairs merge through warp shuffles and shared memory, then a second pass
// writes `exp(x - max) / sum`. NaN handling as the CPU: the max ignores NaN, a NaN
// element makes the sum (so the row) NaN, an infinite max gives NaN (softmax) or the
// max unless a NaN is present (log-sum-exp). `mode` 1/2 emulate MLX's non-precise
// half-precision softmax (1: last-axis fused kernel, 2: composed form), as the CPU.
// Short rows (at most WARP_ROW elements, chosen by the launcher) take one warp per row
// instead (`*_warp_rows`), merging with shuffles only.
#include "elementwise.cuh"
#include "math.cuh"

namespace mlxr {

template <class C> __device__ __forceinline__ C c_nan() { return m_inf((C)0) - m_inf((C)0); }

// Fold value v into (m, s).
template <class C> __device__ __forceinline__ void online(C& m, C& s, C v) {
  C inf = m_inf(v);
  if (v > m) {
    s = s * m_exp(m - v) + (C)1;
    m = v;
  } else if (v != v) {
    s = c_nan<C>();
  } else if (v != -inf) {
    s += m_exp(v - m);
  }
}

template <class C> __device__ __forceinline__ void merge_pair(C& m, C& s, C m2, C s2) {
  C mm = m2 > m ? m2 : m;
  C a = (m == mm) ? s : s * m_exp(m - mm);
  C b = (m2 == mm) ? s2 : s2 * m_exp(m2 - mm);
  m = mm;
  s = a + b;
}

// Merge (m, s, nan) over the block; every thread gets the result.
template <class C> __device__ __forceinline__ void block_merge(C& m, C& s, int& nan) {
  __shared__ C sm[32];
  __shared__ C ss[32];
  __shared__ int sn[32];
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    C m2 = shfl_down(m, off);
    C s2 = shfl_down(s, off);
    int n2 = __shfl_down_sync(0xffffffffu, nan, off);
    merge_pair(m, s, m2, s2);
    nan |= n2;
  }
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  if (lane == 0) {
    sm[wid] = m;
    ss[wid] = s;
    sn[wid] = nan;
  }
  __syncthreads();
  m = sm[0];
  s = ss[0];
  nan = sn[0];
  for (int w = 1; w < nw; ++w) {
    merge_pair(m, s, sm[w], ss[w]);
    nan |= sn[w];
  }
  __syncthreads();
}

template <class C> __device__ __forceinline__ C block_sum(C v) {
  __shared__ C sv[32];
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v += shfl_down(v, off);
  int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  if (lane == 0) sv[wid] = v;
  __syncthreads();
  C t = sv[0];
  for (int w = 1; w < nw; ++w) t += sv[w];
  __syncthreads();
  return t;
}

// Round a compute value through the half input type (identity for other inputs).
template <class In, class C> __device__ __forceinline__ C rnd(C v) {
  if constexpr (is_same<In, bf16>::value && is_same<C, float>::value)
    return bf16_to_f32(f32_to_bf16_as_f64(v));
  else if constexpr (is_same<In, f16>::value && is_same<C, float>::value)
    return f16_to_f32(f32_to_f16(v));
  else if constexpr (is_same<In, f16>::value || is_same<In, bf16>::value) return (C)to_f64(cast<In>(v));
  else return v;
}

template <class In, class C, class Out, class Idx>
__global__ void softmax_rows(const In* x, Out* y, Idx rows, Idx len, int mode) {
  for (Idx row = blockIdx.x; row < rows; row += gridDim.x) {
    const In* xr = x + row * len;
    Out* yr = y + row * len;
    C m = -m_inf((C)0), s = 0;
    int nan = 0;
    for (Idx i = threadIdx.x; i < len; i += blockDim.x) online(m, s, cast<C>(xr[i]));
    block_merge(m, s, nan);
    if (m == m_inf(m)) s = c_nan<C>();
    if (mode == 0) {
      C inv = (C)1 / s;
      for (Idx i = threadIdx.x; i < len; i += blockDim.x)
        yr[i] = cast<Out>(m_exp(cast<C>(xr[i]) - m) * inv);
    } else {
      C acc = 0;
      for (Idx i = threadIdx.x; i < len; i += blockDim.x)
        acc += rnd<In>(m_exp(rnd<In>(cast<C>(xr[i]) - m)));
      C sum = rnd<In>(block_sum(acc));
      C inv = rnd<In>((C)1 / sum);
      for (Idx i = threadIdx.x; i < len; i += blockDim.x) {
        C e = rnd<In>(m_exp(rnd<In>(cast<C>(xr[i]) - m)));
        yr[i] = cast<Out>(mode == 1 ? e * inv : e / sum);
      }
    }
  }
}

template <class In, class C, class Out, class Idx>
__global__ void logsumexp_rows(const In* x, Out* y, Idx rows, Idx len) {
  for (Idx row = blockIdx.x; row < rows; row += gridDim.x) {
    const In* xr = x + row * len;
    C m = -m_inf((C)0), s = 0;
    int nan = 0;
    for (Idx i = threadIdx.x; i < len; i += blockDim.x) {
      C v = cast<C>(xr[i]);
      nan |= (v != v);
      online(m, s, v);
    }
    block_merge(m, s, nan);
    if (threadIdx.x == 0) {
      C r;
      if (m == m_inf(m) || m == -m_inf(m)) r = nan ? c_nan<C>() : m;
      else r = m_log(s) + m;
      y[row] = cast<Out>(r);
    }
  }
}

// ---- rows held in registers -------------------------------------------------------------

// Softmax of rows of at most blockDim.x * PACKS * V elements (V = 16 / sizeof(In)), with
// len % V == 0 and 16-byte aligned rows (checked by the launcher): each thread loads its
// packs once (16-byte accesses), then max, sum and output come from registers; one read
// and one write of the row. Same results as `softmax_rows`.
template <class In, class C, class Out, class Idx, int PACKS>
__global__ void __launch_bounds__(1024) softmax_reg_rows(const In* x, Out* y, Idx rows, Idx len, int mode) {
  constexpr int V = PackWidth<sizeof(In)>::N;
  constexpr int VO = V;
  Idx npk = len / V;
  for (Idx row = blockIdx.x; row < rows; row += gridDim.x) {
    const In* xr = x + row * len;
    Out* yr = y + row * len;
    Pack<In, V> v[PACKS];
    C m = -m_inf((C)0);
    int nan = 0;
#pragma unroll
    for (int p = 0; p < PACKS; ++p) {
      Idx q = (Idx)p * blockDim.x + threadIdx.x;
      if (q < npk) {
        v[p] = load_pack<In, V>(xr, q);
#pragma unroll
        for (int k = 0; k < V; ++k) {
          C e = cast<C>(v[p].v[k]);
          if (e > m) m = e;
          nan |= (e != e);
        }
      }
    }
    // Block max (NaN flags too).
    {
      __shared__ C sm[32];
      __shared__ int sn[32];
#pragma unroll
      for (int off = 16; off > 0; off /= 2) {
        C m2 = shfl_down(m, off);
        int n2 = __shfl_down_sync(0xffffffffu, nan, off);
        m = m2 > m ? m2 : m;
        nan |= n2;
      }
      int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
      if (lane == 0) {
        sm[wid] = m;
        sn[wid] = nan;
      }
      __syncthreads();
      m = sm[0];
      nan = sn[0];
      for (int w = 1; w < nw; ++w) {
        m = sm[w] > m ? sm[w] : m;
        nan |= sn[w];
      }
      __syncthreads();
    }
    C acc = 0;
#pragma unroll
    for (int p = 0; p < PACKS; ++p) {
      Idx q = (Idx)p * blockDim.x + threadIdx.x;
      if (q < npk) {
#pragma unroll
        for (int k = 0; k < V; ++k) {
          C e = cast<C>(v[p].v[k]);
          if (mode == 0) {
            if (e != -m_inf(e)) acc += m_exp(e - m);
          } else {
            acc += rnd<In>(m_exp(rnd<In>(e - m)));
          }
        }
      }
    }
    C sum = block_sum(acc);
    C inv;
    if (mode == 0) {
      if (nan || m == m_inf(m)) sum = c_nan<C>();
      inv = (C)1 / sum;
    } else {
      sum = rnd<In>(sum);
      inv = rnd<In>((C)1 / sum);
    }
#pragma unroll
    for (int p = 0; p < PACKS; ++p) {
      Idx q = (Idx)p * blockDim.x + threadIdx.x;
      if (q < npk) {
        Pack<Out, VO> r;
#pragma unroll
        for (int k = 0; k < V; ++k) {
          C e = cast<C>(v[p].v[k]);
          if (mode == 0) {
            r.v[k] = cast<Out>(m_exp(e - m) * inv);
          } else {
            C t = rnd<In>(m_exp(rnd<In>(e - m)));
            r.v[k] = cast<Out>(mode == 1 ? t * inv : t / sum);
          }
        }
        store_pack<Out, VO>(yr, q, r);
      }
    }
  }
}

// ---- one warp per row (short rows) -------------------------------------------------------

template <class C> __device__ __forceinline__ void warp_merge(C& m, C& s, int& nan) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    C m2 = shfl_down(m, off);
    C s2 = shfl_down(s, off);
    int n2 = __shfl_down_sync(0xffffffffu, nan, off);
    merge_pair(m, s, m2, s2);
    nan |= n2;
  }
  m = __shfl_sync(0xffffffffu, m, 0);
  s = __shfl_sync(0xffffffffu, s, 0);
  nan = __shfl_sync(0xffffffffu, nan, 0);
}

template <class C> __device__ __forceinline__ C warp_sum(C v) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v += shfl_down(v, off);
  return __shfl_sync(0xffffffffu, v, 0);
}

template <class In, class C, class Out, class Idx>
__global__ void softmax_warp_rows(const In* x, Out* y, Idx rows, Idx len, int mode) {
  int lane = threadIdx.x & 31;
  Idx nw = thread_count<Idx>() / 32;
  for (Idx row = thread_index<Idx>() / 32; row < rows; row += nw) {
    const In* xr = x + row * len;
    Out* yr = y + row * len;
    C m = -m_inf((C)0), s = 0;
    int nan = 0;
    for (Idx i = lane; i < len; i += 32) online(m, s, cast<C>(xr[i]));
    warp_merge(m, s, nan);
    if (m == m_inf(m)) s = c_nan<C>();
    if (mode == 0) {
      C inv = (C)1 / s;
      for (Idx i = lane; i < len; i += 32) yr[i] = cast<Out>(m_exp(cast<C>(xr[i]) - m) * inv);
    } else {
      C acc = 0;
      for (Idx i = lane; i < len; i += 32) acc += rnd<In>(m_exp(rnd<In>(cast<C>(xr[i]) - m)));
      C sum = rnd<In>(warp_sum(acc));
      C inv = rnd<In>((C)1 / sum);
      for (Idx i = lane; i < len; i += 32) {
        C e = rnd<In>(m_exp(rnd<In>(cast<C>(xr[i]) - m)));
        yr[i] = cast<Out>(mode == 1 ? e * inv : e / sum);
      }
    }
  }
}

template <class In, class C, class Out, class Idx>
__global__ void logsumexp_warp_rows(const In* x, Out* y, Idx rows, Idx len) {
  int lane = threadIdx.x & 31;
  Idx nw = thread_count<Idx>() / 32;
  for (Idx row = thread_index<Idx>() / 32; row < rows; row += nw) {
    const In* xr = x + row * len;
    C m = -m_inf((C)0), s = 0;
    int nan = 0;
    for (Idx i = lane; i < len; i += 32) {
      C v = cast<C>(xr[i]);
      nan |= (v != v);
      online(m, s, v);
    }
    warp_merge(m, s, nan);
    if (lane == 0) {
      C r;
      if (m == m_inf(m) || m == -m_inf(m)) r = nan ? c_nan<C>() : m;
      else r = m_log(s) + m;
      y[row] = cast<Out>(r);
    }
  }
}

// ---- softmax's vector-Jacobian product over the last axis ------------------------------
// g = s*c - s*sum(s*c) per row of row-contiguous s (the softmax output) and c (the
// cotangent), in the compute type with every step rounded to T as the composed ops do
// (identity for f32/f64).

template <class T> __device__ __forceinline__ typename Compute<T>::type rt(typename Compute<T>::type v) {
  return up(down<T>(v));
}

template <class T, class Idx>
__global__ void softmax_vjp_warp_rows(const T* s, const T* c, T* g, Idx rows, Idx len) {
  typedef typename Compute<T>::type C;
  int lane = threadIdx.x & 31;
  Idx nw = thread_count<Idx>() / 32;
  for (Idx row = thread_index<Idx>() / 32; row < rows; row += nw) {
    const T* sr = s + row * len;
    const T* cr = c + row * len;
    T* gr = g + row * len;
    C acc = 0;
    for (Idx i = lane; i < len; i += 32) acc += rt<T>(up(sr[i]) * up(cr[i]));
    C tot = rt<T>(warp_sum(acc));
    for (Idx i = lane; i < len; i += 32) {
      C sv = up(sr[i]);
      gr[i] = down<T>(rt<T>(sv * up(cr[i])) - rt<T>(sv * tot));
    }
  }
}

template <class T, class Idx>
__global__ void softmax_vjp_rows(const T* s, const T* c, T* g, Idx rows, Idx len) {
  typedef typename Compute<T>::type C;
  for (Idx row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* sr = s + row * len;
    const T* cr = c + row * len;
    T* gr = g + row * len;
    C acc = 0;
    for (Idx i = threadIdx.x; i < len; i += blockDim.x) acc += rt<T>(up(sr[i]) * up(cr[i]));
    C tot = rt<T>(block_sum(acc));
    for (Idx i = threadIdx.x; i < len; i += blockDim.x) {
      C sv = up(sr[i]);
      gr[i] = down<T>(rt<T>(sv * up(cr[i])) - rt<T>(sv * tot));
    }
  }
}

}  // namespace mlxr
