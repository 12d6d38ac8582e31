// nccl_communicator.h — the NCCL backend of gw/communicator.h: one process per GPU, started
// by mpirun, the NCCL unique id sent from rank 0 to the others over MPI.
//
// Built when CMake finds CUDA, MPI and NCCL (nccl.h and libnccl next to the CUDA toolkit);
// without them, nccl_world() throws a gw::UsageError that says so. Its buffers are device
// memory of the rank's GPU (rank mod the number of visible GPUs). send and recv are ncclSend
// and ncclRecv on the communicator's stream and return once the stream has finished them:
// NCCL has no size check, so a size mismatch is undefined (use the same counts on every
// rank, as every collective requires). all_reduce is ncclAllReduce (ncclAvg for the mean).
#pragma once

#include "gw/communicator.h"

namespace gw {

/// Whether this build has the NCCL backend.
bool nccl_compiled();
/// The NCCL communicator of every process of the mpirun job (created on the first call:
/// MPI_Init, the GPU chosen, ncclCommInitRank). gw::UsageError without NCCL in the build;
/// gw::DeviceError when the process sees no GPU.
Communicator& nccl_world();

}  // namespace gw
