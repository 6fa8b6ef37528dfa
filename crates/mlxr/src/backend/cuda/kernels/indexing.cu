// indexing.cu: gather / scatter / slice-update kernels, the GPU twin of
// backend/cpu/indexing.rs (see backend/cuda/indexing.rs for the launch logic).
//
// Index arrays reach the kernels as row-contiguous int64 (the launcher casts them); the
// window start of each index position is computed once by `index_offsets` (negative
// indices wrap; gathers clamp, scatters drop windows that do not fit, marked -1).
// Variants:
//   gather_g        general gather: one element per thread step, any window layout;
//   gather_v        whole contiguous windows moved as 16/8/4-byte vectors, several loads
//                   in flight per thread (the `take` of rows fast path);
//   gather_axis_g   take_along_axis;
//   scatter_owner   `set` with duplicate indices: the last index position (row-major)
//                   owning each indexed cell is found with atomicMax, so the result is
//                   the CPU's "last update wins" whatever the execution order;
//   scatter_g       general scatter with atomics (set: plain stores by the owner);
//   scatter_add_rows  f16/bf16/f32 add of contiguous windows, 16-byte vector atomics;
//   scatter_axis_g  put_along_axis / scatter_add_axis: one thread per line along the
//                   axis, applying its updates in order (results equal the CPU's);
//   update_window_g slice updates (static or dynamic start).
#include "elementwise.cuh"
#include "math.cuh"

namespace mlxr {

// Shape and per-operand strides of an N-d iteration (collapsed), `ndim` <= MAX axes.
template <class Idx, int K> struct Layout {
  Idx shape[MLXR_MAX_NDIM];
  Idx strides[K][MLXR_MAX_NDIM];
  int ndim;
};

// Offsets of element `i` (row-major in `l.shape`) for each operand.
template <class Idx, int K>
__device__ __forceinline__ void offsets(const Layout<Idx, K>& l, Idx i, Idx (&off)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k) off[k] = 0;
#pragma unroll
  for (int d = MLXR_MAX_NDIM - 1; d >= 0; --d) {
    if (d < l.ndim) {
      Idx n = l.shape[d];
      Idx c = i % n;
      i /= n;
#pragma unroll
      for (int k = 0; k < K; ++k) off[k] += c * l.strides[k][d];
    }
  }
}

// The indexed cells of a scatter output: cell of output offset `o` is
// sum_j ((o / ostr[j]) % dim[j]) * cstr[j].
struct Cells {
  i64 ostr[MLXR_MAX_NDIM];
  i64 dim[MLXR_MAX_NDIM];
  i64 cstr[MLXR_MAX_NDIM];
  int n;
};

__device__ __forceinline__ i64 cell_of(const Cells& c, i64 o) {
  i64 r = 0;
#pragma unroll
  for (int j = 0; j < MLXR_MAX_NDIM; ++j)
    if (j < c.n) r += ((o / c.ostr[j]) % c.dim[j]) * c.cstr[j];
  return r;
}

// ---- window starts -----------------------------------------------------------------------

// base[p] (=|+=) start(idx[p]) * stride for p < n. mode bit 0: check (a window that does
// not fit makes base[p] = -1, and stays so); else clamp into [0, dim - size]. mode bit 1:
// accumulate into base instead of writing it.
__global__ void index_offsets(const i64* idx, i64* base, i64 n, i64 dim, i64 size, i64 stride,
                              int mode) {
  for (i64 p = thread_index<i64>(); p < n; p += thread_count<i64>()) {
    i64 i = idx[p];
    if (i < 0) i += dim;
    i64 o;
    if (mode & 1) {
      o = (i >= 0 && i + size <= dim) ? i * stride : -1;
      if (mode & 2) {
        i64 b = base[p];
        o = (b < 0 || o < 0) ? -1 : b + o;
      }
    } else {
      i64 hi = dim - size;
      if (hi < 0) hi = 0;
      i = i < 0 ? 0 : (i > hi ? hi : i);
      o = i * stride;
      if (mode & 2) o += base[p];
    }
    base[p] = o;
  }
}

// ---- gather ------------------------------------------------------------------------------

