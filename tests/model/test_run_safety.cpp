// test_run_safety.cpp — gw-train as a skeptical user treats it, run as a subprocess: killed
// with SIGKILL at chosen moments (GW_TEST_KILL_AT, reference/model/test_hooks.h) and at a
// random one, interrupted with SIGINT / SIGTERM, fed non-finite settings and repeated flags,
// resumed from another folder or on a changed data file, and given a full disk (/dev/full
// behind one output file at a time, and a small tmpfs where this machine lets the test mount
// one). After every interruption, the resumed run must end bit-identical to an uninterrupted
// one, with a metrics.jsonl that parses and logs the same steps.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gw/checkpoint.h"
#include "gw/train_config.h"
#include "model_testing.h"
#include "run_checks.h"
#include "subprocess.h"

namespace gw {
namespace {

using gw::testing::Child;
using gw::testing::expect_same_run;
using gw::testing::read_all;
using gw::testing::run_program;
using gw::testing::TempDir;

class RunSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = gw::testing::program_path("gw-train");
    if (!std::filesystem::exists(train_)) GTEST_SKIP() << "gw-train not built next to the test";
  }
  // 40 steps of the tiny model: checkpoint every 5, progress line every 5, eval every 10.
  TrainConfig config(const std::string& out) {
    TrainConfig c = gw::testing::tiny_config(dir_);
    c.max_iters = 40, c.checkpoint_interval = 5, c.log_interval = 5, c.eval_interval = 10;
    c.threads = 1;  // ctest -j runs tests side by side
    c.out_dir = dir_.file(out);
    return c;
  }
  // The config as a --config file (what a user would keep next to the run).
  std::string file_of(const TrainConfig& c, const std::string& name) {
    nlohmann::json j = c.to_json();
    j.erase("preset");  // a label, not a preset gw-train knows
    gw::testing::write_text(dir_.file(name), j.dump(1));
    return dir_.file(name);
  }
  gw::testing::Ran train(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                         const std::string& cwd = "") {
    std::vector<std::string> argv = {train_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, env, cwd);
  }
  // An uninterrupted run of `c` into DIR/ref.
  std::string reference(TrainConfig c) {
    c.out_dir = dir_.file("ref");
    const auto r = train({"--config", file_of(c, "ref.json")});
    EXPECT_EQ(r.status, 0) << r.output;
    return c.out_dir;
  }

  std::string train_;
  TempDir dir_;
};

TEST_F(RunSafety, KillNineAtChosenMomentsThenResumeIsBitIdentical) {
  const std::string ref = reference(config("ref"));
  // After an update, mid metrics write (a torn line), mid checkpoint write, just before the
  // checkpoint's rename, and both writes of the last step.
  for (const std::string point : {"step@13", "metrics@15", "checkpoint@20", "rename@25",
                                  "metrics@40", "checkpoint@40"}) {
    SCOPED_TRACE(point);
    const std::string name = point.substr(0, point.find('@')) + "_" + point.substr(point.find('@') + 1);
    const TrainConfig c = config(name);
    const auto killed = train({"--config", file_of(c, name + ".json")}, {"GW_TEST_KILL_AT=" + point});
    ASSERT_EQ(killed.status, 128 + SIGKILL) << killed.output;
    const auto resumed = train({"--resume", c.out_dir + "/ckpt.bin"});
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
    expect_same_run(ref, c.out_dir);
  }
}

TEST_F(RunSafety, KillNineFromOutsideAtAnyMomentThenResumeIsBitIdentical) {
  TrainConfig c = config("ref");
  c.max_iters = 60, c.checkpoint_interval = 4, c.log_interval = 1;
  const std::string ref = reference(c);
  c.out_dir = dir_.file("killed");
  Child run({train_, "--config", file_of(c, "killed.json")}, {"GW_TEST_STEP_DELAY_MS=3"});
  ASSERT_TRUE(run.wait_for("step 23/60")) << run.output();
  run.signal(SIGKILL);
  ASSERT_EQ(run.wait(), 128 + SIGKILL) << run.output();
  const auto resumed = train({"--resume", c.out_dir + "/ckpt.bin"});
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  expect_same_run(ref, c.out_dir);
}

