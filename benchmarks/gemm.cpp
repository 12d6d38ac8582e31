// gemm.cpp — GFLOP/s of the MatMul op's CPU kernel against raw cblas_sgemm on the same
// shapes, in the same process: the design's claim that the training step's GEMMs run near
// OpenBLAS's own speed. Shapes: 512³ and the tiny transformer's (m = b·s = 768 rows,
// k = 128) by n = 128 (attention projections) and n = 512 (MLP).
//
//   bench_gemm [--benchmark_min_time=...]   prints Google Benchmark's table, then one line
//   per shape: "gemm MxKxN: op X GFLOP/s, cblas Y GFLOP/s, ratio X/Y" (medians of 5 runs).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "gw/op_table.h"
#include "gw/ops.h"
#include "bench_report.h"

namespace {

struct GemmShape {
  int64_t m, k, n;
};
const GemmShape kShapes[] = {{512, 512, 512}, {768, 128, 128}, {768, 128, 512}};

std::string shape_name(const GemmShape& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
}

void set_gflops(benchmark::State& state, const GemmShape& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * s.m * s.k * s.n * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// The op as the executor runs it: the table's kernel on a MatMul node, with KernelArgs.
void op_matmul(benchmark::State& state, GemmShape s) {
  gw::Graph g;
  gw::Node* c = gw::matmul(g.input("a", {s.m, s.k}), g.input("b", {s.k, s.n}));
  std::vector<gw::Tensor> inputs = {gw::bench::random_tensor({s.m, s.k}, 1),
                                    gw::bench::random_tensor({s.k, s.n}, 2)};
  gw::Tensor out = gw::Tensor::empty(c->shape, c->dtype);
  gw::RunContext ctx;
  const gw::KernelArgs args{*c, inputs, out, nullptr, ctx};
  const gw::Kernel kernel = gw::op_def(gw::Op::MatMul).cpu;
  for (auto _ : state) {
    kernel(args);
    benchmark::DoNotOptimize(out.raw());
    benchmark::ClobberMemory();
  }
  set_gflops(state, s);
}

// The baseline: OpenBLAS called directly on the same data layout.
void raw_cblas(benchmark::State& state, GemmShape s) {
  gw::bench::time_cblas_sgemm(state, s.m, s.k, s.n);
  set_gflops(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  for (const GemmShape& s : kShapes) {
    // op and cblas registered back to back, so each pair runs under the same conditions
    benchmark::RegisterBenchmark(("op/" + shape_name(s)).c_str(), op_matmul, s)
        ->Repetitions(5)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("cblas/" + shape_name(s)).c_str(), raw_cblas, s)
        ->Repetitions(5)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  gw::bench::initialize_interleaved(argc, argv);
  gw::bench::CollectingReporter reporter("GFLOP/s");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (const GemmShape& s : kShapes) {
    const double op = reporter.median("op/" + shape_name(s));
    const double blas = reporter.median("cblas/" + shape_name(s));
    if (op <= 0 || blas <= 0) continue;  // filtered out on the command line
    std::printf("gemm %s: op %.1f GFLOP/s, cblas %.1f GFLOP/s, ratio %.3f\n",
                shape_name(s).c_str(), op, blas, op / blas);
  }
  benchmark::Shutdown();
  return 0;
}
