// trainer.h — the reference trainer: one training-step graph built once and run every
// iteration, evaluation on fixed batches, checkpoints, and the whole training loop.
//
// Graph (built once): loss = Transformer::loss(x, y); gradients() of
// the loss with respect to every weight (with --checkpoint-activations, rewritten so that the
// backward pass recomputes each block, gw/checkpointing.h); the optimizer nodes of
// gw/optim.h. Executors:
//   grad_accum = 1: grad      {loss, g}        one run; g stays in its arena and is fed on
//   grad_accum = k: micro     {loss, acc + g}  k runs, each copied into the accumulators
//   both:           norm      {‖ḡ‖}            ḡ = g, or acc / k
//                   update    {AdamW updates on ḡ}   only when the loss and ‖ḡ‖ are finite
//   eval                      {loss}           forward only
// The update runs apart from the gradients so that a step whose loss or gradient norm is
// NaN or infinite can be skipped before it writes NaN into the weights and moments. They
// all share the graph's Parameter tensors, so they see the same weights.
//
// Data parallel (lab 09): given a Communicator of n ranks, each rank's Trainer draws rows
// [rank·b, (rank + 1)·b) of a global batch of n·b rows, and between the gradients and the
// norm it all-reduces ḡ (the mean over ranks) bucket by bucket, in reverse parameter order
// (gw/ddp.h). Every rank then sees the same ḡ, loss and norm and applies the same update:
// n ranks with batch b step exactly as one rank with batch n·b, up to rounding.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gw/checkpoint.h"
#include "gw/communicator.h"
#include "gw/data.h"
#include "gw/ddp.h"
#include "gw/error.h"
#include "gw/autocast.h"
#include "gw/executor.h"
#include "gw/mixed_precision.h"
#include "gw/model.h"
#include "gw/op_profile.h"
#include "gw/optim.h"
#include "gw/quantized_model.h"
#include "gw/train_config.h"

namespace gw {

class GradientSync;  // parallel/gradient_sync.h
class Timeline;
class ComputeTracer;

/// Training produced NaN or infinite values: kNonFiniteLimit steps in a row, or a state that
/// a checkpoint must not hold. gw-train exits 1.
class NonFiniteError : public Error { using Error::Error; };

/// Consecutive non-finite steps (each skipped) after which run_training stops the run.
constexpr int64_t kNonFiniteLimit = 10;

/// What one optimizer step reports.
struct StepStats {
  int64_t step = 0;        ///< 1-based number of the step just taken
  double loss = 0;         ///< mean training loss of its micro-batches (before the update)
  double lr = 0;           ///< learning rate used
  double grad_norm = 0;    ///< global gradient norm before clipping
  bool skipped = false;    ///< the loss or the norm was not finite: no update was applied
  /// fp16: the loss scale the step's backward pass used (0 in fp32 and bf16). A step whose
  /// scaled gradients overflowed is skipped and the scale backs off (gw/mixed_precision.h).
  double loss_scale = 0;
  /// fp16: the step was skipped because its scaled gradients overflowed while its loss was
  /// finite: the loss scaler's ordinary back-off, not a diverging run.
  bool overflow = false;
};

/// What one evaluation reports.
struct EvalStats {
  int64_t step = 0;        ///< optimizer steps done when it ran
  double train_loss = 0;   ///< mean loss over the fixed train batches
  double val_loss = 0;     ///< mean loss over the fixed val batches
};

/// The model, its training graph and its executors.
class Trainer {
 public:
  /// Builds the model (vocabulary from data.tokenizer) and every executor. gw::UsageError
  /// when the config is invalid or block_size does not fit the data. With `comm` (not owned;
  /// it must outlive the trainer) of more than one rank, the trainer is that rank's replica:
  /// every rank must construct its Trainer with the same config and data, and call
  /// train_step and evaluate in step (they communicate).
  Trainer(const TrainConfig& config, TextDataset data, Communicator* comm = nullptr);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// One optimizer step on the training batches (step, micro) for micro < grad_accum.
  StepStats train_step();
  /// One optimizer step on the given micro-batches (exactly grad_accum of them, each x and
  /// y i32 (b, s)). When the loss or the gradient norm is NaN or infinite, the weights and
  /// the AdamW moments are left as they were (StepStats::skipped); the step still counts.
  StepStats train_step(const std::vector<Batch>& micro_batches);
  /// Times one training step (and one eval forward) op type by op type; the step is taken
  /// (state advances). Only for grad_accum = 1.
  std::string profile_step();
  /// Mean loss over the fixed evaluation batches of both splits.
  EvalStats evaluate();

