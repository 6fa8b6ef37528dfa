// elementwise.cuh: generic elementwise kernels, the GPU twin of backend/cpu/elementwise.rs.
// An op is a functor `Op{}(x)`, `Op{}(a, b)` or `Op{}(a, b, c)`; its result is converted to
// the output type with `cast`. Variants (see backend/cuda/elementwise.rs for the choice):
//   *_v    every operand dense with the same layout: one linear pass over the span;
//   *_s?   (binary) one operand is a single element (all strides zero);
//   *_g    general: N-d strided/broadcast operands, row-contiguous output. The collapsed
//          shape and strides come by value in `Strided`. Long last axes (at least TILED
//          elements) go by tiles of blockDim.x * WORK elements of one row per block, the
//          row's offsets computed once and every access coalesced (thread i of a tile
//          does elements i, i + blockDim.x, ...; WORK loads in flight before the stores);
//          short ones give each thread WORK consecutive elements of the last axis.
// `Idx` is `int` when every index fits in 31 bits, `long long` otherwise.
// The dense variants move 16 bytes per access (`Pack`s of the widest operand type) when
// every pointer is aligned for it, the tail and misaligned data element by element.
#pragma once
#include "cast.cuh"

namespace mlxr {

constexpr int WORK = 4;
// Last axes at least this long take the tiled path of the general kernels.
constexpr int TILED = 1024;

// Shapes and strides of the operands of a general elementwise kernel, after collapsing
// contiguous axes. The last axis is separate (`inner`); `shape`/`strides` hold the
// `rdim` outer axes.
template <class Idx, int N> struct Strided {
  Idx shape[MLXR_MAX_NDIM];
  Idx strides[N][MLXR_MAX_NDIM];
  Idx inner_strides[N];
  Idx inner;
  int rdim;
};

// Offsets of the first element of outer row `row`, per operand.
template <class Idx, int N>
__device__ __forceinline__ void row_offsets(const Strided<Idx, N>& p, Idx row, Idx (&off)[N]) {
#pragma unroll
  for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll
  for (int d = MLXR_MAX_NDIM - 1; d >= 0; --d) {
    if (d < p.rdim) {
      Idx n = p.shape[d];
      Idx i = row % n;
      row /= n;
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += i * p.strides[k][d];
    }
  }
}

template <class Idx> __device__ __forceinline__ Idx thread_index() {
  return (Idx)blockIdx.x * (Idx)blockDim.x + (Idx)threadIdx.x;
}
template <class Idx> __device__ __forceinline__ Idx thread_count() {
  return (Idx)gridDim.x * (Idx)blockDim.x;
}

// ---- vector access -----------------------------------------------------------------------

// N elements of T moved as one access.
template <class T, int N> struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Elements per access of a dense kernel whose widest operand type has `S` bytes.
template <int S> struct PackWidth {
  static constexpr int N = S >= 16 ? 1 : 16 / S;
};
// The largest size of the types.
template <class A, class B, class C = A> struct Widest {
  static constexpr int AB = sizeof(A) > sizeof(B) ? (int)sizeof(A) : (int)sizeof(B);
  static constexpr int S = AB > (int)sizeof(C) ? AB : (int)sizeof(C);
};

template <class T, int N> __device__ __forceinline__ bool pack_aligned(const void* p) {
  return ((unsigned long long)p) % alignof(Pack<T, N>) == 0;
}

template <class T, int N, class Idx>
__device__ __forceinline__ Pack<T, N> load_pack(const T* p, Idx i) {
  return reinterpret_cast<const Pack<T, N>*>(p)[i];
}
template <class T, int N, class Idx>
__device__ __forceinline__ void store_pack(T* p, Idx i, const Pack<T, N>& v) {
  reinterpret_cast<Pack<T, N>*>(p)[i] = v;
}

// ---- unary -------------------------------------------------------------------------------

template <class Op, class In, class Out, class Idx>
__global__ void unary_v(const In* x, Out* y, Idx n) {
  constexpr int N = PackWidth<Widest<In, Out>::S>::N;
  Idx start = 0;
  if (N > 1 && pack_aligned<In, N>(x) && pack_aligned<Out, N>(y)) {
    Idx nv = n / N;
    for (Idx i = thread_index<Idx>(); i < nv; i += thread_count<Idx>()) {
      Pack<In, N> a = load_pack<In, N>(x, i);
      Pack<Out, N> r;
#pragma unroll
      for (int k = 0; k < N; ++k) r.v[k] = cast<Out>(Op{}(a.v[k]));
      store_pack<Out, N>(y, i, r);
    }
    start = nv * N;
  }
  for (Idx i = start + thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = cast<Out>(Op{}(x[i]));
}

template <class Op, class In, class Out, class Idx>
__global__ void unary_g(const In* x, Out* y, const __grid_constant__ Strided<Idx, 1> p, Idx rows) {
  if (p.inner >= TILED) {
    Idx tw = (Idx)blockDim.x * WORK;
    Idx tiles = (p.inner + tw - 1) / tw;
    Idx total = rows * tiles;
    for (Idx t = blockIdx.x; t < total; t += gridDim.x) {
      Idx row = t / tiles;
      Idx c0 = (t - row * tiles) * tw + (Idx)threadIdx.x;
      Idx off[1];
      row_offsets(p, row, off);
      In v0[WORK];
#pragma unroll
      for (int k = 0; k < WORK; ++k) {
        Idx col = c0 + (Idx)k * blockDim.x;
        if (col < p.inner) {
          v0[k] = x[off[0] + col * p.inner_strides[0]];
        }
      }
      Idx o = row * p.inner;
#pragma unroll
      for (int k = 0; k < WORK; ++k) {
        Idx col = c0 + (Idx)k * blockDim.x;
        if (col < p.inner) y[o + col] = cast<Out>(Op{}(v0[k]));
      }
    }
    return;
  }
  Idx chunks = (p.inner + WORK - 1) / WORK;
  Idx total = rows * chunks;
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx row = t / chunks;
    Idx c = (t - row * chunks) * WORK;
    Idx off[1];
    row_offsets(p, row, off);
    Idx o = row * p.inner + c;
    Idx xi = off[0] + c * p.inner_strides[0];
#pragma unroll
    for (int k = 0; k < WORK; ++k) {
      if (c + k < p.inner) y[o + k] = cast<Out>(Op{}(x[xi + k * p.inner_strides[0]]));
    }
  }
}

// General unary over packs (`_gv`): the innermost axis contiguous, its length and every
// outer stride multiples of the pack width N, x (at the view's offset) and y aligned for
// packs (checked by the launcher): one 16-byte access per N elements, e.g. the copy that
// makes a [B, T, H, D] view of [B, H, T, D] contiguous.
template <class Op, class In, class Out, class Idx>
__global__ void unary_gv(const In* x, Out* y, const __grid_constant__ Strided<Idx, 1> p, Idx rows) {
  constexpr int N = PackWidth<Widest<In, Out>::S>::N;
  Idx packs = p.inner / N;
  Idx total = rows * packs;
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx row = t / packs;
    Idx c = t - row * packs;
    Idx off[1];
    row_offsets(p, row, off);
    Pack<In, N> a = load_pack<In, N>(x + off[0], c);
    Pack<Out, N> r;
#pragma unroll
    for (int k = 0; k < N; ++k) r.v[k] = cast<Out>(Op{}(a.v[k]));
    store_pack<Out, N>(y + row * p.inner, c, r);
  }
}

