// copy.cu: copies with dtype conversion (`astype`, `contiguous`, reshape of strided data),
// the GPU twin of backend/cpu/copy.rs: the generic unary kernels of elementwise.cuh with
// the identity op, so the conversion is `cast` alone.
#include "elementwise.cuh"

namespace mlxr {

struct Identity {
  template <class T> __device__ __forceinline__ T operator()(T x) const { return x; }
};

}  // namespace mlxr
