// test_checkpoint.cpp — checkpoint files: exact round trip, atomic write, and refusal with a
// clear message of truncated, corrupt, foreign, other-version and mismatched files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gw/checkpoint.h"
#include "gw/error.h"
#include "gw/trainer.h"
#include "model_testing.h"

namespace gw {
namespace {

using gw::testing::TempDir;

Checkpoint sample() {
  Checkpoint c;
  c.meta["step"] = 7;
  c.tensors.emplace_back("a", Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6.5f}));
  c.tensors.emplace_back("b", Tensor::from_vector<int32_t>({2}, {-1, 9}));
  return c;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_refused(const std::string& path, const std::string& words) {
  try {
    read_checkpoint(path);
    ADD_FAILURE() << "a bad checkpoint was accepted; expected '" << words << "'";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, RoundTripIsExact) {
  TempDir dir;
  write_checkpoint(dir.file("c.bin"), sample());
  const Checkpoint back = read_checkpoint(dir.file("c.bin"));
  EXPECT_EQ(back.meta.at("step"), 7);
  EXPECT_EQ(back.tensor("a").to_doubles(), sample().tensor("a").to_doubles());
  EXPECT_EQ(back.tensor("b").dtype(), DType::i32);
  EXPECT_EQ(back.tensor("b").to_doubles(), (std::vector<double>{-1, 9}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.bin.tmp"))) << "temp file left behind";
}

TEST(Checkpoint, TruncatedFileIsRefused) {
  TempDir dir;
  write_checkpoint(dir.file("c.bin"), sample());
  const std::string bytes = read_all(dir.file("c.bin"));
  for (size_t keep : {size_t{10}, size_t{40}, bytes.size() - 1}) {
    gw::testing::write_text(dir.file("t.bin"), bytes.substr(0, keep));
    expect_refused(dir.file("t.bin"), "truncated");
  }
}

TEST(Checkpoint, FlippedByteIsRefusedAsCorrupt) {
  TempDir dir;
  write_checkpoint(dir.file("c.bin"), sample());
  std::string bytes = read_all(dir.file("c.bin"));
  bytes[bytes.size() - 3] ^= 0x10;  // inside tensor b's payload
  gw::testing::write_text(dir.file("x.bin"), bytes);
  expect_refused(dir.file("x.bin"), "corrupt");
}

TEST(Checkpoint, ForeignFileAndOtherVersionAreRefused) {
  TempDir dir;
  gw::testing::write_text(dir.file("f.bin"), std::string(100, 'z'));
  expect_refused(dir.file("f.bin"), "not a gradwork checkpoint");
  write_checkpoint(dir.file("c.bin"), sample());
  std::string bytes = read_all(dir.file("c.bin"));
  bytes[8] = 99;  // version field
  gw::testing::write_text(dir.file("v.bin"), bytes);
  expect_refused(dir.file("v.bin"), "version");
  expect_refused(dir.file("missing.bin"), "cannot open");
}

TEST(Checkpoint, UnwritableFolderIsAnIoError) {
  EXPECT_THROW(write_checkpoint("/nonexistent/folder/c.bin", sample()), IoError);
}

TEST(Checkpoint, MismatchedModelIsRefusedOnRestore) {
  TempDir dir;
  TrainConfig c = gw::testing::tiny_config(dir);
  Trainer small(c, TextDataset::from_file(c.data));
  const Checkpoint ckpt = small.checkpoint();
  TrainConfig wider = c;
  wider.n_embd = 48;
  Trainer other(wider, TextDataset::from_file(c.data));
  try {
    other.restore(ckpt);
    ADD_FAILURE() << "a checkpoint of another width was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("n_embd"), std::string::npos) << e.what();
  }
  // Same sizes, different text: the tokenizer differs.
  gw::testing::write_text(dir.file("other.txt"), synthetic_arithmetic(20000, 3));
  TrainConfig arith = c;
  arith.data = dir.file("other.txt");
  Trainer third(arith, TextDataset::from_file(arith.data));
  EXPECT_THROW(third.restore(ckpt), UsageError);
}

}  // namespace
}  // namespace gw
