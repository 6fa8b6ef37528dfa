// elementwise.cuh: generic elementwise kernels, the GPU twin of backend/cpu/elementwise.rs.
// An op is a functor `Op{}(x)`, `Op{}(a, b)` or `Op{}(a, b, c)`; its result is converted to
// the output type with `cast`. Variants (see backend/cuda/elementwise.rs for the choice):
//   *_v    every operand dense with the same layout: one linear pass over the span;
//   *_s?   (binary) one operand is a single element (all strides zero);
//   *_g    general: N-d strided/broadcast operands, row-contiguous output. The collapsed
//          shape and strides come by value in `Strided`; each thread does WORK consecutive
//          elements of the last axis.
// `Idx` is `int` when every index fits in 31 bits, `long long` otherwise.
#pragma once
#include "cast.cuh"

namespace mlxr {

constexpr int WORK = 4;

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

// ---- unary -------------------------------------------------------------------------------

template <class Op, class In, class Out, class Idx>
__global__ void unary_v(const In* x, Out* y, Idx n) {
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>()) y[i] = cast<Out>(Op{}(x[i]));
}

template <class Op, class In, class Out, class Idx>
__global__ void unary_g(const In* x, Out* y, const __grid_constant__ Strided<Idx, 1> p, Idx rows) {
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

// ---- binary ------------------------------------------------------------------------------

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_vv(const A* a, const B* b, Out* y, Idx n) {
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = cast<Out>(Op{}(a[i], b[i]));
}

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_sv(const A* a, const B* b, Out* y, Idx n) {
  A s = a[0];
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = cast<Out>(Op{}(s, b[i]));
}

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_vs(const A* a, const B* b, Out* y, Idx n) {
  B s = b[0];
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = cast<Out>(Op{}(a[i], s));
}

template <class Op, class A, class B, class Out, class Idx>
__global__ void binary_g(const A* a, const B* b, Out* y, const __grid_constant__ Strided<Idx, 2> p,
                         Idx rows) {
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

// ---- ternary -----------------------------------------------------------------------------

template <class Op, class A, class B, class C, class Out, class Idx>
__global__ void ternary_v(const A* a, const B* b, const C* c, Out* y, Idx n) {
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>())
    y[i] = cast<Out>(Op{}(a[i], b[i], c[i]));
}

template <class Op, class A, class B, class C, class Out, class Idx>
__global__ void ternary_g(const A* a, const B* b, const C* c, Out* y,
                          const __grid_constant__ Strided<Idx, 3> p, Idx rows) {
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
