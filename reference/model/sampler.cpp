// sampler.cpp — random batches that are pure functions of (seed, split, step, micro-step).
//
// Row r of batch (step, micro) starts at a uniform offset drawn by Philox4x32-10 with
// counter (r, micro, step low, step high) and a key derived from (seed, split). Nothing is
// stored between calls, so a resumed run draws exactly the batches of an uninterrupted one,
// and a CUDA kernel can draw the same offsets with gw/rng.h.
#include "gw/data.h"
#include "gw/error.h"
#include "gw/rng.h"

namespace gw {

namespace {
// Stream tags: train and val draw from different keys; evaluation batches use their own
// keys so that they never coincide with training batches of the same step.
constexpr uint32_t kEvalTag = 2;

// Philox key for (seed, tag): one Philox call on the tag under the seed, so that nearby
// seeds and tags give unrelated keys.
Philox4x32Key derive_key(uint64_t seed, uint32_t tag) {
  Philox4x32Block b = philox4x32({{tag, 0x6B657900u /* "key" */, 0, 0}},
                                 {{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}});
  return {{b.v[0], b.v[1]}};
}

std::vector<int64_t> draw_offsets(Philox4x32Key key, uint64_t step, uint64_t micro, int64_t first,
                                  int64_t rows, uint64_t positions) {
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    Philox4x32Block b = philox4x32({{static_cast<uint32_t>(first + r), static_cast<uint32_t>(micro),
                                     static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32)}},
                                   key);
    // Lemire's multiply-shift on 64 random bits: bias <= positions / 2^64 (see rng.h).
    out[static_cast<size_t>(r)] = static_cast<int64_t>(uniform_below(b, positions));
  }
  return out;
}

Batch gather(const std::vector<int32_t>& tokens, const std::vector<int64_t>& offsets,
             int64_t block) {
  const int64_t rows = static_cast<int64_t>(offsets.size());
  Batch batch{Tensor::empty({rows, block}, DType::i32), Tensor::empty({rows, block}, DType::i32)};
  int32_t* x = batch.x.data<int32_t>();  // (b, s)
  int32_t* y = batch.y.data<int32_t>();  // (b, s), x shifted left by one token
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* src = tokens.data() + offsets[static_cast<size_t>(r)];
    for (int64_t t = 0; t < block; ++t) {
      x[r * block + t] = src[t];
      y[r * block + t] = src[t + 1];
    }
  }
  return batch;
}
}  // namespace

BatchSampler::BatchSampler(const std::vector<int32_t>& tokens, Split split, int64_t block,
                           int64_t batch, uint64_t seed)
    : tokens_(&tokens), split_(split), block_(block), batch_(batch), seed_(seed) {
  const char* name = split == Split::train ? "train" : "val";
  GW_CHECK(block >= 1 && batch >= 1, "sampler: block size and batch size must be >= 1, got block ",
           block, " batch ", batch);
  GW_CHECK(static_cast<int64_t>(tokens.size()) >= block + 1, "sampler: the ", name, " split has ",
           tokens.size(), " tokens but block_size + 1 = ", block + 1,
           " are needed for one example; use a smaller --block or a larger corpus");
}

std::vector<int64_t> BatchSampler::offsets(uint64_t step, uint64_t micro) const {
  const uint64_t positions = tokens_->size() - static_cast<uint64_t>(block_);  // starts 0..n-s-1
  return draw_offsets(derive_key(seed_, static_cast<uint32_t>(split_)), step, micro, first_row_,
                      batch_, positions);
}

Batch BatchSampler::get(uint64_t step, uint64_t micro) const {
  return gather(*tokens_, offsets(step, micro), block_);
}

std::vector<Batch> BatchSampler::eval_batches(int64_t count) const {
  const uint64_t positions = tokens_->size() - static_cast<uint64_t>(block_);
  const Philox4x32Key key = derive_key(seed_, kEvalTag + static_cast<uint32_t>(split_));
  std::vector<Batch> out;
  for (int64_t i = 0; i < count; ++i)
    out.push_back(gather(
        *tokens_, draw_offsets(key, static_cast<uint64_t>(i), 0, first_row_, batch_, positions),
        block_));
  return out;
}

void BatchSampler::set_first_row(int64_t first_row) {
  GW_CHECK(first_row >= 0, "sampler: first row ", first_row, " is negative");
  first_row_ = first_row;
}

}  // namespace gw
