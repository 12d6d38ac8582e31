// gpu_kernels.cpp — bench_gpu_kernels: the CUDA backend's elementwise and reduction kernels
// in GB/s against the device's own copy bandwidth (cudaMemcpy device to device), and the
// MatMul op's TFLOP/s against a direct cuBLAS call on the same shapes, in the same process.
//
//   bench_gpu_kernels [Google Benchmark flags]   the table, then one summary line per kernel:
//   "add f32 64M: 2890 GB/s | memcpy d2d 3010 GB/s | ratio 0.96" (medians of 5 repetitions).
// Times are GPU times (CUDA events around 10 launches), not host times. Without a GPU (or
// without the CUDA backend) it prints "skipped: no CUDA device" and exits 0.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_report.h"
#include "gw/device.h"

#if GW_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw_cuda.h"

namespace {

constexpr int kLaunches = 10;  // kernels per timed iteration, between two events
const gw::Device kGpu = gw::Device::cuda(0);

#define CHECK_CUDA(call)                                                                    \
  do {                                                                                      \
    const cudaError_t e = (call);                                                           \
    if (e != cudaSuccess) {                                                                 \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e)); \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

cudaStream_t gw_stream() { return static_cast<cudaStream_t>(gw::cuda::stream()); }

// Runs body() kLaunches times between two events on the backend's stream; sets the manual
// time (seconds per launch) of the iteration.
template <typename F>
void time_launches(benchmark::State& state, F&& body) {
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  body();  // warm-up: plans, scratch, caches
  CHECK_CUDA(cudaStreamSynchronize(gw_stream()));
  for (auto _ : state) {
    CHECK_CUDA(cudaEventRecord(start, gw_stream()));
    for (int i = 0; i < kLaunches; ++i) body();
    CHECK_CUDA(cudaEventRecord(stop, gw_stream()));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3 / kLaunches);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

gw::Tensor random_on_gpu(const gw::Shape& shape, gw::DType dtype, uint64_t seed) {
  gw::Tensor t = gw::bench::random_tensor(shape, seed);
  if (dtype != gw::DType::f32) t = t.astype(dtype);
  return t.to(kGpu);
}

// ---- memory-bound kernels: the op's kernel called directly, as the executor would --------
struct MemCase {
  std::string name;   // "add f32 64M"
  gw::Op op;
  gw::DType dtype;
  gw::Shape shape;
  std::vector<int64_t> axes;  // reductions
};

std::vector<MemCase> mem_cases() {
  const int64_t n = int64_t(1) << 26;  // 64M elements: 256 MB of f32
  using gw::DType;
  using gw::Op;
  return {{"add f32 64M", Op::Add, DType::f32, {n}, {}},
          {"mul bf16 64M", Op::Mul, DType::bf16, {n}, {}},
          {"exp f32 64M", Op::Exp, DType::f32, {n}, {}},
          {"silu bf16 64M", Op::Silu, DType::bf16, {n}, {}},
          {"cast f32->bf16 64M", Op::Cast, DType::f32, {n}, {}},
          {"sum f32 all 64M", Op::Sum, DType::f32, {n}, {0}},
          {"sum f32 rows 16384x4096", Op::Sum, DType::f32, {16384, 4096}, {1}},
          {"sum f32 cols 16384x4096", Op::Sum, DType::f32, {16384, 4096}, {0}},
          {"max bf16 rows 16384x4096", Op::Max, DType::bf16, {16384, 4096}, {1}}};
}

gw::Node* build(gw::Graph& g, const MemCase& c) {
  gw::Node* x = g.input("x", c.shape, c.dtype);
  switch (c.op) {
    case gw::Op::Add: return gw::add(x, g.input("y", c.shape, c.dtype));
    case gw::Op::Mul: return gw::mul(x, g.input("y", c.shape, c.dtype));
    case gw::Op::Exp: return gw::exp(x);
    case gw::Op::Silu: return gw::silu(x);
    case gw::Op::Cast: return gw::cast(x, gw::DType::bf16);
    case gw::Op::Sum: return gw::sum(x, c.axes);
    default: return gw::max(x, c.axes);
  }
}

void op_kernel(benchmark::State& state, MemCase c) {
  gw::Graph g(kGpu);
  gw::Node* node = build(g, c);
  std::vector<gw::Tensor> inputs;
  for (size_t i = 0; i < node->inputs.size(); ++i) inputs.push_back(random_on_gpu(c.shape, c.dtype, i + 1));
  gw::Tensor out = gw::Tensor::empty(node->shape, node->dtype, kGpu);
  gw::RunContext ctx;
  const gw::KernelArgs args{*node, inputs, out, nullptr, ctx};
  const gw::Kernel kernel = node->def().cuda;
  time_launches(state, [&] { kernel(args); });
  // bytes the op must move: each input read once, the output written once
  double bytes = static_cast<double>(out.nbytes());
  for (const gw::Tensor& t : inputs) bytes += static_cast<double>(t.nbytes());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// The baseline: copying 256 MB device to device reads and writes 256 MB each.
void memcpy_d2d(benchmark::State& state) {
  const size_t bytes = size_t(1) << 28;
  void *a = nullptr, *b = nullptr;
  CHECK_CUDA(cudaMalloc(&a, bytes));
  CHECK_CUDA(cudaMalloc(&b, bytes));
  CHECK_CUDA(cudaMemset(a, 1, bytes));
  CHECK_CUDA(cudaDeviceSynchronize());  // the legacy stream does not order the backend's
  time_launches(state, [&] {
    CHECK_CUDA(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, gw_stream()));
  });
  state.counters["GB/s"] = benchmark::Counter(2.0 * bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  cudaFree(a);
  cudaFree(b);
}

// ---- GEMM: the MatMul op (cuBLASLt plan, cached) against cublasSgemm / cublasGemmEx -------
struct GemmCase {
  int64_t m, k, n;
  gw::DType dtype;
  std::string name() const {
    return std::string(gw::dtype_name(dtype)) + " " + std::to_string(m) + "x" + std::to_string(k) +
           "x" + std::to_string(n);
  }
};
// gpt2-small's step at b·s = 8192 rows: qkv/out projections (768x768), MLP up (768x2048),
// MLP down (2048x768); and a square 4096³.
std::vector<GemmCase> gemm_cases() {
  std::vector<GemmCase> out;
  for (gw::DType dt : {gw::DType::f32, gw::DType::bf16})
    for (const auto& s : std::vector<std::array<int64_t, 3>>{
             {8192, 768, 768}, {8192, 768, 2048}, {8192, 2048, 768}, {4096, 4096, 4096}})
      out.push_back({s[0], s[1], s[2], dt});
  return out;
}

void set_tflops(benchmark::State& state, const GemmCase& c) {
  state.counters["TFLOP/s"] = benchmark::Counter(2.0 * c.m * c.n * c.k * 1e-12,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void op_gemm(benchmark::State& state, GemmCase c) {
  const gw::Tensor a = random_on_gpu({c.m, c.k}, c.dtype, 1), b = random_on_gpu({c.k, c.n}, c.dtype, 2);
  gw::Tensor out = gw::Tensor::empty({c.m, c.n}, c.dtype, kGpu);
  if (c.dtype == gw::DType::f32) {  // through the op table, as the executor runs MatMul
    gw::Graph g(kGpu);
    gw::Node* node = gw::matmul(g.input("a", {c.m, c.k}), g.input("b", {c.k, c.n}));
    std::vector<gw::Tensor> inputs = {a, b};
    gw::RunContext ctx;
    const gw::KernelArgs args{*node, inputs, out, nullptr, ctx};
    const gw::Kernel kernel = node->def().cuda;
    time_launches(state, [&] { kernel(args); });
  } else {  // the MatMul shape rule takes f32/f64 only: the backend's GEMM entry, same code path
    time_launches(state, [&] {
      gw::cuda::gemm(c.dtype, false, false, 1, c.m, c.n, c.k, a.raw(), b.raw(), out.raw(), true);
    });
  }
  set_tflops(state, c);
}

cublasHandle_t cublas() {
  static cublasHandle_t h = [] {
    cublasHandle_t handle;
    cublasCreate(&handle);
    return handle;
  }();
  return h;
}

// Row-major c = a·b as column-major cᵀ = bᵀ·aᵀ, the usual cuBLAS idiom.
void direct_cublas(benchmark::State& state, GemmCase c) {
  const gw::Tensor a = random_on_gpu({c.m, c.k}, c.dtype, 1), b = random_on_gpu({c.k, c.n}, c.dtype, 2);
  gw::Tensor out = gw::Tensor::empty({c.m, c.n}, c.dtype, kGpu);
  cublasSetStream(cublas(), gw_stream());
  const float one = 1.0f, zero = 0.0f;
  const int m = static_cast<int>(c.m), n = static_cast<int>(c.n), k = static_cast<int>(c.k);
  if (c.dtype == gw::DType::f32) {
    // TF32 when the backend uses it, so both sides do the same arithmetic
    cublasSetMathMode(cublas(), gw::cuda::tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    time_launches(state, [&] {
      cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, static_cast<const float*>(b.raw()),
                  n, static_cast<const float*>(a.raw()), k, &zero, static_cast<float*>(out.raw()), n);
    });
  } else {
    cublasSetMathMode(cublas(), CUBLAS_DEFAULT_MATH);
    time_launches(state, [&] {
      cublasGemmEx(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b.raw(), CUDA_R_16BF, n, a.raw(),
                   CUDA_R_16BF, k, &zero, out.raw(), CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                   CUBLAS_GEMM_DEFAULT);
    });
  }
  set_tflops(state, c);
}

}  // namespace

int main(int argc, char** argv) {
  if (gw::cuda_device_count() == 0) {
    std::printf("skipped: no CUDA device (no GPU visible, or no driver)\n");
    return 0;
  }
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs, TF32 for f32 GEMMs: %s\n", prop.name, prop.multiProcessorCount,
              gw::cuda::tf32() ? "on" : "off (GW_CUDA_TF32=0)");
  benchmark::RegisterBenchmark("memcpy_d2d", memcpy_d2d)->UseManualTime()->Repetitions(5)->Unit(benchmark::kMicrosecond);
  for (const MemCase& c : mem_cases())
    benchmark::RegisterBenchmark(("op/" + c.name).c_str(), op_kernel, c)
        ->UseManualTime()->Repetitions(5)->Unit(benchmark::kMicrosecond);
  for (const GemmCase& c : gemm_cases()) {
    benchmark::RegisterBenchmark(("gemm_op/" + c.name()).c_str(), op_gemm, c)
        ->UseManualTime()->Repetitions(5)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("cublas/" + c.name()).c_str(), direct_cublas, c)
        ->UseManualTime()->Repetitions(5)->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  gw::bench::CollectingReporter reporter("GB/s");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("\nsummary (same process, medians of 5):\n");
  const double copy = reporter.median("memcpy_d2d", "GB/s");
  std::printf("  memcpy device to device: %.0f GB/s\n", copy);
  for (const MemCase& c : mem_cases()) {
    const double op = reporter.median("op/" + c.name, "GB/s");
    if (op > 0)
      std::printf("  %-28s %7.0f GB/s | memcpy d2d %7.0f GB/s | ratio %.2f\n", c.name.c_str(), op,
                  copy, copy > 0 ? op / copy : 0.0);
  }
  for (const GemmCase& c : gemm_cases()) {
    const double op = reporter.median("gemm_op/" + c.name(), "TFLOP/s");
    const double ref = reporter.median("cublas/" + c.name(), "TFLOP/s");
    if (op > 0)
      std::printf("  gemm %-24s op %6.1f TFLOP/s | cuBLAS %6.1f TFLOP/s | ratio %.2f\n",
                  c.name().c_str(), op, ref, ref > 0 ? op / ref : 0.0);
  }
  return 0;
}

#else  // no CUDA backend in this build

int main() {
  std::printf("skipped: no CUDA device (this build has no CUDA backend)\n");
  return 0;
}

#endif
