// gemm.cu — the CUDA kernel of MatMul: cuBLASLt, row-major, batched, with transpose flags.
//
// cuBLASLt is column-major. A row-major (m, n) matrix is the column-major (n, m) matrix in
// the same memory, so the row-major C = op(A)·op(B) is computed as the column-major
// Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLASLt's "A" is our b and its "B" is our a, with m and n swapped.
// Dtypes: f32 (TF32 tensor cores unless turned off, f32 accumulation), bf16 and f16 (16-bit
// inputs and output, f32 accumulation) and f64. A shared b (2-D) with a not transposed folds the batch
// into m (one GEMM, as a linear layer on (b, s, h) wants); otherwise a strided batch, with a
// batch stride of 0 for a shared b. Each distinct problem is planned once (layouts and the
// heuristic's algorithm) and the plan is cached, so a training step pays no planning cost.
#include <cublasLt.h>

#include <map>
#include <mutex>
#include <tuple>
#include <utility>

#include "common/op_shapes.h"
#include "cuda_common.cuh"

#define CUBLAS_CHECK(call)                                                                   \
  do {                                                                                       \
    const cublasStatus_t gw_cublas_status_ = (call);                                         \
    if (gw_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                          \
      throw ::gw::DeviceError(::gw::detail::concat(__FILE__, ":", __LINE__, ": ", #call,     \
                                                   ": cuBLAS status ",                       \
                                                   cublasGetStatusString(gw_cublas_status_))); \
  } while (0)

namespace gw::cuda {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLASLt's scratch for split-K and friends

// One GEMM problem. The alignments (bytes, up to 256) of the pointers and batch strides
// are part of it: the executor's arena aligns values to 64 bytes only, and cuBLASLt's
// heuristic assumes 256 unless told otherwise.
struct Problem {
  DType dtype;
  bool ta, tb, tf32;
  int64_t batch, m, n, k;
  bool shared_b;
  uint32_t align_a, align_b, align_c;
  bool operator<(const Problem& o) const {
    return std::tie(dtype, ta, tb, tf32, batch, m, n, k, shared_b, align_a, align_b, align_c) <
           std::tie(o.dtype, o.ta, o.tb, o.tf32, o.batch, o.m, o.n, o.k, o.shared_b, o.align_a,
                    o.align_b, o.align_c);
  }
};

// Largest power of two up to 256 dividing both the address and the batch stride in bytes.
uint32_t alignment(const void* p, int64_t stride_bytes) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(p) | static_cast<uintptr_t>(stride_bytes);
  uint32_t a = 256;
  while (a > 1 && v % a != 0) a /= 2;
  return a;
}

struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A, B, C
  cublasLtMatmulAlgo_t algo{};
};

struct Gemm {
  std::mutex mutex;
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::map<Problem, Plan> plans;
};

Gemm& gemm_state() {
  static Gemm* g = new Gemm();  // never destroyed (teardown order with the CUDA context)
  std::lock_guard<std::mutex> lock(g->mutex);
  if (g->handle == nullptr) {
    CUBLAS_CHECK(cublasLtCreate(&g->handle));
    CUDA_CHECK(cudaMalloc(&g->workspace, kWorkspaceBytes));
  }
  return *g;
}

cudaDataType_t data_type(DType t) {
  switch (t) {
    case DType::f32: return CUDA_R_32F;
    case DType::f64: return CUDA_R_64F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::f16: return CUDA_R_16F;
    default:
      throw DTypeError(detail::concat("matmul (cuda): dtype ", dtype_name(t),
                                      " has no CUDA kernel (f32, bf16, f16 or f64)"));
  }
}

// Column-major layout of `rows` x `cols` with leading dimension ld, `batch` of them `stride`
// elements apart.
cublasLtMatrixLayout_t layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld,
                              int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, type, static_cast<uint64_t>(rows),
                                          static_cast<uint64_t>(cols), ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                                  sizeof(count)));
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                  &stride, sizeof(stride)));
  }
  return l;
}