// out[t] = src[base[t / slice_len] + offset of (t % slice_len) in the window].
template <class T, class Idx>
__global__ void gather_g(const T* __restrict__ src, T* __restrict__ out,
                         const i64* __restrict__ base, Idx total, Idx slice_len,
                         const __grid_constant__ Layout<Idx, 1> l) {
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx p = t / slice_len;
    Idx off[1];
    offsets(l, t - p * slice_len, off);
    out[t] = src[base[p] + (i64)off[0]];
  }
}

struct __align__(16) v16 {
  unsigned x, y, z, w;
};
struct __align__(8) v8 {
  unsigned x, y;
};

// Contiguous windows of `row` vectors V: out[t] = src[base[p] * esize / sizeof(V) + c]
// with p = t / row, c = t % row. Each thread keeps UNROLL loads in flight.
template <class V, class Idx>
__global__ void gather_v(const V* __restrict__ src, V* __restrict__ out,
                         const i64* __restrict__ base, Idx total, Idx row, int esize) {
  constexpr int UNROLL = 4;
  Idx step = thread_count<Idx>();
  for (Idx t0 = thread_index<Idx>(); t0 < total; t0 += step * UNROLL) {
    V v[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      Idx t = t0 + u * step;
      if (t < total) {
        Idx p = t / row;
        v[u] = src[base[p] * esize / (i64)sizeof(V) + (i64)(t - p * row)];
      }
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      Idx t = t0 + u * step;
      if (t < total) out[t] = v[u];
    }
  }
}

// take_along_axis: out[t] = src[off(t) + clamp(idx[t]) * astep], `l` iterating the
// output's shape with the source's strides (zero on the axis).
template <class T, class Idx>
__global__ void gather_axis_g(const T* __restrict__ src, T* __restrict__ out,
                              const i64* __restrict__ idx, Idx total,
                              const __grid_constant__ Layout<Idx, 1> l, i64 dim, i64 astep) {
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx off[1];
    offsets(l, t, off);
    i64 i = idx[t];
    if (i < 0) i += dim;
    i = i < 0 ? 0 : (i > dim - 1 ? dim - 1 : i);
    out[t] = src[(i64)off[0] + i * astep];
  }
}

// ---- combining an update with the value in place (the CPU's `apply`) ---------------------

__device__ __forceinline__ c64 c_mul_exact(c64 a, c64 b) {
  return c64{__fsub_rn(__fmul_rn(a.re, b.re), __fmul_rn(a.im, b.im)),
             __fadd_rn(__fmul_rn(a.re, b.im), __fmul_rn(a.im, b.re))};
}

template <class T> __device__ __forceinline__ bool r_gt(T a, T b) {
  if constexpr (Cat<T>::v == 0) return a && !b;
  else if constexpr (Cat<T>::v == 4) return a.re > b.re || (a.re == b.re && a.im > b.im);
  else if constexpr (is_same<T, f16>::value || is_same<T, bf16>::value) return up(a) > up(b);
  else return a > b;
}
template <class T> __device__ __forceinline__ bool r_lt(T a, T b) {
  if constexpr (Cat<T>::v == 0) return !a && b;
  else if constexpr (Cat<T>::v == 4) return a.re < b.re || (a.re == b.re && a.im < b.im);
  else if constexpr (is_same<T, f16>::value || is_same<T, bf16>::value) return up(a) < up(b);
  else return a < b;
}

