// train_config.h — every setting of the reference trainer, its presets, and its JSON form.
//
// One struct holds everything a run needs. Presets (cpu-tiny, gpu-char, gpt2-small) fill it;
// a JSON config file (--config) and command-line flags override single fields. Each field is
// listed once in config_fields(), which gives its JSON key, its flag and its help, so the
// program's --help, the JSON reader and the checkpoint all agree on the names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gw {

/// Settings of one training run. Sizes use the course letters: h = n_embd, n = n_head,
/// s = block_size, b = batch_size, i = mlp_hidden, v = vocabulary (from the tokenizer).
struct TrainConfig {
  std::string preset = "cpu-tiny";  ///< the preset the other fields started from
  // ---- model ----
  int64_t n_layer = 4;          ///< decoder blocks N
  int64_t n_head = 4;           ///< attention heads n
  int64_t n_embd = 128;         ///< width h
  int64_t mlp_hidden = 0;       ///< SwiGLU width i; 0 = 8h/3 rounded up to a multiple of 32
  int64_t block_size = 64;      ///< context length s
  double rope_theta = 10000.0;  ///< RoPE base
  double norm_eps = 1e-5;       ///< RMSNorm epsilon
  double init_std = 0.02;       ///< std of the normal init of matrices and embeddings
  // ---- batch ----
  int64_t batch_size = 12;  ///< rows b of one micro-batch
  int64_t grad_accum = 1;   ///< micro-batches summed per optimizer step
  /// Keep only each block's input for the backward pass and recompute the rest of the block
  /// there (gw/checkpointing.h): less activation memory for about one more forward pass.
  bool checkpoint_activations = false;
  // ---- optimizer ----
  double lr = 1e-3;                     ///< peak learning rate
  double min_lr = 1e-4;                 ///< learning rate at the end of the cosine decay
  int64_t warmup_iters = 100;           ///< linear warmup steps
  int64_t lr_decay_iters = 0;           ///< end of the cosine decay; 0 = max_iters
  double beta1 = 0.9;                   ///< AdamW β1
  double beta2 = 0.99;                  ///< AdamW β2
  double adam_eps = 1e-8;               ///< AdamW ε
  double weight_decay = 0.1;            ///< decoupled weight decay λ (matrices only by default)
  bool decay_norms_embeddings = false;  ///< also decay RMSNorm weights and the embedding
  double grad_clip = 1.0;               ///< max global gradient norm; 0 = no clipping
  // ---- run ----
  int64_t max_iters = 2000;         ///< optimizer steps of the whole run (sets the schedule)
  int64_t stop_at = 0;              ///< stop (and checkpoint) after this step; 0 = max_iters
  int64_t eval_interval = 250;      ///< evaluate every this many steps (and at the end)
  int64_t eval_iters = 20;          ///< fixed batches per split at each evaluation
  int64_t log_interval = 10;        ///< progress line every this many steps
  int64_t checkpoint_interval = 0;  ///< also checkpoint every this many steps; 0 = at the end
  uint64_t seed = 1337;             ///< seeds the init and the batches
  int64_t threads = 0;              ///< OpenMP and OpenBLAS threads; 0 = every core
                                    ///< (cpu-tiny: 1, its GEMMs are too small to share)
  std::string device = "cpu";       ///< cpu, cuda[:N], or auto (the GPU when one is visible)
  std::string data;                 ///< text file; empty = the default corpus
  std::string out_dir = "out";      ///< checkpoint, metrics, summary and plot go here
  std::string resume;               ///< checkpoint to continue from; empty = fresh start
  bool plot = true;                 ///< write loss.png with gnuplot (when installed)
  bool save_checkpoint = true;      ///< write out_dir/ckpt.bin at the end (and intervals)
  std::string attention = "flash";  ///< flash or naive: the attention op of the model
  std::string precision = "fp32";   ///< fp32, bf16 or fp16 (lab 06): the precision of the
                                    ///< matmuls and attention; f32 master weights either way
  std::string qat;                  ///< "", int8-channel or int4-g32: quantization-aware
                                    ///< training (fake-quantized matmul weights), then
                                    ///< out_dir/quantized.bin at the end
  // ---- data parallel (lab 09) ----
  int64_t ranks = 1;            ///< data-parallel ranks; each takes batch_size rows of a
                                ///< global batch of ranks·batch_size (under mpirun: the
                                ///< number of processes)
  std::string comm = "threads"; ///< threads (ranks as threads of this process) or mpi
  double bucket_mb = 25;        ///< gradient bucket size in MiB (PyTorch's default: 25)
  bool ring_allreduce = true;   ///< all-reduce with lab 09's ring (false: the backend's own)
  bool overlap = true;          ///< all-reduce each bucket on a communication thread as soon
                                ///< as backward has written it (grad_accum = 1)
  std::string trace;            ///< Chrome trace of steps 2–4 (compute and comm tracks);
                                ///< empty = none

  /// SwiGLU width actually used (mlp_hidden, or the 8h/3 default).
  int64_t mlp_width() const;
  /// Throws gw::UsageError naming the first bad field (zero or negative sizes, h not a
  /// multiple of n, odd head dimension, a number that is not finite or outside its range
  /// (config_fields() gives each range), ...).
  void validate() const;
  /// Every field, keyed by its name in config_fields().
  nlohmann::json to_json() const;
  /// Applies the keys of `j` on top of `base`. Unknown keys, wrongly typed values and numbers
  /// outside their range throw gw::UsageError naming the key. A "preset" key restarts from
  /// that preset first.
  static TrainConfig from_json(const nlohmann::json& j, const TrainConfig& base);
  /// from_json on top of the defaults (cpu-tiny).
  static TrainConfig from_json(const nlohmann::json& j);
  /// Reads a JSON config file (gw::IoError when unreadable, gw::UsageError naming the file
  /// when malformed).
  static TrainConfig from_file(const std::string& path, const TrainConfig& base);
};

/// The preset `name`: cpu-tiny (nanoGPT's CPU recipe), gpu-char (nanoGPT's shakespeare-char
/// model), gpt2-small (GPT-2 124M shapes, for throughput). gw::UsageError for another name.
TrainConfig preset_config(const std::string& name);
/// Names of the presets.
std::vector<std::string> preset_names();

/// Kind of value of a config field.
enum class FieldKind { integer, number, text, boolean };

/// One settable field: JSON key "n_layer", flag "--n-layer", kind and help.
struct ConfigField {
  std::string key;   ///< JSON key
  std::string flag;  ///< command-line flag
  FieldKind kind;    ///< value type
  std::string help;  ///< one line for --help
  // Numbers only: the allowed interval. Every number must also be finite: an infinite or NaN
  // setting (or one that overflows float32, like --lr 1e308) only turns the loss into NaN a
  // few steps later.
  double min = 0;         ///< lower bound of the interval
  double max = 0;         ///< upper bound of the interval
  bool min_open = false;  ///< min itself is excluded
  bool max_open = false;  ///< max itself is excluded
  /// Numbers: "a finite number in [0, 10]", as --help and the error messages say it.
  std::string range_text() const;
  /// Numbers: whether `value` is finite and inside the interval.
  bool allows(double value) const;
};
/// Every field except "preset", in declaration order.
const std::vector<ConfigField>& config_fields();
/// Parses a command-line value of `field` into JSON; gw::UsageError names the flag and the
/// value ("--lr inf: must be a finite number in [0, 10]").
nlohmann::json parse_field_value(const ConfigField& field, const std::string& text);

}  // namespace gw
