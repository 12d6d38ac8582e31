// register.cu — installs every CUDA kernel family into the op table (OpDef::cuda).
//
// Every op of the table has a CUDA kernel. An op whose kernel does not take a dtype throws
// gw::DTypeError naming the op and the dtype; were an op left without a kernel, the executor
// refuses the graph before running it ("executor: no cuda kernel for <op>").
#include "cuda_common.cuh"

namespace gw {

void register_cuda_kernels(OpDef* table) {
  cuda::register_elementwise_kernels(table);
  cuda::register_reduce_kernels(table);
  cuda::register_shape_kernels(table);
  cuda::register_gemm_kernels(table);
  cuda::register_nn_kernels(table);  // also attention (attention.cu)
  cuda::register_comm_quant_kernels(table);
}

}  // namespace gw
