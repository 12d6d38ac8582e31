// mpi_communicator.cpp — the MPI backend (gw/mpi_communicator.h): buffered sends, recvs that
// check the size and time out, MPI_Allreduce as the backend's own collective.
#include "gw/mpi_communicator.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <list>
#include <string>
#include <thread>
#include <vector>

#include "gw/ddp.h"
#include "gw/error.h"

#if GW_HAVE_MPI
#include <mpi.h>
#endif

namespace gw {

bool mpi_compiled() { return GW_HAVE_MPI != 0; }

bool launched_by_mpirun() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

#if GW_HAVE_MPI
namespace {

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_s) : timeout_s_(timeout_s) {
    int provided = 0;
    // SERIALIZED: the overlap's communication thread calls MPI while the main thread waits.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    for (Pending& p : pending_) MPI_Wait(&p.request, MPI_STATUS_IGNORE);
    MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void send(const void* data, size_t bytes, int peer) override {
    check_peer(peer, "send");
    reap();
    pending_.emplace_back();
    Pending& p = pending_.back();
    p.copy.assign(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
    const int rc = MPI_Isend(p.copy.data(), static_cast<int>(bytes), MPI_BYTE, peer, kTag,
                             MPI_COMM_WORLD, &p.request);
    GW_CHECK(rc == MPI_SUCCESS, "send (mpi): rank ", rank_, " to rank ", peer, ": ", mpi_error(rc));
  }

  void recv(void* data, size_t bytes, int peer) override {
    check_peer(peer, "recv");
    // Probe first, so that a message of another size is an error naming both sizes.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(timeout_s_));
    MPI_Status status;
    int64_t spins = 0;
    for (int flag = 0; !flag;) {
      const int rc = MPI_Iprobe(peer, kTag, MPI_COMM_WORLD, &flag, &status);
      GW_CHECK(rc == MPI_SUCCESS, "recv (mpi): rank ", rank_, " from rank ", peer, ": ",
               mpi_error(rc));
      if (flag) break;
      reap();
      GW_CHECK(std::chrono::steady_clock::now() < deadline, "recv (mpi): rank ", rank_,
               " timed out after ", timeout_s_, " s waiting for ", bytes, " bytes from rank ",
               peer, " (did that rank die or stop calling the collectives?)");
      if (++spins < 10000)
        std::this_thread::yield();
      else  // a long wait (a slow peer): stop burning the core it may need
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    GW_CHECK(static_cast<size_t>(count) == bytes, "recv (mpi): rank ", rank_, " expected ",
             bytes, " bytes from rank ", peer, " but the matching send had ", count);
    const int rc = MPI_Recv(data, count, MPI_BYTE, peer, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    GW_CHECK(rc == MPI_SUCCESS, "recv (mpi): rank ", rank_, " from rank ", peer, ": ", mpi_error(rc));
  }

  void all_reduce(void* data, int64_t count, DType dtype, bool average) override {
    MPI_Datatype type = MPI_DATATYPE_NULL;
    if (dtype == DType::f64) type = MPI_DOUBLE;
    if (dtype == DType::f32) type = MPI_FLOAT;
    if (dtype == DType::i32) type = MPI_INT;
    if (type == MPI_DATATYPE_NULL) {  // f16, bf16: no MPI type; the ring adds them in f32
      ring_all_reduce(*this, data, count, dtype, average);
      return;
    }
    reap();
    const int rc = MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), type, MPI_SUM,
                                 MPI_COMM_WORLD);
    GW_CHECK(rc == MPI_SUCCESS, "all_reduce (mpi): rank ", rank_, ": ", mpi_error(rc));
    if (average && size_ > 1) reduce_scale(data, count, dtype, 1.0 / size_);
  }

 private:
  struct Pending {
    std::vector<char> copy;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  static constexpr int kTag = 9;

  // Frees the copies of the sends MPI has delivered.
  void reap() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
      it = done ? pending_.erase(it) : std::next(it);
    }
  }
  void check_peer(int peer, const char* what) const {
    GW_CHECK(peer >= 0 && peer < size_ && peer != rank_, what, " (mpi): rank ", rank_,
             " cannot talk to rank ", peer, " of a group of ", size_);
  }

  double timeout_s_;
  int rank_ = 0, size_ = 1;
  std::list<Pending> pending_;
};

}  // namespace

Communicator& mpi_world(double timeout_s) {
  static MpiCommunicator world(timeout_s);  // MPI_Finalize when the program ends
  return world;
}

void mpi_abort(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
}

#else

Communicator& mpi_world(double) {
  throw UsageError(
      "this build has no MPI: install OpenMPI (apt-get install libopenmpi-dev openmpi-bin) and "
      "re-run cmake, or train on thread ranks with --ranks N --comm threads");
}

void mpi_abort(int) {}

#endif

}  // namespace gw
