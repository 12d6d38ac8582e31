// train_loop.cpp — gw::run_training, the loop behind gw-train: data, output folder, resume,
// progress and eval lines, metrics (JSON lines), checkpoints, summary and the loss plot.
//
// Everything that can be wrong with the user's input (data, out_dir, resume file) is
// checked before the first step, so a bad flag costs a second, not a half-finished run.
// Once training, nothing is lost or corrupted: a non-finite step is skipped (and too many in
// a row stop the run before they reach a checkpoint), the outputs are written so that a crash
// leaves either the old or the new content, and a Ctrl-C ends the run at a step boundary
// with a checkpoint. Order within a step: train, record, progress line, evaluation,
// checkpoint, then the stop check — so a checkpoint at step s always comes after everything
// the run logs for step s, and a resume from it neither repeats nor misses a record.
#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

#include "gw/error.h"
#include "gw/peak_flops.h"
#include "gw/quantized_model.h"
#include "gw/trainer.h"
#include "gw/transformer_costs.h"
#include "model/run_files.h"
#include "model/test_hooks.h"

namespace gw {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string duration_str(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t total = static_cast<int64_t>(s + 0.5);
  std::ostringstream os;
  if (total >= 3600) os << total / 3600 << "h";
  if (total >= 60) os << (total / 60) % 60 << "m";
  os << total % 60 << "s";
  return os.str();
}

// An absolute path, so that a checkpoint names its data and folder from any working folder.
std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

// `text` as one shell word.
std::string shell_quote(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./:=+,@%") == std::string::npos)
    return text;
  std::string out = "'";
  for (char ch : text) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Creates out_dir and proves it writable, so a typo fails now and not at the checkpoint.
void prepare_out_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  GW_CHECK_AS(IoError, !ec && std::filesystem::is_directory(dir), "cannot create output folder '",
              dir, "'", ec ? ": " + ec.message() : std::string());
  const std::string probe = dir + "/.gw_write_test";
  {
    std::ofstream f(probe);
    GW_CHECK_AS(IoError, f.good(), "output folder '", dir, "' is not writable");
  }
  std::remove(probe.c_str());
}

}  // namespace

void set_thread_count(int64_t threads) {
  if (threads <= 0) return;
  // Both pools: OpenMP (our kernels) and OpenBLAS (GEMM; the same libgomp pool when CMake
  // found OpenBLAS's OpenMP build, its own pthreads otherwise).
  omp_set_num_threads(static_cast<int>(threads));
  openblas_set_num_threads(static_cast<int>(threads));
}

