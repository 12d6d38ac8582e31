// comm.cu — CUDA kernel of AllReduce. It copies its input; with a communicator of more than
// one rank the copy is staged through host memory, because the threads and MPI
// communicators take host pointers. A NCCL communicator that reduces device memory in place
// would skip the staging.
#include <vector>

#include "cuda_common.cuh"
#include "gw/communicator.h"

namespace gw::cuda {
namespace {

void all_reduce(const KernelArgs& args) {
  const Tensor& x = args.inputs[0];
  const cudaStream_t s = stream_of(args);
  if (x.raw() != args.output.raw() && x.nbytes() > 0)
    CUDA_CHECK(cudaMemcpyAsync(args.output.raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, s));
  Communicator* comm = args.context.communicator;
  if (comm == nullptr || comm->size() == 1) return;
  std::vector<char> host(args.output.nbytes());
  CUDA_CHECK(cudaMemcpyAsync(host.data(), args.output.raw(), host.size(), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  comm->all_reduce(host.data(), args.output.numel(), args.output.dtype(), args.node.attrs.average);
  CUDA_CHECK(cudaMemcpyAsync(args.output.raw(), host.data(), host.size(), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));  // `host` goes away on return
}

}  // namespace

void define_comm_kernels(OpRegistry& r) { r.define(Op::AllReduce).cuda(all_reduce); }

}  // namespace gw::cuda
