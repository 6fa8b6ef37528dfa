// unary.cu: one functor per `UnaryOp` (primitives/unary.rs) for the generic unary kernels
// of elementwise.cuh, the GPU twin of backend/cpu/unary.rs: same dtypes, same results
// (NaN/inf included); float16/bfloat16 compute in float and round once; complex64 with
// num_complex's formulas.
#include "elementwise.cuh"
#include "math.cuh"

namespace mlxr {

// A float op: `F(v)` on the compute value of real floats (f16/bf16 via float), `C(z)` on
// complex64 (absent: the pair list never instantiates it).
#define MLXR_FLOAT_OP(Name, F, C)                                                  \
  struct Name {                                                                    \
    template <class T> __device__ __forceinline__ T operator()(T x) const {        \
      if constexpr (Cat<T>::v == 4) {                                              \
        c64 z = x;                                                                 \
        return C;                                                                  \
      } else {                                                                     \
        auto v = up(x);                                                            \
        return down<T>(F);                                                         \
      }                                                                            \
    }                                                                              \
  };

MLXR_FLOAT_OP(Exp, m_exp(v), c_exp(z))
MLXR_FLOAT_OP(Expm1, m_expm1(v), z)
MLXR_FLOAT_OP(Log, m_log(v), c_log(z))
MLXR_FLOAT_OP(Log1p, m_log1p(v), c_log(z + c_one()))
MLXR_FLOAT_OP(Log2, m_log2(v), c_scale(c_log(z), 1.0f / 0.693147180559945309f))
MLXR_FLOAT_OP(Log10, m_log10(v), c_scale(c_log(z), 1.0f / 2.302585092994045684f))
MLXR_FLOAT_OP(Sqrt, m_sqrt(v), c_sqrt(z))
MLXR_FLOAT_OP(Rsqrt, (decltype(v))1 / m_sqrt(v), c_inv(c_sqrt(z)))
MLXR_FLOAT_OP(Reciprocal, (decltype(v))1 / v, c_inv(z))
MLXR_FLOAT_OP(Sin, m_sin(v), c_sin(z))
MLXR_FLOAT_OP(Cos, m_cos(v), c_cos(z))
MLXR_FLOAT_OP(Tan, m_tan(v), c_tan(z))
MLXR_FLOAT_OP(ArcSin, m_asin(v), c_asin(z))
MLXR_FLOAT_OP(ArcCos, m_acos(v), c_acos(z))
MLXR_FLOAT_OP(ArcTan, m_atan(v), c_atan(z))
MLXR_FLOAT_OP(Sinh, m_sinh(v), c_sinh(z))
MLXR_FLOAT_OP(Cosh, m_cosh(v), c_cosh(z))
MLXR_FLOAT_OP(Tanh, m_tanh(v), c_tanh(z))
MLXR_FLOAT_OP(ArcSinh, m_asinh(v), c_asinh(z))
MLXR_FLOAT_OP(ArcCosh, m_acosh(v), c_acosh(z))
MLXR_FLOAT_OP(ArcTanh, m_atanh(v), c_atanh(z))
MLXR_FLOAT_OP(Sigmoid, (decltype(v))1 / ((decltype(v))1 + m_exp(-v)), z)
// float32 erf/erfinv go through float64, as the CPU.
MLXR_FLOAT_OP(Erf, (decltype(v))erf((double)v), z)
MLXR_FLOAT_OP(ErfInv, (decltype(v))erfinv((double)v), z)
MLXR_FLOAT_OP(Degrees, v * (decltype(v))57.295779513082320876798, c_scale(z, 57.29577951308232f))
MLXR_FLOAT_OP(Radians, v * (decltype(v))0.017453292519943295769, c_scale(z, 0.017453292519943295f))
#undef MLXR_FLOAT_OP

struct Abs {
  template <class T> __device__ __forceinline__ auto operator()(T x) const {
    if constexpr (Cat<T>::v == 4) return c_norm(x);
    else if constexpr (Cat<T>::v == 3) return down<T>(m_fabs(up(x)));
    else if constexpr (Cat<T>::v == 2) return x < 0 ? w_neg(x) : x;
    else return x;
  }
};

struct Negative {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 4) return -x;
    else if constexpr (Cat<T>::v == 3) return down<T>(-up(x));
    else return w_neg(x);
  }
};

