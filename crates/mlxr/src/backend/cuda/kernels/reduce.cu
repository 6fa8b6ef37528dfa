// reduce.cu: reductions on the GPU, the twin of backend/cpu/reduce.rs.
//
// An input of any strides is seen as `n_out` outputs (the kept axes, collapsed: `k*`)
// times `len` reduced elements (the reduced axes, collapsed: `r*`). Two kernels:
//   reduce_row  one warp per (output, split): lanes stride over the reduced elements
//               (coalesced when the innermost reduced axis is contiguous) and combine
//               with warp shuffles;
//   reduce_col  one thread per (output, split), consecutive threads on consecutive
//               outputs (coalesced when the innermost kept axis is contiguous: reductions
//               over leading axes).
// With `splits > 1` each output's elements are split in chunks whose partial
// accumulators (`Out` = the accumulator type) go to a scratch buffer that a second
// launch (input = accumulator type) reduces: the two-pass scheme used for all-reduces
// and tall columns. float16/bfloat16 accumulate in float, small integers in 32 bits.
// arg_row / arg_col: argmax/argmin (first index on ties, the first NaN wins).
#include "elementwise.cuh"
#include "math.cuh"

namespace mlxr {

template <class Idx> struct ReduceParams {
  Idx kshape[MLXR_MAX_NDIM];
  Idx kstrides[MLXR_MAX_NDIM];
  Idx rshape[MLXR_MAX_NDIM];
  Idx rstrides[MLXR_MAX_NDIM];
  Idx n_out;
  Idx len;
  Idx splits;
  Idx chunk;
  int kdim;
  int rdim;
};

template <class Idx>
__device__ __forceinline__ Idx decode(const Idx* shape, const Idx* strides, int nd, Idx i) {
  Idx off = 0;
#pragma unroll
  for (int d = MLXR_MAX_NDIM - 1; d >= 0; --d) {
    if (d < nd) {
      Idx n = shape[d];
      off += (i % n) * strides[d];
      i /= n;
    }
  }
  return off;
}

// ---- reducers: Acc, init, step (fold one input), merge -------------------------------------

template <class T> __device__ __forceinline__ T acc_add(T a, T b) {
  if constexpr (Cat<T>::v == 1 || Cat<T>::v == 2) return w_add(a, b);
  else return a + b;
}
template <class T> __device__ __forceinline__ T acc_mul(T a, T b) {
  if constexpr (Cat<T>::v == 1 || Cat<T>::v == 2) return w_mul(a, b);
  else return a * b;
}

template <class In, class A> struct SumR {
  typedef A Acc;
  __device__ static __forceinline__ A init() { return cast<A>((i32)0); }
  __device__ static __forceinline__ A step(A a, In x) { return acc_add(a, cast<A>(x)); }
  __device__ static __forceinline__ A merge(A a, A b) { return acc_add(a, b); }
};
template <class In, class A> struct ProdR {
  typedef A Acc;
  __device__ static __forceinline__ A init() { return cast<A>((i32)1); }
  __device__ static __forceinline__ A step(A a, In x) { return acc_mul(a, cast<A>(x)); }
  __device__ static __forceinline__ A merge(A a, A b) { return acc_mul(a, b); }
};
template <class In, class A> struct MaxR {
  typedef In Acc;
  __device__ static __forceinline__ In init() { return Limits<In>::lowest(); }
  __device__ static __forceinline__ In step(In a, In x) { return (gt(x, a) || is_nan(x)) ? x : a; }
  __device__ static __forceinline__ In merge(In a, In b) { return is_nan(a) ? a : step(a, b); }
};
template <class In, class A> struct MinR {
  typedef In Acc;
  __device__ static __forceinline__ In init() { return Limits<In>::highest(); }
  __device__ static __forceinline__ In step(In a, In x) { return (lt(x, a) || is_nan(x)) ? x : a; }
  __device__ static __forceinline__ In merge(In a, In b) { return is_nan(a) ? a : step(a, b); }
};
template <class In, class A> struct AndR {
  typedef bool Acc;
  __device__ static __forceinline__ bool init() { return true; }
  __device__ static __forceinline__ bool step(bool a, In x) { return a && to_bool(x); }
  __device__ static __forceinline__ bool merge(bool a, bool b) { return a && b; }
};
template <class In, class A> struct OrR {
  typedef bool Acc;
  __device__ static __forceinline__ bool init() { return false; }
  __device__ static __forceinline__ bool step(bool a, In x) { return a || to_bool(x); }
  __device__ static __forceinline__ bool merge(bool a, bool b) { return a || b; }
};

// ---- kernels ----------------------------------------------------------------------------------

template <class Op, class In, class Out, class Idx>
__global__ void reduce_row(const In* x, Out* y, const __grid_constant__ ReduceParams<Idx> p) {
  typedef typename Op::Acc Acc;
  int lane = threadIdx.x & 31;
  Idx warp = thread_index<Idx>() / 32;
  Idx nwarps = thread_count<Idx>() / 32;
  Idx work = p.n_out * p.splits;
  for (Idx w = warp; w < work; w += nwarps) {
    Idx o = w / p.splits;
    Idx s = w - o * p.splits;
    Idx base = decode(p.kshape, p.kstrides, p.kdim, o);
    Idx lo = s * p.chunk;
    Idx hi = lo + p.chunk < p.len ? lo + p.chunk : p.len;
    Acc acc = Op::init();
    if (p.rdim == 1) {
      Idx st = p.rstrides[0];
      for (Idx r = lo + lane; r < hi; r += 32) acc = Op::step(acc, x[base + r * st]);
    } else {
      for (Idx r = lo + lane; r < hi; r += 32)
        acc = Op::step(acc, x[base + decode(p.rshape, p.rstrides, p.rdim, r)]);
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) acc = Op::merge(acc, shfl_down(acc, off));
    if (lane == 0) y[w] = cast<Out>(acc);
  }
}

template <class Op, class In, class Out, class Idx>
__global__ void reduce_col(const In* x, Out* y, const __grid_constant__ ReduceParams<Idx> p) {
  typedef typename Op::Acc Acc;
  Idx work = p.n_out * p.splits;
  for (Idx t = thread_index<Idx>(); t < work; t += thread_count<Idx>()) {
    Idx s = t / p.n_out;
    Idx o = t - s * p.n_out;
    Idx base = decode(p.kshape, p.kstrides, p.kdim, o);
    Idx lo = s * p.chunk;
    Idx hi = lo + p.chunk < p.len ? lo + p.chunk : p.len;
    Acc acc = Op::init();
    if (p.rdim == 1) {
      Idx st = p.rstrides[0];
      for (Idx r = lo; r < hi; ++r) acc = Op::step(acc, x[base + r * st]);
    } else {
      for (Idx r = lo; r < hi; ++r)
        acc = Op::step(acc, x[base + decode(p.rshape, p.rstrides, p.rdim, r)]);
    }
    y[t] = cast<Out>(acc);
  }
}

// ---- argmax / argmin --------------------------------------------------------------------------

template <class Idx> struct ArgParams {
  Idx kshape[MLXR_MAX_NDIM];
  Idx kstrides[MLXR_MAX_NDIM];
  Idx n_out;
  Idx len;
  Idx stride;
  int kdim;
  int is_max;
};

template <class T> __device__ __forceinline__ bool better(T x, T b, bool mx) {
  if (is_nan(b)) return false;
  if (is_nan(x)) return true;
  return mx ? gt(x, b) : lt(x, b);
}

// One warp per output.
template <class T, class Idx>
__global__ void arg_row(const T* x, u32* y, const __grid_constant__ ArgParams<Idx> p) {
  int lane = threadIdx.x & 31;
  Idx warp = thread_index<Idx>() / 32;
  Idx nwarps = thread_count<Idx>() / 32;
  bool mx = p.is_max != 0;
  for (Idx o = warp; o < p.n_out; o += nwarps) {
    Idx base = decode(p.kshape, p.kstrides, p.kdim, o);
    T best = x[base];
    u32 bi = 0xffffffffu;
    for (Idx r = lane; r < p.len; r += 32) {
      T v = x[base + r * p.stride];
      if (bi == 0xffffffffu || better(v, best, mx)) {
        best = v;
        bi = (u32)r;
      }
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) {
      T v2 = shfl_down(best, off);
      u32 i2 = __shfl_down_sync(0xffffffffu, bi, off);
      bool take = false;
      if (i2 != 0xffffffffu) {
        if (bi == 0xffffffffu) take = true;
        else take = better(v2, best, mx) || (!better(best, v2, mx) && i2 < bi);
      }
      if (take) {
        best = v2;
        bi = i2;
      }
    }
    if (lane == 0) y[o] = bi;
  }
}

// One thread per output (coalesced when the kept inner axis is contiguous).
template <class T, class Idx>
__global__ void arg_col(const T* x, u32* y, const __grid_constant__ ArgParams<Idx> p) {
  bool mx = p.is_max != 0;
  for (Idx o = thread_index<Idx>(); o < p.n_out; o += thread_count<Idx>()) {
    Idx base = decode(p.kshape, p.kstrides, p.kdim, o);
    T best = x[base];
    u32 bi = 0;
    for (Idx r = 1; r < p.len; ++r) {
      T v = x[base + r * p.stride];
      if (better(v, best, mx)) {
        best = v;
        bi = (u32)r;
      }
    }
    y[o] = bi;
  }
}

}  // namespace mlxr