TEST_F(RunSafety, SigintEndsAtAStepWithACheckpointAndTheResumeCommand) {
  TrainConfig c = config("ref");
  c.max_iters = 60, c.checkpoint_interval = 0;  // the default: only at the end
  const std::string ref = reference(c);
  c.out_dir = dir_.file("int");
  Child run({train_, "--config", file_of(c, "int.json")}, {"GW_TEST_STEP_DELAY_MS=20"});
  ASSERT_TRUE(run.wait_for("step 10/60")) << run.output();
  run.signal(SIGINT);
  ASSERT_EQ(run.wait(), 130) << run.output();
  const std::string out = run.output();
  EXPECT_NE(out.find("stopping after this step"), std::string::npos) << out;
  EXPECT_NE(out.find("interrupted by SIGINT after step "), std::string::npos) << out;
  const size_t at = out.find("resume with:\n  ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string command = out.substr(at + 15, out.find('\n', at + 15) - (at + 15));
  EXPECT_EQ(command, train_ + " --resume " + c.out_dir + "/ckpt.bin");
  const nlohmann::json summary = nlohmann::json::parse(read_all(c.out_dir + "/summary.json"));
  EXPECT_EQ(summary.at("status"), "interrupted");
  EXPECT_EQ(summary.at("signal"), "SIGINT");
  const int64_t stopped = summary.at("steps").get<int64_t>();
  EXPECT_GE(stopped, 10);
  EXPECT_LT(stopped, 60);
  EXPECT_EQ(read_checkpoint(c.out_dir + "/ckpt.bin").meta.at("step"), stopped);
  // The printed command, as printed, from another folder.
  std::filesystem::create_directories(dir_.file("elsewhere"));
  const auto resumed = run_program({"/bin/sh", "-c", command}, {}, dir_.file("elsewhere"));
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  expect_same_run(ref, c.out_dir);
}

TEST_F(RunSafety, SigtermEndsTheRunLikeSigintWithStatus143) {
  TrainConfig c = config("term");
  c.max_iters = 60, c.checkpoint_interval = 0;
  Child run({train_, "--config", file_of(c, "term.json")}, {"GW_TEST_STEP_DELAY_MS=20"});
  ASSERT_TRUE(run.wait_for("step 5/60")) << run.output();
  run.signal(SIGTERM);
  ASSERT_EQ(run.wait(), 143) << run.output();
  EXPECT_NE(run.output().find("interrupted by SIGTERM"), std::string::npos) << run.output();
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/ckpt.bin"));
}

TEST_F(RunSafety, ASecondSignalQuitsAtOnce) {
  TrainConfig c = config("twice");
  c.max_iters = 60, c.checkpoint_interval = 0;
  Child run({train_, "--config", file_of(c, "twice.json")}, {"GW_TEST_STEP_DELAY_MS=400"});
  ASSERT_TRUE(run.wait_for("step 5/60")) << run.output();
  run.signal(SIGINT);
  ASSERT_TRUE(run.wait_for("stopping after this step")) << run.output();
  run.signal(SIGINT);  // within the 400 ms the current step still takes
  ASSERT_EQ(run.wait(), 130) << run.output();
  EXPECT_NE(run.output().find("second signal: quitting now"), std::string::npos) << run.output();
  EXPECT_EQ(run.output().find("resume with"), std::string::npos) << run.output();
  EXPECT_FALSE(std::filesystem::exists(c.out_dir + "/ckpt.bin"));
}

TEST_F(RunSafety, GwSampleEndsItsStreamCleanlyOnSigint) {
  const std::string sample = gw::testing::program_path("gw-sample");
  if (!std::filesystem::exists(sample)) GTEST_SKIP() << "gw-sample not built next to the test";
  TrainConfig c = config("s");
  c.max_iters = 5;
  ASSERT_EQ(train({"--config", file_of(c, "s.json")}).status, 0);
  Child run({sample, "--checkpoint", c.out_dir + "/ckpt.bin", "--prompt", "the", "--tokens", "100000"});
  ASSERT_TRUE(run.wait_for("the")) << run.output();
  run.signal(SIGINT);
  EXPECT_EQ(run.wait(10), 130) << run.output();
  EXPECT_EQ(run.output().back(), '\n');
  EXPECT_EQ(run.output().find("error"), std::string::npos) << run.output();
}

// ---- values and flags ----

TEST_F(RunSafety, NonFiniteSettingsAreRefusedWithOneLineNamingThem) {
  const TrainConfig c = config("o");
  const std::vector<std::vector<std::string>> bad = {
      {"--lr", "inf"}, {"--lr", "1e308"}, {"--lr", "nan"}, {"--init-std", "inf"},
      {"--weight-decay", "inf"}, {"--min-lr", "-inf"}, {"--beta2", "nan"}, {"--grad-clip", "1e400"}};
  for (const auto& flag : bad) {
    const auto r = train({"--data", c.data, "--out-dir", c.out_dir, flag[0], flag[1]});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_EQ(r.output.rfind("gw-train: error: " + flag[0] + " " + flag[1] + ": must be a finite number in ", 0), 0u)
        << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  gw::testing::write_text(dir_.file("bad.json"), R"({"init_std": 1e308})");
  const auto r = train({"--config", dir_.file("bad.json"), "--data", c.data});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("config " + dir_.file("bad.json") + ": init_std = 1e+308: must be"),
            std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(c.out_dir)) << "refused before any output";

  const std::string sample = gw::testing::program_path("gw-sample");
  if (!std::filesystem::exists(sample)) return;
  const auto s = run_program({sample, "--temperature", "nan"});
  EXPECT_EQ(s.status, 2) << s.output;
  EXPECT_NE(s.output.find("--temperature nan: must be a finite number in [0, 100]"), std::string::npos)
      << s.output;
}

TEST_F(RunSafety, FlagErrorsReadAsPlainSentences) {
  struct Case {
    std::vector<std::string> args;
    std::string words;
  };
  const std::vector<Case> cases = {
      {{"--lr", "1e-3", "--lr", "2e-3"}, "--lr was given twice; give it once"},
      {{"--seed", "1", "--seed", "2", "--seed", "3"}, "--seed was given 3 times; give it once"},
      {{"--lr"}, "--lr needs a value"},
      {{"--n-layerz", "3"}, "unknown flag --n-layerz"},
      {{"stray"}, "unexpected argument stray"},
  };
  for (const Case& k : cases) {
    const auto r = train(k.args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("gw-train: error: " + k.words), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("required but received"), std::string::npos) << r.output;
  }
  // CLI::Range's wording, in the programs that still use it.
  const std::string corpus = gw::testing::program_path("gw-make_corpus");
  if (std::filesystem::exists(corpus)) {
    const auto r = run_program({corpus, "--bytes", "x"});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--bytes x: must be in [1, "), std::string::npos) << r.output;
  }
}

// ---- resume from anywhere ----

TEST_F(RunSafety, ResumeWorksFromAnotherFolder) {
  const std::string ref = reference(config("ref"));
  // The first part runs in folder a with relative paths; the resume runs in folder b.
  std::filesystem::create_directories(dir_.file("a"));
  std::filesystem::create_directories(dir_.file("b"));
  std::filesystem::copy_file(config("x").data, dir_.file("a/grammar.txt"));
  TrainConfig c = config("x");
  c.data = "grammar.txt", c.out_dir = "out", c.stop_at = 10;
  const auto first = train({"--config", file_of(c, "part.json")}, {}, dir_.file("a"));
  ASSERT_EQ(first.status, 0) << first.output;
  const Checkpoint ckpt = read_checkpoint(dir_.file("a/out/ckpt.bin"));
  EXPECT_EQ(ckpt.meta.at("data").at("path"), dir_.file("a/grammar.txt"));
  EXPECT_EQ(ckpt.meta.at("config").at("data"), dir_.file("a/grammar.txt"));
  const auto second = train({"--resume", "../a/out/ckpt.bin"}, {}, dir_.file("b"));
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("b/out"))) << "the resume wrote into the wrong folder";
  expect_same_run(ref, dir_.file("a/out"));
}

