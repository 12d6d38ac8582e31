// test_cli.cpp — gw-train and gw-sample as a user runs them: bad input gives one clear line
// on stderr and exit status 2 (usage) or 1 (other errors), never a crash. The programs sit
// next to this test in <build>/bin; the tests skip with a message when they are not built.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "model_testing.h"

namespace gw {
namespace {

std::string program(const std::string& name) {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  return (std::filesystem::path(std::string(buf.data(), static_cast<size_t>(n))).parent_path() / name)
      .string();
}

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr
};

Result run(const std::string& command) {
  Result r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 512> chunk{};
  size_t got;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), p)) > 0) r.output.append(chunk.data(), got);
  const int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    train_ = program("gw-train");
    if (!std::filesystem::exists(train_)) GTEST_SKIP() << "gw-train not built next to the test";
  }
  // One line of error and the expected status.
  void expect_usage(const std::string& args, int status, const std::string& words) {
    const Result r = run(train_ + " " + args);
    EXPECT_EQ(r.status, status) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(words), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(r.output.find("terminate"), std::string::npos) << r.output;
  }
  std::string train_;
  gw::testing::TempDir dir_;
};

TEST_F(Cli, UnknownFlagExitsWith2) { expect_usage("--n-layerz 3", 2, "error"); }

TEST_F(Cli, UnknownPresetExitsWith2) { expect_usage("--preset gpt5", 2, "unknown preset"); }

TEST_F(Cli, BadValueExitsWith2) {
  expect_usage("--n-layer four", 2, "--n-layer");
  expect_usage("--batch-size 0", 2, "batch_size");
  expect_usage("--block-size -4", 2, "block_size");
}

TEST_F(Cli, MissingDataExitsWith1) {
  expect_usage("--data " + dir_.file("none.txt") + " --out-dir " + dir_.file("o"), 1, "none.txt");
}

TEST_F(Cli, BlockLongerThanDataExitsWith2) {
  gw::testing::write_text(dir_.file("s.txt"), "tiny text\n");
  expect_usage("--data " + dir_.file("s.txt") + " --out-dir " + dir_.file("o"), 2,
               "longer than the data");
}

TEST_F(Cli, HelpListsEveryFlag) {
  const Result r = run(train_ + " --help");
  EXPECT_EQ(r.status, 0);
  for (const ConfigField& f : config_fields())
    EXPECT_NE(r.output.find(f.flag), std::string::npos) << f.flag << " missing from --help";
}

TEST_F(Cli, TrainThenSampleFromTheCheckpoint) {
  const std::string sample = program("gw-sample");
  if (!std::filesystem::exists(sample)) GTEST_SKIP() << "gw-sample not built next to the test";
  const TrainConfig c = gw::testing::tiny_config(dir_);
  const Result t = run(train_ + " --data " + c.data + " --out-dir " + dir_.file("o") +
                       " --n-layer 1 --n-embd 32 --n-head 2 --block-size 16 --batch-size 4"
                       " --max-iters 5 --eval-iters 2 --plot false");
  ASSERT_EQ(t.status, 0) << t.output;
  const Result s = run(sample + " --checkpoint " + dir_.file("o/ckpt.bin") +
                       " --prompt the --tokens 20 --seed 4");
  EXPECT_EQ(s.status, 0) << s.output;
  EXPECT_EQ(s.output.rfind("the", 0), 0u) << s.output;
  const Result again = run(sample + " --checkpoint " + dir_.file("o/ckpt.bin") +
                           " --prompt the --tokens 20 --seed 4");
  EXPECT_EQ(again.output, s.output) << "the same seed must give the same text";
  const Result bad = run(sample + " --checkpoint " + dir_.file("none.bin"));
  EXPECT_EQ(bad.status, 1) << bad.output;
}

TEST_F(Cli, BadRanksOrCommExitWith2) {
  expect_usage("--ranks 0", 2, "--ranks 0");
  expect_usage("--ranks 65", 2, "--ranks 65");
  expect_usage("--comm carrier-pigeon", 2, "--comm carrier-pigeon");
}

TEST_F(Cli, BadPrecisionExitsWith2) {
  expect_usage("--precision fp8", 2, "--precision fp8: must be fp32, bf16 or fp16");
  expect_usage("--precision bf16 --qat int8-channel", 2, "do not combine");
  expect_usage("--precision fp16 --ranks 2", 2, "do not combine");
}

TEST_F(Cli, TwoThreadRanksTrainAndResumeOnOneRankWithTheSameGlobalBatch) {
  const TrainConfig c = gw::testing::tiny_config(dir_);
  const std::string common = " --data " + c.data + " --n-layer 1 --n-embd 32 --n-head 2" +
                             " --block-size 16 --eval-iters 2 --plot false";
  const Result two = run(train_ + common + " --out-dir " + dir_.file("o") +
                         " --ranks 2 --batch-size 2 --max-iters 6 --stop-at 3");
  ASSERT_EQ(two.status, 0) << two.output;
  const size_t first = two.output.find("data parallel: 2 ranks (threads)");
  EXPECT_NE(first, std::string::npos) << two.output;
  EXPECT_EQ(two.output.find("data parallel", first + 1), std::string::npos)
      << "rank 0 alone prints:\n" << two.output;
  ASSERT_TRUE(std::filesystem::exists(dir_.file("o/ckpt.bin")));
  const Result one = run(train_ + " --resume " + dir_.file("o/ckpt.bin") +
                         " --ranks 1 --batch-size 4");  // the same 4 rows per step
  EXPECT_EQ(one.status, 0) << one.output;
  EXPECT_NE(one.output.find("resumed from"), std::string::npos) << one.output;
}

}  // namespace
}  // namespace gw
