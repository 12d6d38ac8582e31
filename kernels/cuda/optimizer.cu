// optimizer.cu — CUDA kernel of AdamW, which updates a parameter and its moments in place
// (the CPU twin is kernels/cpu/optimizer.cpp).
#include <algorithm>

#include "cuda_common.cuh"

namespace gw::cuda {
namespace {

// ---- AdamW, in place on p, m, v; scalars (4) = [lr, 1 − β1ᵗ, 1 − β2ᵗ, grad_scale] on device ---
// g ← g·grad_scale; m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²;
// p ← p − lr·(λ p + m̂ / (sqrt(v̂) + eps)) with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ).
// The scalars stay on the GPU (grad_scale is computed there by the clipping nodes), so the
// step needs no host round trip.
template <typename T>
__global__ void adamw_kernel(T* p, const T* g, T* m, T* v, const float* scalars, int64_t n,
                             T b1, T b2, T eps, T wd, float* out, DeviceErrorFlag* flag) {
  if (blockIdx.x == 0 && threadIdx.x == 0) out[0] = 0.0f;
  // As the CPU twin refuses t = 0 before touching anything, leave p, m and v as they are.
  if (!(scalars[1] > 0.0f && scalars[2] > 0.0f)) {
    if (blockIdx.x == 0 && threadIdx.x == 0)
      report_error(flag, kAdamWBiasCorrection, scalars[1] > 0.0f ? 2 : 1,
                   scalars[1] > 0.0f ? scalars[2] : scalars[1], 0);
    return;
  }
  const T lr = scalars[0], inv1 = T(1) / T(scalars[1]), inv2 = T(1) / T(scalars[2]);
  const T gs = scalars[3];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const T gi = g[i] * gs;
    const T mi = b1 * m[i] + (T(1) - b1) * gi;
    const T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * (wd * p[i] + (mi * inv1) / (sqrt(vi * inv2) + eps));
  }
}

void adamw(const KernelArgs& args) {
  const AdamWAttrs& a = args.node.attrs.adamw;
  const int64_t n = args.inputs[0].numel();
  dispatch_dtype<CudaStorage, Accepts::f32_f64>(args.inputs[0].dtype(), "adamw", [&](auto zero) {
    using T = decltype(zero);
    adamw_kernel<T><<<blocks_for(std::max<int64_t>(n, 1)), 256, 0, stream_of(args)>>>(
        static_cast<T*>(args.inputs[0].raw()), static_cast<const T*>(args.inputs[1].raw()), static_cast<T*>(args.inputs[2].raw()),
        static_cast<T*>(args.inputs[3].raw()), static_cast<const float*>(args.inputs[4].raw()), n, static_cast<T>(a.beta1),
        static_cast<T>(a.beta2), static_cast<T>(a.eps), static_cast<T>(a.weight_decay),
        static_cast<float*>(args.output.raw()), error_flag());
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

void define_optimizer_kernels(OpRegistry& r) { r.define(Op::AdamW).cuda(adamw); }

}  // namespace gw::cuda
