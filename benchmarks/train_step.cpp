// train_step.cpp — bench_train_step: one training step (forward, backward, clipping, AdamW)
// of the reference trainer on the CPU, for the cpu-tiny and gpt2-small shapes, against raw
// OpenBLAS sgemm measured in the same process.
//
// Prints per shape: tokens/s, FLOPs per token (op-table count of the step graph) and the
// achieved GFLOP/s, then the ratio of the step's GFLOP/s to sgemm's on the shape of the
// model's largest GEMM (the MLP projection, (b·s, h)·(h, i)): how close the whole step runs
// to the speed of its dominant kernel. The step uses the trainer's defaults (flash attention);
// train_step_naive/<shape> is the same step with the naive attention op (gw-train --attention
// naive); the summary gives its ratio too and the flash step's speed against it. The vocabulary is a 65-symbol
// character set (tinyshakespeare's size), since the tokenizer is character-level.
// Each shape also runs with activation checkpointing (train_step_ckpt/...): the summary
// prints its time overhead against the plain step, next to what the FLOP counts expect (one
// more forward pass of the blocks: 1 + recomputed FLOPs / step FLOPs).
// train_step_bf16/<shape> is the step with --precision bf16 (lab 06: products in bf16 with
// f32 accumulation, bf16 weight copies of f32 masters): the summary gives its speed against
// the f32 step and the bytes its first step allocated (the executors' arenas: the
// activations and gradients a step keeps) against f32's, both measured by the allocator.
// cpu-tiny's benchmarks run three repetitions in random order (medians in the summary): this
// shared VM's speed moves in phases, and sgemm and the step do not slow down alike. Phases
// last seconds, so the ratio the summary leads with is paired (paired/<shape>): each
// iteration times one step and, right next to it, sgemm calls of about the step's FLOPs
// (the order alternates), and the summary gives the median and quartiles of the per-pair
// ratios: a phase change moves both sides of a pair alike.
// Flags: Google Benchmark's, plus --profile to print the time per op type of each step.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_report.h"
#include "gw/allocator.h"
#include "gw/data.h"
#include "gw/rng.h"
#include "gw/trainer.h"

namespace {

struct Shape {
  const char* name;
  const char* preset;
  int64_t batch;  // rows per step here (gpt2-small: 1 row of 1024 tokens keeps a step short)
};
const Shape kShapes[] = {{"cpu-tiny", "cpu-tiny", 12}, {"gpt2-small", "gpt2-small", 1}};
bool g_profile = false;

// A text over 65 symbols, long enough for a 1024-token block in both splits.
gw::TextDataset synthetic_text() {
  std::string text;
  for (uint64_t i = 0; i < 200000; ++i)
    text.push_back(static_cast<char>(' ' + gw::uniform_int(7, 0, i, 65)));
  return gw::TextDataset::from_text(text, "65-symbol synthetic text");
}

std::unique_ptr<gw::Trainer> make_trainer(const Shape& sh, bool checkpoint, bool naive,
                                          const char* precision) {
  gw::TrainConfig c = gw::preset_config(sh.preset);
  if (naive) c.attention = "naive";
  c.precision = precision;
  c.batch_size = sh.batch;
  c.eval_iters = 1;
  c.checkpoint_activations = checkpoint;
  return std::make_unique<gw::Trainer>(c, synthetic_text());
}

double g_recompute_share[2] = {0, 0};  // recomputed FLOPs / step FLOPs, per shape
// Wall-clock seconds per step and bytes allocated by the first step, per shape and variant.
double g_step_seconds[2][4] = {};
int64_t g_first_step_bytes[2][4] = {};

// variant: 0 the plain step, 1 with activation checkpointing, 2 with naive attention, 3 in bf16.
void BM_train_step(benchmark::State& state, int which, int variant) {
  const Shape& sh = kShapes[which];
  const bool checkpoint = variant == 1, naive = variant == 2;
  auto trainer = make_trainer(sh, checkpoint, naive, variant == 3 ? "bf16" : "fp32");
  if (checkpoint)
    g_recompute_share[which] = trainer->recompute_flops_per_token() / trainer->flops_per_token();
  {
    gw::MemoryProbe probe;  // the arenas are allocated on the first run
    trainer->train_step();
    g_first_step_bytes[which][variant] = probe.peak_extra_bytes();
  }
  if (g_profile) std::printf("== %s ==\n%s", sh.name, trainer->profile_step().c_str());
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) trainer->train_step();
  // Wall clock: the step runs on every OpenMP thread, the benchmark's CPU time counts one.
  g_step_seconds[which][variant] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
      static_cast<double>(state.iterations());
  const double tokens = static_cast<double>(trainer->tokens_per_step()) * state.iterations();
  state.SetLabel(sh.name);
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["FLOP/token"] = trainer->flops_per_token();
  state.counters["GFLOP/s"] =
      benchmark::Counter(tokens * trainer->flops_per_token() / 1e9, benchmark::Counter::kIsRate);
}

