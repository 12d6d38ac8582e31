// ddp.h — distributed data parallelism (lab 09): the ring all-reduce written on send/recv
// alone, gradient buckets, and the reductions they share.
//
// Notation (handouts/lab09-ddp.md): n ranks, an all-reduce of S bytes (`count` elements).
// The ring splits the buffer into n chunks (ring_chunk) and runs two phases of n − 1 steps
// each. Reduce-scatter: at step t rank r sends chunk (r − t) mod n to rank r + 1 and adds
// chunk (r − t − 1) mod n received from rank r − 1, so that after n − 1 steps rank r holds
// the full sum of chunk (r + 1) mod n. All-gather: the finished chunks travel once more
// around the ring, each rank overwriting what it receives. Every rank sends 2(n − 1) chunks,
// 2(n − 1)/n·S bytes when n divides count: bandwidth-optimal, whatever n is.
#pragma once

#include <cstdint>
#include <vector>

#include "gw/communicator.h"
#include "gw/dtype.h"
#include "gw/tensor.h"

namespace gw {

/// One of the n pieces of a ring all-reduce: elements [offset, offset + count) of the buffer.
struct RingChunk {
  int64_t offset = 0;  ///< first element
  int64_t count = 0;   ///< elements (0 when the buffer has fewer elements than ranks)
};

/// Chunk `c` (0 ≤ c < ranks) of a buffer of `count` elements split over `ranks` ranks: every
/// chunk has count / ranks elements and the first count % ranks chunks one more, so chunk
/// sizes differ by at most one element and chunk c starts where chunk c − 1 ends.
RingChunk ring_chunk(int64_t count, int ranks, int c);

/// dst[i] += src[i] for `count` elements of `dtype` (f64, f32, f16, bf16, i32). 16-bit
/// floats are added in f32 and rounded back once per call: a ring rounds once per hop.
void reduce_add(void* dst, const void* src, int64_t count, DType dtype);
/// data[i] *= factor for `count` elements of `dtype` (16-bit floats computed in f32; i32
/// divided by the integer 1/factor).
void reduce_scale(void* data, int64_t count, DType dtype, double factor);

/// In-place ring all-reduce of `count` elements of `dtype` at `data` over `comm`, using only
/// comm.send and comm.recv: afterwards every rank holds the elementwise sum (the mean when
/// `average`), bit-identical on every rank. Empty chunks send no message; one rank, or
/// count 0, sends nothing. Every rank must call it with the same count, dtype and average.
///
/// Rounding: each received chunk is added with reduce_add (bf16 and f16 are added in f32
/// and rounded to 16 bits at every hop); the mean divides each finished chunk by n once, on
/// the rank that completed it, before the all-gather.
void ring_all_reduce(Communicator& comm, void* data, int64_t count, DType dtype, bool average);

/// A group of gradients all-reduced together as one flat buffer.
struct Bucket {
  std::vector<int64_t> params;  ///< indices into the parameter list, in the order packed
  int64_t bytes = 0;            ///< sum of their sizes in bytes
};

/// PyTorch DDP's default bucket size: 25 MiB.
constexpr int64_t kDefaultBucketBytes = 25 * 1024 * 1024;

/// Groups parameters into buckets for gradient all-reduce. `param_bytes[k]` is the size of
/// parameter k's gradient. Parameters are taken in reverse order (k = last … 0): backward
/// produces the last layers' gradients first, so the first bucket is complete first. A bucket
/// takes parameters while its size stays ≤ `bucket_bytes`; the parameter that would push it
/// past starts the next bucket (a parameter larger than `bucket_bytes` alone fills one).
/// Every parameter is in exactly one bucket. gw::Error when bucket_bytes ≤ 0.
std::vector<Bucket> make_buckets(const std::vector<int64_t>& param_bytes, int64_t bucket_bytes);

/// All-reduces `grads` (one tensor per parameter, all of one dtype, on the CPU) bucket by
/// bucket, in the order of `buckets`: each bucket's gradients are copied one after the other
/// into one flat buffer, the buffer is all-reduced (ring_all_reduce when `ring`, else the
/// backend's own comm.all_reduce), and the results are copied back into the tensors.
void all_reduce_buckets(Communicator& comm, const std::vector<Tensor>& grads,
                        const std::vector<Bucket>& buckets, bool average, bool ring = true);

}  // namespace gw
