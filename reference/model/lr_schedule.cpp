// lr_schedule.cpp — linear warmup then cosine decay, as nanoGPT's get_lr.
//
// Warmup avoids large early AdamW steps while v̂ is still a poor estimate; the cosine
// brings the rate down smoothly to min_lr so the last steps refine rather than jump.
#include <cmath>

#include "gw/optim.h"

namespace gw {

double LrSchedule::at(int64_t it) const {
  if (it < warmup_iters)
    return lr * static_cast<double>(it + 1) / static_cast<double>(warmup_iters + 1);
  if (it > decay_iters || decay_iters <= warmup_iters) return min_lr;
  const double ratio = static_cast<double>(it - warmup_iters) /
                       static_cast<double>(decay_iters - warmup_iters);
  const double coeff = 0.5 * (1.0 + std::cos(M_PI * ratio));  // 1 -> 0
  return min_lr + coeff * (lr - min_lr);
}

}  // namespace gw
