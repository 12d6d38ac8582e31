// dataset_test.cpp — loading text files (and their errors), the 90/10 split, the default
// corpus (prepare_fortunes.sh) and tinyshakespeare when present.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "gw/data.h"
#include "gw/error.h"

namespace gw {
namespace {

// A fresh temporary folder for one test.
std::string temp_dir() {
  char tmpl[] = "/tmp/gw_test_data_XXXXXX";
  const char* d = mkdtemp(tmpl);
  if (d == nullptr) throw IoError("mkdtemp failed");
  return d;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

TEST(Dataset, SplitsFirstNinetyPercentToTrain) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>('a' + i % 26);
  const TextDataset d = TextDataset::from_text(text);
  EXPECT_EQ(d.train.size(), 900u);
  EXPECT_EQ(d.val.size(), 100u);
  EXPECT_EQ(d.tokenizer.decode(d.train), text.substr(0, 900)) << "train must be the prefix";
  EXPECT_EQ(d.tokenizer.decode(d.val), text.substr(900));
}

TEST(Dataset, LoadsFileAndKeepsMultiByteCharacters) {
  const std::string dir = temp_dir(), path = dir + "/c.txt";
  write_file(path, "d\xC3\xA9j\xC3\xA0 vu, d\xC3\xA9j\xC3\xA0 vu\n");
  const TextDataset d = TextDataset::from_file(path);
  EXPECT_EQ(d.train.size() + d.val.size(), 17u) << "17 characters in 21 bytes";
  EXPECT_EQ(d.source, path);
}

TEST(Dataset, MissingFileIsIoErrorNamingPath) {
  try {
    TextDataset::from_file("/nonexistent/corpus.txt");
    FAIL() << "missing file should throw";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/corpus.txt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--data"), std::string::npos) << e.what();
  }
}

TEST(Dataset, EmptyFileIsIoError) {
  const std::string path = temp_dir() + "/empty.txt";
  write_file(path, "");
  try {
    TextDataset::from_file(path);
    FAIL() << "empty file should throw";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
}

TEST(Dataset, UnreadableFileIsIoError) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: permissions do not stop reads";
  const std::string path = temp_dir() + "/secret.txt";
  write_file(path, "text");
  chmod(path.c_str(), 0);
  EXPECT_THROW(TextDataset::from_file(path), IoError);
}

TEST(Dataset, FolderIsIoError) { EXPECT_THROW(TextDataset::from_file(temp_dir()), IoError); }

TEST(Dataset, InvalidUtf8FileErrorNamesPathAndOffset) {
  const std::string path = temp_dir() + "/latin1.txt";
  write_file(path, "caf\xE9!");  // Latin-1 é
  try {
    TextDataset::from_file(path);
    FAIL() << "Latin-1 file should throw";
  } catch (const IoError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte offset 3"), std::string::npos) << msg;
  }
}

TEST(Dataset, DefaultCorpusPathIsUnderSourceTree) {
  EXPECT_EQ(default_corpus_path(), std::string(GW_SOURCE_DIR) + "/datasets/fortunes.txt");
  if (!file_exists(default_corpus_path())) {
    try {
      require_default_corpus();
      FAIL() << "require_default_corpus should throw when the file is absent";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("prepare_fortunes.sh"), std::string::npos);
    }
  } else {
    EXPECT_EQ(require_default_corpus(), default_corpus_path());
  }
}

TEST(Dataset, PrepareFortunesWritesCleanCorpusOverOneMegabyte) {
  if (!file_exists("/usr/share/games/fortunes"))
    GTEST_SKIP() << "/usr/share/games/fortunes absent (apt-get install fortunes)";
  const std::string out = temp_dir() + "/fortunes.txt";
  const std::string cmd = std::string("bash ") + GW_SOURCE_DIR + "/datasets/prepare_fortunes.sh '" +
                          out + "' > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string text = read_text_file(out);
  EXPECT_GT(text.size(), 1000000u);
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    ASSERT_TRUE(c == '\n' || (c >= 0x20 && c != 0x7F))
        << "control character 0x" << std::hex << int(c) << std::dec << " at byte " << i;
  }
  EXPECT_EQ(text.find("\n%\n"), std::string::npos) << "% separators should be blank lines";
  EXPECT_NO_THROW(utf8_decode(text));
}

TEST(Dataset, PrepareFortunesFailsWithInstallHintWhenFolderMissing) {
  const std::string out = temp_dir() + "/f.txt";
  const std::string cmd = std::string("FORTUNES_DIR=/nonexistent bash ") + GW_SOURCE_DIR +
                          "/datasets/prepare_fortunes.sh '" + out + "' 2> '" + out + ".err'";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  EXPECT_FALSE(file_exists(out));
  std::ifstream err(out + ".err");
  const std::string msg((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(msg.find("apt-get install fortunes"), std::string::npos) << msg;
}

TEST(Dataset, TinyShakespeareHasSixtyFiveCharacters) {
  const std::string p = tinyshakespeare_path();
  if (p.empty()) GTEST_SKIP() << "tinyshakespeare.txt absent from ../shared/datasets";
  const TextDataset d = TextDataset::from_file(p);
  EXPECT_EQ(d.tokenizer.vocab_size(), 65);
}

}  // namespace
}  // namespace gw
