// binary.cu: one functor per `BinaryOp` (primitives/binary.rs) for the generic binary
// kernels of elementwise.cuh, and `Select` for the ternary ones: the GPU twin of
// backend/cpu/{binary,ternary}.rs, with the same integer semantics (wrapping, Python
// division and remainder, shifts that never trap), float16/bfloat16 in float rounded
// once, and complex64 as num_complex.
#include "elementwise.cuh"
#include "math.cuh"

namespace mlxr {

// An arithmetic op: `I` on integers (x, y of type T), `F` on real floats (compute values
// x, y), `C` on complex64, `B` on bool.
#define MLXR_ARITH(Name, I, F, C, B)                                               \
  struct Name {                                                                    \
    template <class T> __device__ __forceinline__ T operator()(T a, T b) const {   \
      if constexpr (Cat<T>::v == 0) {                                              \
        bool x = a, y = b;                                                         \
        (void)x; (void)y;                                                          \
        return B;                                                                  \
      } else if constexpr (Cat<T>::v == 4) {                                       \
        c64 x = a, y = b;                                                          \
        (void)x; (void)y;                                                          \
        return C;                                                                  \
      } else if constexpr (Cat<T>::v == 3) {                                       \
        auto x = up(a);                                                            \
        auto y = up(b);                                                            \
        (void)x; (void)y;                                                          \
        return down<T>(F);                                                         \
      } else {                                                                     \
        T x = a, y = b;                                                            \
        (void)x; (void)y;                                                          \
        return I;                                                                  \
      }                                                                            \
    }                                                                              \
  };

template <class F> __device__ __forceinline__ F py_fmod(F x, F y) {
  F r = m_fmod(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

template <class F> __device__ __forceinline__ F logaddexp_r(F x, F y) {
  F hi = (x > y || x != x) ? x : y;
  F lo = (x > y || x != x) ? y : x;
  if (lo == -m_inf(lo) || hi == m_inf(hi) || hi != hi) return hi;
  return hi + m_log1p(m_exp(lo - hi));
}

__device__ __forceinline__ c64 logaddexp_c(c64 x, c64 y) {
  bool xb = c_lt(y, x);
  c64 hi = xb ? x : y, lo = xb ? y : x;
  float inf = __int_as_float(0x7f800000);
  if (lo.re == -inf || hi.re == inf) return hi;
  return hi + c_log(c_exp(lo - hi) + c_one());
}

MLXR_ARITH(Add, w_add(x, y), x + y, x + y, x || y)
MLXR_ARITH(Subtract, w_sub(x, y), x - y, x - y, x != y)
MLXR_ARITH(Multiply, w_mul(x, y), x * y, x * y, x && y)
MLXR_ARITH(Divide, floor_div(x, y), x / y, c_div(x, y), x && y)
MLXR_ARITH(FloorDivide, floor_div(x, y), m_floor(x / y), c_div(x, y), x && y)
MLXR_ARITH(Remainder, py_rem(x, y), py_fmod(x, y), x, x && !y)
MLXR_ARITH(Power, w_pow(x, y), m_pow(x, y), c_pow(x, y), x || !y)
MLXR_ARITH(Maximum, x > y ? x : y, (x > y || x != x) ? x : y, c_lt(x, y) ? y : x, x || y)
MLXR_ARITH(Minimum, x < y ? x : y, (x < y || x != x) ? x : y, c_lt(y, x) ? y : x, x && y)
MLXR_ARITH(ArcTan2, x, m_atan2(x, y), x, x)
MLXR_ARITH(LogAddExp, x, logaddexp_r(x, y), logaddexp_c(x, y), x)
MLXR_ARITH(BitwiseAnd, (T)(x & y), x, x, x && y)
MLXR_ARITH(BitwiseOr, (T)(x | y), x, x, x || y)
MLXR_ARITH(BitwiseXor, (T)(x ^ y), x, x, x != y)
MLXR_ARITH(LeftShift, w_shl(x, y), x, x, x)
MLXR_ARITH(RightShift, w_shr(x, y), x, x, x)
#undef MLXR_ARITH

// Comparisons and logical ops (bool output); complex compares lexicographically.
#define MLXR_CMP(Name, E, C)                                                       \
  struct Name {                                                                    \
    template <class T> __device__ __forceinline__ bool operator()(T x, T y) const { \
      if constexpr (Cat<T>::v == 4) return C;                                      \
      else return E;                                                               \
    }                                                                              \
  };
MLXR_CMP(Equal, x == y, x == y)
MLXR_CMP(NotEqual, x != y, x != y)
MLXR_CMP(Less, x < y, c_lt(x, y))
MLXR_CMP(LessEqual, x <= y, !c_lt(y, x))
MLXR_CMP(Greater, x > y, c_lt(y, x))
MLXR_CMP(GreaterEqual, x >= y, !c_lt(x, y))
MLXR_CMP(LogicalAnd, x && y, false)
MLXR_CMP(LogicalOr, x || y, false)
MLXR_CMP(LogicalXor, x != y, false)
#undef MLXR_CMP

// `where(c, a, b)`.
struct Select {
  template <class T> __device__ __forceinline__ T operator()(bool c, T a, T b) const {
    return c ? a : b;
  }
};

}  // namespace mlxr
