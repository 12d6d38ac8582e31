// bench_report.h — helpers shared by the kernel benchmarks: reproducible random tensors, a
// console reporter that also keeps the counters of every benchmark, so a custom main can
// print the ratio of two benchmarks run in the same process, and the interleaved start-up.
#pragma once

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gw/tensor.h"

namespace gw::bench {

/// f32 tensor with uniform values in [−1, 1), reproducible from `seed`.
inline Tensor random_tensor(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape, DType::f32);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

/// The f32 GEMM baseline: cblas_sgemm of random (m × k)·(k × n) row-major matrices, once per
/// iteration of `state`. Include <cblas.h> before this header to get it.
#ifdef CBLAS_H
inline void time_cblas_sgemm(benchmark::State& state, int64_t m, int64_t k, int64_t n) {
  Tensor a = random_tensor({m, k}, 1), b = random_tensor({k, n}, 2);
  Tensor c = Tensor::empty({m, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), 1.0f, a.data<float>(),
                static_cast<int>(k), b.data<float>(), static_cast<int>(n), 0.0f, c.data<float>(),
                static_cast<int>(n));
    benchmark::DoNotOptimize(c.raw());
    benchmark::ClobberMemory();
  }
}
#endif

/// Prints like the console reporter and records every counter of every repetition by the
/// benchmark's function name ("op/512x512x512") and the counter's name.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  /// `counter` (e.g. "GFLOP/s") is the one median(name) reads.
  /// Colors only on a terminal, so piped output holds no escape codes.
  explicit CollectingReporter(std::string counter)
      : benchmark::ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),
        counter_(std::move(counter)) {}

  /// Forwards to the console and keeps the counters of each plain (non-aggregate) run.
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      for (const auto& [name, value] : run.counters)
        values_[{run.run_name.function_name, name}].push_back(value);
    }
  }

  /// Median of a counter's recorded values of a benchmark, or 0 when it did not run.
  double median(const std::string& name, const std::string& counter) const {
    auto it = values_.find({name, counter});
    if (it == values_.end() || it->second.empty()) return 0.0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  /// The same for the counter named at construction.
  double median(const std::string& name) const { return median(name, counter_); }

 private:
  std::string counter_;
  std::map<std::pair<std::string, std::string>, std::vector<double>> values_;
};

/// benchmark::Initialize with random interleaving switched on: repetitions of an op and of
/// its baseline interleave, so a burst of load on a shared machine hits both sides of the
/// ratio alike. Flags given by the user come later and win. An unknown flag is one error line
/// and exit status 2.
inline void initialize_interleaved(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  args.insert(args.begin() + 1, interleave);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) std::exit(2);
}

}  // namespace gw::bench
