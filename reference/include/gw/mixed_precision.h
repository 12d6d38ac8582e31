// mixed_precision.h — lab 06's numerics outside the graph: how a sum kept in 16 bits stops
// growing, the dynamic loss scaler of f16 training, and the bytes per parameter of
// mixed-precision training with AdamW.
//
// The f32 <-> f16/bf16 conversions themselves are declared in gw/dtype.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gw/dtype.h"
#include "gw/tensor.h"

namespace gw {

// ---- the accumulation experiment ---------------------------------------------------------

/// A running sum of many values kept in one precision.
struct RunningSum {
  double sum = 0;                ///< the final sum
  int64_t stagnation_index = -1; ///< the first i with xᵢ ≠ 0 whose add left the sum unchanged; −1 if none
  double stagnation_sum = 0;     ///< the sum at that moment (0 if it never stagnated)
};

/// Sums `values` in order. Each value is first rounded to `input` (f16, bf16 or f32); the
/// sum starts at 0 and after every add is rounded to `accumulator` (f16, bf16, f32 or f64):
/// s ← round_acc(s + round_in(xᵢ)), the add itself exact or rounded once (an f32 add of two
/// 16-bit values, rounded to 16 bits, is the correctly rounded 16-bit add).
/// Throws gw::DTypeError for any other dtype.
RunningSum running_sum(const std::vector<float>& values, DType input, DType accumulator);

/// One line of the accumulation experiment.
struct AccumulationRow {
  DType input;         ///< the precision the values are rounded to
  DType accumulator;   ///< the precision the sum is kept in
  RunningSum result;   ///< what running_sum returned
  double exact;        ///< the f64 sum of the f32 values
  double abs_error;    ///< |result.sum − exact|
  double rel_error;    ///< abs_error / |exact|
};

/// The experiment: `count` copies of `value` summed in f16 (f16 inputs), bf16 (bf16 inputs),
/// f32 with f16 inputs, and f64 with f32 inputs, each against the exact f64 sum.
std::vector<AccumulationRow> accumulation_experiment(int64_t count, float value);

/// The experiment as a table (one row per precision), for people.
std::string accumulation_table(const std::vector<AccumulationRow>& rows);

// ---- the dynamic loss scaler ---------------------------------------------------------------

/// The loss scaler's settings (PyTorch's GradScaler defaults, with bounds).
struct LossScalerOptions {
  double initial_scale = 65536;     ///< 2¹⁶
  double growth_factor = 2;         ///< × after growth_interval clean steps in a row
  double backoff_factor = 0.5;      ///< × when a step's gradients hold inf or NaN
  int64_t growth_interval = 2000;   ///< clean steps before the scale grows
  double min_scale = 1;             ///< the scale never goes below this
  double max_scale = 16777216;      ///< 2²⁴: nor above this
};

/// Dynamic loss scaling for f16 training: the loss is multiplied by scale() before the
/// backward pass, so that small gradients do not underflow to 0 in f16; the gradients are
/// divided by it again before the optimizer step. When a step's gradients overflow (inf or
/// NaN), that step is skipped and the scale backs off; after growth_interval clean steps in
/// a row it grows.
class DynamicLossScaler {
 public:
  /// Checks the options (positive scales, min ≤ initial ≤ max, growth > 1, 0 < backoff < 1,
  /// interval ≥ 1); throws gw::UsageError naming the bad one.
  explicit DynamicLossScaler(const LossScalerOptions& options = {});

  /// The factor to multiply the loss by.
  double scale() const { return scale_; }
  /// Clean steps since the last growth or overflow.
  int64_t clean_steps() const { return clean_steps_; }
  /// Steps skipped so far for inf/NaN gradients.
  int64_t skipped_steps() const { return skipped_steps_; }
  /// The settings.
  const LossScalerOptions& options() const { return options_; }

  /// Called once per step after the backward pass, with whether every gradient was finite.
  /// Returns true when the optimizer step should be taken (the gradients were finite),
  /// false when it must be skipped; updates the scale as the class comment says.
  bool update(bool gradients_finite);

  /// Puts back a state saved in a checkpoint.
  void restore(double scale, int64_t clean_steps, int64_t skipped_steps);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t clean_steps_ = 0;
  int64_t skipped_steps_ = 0;
};

/// True when every element of every tensor is finite (no inf, no NaN); any floating dtype.
bool all_finite(const std::vector<Tensor>& tensors);

// ---- memory --------------------------------------------------------------------------------

/// Bytes per parameter of training with AdamW, by what they hold.
struct TrainingBytesPerParameter {
  double weights = 0;      ///< the weights the model computes with
  double gradients = 0;    ///< their gradients
  double master = 0;       ///< f32 master weights (0 when the model itself is f32)
  double adam_m = 0;       ///< AdamW's first moment (f32)
  double adam_v = 0;       ///< AdamW's second moment (f32)
  /// The sum of the five.
  double total() const { return weights + gradients + master + adam_m + adam_v; }
};

/// The table for a model computing in `precision` (f32, bf16 or f16): f32 needs 4 + 4 + 0 +
/// 4 + 4 = 16 bytes, and a 16-bit model 2 + 2 + 4 + 4 + 4 = 16 bytes too.
TrainingBytesPerParameter training_bytes_per_parameter(DType precision);

}  // namespace gw
