// test_sweep.cpp — the real IsoFLOP sweep behind the `slow` label (about 15 minutes on 2
// cores): `ctest --test-dir build/cpu -R Sweep.TheDefault`. gw-sweep with its default
// budgets on tinyshakespeare (read in place from ../shared/datasets; skipped, saying so,
// where it is absent) must fit a law and an IsoFLOP frontier, and its fitted law must predict
// the loss of the compute-optimal model at 4× the largest budget within 0.05 nats.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../model/model_testing.h"
#include "../model/subprocess.h"
#include "gw/data.h"

namespace gw {
namespace {

TEST(Sweep, TheDefaultSweepPredictsTheFinalRunsLossWithin005Nats) {
  const std::string data = tinyshakespeare_path();
  if (data.empty()) GTEST_SKIP() << "tinyshakespeare.txt not found next to the source tree (../shared/datasets)";
  gw::testing::TempDir dir;
  gw::testing::Child sweep({gw::testing::program_path("gw-sweep"), "--data", data, "--out-dir",
                            dir.file("sweep")});
  ASSERT_EQ(sweep.wait(45 * 60), 0) << sweep.output();
  std::ifstream in(dir.file("sweep/fit.json"));
  const nlohmann::json fit = nlohmann::json::parse(in);
  EXPECT_EQ(fit.at("runs").size(), 12u) << "3 budgets × 4 sizes";
  ASSERT_TRUE(fit.contains("isoflop")) << "every budget's sizes bracket its optimum\n" << sweep.output();
  const double exponent = fit.at("isoflop").at("N_opt").at("exponent").get<double>();
  EXPECT_GT(exponent, 0.1) << "N_opt grows with C";
  EXPECT_LT(exponent, 0.9) << "D_opt grows with C too";
  const double error = fit.at("prediction").at("error").get<double>();
  EXPECT_LE(std::abs(error), 0.05) << sweep.output();
}

}  // namespace
}  // namespace gw
