// register.cu — puts every CUDA kernel family into the op table (OpDef::cuda).
//
// Every op of the table has a CUDA kernel. An op whose kernel does not take a dtype throws
// gw::DTypeError naming the op and the dtype; were an op left without a kernel, the executor
// refuses the graph before running it ("executor: no cuda kernel for <op>").
#include "cuda_common.cuh"

namespace gw {

void define_cuda_kernels(OpRegistry& r) {
  cuda::define_elementwise_kernels(r);
  cuda::define_reduce_kernels(r);
  cuda::define_shape_kernels(r);
  cuda::define_gemm_kernels(r);
  cuda::define_nn_kernels(r);
  cuda::define_attention_kernels(r);
  cuda::define_flash_attention_kernels(r);
  cuda::define_optimizer_kernels(r);
  cuda::define_comm_kernels(r);
  cuda::define_quant_kernels(r);
}

}  // namespace gw