// ---- binary ------------------------------------------------------------------------------

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_vv(const A* a, const B* b, Out* y, Idx n) {
  constexpr int N = PackWidth<Widest<A, B, Out>::S>::N;
  Idx start = 0;
  if (N > 1 && pack_aligned<A, N>(a) && pack_aligned<B, N>(b) && pack_aligned<Out, N>(y)) {
    Idx nv = n / N;
    for (Idx i = thread_index<Idx>(); i < nv; i += thread_count<Idx>()) {
      Pack<A, N> u = load_pack<A, N>(a, i);
      Pack<B, N> v = load_pack<B, N>(b, i);
      Pack<Out, N> r;
#pragma unroll
      for (int k = 0; k < N; ++k) r.v[k] = cast<Out>(Op{}(u.v[k], v.v[k]));
      store_pack<Out, N>(y, i, r);
    }
    start = nv * N;
  }
  for (Idx i = start + thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = cast<Out>(Op{}(a[i], b[i]));
}

// One operand a single element (`SCALAR_A`: a, else b).
template <class Op, class A, class B, class Out, class Idx, bool SCALAR_A>
__device__ __forceinline__ void binary_scalar(const A* a, const B* b, Out* y, Idx n) {
  constexpr int N = PackWidth<Widest<A, B, Out>::S>::N;
  Idx start = 0;
  bool ok = SCALAR_A ? pack_aligned<B, N>(b) : pack_aligned<A, N>(a);
  if (N > 1 && ok && pack_aligned<Out, N>(y)) {
    Idx nv = n / N;
    for (Idx i = thread_index<Idx>(); i < nv; i += thread_count<Idx>()) {
      Pack<Out, N> r;
      if (SCALAR_A) {
        A s = a[0];
        Pack<B, N> v = load_pack<B, N>(b, i);
#pragma unroll
        for (int k = 0; k < N; ++k) r.v[k] = cast<Out>(Op{}(s, v.v[k]));
      } else {
        B s = b[0];
        Pack<A, N> u = load_pack<A, N>(a, i);
#pragma unroll
        for (int k = 0; k < N; ++k) r.v[k] = cast<Out>(Op{}(u.v[k], s));
      }
      store_pack<Out, N>(y, i, r);
    }
    start = nv * N;
  }
  for (Idx i = start + thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = SCALAR_A ? cast<Out>(Op{}(a[0], b[i])) : cast<Out>(Op{}(a[i], b[0]));
}

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_sv(const A* a, const B* b, Out* y, Idx n) {
  binary_scalar<Op, A, B, Out, Idx, true>(a, b, y, n);
}

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_vs(const A* a, const B* b, Out* y, Idx n) {
  binary_scalar<Op, A, B, Out, Idx, false>(a, b, y, n);
}

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_g(const A* a, const B* b, Out* y, const __grid_constant__ Strided<Idx, 2> p,
                         Idx rows) {
  if (p.inner >= TILED) {
    Idx tw = (Idx)blockDim.x * WORK;
    Idx tiles = (p.inner + tw - 1) / tw;
    Idx total = rows * tiles;
    for (Idx t = blockIdx.x; t < total; t += gridDim.x) {
      Idx row = t / tiles;
      Idx c0 = (t - row * tiles) * tw + (Idx)threadIdx.x;
      Idx off[2];
      row_offsets(p, row, off);
      A v0[WORK];
      B v1[WORK];
#pragma unroll
      for (int k = 0; k < WORK; ++k) {
        Idx col = c0 + (Idx)k * blockDim.x;
        if (col < p.inner) {
          v0[k] = a[off[0] + col * p.inner_strides[0]];
          v1[k] = b[off[1] + col * p.inner_strides[1]];
        }
      }
      Idx o = row * p.inner;
#pragma unroll
      for (int k = 0; k < WORK; ++k) {
        Idx col = c0 + (Idx)k * blockDim.x;
        if (col < p.inner) y[o + col] = cast<Out>(Op{}(v0[k], v1[k]));
      }
    }
    return;
  }
  Idx chunks = (p.inner + WORK - 1) / WORK;
  Idx total = rows * chunks;
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx row = t / chunks;
    Idx c = (t - row * chunks) * WORK;
    Idx off[2];
    row_offsets(p, row, off);
    Idx o = row * p.inner + c;
    Idx ai = off[0] + c * p.inner_strides[0];
    Idx bi = off[1] + c * p.inner_strides[1];
#pragma unroll
    for (int k = 0; k < WORK; ++k) {
      if (c + k < p.inner)
        y[o + k] = cast<Out>(Op{}(a[ai + k * p.inner_strides[0]], b[bi + k * p.inner_strides[1]]));
    }
  }
}

// General binary over packs (`_gv`), with the conditions of unary_gv for both operands,
// e.g. a row-broadcast bias added to [rows, D].
template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_gv(const A* a, const B* b, Out* y, const __grid_constant__ Strided<Idx, 2> p,
                          Idx rows) {
  constexpr int N = PackWidth<Widest<A, B, Out>::S>::N;
  Idx packs = p.inner / N;
  Idx total = rows * packs;
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx row = t / packs;
    Idx c = t - row * packs;
    Idx off[2];
    row_offsets(p, row, off);
    Pack<A, N> u = load_pack<A, N>(a + off[0], c);
    Pack<B, N> v = load_pack<B, N>(b + off[1], c);
    Pack<Out, N> r;
#pragma unroll
    for (int k = 0; k < N; ++k) r.v[k] = cast<Out>(Op{}(u.v[k], v.v[k]));
    store_pack<Out, N>(y + row * p.inner, c, r);
  }
}

