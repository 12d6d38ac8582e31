// train_loop.cpp — gw::run_training, the loop behind gw-train: data, output folder, resume,
// progress and eval lines, metrics (JSON lines), checkpoints, summary and the loss plot.
//
// Everything that can be wrong with the user's input (data, out_dir, resume file) is
// checked before the first step, so a bad flag costs a second, not a half-finished run.
#include <cblas.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "gw/error.h"
#include "gw/trainer.h"

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

// loss.png from the step losses and the evals, through gnuplot.
void plot_losses(const std::string& dir, const TrainSummary& s, std::ostream& log) {
  if (!have_gnuplot()) {
    log << "plot: gnuplot not found; skipping loss.png (apt-get install gnuplot-nox)\n";
    return;
  }
  {
    std::ofstream tr(dir + "/loss_train.dat"), va(dir + "/loss_val.dat");
    for (const StepStats& st : s.steps) tr << st.step << ' ' << st.loss << '\n';
    for (const EvalStats& e : s.evals) va << e.step << ' ' << e.train_loss << ' ' << e.val_loss << '\n';
  }
  std::ofstream script(dir + "/loss.gp");
  script << "set terminal pngcairo size 900,560\n"
         << "set output '" << dir << "/loss.png'\n"
         << "set xlabel 'step'\nset ylabel 'loss (nats/token)'\nset grid\nset key top right\n"
         << "plot '" << dir << "/loss_train.dat' using 1:2 with lines lw 1 lc rgb '#9ecae1' title 'train (batch)', \\\n"
         << "     '" << dir << "/loss_val.dat' using 1:2 with linespoints lw 2 title 'train (eval)', \\\n"
         << "     '" << dir << "/loss_val.dat' using 1:3 with linespoints lw 2 title 'val'\n";
  script.close();
  const std::string cmd = "gnuplot '" + dir + "/loss.gp' 2>/dev/null";
  if (std::system(cmd.c_str()) == 0)
    log << "plot: " << dir << "/loss.png\n";
  else  // pngcairo may be missing from gnuplot-nox: fall back to the plain png terminal
    log << "plot: gnuplot failed; skipping loss.png\n";
}

}  // namespace