  /// The run's state: weights, AdamW moments, step, config, tokenizer, data position and
  /// the data file's identity (path, size, hash).
  Checkpoint checkpoint() const;
  /// Writes checkpoint() atomically. gw::NonFiniteError, writing nothing, when a weight or
  /// moment holds NaN or infinity; gw::IoError when the file cannot be written. Either way
  /// `path` keeps its previous content.
  void save(const std::string& path) const;
  /// Restores a checkpoint. gw::IoError naming the file (and the metadata key) when it is
  /// bad, or naming the data file when that file changed since the checkpoint (same path,
  /// other size or hash); gw::UsageError when it does not match this run (model sizes,
  /// tokenizer).
  void restore(const Checkpoint& ckpt);

  /// Optimizer steps taken so far.
  int64_t step() const { return step_; }
  /// Tokens consumed per optimizer step by all ranks together (ranks·b·s·grad_accum).
  int64_t tokens_per_step() const;
  /// This trainer's rank and the number of ranks (0 and 1 without a communicator).
  int rank() const { return rank_; }
  int ranks() const { return world_; }
  /// The gradient buckets, in all-reduce order (empty with one rank).
  const std::vector<Bucket>& buckets() const { return buckets_; }
  /// With config.trace: writes the recorded timeline (steps 2–4) as a Chrome trace and returns
  /// the seconds of all-reduce recorded and how many of them overlapped a compute kernel.
  std::pair<double, double> write_trace(const std::string& path) const;
  /// Model FLOPs per token of a training step (forward, backward, optimizer), counted by lab
  /// 07's counting pass over the step's executors; the recomputation of activation
  /// checkpointing is not included (MFU counts the model's FLOPs, not the machine's). 0 when
  /// the op table's FLOP rules are unfinished stubs (a student build before lab 07).
  double flops_per_token() const { return flops_per_token_; }
  /// FLOPs per token that activation checkpointing adds by recomputing blocks (0 without it).
  double recompute_flops_per_token() const { return recompute_flops_per_token_; }
  /// The model (its params are the f32 weights: with --precision bf16/fp16, the masters).
  const Transformer& model() const { return model_; }
  /// With --precision bf16/fp16: the 16-bit copies the model computes with (empty in fp32).
  const LowPrecisionWeights& low_precision_weights() const { return low_weights_; }
  /// With --precision fp16: the dynamic loss scaler (null otherwise).
  const DynamicLossScaler* loss_scaler() const { return scaler_.get(); }
  /// The config.
  const TrainConfig& config() const { return config_; }
  /// The data.
  const TextDataset& data() const { return data_; }

  /// Lowest validation loss seen (kept in checkpoints). Infinity before any evaluation.
  double best_val_loss = std::numeric_limits<double>::infinity();

 private:
  double eval_split(const std::vector<Batch>& batches);
  Feeds batch_feeds(const Batch& b) const;  // x and y of a batch, on the graph's device
  void refresh_weight_copies();             // 16-bit copies ← round(f32 masters)
  Tensor hyper_feed() const;                // AdamW's scalars of the next step, on the device
  Feeds gradients_of(const std::vector<Batch>& micro, double* loss);  // ḡ's feeds (k = 1)
  void average_over_ranks(const Feeds& grads, double* loss);  // all-reduce ḡ and the loss

