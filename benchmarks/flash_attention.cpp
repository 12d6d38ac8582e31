// flash_attention.cpp — flash attention against naive attention on the CPU, forward plus
// backward, in time and in peak extra memory, both run in this process; and flash at
// T = 4096, d = 128 against cblas_sgemm's FLOP rate on the QKᵀ product's shape.
//
//   bench_flash_attention   prints Google Benchmark's table, then per T
//   "T = N (b·n = 8, d = 64, causal): flash X GFLOP/s, naive Y, speed ratio X/Y; extra memory
//   flash A MiB, naive B MiB, ratio A/B", and "flash T = 4096 d = 128: X GFLOP/s, sgemm
//   Y GFLOP/s, ratio X/Y"; then the same flash/naive ratio on cpu-tiny's attention, where each
//   head is one short tile (s = 64, d = 32).
// FLOPs are the ops' own count (the naive one's, causal or not: 2s²d per product, 3s² per
// softmax), so both sides divide the same number and the ratio is a speed ratio; causal
// flash skips the masked half, which is its point. Memory is
// the allocator's peak above the inputs over one forward and backward (MemoryProbe): the
// outputs, the gradients and each op's scratch (the naive ops' (s, s) workspaces); "beyond
// the outputs" subtracts the outputs and gradients, which both sides must hold.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_report.h"
#include "gw/allocator.h"
#include "gw/executor.h"
#include "gw/ops.h"

namespace {

// The sizes of one case: (b, s, n, d) and the mask.
struct Sizes {
  int64_t b, s, n, d;
  bool causal;
};
// T ≥ 1024: one sequence of 8 heads of d = 64; cpu-tiny: the trainer's attention (12 rows of
// 64 tokens, 4 heads of d = 32), where every head is a single tile.
Sizes long_sequence(int64_t s) { return {1, s, 8, 64, true}; }
constexpr Sizes kCpuTiny{12, 64, 4, 32, true};

// One forward and backward of attention, naive or flash, on f32 inputs: (b, n, s, d) for the
// naive op, (b, s, n, d) for the flash op (the layouts each reads).
struct Problem {
  gw::Graph graph;
  std::vector<gw::Node*> outputs;
  double flops = 0, output_bytes = 0;
  Problem(bool flash, const Sizes& z) {
    const int64_t s = z.s, d = z.d;
    const bool causal = z.causal;
    const gw::Shape shape = flash ? gw::Shape{z.b, s, z.n, d} : gw::Shape{z.b, z.n, s, d};
    gw::Node* q = graph.constant(gw::bench::random_tensor(shape, 1));
    gw::Node* k = graph.constant(gw::bench::random_tensor(shape, 2));
    gw::Node* v = graph.constant(gw::bench::random_tensor(shape, 3));
    if (flash) {
      gw::Node* y = gw::flash_attention_packed(q, k, v, causal);
      gw::Node* gy = graph.constant(gw::bench::random_tensor(y->shape, 4));
      outputs = {y, gw::flash_attention_backward(q, k, v, y, gy, causal)};
    } else {
      gw::Node* go = graph.constant(gw::bench::random_tensor(shape, 4));
      outputs = {gw::attention(q, k, v, causal), gw::attention_backward(q, k, v, go, causal)};
    }
    for (gw::Node* n : outputs) {
      flops += n->def().flops(*n);
      output_bytes += static_cast<double>(gw::numel(n->shape)) * gw::dtype_size(n->dtype);
    }
  }
};

void attention_case(benchmark::State& state, bool flash, Sizes sizes) {
  Problem p(flash, sizes);
  int64_t peak = 0;
  {
    gw::MemoryProbe probe;
    gw::Executor ex(p.graph, p.outputs);
    for (auto _ : state) benchmark::DoNotOptimize(ex.run());
    peak = probe.peak_extra_bytes();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(p.flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["MiB"] = static_cast<double>(peak) / (1 << 20);
  state.counters["scratch_MiB"] = (static_cast<double>(peak) - p.output_bytes) / (1 << 20);
}

// C (s×s) = Q Kᵀ for Q, K (s×d): the shape of the scores' product, on every thread.
void sgemm_case(benchmark::State& state, int64_t s, int64_t d) {
  gw::Tensor a = gw::bench::random_tensor({s, d}, 5), b = gw::bench::random_tensor({s, d}, 6);
  gw::Tensor c = gw::Tensor::empty({s, s});
  const int n = static_cast<int>(s), k = static_cast<int>(d);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, k, 1.0f, a.data<float>(), k,
                b.data<float>(), k, 0.0f, c.data<float>(), n);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * s * s * d * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

const int64_t kLengths[] = {1024, 2048};

}  // namespace

int main(int argc, char** argv) {
  auto add = [](const std::string& name, auto fn, auto... args) {
    benchmark::RegisterBenchmark(name.c_str(), fn, args...)
        ->Repetitions(3)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  };
  for (int64_t s : kLengths) {
    add("naive/" + std::to_string(s), attention_case, false, long_sequence(s));
    add("flash/" + std::to_string(s), attention_case, true, long_sequence(s));
  }
  add("naive/cpu-tiny", attention_case, false, kCpuTiny);
  add("flash/cpu-tiny", attention_case, true, kCpuTiny);
  // Not causal: every counted FLOP is computed, as in the GEMM it is compared with.
  add("flash_d128/4096", attention_case, true, Sizes{1, 4096, 8, 128, false});
  add("sgemm_d128/4096", sgemm_case, int64_t{4096}, int64_t{128});
  gw::bench::initialize_interleaved(argc, argv);
  gw::bench::CollectingReporter reporter("GFLOP/s");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (int64_t s : kLengths) {
    const std::string t = std::to_string(s);
    const double flash = reporter.median("flash/" + t), naive = reporter.median("naive/" + t);
    const double fm = reporter.median("flash/" + t, "MiB");
    const double nm = reporter.median("naive/" + t, "MiB");
    const double fs = reporter.median("flash/" + t, "scratch_MiB");
    const double ns = reporter.median("naive/" + t, "scratch_MiB");
    if (flash <= 0 || naive <= 0) {
      std::printf("T = %s: not measured (filtered out)\n", t.c_str());
      continue;
    }
    std::printf("T = %s (b·n = 8, d = 64, causal, forward + backward): flash %.1f GFLOP/s, naive "
                "%.1f, speed ratio %.2f; extra memory flash %.1f MiB, naive %.1f MiB, ratio %.3f; "
                "beyond the outputs flash %.2f MiB, naive %.1f MiB, ratio %.4f\n",
                t.c_str(), flash, naive, flash / naive, fm, nm, fm / nm, fs, ns, fs / ns);
  }
  const double tiny = reporter.median("flash/cpu-tiny"), tiny_naive = reporter.median("naive/cpu-tiny");
  if (tiny > 0 && tiny_naive > 0)
    std::printf("cpu-tiny's attention (b = 12, s = 64, n = 4, d = 32, causal, forward + backward): "
                "flash %.1f GFLOP/s, naive %.1f, speed ratio %.2f\n",
                tiny, tiny_naive, tiny / tiny_naive);
  const double f128 = reporter.median("flash_d128/4096"), gemm = reporter.median("sgemm_d128/4096");
  if (f128 > 0 && gemm > 0)
    std::printf("flash T = 4096, d = 128 (not causal, forward + backward): %.1f GFLOP/s, "
                "sgemm (4096×128 · 128×4096) %.1f GFLOP/s, ratio %.2f\n",
                f128, gemm, f128 / gemm);
  benchmark::Shutdown();
  return 0;
}
