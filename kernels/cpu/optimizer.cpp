// optimizer.cpp — CPU kernel of AdamW, which updates a parameter and its moments in place.
#include <cmath>

#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "gw/error.h"

namespace gw::cpu {
namespace {

constexpr int64_t kParallelMin = 16384;  // below this many elements one thread is faster

// ---- AdamW, in place on p, m, v ---------------------------------------------------------------
// g ← g·grad_scale; m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²;
// p ← p − lr·(λ p + m̂ / (sqrt(v̂) + eps)) with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ).
void adamw_kernel(const KernelArgs& args) {
  const AdamWAttrs& a = args.node.attrs.adamw;
  const float* sc = args.inputs[4].data<float>();
  const double lr = sc[0], bc1 = sc[1], bc2 = sc[2], gscale = sc[3];
  GW_CHECK(bc1 > 0 && bc2 > 0, "adamw: bias corrections 1-beta1^t = ", bc1,
           " and 1-beta2^t = ", bc2, " must be positive (t starts at 1)");
  const int64_t count = args.inputs[0].numel();
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(args.inputs[0].dtype(), "adamw", [&](auto zero) {
    using T = decltype(zero);
    T* p = args.inputs[0].data<T>();
    const T* g = args.inputs[1].data<T>();
    T* m = args.inputs[2].data<T>();
    T* v = args.inputs[3].data<T>();
    const T b1 = static_cast<T>(a.beta1), b2 = static_cast<T>(a.beta2);
    const T step = static_cast<T>(lr), wd = static_cast<T>(a.weight_decay);
    const T eps = static_cast<T>(a.eps), gs = static_cast<T>(gscale);
    const T inv1 = static_cast<T>(1.0 / bc1), inv2 = static_cast<T>(1.0 / bc2);
#pragma omp parallel for schedule(static) if (count > kParallelMin)
    for (int64_t i = 0; i < count; ++i) {
      const T gi = g[i] * gs;
      m[i] = b1 * m[i] + (T(1) - b1) * gi;
      v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
      const T mhat = m[i] * inv1, vhat = v[i] * inv2;
      p[i] -= step * (wd * p[i] + mhat / (std::sqrt(vhat) + eps));
    }
  });
  args.output.data<float>()[0] = 0.0f;
}

}  // namespace

void define_optimizer_kernels(OpRegistry& r) { r.define(Op::AdamW).cpu(adamw_kernel); }

}  // namespace gw::cpu
