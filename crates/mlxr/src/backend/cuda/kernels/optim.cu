// optim.cu: fused optimizer updates, the GPU twin of backend/cpu/optim.rs. `adam_step`
// does one Adam/AdamW step of float32 parameters in one pass (read p, g, m, v; write p,
// m, v) with the composed ops' exact arithmetic: every product, sum, square root and
// quotient rounds on its own (the `__f*_rn` intrinsics keep NVRTC from contracting them
// into fused multiply-adds), so the result has the same bits as the composed update on
// the CPU. The learning-rate-like scalar `a`, the bias correction `c2` and the decay
// factor are 0-d device arrays (null pointers for absent ones: c2 = decay = 1).
#include "elementwise.cuh"

namespace mlxr {

template <class Idx>
__global__ void adam_step(const float* p, const float* g, const float* m, const float* v,
                          const float* a, const float* c2, const float* decay, float* po,
                          float* mo, float* vo, Idx n, float b1, float omb1, float b2,
                          float omb2, float eps) {
  float av = *a;
  float c2v = c2 ? *c2 : 1.0f;
  float dv = decay ? *decay : 1.0f;
  for (Idx i = thread_index<Idx>(); i < n; i += thread_count<Idx>()) {
    float gi = g[i];
    float mi = __fadd_rn(__fmul_rn(m[i], b1), __fmul_rn(gi, omb1));
    float vi = __fadd_rn(__fmul_rn(v[i], b2), __fmul_rn(__fmul_rn(gi, gi), omb2));
    float pd = decay ? __fmul_rn(p[i], dv) : p[i];
    float den = __fadd_rn(__fmul_rn(__fsqrt_rn(vi), c2v), eps);
    po[i] = __fsub_rn(pd, __fdiv_rn(__fmul_rn(av, mi), den));
    mo[i] = mi;
    vo[i] = vi;
  }
}

}  // namespace mlxr
