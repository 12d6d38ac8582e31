// trainer.h — the reference trainer: one training-step graph built once and run every
// iteration, evaluation on fixed batches, checkpoints, and the whole training loop.
//
// Graph (built once, DESIGN.md decision 1): loss = Transformer::loss(x, y); gradients() of
// the loss with respect to every weight; the optimizer nodes of gw/optim.h. Executors:
//   grad_accum = 1: step      {loss, ‖g‖, AdamW updates}            one run per step
//   grad_accum = k: micro     {loss, acc + g}  k runs, each copied into the accumulators
//                   update    {‖ḡ‖, AdamW updates on ḡ = acc / k}   one run, then acc = 0
//   eval                      {loss}                                 forward only
// They all share the graph's Parameter tensors, so they see the same weights.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gw/checkpoint.h"
#include "gw/data.h"
#include "gw/executor.h"
#include "gw/model.h"
#include "gw/op_profile.h"
#include "gw/optim.h"
#include "gw/train_config.h"

namespace gw {

/// What one optimizer step reports.
struct StepStats {
  int64_t step = 0;        ///< 1-based number of the step just taken
  double loss = 0;         ///< mean training loss of its micro-batches (before the update)
  double lr = 0;           ///< learning rate used
  double grad_norm = 0;    ///< global gradient norm before clipping
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
  /// when the config is invalid or block_size does not fit the data.
  Trainer(const TrainConfig& config, TextDataset data);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// One optimizer step on the training batches (step, micro) for micro < grad_accum.
  StepStats train_step();
  /// One optimizer step on the given micro-batches (exactly grad_accum of them, each x and
  /// y i32 (b, s)).
  StepStats train_step(const std::vector<Batch>& micro_batches);
  /// Times one training step (and one eval forward) op type by op type; the step is taken
  /// (state advances). Only for grad_accum = 1.
  std::string profile_step();
  /// Mean loss over the fixed evaluation batches of both splits.
  EvalStats evaluate();

  /// The run's state: weights, AdamW moments, step, config, tokenizer, data position.
  Checkpoint checkpoint() const;
  /// Writes checkpoint() atomically.
  void save(const std::string& path) const;
  /// Restores a checkpoint. gw::IoError when the file is bad; gw::UsageError when it does
  /// not match this run (model sizes, tokenizer).
  void restore(const Checkpoint& ckpt);

  /// Optimizer steps taken so far.
  int64_t step() const { return step_; }
  /// Tokens consumed per optimizer step (b·s·grad_accum).
  int64_t tokens_per_step() const;
  /// Training FLOPs per token, counted from the op table over the step graph(s).
  double flops_per_token() const { return flops_per_token_; }
  /// The model.
  const Transformer& model() const { return model_; }
  /// The config.
  const TrainConfig& config() const { return config_; }
  /// The data.
  const TextDataset& data() const { return data_; }

  /// Lowest validation loss seen (kept in checkpoints). Infinity before any evaluation.
  double best_val_loss = std::numeric_limits<double>::infinity();

 private:
  double eval_split(const std::vector<Batch>& batches);
  Feeds batch_feeds(const Batch& b) const;  // x and y of a batch, on the graph's device
  Tensor hyper_feed() const;                // AdamW's scalars of the next step, on the device

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
  std::unique_ptr<Executor> step_exec_, micro_exec_, update_exec_, eval_exec_;
  std::unique_ptr<BatchSampler> train_sampler_;
  std::vector<Batch> eval_train_, eval_val_;
  int64_t step_ = 0;
  double flops_per_token_ = 0;
};

/// What a whole run reports.
struct TrainSummary {
  std::vector<StepStats> steps;  ///< every step of this run (after a resume: the new ones)
  std::vector<EvalStats> evals;  ///< every evaluation of this run
  double best_val_loss = 0;      ///< lowest val loss (including before a resume)
  double wall_seconds = 0;       ///< the whole run, set-up included
  double train_seconds = 0;      ///< time inside training steps
  double tokens_per_second = 0;  ///< training tokens / train_seconds
  int64_t parameters = 0;        ///< weights of the model
  double flops_per_token = 0;    ///< training FLOPs per token (graph count)
};

/// The training loop of gw-train: loads the data, prepares out_dir (checkpoint ckpt.bin,
/// metrics.jsonl, summary.json, loss.png), resumes if asked, trains to stop_at or
/// max_iters with progress and eval lines on `log`, and writes the outputs. Throws
/// gw::UsageError for bad settings and gw::IoError for missing data or unwritable outputs.
TrainSummary run_training(const TrainConfig& config, std::ostream& log);

/// Sets the OpenMP and OpenBLAS thread counts (threads ≤ 0 leaves the defaults).
void set_thread_count(int64_t threads);

/// ModelShape of a config and a vocabulary size.
ModelShape model_shape(const TrainConfig& config, int64_t vocab_size);

/// The config saved in a trainer checkpoint (gw::IoError when it is malformed).
TrainConfig checkpoint_config(const Checkpoint& ckpt);

/// Rebuilds a model for inference from a checkpoint into `graph` (weights copied in).
Transformer load_model(Graph& graph, const Checkpoint& ckpt, CharTokenizer* tokenizer);

}  // namespace gw
