// buckets.cpp — lab 09: gradient buckets (gw/ddp.h). Data-parallel training all-reduces
// buckets of gradients rather than one tensor at a time: a few large messages pay the
// per-message latency α a few times instead of once per parameter, and a bucket can start
// its all-reduce as soon as backward has produced its gradients.
#include <cstring>
#include <vector>

#include "gw/ddp.h"
#include "gw/error.h"

namespace gw {

std::vector<Bucket> make_buckets(const std::vector<int64_t>& param_bytes, int64_t bucket_bytes) {
  GW_CHECK(bucket_bytes > 0, "make_buckets: the bucket size must be > 0 bytes, not ",
           bucket_bytes);
  for (size_t k = 0; k < param_bytes.size(); ++k)
    GW_CHECK(param_bytes[k] >= 0, "make_buckets: parameter ", k, " has ", param_bytes[k],
             " bytes");
  // BEGIN LAB 09: walk the parameters from the last to the first; add each to the current bucket while the bucket stays within bucket_bytes, otherwise close it and start a new one with this parameter; return the buckets in the order they were filled, each with its parameter indices and total bytes
  std::vector<Bucket> buckets;
  Bucket current;
  for (size_t k = param_bytes.size(); k-- > 0;) {
    if (!current.params.empty() && current.bytes + param_bytes[k] > bucket_bytes) {
      buckets.push_back(current);
      current = Bucket{};
    }
    current.params.push_back(static_cast<int64_t>(k));
    current.bytes += param_bytes[k];
  }
  if (!current.params.empty()) buckets.push_back(current);
  return buckets;
  // END LAB 09
}

void all_reduce_buckets(Communicator& comm, const std::vector<Tensor>& grads,
                        const std::vector<Bucket>& buckets, bool average, bool ring) {
  for (size_t k = 0; k < grads.size(); ++k) {
    GW_CHECK(grads[k].defined() && grads[k].device().is_cpu(), "all_reduce_buckets: gradient ",
             k, " is not a CPU tensor");
    GW_CHECK_AS(DTypeError, grads[k].dtype() == grads[0].dtype(), "all_reduce_buckets: gradient ",
                k, " is ", dtype_name(grads[k].dtype()), " but gradient 0 is ",
                dtype_name(grads[0].dtype()), "; a bucket holds one dtype");
  }
  for (const Bucket& b : buckets)
    for (int64_t k : b.params)
      GW_CHECK(k >= 0 && k < static_cast<int64_t>(grads.size()), "all_reduce_buckets: bucket "
               "names parameter ", k, " of ", grads.size());
  // BEGIN LAB 09: for each bucket in order: copy its gradients one after the other into one flat buffer, all-reduce the buffer (ring_all_reduce when ring, else comm.all_reduce), copy the results back into the gradients
  std::vector<char> flat;
  for (const Bucket& b : buckets) {
    if (b.params.empty()) continue;
    const DType dtype = grads[static_cast<size_t>(b.params[0])].dtype();
    size_t bytes = 0;
    for (int64_t k : b.params) bytes += grads[static_cast<size_t>(k)].nbytes();
    flat.resize(bytes);
    size_t at = 0;
    for (int64_t k : b.params) {
      const Tensor& g = grads[static_cast<size_t>(k)];
      if (g.nbytes() > 0) std::memcpy(flat.data() + at, g.raw(), g.nbytes());
      at += g.nbytes();
    }
    const auto count = static_cast<int64_t>(bytes / dtype_size(dtype));
    if (ring)
      ring_all_reduce(comm, flat.data(), count, dtype, average);
    else
      comm.all_reduce(flat.data(), count, dtype, average);
    at = 0;
    for (int64_t k : b.params) {
      const Tensor& g = grads[static_cast<size_t>(k)];
      if (g.nbytes() > 0) std::memcpy(g.raw(), flat.data() + at, g.nbytes());
      at += g.nbytes();
    }
  }
  // END LAB 09
}

}  // namespace gw
