// elementwise.cpp — GB/s of the Add and SiLU kernels and of a Sum reduction on 1M–16M floats, against
// memcpy bandwidth measured in the same process. Both ops are memory-bound (arithmetic
// intensity 1/12 and 1/4 FLOP/byte), so the right yardstick is how close they stream to
// the copy speed of the machine, not FLOP/s.
//
//   bench_elementwise   prints Google Benchmark's table, then per size
//   "add N floats: op X GB/s, memcpy Y GB/s (Z on one thread), ratio X/Y" and the same for
//   sum; Y is memcpy split over the OpenMP threads, as the kernels are (medians of 5 runs).
// Bytes: add reads two inputs and writes one (12 bytes per element), silu reads one and
// writes one (8; its exp makes it the compute-heaviest elementwise op of the trainer), sum
// reads one (4 bytes per element), memcpy reads and writes (8 bytes per element).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_report.h"
#include "gw/op_table.h"

namespace {

const int64_t kSizes[] = {1 << 20, 1 << 22, 1 << 24};

void set_gbps(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Runs the op table's CPU kernel of `op` on f32 inputs of length n, as the executor would.
// Adding nodes goes through the op's shape rule, so a missing declaration skips the run.
void table_kernel(benchmark::State& state, gw::Op op, int64_t n, int arity, double bytes) {
  gw::Graph g;
  std::vector<gw::Node*> leaves;
  std::vector<gw::Tensor> inputs;
  for (int i = 0; i < arity; ++i) {
    leaves.push_back(g.input("x" + std::to_string(i), {n}));
    inputs.push_back(gw::bench::random_tensor({n}, 10 + i));
  }
  gw::Attrs attrs;
  attrs.axes = {0};  // Sum: reduce the only axis
  gw::Node* node = nullptr;
  try {
    node = g.add_node(op, leaves, attrs);
  } catch (const gw::Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  const gw::Kernel kernel = node->def().cpu;
  if (kernel == nullptr) {
    state.SkipWithError((std::string(node->def().name) + ": no CPU kernel yet").c_str());
    return;
  }
  gw::Tensor out = gw::Tensor::empty(node->shape, node->dtype);
  gw::RunContext ctx;
  const gw::KernelArgs args{*node, inputs, out, nullptr, ctx};
  for (auto _ : state) {
    kernel(args);
    benchmark::DoNotOptimize(out.raw());
    benchmark::ClobberMemory();
  }
  set_gbps(state, bytes);
}

void add_op(benchmark::State& state, int64_t n) {
  table_kernel(state, gw::Op::Add, n, 2, 12.0 * n);
}
void silu_op(benchmark::State& state, int64_t n) {
  table_kernel(state, gw::Op::Silu, n, 1, 8.0 * n);
}
void sum_op(benchmark::State& state, int64_t n) {
  table_kernel(state, gw::Op::Sum, n, 1, 4.0 * n);
}
// memcpy on every OpenMP thread, each copying its own contiguous chunk: the bandwidth a
// threaded kernel can hope for. memcpy1 is the one-thread figure, printed for reference.
void copy(benchmark::State& state, int64_t n, bool threaded) {
  gw::Tensor src = gw::bench::random_tensor({n}, 1), dst = gw::Tensor::empty({n});
  const char* from = static_cast<const char*>(src.raw());
  char* to = static_cast<char*>(dst.raw());
  const int64_t bytes = static_cast<int64_t>(src.nbytes());
  for (auto _ : state) {
#pragma omp parallel if (threaded)
    {
      const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t b0 = bytes * t / nt, b1 = bytes * (t + 1) / nt;
      std::memcpy(to + b0, from + b0, static_cast<size_t>(b1 - b0));
    }
    benchmark::DoNotOptimize(dst.raw());
    benchmark::ClobberMemory();
  }
  set_gbps(state, 8.0 * n);
}
void copy_threads(benchmark::State& state, int64_t n) { copy(state, n, true); }
void copy_one_thread(benchmark::State& state, int64_t n) { copy(state, n, false); }

std::string label(int64_t n) { return std::to_string(n >> 20) + "M"; }

}  // namespace

int main(int argc, char** argv) {
  for (int64_t n : kSizes) {
    for (auto [name, fn] : {std::pair{"memcpy", copy_threads}, std::pair{"memcpy1", copy_one_thread},
                            std::pair{"add", add_op}, std::pair{"silu", silu_op},
                            std::pair{"sum", sum_op}})
      benchmark::RegisterBenchmark((std::string(name) + "/" + label(n)).c_str(), fn, n)
          ->Repetitions(5)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
  }
  gw::bench::initialize_interleaved(argc, argv);
  gw::bench::CollectingReporter reporter("GB/s");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (int64_t n : kSizes) {
    const double copy_gbps = reporter.median("memcpy/" + label(n));
    for (const char* op : {"add", "silu", "sum"}) {
      const double gbps = reporter.median(std::string(op) + "/" + label(n));
      if (gbps <= 0 || copy_gbps <= 0) {
        std::printf("%s %s floats: not measured (op missing or filtered out)\n", op,
                    label(n).c_str());
        continue;
      }
      std::printf("%s %s floats: op %.1f GB/s, memcpy %.1f GB/s (%.1f on one thread), ratio %.3f\n",
                  op, label(n).c_str(), gbps, copy_gbps, reporter.median("memcpy1/" + label(n)),
                  gbps / copy_gbps);
    }
  }
  benchmark::Shutdown();
  return 0;
}
