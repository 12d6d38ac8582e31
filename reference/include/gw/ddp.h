// ddp.h — distributed data parallelism (lab 09): the ring all-reduce written on send/recv
// alone, gradient buckets, and the reductions they share.
//
// Notation (handouts/lab09-ddp.md): n ranks, an all-reduce of S bytes (`count` elements).
// The ring splits the buffer into n chunks (ring_chunk) and runs two phases of n − 1 steps
// each. Reduce-scatter: at step t rank r sends chunk (r − t) mod n to rank r + 1 and adds
// chunk (r − t − 1) mod n received from rank r − 1, so that after n − 1 steps rank r holds
// the full sum of chunk (r + 1) mod n. All-gather: the finished chunks travel once more
// around the ring, each rank overwriting what it receives. Every rank sends 2(n − 1) chunks
// (an empty chunk sends no message), 2(n − 1)/n·S bytes when n divides count:
// bandwidth-optimal, whatever n is. dtype_size (gw/dtype.h) gives an element's bytes.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "gw/communicator.h"
#include "gw/dtype.h"
#include "gw/graph.h"
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

/// Which gradient buckets each node of a backward pass completes: what lets data
/// parallelism all-reduce a bucket while the rest of backward still computes (the overlap).
/// Backward writes the last layers' gradients first, and make_buckets puts those in the
/// first buckets, so bucket 0 is complete early and its all-reduce runs under the remaining
/// compute. The executor reports each node it ran (gw/executor.h's NodeObserver); a bucket is
/// complete when every node that writes one of its gradients has run.
class BucketReadiness {
 public:
  /// `grads[k]` is parameter k's gradient node; `buckets` index into it (any buckets: they
  /// need not cover every parameter, and may share one). The node that writes a gradient is
  /// the gradient node itself or, for a view (OpDef::is_view, a reshape: it computes nothing,
  /// and the executor reports no view to its observer), the node it views: follow inputs[0]
  /// until a node that is not a view. If that node is a leaf (a constant zero gradient, or a
  /// view of one), the gradient has no writer. A node that writes several gradients of one
  /// bucket counts once for it.
  BucketReadiness(const std::vector<Bucket>& buckets, const std::vector<Node*>& grads);
  /// `node` has run: the buckets it completed (its last writer), in increasing order; nodes
  /// that write no gradient return nothing. The executor reports each node once per step,
  /// so each bucket is returned once per step. A bucket with no writer at all is never
  /// returned: the caller all-reduces it itself (GradientSync does, after backward).
  std::vector<size_t> node_done(const Node& node);
  /// Starts the next step: every bucket waits for all its writers again.
  void reset();
  /// How many distinct writers bucket `b` waits for in a step (0: none, see node_done).
  int writers(size_t b) const { return writers_.at(b); }

 private:
  std::unordered_map<const Node*, std::vector<size_t>> buckets_of_;  // writer → its buckets
  std::vector<int> writers_;  // by bucket: distinct writers
  std::vector<int> waiting_;  // by bucket: writers not run yet this step
};

/// All-reduces `grads` (one tensor per parameter, all of one dtype, on the CPU) bucket by
/// bucket, in the order of `buckets`: each bucket's gradients are copied one after the other
/// into one flat buffer (sized from the tensors' nbytes()), the buffer is all-reduced
/// (ring_all_reduce when `ring`, else the backend's own comm.all_reduce; an empty bucket
/// too), and the results are copied back into the tensors: the gradients are updated in
/// place (a Tensor shares its buffer, so raw() of a const Tensor writes the gradient).
void all_reduce_buckets(Communicator& comm, const std::vector<Tensor>& grads,
                        const std::vector<Bucket>& buckets, bool average, bool ring = true);

}  // namespace gw
