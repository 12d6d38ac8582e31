// allreduce.cpp — bench_allreduce: lab 09's ring all-reduce (reference version) against the
// backend's own all-reduce on the same data, 1 KB to 64 MB of f32, in GB/s.
//
//   mpirun -np 2 bench_allreduce     the ring on MPI send/recv against MPI_Allreduce
//   bench_allreduce [--ranks N]      thread ranks: the ring against the threads backend's
//                                    own all-reduce (everything through rank 0)
//
// Bandwidth as nccl-tests reports it: algbw = S / t for an S-byte all-reduce, and busbw =
// algbw · 2(n − 1)/n, the rate each rank's link actually carried in a ring. Each size runs a
// fixed number of repetitions (the same on every rank: a collective cannot adapt its count
// rank by rank) after one warm-up; the time is the slowest rank's median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "gw/ddp.h"
#include "gw/mpi_communicator.h"
#include "gw/thread_group.h"

namespace {

using Clock = std::chrono::steady_clock;

// Median seconds of `reps` calls of fn on this rank, agreed as the largest over ranks.
double time_collective(gw::Communicator& comm, int reps, const std::function<void()>& fn) {
  fn();  // warm-up
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    double barrier = 0;
    comm.all_reduce(&barrier, 1, gw::DType::f64, false);
    const auto t0 = Clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::nth_element(times.begin(), times.begin() + reps / 2, times.end());
  double median = times[static_cast<size_t>(reps / 2)];
  // The slowest rank's median: sum of one-hot values is a max for our purpose.
  std::vector<double> all(static_cast<size_t>(comm.size()), 0.0);
  all[static_cast<size_t>(comm.rank())] = median;
  comm.all_reduce(all.data(), comm.size(), gw::DType::f64, false);
  return *std::max_element(all.begin(), all.end());
}

void run(gw::Communicator& comm, const char* baseline) {
  const int n = comm.size();
  if (comm.rank() == 0) {
    std::printf("all-reduce of f32 on %d ranks: lab 09 ring vs %s\n", n, baseline);
    std::printf("%10s %12s %12s %12s %12s %8s\n", "bytes", "ring algbw", "ring busbw", "base algbw",
                "base busbw", "ring/base");
  }
  for (int64_t bytes = 1024; bytes <= (int64_t{64} << 20); bytes *= 4) {
    const int64_t count = bytes / 4;
    std::vector<float> data(static_cast<size_t>(count), 1.0f);
    const int reps = bytes <= (1 << 20) ? 50 : bytes <= (16 << 20) ? 10 : 4;
    const double ring = time_collective(comm, reps, [&] {
      gw::ring_all_reduce(comm, data.data(), count, gw::DType::f32, true);
    });
    const double base = time_collective(comm, reps, [&] {
      comm.all_reduce(data.data(), count, gw::DType::f32, true);
    });
    if (comm.rank() == 0) {
      const double bus = 2.0 * (n - 1) / n;
      std::printf("%10lld %9.3f GB/s %9.3f GB/s %9.3f GB/s %9.3f GB/s %8.2f\n",
                  static_cast<long long>(bytes), bytes / ring / 1e9, bus * bytes / ring / 1e9,
                  bytes / base / 1e9, bus * bytes / base / 1e9, base / ring);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (gw::launched_by_mpirun()) {
      gw::Communicator& world = gw::mpi_world();
      run(world, "MPI_Allreduce");
      return 0;
    }
    int ranks = 2;
    for (int i = 1; i + 1 < argc; ++i)
      if (std::string(argv[i]) == "--ranks") ranks = std::atoi(argv[i + 1]);
    gw::ThreadGroup group(ranks);
    group.run([](gw::Communicator& c) { run(c, "the threads backend's all-reduce (via rank 0)"); });
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce: error: %s\n", e.what());
    gw::mpi_abort(1);
    return 1;
  }
}
