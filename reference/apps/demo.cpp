// demo.cpp — gw-demo: builds a 2-layer MLP regression graph and runs it through an Executor.
//
// The smallest tour of the define-then-run design: model code builds
// a Graph, nothing runs while it is built; the Executor then plans once (schedule and
// liveness memory plan) and runs the same graph several times with new inputs. The demo
// prints what the plan knows before anything runs (each node's FLOPs, the arena size against
// the size without reuse, the predicted peak) and what the allocator measured (the peak of
// the first run, and zero allocations on the later ones), then the loss of each run.
//
//   gw-demo [--batch 64] [--hidden 128] [--runs 5] [--seed 0]
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "app_main.h"
#include "gw/allocator.h"
#include "gw/executor.h"
#include "gw/ops.h"

namespace gw {
namespace {

constexpr int64_t kFeatures = 16;  // width of x

struct Options {
  int64_t batch = 64;
  int64_t hidden = 128;
  int runs = 5;
  uint64_t seed = 0;
};

/// Uniform values in [−scale, scale), as an f32 tensor.
Tensor uniform(const Shape& shape, double scale, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v);
}

/// A batch of the regression task: x (b, f) uniform in [−1, 1), y (b, 1) = sin(x · w_teacher).
void make_batch(const Tensor& teacher, int64_t batch, std::mt19937_64& rng, Tensor& x, Tensor& y) {
  x = uniform({batch, kFeatures}, 1.0, rng);
  const std::vector<double> xs = x.to_doubles(), w = teacher.to_doubles();
  std::vector<double> ys(static_cast<size_t>(batch));
  for (int64_t r = 0; r < batch; ++r) {
    double dot = 0;
    for (int64_t c = 0; c < kFeatures; ++c)
      dot += xs[static_cast<size_t>(r * kFeatures + c)] * w[static_cast<size_t>(c)];
    ys[static_cast<size_t>(r)] = std::sin(dot);
  }
  y = Tensor::from_values({batch, 1}, ys);
}

/// "1,234,567": FLOP counts are easier to read with separators.
std::string grouped(double value) {
  std::string digits = std::to_string(static_cast<long long>(std::llround(value)));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

int run_demo(const Options& o) {
  std::mt19937_64 rng(o.seed);
  Graph graph;
  Node* x = graph.input("x", {o.batch, kFeatures});  // (b, f)
  Node* y = graph.input("y", {o.batch, 1});          // (b, 1)
  // He-style uniform initialization: scale 1/sqrt(fan_in) keeps activations of order one.
  Node* w1 = graph.parameter("w1", uniform({kFeatures, o.hidden}, 1.0 / std::sqrt(kFeatures), rng));
  Node* b1 = graph.parameter("b1", Tensor::zeros({o.hidden}));
  Node* w2 = graph.parameter("w2", uniform({o.hidden, 1}, 1.0 / std::sqrt(double(o.hidden)), rng));
  Node* b2 = graph.parameter("b2", Tensor::zeros({1}));
  Node* h = relu(add(matmul(x, w1), b1));     // (b, h)
  Node* prediction = add(matmul(h, w2), b2);  // (b, 1)
  Node* error = sub(prediction, y);           // (b, 1)
  Node* loss = mean(mul(error, error));       // () mean squared error

  Executor executor(graph, {loss});
  std::printf(
      "gw-demo: 2-layer MLP regression, batch %lld, features %lld, hidden %lld, seed %llu\n\n",
      static_cast<long long>(o.batch), static_cast<long long>(kFeatures),
      static_cast<long long>(o.hidden), static_cast<unsigned long long>(o.seed));

  std::printf("schedule (%zu nodes; leaves are bound, not run)\n", executor.schedule().size());
  std::printf("  %4s  %-10s %-14s %16s\n", "step", "op", "shape", "FLOPs");
  double total_flops = 0;
  for (size_t step = 0; step < executor.schedule().size(); ++step) {
    const Node* node = executor.schedule()[step];
    const double flops = node->def().flops ? node->def().flops(*node) : 0.0;
    total_flops += flops;
    std::printf("  %4zu  %-10s %-14s %16s\n", step, node->def().name,
                shape_str(node->shape).c_str(), grouped(flops).c_str());
  }
  std::printf("  %4s  %-10s %-14s %16s\n\n", "", "total", "", grouped(total_flops).c_str());

  const Tensor teacher = uniform({kFeatures}, 1.0, rng);
  std::vector<double> losses;
  int64_t measured_peak = 0;
  std::vector<int64_t> allocations;
  for (int run = 0; run < o.runs; ++run) {
    Tensor xs, ys;
    make_batch(teacher, o.batch, rng, xs, ys);  // outside the probe: feeds are the caller's
    MemoryProbe probe;
    const std::vector<Tensor> out = executor.run({{x, xs}, {y, ys}});
    if (run == 0) measured_peak = probe.peak_extra_bytes();
    allocations.push_back(probe.allocations());
    losses.push_back(out[0].item());
  }

  const MemoryPlan& plan = executor.plan();
  std::printf("memory plan\n");
  std::printf("  arena           %12lld bytes (every intermediate value, reused by liveness)\n",
              static_cast<long long>(plan.arena_bytes));
  std::printf("  unplanned       %12lld bytes (every value in a buffer of its own)\n",
              static_cast<long long>(plan.unplanned_bytes));
  std::printf("  predicted peak  %12lld bytes\n",
              static_cast<long long>(plan.predicted_peak_bytes));
  std::printf("  measured peak   %12lld bytes (MemoryProbe, first run)%s\n\n",
              static_cast<long long>(measured_peak),
              measured_peak == plan.predicted_peak_bytes ? "" : "  <- differs from the prediction");

  std::printf("runs\n");
  for (size_t r = 0; r < losses.size(); ++r)
    std::printf("  run %3zu  loss %.6f  allocations %lld\n", r + 1, losses[r],
                static_cast<long long>(allocations[r]));
  std::printf("  %lld kernels launched\n", static_cast<long long>(executor.evaluations()));
  return 0;
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) {
  CLI::App app{
      "gw-demo: runs a 2-layer MLP regression graph through the executor and prints "
      "its schedule, memory plan and losses"};
  gw::Options o;
  app.add_option("--batch", o.batch, "rows per batch (b)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("--hidden", o.hidden, "hidden width (h)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  app.add_option("--runs", o.runs, "runs of the same executor, each with a new batch")
      ->check(CLI::Range(1, 100000));
  app.add_option("--seed", o.seed, "random seed of the data and the weights");
  return gw::app::run(app, "gw-demo", argc, argv, [&] {
    return gw::run_demo(o);
  });
}
