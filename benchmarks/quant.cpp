// quant.cpp — lab 05's fast path: GOP/s of the int8 GEMM (MatMulInt8's kernel: i8·i8 → i32)
// and of QuantizedLinear's kernel (x quantized per row on the fly, int8 GEMM, rescale) against
// cblas_sgemm on the same shapes, in the same process. Shapes: 1024³ and the tiny
// transformer's rows (b·s = 768, k = 128) by n = 128 and n = 512.
//
// The int8 GEMM is oneDNN's VNNI kernel when the CPU has VNNI, else exact plain loops; the
// program says which. Without VNNI expect a ratio well below 1: x86 has no exact int8
// multiply-add wider than f32's FMA before VNNI.
//
//   bench_quant [--benchmark_min_time=...]   Google Benchmark's table, then one line per
//   shape: "MxKxN: int8 X GOP/s, quantized_linear Y GOP/s, sgemm Z GFLOP/s, ratios X/Z Y/Z".
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_report.h"
#include "cpu/cpu_kernels.h"
#include "gw/op_table.h"
#include "gw/ops.h"

namespace {

struct Shape3 {
  int64_t m, k, n;
};
const Shape3 kShapes[] = {{1024, 1024, 1024}, {768, 128, 128}, {768, 128, 512}};

std::string shape_name(const Shape3& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
}

void set_rate(benchmark::State& state, const Shape3& s) {
  state.counters["GOP/s"] = benchmark::Counter(2.0 * s.m * s.k * s.n * 1e-9,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

// Runs `op`'s CPU kernel on a node built from inputs of the given shapes and dtypes.
void run_kernel(benchmark::State& state, const Shape3& s, gw::Op op,
                const std::vector<gw::Tensor>& inputs) {
  gw::Graph g;
  std::vector<gw::Node*> in;
  for (size_t i = 0; i < inputs.size(); ++i)
    in.push_back(g.input("in" + std::to_string(i), inputs[i].shape(), inputs[i].dtype()));
  gw::Node* out_node = op == gw::Op::MatMulInt8 ? gw::matmul_int8(in[0], in[1])
                                                : gw::quantized_linear(in[0], in[1], in[2]);
  gw::Tensor out = gw::Tensor::empty(out_node->shape, out_node->dtype);
  gw::RunContext ctx;
  const gw::KernelArgs args{*out_node, inputs, out, nullptr, ctx};
  const gw::Kernel kernel = gw::op_def(op).cpu;
  for (auto _ : state) {
    kernel(args);
    benchmark::DoNotOptimize(out.raw());
    benchmark::ClobberMemory();
  }
  set_rate(state, s);
}

gw::Tensor codes(const gw::Shape& shape, uint64_t seed) {
  return gw::bench::random_tensor(shape, seed).astype(gw::DType::f64).astype(gw::DType::f32);
}

void int8_gemm(benchmark::State& state, Shape3 s) {
  auto i8 = [](const gw::Tensor& t) {
    std::vector<int8_t> v(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = static_cast<int8_t>(t.data<float>()[i] * 127);
    return gw::Tensor::from_vector(t.shape(), v);
  };
  run_kernel(state, s, gw::Op::MatMulInt8,
             {i8(codes({s.m, s.k}, 1)), i8(codes({s.k, s.n}, 2))});
}

void quantized_linear(benchmark::State& state, Shape3 s) {
  std::vector<int8_t> q(static_cast<size_t>(s.k * s.n));
  const gw::Tensor w = gw::bench::random_tensor({s.k, s.n}, 2);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>(w.data<float>()[i] * 127);
  run_kernel(state, s, gw::Op::QuantizedLinear,
             {gw::bench::random_tensor({s.m, s.k}, 1), gw::Tensor::from_vector({s.k, s.n}, q),
              gw::Tensor::full({s.n}, 1.0 / 127, gw::DType::f32)});
}

void sgemm(benchmark::State& state, Shape3 s) {
  gw::bench::time_cblas_sgemm(state, s.m, s.k, s.n);
  set_rate(state, s);
}

}  // namespace

int main(int argc, char** argv) {
  for (const Shape3& s : kShapes) {
    for (auto [name, fn] : {std::pair{"int8/", int8_gemm}, std::pair{"qlinear/", quantized_linear},
                            std::pair{"sgemm/", sgemm}})
      benchmark::RegisterBenchmark((name + shape_name(s)).c_str(), fn, s)
          ->Repetitions(5)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
  }
  gw::bench::initialize_interleaved(argc, argv);
  gw::bench::CollectingReporter reporter("GOP/s");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("int8 GEMM: %s\n", gw::cpu::int8_gemm_uses_vnni()
                                     ? "oneDNN u8s8s32 (VNNI)"
                                     : "plain loops (no VNNI on this CPU, or no oneDNN)");
  for (const Shape3& s : kShapes) {
    const double i8 = reporter.median("int8/" + shape_name(s));
    const double ql = reporter.median("qlinear/" + shape_name(s));
    const double f32 = reporter.median("sgemm/" + shape_name(s));
    if (i8 <= 0 || ql <= 0 || f32 <= 0) continue;  // filtered out on the command line
    std::printf("%s: int8 %.1f GOP/s, quantized_linear %.1f GOP/s, sgemm %.1f GFLOP/s, "
                "ratios %.2f %.2f\n",
                shape_name(s).c_str(), i8, ql, f32, i8 / f32, ql / f32);
  }
  benchmark::Shutdown();
  return 0;
}
