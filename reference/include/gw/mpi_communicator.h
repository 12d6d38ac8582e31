// mpi_communicator.h — the MPI backend of gw/communicator.h: one rank per process, started
// by mpirun, on one machine or across hosts.
//
// Built when CMake finds MPI (OpenMPI: apt-get install libopenmpi-dev openmpi-bin); without
// it, mpi_world() throws a gw::UsageError that says so. Sends are buffered like the threads
// backend's (send copies the bytes and returns; the copy is freed once MPI delivered it), so
// lab 09's ring, which sends before it receives, cannot deadlock on a large message. A recv
// fails with gw::Error when the matching send had another size, or after a timeout (a peer
// that died or hangs); all_reduce is MPI_Allreduce for f64, f32 and i32 (16-bit floats,
// which MPI has no type for, go through the ring).
#pragma once

#include <memory>

#include "gw/communicator.h"

namespace gw {

/// Whether this build has the MPI backend.
bool mpi_compiled();
/// Whether this process was started by mpirun/mpiexec (OpenMPI's or PMI's environment).
bool launched_by_mpirun();
/// The world communicator (MPI_Init on the first call; MPI_Finalize at exit). Throws
/// gw::UsageError when the build has no MPI. `timeout_s` bounds every recv.
Communicator& mpi_world(double timeout_s = 60.0);
/// Ends every process of the job at once with `code` (MPI_Abort): what a rank does after an
/// error, so the others do not wait for it. Returns without doing anything when MPI was not
/// initialized.
void mpi_abort(int code);

}  // namespace gw
