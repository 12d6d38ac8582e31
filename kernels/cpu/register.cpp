// register.cpp — puts every CPU kernel family into the op table (OpDef::cpu).
#include "cpu/cpu_kernels.h"

namespace gw {

void define_cpu_kernels(OpRegistry& r) {
  cpu::define_elementwise_kernels(r);
  cpu::define_reduce_kernels(r);
  cpu::define_shape_kernels(r);
  cpu::define_gemm_kernels(r);
  cpu::define_nn_kernels(r);
  cpu::define_attention_kernels(r);
  cpu::define_flash_attention_kernels(r);
  cpu::define_optimizer_kernels(r);
  cpu::define_comm_kernels(r);
  cpu::define_quant_kernels(r);
}

}  // namespace gw
