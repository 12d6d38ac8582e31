// sweep_runs.h — gw-sweep's training runs: which model and how many steps a (budget, size)
// pair gets, and running it with the trainer so that an interrupted run resumes from its
// checkpoint and a finished one is never trained again.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gw/error.h"
#include "gw/scaling.h"
#include "gw/train_config.h"
#include "gw/trainer.h"

namespace gw::sweep {

/// What every run of a sweep shares.
struct RunSettings {
  std::string data;             ///< text file (absolute)
  std::string runs_dir;         ///< one folder per run below it
  int64_t batch_size = 16;      ///< b
  int64_t block_size = 64;      ///< s
  double lr = 2e-3;             ///< peak learning rate (cosine to lr/10 over the run)
  int64_t eval_iters = 40;      ///< batches per split in the final evaluation
  int64_t threads = 1;          ///< 1: small models' GEMMs are too small to share
  scaling::DesignConstraints shapes;  ///< the small models' shape rules
};

/// One planned run: a model shape and its token count for a budget.
struct PlannedRun {
  std::string name;       ///< folder name, e.g. C2e+12-N104k
  double C = 0;           ///< nominal budget (FLOPs, 6ND)
  ModelShape shape;       ///< the model
  double N = 0;           ///< its parameters
  int64_t steps = 0;      ///< optimizer steps
  double D = 0;           ///< tokens = steps · b · s
};

/// The run of budget C closest to `target_params`: design_architecture's shape, and as many
/// steps as make 6·N·D ≈ C.
inline PlannedRun plan_run(double C, double target_params, const RunSettings& s) {
  PlannedRun r;
  r.C = C;
  r.shape = scaling::design_architecture(target_params, s.shapes);
  r.N = static_cast<double>(scaling::parameter_count(r.shape));
  const double tokens_per_step = static_cast<double>(s.batch_size * s.block_size);
  r.steps = std::max<int64_t>(20, std::llround(C / (6 * r.N * tokens_per_step)));
  r.D = static_cast<double>(r.steps) * tokens_per_step;
  std::ostringstream name;
  name << "C" << std::setprecision(3) << C << "-L" << r.shape.n_layer << "-h" << r.shape.n_embd;
  r.name = name.str();
  return r;
}

/// The trainer's config of a planned run.
inline TrainConfig run_config(const PlannedRun& r, const RunSettings& s) {
  TrainConfig c = preset_config("cpu-tiny");
  c.n_layer = r.shape.n_layer;
  c.n_head = r.shape.n_head;
  c.n_embd = r.shape.n_embd;
  c.mlp_hidden = r.shape.mlp_hidden;
  c.block_size = s.block_size;
  c.batch_size = s.batch_size;
  c.lr = s.lr;
  c.min_lr = s.lr / 10;
  c.max_iters = r.steps;
  c.warmup_iters = std::min<int64_t>(100, r.steps / 10);
  c.eval_interval = r.steps;  // evaluate the initial and the final model only
  c.eval_iters = s.eval_iters;
  c.log_interval = std::max<int64_t>(1, r.steps / 4);
  c.checkpoint_interval = std::max<int64_t>(50, r.steps / 5);  // what a resume restarts from
  c.threads = s.threads;
  c.data = s.data;
  c.out_dir = s.runs_dir + "/" + r.name;
  c.plot = false;
  return c;
}

/// A run's outcome.
struct RunResult {
  double loss = 0;          ///< final validation loss
  double seconds = 0;       ///< wall time of its (last) training session
  bool reused = false;      ///< read from a finished run, not trained now
  int stop_signal = 0;      ///< SIGINT or SIGTERM ended it early
};

/// The final validation loss of a finished run in `dir` (summary.json with status
/// "completed" at step `steps`), or NaN when it is not finished.
inline double finished_loss(const std::string& dir, int64_t steps, double* seconds) {
  std::ifstream in(dir + "/summary.json");
  if (!in) return NAN;
  try {
    const nlohmann::json s = nlohmann::json::parse(in);
    if (s.at("status") != "completed" || s.at("steps").get<int64_t>() != steps ||
        !s.at("final_val_loss").is_number())
      return NAN;
    *seconds = s.value("wall_seconds", 0.0);
    return s.at("final_val_loss").get<double>();
  } catch (const nlohmann::json::exception&) {
    return NAN;  // a damaged summary: train again from the checkpoint
  }
}

/// The validation loss that metrics.jsonl in `dir` records for step `steps`, or NaN. A run
/// that crashed after its final checkpoint but before its summary resumes with nothing left
/// to train, and evaluates nothing: its final evaluation is in the metrics.
inline double logged_loss(const std::string& dir, int64_t steps) {
  std::ifstream in(dir + "/metrics.jsonl");
  double loss = NAN;
  for (std::string line; std::getline(in, line);) {
    try {
      const nlohmann::json r = nlohmann::json::parse(line);
      if (r.value("type", "") == "eval" && r.value("step", int64_t{-1}) == steps &&
          r.at("val_loss").is_number())
        loss = r.at("val_loss").get<double>();
    } catch (const nlohmann::json::exception&) {  // a torn last line
    }
  }
  return loss;
}

/// Trains a planned run, or reads it when it is finished; resumes from its checkpoint when an
/// earlier sweep stopped inside it. The trainer's log goes to <run>/train.log.
inline RunResult train_or_reuse(const PlannedRun& r, const RunSettings& s) {
  TrainConfig c = run_config(r, s);
  RunResult out;
  out.loss = finished_loss(c.out_dir, r.steps, &out.seconds);
  if (std::isfinite(out.loss)) {
    out.reused = true;
    return out;
  }
  std::filesystem::create_directories(c.out_dir);
  const std::string ckpt = c.out_dir + "/ckpt.bin";
  if (std::filesystem::exists(ckpt)) c.resume = ckpt;
  std::ofstream log(c.out_dir + "/train.log", std::ios::app);
  GW_CHECK_AS(IoError, log.good(), "cannot write ", c.out_dir, "/train.log");
  RunOptions options;
  options.handle_signals = true;  // Ctrl-C: checkpoint, then the sweep stops
  options.program = "gw-sweep";
  const TrainSummary sum = run_training(c, log, options);
  out.stop_signal = sum.stop_signal;
  out.seconds = sum.wall_seconds;
  if (sum.stop_signal) return out;
  out.loss = !sum.evals.empty() && sum.evals.back().step == r.steps ? sum.evals.back().val_loss
                                                                      : logged_loss(c.out_dir, r.steps);
  GW_CHECK(std::isfinite(out.loss), "run ", r.name, " ended without a finite validation loss (see ",
           c.out_dir, "/train.log)");
  return out;
}

}  // namespace gw::sweep