struct Sign {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 0) {
      return x;
    } else if constexpr (Cat<T>::v == 4) {
      float n = c_norm(x);
      return n == 0.0f ? c64{0.0f, 0.0f} : c64{x.re / n, x.im / n};
    } else if constexpr (Cat<T>::v == 3) {
      auto v = up(x);
      return down<T>(v > 0 ? (decltype(v))1 : v < 0 ? (decltype(v))-1 : (decltype(v))0);
    } else if constexpr (Cat<T>::v == 2) {
      return (T)((x > 0) - (x < 0));
    } else {
      return (T)(x > 0);
    }
  }
};

struct Square {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 0) return x;
    else if constexpr (Cat<T>::v == 4) return x * x;
    else if constexpr (Cat<T>::v == 3) {
      auto v = up(x);
      return down<T>(v * v);
    } else return w_mul(x, x);
  }
};

// Floor/Ceil/Round are the identity on integers and bool.
struct Floor {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 3) return down<T>(m_floor(up(x)));
    else return x;
  }
};
struct Ceil {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 3) return down<T>(m_ceil(up(x)));
    else return x;
  }
};
// Halves to even.
struct Round {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 4) return c64{rintf(x.re), rintf(x.im)};
    else if constexpr (Cat<T>::v == 3) return down<T>(m_rint(up(x)));
    else return x;
  }
};

// Predicates (bool output); integers and bool give a constant.
#define MLXR_PRED(Name, F, C, I)                                                   \
  struct Name {                                                                    \
    template <class T> __device__ __forceinline__ bool operator()(T x) const {     \
      if constexpr (Cat<T>::v == 4) {                                              \
        c64 z = x;                                                                 \
        return C;                                                                  \
      } else if constexpr (Cat<T>::v == 3) {                                       \
        double v = to_f64(x);                                                      \
        return F;                                                                  \
      } else {                                                                     \
        return I;                                                                  \
      }                                                                            \
    }                                                                              \
  };
MLXR_PRED(IsNan, v != v, z.re != z.re || z.im != z.im, false)
MLXR_PRED(IsInf, isinf(v), isinf(z.re) || isinf(z.im), false)
MLXR_PRED(IsPosInf, isinf(v) && v > 0, isinf(z.re) && z.re > 0, false)
MLXR_PRED(IsNegInf, isinf(v) && v < 0, isinf(z.re) && z.re < 0, false)
MLXR_PRED(IsFinite, isfinite(v), isfinite(z.re) && isfinite(z.im), true)
#undef MLXR_PRED

struct LogicalNot {
  template <class T> __device__ __forceinline__ bool operator()(T x) const {
    if constexpr (Cat<T>::v == 4) return x.re == 0.0f && x.im == 0.0f;
    else if constexpr (Cat<T>::v == 3) return up(x) == 0;
    else return x == 0;
  }
};

struct BitwiseInvert {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 0) return !x;
    else return (T)~x;
  }
};

struct Conj {
  template <class T> __device__ __forceinline__ T operator()(T x) const {
    if constexpr (Cat<T>::v == 4) return c64{x.re, -x.im};
    else return x;
  }
};
struct Real {
  template <class T> __device__ __forceinline__ auto operator()(T x) const {
    if constexpr (Cat<T>::v == 4) return x.re;
    else return x;
  }
};
struct Imag {
  template <class T> __device__ __forceinline__ auto operator()(T x) const {
    if constexpr (Cat<T>::v == 4) return x.im;
    else if constexpr (Cat<T>::v == 0) return false;
    else if constexpr (Cat<T>::v == 3) return down<T>(0);
    else return (T)0;
  }
};

}  // namespace mlxr
