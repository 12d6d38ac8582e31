// cpu_kernels.h — registration entry points of the CPU kernel families (kernels/cpu/*.cpp).
#pragma once

#include <cstdint>

#include "gw/op_table.h"

namespace gw::cpu {

void register_elementwise_kernels(OpDef* table);  // elementwise.cpp
void register_reduce_kernels(OpDef* table);       // reduce.cpp
void register_shape_kernels(OpDef* table);        // shape.cpp
void register_gemm_kernels(OpDef* table);         // gemm.cpp
void register_nn_kernels(OpDef* table);           // nn.cpp
void register_attention_kernels(OpDef* table);    // nn_attention.cpp (called by nn.cpp)
void register_comm_quant_kernels(OpDef* table);   // comm_quant.cpp

/// C (m×n) = α·op(A)·op(B) + β·C through OpenBLAS; row-major, packed (each leading dimension
/// is its row length), op = transpose when the flag is set (gemm.cpp).
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               const float* b, float beta, float* c);
/// The same in double.
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
               const double* b, double beta, double* c);

}  // namespace gw::cpu