// ---- ternary -----------------------------------------------------------------------------

template <class Op, class A, class B, class C, class Out, class Idx>
__global__ void ternary_v(const A* a, const B* b, const C* c, Out* y, Idx n) {
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = cast<Out>(Op{}(a[i], b[i], c[i]));
}

template <class Op, class A, class B, class C, class Out, class Idx>
__global__ void ternary_g(const A* a, const B* b, const C* c, Out* y,
                          const __grid_constant__ Strided<Idx, 3> p, Idx rows) {
  if (p.inner >= TILED) {
    Idx tw = (Idx)blockDim.x * WORK;
    Idx tiles = (p.inner + tw - 1) / tw;
    Idx total = rows * tiles;
    for (Idx t = blockIdx.x; t < total; t += gridDim.x) {
      Idx row = t / tiles;
      Idx c0 = (t - row * tiles) * tw + (Idx)threadIdx.x;
      Idx off[3];
      row_offsets(p, row, off);
      A v0[WORK];
      B v1[WORK];
      C v2[WORK];
#pragma unroll
      for (int k = 0; k < WORK; ++k) {
        Idx col = c0 + (Idx)k * blockDim.x;
        if (col < p.inner) {
          v0[k] = a[off[0] + col * p.inner_strides[0]];
          v1[k] = b[off[1] + col * p.inner_strides[1]];
          v2[k] = c[off[2] + col * p.inner_strides[2]];
        }
      }
      Idx o = row * p.inner;
#pragma unroll
      for (int k = 0; k < WORK; ++k) {
        Idx col = c0 + (Idx)k * blockDim.x;
        if (col < p.inner) y[o + col] = cast<Out>(Op{}(v0[k], v1[k], v2[k]));
      }
    }
    return;
  }
  Idx chunks = (p.inner + WORK - 1) / WORK;
  Idx total = rows * chunks;
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx row = t / chunks;
    Idx col = (t - row * chunks) * WORK;
    Idx off[3];
    row_offsets(p, row, off);
    Idx o = row * p.inner + col;
    Idx ai = off[0] + col * p.inner_strides[0];
    Idx bi = off[1] + col * p.inner_strides[1];
    Idx ci = off[2] + col * p.inner_strides[2];
#pragma unroll
    for (int k = 0; k < WORK; ++k) {
      if (col + k < p.inner)
        y[o + k] = cast<Out>(Op{}(a[ai + k * p.inner_strides[0]], b[bi + k * p.inner_strides[1]],
                                  c[ci + k * p.inner_strides[2]]));
    }
  }
}

}  // namespace mlxr