// sgemm (b·s, h)·(h, i): the largest GEMM of the shape's step.
struct Sgemm {
  int64_t m, k, n;
  gw::Tensor a, b, out;
  explicit Sgemm(const Shape& sh) {
    const gw::TrainConfig c = gw::preset_config(sh.preset);
    m = sh.batch * c.block_size, k = c.n_embd, n = c.mlp_width();
    a = gw::bench::random_tensor({m, k}, 1);
    b = gw::bench::random_tensor({k, n}, 2);
    out = gw::Tensor::empty({m, n});
  }
  void run() {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a.data<float>(), static_cast<int>(k), b.data<float>(),
                static_cast<int>(n), 0.0f, out.data<float>(), static_cast<int>(n));
  }
  // Counted as the step's FLOPs are (lab 07): m·n outputs of k multiplies and k − 1 adds.
  double flops() const { return static_cast<double>(m * n) * (2.0 * k - 1); }
  std::string label() const {
    return std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
  }
};

void BM_sgemm(benchmark::State& state, int which) {
  const Shape& sh = kShapes[which];
  Sgemm g(sh);
  for (auto _ : state) g.run();
  state.SetLabel(std::string(sh.name) + " " + g.label());
  state.counters["GFLOP/s"] =
      benchmark::Counter(g.flops() * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

double seconds_of(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Per shape: the step's GFLOP/s over sgemm's, one ratio per adjacent pair of measurements.
std::vector<double> g_pair_ratios[2];

// Each iteration: one step and ⌈step FLOPs / sgemm FLOPs⌉ sgemm calls, timed apart, in an
// order that alternates; the pair's ratio is the step's FLOP rate over sgemm's.
void BM_paired(benchmark::State& state, int which) {
  const Shape& sh = kShapes[which];
  auto trainer = make_trainer(sh, false, false, "fp32");
  Sgemm g(sh);
  trainer->train_step();  // the arenas are allocated on the first run
  const double step_flops =
      static_cast<double>(trainer->tokens_per_step()) * trainer->flops_per_token();
  const int calls = static_cast<int>(std::ceil(step_flops / g.flops()));
  std::vector<double>& ratios = g_pair_ratios[which];
  ratios.clear();
  for (auto _ : state) {
    double step_s = 0, gemm_s = 0;
    auto step = [&] { step_s = seconds_of([&] { trainer->train_step(); }); };
    auto gemms = [&] { gemm_s = seconds_of([&] { for (int i = 0; i < calls; ++i) g.run(); }); };
    if (ratios.size() % 2 == 0) step(), gemms();
    else gemms(), step();
    ratios.push_back((step_flops / step_s) / (calls * g.flops() / gemm_s));
  }
  std::sort(ratios.begin(), ratios.end());
  state.SetLabel(std::string(sh.name) + " step vs " + std::to_string(calls) + " sgemm " +
                 g.label());
  state.counters["ratio"] = ratios[ratios.size() / 2];
}

// The q-quantile of sorted values (nearest rank).
double quantile(const std::vector<double>& sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5)];
}


}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--profile") == 0) {
      g_profile = true;
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  for (int s = 0; s < 2; ++s) {
    const std::string name = kShapes[s].name;
    // cpu-tiny: three repetitions, interleaved in random order with sgemm's, so that the
    // ratio's two sides see the same phases of a shared machine (medians are reported).
    auto* gemm = benchmark::RegisterBenchmark(("sgemm/" + name).c_str(), BM_sgemm, s)
                     ->Unit(benchmark::kMillisecond);
    if (s == 0) gemm->Repetitions(3);
    // cpu-tiny: 41 pairs of about 50 ms each; gpt2-small: 3 pairs of seconds each.
    benchmark::RegisterBenchmark(("paired/" + name).c_str(), BM_paired, s)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(s == 0 ? 41 : 3);
    const char* steps[] = {"train_step/", "train_step_ckpt/", "train_step_naive/",
                           "train_step_bf16/"};
    for (int variant = 0; variant < 4; ++variant) {
      auto* b = benchmark::RegisterBenchmark((steps[variant] + name).c_str(), BM_train_step, s,
                                             variant);
      if (s == 0)
        b->Unit(benchmark::kMillisecond)->MinTime(2.0)->Repetitions(3);
      else  // one gpt2-small step is seconds on a CPU
        b->Unit(benchmark::kSecond)->Iterations(2);
    }
  }
  gw::bench::initialize_interleaved(argc, argv);
  gw::bench::CollectingReporter reporter("GFLOP/s");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("\nsummary (same process):\n");
  for (int s = 0; s < 2; ++s) {
    const std::string name = kShapes[s].name;
    const double step = reporter.median("train_step/" + name);
    const double gemm = reporter.median("sgemm/" + name);
    const std::vector<double>& pairs = g_pair_ratios[s];
    if (!pairs.empty())
      std::printf("  %-10s paired ratio to sgemm %.2f (median of %zu adjacent pairs; quartiles "
                  "%.2f-%.2f)\n", kShapes[s].name, quantile(pairs, 0.5), pairs.size(),
                  quantile(pairs, 0.25), quantile(pairs, 0.75));
    if (step <= 0) continue;
    std::printf("  %-10s train step %7.2f GFLOP/s | OpenBLAS sgemm %7.2f GFLOP/s | ratio %.2f\n",
                kShapes[s].name, step, gemm, gemm > 0 ? step / gemm : 0.0);
    const double plain = g_step_seconds[s][0], ckpt = g_step_seconds[s][1];
    if (plain > 0 && ckpt > 0)
      std::printf("  %-10s activation checkpointing: %.3f s against %.3f s per step, x%.2f "
                  "(the FLOP counts expect x%.2f: one more forward pass of the blocks)\n",
                  kShapes[s].name, ckpt, plain, ckpt / plain, 1 + g_recompute_share[s]);
    const double naive = reporter.median("train_step_naive/" + name);
    if (naive > 0)
      std::printf("  %-10s with naive attention %7.2f GFLOP/s | ratio to sgemm %.2f | the flash "
                  "step is %.2fx its speed\n", kShapes[s].name, naive,
                  gemm > 0 ? naive / gemm : 0.0, step / naive);
    const double bf16 = g_step_seconds[s][3];
    if (plain > 0 && bf16 > 0)
      std::printf("  %-10s bf16 step %.3f s against f32 %.3f s: %.2fx the f32 speed | first-step "
                  "allocations %.1f MB against %.1f MB: %.2f of f32's\n",
                  kShapes[s].name, bf16, plain, plain / bf16, g_first_step_bytes[s][3] / 1e6,
                  g_first_step_bytes[s][0] / 1e6,
                  static_cast<double>(g_first_step_bytes[s][3]) /
                      static_cast<double>(g_first_step_bytes[s][0]));
  }
  return 0;
}