Plan make_plan(Gemm& g, const Problem& p) {
  const cudaDataType_t type = data_type(p.dtype);
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  cudaDataType_t scale = CUDA_R_32F;
  if (p.dtype == DType::f64) compute = CUBLAS_COMPUTE_64F, scale = CUDA_R_64F;
  if (p.dtype == DType::f32 && p.tf32) compute = CUBLAS_COMPUTE_32F_FAST_TF32;
  Plan plan;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, compute, scale));
  // cuBLASLt's A is our b (transposed when b is), its B is our a.
  const cublasOperation_t op_a = p.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = p.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  // our b stored (k, n) row-major = (n, k) column-major, ld n; transposed: stored (n, k), ld k
  plan.a = p.tb ? layout(type, p.k, p.n, p.k, p.batch, p.shared_b ? 0 : p.n * p.k)
                : layout(type, p.n, p.k, p.n, p.batch, p.shared_b ? 0 : p.n * p.k);
  // our a stored (m, k) row-major = (k, m) column-major, ld k; transposed: stored (k, m), ld m
  plan.b = p.ta ? layout(type, p.m, p.k, p.m, p.batch, p.m * p.k)
                : layout(type, p.k, p.m, p.k, p.batch, p.m * p.k);
  plan.c = layout(type, p.n, p.m, p.n, p.batch, p.m * p.n);

  cublasLtMatmulPreference_t pref = nullptr;
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const size_t ws = kWorkspaceBytes;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &ws, sizeof(ws)));
  // cuBLASLt's A is our b, its B our a; C and D are both our c
  const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, p.align_b},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, p.align_a},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, p.align_c},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, p.align_c}};
  for (const auto& [attribute, value] : aligns)
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attribute, &value, sizeof(value)));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(g.handle, plan.op, plan.a, plan.b, plan.c, plan.c,
                                              pref, 1, &result, &found));
  cublasLtMatmulPreferenceDestroy(pref);
  GW_CHECK_AS(DeviceError, found > 0, "matmul (cuda): cuBLASLt has no algorithm for ",
              dtype_name(p.dtype), " batch ", p.batch, " m ", p.m, " n ", p.n, " k ", p.k);
  plan.algo = result.algo;
  return plan;
}

}  // namespace

void gemm(DType dtype, bool ta, bool tb, int64_t batch, int64_t m, int64_t n, int64_t k,
          const void* a, const void* b, void* c, bool shared_b) {
  gemm_on(static_cast<cudaStream_t>(stream()), dtype, ta, tb, batch, m, n, k, a, b, c, shared_b);
}

// The cuBLASLt workspace is one buffer: calls on different streams must not overlap, which
// holds while every kernel of a run goes to one stream (the backend's, or the run's).
void gemm_on(cudaStream_t s, DType dtype, bool ta, bool tb, int64_t batch, int64_t m, int64_t n,
             int64_t k, const void* a, const void* b, void* c, bool shared_b) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {  // empty inner products: cuBLASLt may not touch c
    CUDA_CHECK(cudaMemsetAsync(c, 0, static_cast<size_t>(batch * m * n) * dtype_size(dtype), s));
    return;
  }
  if (shared_b && !ta) {  // (batch·m, k)·(k, n): one GEMM
    m *= batch;
    batch = 1;
  }
  Gemm& g = gemm_state();
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  const int64_t many = batch > 1 ? 1 : 0;  // batch strides matter only for a batch
  const Problem p{dtype, ta, tb, dtype == DType::f32 && tf32(), batch, m, n, k, shared_b,
                  alignment(a, many * m * k * elem),
                  alignment(b, shared_b ? 0 : many * k * n * elem),
                  alignment(c, many * m * n * elem)};
  Plan plan;
  {
    std::lock_guard<std::mutex> lock(g.mutex);
    auto it = g.plans.find(p);
    if (it == g.plans.end()) it = g.plans.emplace(p, make_plan(g, p)).first;
    plan = it->second;
  }
  const float one_f = 1.0f, zero_f = 0.0f;
  const double one_d = 1.0, zero_d = 0.0;
  const void* alpha = dtype == DType::f64 ? static_cast<const void*>(&one_d) : &one_f;
  const void* beta = dtype == DType::f64 ? static_cast<const void*>(&zero_d) : &zero_f;
  CUBLAS_CHECK(cublasLtMatmul(g.handle, plan.op, alpha, b, plan.a, a, plan.b, beta, c, plan.c, c,
                              plan.c, &plan.algo, g.workspace, kWorkspaceBytes, s));
}

namespace {

void matmul(const KernelArgs& args) {
  const kernels::GemmShape g = kernels::gemm_shape(args.node);
  gemm_on(stream_of(args), args.output.dtype(), args.node.attrs.transpose_a,
          args.node.attrs.transpose_b, g.batch, g.m, g.n, g.k, args.inputs[0].raw(),
          args.inputs[1].raw(), args.output.raw(), g.shared_b);
}

}  // namespace

void define_gemm_kernels(OpRegistry& r) { r.define(Op::MatMul).cuda(matmul); }

}  // namespace gw::cuda