  TrainConfig config_;
  TextDataset data_;
  std::unique_ptr<Graph> graph_;
  Transformer model_;
  LrSchedule schedule_;
  Node* x_ = nullptr;
  Node* y_ = nullptr;
  Node* loss_ = nullptr;
  OptimizerNodes opt_;
  std::vector<Node*> accumulators_;  // grad_accum > 1: Σ of micro-batch gradients
  std::vector<Node*> grad_inputs_;   // grad_accum = 1: the update's Inputs, fed g
  std::vector<size_t> grad_slot_;    // weight k's gradient is output grad_slot_[k] of its executor
  std::unique_ptr<Executor> grad_exec_, micro_exec_, norm_exec_, update_exec_, eval_exec_;
  std::unique_ptr<FakeQuantizedWeights> qat_;  // --qat: the weights' S and Z feeds
  LowPrecisionWeights low_weights_;             // --precision bf16/fp16: masters and copies
  std::unique_ptr<Executor> refresh_exec_;      // computes the copies from the masters
  Node* loss_scale_ = nullptr;                  // fp16: Input scalar S, the loss is × S
  Node* inv_scale_ = nullptr;                   // fp16: Input scalar 1/S, the gradients × 1/S
  std::unique_ptr<DynamicLossScaler> scaler_;   // fp16
  std::unique_ptr<BatchSampler> train_sampler_;
  std::vector<Batch> eval_train_, eval_val_;
  int64_t step_ = 0;
  double flops_per_token_ = 0;
  double recompute_flops_per_token_ = 0;
  Communicator* comm_ = nullptr;  // data parallel: this rank's communicator (not owned)
  int rank_ = 0, world_ = 1;
  std::vector<Bucket> buckets_;   // gradient buckets over model_.params (world_ > 1)
  std::unique_ptr<Timeline> timeline_;       // --trace
  std::unique_ptr<ComputeTracer> tracer_;    // --trace without overlap
  std::unique_ptr<GradientSync> sync_;       // overlap: buckets all-reduced during backward
  std::vector<Tensor> last_grads_;           // overlap: where the gradients are written
};

/// What a whole run reports: only what this run measured (after a resume, the steps and
/// evaluations since the resume).
struct TrainSummary {
  std::vector<StepStats> steps;  ///< every step of this run (after a resume: the new ones)
  std::vector<EvalStats> evals;  ///< every evaluation of this run
  double best_val_loss = 0;      ///< lowest finite val loss of `evals`; infinity when none
  double wall_seconds = 0;       ///< the whole run, set-up included
  double train_seconds = 0;      ///< time inside training steps
  double tokens_per_second = 0;  ///< training tokens / train_seconds
  int64_t parameters = 0;        ///< weights of the model
  double flops_per_token = 0;    ///< model FLOPs per training token (graph count)
  double peak_flops = 0;         ///< the machine's peak FLOP/s MFU is measured against
  double mfu = 0;                ///< tokens_per_second · flops_per_token / peak_flops
  int64_t skipped_steps = 0;     ///< steps whose update was skipped (non-finite)
  int stop_signal = 0;           ///< SIGINT or SIGTERM when a signal ended the run, else 0
};

/// How run_training deals with the world around the run.
struct RunOptions {
  /// Catch SIGINT and SIGTERM while training: the first finishes the current step, writes
  /// the checkpoint and the summary, prints the command that resumes, and makes run_training
  /// return with TrainSummary::stop_signal set; a second one exits the process at once
  /// (status 128 + signal). gw-train sets it; a library caller keeps its own handlers.
  bool handle_signals = false;
  /// The program the printed resume command starts with.
  std::string program = "gw-train";
  /// Data parallel: this rank's communicator (null: one rank). Every rank runs
  /// run_training with the same config; rank 0 alone prints and writes the checkpoint,
  /// metrics, summary and plot, and a stop (signal) on any rank stops all at the same step.
  Communicator* communicator = nullptr;
};

/// The training loop of gw-train: loads the data, prepares out_dir (checkpoint ckpt.bin,
/// metrics.jsonl, summary.json, loss.png), resumes if asked, trains to stop_at or
/// max_iters with progress and eval lines on `log`, and writes the outputs.
///
/// A step with a non-finite loss or gradient norm is skipped with a warning; after
/// kNonFiniteLimit in a row the run stops with gw::NonFiniteError, leaving the last good
/// checkpoint in place. metrics.jsonl holds whole JSON lines, flushed at every progress
/// line, evaluation and checkpoint; a resume cuts it back to the checkpoint's step. The
/// checkpoint and summary.json are replaced atomically. Throws gw::UsageError for bad
/// settings and gw::IoError for missing data or outputs that cannot be written (the
/// message names the file).
TrainSummary run_training(const TrainConfig& config, std::ostream& log,
                          const RunOptions& options = {});

/// Sets the OpenMP and OpenBLAS thread counts (threads ≤ 0 leaves the defaults).
void set_thread_count(int64_t threads);

/// ModelShape of a config and a vocabulary size.
ModelShape model_shape(const TrainConfig& config, int64_t vocab_size);

/// The config saved in a trainer checkpoint (gw::IoError when it is malformed).
TrainConfig checkpoint_config(const Checkpoint& ckpt);

/// Rebuilds a model for inference from a checkpoint into `graph` (weights copied in). A
/// quantized checkpoint (gw-quantize's) gives a model that computes with its codes
/// (load_quantized_model of gw/quantized_model.h).
Transformer load_model(Graph& graph, const Checkpoint& ckpt, CharTokenizer* tokenizer);

}  // namespace gw
