// sweep.cpp — program gw-sweep: a real IsoFLOP sweep with the reference trainer, the scaling
// law fitted to it (lab 10), and a check of the law's prediction by one more training run.
//
//   1. For each budget C (FLOPs, C = 6ND), --sizes model sizes around the guess D = 30·N
//      (--tokens-per-param), spaced by --spread; each shape from design_architecture, each trained on
//      D = C/(6N) tokens with its own cosine schedule, to its final validation loss.
//   2. The Huber fit of L(N, D) = E + A/N^α + B/D^β to all runs (fit_law), and the IsoFLOP
//      analysis (analyze_isoflop): a parabola per budget, N_opt(C) and D_opt(C).
//   3. The compute-optimal model for --final-multiple × the largest budget (its N from the
//      IsoFLOP power law, D = C/(6N)), the loss the fitted law predicts for it, then that
//      model trained, and the two losses compared.
// Outputs in --out-dir: runs/<run>/ (the trainer's files), fit.json, isoflop.png,
// frontier.png. Every run resumes from its checkpoint when a sweep was stopped inside it
// (Ctrl-C checkpoints and exits 130), and a finished run is read back, never trained again:
// run the same command again to continue. Exit status: 0 done, 2 bad flags, 1 other errors.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app_main.h"
#include "gw/checkpoint.h"
#include "gw/data.h"
#include "gw/error.h"
#include "gw/scaling.h"
#include "sweep_report.h"
#include "sweep_runs.h"