TEST_F(RunSafety, ChangedDataFileIsNamedOnResume) {
  TrainConfig c = config("chg");
  c.stop_at = 10;
  ASSERT_EQ(train({"--config", file_of(c, "chg.json")}).status, 0);
  { std::ofstream(c.data, std::ios::app) << "the cat sat.\n"; }
  const auto r = train({"--resume", c.out_dir + "/ckpt.bin"});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("data: " + c.data + " changed since checkpoint " + c.out_dir + "/ckpt.bin"),
            std::string::npos) << r.output;
}

TEST_F(RunSafety, CheckpointErrorsNameTheFile) {
  std::filesystem::create_directories(dir_.file("folder"));
  auto r = train({"--resume", dir_.file("folder")});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(dir_.file("folder") + " is a folder"), std::string::npos) << r.output;
  r = train({"--resume", dir_.file("none.bin")});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(dir_.file("none.bin")), std::string::npos) << r.output;
}

// ---- full disk ----

class FullDisk : public RunSafety {
 protected:
  void SetUp() override {
    RunSafety::SetUp();
    if (IsSkipped()) return;
    if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this machine";
  }
  // `name` inside c.out_dir becomes a link to /dev/full: every write to it fails with ENOSPC.
  void fill(const TrainConfig& c, const std::string& name) {
    std::filesystem::create_directories(c.out_dir);
    std::filesystem::create_symlink("/dev/full", c.out_dir + "/" + name);
  }
  // A run that must fail with one error line naming `words`.
  void expect_failure(const gw::testing::Ran& r, const std::string& words) {
    EXPECT_EQ(r.status, 1) << r.output;
    const size_t at = r.output.find("gw-train: error: ");
    ASSERT_NE(at, std::string::npos) << r.output;
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    EXPECT_NE(line.find(words), std::string::npos) << line;
    EXPECT_NE(line.find("No space left on device"), std::string::npos) << line;
  }
};

