// communicator.h — the interface every distributed backend implements (threads, MPI, NCCL).
//
// Lab 09's ring all-reduce is written on send/recv alone, so it runs on any backend; the
// trainer uses a backend's own all_reduce by default. The executor hands the run's
// communicator to AllReduce kernels through RunContext::communicator. Implementations
// arrive with lab 09 (reference/parallel/); this header only fixes the contract.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gw/dtype.h"

namespace gw {

/// A group of `size()` ranks that exchange bytes. Every rank of a group must call the
/// collective operations in the same order with the same sizes; point-to-point calls pair a
/// send on one rank with a recv of the same byte count on its peer. Methods block until
/// their part is done and throw gw::Error on a failed or mismatched transfer.
class Communicator {
 public:
  /// Communicators are deleted through this interface.
  virtual ~Communicator() = default;

  /// This process's (or thread's) index in the group, in [0, size()).
  virtual int rank() const = 0;
  /// Number of ranks in the group (1 means no communication is needed).
  virtual int size() const = 0;

  /// Sends `bytes` bytes starting at `data` to rank `peer`. Returns once the buffer may be
  /// reused; the peer must post a matching recv.
  virtual void send(const void* data, size_t bytes, int peer) = 0;
  /// Receives exactly `bytes` bytes from rank `peer` into `data`.
  virtual void recv(void* data, size_t bytes, int peer) = 0;

  /// In-place all-reduce: afterwards every rank's `data` (`count` elements of `dtype`) holds
  /// the elementwise sum over all ranks, divided by size() when `average` is true.
  virtual void all_reduce(void* data, int64_t count, DType dtype, bool average) = 0;
};

}  // namespace gw
