// peak_flops.cpp — the denominator of MFU (gw/peak_flops.h): a table of GPU datasheet peaks
// and a short sgemm probe for CPUs.
#include "gw/peak_flops.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "gw/cuda_backend.h"

namespace gw {
namespace {

// Dense tensor-core (and f32 CUDA-core) peaks in TFLOP/s from NVIDIA's datasheets. A name
// is matched by the first entry it contains, so the longer names come first ("L40S" before
// "L4", "A100" before "A10", "H100 PCIe" before "H100").
struct GpuPeaks {
  const char* name;
  double f32, tf32, bf16, f64;  // 0: no such unit
};
constexpr GpuPeaks kGpus[] = {
    {"H200", 67.0, 494.7, 989.4, 67.0},       {"H100 PCIe", 51.2, 378.0, 756.0, 51.2},
    {"H100", 67.0, 494.7, 989.4, 67.0},       {"A100", 19.5, 156.0, 312.0, 19.5},
    {"L40S", 91.6, 183.0, 362.1, 1.4},        {"L4", 30.3, 60.0, 121.0, 0.5},
    {"A10", 31.2, 62.5, 125.0, 1.0},          {"V100", 15.7, 0.0, 0.0, 7.8},
    {"T4", 8.1, 0.0, 0.0, 0.25},
};

}  // namespace

PeakFlops gpu_datasheet_peak(const std::string& device_name, DType dtype, bool tf32) {
  for (const GpuPeaks& g : kGpus) {
    if (device_name.find(g.name) == std::string::npos) continue;
    double tflops = g.f32;
    std::string unit = "f32";
    if (dtype == DType::f32 && tf32 && g.tf32 > 0) tflops = g.tf32, unit = "tf32";
    if ((dtype == DType::bf16 || dtype == DType::f16) && g.bf16 > 0) tflops = g.bf16, unit = "bf16";
    if (dtype == DType::f64) tflops = g.f64, unit = "f64";
    return {tflops * 1e12, "datasheet: " + device_name + ", " + unit + " dense"};
  }
  return {0.0, "unknown GPU '" + device_name + "' (no datasheet peak: MFU not reported)"};
}

PeakFlops measure_cpu_peak(double seconds) {
  constexpr int n = 512;
  std::vector<float> a(n * n, 1.0f), b(n * n, 0.5f), c(n * n, 0.0f);
  const double flops = static_cast<double>(n) * n * (2.0 * n - 1);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double best = 0.0;
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  for (int call = 0; call < 3 || elapsed() < seconds; ++call) {
    const auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                n, 0.0f, c.data(), n);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt > 0) best = std::max(best, flops / dt);
  }
  const int threads = openblas_get_num_threads();
  return {best, "measured: OpenBLAS sgemm 512x512x512, " + std::to_string(threads) +
                    (threads == 1 ? " thread" : " threads")};
}

PeakFlops machine_peak_flops(Device device, DType dtype) {
  if (device.is_cpu()) return measure_cpu_peak();
  const char* env = std::getenv("GW_CUDA_TF32");
  const bool tf32 = !(env != nullptr && std::string(env) == "0");
  return gpu_datasheet_peak(cuda::device_name(device.index), dtype, tf32);
}

}  // namespace gw