TrainSummary run_training(const TrainConfig& config, std::ostream& log) {
  const auto start = Clock::now();
  config.validate();
  set_thread_count(config.threads);
  const std::string path = config.data.empty() ? require_default_corpus() : config.data;
  TextDataset data = TextDataset::from_file(path);
  prepare_out_dir(config.out_dir);
  const std::string ckpt_path = config.out_dir + "/ckpt.bin";
  Checkpoint resume_from;
  if (!config.resume.empty()) resume_from = read_checkpoint(config.resume);

  Trainer trainer(config, std::move(data));
  if (!config.resume.empty()) {
    trainer.restore(resume_from);
    log << "resumed from " << config.resume << " at step " << trainer.step() << '\n';
  }
  const int64_t end = config.stop_at > 0 ? std::min(config.stop_at, config.max_iters) : config.max_iters;
  TrainSummary sum;
  sum.parameters = trainer.model().parameter_count();
  sum.flops_per_token = trainer.flops_per_token();
  const ModelShape& shape = trainer.model().shape;
  log << "gw-train: " << config.preset << " | data " << trainer.data().source << " ("
      << trainer.data().train.size() << " train / " << trainer.data().val.size()
      << " val tokens, vocab " << shape.vocab_size << ")\n"
      << "model: " << shape.n_layer << " layers, " << shape.n_head << " heads, h " << shape.n_embd
      << ", i " << shape.mlp_hidden << ", s " << shape.block_size << " | " << sum.parameters
      << " parameters | " << std::setprecision(4) << sum.flops_per_token / 1e6
      << " MFLOP/token (train step, graph count) | " << trainer.tokens_per_step()
      << " tokens/step | " << omp_get_max_threads() << " threads | device "
      << trainer.model().params.front().node->device.str() << "\n";

  std::ofstream metrics(config.out_dir + "/metrics.jsonl",
                        config.resume.empty() ? std::ios::trunc : std::ios::app);
  GW_CHECK_AS(IoError, metrics.good(), "cannot write ", config.out_dir, "/metrics.jsonl");
  auto do_eval = [&] {
    const EvalStats e = trainer.evaluate();
    sum.evals.push_back(e);
    log << "eval step " << e.step << ": train " << std::fixed << std::setprecision(4) << e.train_loss
        << " | val " << e.val_loss << " | best val " << trainer.best_val_loss << std::defaultfloat
        << " | " << duration_str(seconds_since(start)) << " elapsed" << std::endl;
    metrics << nlohmann::json{{"type", "eval"}, {"step", e.step}, {"train_loss", e.train_loss},
                              {"val_loss", e.val_loss}, {"elapsed_s", seconds_since(start)}}
                   .dump()
            << '\n';
    metrics.flush();
  };

  const int64_t first = trainer.step();
  double window_seconds = 0;
  int64_t window_steps = 0;
  bool evaluated_last = false;
  while (trainer.step() < end) {
    if (trainer.step() % config.eval_interval == 0 && !(first > 0 && trainer.step() == first)) do_eval();
    const auto t0 = Clock::now();
    const StepStats st = trainer.train_step();
    const double dt = seconds_since(t0);
    sum.train_seconds += dt;
    window_seconds += dt;
    ++window_steps;
    sum.steps.push_back(st);
    evaluated_last = false;
    metrics << nlohmann::json{{"type", "step"}, {"step", st.step}, {"loss", st.loss},
                              {"lr", st.lr}, {"grad_norm", st.grad_norm}, {"seconds", dt}}
                   .dump()
            << '\n';
    if (st.step % config.log_interval == 0 || st.step == end) {
      const double tps = static_cast<double>(window_steps * trainer.tokens_per_step()) / window_seconds;
      const double per_step = sum.train_seconds / static_cast<double>(sum.steps.size());
      log << "step " << st.step << "/" << end << " | loss " << std::fixed << std::setprecision(4)
          << st.loss << " | lr " << std::scientific << std::setprecision(2) << st.lr
          << " | norm " << std::fixed << std::setprecision(3) << st.grad_norm << " | "
          << std::setprecision(0) << tps << " tok/s | " << std::setprecision(1)
          << tps * trainer.flops_per_token() / 1e9 << " GFLOP/s | ETA "
          << duration_str(per_step * static_cast<double>(end - st.step)) << std::defaultfloat
          << std::endl;  // flushed: a log piped to a file shows progress as it happens
      window_seconds = 0;
      window_steps = 0;
    }
    if (st.step % config.eval_interval == 0 && st.step == end) {
      do_eval();
      evaluated_last = true;
    }
    if (config.save_checkpoint && config.checkpoint_interval > 0 &&
        st.step % config.checkpoint_interval == 0 && st.step != end)
      trainer.save(ckpt_path);
  }
  if (!evaluated_last && trainer.step() == end && end == config.max_iters) do_eval();
  if (config.save_checkpoint) {
    trainer.save(ckpt_path);
    log << "checkpoint: " << ckpt_path << " (step " << trainer.step() << ")\n";
  }

  sum.best_val_loss = trainer.best_val_loss;
  sum.wall_seconds = seconds_since(start);
  const int64_t tokens = static_cast<int64_t>(sum.steps.size()) * trainer.tokens_per_step();
  sum.tokens_per_second = sum.train_seconds > 0 ? tokens / sum.train_seconds : 0;
  const nlohmann::json summary = {
      {"best_val_loss", std::isfinite(sum.best_val_loss) ? nlohmann::json(sum.best_val_loss) : nlohmann::json(nullptr)},
      {"final_val_loss", sum.evals.empty() ? nlohmann::json(nullptr) : nlohmann::json(sum.evals.back().val_loss)},
      {"steps", trainer.step()}, {"wall_seconds", sum.wall_seconds},
      {"train_seconds", sum.train_seconds}, {"tokens_per_second", sum.tokens_per_second},
      {"parameters", sum.parameters}, {"flops_per_token", sum.flops_per_token},
      {"gflops_per_second", sum.tokens_per_second * sum.flops_per_token / 1e9},
      {"config", config.to_json()}};
  std::ofstream(config.out_dir + "/summary.json") << summary.dump(2) << '\n';
  log << "summary: best val loss " << std::fixed << std::setprecision(4) << sum.best_val_loss
      << " | wall " << duration_str(sum.wall_seconds) << " (" << std::setprecision(1)
      << sum.wall_seconds << " s) | " << std::setprecision(0) << sum.tokens_per_second
      << " tok/s | " << std::setprecision(1) << sum.tokens_per_second * sum.flops_per_token / 1e9
      << " GFLOP/s | " << sum.parameters << " parameters | " << std::setprecision(2)
      << sum.flops_per_token / 1e6 << " MFLOP/token" << std::defaultfloat << '\n';
  if (config.plot) plot_losses(config.out_dir, sum, log);
  return sum;
}

}  // namespace gw
