// sweep_report.h — gw-sweep's outputs: isoflop.png (loss against N per budget, with each
// budget's fitted parabola), frontier.png (N_opt and D_opt against C, with the power laws and
// the final run) through gnuplot, as gw-train draws loss.png. A plot is a convenience: when
// gnuplot is missing or fails, the sweep says so and goes on (fit.json has every number).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "gw/error.h"
#include "gw/scaling.h"

namespace gw::sweep {

/// One point of the sweep as the plots need it.
struct PlotRun {
  double C = 0, N = 0, D = 0, loss = 0;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  GW_CHECK_AS(IoError, !f.fail(), "cannot write ", path);
}

inline bool run_gnuplot(const std::string& script_path, const std::string& png, std::ostream& log) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    log << "plot: gnuplot not found; skipping " << png << " (apt-get install gnuplot-nox)\n";
    return false;
  }
  const std::string cmd = "gnuplot '" + script_path + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    log << "warning: plot: gnuplot failed; skipping " << png << "\n";
    return false;
  }
  log << "plot: " << png << "\n";
  return true;
}

/// isoflop.png: one colour per budget, measured losses as points, the parabola as a line over
/// the budget's sizes, and its minimum as a cross.
inline void plot_isoflop(const std::string& dir, const std::vector<PlotRun>& runs,
                         const scaling::IsoFlopAnalysis* analysis, std::ostream& log) {
  std::ostringstream points, curves, minima, script;
  std::vector<double> budgets;
  for (const PlotRun& r : runs)
    if (budgets.empty() || budgets.back() != r.C) budgets.push_back(r.C);
  for (double C : budgets) {  // gnuplot "index k": blocks separated by two blank lines
    double lo = INFINITY, hi = 0;
    for (const PlotRun& r : runs)
      if (r.C == C) {
        points << r.N << ' ' << r.loss << '\n';
        lo = std::min(lo, r.N);
        hi = std::max(hi, r.N);
      }
    points << "\n\n";
    if (analysis)
      for (const scaling::IsoFlopBudget& b : analysis->budgets)
        if (b.C == C) {
          for (int k = 0; k <= 60; ++k) {
            const double x = std::log(lo) + (std::log(hi) - std::log(lo)) * k / 60.0;
            curves << std::exp(x) << ' ' << (b.parabola.a * x + b.parabola.b) * x + b.parabola.c << '\n';
          }
          minima << b.N_opt << ' ' << b.loss_min << '\n';
        }
    curves << "\n\n";
    minima << "\n\n";
  }
  write_text(dir + "/isoflop_points.dat", points.str());
  write_text(dir + "/isoflop_curves.dat", curves.str());
  write_text(dir + "/isoflop_minima.dat", minima.str());
  script << "set terminal pngcairo size 900,600\nset output '" << dir << "/isoflop.png'\n"
         << "set logscale x\nset format x '%.0e'\nset xlabel 'parameters N'\n"
         << "set ylabel 'final validation loss (nats/token)'\nset grid\nset key top right\n"
         << "set title 'IsoFLOP curves: loss against model size at fixed compute C = 6ND'\nplot ";
  for (size_t k = 0; k < budgets.size(); ++k) {
    std::ostringstream c;
    c << std::setprecision(3) << budgets[k];
    const int colour = static_cast<int>(k) + 1;
    script << (k ? ", \\\n     " : "") << "'" << dir << "/isoflop_points.dat' index " << k
           << " with points pt 7 ps 1.3 lc " << colour << " title 'C = " << c.str() << "'";
    if (analysis)
      script << ", '" << dir << "/isoflop_curves.dat' index " << k << " with lines lw 2 lc "
             << colour << " notitle, '" << dir << "/isoflop_minima.dat' index " << k
             << " with points pt 2 ps 2.5 lw 2 lc " << colour << " notitle";
  }
  script << "\n";
  write_text(dir + "/isoflop.gp", script.str());
  run_gnuplot(dir + "/isoflop.gp", dir + "/isoflop.png", log);
}

/// frontier.png: N_opt(C) and D_opt(C) in log-log, the parabolas' minima as points, the
/// fitted power laws as lines out to the final budget, and the final run's N and D.
inline void plot_frontier(const std::string& dir, const scaling::IsoFlopAnalysis& a,
                          const PlotRun& final_run, std::ostream& log) {
  std::ostringstream minima, lines, fin, script;
  for (const scaling::IsoFlopBudget& b : a.budgets) minima << b.C << ' ' << b.N_opt << ' ' << b.D_opt << '\n';
  const double lo = a.budgets.front().C / 2, hi = final_run.C * 2;
  for (int k = 0; k <= 40; ++k) {
    const double C = std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * k / 40.0);
    lines << C << ' ' << a.n_opt.coefficient * std::pow(C, a.n_opt.exponent) << ' '
          << a.d_opt.coefficient * std::pow(C, a.d_opt.exponent) << '\n';
  }
  fin << final_run.C << ' ' << final_run.N << ' ' << final_run.D << '\n';
  write_text(dir + "/frontier_minima.dat", minima.str());
  write_text(dir + "/frontier_lines.dat", lines.str());
  write_text(dir + "/frontier_final.dat", fin.str());
  std::ostringstream n_law, d_law;
  n_law << std::setprecision(3) << a.n_opt.coefficient << "·C^{" << a.n_opt.exponent << "}";
  d_law << std::setprecision(3) << a.d_opt.coefficient << "·C^{" << a.d_opt.exponent << "}";
  script << "set terminal pngcairo size 900,600\nset output '" << dir << "/frontier.png'\n"
         << "set logscale xy\nset format x '%.0e'\nset format y '%.0e'\n"
         << "set xlabel 'compute C (FLOPs, 6ND)'\nset ylabel 'N (parameters), D (tokens)'\n"
         << "set grid\nset key top left\nset title 'Compute-optimal frontier from the IsoFLOP minima'\n"
         << "plot '" << dir << "/frontier_minima.dat' using 1:2 with points pt 7 ps 1.5 lc 1 title 'N_{opt} (parabola minima)', \\\n"
         << "     '" << dir << "/frontier_lines.dat' using 1:2 with lines lw 2 lc 1 title 'N_{opt} = " << n_law.str() << "', \\\n"
         << "     '" << dir << "/frontier_minima.dat' using 1:3 with points pt 5 ps 1.5 lc 2 title 'D_{opt} (parabola minima)', \\\n"
         << "     '" << dir << "/frontier_lines.dat' using 1:3 with lines lw 2 lc 2 title 'D_{opt} = " << d_law.str() << "', \\\n"
         << "     '" << dir << "/frontier_final.dat' using 1:2 with points pt 6 ps 3 lw 2 lc 7 title 'final run N', \\\n"
         << "     '" << dir << "/frontier_final.dat' using 1:3 with points pt 4 ps 3 lw 2 lc 7 title 'final run D'\n";
  write_text(dir + "/frontier.gp", script.str());
  run_gnuplot(dir + "/frontier.gp", dir + "/frontier.png", log);
}

}  // namespace gw::sweep