struct OpSet {
  template <class T> __device__ __forceinline__ static T f(T, T u) { return u; }
};
struct OpSum {
  template <class T> __device__ __forceinline__ static T f(T o, T u) {
    if constexpr (Cat<T>::v == 0) return o || u;
    else if constexpr (Cat<T>::v == 4) return c64{__fadd_rn(o.re, u.re), __fadd_rn(o.im, u.im)};
    else if constexpr (is_same<T, f16>::value || is_same<T, bf16>::value)
      return down<T>(__fadd_rn(up(o), up(u)));
    else if constexpr (is_same<T, float>::value) return __fadd_rn(o, u);
    else if constexpr (is_same<T, double>::value) return __dadd_rn(o, u);
    else return w_add(o, u);
  }
};
struct OpProd {
  template <class T> __device__ __forceinline__ static T f(T o, T u) {
    if constexpr (Cat<T>::v == 0) return o && u;
    else if constexpr (Cat<T>::v == 4) return c_mul_exact(o, u);
    else if constexpr (is_same<T, f16>::value || is_same<T, bf16>::value)
      return down<T>(__fmul_rn(up(o), up(u)));
    else if constexpr (is_same<T, float>::value) return __fmul_rn(o, u);
    else if constexpr (is_same<T, double>::value) return __dmul_rn(o, u);
    else return w_mul(o, u);
  }
};
// `out > upd ? out : upd`: a NaN update wins, a NaN in place is replaced.
struct OpMax {
  template <class T> __device__ __forceinline__ static T f(T o, T u) { return r_gt(o, u) ? o : u; }
};
struct OpMin {
  template <class T> __device__ __forceinline__ static T f(T o, T u) { return r_lt(o, u) ? o : u; }
};

template <class T> struct UBits;
template <> struct UBits<bool> { typedef u8 t; };
template <> struct UBits<u8> { typedef u8 t; };
template <> struct UBits<i8> { typedef u8 t; };
template <> struct UBits<u16> { typedef u16 t; };
template <> struct UBits<i16> { typedef u16 t; };
template <> struct UBits<f16> { typedef u16 t; };
template <> struct UBits<bf16> { typedef u16 t; };
template <> struct UBits<u32> { typedef u32 t; };
template <> struct UBits<i32> { typedef u32 t; };
template <> struct UBits<float> { typedef u32 t; };
template <> struct UBits<u64> { typedef u64 t; };
template <> struct UBits<i64> { typedef u64 t; };
template <> struct UBits<double> { typedef u64 t; };
template <> struct UBits<c64> { typedef u64 t; };

template <class To, class From> __device__ __forceinline__ To bitcast(From x) {
  static_assert(sizeof(To) == sizeof(From), "bitcast of different sizes");
  union {
    From f;
    To t;
  } u;
  u.f = x;
  return u.t;
}

// `*a = Op(*a, u)` atomically with a compare-and-swap loop (1- and 2-byte types through
// the aligned 32-bit word holding them; device buffers are at least 256 bytes, so the
// word lies inside the allocation).
template <class Op, class T> __device__ void cas_apply(T* a, T u) {
  typedef typename UBits<T>::t B;
  if constexpr (sizeof(T) == 8) {
    unsigned long long* w = (unsigned long long*)a;
    unsigned long long old = *(volatile unsigned long long*)w, assumed;
    do {
      assumed = old;
      unsigned long long nb = (unsigned long long)bitcast<B>(Op::f(bitcast<T>((B)assumed), u));
      if (nb == assumed) break;
      old = atomicCAS(w, assumed, nb);
    } while (old != assumed);
  } else if constexpr (sizeof(T) == 4) {
    unsigned* w = (unsigned*)a;
    unsigned old = *(volatile unsigned*)w, assumed;
    do {
      assumed = old;
      unsigned nb = (unsigned)bitcast<B>(Op::f(bitcast<T>((B)assumed), u));
      if (nb == assumed) break;
      old = atomicCAS(w, assumed, nb);
    } while (old != assumed);
  } else {
    unsigned long long addr = (unsigned long long)a;
    unsigned* w = (unsigned*)(addr & ~3ull);
    unsigned shift = (unsigned)(addr & 3ull) * 8u;
    unsigned mask = sizeof(T) == 1 ? 0xFFu : 0xFFFFu;
    unsigned old = *(volatile unsigned*)w, assumed;
    do {
      assumed = old;
      T ov = bitcast<T>((B)((assumed >> shift) & mask));
      unsigned nv = (unsigned)bitcast<B>(Op::f(ov, u)) & mask;
      unsigned nb = (assumed & ~(mask << shift)) | (nv << shift);
      if (nb == assumed) break;
      old = atomicCAS(w, assumed, nb);
    } while (old != assumed);
  }
}

