// gemm.cpp — CPU kernel of MatMul through OpenBLAS (cblas_sgemm / cblas_dgemm); f16 and bf16
// products widen to f32 and round the result (widen.h).
//
// Three cases, fastest first:
//  - b shared (2-D) and a not transposed: the batch folds into m, (batch·m, k)·(k, n) is one
//    GEMM, which is what a linear layer on (b, s, h) activations becomes;
//  - many small GEMMs (attention's per-head products): OpenMP over the batch, one
//    single-threaded GEMM per thread. OpenBLAS runs a GEMM below its threading threshold
//    (m·n·k < 65536·4) on the calling thread, so these calls do not contend for its pool;
//  - otherwise a plain loop, letting OpenBLAS thread each GEMM.
#include <cblas.h>

#include <omp.h>

#include <cstring>

#include "common/op_shapes.h"
#include "cpu/cpu_kernels.h"
#include "cpu/element_access.h"
#include "cpu/widen.h"
#include "gw/error.h"

namespace gw::cpu {

namespace {

// OpenBLAS applies β in a pass of its own before the product (its micro-kernels only ever add
// into C), and for β = 0 that pass is a slow scalar loop: 10% of a cpu-tiny training step and
// 8% of flash attention's tiles went to sgemm_beta under perf. memset is several times faster,
// so a β = 0 product zeroes C here and asks BLAS for C += α·op(A)·op(B).
template <typename T>
T zero_for_beta(T beta, T* c, int64_t m, int64_t n, int64_t ldc) {
  if (beta != T(0)) return beta;
  if (ldc == n) {
    std::memset(c, 0, sizeof(T) * static_cast<size_t>(m * n));
  } else {
    for (int64_t r = 0; r < m; ++r) std::memset(c + r * ldc, 0, sizeof(T) * static_cast<size_t>(n));
  }
  return T(1);
}

}  // namespace

void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  beta = zero_for_beta(beta, c, m, n, ldc);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  beta = zero_for_beta(beta, c, m, n, ldc);
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               const float* b, float beta, float* c) {
  blas_gemm(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               const double* b, double beta, double* c) {
  blas_gemm(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

namespace {

template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
  blas_gemm(ta, tb, m, n, k, T(1), a, b, T(0), c);
}

// Below this m·n·k OpenBLAS computes on the calling thread (SMP_THRESHOLD_MIN · 4).
constexpr int64_t kSmallGemm = 65536 * 4;

template <typename T>
void matmul_typed(const KernelArgs& args) {
  const bool trans_a = args.node.attrs.transpose_a, trans_b = args.node.attrs.transpose_b;
  const kernels::GemmShape shape = kernels::gemm_shape(args.node);
  const int64_t batch = shape.batch, m = shape.m, k = shape.k, n = shape.n;
  const bool shared_b = shape.shared_b;
  const T* a = args.inputs[0].data<T>();
  const T* b = args.inputs[1].data<T>();
  T* c = args.output.data<T>();
  if (args.output.numel() == 0) return;
  if (k == 0) {  // empty inner products: BLAS may not touch c, so zero it here
    for (int64_t i = 0; i < args.output.numel(); ++i) c[i] = T(0);
    return;
  }
  if (shared_b && !trans_a) {
    gemm(false, trans_b, batch * m, n, k, a, b, c);
    return;
  }
  const int64_t b_stride = shared_b ? 0 : k * n;
  if (batch > 1 && m * n * k < kSmallGemm) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < batch; ++i)
      gemm(trans_a, trans_b, m, n, k, a + i * m * k, b + i * b_stride, c + i * m * n);
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    gemm(trans_a, trans_b, m, n, k, a + i * m * k, b + i * b_stride, c + i * m * n);
}

void matmul_kernel(const KernelArgs& args) {
  if (needs_widening(args)) return run_widened(args, matmul_kernel);  // f16/bf16: f32 inside
  dispatch_dtype<CpuStorage, Accepts::f32_f64>(args.output.dtype(), "matmul", [&](auto zero) {
    matmul_typed<decltype(zero)>(args);
  });
}

}  // namespace

void define_gemm_kernels(OpRegistry& r) { r.define(Op::MatMul).cpu(matmul_kernel); }

}  // namespace gw::cpu
