// widen.cpp — f16 and bf16 for the CPU kernels that compute in f32 only (MatMul, attention).
//
// x86 without avx512_bf16 or AMX has no 16-bit arithmetic worth using (and the library has
// no kernel yet for the CPUs that do), so a 16-bit product is computed the way mixed
// precision prescribes anyway: inputs widened to f32 (exact), the f32 kernel
// (accumulating in f32), the result rounded once to the node's dtype. The widening costs
// O(inputs + output) conversions against the product's O(m·n·k) multiply-adds. What 16-bit
// storage saves here is memory: the values the executor keeps between nodes, and those the
// backward pass saves, take half the bytes.
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cpu/element_access.h"
#include "cpu/widen.h"

namespace gw::cpu {
namespace {

using kernels::is_half;

// f16 <-> f32 eight at a time with F16C (vcvtph2ps / vcvtps2ph, round to nearest even), when
// the CPU has it; a build for plain x86-64 (GW_CPU_ARCH=default, kernels/CMakeLists.txt) lacks
// F16C, so these are compiled for it apart and chosen at run time.
#if defined(__x86_64__)
bool has_f16c() {
  static const bool yes = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return yes;
}
__attribute__((target("avx,f16c"))) void f16c_widen(const f16* in, float* out, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
  for (int64_t i = 0; i < n / 8 * 8; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                  reinterpret_cast<const __m128i*>(in + i))));
  for (int64_t i = n / 8 * 8; i < n; ++i) out[i] = _cvtsh_ss(in[i].bits);
}
__attribute__((target("avx,f16c"))) void f16c_narrow(const float* in, f16* out, int64_t n) {
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
  for (int64_t i = 0; i < n / 8 * 8; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
  for (int64_t i = n / 8 * 8; i < n; ++i)
    out[i].bits = _cvtss_sh(in[i], _MM_FROUND_TO_NEAREST_INT);
}
#else
bool has_f16c() { return false; }
void f16c_widen(const f16*, float*, int64_t) {}
void f16c_narrow(const float*, f16*, int64_t) {}
#endif

// An f32 copy of a 16-bit tensor.
Tensor widened(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), DType::f32);
  float* o = out.data<float>();
  const int64_t n = t.numel();
  if (t.dtype() == DType::f16 && has_f16c()) {
    f16c_widen(t.data<f16>(), o, n);
    return out;
  }
  dispatch_dtype<CpuStorage, Accepts::floating>(t.dtype(), "widen", [&](auto zero) {
    using T = decltype(zero);
    const T* in = t.data<T>();
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(load(in, i));
  });
  return out;
}

}  // namespace

void run_widened(const KernelArgs& args, Kernel f32_kernel) {
  std::vector<Tensor> inputs;
  inputs.reserve(args.inputs.size());
  for (const Tensor& t : args.inputs) inputs.push_back(is_half(t.dtype()) ? widened(t) : t);
  Tensor out = is_half(args.output.dtype()) ? Tensor::empty(args.output.shape(), DType::f32)
                                            : args.output;
  // A workspace rule sizes its bytes for f32 when the node is 16-bit (the kernel computes in
  // f32), so the executor's workspace serves the f32 kernel as it is.
  f32_kernel(KernelArgs{args.node, inputs, out, args.workspace, args.context});
  if (out.raw() == args.output.raw()) return;
  const float* o = out.data<float>();
  const int64_t n = out.numel();
  if (args.output.dtype() == DType::f16 && has_f16c()) return f16c_narrow(o, args.output.data<f16>(), n);
  dispatch_dtype<CpuStorage, Accepts::floating>(args.output.dtype(), "widen", [&](auto zero) {
    using T = decltype(zero);
    T* dst = args.output.data<T>();
#pragma omp parallel for schedule(static) if (n > kElementwiseParallelMin)
    for (int64_t i = 0; i < n; ++i) store(dst, i, o[i]);
  });
}

}  // namespace gw::cpu