// `*a = Op(*a, u)` atomically: native atomics where they compute exactly the CPU's
// result (wrapping integer add, integer max/min, f32/f64 add, f16 add and, on sm_90,
// bf16 add), a CAS loop otherwise.
template <class Op, class T> __device__ __forceinline__ void atomic_apply(T* a, T u) {
  if constexpr (is_same<Op, OpSum>::value &&
                (is_same<T, float>::value || is_same<T, double>::value ||
                 is_same<T, u32>::value || is_same<T, u64>::value || is_same<T, i32>::value)) {
    atomicAdd(a, u);
  } else if constexpr (is_same<Op, OpSum>::value && is_same<T, i64>::value) {
    atomicAdd((unsigned long long*)a, (unsigned long long)u);
  } else if constexpr (is_same<Op, OpSum>::value && is_same<T, f16>::value) {
    asm volatile("red.global.add.noftz.f16 [%0], %1;" ::"l"(a), "h"(u.bits) : "memory");
#if __CUDA_ARCH__ >= 900
  } else if constexpr (is_same<Op, OpSum>::value && is_same<T, bf16>::value) {
    asm volatile("red.global.add.noftz.bf16 [%0], %1;" ::"l"(a), "h"(u.bits) : "memory");
#endif
  } else if constexpr ((is_same<Op, OpMax>::value || is_same<Op, OpMin>::value) &&
                       (is_same<T, u32>::value || is_same<T, u64>::value ||
                        is_same<T, i32>::value || is_same<T, i64>::value)) {
    if constexpr (is_same<Op, OpMax>::value) atomicMax(a, u);
    else atomicMin(a, u);
  } else {
    cas_apply<Op>(a, u);
  }
}

// ---- scatter -----------------------------------------------------------------------------

// `set` with duplicates, pass 1: owner[cell] = the largest index position p whose window
// covers the cell (`wl` iterates the window restricted to the indexed axes, with the
// output's strides).
template <class Idx>
__global__ void scatter_owner(const i64* __restrict__ base, int* owner, Idx total, Idx wlen,
                              const __grid_constant__ Layout<Idx, 1> wl,
                              const __grid_constant__ Cells c) {
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx p = t / wlen;
    i64 b = base[p];
    if (b < 0) continue;
    Idx off[1];
    offsets(wl, t - p * wlen, off);
    atomicMax(owner + cell_of(c, b + (i64)off[0]), (int)p);
  }
}

// Update element t (row-major in the updates' shape `I ++ window`) goes to
// out[base[p] + window offset of s], p = t / slice_len, s = t % slice_len. `ul` iterates
// the updates with their strides, `wl` the window with the output's strides. With
// `owner` (set with several index positions), only the owner of a cell writes it.
template <class Op, class T, class Idx>
__global__ void scatter_g(T* out, const T* __restrict__ upd, const i64* __restrict__ base,
                          const int* __restrict__ owner, Idx total, Idx slice_len,
                          const __grid_constant__ Layout<Idx, 1> ul,
                          const __grid_constant__ Layout<Idx, 1> wl,
                          const __grid_constant__ Cells c) {
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx p = t / slice_len;
    i64 b = base[p];
    if (b < 0) continue;
    Idx wo[1], uo[1];
    offsets(wl, t - p * slice_len, wo);
    offsets(ul, t, uo);
    i64 o = b + (i64)wo[0];
    T u = upd[uo[0]];
    if constexpr (is_same<Op, OpSet>::value) {
      if (owner == nullptr || owner[cell_of(c, o)] == (int)p) out[o] = u;
    } else {
      atomic_apply<Op>(out + o, u);
    }
  }
}

// Two adjacent f16/bf16 values added atomically at a 4-byte aligned address.
template <class T> __device__ __forceinline__ void add2(T* a, unsigned pair) {
  if constexpr (is_same<T, f16>::value) {
    asm volatile("red.global.add.noftz.f16x2 [%0], %1;" ::"l"(a), "r"(pair) : "memory");
  } else {
#if __CUDA_ARCH__ >= 900
    asm volatile("red.global.add.noftz.bf16x2 [%0], %1;" ::"l"(a), "r"(pair) : "memory");
#else
    T lo = bitcast<T>((u16)(pair & 0xFFFFu)), hi = bitcast<T>((u16)(pair >> 16));
    cas_apply<OpSum>(a, lo);
    cas_apply<OpSum>(a + 1, hi);
#endif
  }
}

