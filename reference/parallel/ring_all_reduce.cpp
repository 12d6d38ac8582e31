// ring_all_reduce.cpp — lab 09: the bandwidth-optimal ring all-reduce on send/recv alone
// (gw/ddp.h): reduce-scatter, then all-gather, around the ring 0 → 1 → … → n − 1 → 0.
//
// Why a ring: sending everything to one rank costs that rank (n − 1)·S bytes in and out,
// which grows with n; in the ring every rank sends 2(n − 1)/n·S bytes, at most 2S however
// many ranks there are, and every link carries the same load.
#include <vector>

#include "gw/ddp.h"
#include "gw/error.h"

namespace gw {

void ring_all_reduce(Communicator& comm, void* data, int64_t count, DType dtype, bool average) {
  GW_CHECK(count >= 0, "ring_all_reduce: count ", count, " is negative");
  GW_CHECK(count == 0 || data != nullptr, "ring_all_reduce: null data for ", count, " elements");
  // BEGIN LAB 09: the ring all-reduce: n − 1 reduce-scatter steps (at step t send chunk (r − t) mod n to rank r + 1, receive chunk (r − t − 1) mod n from rank r − 1 and add it with reduce_add); divide the chunk this rank completed, (r + 1) mod n, by n when averaging; then n − 1 all-gather steps (send chunk (r + 1 − t) mod n, receive chunk (r − t) mod n in place). Chunks come from ring_chunk; an empty chunk sends no message
  const int n = comm.size(), r = comm.rank();
  if (n == 1 || count == 0) return;  // one rank: its data is already the sum and the mean
  const size_t element = dtype_size(dtype);
  char* base = static_cast<char*>(data);
  const int right = (r + 1) % n, left = (r + n - 1) % n;
  auto wrap = [n](int c) { return ((c % n) + n) % n; };
  auto start = [&](int c) { return base + ring_chunk(count, n, c).offset * element; };
  auto size = [&](int c) { return static_cast<size_t>(ring_chunk(count, n, c).count) * element; };
  std::vector<char> incoming(size(0));  // chunk 0 is never smaller than another

  // Reduce-scatter: after step t, rank r holds t + 2 contributions to chunk (r − t − 1).
  for (int t = 0; t < n - 1; ++t) {
    const int out = wrap(r - t), in = wrap(r - t - 1);
    if (size(out) > 0) comm.send(start(out), size(out), right);
    if (size(in) > 0) {
      comm.recv(incoming.data(), size(in), left);
      reduce_add(start(in), incoming.data(), ring_chunk(count, n, in).count, dtype);
    }
  }
  const int mine = wrap(r + 1);  // now the sum over all n ranks
  if (average) reduce_scale(start(mine), ring_chunk(count, n, mine).count, dtype, 1.0 / n);

  // All-gather: each finished chunk goes once around the ring, overwriting the partial sums.
  for (int t = 0; t < n - 1; ++t) {
    const int out = wrap(r + 1 - t), in = wrap(r - t);
    if (size(out) > 0) comm.send(start(out), size(out), right);
    if (size(in) > 0) comm.recv(start(in), size(in), left);
  }
  // END LAB 09
}

}  // namespace gw
