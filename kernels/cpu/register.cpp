// register.cpp — installs every CPU kernel family into the op table.
#include "cpu/cpu_kernels.h"

namespace gw {

void register_cpu_kernels(OpDef* table) {
  cpu::register_elementwise_kernels(table);
  cpu::register_reduce_kernels(table);
  cpu::register_shape_kernels(table);
  cpu::register_gemm_kernels(table);
  cpu::register_nn_kernels(table);
  cpu::register_comm_quant_kernels(table);
}

}  // namespace gw
