// loss_scaler.cpp — the dynamic loss scaler of f16 training (lab 06), the finiteness check it
// needs, and the bytes per parameter of mixed-precision training.
#include <algorithm>
#include <cmath>

#include "gw/error.h"
#include "gw/mixed_precision.h"

namespace gw {

DynamicLossScaler::DynamicLossScaler(const LossScalerOptions& o)
    : options_(o), scale_(o.initial_scale) {
  GW_CHECK_AS(UsageError, o.min_scale > 0 && o.min_scale <= o.max_scale,
              "loss scaler: need 0 < min_scale (", o.min_scale, ") <= max_scale (", o.max_scale,
              ")");
  GW_CHECK_AS(UsageError, o.initial_scale >= o.min_scale && o.initial_scale <= o.max_scale,
              "loss scaler: initial_scale ", o.initial_scale, " is outside [", o.min_scale, ", ",
              o.max_scale, "]");
  GW_CHECK_AS(UsageError, o.growth_factor > 1, "loss scaler: growth_factor ", o.growth_factor,
              " must be > 1");
  GW_CHECK_AS(UsageError, o.backoff_factor > 0 && o.backoff_factor < 1,
              "loss scaler: backoff_factor ", o.backoff_factor, " must be in (0, 1)");
  GW_CHECK_AS(UsageError, o.growth_interval >= 1, "loss scaler: growth_interval ",
              o.growth_interval, " must be >= 1");
}

bool DynamicLossScaler::update(bool gradients_finite) {
  // BEGIN LAB 06: on inf/NaN gradients: scale ← max(scale · backoff_factor, min_scale), the clean-step count restarts at 0, one more skipped step, and the step is skipped (false); on finite gradients: one more clean step, and after growth_interval of them in a row scale ← min(scale · growth_factor, max_scale) and the count restarts; the step is taken (true)
  if (!gradients_finite) {
    scale_ = std::max(scale_ * options_.backoff_factor, options_.min_scale);
    clean_steps_ = 0;
    ++skipped_steps_;
    return false;
  }
  if (++clean_steps_ >= options_.growth_interval) {
    scale_ = std::min(scale_ * options_.growth_factor, options_.max_scale);
    clean_steps_ = 0;
  }
  return true;
  // END LAB 06
}

void DynamicLossScaler::restore(double scale, int64_t clean_steps, int64_t skipped_steps) {
  GW_CHECK_AS(UsageError, scale >= options_.min_scale && scale <= options_.max_scale,
              "loss scaler: saved scale ", scale, " is outside [", options_.min_scale, ", ",
              options_.max_scale, "]");
  GW_CHECK_AS(UsageError, clean_steps >= 0 && skipped_steps >= 0,
              "loss scaler: negative step counts in a saved state");
  scale_ = scale;
  clean_steps_ = clean_steps;
  skipped_steps_ = skipped_steps;
}

bool all_finite(const std::vector<Tensor>& tensors) {
  // BEGIN LAB 06: false as soon as one element of one tensor is inf or NaN (to_doubles reads any dtype)
  for (const Tensor& t : tensors)
    for (double v : t.to_doubles())
      if (!std::isfinite(v)) return false;
  return true;
  // END LAB 06
}

TrainingBytesPerParameter training_bytes_per_parameter(DType precision) {
  GW_CHECK_AS(DTypeError,
              precision == DType::f32 || precision == DType::bf16 || precision == DType::f16,
              "training_bytes_per_parameter: f32, bf16 or f16, not ", dtype_name(precision));
  // BEGIN LAB 06: weights and gradients in `precision` (dtype_size); f32 master weights only when `precision` is not f32; AdamW's m and v always f32
  TrainingBytesPerParameter b;
  const double w = static_cast<double>(dtype_size(precision));
  b.weights = w;
  b.gradients = w;
  b.master = precision == DType::f32 ? 0 : 4;
  b.adam_m = 4;
  b.adam_v = 4;
  return b;
  // END LAB 06
}

}  // namespace gw
