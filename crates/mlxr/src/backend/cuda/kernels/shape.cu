// shape.cu: shape copies, the GPU twin of backend/cpu/shape.rs. They move elements
// without arithmetic, so they are instantiated per element width (T = u8/u16/u32/u64),
// not per dtype. Inputs are read in place through their strides (negative and zero
// strides included):
//   copy_strided  source of any layout into a strided region of the output (one launch
//                 per input of concatenate); operand 0 is the source, operand 1 the
//                 destination, after collapsing the axes contiguous for both;
//   gather_axes   a row-contiguous output whose element (i_0, .., i_k) reads the source
//                 at Σ src_index(axis, i_axis) * stride, or the fill value: the per-axis
//                 index maps of pad (constant, edge, reflect, symmetric), tile, repeat and
//                 roll, computed in the kernel from a few numbers per axis;
//   diag          the (n + |k|)^2 matrix with the 1-D source on diagonal k, zeros
//                 elsewhere, written in one pass.
#include "elementwise.cuh"

namespace mlxr {

// ---- strided copy ------------------------------------------------------------------------

template <class T, class Idx>
__global__ void copy_strided(const T* x, T* y, const __grid_constant__ Strided<Idx, 2> p,
                             Idx rows) {
  Idx chunks = (p.inner + WORK - 1) / WORK;
  Idx total = rows * chunks;
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx row = t / chunks;
    Idx c = (t - row * chunks) * WORK;
    Idx off[2];
    row_offsets(p, row, off);
    Idx xi = off[0] + c * p.inner_strides[0];
    Idx yi = off[1] + c * p.inner_strides[1];
#pragma unroll
    for (int k = 0; k < WORK; ++k) {
      if (c + k < p.inner) y[yi + k * p.inner_strides[1]] = x[xi + k * p.inner_strides[0]];
    }
  }
}

// ---- per-axis gathers (pad, tile, repeat, roll) -------------------------------------------

// How an axis maps output positions to source positions (backend/cuda/shape.rs `AxisMap`).
enum AxisMode : int {
  PAD_CONSTANT = 0,  // i - arg, or the fill value outside [0, n)
  PAD_EDGE = 1,      // clamped
  PAD_REFLECT = 2,   // mirrored without repeating the edge
  PAD_SYMMETRIC = 3, // mirrored repeating the edge
  TILE = 4,          // i mod n
  REPEAT = 5,        // i / arg
  ROLL = 6,          // (i - arg) mod n, with 0 <= arg < n
};

template <class Idx> struct GatherParams {
  Idx out_shape[MLXR_MAX_NDIM];
  Idx in_shape[MLXR_MAX_NDIM];
  Idx strides[MLXR_MAX_NDIM];
  Idx arg[MLXR_MAX_NDIM];
  int mode[MLXR_MAX_NDIM];
  int ndim;
};

// The source index of output position i on an axis of source length n, or -1 for the
// fill value (the CPU's `pad_source` and the tile/repeat/roll maps).
template <class Idx>
__device__ __forceinline__ Idx src_index(int mode, Idx i, Idx n, Idx arg) {
  switch (mode) {
    case TILE:
      return i % n;
    case REPEAT:
      return i / arg;
    case ROLL: {
      Idx r = i - arg;
      return r < 0 ? r + n : r;
    }
    default:
      break;
  }
  Idx j = i - arg;
  if (j >= 0 && j < n) return j;
  if (n == 0 || mode == PAD_CONSTANT) return -1;
  if (mode == PAD_EDGE) return j < 0 ? 0 : n - 1;
  if (mode == PAD_REFLECT) {
    if (n == 1) return 0;
    Idx q = 2 * (n - 1);
    Idx r = j % q;
    if (r < 0) r += q;
    return r >= n ? q - r : r;
  }
  Idx q = 2 * n;
  Idx r = j % q;
  if (r < 0) r += q;
  return r >= n ? q - 1 - r : r;
}

template <class T, class Idx>
__global__ void gather_axes(const T* x, T* y, const T* fill,
                            const __grid_constant__ GatherParams<Idx> p, Idx rows) {
  const int last = p.ndim - 1;
  const Idx inner = p.out_shape[last];
  const Idx n_last = p.in_shape[last];
  const Idx s_last = p.strides[last];
  const Idx a_last = p.arg[last];
  const int m_last = p.mode[last];
  Idx chunks = (inner + WORK - 1) / WORK;
  Idx total = rows * chunks;
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx row = t / chunks;
    Idx c = (t - row * chunks) * WORK;
    Idx base = 0;
    bool filled = false;
    Idx r = row;
#pragma unroll
    for (int d = MLXR_MAX_NDIM - 1; d >= 0; --d) {
      if (d < last) {
        Idx n = p.out_shape[d];
        Idx i = r % n;
        r /= n;
        Idx j = src_index(p.mode[d], i, p.in_shape[d], p.arg[d]);
        if (j < 0) filled = true;
        else base += j * p.strides[d];
      }
    }
    Idx o = row * inner + c;
#pragma unroll
    for (int k = 0; k < WORK; ++k) {
      if (c + k < inner) {
        Idx j = filled ? -1 : src_index(m_last, c + k, n_last, a_last);
        y[o + k] = j < 0 ? *fill : x[base + j * s_last];
      }
    }
  }
}

// ---- diag ------------------------------------------------------------------------------

// y is m x m: y[r, c] = x[(k >= 0 ? r : c) * stride] where c - r == k, else 0.
template <class T, class Idx>
__global__ void diag(const T* x, T* y, Idx m, Idx k, Idx stride) {
  Idx total = m * m;
  for (Idx i = thread_index<Idx>(); i < total; i += thread_count<Idx>()) {
    Idx r = i / m;
    Idx c = i - r * m;
    y[i] = c - r == k ? x[(k >= 0 ? r : c) * stride] : (T)0;
  }
}

}  // namespace mlxr