namespace {

bool have_gnuplot() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

void write_or_throw(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  GW_CHECK_AS(IoError, !f.fail(), "cannot write ", path);
}

// loss.png from the step losses and the evals, through gnuplot. A plot is a convenience:
// every failure is a warning, never the end of a run whose checkpoint is already written.
void plot_losses(const std::string& dir, const TrainSummary& s, std::ostream& log) {
  std::ostringstream tr, va;
  for (const StepStats& st : s.steps)
    if (std::isfinite(st.loss)) tr << st.step << ' ' << st.loss << '\n';
  for (const EvalStats& e : s.evals) va << e.step << ' ' << e.train_loss << ' ' << e.val_loss << '\n';
  write_or_throw(dir + "/loss_train.dat", tr.str());
  write_or_throw(dir + "/loss_val.dat", va.str());
  if (!have_gnuplot()) {
    log << "plot: gnuplot not found; skipping loss.png (apt-get install gnuplot-nox)\n";
    return;
  }
  std::ostringstream script;
  script << "set terminal pngcairo size 900,560\n"
         << "set output '" << dir << "/loss.png'\n"
         << "set xlabel 'step'\nset ylabel 'loss (nats/token)'\nset grid\nset key top right\n"
         << "plot '" << dir << "/loss_train.dat' using 1:2 with lines lw 1 lc rgb '#9ecae1' title 'train (batch)', \\\n"
         << "     '" << dir << "/loss_val.dat' using 1:2 with linespoints lw 2 title 'train (eval)', \\\n"
         << "     '" << dir << "/loss_val.dat' using 1:3 with linespoints lw 2 title 'val'\n";
  write_or_throw(dir + "/loss.gp", script.str());
  const std::string cmd = "gnuplot '" + dir + "/loss.gp' 2>/dev/null";
  if (std::system(cmd.c_str()) == 0)
    log << "plot: " << dir << "/loss.png\n";
  else  // pngcairo may be missing from gnuplot-nox
    log << "warning: plot: gnuplot failed; skipping loss.png\n";
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// The metrics file of rank 0; the other ranks of a data-parallel run write none.
struct RankMetrics {
  std::unique_ptr<run::MetricsLog> log;
  void add(const nlohmann::json& record) {
    if (log) log->add(record);
  }
  void flush() {
    if (log) log->flush();
  }
  void sync() {
    if (log) log->sync();
  }
};

// Where the last checkpoint that a run can resume from lies.
struct GoodCheckpoint {
  std::string path;
  int64_t step = -1;  // -1: none
};

}  // namespace

TrainSummary run_training(const TrainConfig& config, std::ostream& rank_log,
                          const RunOptions& options) {
  const auto start = Clock::now();
  // Data parallel: every rank trains; rank 0 alone prints and writes files.
  Communicator* comm = options.communicator;
  const int world = comm ? comm->size() : 1;
  const bool writer = comm == nullptr || comm->rank() == 0;
  std::ostream silent(nullptr);
  std::ostream& log = writer ? rank_log : silent;
  const std::string program_name = std::filesystem::path(options.program).filename().string();
  run::StopSignals signals(options.handle_signals, program_name.empty() ? "gw-train" : program_name);
  config.validate();
  set_thread_count(config.threads);
  // Absolute paths: the checkpoint records them, so a resume works from any folder.
  TrainConfig cfg = config;
  if (comm) cfg.ranks = world;  // the checkpoint records how many ranks trained
  cfg.data = absolute_path(config.data.empty() ? require_default_corpus() : config.data);
  cfg.out_dir = absolute_path(config.out_dir);
  if (!cfg.resume.empty()) cfg.resume = absolute_path(cfg.resume);
  TextDataset data = TextDataset::from_file(cfg.data);
  if (writer) prepare_out_dir(cfg.out_dir);
  const std::string ckpt_path = cfg.out_dir + "/ckpt.bin";
  Checkpoint resume_from;
  if (!cfg.resume.empty()) resume_from = read_checkpoint(cfg.resume);

  Trainer trainer(cfg, std::move(data), comm);
  GoodCheckpoint good;
  if (!cfg.resume.empty()) {
    trainer.restore(resume_from);
    resume_from.tensors.clear();  // the weights are in the model now
    good = {cfg.resume, trainer.step()};
    log << "resumed from " << cfg.resume << " at step " << trainer.step() << '\n';
  }
  const int64_t first = trainer.step();
  const int64_t end = cfg.stop_at > 0 ? std::min(cfg.stop_at, cfg.max_iters) : cfg.max_iters;
  TrainSummary sum;
  sum.parameters = trainer.model().parameter_count();
  sum.flops_per_token = trainer.flops_per_token();
  // MFU's denominator: the GPU's datasheet peak, or the CPU's as a short sgemm run measures it
  // now, with this run's threads.
  const Device device = trainer.model().params.front().node->device;
  const PeakFlops peak = sum.flops_per_token > 0 ? machine_peak_flops(device) : PeakFlops{};
  sum.peak_flops = peak.flops_per_second;
  const ModelShape& shape = trainer.model().shape;
  log << "gw-train: " << cfg.preset << " | data " << trainer.data().source << " ("
      << trainer.data().train.size() << " train / " << trainer.data().val.size()
      << " val tokens, vocab " << shape.vocab_size << ")\n"
      << "model: " << shape.n_layer << " layers, " << shape.n_head << " heads, h " << shape.n_embd
      << ", i " << shape.mlp_hidden << ", s " << shape.block_size << " | " << sum.parameters
      << " parameters | " << std::setprecision(4) << sum.flops_per_token / 1e6
      << " MFLOP/token (train step, graph count) | " << trainer.tokens_per_step()
      << " tokens/step | " << omp_get_max_threads() << " threads | device " << device.str()
      << std::defaultfloat << "\n";
  if (cfg.checkpoint_activations)
    log << "activation checkpointing: the backward pass recomputes each block (+"
        << std::setprecision(4) << trainer.recompute_flops_per_token() / 1e6
        << " MFLOP/token, not counted in MFU)" << std::defaultfloat << "\n";
  if (sum.flops_per_token <= 0)
    log << "FLOPs: not counted (lab 07's FLOP rules are not written yet): no GFLOP/s or MFU\n";
  else if (peak.flops_per_second > 0)
    log << "MFU against a peak of " << std::fixed << std::setprecision(1)
        << peak.flops_per_second / 1e9 << " GFLOP/s (" << peak.source << ")"
        << std::defaultfloat << "\n";
  else
    log << "MFU: not reported, " << peak.source << "\n";
  // " | 12.3 GFLOP/s | MFU 45.6%" at `tokens_per_second`, or "" when FLOPs are not counted.
  auto rates = [&](double tokens_per_second) {
    std::ostringstream os;
    if (sum.flops_per_token <= 0) return os.str();
    os << " | " << std::fixed << std::setprecision(1)
       << tokens_per_second * sum.flops_per_token / 1e9 << " GFLOP/s";
    if (peak.flops_per_second > 0)
      os << " | MFU " << 100 * mfu(sum.flops_per_token, tokens_per_second, peak.flops_per_second)
         << "%";
    return os.str();
  };
  if (world > 1)
    log << "data parallel: " << world << " ranks (" << cfg.comm << ") x batch " << cfg.batch_size
        << " | " << trainer.buckets().size() << " gradient bucket(s) of <= " << cfg.bucket_mb
        << " MiB | " << (cfg.ring_allreduce ? "ring all-reduce" : "the communicator's all-reduce")
        << "\n";
  std::string note;
  RankMetrics metrics;
  if (writer)
    metrics.log = std::make_unique<run::MetricsLog>(cfg.out_dir + "/metrics.jsonl",
                                                    cfg.resume.empty() ? -1 : first, &note);
  if (!note.empty()) log << note << '\n';
  auto do_eval = [&] {
    const EvalStats e = trainer.evaluate();
    sum.evals.push_back(e);
    log << "eval step " << e.step << ": train " << std::fixed << std::setprecision(4) << e.train_loss
        << " | val " << e.val_loss << " | best val " << trainer.best_val_loss << std::defaultfloat
        << " | " << duration_str(seconds_since(start)) << " elapsed" << std::endl;
    metrics.add({{"type", "eval"}, {"step", e.step}, {"train_loss", finite_or_null(e.train_loss)},
                 {"val_loss", finite_or_null(e.val_loss)}, {"elapsed_s", seconds_since(start)}});
    metrics.flush();
  };
  std::function<void(const std::string&)> finish;
  auto save = [&] {
    metrics.sync();  // first: records on disk never lag behind the checkpoint
    try {
      if (writer) trainer.save(ckpt_path);
    } catch (const NonFiniteError& e) {  // the weights themselves diverged: stop here
      finish("stopped_non_finite");
      throw NonFiniteError(std::string(e.what()) + "; lower --lr or --weight-decay" +
                           (good.step >= 0 ? ", then resume from " + good.path + " (step " +
                                                 std::to_string(good.step) + ")"
                                           : std::string()));
    }
    good = {ckpt_path, trainer.step()};
  };
  // What this run measured, in summary.json (written atomically) and returned.
  finish = [&](const std::string& status) {
    sum.best_val_loss = std::numeric_limits<double>::infinity();
    const EvalStats* best = nullptr;
    for (const EvalStats& e : sum.evals)
      if (std::isfinite(e.val_loss) && e.val_loss < sum.best_val_loss) {
        sum.best_val_loss = e.val_loss;
        best = &e;
      }
    sum.wall_seconds = seconds_since(start);
    const int64_t tokens = static_cast<int64_t>(sum.steps.size()) * trainer.tokens_per_step();
    sum.tokens_per_second = sum.train_seconds > 0 ? tokens / sum.train_seconds : 0;
    sum.mfu = mfu(sum.flops_per_token, sum.tokens_per_second, sum.peak_flops);
    const EvalStats* last = sum.evals.empty() ? nullptr : &sum.evals.back();
    nlohmann::json summary = {
        {"status", status},
        {"resumed_from", cfg.resume.empty()
                             ? nlohmann::json()
                             : nlohmann::json{{"checkpoint", cfg.resume}, {"step", first}}},
        {"first_step", first}, {"steps", trainer.step()},
        {"steps_this_run", static_cast<int64_t>(sum.steps.size())},
        {"skipped_steps", sum.skipped_steps},
        {"best_val_loss", best ? nlohmann::json(best->val_loss) : nlohmann::json()},
        {"best_val_step", best ? nlohmann::json(best->step) : nlohmann::json()},
        {"final_val_loss", last ? finite_or_null(last->val_loss) : nlohmann::json()},
        {"final_val_step", last ? nlohmann::json(last->step) : nlohmann::json()},
        {"checkpoint", good.step < 0 ? nlohmann::json()
                                     : nlohmann::json{{"path", good.path}, {"step", good.step}}},
        {"wall_seconds", sum.wall_seconds}, {"train_seconds", sum.train_seconds},
        {"tokens_per_second", sum.tokens_per_second}, {"parameters", sum.parameters},
        {"flops_per_token", sum.flops_per_token},
        {"gflops_per_second", sum.tokens_per_second * sum.flops_per_token / 1e9},
        {"peak_flops", sum.peak_flops > 0 ? nlohmann::json(sum.peak_flops) : nlohmann::json()},
        {"peak_flops_source", peak.source},
        {"mfu", sum.peak_flops > 0 ? nlohmann::json(sum.mfu) : nlohmann::json()},
        {"checkpoint_activations", cfg.checkpoint_activations},
        {"config", cfg.to_json()}};
    if (sum.stop_signal) summary["signal"] = run::signal_name(sum.stop_signal);
    metrics.sync();
    if (writer) write_file_atomically(cfg.out_dir + "/summary.json", summary.dump(2) + "\n", "summary");
    log << "summary: best val loss ";
    if (best)
      log << std::fixed << std::setprecision(4) << best->val_loss << " (step " << best->step << ")";
    else
      log << "- (no finite evaluation in this run)";
    log << " | wall " << duration_str(sum.wall_seconds) << " (" << std::fixed << std::setprecision(1)
        << sum.wall_seconds << " s) | " << std::setprecision(0) << sum.tokens_per_second
        << " tok/s" << rates(sum.tokens_per_second) << " | " << sum.parameters
        << " parameters | " << std::setprecision(2) << sum.flops_per_token / 1e6
        << " MFLOP/token" << std::defaultfloat << '\n';
  };

  if (first == 0 && end > 0) do_eval();  // the initial model
  if (first >= end)
    log << "nothing to train: the run is at step " << first << ", its end is " << end << '\n';
  double window_seconds = 0;
  int64_t window_steps = 0, bad_in_a_row = 0;
  // The signal that stops the run, agreed by all ranks before each step (each may see a
  // signal at another moment; all must stop after the same step).
  int stop = 0;
  auto stop_requested = [&] {
    stop = signals.received();
    if (world > 1) {
      double seen[2] = {static_cast<double>(stop), stop ? 1.0 : 0.0};
      comm->all_reduce(seen, 2, DType::f64, /*average=*/false);
      stop = seen[1] > 0 ? static_cast<int>(seen[0] / seen[1] + 0.5) : 0;
    }
    return stop != 0;
  };
  while (trainer.step() < end && !stop_requested()) {
    const auto t0 = Clock::now();
    const StepStats st = trainer.train_step();
    if (test_hooks::kill_armed("step", st.step)) test_hooks::kill_now();
    test_hooks::step_delay();
    const double dt = seconds_since(t0);
    sum.train_seconds += dt;
    window_seconds += dt;
    ++window_steps;
    sum.steps.push_back(st);
    nlohmann::json record = {{"type", "step"}, {"step", st.step}, {"loss", finite_or_null(st.loss)},
                             {"lr", st.lr}, {"grad_norm", finite_or_null(st.grad_norm)}, {"seconds", dt}};
    if (st.skipped) record["skipped"] = true;
    if (st.loss_scale > 0) record["loss_scale"] = st.loss_scale;
    metrics.add(record);
    const LossScalerOptions scaler_floor;
    if (st.skipped && st.overflow && st.loss_scale > scaler_floor.min_scale) {
      // fp16's loss scaler backing off: an expected event, not a diverging run.
      ++sum.skipped_steps;
      log << "step " << st.step << ": fp16 gradients overflowed at loss scale " << st.loss_scale
          << "; update skipped, the scale backs off" << std::endl;
    } else if (st.skipped) {
      ++sum.skipped_steps;
      ++bad_in_a_row;
      auto shown = [](double v) { return std::isnan(v) ? std::string("nan") : std::to_string(v); };
      log << "warning: step " << st.step << ": loss " << shown(st.loss) << ", gradient norm "
          << shown(st.grad_norm) << ": not finite, update skipped (" << bad_in_a_row
          << " in a row; the run stops at " << kNonFiniteLimit << ")" << std::endl;
      metrics.flush();
      if (bad_in_a_row >= kNonFiniteLimit) {
        finish("stopped_non_finite");
        std::ostringstream msg;
        msg << "training stopped: steps " << st.step - bad_in_a_row + 1 << " to " << st.step << " ("
            << bad_in_a_row << " in a row) had a NaN or infinite loss or gradient norm, and were "
               "skipped; ";
        if (good.step >= 0)
          msg << good.path << " keeps the last good checkpoint (step " << good.step
              << "): lower --lr or raise --warmup-iters, then resume from it";
        else
          msg << "no checkpoint was written (--checkpoint-interval N keeps one every N steps); "
                 "lower --lr or raise --warmup-iters and start again";
        throw NonFiniteError(msg.str());
      }
    } else {
      bad_in_a_row = 0;
    }
    if (st.step % cfg.log_interval == 0 || st.step == end) {
      const double tps = static_cast<double>(window_steps * trainer.tokens_per_step()) / window_seconds;
      const double per_step = sum.train_seconds / static_cast<double>(sum.steps.size());
      log << "step " << st.step << "/" << end << " | loss " << std::fixed << std::setprecision(4)
          << st.loss << " | lr " << std::scientific << std::setprecision(2) << st.lr
          << " | norm " << std::fixed << std::setprecision(3) << st.grad_norm << " | "
          << std::setprecision(0) << tps << " tok/s" << rates(tps) << " | ETA "
          << duration_str(per_step * static_cast<double>(end - st.step)) << std::defaultfloat
          << std::endl;  // flushed: a log piped to a file shows progress as it happens
      metrics.flush();
      window_seconds = 0;
      window_steps = 0;
    }
    if (st.step % cfg.eval_interval == 0 || st.step == cfg.max_iters) do_eval();
    if (cfg.save_checkpoint && cfg.checkpoint_interval > 0 &&
        st.step % cfg.checkpoint_interval == 0 && st.step != end) {
      if (bad_in_a_row == 0)
        save();
      else  // keep the checkpoint from before the trouble: the one a stopped run goes back to
        log << "checkpoint: not written at step " << st.step << " (its update was skipped); "
            << (good.step >= 0 ? good.path + " stays at step " + std::to_string(good.step)
                               : std::string("none written yet"))
            << std::endl;
    }
  }
  sum.stop_signal = trainer.step() < end ? stop : 0;
  if (cfg.save_checkpoint && (good.path != ckpt_path || good.step != trainer.step())) save();
  if (cfg.save_checkpoint) log << "checkpoint: " << ckpt_path << " (step " << trainer.step() << ")\n";
  if (!cfg.qat.empty() && !sum.stop_signal && writer) {  // QAT's product: the quantized model
    const WeightScheme scheme = weight_scheme_from_name(cfg.qat);
    const std::vector<QuantizedWeight> q =
        quantize_model_weights(quantizable_weights(trainer.model()), scheme);
    const std::string path = cfg.out_dir + "/quantized.bin";
    write_checkpoint(path, quantized_checkpoint(trainer.checkpoint(), trainer.model(), scheme, q,
                                                {{"qat_steps", trainer.step() - first}}));
    log << "quantized (--qat " << cfg.qat << "): " << path << '\n';
  }
  if (writer && !cfg.trace.empty()) {
    const auto [comm_s, overlapped_s] = trainer.write_trace(cfg.trace);
    log << "trace: " << cfg.trace << " (steps 2-4; tracks compute and comm";
    if (comm_s > 0)
      log << "; " << std::fixed << std::setprecision(1) << comm_s * 1e3 << " ms of all-reduce, "
          << overlapped_s * 1e3 << " ms of it during compute (" << std::setprecision(0)
          << 100 * overlapped_s / comm_s << "%)" << std::defaultfloat;
    log << ")\n";
  }
  finish(sum.stop_signal ? "interrupted" : "completed");
  if (sum.stop_signal) {
    log << "interrupted by " << run::signal_name(sum.stop_signal) << " after step " << trainer.step();
    if (cfg.save_checkpoint) {
      log << "; resume with:\n  " << shell_quote(options.program) << " --resume "
          << shell_quote(ckpt_path);
      if (cfg.stop_at > 0) log << " --stop-at " << cfg.stop_at;
    } else {
      log << "; no checkpoint written (--save-checkpoint false), so it cannot be resumed";
    }
    log << std::endl;
    return sum;
  }
  if (cfg.plot && writer) {
    try {
      plot_losses(cfg.out_dir, sum, log);
    } catch (const std::exception& e) {
      log << "warning: plot: " << e.what() << "; skipping loss.png\n";
    }
  }
  return sum;
}

}  // namespace gw
