// dataset.cpp — loading a text corpus, tokenizing it and splitting it 90/10 (as nanoGPT),
// plus where the default corpora live. Errors name the path and say what to do, since a
// missing corpus is the first thing a new user hits.
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "gw/checkpoint.h"
#include "gw/data.h"
#include "gw/error.h"

namespace gw {

std::string read_text_file(const std::string& path) {
  struct stat st {};
  GW_CHECK_AS(IoError, ::stat(path.c_str(), &st) == 0, "data: file not found: ", path,
              " (check --data PATH)");
  GW_CHECK_AS(IoError, !S_ISDIR(st.st_mode), "data: ", path,
              " is a folder; --data needs a text file");
  std::ifstream in(path, std::ios::binary);
  GW_CHECK_AS(IoError, in.good(), "data: cannot read ", path, " (check its permissions)");
  std::ostringstream ss;
  ss << in.rdbuf();
  GW_CHECK_AS(IoError, !in.bad(), "data: error while reading ", path);
  std::string text = ss.str();
  GW_CHECK_AS(IoError, !text.empty(), "data: ", path,
              " is empty; give a text file with at least a few thousand characters");
  return text;
}

TextDataset TextDataset::from_text(const std::string& text, const std::string& source) {
  TextDataset d;
  d.source = source;
  d.bytes = text.size();
  d.hash = fnv1a64(text.data(), text.size());
  d.tokenizer = CharTokenizer::from_text(text);
  std::vector<int32_t> ids = d.tokenizer.encode(text);
  const size_t n_train = ids.size() * 9 / 10;  // floor(0.9 n), as nanoGPT's int(n*0.9)
  d.train.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n_train));
  d.val.assign(ids.begin() + static_cast<std::ptrdiff_t>(n_train), ids.end());
  return d;
}

TextDataset TextDataset::from_file(const std::string& path) {
  try {
    return from_text(read_text_file(path), path);
  } catch (const IoError& e) {
    // Add the path to UTF-8 errors, which only know byte offsets.
    const std::string what = e.what();
    if (what.find(path) != std::string::npos) throw;
    throw IoError(path + ": " + what);
  }
}

std::string default_corpus_path() { return std::string(GW_SOURCE_DIR) + "/datasets/fortunes.txt"; }

std::string require_default_corpus() {
  const std::string p = default_corpus_path();
  struct stat st {};
  GW_CHECK_AS(IoError, ::stat(p.c_str(), &st) == 0,
              "default corpus missing: run datasets/prepare_fortunes.sh (needs apt-get install "
              "fortunes) [expected at ", p, "]");
  return p;
}

std::string tinyshakespeare_path() {
  const std::string p = std::string(GW_SOURCE_DIR) + "/../shared/datasets/tinyshakespeare.txt";
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? p : std::string();
}

}  // namespace gw
