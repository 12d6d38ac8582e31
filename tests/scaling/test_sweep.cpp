// test_sweep.cpp — gw-sweep as a user runs it, on a tiny budget (about half a minute on 2
// cores): bad flags and files give one line and a non-zero exit; a sweep killed inside a run
// resumes that run from its checkpoint; a finished sweep run again trains nothing. Also the
// count of lab 10's designs against the trainer's own model. The real sweep on
// tinyshakespeare is tests/slow/test_sweep.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../model/model_testing.h"
#include "../model/subprocess.h"
#include "gw/data.h"
#include "gw/graph.h"
#include "gw/model.h"
#include "gw/scaling.h"

namespace gw {
namespace {

namespace fs = std::filesystem;
using gw::testing::run_program;

TEST(ParameterCount, EqualsTheBuiltModelsForSeveralShapes) {
  for (const ModelShape& s : {ModelShape{1, 1, 16, 64, 14, 32}, ModelShape{4, 4, 128, 352, 65, 64},
                              ModelShape{3, 6, 96, 256, 50257, 128}}) {
    Graph g;
    EXPECT_EQ(scaling::parameter_count(s), make_transformer(g, s, 1).parameter_count())
        << s.n_layer << " layers, h " << s.n_embd << ", i " << s.mlp_hidden << ", v " << s.vocab_size;
  }
}

// gw-sweep's one error line: "gw-sweep: error: ..." and nothing else.
void expect_one_error_line(const gw::testing::Ran& r, int status, const std::string& about) {
  EXPECT_EQ(r.status, status) << r.output;
  EXPECT_TRUE(std::regex_match(r.output, std::regex("gw-sweep: error: [^\n]*" + about + "[^\n]*\n")))
      << r.output;
}

TEST(Sweep, BadFlagsAndMissingFilesGiveOneLine) {
  const std::string sweep = gw::testing::program_path("gw-sweep");
  expect_one_error_line(run_program({sweep, "--budgets", "-5"}), 2, "--budgets");
  expect_one_error_line(run_program({sweep, "--budgets", "1e12,nan"}), 2, "--budgets");
  expect_one_error_line(run_program({sweep, "--sizes", "2"}), 2, "--sizes");
  expect_one_error_line(run_program({sweep, "--budgets", "1e12"}), 2, "at least 2");
  expect_one_error_line(run_program({sweep, "--data", "/nonexistent/corpus.txt"}), 1, "corpus.txt");
}

// The status line of every run ("[k/n] name: ... val loss ...", "[final] ...").
std::vector<std::string> run_lines(const std::string& output) {
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("[", 0) == 0) lines.push_back(line);
  return lines;
}

TEST(Sweep, AKilledRunResumesAndAFinishedSweepTrainsNothingAgain) {
  gw::testing::TempDir dir;
  gw::testing::write_text(dir.file("corpus.txt"), synthetic_arithmetic(200000, 3));
  const std::vector<std::string> argv = {
      gw::testing::program_path("gw-sweep"), "--data", dir.file("corpus.txt"), "--out-dir",
      dir.file("sweep"), "--budgets", "1.5e10,3e10", "--sizes", "3", "--final-multiple", "2",
      "--batch-size", "64", "--eval-iters", "2", "--min-layers", "1"};
  // A loaded machine runs this many times slower than an idle one: wait up to 15 minutes.
  auto run = [&](const std::vector<std::string>& env) {
    gw::testing::Child c(argv, env);
    const int status = c.wait(900);
    return gw::testing::Ran{status, c.output()};
  };
  // 1. Killed (SIGKILL) right after step 55 of the first run, which checkpoints at step 50.
  const gw::testing::Ran killed = run({"GW_TEST_KILL_AT=step@55"});
  ASSERT_EQ(killed.status, 128 + 9) << killed.output;
  std::string first;
  for (const auto& e : fs::directory_iterator(dir.file("sweep/runs"))) first = e.path().string();
  ASSERT_TRUE(fs::exists(first + "/ckpt.bin")) << "the first run checkpoints at step 50";
  EXPECT_FALSE(fs::exists(first + "/summary.json")) << "the first run did not finish";

  // 2. Run again: the killed run resumes from step 50, the rest are trained.
  const gw::testing::Ran resumed = run({});
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  std::ifstream log(first + "/train.log");
  const std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(log_text.find("resumed from"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("at step 50"), std::string::npos) << log_text;
  const std::vector<std::string> trained = run_lines(resumed.output);
  ASSERT_GE(trained.size(), 6u) << resumed.output;
  for (const std::string& line : trained) EXPECT_EQ(line.find("reused"), std::string::npos) << line;
  ASSERT_TRUE(fs::exists(dir.file("sweep/fit.json")));  // (the plots need gnuplot)
  std::ifstream fit_file(dir.file("sweep/fit.json"));
  const nlohmann::json fit = nlohmann::json::parse(fit_file);
  EXPECT_EQ(fit.at("runs").size() + 1, trained.size());
  EXPECT_TRUE(fit.at("prediction").at("measured_loss").is_number());
  EXPECT_TRUE(fit.at("law").at("alpha").is_number());

  // 3. Once more: every run is read back, none is trained (their summaries stay as they are).
  std::map<std::string, fs::file_time_type> stamps;
  for (const auto& e : fs::directory_iterator(dir.file("sweep/runs")))
    stamps[e.path().string()] = fs::last_write_time(e.path() / "summary.json");
  const gw::testing::Ran again = run({});
  ASSERT_EQ(again.status, 0) << again.output;
  const std::vector<std::string> reread = run_lines(again.output);
  EXPECT_EQ(reread.size(), trained.size());
  for (const std::string& line : reread) EXPECT_NE(line.find("reused"), std::string::npos) << line;
  for (const auto& [path, stamp] : stamps)
    EXPECT_EQ(fs::last_write_time(fs::path(path) / "summary.json"), stamp) << path;
}

}  // namespace
}  // namespace gw
