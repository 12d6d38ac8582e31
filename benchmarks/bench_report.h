// bench_report.h — helpers shared by the kernel benchmarks: reproducible random tensors and
// a console reporter that also keeps one counter per benchmark, so a custom main can print
// the ratio of two benchmarks run in the same process.
#pragma once

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
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

/// Prints like the console reporter and records `counter` of every repetition by the
/// benchmark's function name ("op/512x512x512").
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  /// Records the counter named `counter` (e.g. "GFLOP/s").
  /// Colors only on a terminal, so piped output holds no escape codes.
  explicit CollectingReporter(std::string counter)
      : benchmark::ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular),
        counter_(std::move(counter)) {}

  /// Forwards to the console and keeps the counter of each plain (non-aggregate) run.
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto it = run.counters.find(counter_);
      if (it != run.counters.end()) values_[run.run_name.function_name].push_back(it->second);
    }
  }

  /// Median of the recorded values of a benchmark, or 0 when it did not run.
  double median(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) return 0.0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  std::string counter_;
  std::map<std::string, std::vector<double>> values_;
};

}  // namespace gw::bench
