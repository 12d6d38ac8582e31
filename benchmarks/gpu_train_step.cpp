// gpu_train_step.cpp — bench_gpu_train_step: one training step (forward, backward, clipping,
// AdamW) of the reference trainer on the GPU, for the gpu-char and gpt2-small presets:
// tokens/s, achieved TFLOP/s (op-table FLOP count of the step graph) and MFU, against the
// same process's cuBLAS GEMM on the model's largest GEMM shape.
//
//   bench_gpu_train_step [--steps N] [--json FILE]
//
// MFU divides the achieved FLOP/s by the device's dense peak: TF32 for the f32 step with
// TF32 GEMMs (nanoGPT and llm.c quote bf16 peaks; both are printed). The peak comes from the
// device name (H100/H200, A100) or from GW_PEAK_TFLOPS (the TF32 peak) in the environment.
// The vocabulary is 65 symbols (tinyshakespeare's character set). Without a GPU it prints
// "skipped: no CUDA device" and exits 0.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gw/data.h"
#include "gw/device.h"
#include "gw/rng.h"
#include "gw/trainer.h"

#if GW_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "gw_cuda.h"

namespace {

struct Preset {
  const char* name;
  int64_t batch;  // 0: the preset's own
};
const Preset kPresets[] = {{"gpu-char", 0}, {"gpt2-small", 0}};

// A text over 65 symbols, long enough for 1024-token blocks in both splits.
gw::TextDataset synthetic_text() {
  std::string text;
  for (uint64_t i = 0; i < 400000; ++i)
    text.push_back(static_cast<char>(' ' + gw::uniform_int(7, 0, i, 65)));
  return gw::TextDataset::from_text(text, "65-symbol synthetic text");
}

// Dense peaks in TFLOP/s: {tf32, bf16}, from the device name.
std::pair<double, double> peak_tflops(const std::string& device) {
  if (const char* env = std::getenv("GW_PEAK_TFLOPS")) return {std::atof(env), 2 * std::atof(env)};
  if (device.find("H100") != std::string::npos || device.find("H200") != std::string::npos ||
      device.find("GH200") != std::string::npos)
    return {494.7, 989.4};  // SXM dense
  if (device.find("A100") != std::string::npos) return {156.0, 312.0};
  return {0.0, 0.0};
}

// TFLOP/s of cublasSgemm (TF32 as the backend) on (m, k)·(k, n).
double cublas_tflops(int64_t m, int64_t k, int64_t n) {
  float *a, *b, *c;
  cudaMalloc(&a, m * k * 4);
  cudaMalloc(&b, k * n * 4);
  cudaMalloc(&c, m * n * 4);
  cudaMemset(a, 0, m * k * 4);
  cudaMemset(b, 0, k * n * 4);
  cublasHandle_t h;
  cublasCreate(&h);
  cublasSetMathMode(h, gw::cuda::tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
  const float one = 1, zero = 0;
  auto run = [&] {
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                static_cast<int>(k), &one, b, static_cast<int>(n), a, static_cast<int>(k), &zero, c,
                static_cast<int>(n));
  };
  for (int i = 0; i < 3; ++i) run();
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  cudaEventRecord(e0);
  const int reps = 20;
  for (int i = 0; i < reps; ++i) run();
  cudaEventRecord(e1);
  cudaEventSynchronize(e1);
  float ms = 0;
  cudaEventElapsedTime(&ms, e0, e1);
  cublasDestroy(h);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  return 2.0 * m * n * k * reps / (ms / 1e3) / 1e12;
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 20;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) json_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_gpu_train_step [--steps N] [--json FILE]\n");
      return 2;
    }
  }
  if (gw::cuda_device_count() == 0) {
    std::printf("skipped: no CUDA device (no GPU visible, or no driver)\n");
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  const auto [peak_tf32, peak_bf16] = peak_tflops(prop.name);
  std::printf("device: %s | TF32 GEMMs: %s | peak (dense) TF32 %.1f, bf16 %.1f TFLOP/s%s\n",
              prop.name, gw::cuda::tf32() ? "on" : "off", peak_tf32, peak_bf16,
              peak_tf32 > 0 ? "" : " (unknown device: set GW_PEAK_TFLOPS)");
  const gw::TextDataset data = synthetic_text();
  nlohmann::json results = nlohmann::json::array();
  try {
    for (const Preset& p : kPresets) {
      gw::TrainConfig c = gw::preset_config(p.name);
      if (p.batch > 0) c.batch_size = p.batch;
      c.device = "cuda";
      c.eval_iters = 1;
      gw::Trainer trainer(c, data);
      for (int i = 0; i < 3; ++i) trainer.train_step();  // arena, GEMM plans, caches
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; ++i) trainer.train_step();  // each step ends on a sync (loss)
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double tokens_per_s = static_cast<double>(trainer.tokens_per_step()) * steps / seconds;
      const double tflops = tokens_per_s * trainer.flops_per_token() / 1e12;
      const double gemm = cublas_tflops(c.batch_size * c.block_size, c.n_embd, c.mlp_width());
      const gw::cuda::CachingStats mem = gw::cuda::caching_stats();
      std::printf(
          "%-10s b %lld s %lld | %.1f ms/step | %.0f tokens/s | %.1f TFLOP/s | MFU %.1f%% of TF32 "
          "(%.1f%% of bf16) | cuBLAS %lldx%lldx%lld %.1f TFLOP/s, ratio %.2f | GPU memory %.2f GB "
          "reserved\n",
          p.name, static_cast<long long>(c.batch_size), static_cast<long long>(c.block_size),
          1e3 * seconds / steps, tokens_per_s, tflops,
          peak_tf32 > 0 ? 100 * tflops / peak_tf32 : 0.0, peak_bf16 > 0 ? 100 * tflops / peak_bf16 : 0.0,
          static_cast<long long>(c.batch_size * c.block_size), static_cast<long long>(c.n_embd),
          static_cast<long long>(c.mlp_width()), gemm, gemm > 0 ? tflops / gemm : 0.0,
          static_cast<double>(mem.reserved_bytes) / 1e9);
      results.push_back({{"preset", p.name}, {"batch", c.batch_size}, {"block", c.block_size},
                         {"ms_per_step", 1e3 * seconds / steps}, {"tokens_per_s", tokens_per_s},
                         {"tflops", tflops}, {"mfu_tf32", peak_tf32 > 0 ? tflops / peak_tf32 : 0.0},
                         {"mfu_bf16", peak_bf16 > 0 ? tflops / peak_bf16 : 0.0},
                         {"cublas_tflops", gemm}, {"device", prop.name}});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu_train_step: error: %s\n", e.what());
    return 1;
  }
  if (!json_path.empty()) std::ofstream(json_path) << results.dump(2) << '\n';
  return 0;
}

#else  // no CUDA backend in this build

int main() {
  std::printf("skipped: no CUDA device (this build has no CUDA backend)\n");
  return 0;
}

#endif
