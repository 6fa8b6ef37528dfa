// selftest.cu: small ops that exercise the binary and ternary launchers of
// backend/cuda/elementwise.rs before real ops use them (tests only).
#include "elementwise.cuh"

namespace mlxr {

struct SelftestAdd {
  template <class T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

struct SelftestSelect {
  template <class T> __device__ __forceinline__ T operator()(bool c, T a, T b) const {
    return c ? a : b;
  }
};

}  // namespace mlxr
