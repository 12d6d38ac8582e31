// nccl_communicator.cpp — the NCCL backend (gw/nccl_communicator.h): the id over MPI, a GPU
// per rank, point-to-point and all-reduce on one CUDA stream.
#include "gw/nccl_communicator.h"

#include <string>

#include "gw/error.h"

#if GW_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include "gw/mpi_communicator.h"
#endif

namespace gw {

bool nccl_compiled() { return GW_HAVE_NCCL != 0; }

#if GW_HAVE_NCCL
namespace {

void check_nccl(ncclResult_t r, const char* what, int rank) {
  GW_CHECK(r == ncclSuccess, what, " (nccl): rank ", rank, ": ", ncclGetErrorString(r));
}

void check_cuda(cudaError_t e, const char* what, int rank) {
  GW_CHECK_AS(DeviceError, e == cudaSuccess, what, " (nccl): rank ", rank, ": ",
              cudaGetErrorString(e));
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator() {
    Communicator& mpi = mpi_world();  // MPI_Init; the id travels over it
    rank_ = mpi.rank();
    size_ = mpi.size();
    int devices = 0;
    check_cuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount", rank_);
    GW_CHECK_AS(DeviceError, devices > 0, "nccl: rank ", rank_, " sees no GPU");
    check_cuda(cudaSetDevice(rank_ % devices), "cudaSetDevice", rank_);
    ncclUniqueId id;
    if (rank_ == 0) {
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", rank_);
      for (int r = 1; r < size_; ++r) mpi.send(&id, sizeof id, r);
    } else {
      mpi.recv(&id, sizeof id, 0);
    }
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank", rank_);
    check_cuda(cudaStreamCreate(&stream_), "cudaStreamCreate", rank_);
  }
  ~NcclCommunicator() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void send(const void* data, size_t bytes, int peer) override {
    check_nccl(ncclSend(data, bytes, ncclUint8, peer, comm_, stream_), "send", rank_);
    check_cuda(cudaStreamSynchronize(stream_), "send", rank_);
  }
  void recv(void* data, size_t bytes, int peer) override {
    check_nccl(ncclRecv(data, bytes, ncclUint8, peer, comm_, stream_), "recv", rank_);
    check_cuda(cudaStreamSynchronize(stream_), "recv", rank_);
  }
  void all_reduce(void* data, int64_t count, DType dtype, bool average) override {
    ncclDataType_t type = ncclFloat32;
    switch (dtype) {
      case DType::f64: type = ncclFloat64; break;
      case DType::f32: type = ncclFloat32; break;
      case DType::f16: type = ncclFloat16; break;
      case DType::bf16: type = ncclBfloat16; break;
      case DType::i32: type = ncclInt32; break;
      case DType::i8: throw DTypeError("all_reduce (nccl): i8 cannot be reduced");
    }
    check_nccl(ncclAllReduce(data, data, static_cast<size_t>(count), type,
                             average ? ncclAvg : ncclSum, comm_, stream_),
               "all_reduce", rank_);
    check_cuda(cudaStreamSynchronize(stream_), "all_reduce", rank_);
  }

 private:
  int rank_ = 0, size_ = 1;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

Communicator& nccl_world() {
  static NcclCommunicator world;
  return world;
}

#else

Communicator& nccl_world() {
  throw UsageError(
      "this build has no NCCL: it needs CUDA, MPI and NCCL (nccl.h, libnccl) found by cmake");
}

#endif

}  // namespace gw
