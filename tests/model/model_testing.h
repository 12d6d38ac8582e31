// model_testing.h — helpers of the trainer tests: a temporary folder, a small synthetic
// corpus written into it, and a tiny config that trains in well under a second per step.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gw/data.h"
#include "gw/train_config.h"

namespace gw::testing {

/// A fresh folder under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "gw_model_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  /// path/name
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Writes `text` to `path`.
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

/// A tiny model on the grammar corpus: 2 layers, h 32, s 16, b 4; no plot, quiet logging.
inline TrainConfig tiny_config(const TempDir& dir, int64_t corpus_bytes = 30000) {
  const std::string data = dir.file("grammar.txt");
  if (!std::filesystem::exists(data)) write_text(data, synthetic_grammar(corpus_bytes, 7));
  TrainConfig c;
  c.preset = "test-tiny";
  c.n_layer = 2, c.n_head = 2, c.n_embd = 32, c.block_size = 16, c.batch_size = 4;
  c.max_iters = 50, c.warmup_iters = 5, c.lr = 3e-3, c.min_lr = 3e-4;
  c.eval_interval = 25, c.eval_iters = 4, c.log_interval = 1000;
  c.data = data;
  c.out_dir = dir.file("out");
  c.plot = false;
  return c;
}

}  // namespace gw::testing
