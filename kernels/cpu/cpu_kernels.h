// cpu_kernels.h — registration entry points of the CPU kernel families (kernels/cpu/*.cpp).
#pragma once

#include "gw/op_table.h"

namespace gw::cpu {

void register_elementwise_kernels(OpDef* table);  // elementwise.cpp
void register_reduce_kernels(OpDef* table);       // reduce.cpp
void register_shape_kernels(OpDef* table);        // shape.cpp
void register_gemm_kernels(OpDef* table);         // gemm.cpp
void register_nn_kernels(OpDef* table);           // nn.cpp
void register_attention_kernels(OpDef* table);    // nn_attention.cpp (called by nn.cpp)
void register_comm_quant_kernels(OpDef* table);   // comm_quant.cpp

}  // namespace gw::cpu