TEST_F(FullDisk, MetricsWriteFailureIsAnError) {
  const TrainConfig c = config("m");
  fill(c, "metrics.jsonl");
  expect_failure(train({"--config", file_of(c, "m.json")}), "metrics: cannot write " + c.out_dir + "/metrics.jsonl");
}

TEST_F(FullDisk, SummaryWriteFailureIsAnError) {
  const TrainConfig c = config("s");
  fill(c, "summary.json.tmp");
  expect_failure(train({"--config", file_of(c, "s.json")}), "summary: error while writing " + c.out_dir + "/summary.json.tmp");
  EXPECT_FALSE(std::filesystem::exists(c.out_dir + "/summary.json"));
  EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/ckpt.bin")) << "the checkpoint comes first";
}

TEST_F(FullDisk, CheckpointWriteFailureKeepsThePreviousCheckpoint) {
  const std::string ref = reference(config("ref"));
  TrainConfig c = config("c");
  c.stop_at = 5;
  ASSERT_EQ(train({"--config", file_of(c, "c.json")}).status, 0);
  const std::string before = read_all(c.out_dir + "/ckpt.bin");
  fill(c, "ckpt.bin.tmp");
  expect_failure(train({"--resume", c.out_dir + "/ckpt.bin"}),
                 "checkpoint: error while writing " + c.out_dir + "/ckpt.bin.tmp");
  EXPECT_EQ(read_all(c.out_dir + "/ckpt.bin"), before) << "the previous checkpoint changed";
  // Space again: the same resume completes the run as if nothing happened.
  const auto again = train({"--resume", c.out_dir + "/ckpt.bin"});
  ASSERT_EQ(again.status, 0) << again.output;
  expect_same_run(ref, c.out_dir);
}

TEST_F(FullDisk, PlotWriteFailureIsOnlyAWarning) {
  TrainConfig c = config("p");
  c.max_iters = 10, c.plot = true;
  fill(c, "loss_train.dat");
  const auto r = train({"--config", file_of(c, "p.json")});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: plot: cannot write " + c.out_dir + "/loss_train.dat"), std::string::npos)
      << r.output;
}

TEST_F(FullDisk, SmallTmpfsFillingUpDuringACheckpoint) {
  // A 500 KiB tmpfs holds one checkpoint of the tiny model (about 340 KB), not two: the
  // second one's temp file runs out of space. Mounting needs a private mount namespace
  // (root, or an unprivileged user namespace); without one, say so and skip.
  const std::string mnt = dir_.file("mnt");
  std::filesystem::create_directories(mnt);
  const std::string probe = "mount -t tmpfs -o size=16k tmpfs " + mnt + " && umount " + mnt;
  const std::string unshare = ::geteuid() == 0 ? "unshare -m" : "unshare -rm";
  if (run_program({"/bin/sh", "-c", unshare + " sh -c '" + probe + "' 2>&1"}).status != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << unshare << " failed); /dev/full covers full disks";
  TrainConfig c = config("unused");
  c.out_dir = mnt + "/out", c.max_iters = 20;
  const std::string script =
      "mount -t tmpfs -o size=500k tmpfs " + mnt + " || exit 99\n" + train_ + " --config " +
      file_of(c, "t.json") + "\necho \"status=$?\"\ncp " + c.out_dir + "/ckpt.bin " + dir_.file("kept.bin") +
      "\nls " + c.out_dir + "\n";
  gw::testing::write_text(dir_.file("t.sh"), script);
  const auto r = run_program({"/usr/bin/env", "sh", "-c", unshare + " sh " + dir_.file("t.sh")});
  ASSERT_NE(r.output.find("status=1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("checkpoint: error while writing " + c.out_dir + "/ckpt.bin.tmp: No space left on device (" +
                          c.out_dir + "/ckpt.bin still holds the previous one)"),
            std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("ckpt.bin.tmp\n"), std::string::npos) << "temp file left behind:\n" << r.output;
  EXPECT_EQ(read_checkpoint(dir_.file("kept.bin")).meta.at("step"), 5);
}

}  // namespace
}  // namespace gw
