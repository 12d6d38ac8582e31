// run_checks.h — comparing two gw-train runs: checkpoints bit for bit, and metrics.jsonl
// record by record (every line whole and parsable, steps strictly increasing).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gw/checkpoint.h"

namespace gw::testing {

/// The bytes of a file ("" when it cannot be read).
inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Same names, same bytes.
inline void expect_bit_identical(const std::vector<std::pair<std::string, Tensor>>& a,
                                 const std::vector<std::pair<std::string, Tensor>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].first, b[k].first);
    ASSERT_EQ(a[k].second.nbytes(), b[k].second.nbytes()) << a[k].first;
    EXPECT_EQ(std::memcmp(a[k].second.raw(), b[k].second.raw(), a[k].second.nbytes()), 0)
        << a[k].first << " differs";
  }
}

/// Every line of DIR/metrics.jsonl, parsed. Fails the test on a line that does not parse, a
/// file that does not end with a newline, or steps that do not strictly increase within a
/// record type.
inline std::vector<nlohmann::json> metrics_of(const std::string& dir) {
  const std::string text = read_all(dir + "/metrics.jsonl");
  EXPECT_TRUE(text.empty() || text.back() == '\n') << dir << ": torn last line";
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  int64_t last_step = -1, last_eval = -1;
  for (std::string line; std::getline(in, line);) {
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      ADD_FAILURE() << dir << ": metrics line does not parse: " << line;
      continue;
    }
    const nlohmann::json& r = out.back();
    int64_t& last = r.value("type", "") == "eval" ? last_eval : last_step;
    const int64_t step = r.value("step", int64_t{-1});
    EXPECT_GT(step, last) << dir << ": steps do not increase at " << line;
    last = step;
  }
  return out;
}

/// "eval 0", "step 1", ... in file order.
inline std::vector<std::string> logged(const std::vector<nlohmann::json>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.value("type", "?") + " " + r["step"].dump());
  return out;
}

/// Run `dir` ended as run `ref` did: the same final checkpoint bit for bit, and the same
/// metrics records (the same steps and evaluations, with the same losses and norms).
inline void expect_same_run(const std::string& ref, const std::string& dir) {
  const Checkpoint a = read_checkpoint(ref + "/ckpt.bin"), b = read_checkpoint(dir + "/ckpt.bin");
  EXPECT_EQ(a.meta.at("step"), b.meta.at("step"));
  expect_bit_identical(a.tensors, b.tensors);
  const auto ma = metrics_of(ref), mb = metrics_of(dir);
  ASSERT_EQ(logged(ma), logged(mb)) << dir;
  for (size_t i = 0; i < ma.size(); ++i)
    for (const char* key : {"loss", "grad_norm", "train_loss", "val_loss"})
      EXPECT_EQ(ma[i].value(key, nlohmann::json()), mb[i].value(key, nlohmann::json()))
          << dir << ": " << key << " of " << ma[i].dump();
}

}  // namespace gw::testing