// 16 bytes of f16/bf16/f32 values `u` added atomically at a 16-byte aligned address:
// one vector reduction on sm_90, element (pair) atomics before.
template <class T> __device__ __forceinline__ void add16(T* a, v16 u) {
#if __CUDA_ARCH__ >= 900
  if constexpr (is_same<T, float>::value) {
    asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};" ::"l"(a), "f"(__uint_as_float(u.x)),
                 "f"(__uint_as_float(u.y)), "f"(__uint_as_float(u.z)), "f"(__uint_as_float(u.w))
                 : "memory");
  } else if constexpr (is_same<T, f16>::value) {
    asm volatile("red.global.add.noftz.v4.f16x2 [%0], {%1, %2, %3, %4};" ::"l"(a), "r"(u.x),
                 "r"(u.y), "r"(u.z), "r"(u.w)
                 : "memory");
  } else {
    asm volatile("red.global.add.noftz.v4.bf16x2 [%0], {%1, %2, %3, %4};" ::"l"(a), "r"(u.x),
                 "r"(u.y), "r"(u.z), "r"(u.w)
                 : "memory");
  }
#else
  if constexpr (is_same<T, float>::value) {
    atomicAdd(a, __uint_as_float(u.x));
    atomicAdd(a + 1, __uint_as_float(u.y));
    atomicAdd(a + 2, __uint_as_float(u.z));
    atomicAdd(a + 3, __uint_as_float(u.w));
  } else {
    add2(a, u.x);
    add2(a + 2, u.y);
    add2(a + 4, u.z);
    add2(a + 6, u.w);
  }
#endif
}

// Scatter-add of contiguous windows of f16/bf16/f32 from row-contiguous updates, 16 bytes
// per thread step: `row16` 16-byte chunks per window; base[p] (elements) keeps every
// target 16-byte aligned, or is -1 (dropped).
template <class T, class Idx>
__global__ void scatter_add_rows(T* out, const v16* __restrict__ upd,
                                 const i64* __restrict__ base, Idx total, Idx row16) {
  constexpr int PER = 16 / (int)sizeof(T);
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx p = t / row16;
    i64 b = base[p];
    if (b < 0) continue;
    add16(out + b + (i64)(t - p * row16) * PER, upd[t]);
  }
}

// put_along_axis / scatter_add_axis: thread t owns line t (all coordinates but the axis)
// and applies its n updates in order: out[o + i * ostep] = Op(.., vals[vo + k * va]) with
// i = idx[io + k * ia] (dropped when out of range). `l` iterates the lines with the
// strides of out, idx and vals.
template <class Op, class T, class Idx>
__global__ void scatter_axis_g(T* out, const T* __restrict__ vals, const i64* __restrict__ idx,
                               Idx lines, i64 n, const __grid_constant__ Layout<Idx, 3> l,
                               i64 dim, i64 ostep, i64 ia, i64 va) {
  for (Idx t = thread_index<Idx>(); t < lines; t += thread_count<Idx>()) {
    Idx off[3];
    offsets(l, t, off);
    for (i64 k = 0; k < n; ++k) {
      i64 i = idx[(i64)off[1] + k * ia];
      if (i < 0) i += dim;
      if (i < 0 || i >= dim) continue;
      T* o = out + (i64)off[0] + i * ostep;
      *o = Op::f(*o, vals[(i64)off[2] + k * va]);
    }
  }
}

// Slice updates: out[start + wo(t)] = Op(.., upd[uo(t)]) for every element t of the
// update (each output element once). `start` (optional) holds the window's offset.
template <class Op, class T, class Idx>
__global__ void update_window_g(T* out, const T* __restrict__ upd, const i64* __restrict__ start,
                                Idx total, const __grid_constant__ Layout<Idx, 2> l) {
  i64 s = start == nullptr ? 0 : start[0];
  for (Idx t = thread_index<Idx>(); t < total; t += thread_count<Idx>()) {
    Idx off[2];
    offsets(l, t, off);
    T* o = out + s + (i64)off[0];
    *o = Op::f(*o, upd[off[1]]);
  }
}

}  // namespace mlxr