namespace {

using gw::scaling::Law;

nlohmann::json law_json(const Law& l) {
  return {{"E", l.E}, {"A", l.A}, {"B", l.B}, {"alpha", l.alpha}, {"beta", l.beta}};
}

nlohmann::json run_json(const gw::sweep::PlannedRun& r, const gw::sweep::RunResult& res) {
  return {{"name", r.name}, {"C", r.C}, {"N", r.N}, {"D", r.D}, {"steps", r.steps},
          {"n_layer", r.shape.n_layer}, {"n_head", r.shape.n_head}, {"n_embd", r.shape.n_embd},
          {"mlp_hidden", r.shape.mlp_hidden}, {"val_loss", res.loss}, {"seconds", res.seconds},
          {"reused", res.reused}};
}

std::string sci(double v, int digits = 3) {
  std::ostringstream os;
  os << std::setprecision(digits) << v;
  return os.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gw-sweep: an IsoFLOP sweep with the reference trainer, the scaling law fitted to it, and "
      "a training run that checks the law's prediction at a larger budget.\nExample: gw-sweep "
      "--data ../shared/datasets/tinyshakespeare.txt --out-dir sweep\nRun the same command "
      "again to resume a stopped sweep: finished runs are read back, never trained again."};
  std::string data, out_dir = "sweep";
  std::vector<double> budgets = {2e11, 4e11, 8e11};
  int64_t sizes = 4;
  double spread = 2.0, tokens_per_param = 30, final_multiple = 4;
  bool no_final = false;
  gw::sweep::RunSettings settings;
  settings.shapes.head_dim = 16;
  settings.shapes.min_aspect = 8;
  settings.shapes.max_aspect = 64;
  settings.shapes.min_layers = 2;  // one block cannot compose attention heads: a weaker family
  settings.shapes.max_layers = 12;
  settings.shapes.tolerance = 1;  // tiny shapes are coarse: take the closest; runs use their real N
  app.add_option("--data", data, "text file to train on (default: the default corpus)");
  app.add_option("--out-dir", out_dir, "folder of the runs, fit.json and the plots [sweep]");
  app.add_option("--budgets", budgets, "compute budgets in FLOPs (6ND), comma-separated [2e11,4e11,8e11]")
      ->delimiter(',')
      ->check(gw::app::finite_in(1e6, 1e30));
  app.add_option("--sizes", sizes, "model sizes per budget [4]")->check(gw::app::integer_in(3, 9));
  app.add_option("--spread", spread, "ratio between neighbouring sizes of a budget [2]")
      ->check(gw::app::finite_in(1.1, 10));
  app.add_option("--tokens-per-param", tokens_per_param,
                 "centre of each budget's sizes: N with D = this·N [30]")
      ->check(gw::app::finite_in(0.01, 1e4));
  app.add_option("--final-multiple", final_multiple, "the checked budget, × the largest [4]")
      ->check(gw::app::finite_in(1, 1000));
  app.add_flag("--no-final", no_final, "fit and plot, but do not train the predicted model");
  app.add_option("--lr", settings.lr, "peak learning rate of every run [2e-3]")
      ->check(gw::app::finite_in(1e-6, 1));
  app.add_option("--batch-size", settings.batch_size, "rows per step [16]")->check(gw::app::integer_in(1, 4096));
  app.add_option("--block-size", settings.block_size, "context length [64]")->check(gw::app::integer_in(8, 8192));
  app.add_option("--eval-iters", settings.eval_iters, "batches per split in the final evaluation [40]")
      ->check(gw::app::integer_in(1, 10000));
  app.add_option("--min-layers", settings.shapes.min_layers, "fewest decoder blocks of a model [2]")
      ->check(gw::app::integer_in(1, 12));
  app.add_option("--threads", settings.threads, "threads per run; 0 = every core [1]")
      ->check(gw::app::integer_in(0, 1024));
  return gw::app::run(app, "gw-sweep", argc, argv, [&] {
    const auto start = std::chrono::steady_clock::now();
    std::sort(budgets.begin(), budgets.end());
    budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
    GW_CHECK_AS(gw::UsageError, budgets.size() >= 2, "--budgets: give at least 2 different budgets");
    settings.data = std::filesystem::weakly_canonical(
        std::filesystem::absolute(data.empty() ? gw::require_default_corpus() : data)).string();
    const gw::TextDataset corpus = gw::TextDataset::from_file(settings.data);
    settings.shapes.vocab_size = corpus.tokenizer.vocab_size();
    settings.shapes.block_size = settings.block_size;
    std::filesystem::create_directories(out_dir);
    out_dir = std::filesystem::absolute(out_dir).lexically_normal().string();
    settings.runs_dir = out_dir + "/runs";

    // 1. The sweep.
    std::vector<gw::sweep::PlannedRun> plan;
    for (double C : budgets) {
      const double centre = std::sqrt(C / (6 * tokens_per_param));
      for (int64_t k = 0; k < sizes; ++k) {
        const double target = centre * std::pow(spread, static_cast<double>(k) - (sizes - 1) / 2.0);
        gw::sweep::PlannedRun r = gw::sweep::plan_run(C, target, settings);
        const bool duplicate = std::any_of(plan.begin(), plan.end(),
                                           [&](const auto& p) { return p.name == r.name; });
        if (!duplicate) plan.push_back(r);
      }
    }
    std::cout << "gw-sweep: " << plan.size() << " runs over " << budgets.size() << " budgets on "
              << settings.data << " (vocab " << settings.shapes.vocab_size << ", "
              << corpus.train.size() << " train tokens) -> " << out_dir << std::endl;
    std::vector<gw::sweep::PlotRun> points;
    std::vector<gw::scaling::Observation> observations;
    std::vector<gw::scaling::IsoFlopRun> isoflop_runs;
    nlohmann::json runs_json = nlohmann::json::array();
    double run_seconds = 0;
    for (size_t k = 0; k < plan.size(); ++k) {
      const gw::sweep::PlannedRun& r = plan[k];
      std::cout << "[" << k + 1 << "/" << plan.size() << "] " << r.name << ": N " << sci(r.N)
                << ", D " << sci(r.D) << " (" << r.steps << " steps) ... " << std::flush;
      const gw::sweep::RunResult res = gw::sweep::train_or_reuse(r, settings);
      if (res.stop_signal) {
        std::cout << "interrupted; run the same command again to resume" << std::endl;
        return 128 + res.stop_signal;
      }
      run_seconds += res.seconds;
      std::cout << "val loss " << std::fixed << std::setprecision(4) << res.loss << std::defaultfloat
                << (res.reused ? " (finished earlier, reused)" : " (" + sci(res.seconds) + " s)")
                << std::endl;
      points.push_back({r.C, r.N, r.D, res.loss});
      observations.push_back({r.N, r.D, res.loss});
      isoflop_runs.push_back({r.C, r.N, res.loss});
      runs_json.push_back(run_json(r, res));
    }

    // 2. The fits.
    const gw::scaling::FitResult fit = gw::scaling::fit_law(observations);
    const Law& law = fit.law;
    std::cout << "fitted law (Huber, " << fit.starts << " starts): L = " << sci(law.E, 4) << " + "
              << sci(law.A, 4) << "/N^" << sci(law.alpha, 4) << " + " << sci(law.B, 4) << "/D^"
              << sci(law.beta, 4) << std::endl;
    nlohmann::json report = {{"data", settings.data}, {"runs", runs_json},
                             {"law", law_json(law)}, {"law_objective", fit.objective}};
    gw::scaling::IsoFlopAnalysis analysis;
    bool have_isoflop = true;
    try {
      analysis = gw::scaling::analyze_isoflop(isoflop_runs);
    } catch (const gw::Error& e) {  // noisy losses: say so, predict from the law alone
      have_isoflop = false;
      std::cout << "warning: IsoFLOP analysis: " << e.what() << std::endl;
    }
    if (have_isoflop) {
      nlohmann::json per_budget = nlohmann::json::array();
      for (const auto& b : analysis.budgets)
        per_budget.push_back({{"C", b.C}, {"parabola", {b.parabola.a, b.parabola.b, b.parabola.c}},
                              {"N_opt", b.N_opt}, {"D_opt", b.D_opt}, {"loss_min", b.loss_min}});
      report["isoflop"] = {
          {"budgets", per_budget},
          {"N_opt", {{"coefficient", analysis.n_opt.coefficient}, {"exponent", analysis.n_opt.exponent}}},
          {"D_opt", {{"coefficient", analysis.d_opt.coefficient}, {"exponent", analysis.d_opt.exponent}}}};
      std::cout << "IsoFLOP: N_opt = " << sci(analysis.n_opt.coefficient) << "·C^"
                << sci(analysis.n_opt.exponent) << ", D_opt = " << sci(analysis.d_opt.coefficient)
                << "·C^" << sci(analysis.d_opt.exponent) << std::endl;
    }
    gw::sweep::plot_isoflop(out_dir, points, have_isoflop ? &analysis : nullptr, std::cout);

    // 3. The prediction at a larger budget, and the run that checks it.
    const double final_C = final_multiple * budgets.back();
    gw::scaling::Allocation by_law{NAN, NAN, NAN};
    try {  // a fit of a few noisy runs may have no optimum (an exponent ≤ 0)
      by_law = gw::scaling::compute_optimal(law, final_C);
    } catch (const gw::Error& e) {
      std::cout << "warning: the fitted law has no compute-optimal point: " << e.what() << std::endl;
    }
    GW_CHECK(have_isoflop || std::isfinite(by_law.N), "neither the IsoFLOP analysis nor the fitted "
             "law gives an optimal size; sweep other sizes (--tokens-per-param, --spread, --budgets)");
    const double target_N = have_isoflop
                                ? analysis.n_opt.coefficient * std::pow(final_C, analysis.n_opt.exponent)
                                : by_law.N;
    gw::sweep::PlannedRun fin = gw::sweep::plan_run(final_C, target_N, settings);
    fin.name = "final-" + fin.name;
    const double predicted = gw::scaling::law_loss(law, fin.N, fin.D);
    std::cout << "prediction at C = " << sci(final_C) << ": N_opt " << sci(target_N)
              << (have_isoflop ? " (IsoFLOP power law)" : " (fitted law)") << ", the law's own N_opt "
              << sci(by_law.N) << "; model " << fin.shape.n_layer << " layers, h " << fin.shape.n_embd
              << ", N " << sci(fin.N) << ", D " << sci(fin.D) << ": predicted loss "
              << std::fixed << std::setprecision(4) << predicted << std::defaultfloat << std::endl;
    nlohmann::json prediction = {{"C", final_C}, {"target_N", target_N},
                                 {"law_optimum", std::isfinite(by_law.N)
                                                     ? nlohmann::json{{"N", by_law.N}, {"D", by_law.D}, {"loss", by_law.loss}}
                                                     : nlohmann::json()},
                                 {"predicted_loss", predicted}};
    gw::sweep::PlotRun final_point{final_C, fin.N, fin.D, predicted};
    if (!no_final) {
      std::cout << "[final] " << fin.name << " (" << fin.steps << " steps) ... " << std::flush;
      const gw::sweep::RunResult res = gw::sweep::train_or_reuse(fin, settings);
      if (res.stop_signal) {
        std::cout << "interrupted; run the same command again to resume" << std::endl;
        return 128 + res.stop_signal;
      }
      run_seconds += res.seconds;
      const double error = res.loss - predicted;
      std::cout << "measured " << std::fixed << std::setprecision(4) << res.loss << " against predicted "
                << predicted << ": error " << std::showpos << error << std::noshowpos << " nats ("
                << (std::abs(error) <= 0.05 ? "within" : "outside") << " the 0.05 goal)"
                << std::defaultfloat << (res.reused ? " (finished earlier, reused)" : "") << std::endl;
      prediction["run"] = run_json(fin, res);
      prediction["measured_loss"] = res.loss;
      prediction["error"] = error;
      final_point.loss = res.loss;
    }
    report["prediction"] = prediction;
    if (have_isoflop) gw::sweep::plot_frontier(out_dir, analysis, final_point, std::cout);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report["wall_seconds"] = wall;
    report["run_seconds"] = run_seconds;
    gw::write_file_atomically(out_dir + "/fit.json", report.dump(2) + "\n", "fit");
    std::cout << "fit: " << out_dir << "/fit.json | this invocation " << sci(wall) << " s, all runs "
              << sci(run_seconds) << " s of training" << std::endl;
    return 0;
  });
}
