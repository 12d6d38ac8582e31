// cpu_kernels.h — what the CPU kernel files (kernels/cpu/*.cpp) offer each other: each
// family's registration, and the BLAS GEMM that MatMul and attention share.
#pragma once

#include <cstdint>

#include "gw/op_table.h"

namespace gw::cpu {

// One function per kernel family, each in the file of the same name (register.cpp calls them).
void define_elementwise_kernels(OpRegistry& r);
void define_reduce_kernels(OpRegistry& r);
void define_shape_kernels(OpRegistry& r);
void define_gemm_kernels(OpRegistry& r);
void define_nn_kernels(OpRegistry& r);
void define_attention_kernels(OpRegistry& r);
void define_flash_attention_kernels(OpRegistry& r);  // lab 08's file
void define_optimizer_kernels(OpRegistry& r);
void define_comm_kernels(OpRegistry& r);
void define_quant_kernels(OpRegistry& r);

/// C (m×n) = α·op(A)·op(B) + β·C through OpenBLAS; row-major, packed (each leading dimension
/// is its row length), op = transpose when the flag is set (gemm.cpp).
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               const float* b, float beta, float* c);
/// The same in double.
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               const double* b, double beta, double* c);
/// C = α·op(A)·op(B) + β·C with leading dimensions: row r of the stored A starts lda
/// elements after row r − 1 (likewise ldb, ldc), so a product can read or write every n-th
/// d-element slice of a (b, s, n, d) tensor, one head's rows, in place.
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
/// The same in double.
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

/// True when int8_gemm runs oneDNN's int8 kernel: oneDNN is built in and the CPU has VNNI
/// (without VNNI oneDNN's int8 sums saturate, so the plain loops run instead).
bool int8_gemm_uses_vnni();
/// c (m×n) i32 = a (m×k) i8 · b (k×n) i8, row-major, packed, exact (int8_gemm.cpp).
void int8_gemm(int64_t m, int64_t n, int64_t k, const int8_t* a, const int8_t* b, int32_t* c);
/// c (m×n) i32 = a (m×k) u8 · b (k×n) i8 for a in [0, 127] (QuantizedLinear's 7-bit
/// activations shifted by 64): exact through oneDNN's u8·s8 GEMM on any x86 CPU, VNNI or not.
void u7s8_gemm(int64_t m, int64_t n, int64_t k, const uint8_t* a, const int8_t* b, int32_t* c);

}  // namespace gw::cpu
