// test_hardening.cpp — what keeps a run from being lost or corrupted, tested in process:
// settings that are not finite or out of range are refused naming the setting; a step with a
// NaN loss leaves weights and moments untouched, and ten in a row stop the run with the last
// good checkpoint in place; a checkpoint never holds NaN; a resume cuts metrics.jsonl back to
// the checkpoint; summary.json reports only this run; checkpoint errors name file and key.
// NaN steps come from the GW_TEST_NAN_STEPS hook (reference/model/test_hooks.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "gw/checkpoint.h"
#include "gw/error.h"
#include "gw/trainer.h"
#include "model_testing.h"
#include "run_checks.h"

namespace gw {
namespace {

using gw::testing::expect_bit_identical;
using gw::testing::logged;
using gw::testing::metrics_of;
using gw::testing::read_all;
using gw::testing::TempDir;

// The tiny config on one thread: ctest -j runs tests side by side.
TrainConfig tiny(const TempDir& dir) {
  TrainConfig c = gw::testing::tiny_config(dir);
  c.threads = 1;
  return c;
}

// Sets an environment variable for the scope (each test runs in its own process under ctest).
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~EnvGuard() { ::unsetenv(name_); }

 private:
  const char* name_;
};

// A deep copy of the run's state (checkpoint() hands out the live tensors).
std::vector<std::pair<std::string, Tensor>> snapshot(const Trainer& t) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, tensor] : t.checkpoint().tensors) out.emplace_back(name, tensor.clone());
  return out;
}

bool all_finite(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  for (const auto& [name, t] : tensors)
    for (double v : t.to_doubles())
      if (!std::isfinite(v)) return false;
  return true;
}

// ---- settings ----

TEST(Settings, EveryNumberRefusesNonFiniteAndOutOfRangeValuesNamingTheFlag) {
  for (const ConfigField& f : config_fields()) {
    if (f.kind != FieldKind::number) continue;
    for (const std::string text : {"inf", "-inf", "nan", "1e308", "1e400", "-1e308"}) {
      try {
        parse_field_value(f, text);
        ADD_FAILURE() << f.flag << " " << text << " was accepted";
      } catch (const UsageError& e) {
        EXPECT_EQ(std::string(e.what()).rfind(f.flag + " " + text + ": must be a finite number", 0), 0u)
            << e.what();
      }
    }
    // The same values from a config file or from code name the key.
    for (double v : {std::numeric_limits<double>::infinity(), std::nan(""), 1e308}) {
      nlohmann::json j = TrainConfig().to_json();
      j.erase("preset");
      j[f.key] = v;
      try {
        TrainConfig::from_json(j);
        ADD_FAILURE() << f.key << " = " << v << " was accepted from JSON";
      } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find(f.key + " = "), std::string::npos) << e.what();
      }
    }
  }
  // Defaults and presets stay valid; a plain value parses.
  for (const std::string& name : preset_names()) EXPECT_NO_THROW(preset_config(name).validate());
  TrainConfig c;
  c.lr = std::numeric_limits<double>::infinity();
  EXPECT_THROW(c.validate(), UsageError);
  c = TrainConfig();
  c.init_std = std::nan("");
  EXPECT_THROW(c.validate(), UsageError);
}

TEST(Settings, ConfigFileErrorsNameTheFileAndTheKey) {
  TempDir dir;
  gw::testing::write_text(dir.file("c.json"), R"({"weight_decay": 1e308})");
  try {
    TrainConfig::from_file(dir.file("c.json"), TrainConfig());
    ADD_FAILURE() << "weight_decay 1e308 accepted";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dir.file("c.json")), std::string::npos) << what;
    EXPECT_NE(what.find("weight_decay = 1e+308: must be a finite number in [0, 10]"), std::string::npos)
        << what;
  }
}

// ---- non-finite steps ----

void expect_nan_step_leaves_the_state(int64_t grad_accum) {
  TempDir dir;
  TrainConfig c = tiny(dir);
  c.grad_accum = grad_accum;
  Trainer t(c, TextDataset::from_file(c.data));
  t.train_step();
  t.train_step();
  const auto before = snapshot(t);
  {
    EnvGuard nan("GW_TEST_NAN_STEPS", "3");
    const StepStats st = t.train_step();
    EXPECT_EQ(st.step, 3);
    EXPECT_TRUE(st.skipped);
    EXPECT_TRUE(std::isnan(st.loss));
    EXPECT_FALSE(std::isfinite(st.grad_norm));
  }
  expect_bit_identical(before, snapshot(t));  // weights and both moments untouched
  const StepStats next = t.train_step();
  EXPECT_FALSE(next.skipped);
  EXPECT_TRUE(std::isfinite(next.loss));
  const auto after = snapshot(t);
  EXPECT_TRUE(all_finite(after));
  EXPECT_NE(std::memcmp(before[0].second.raw(), after[0].second.raw(), before[0].second.nbytes()), 0)
      << "the step after a skipped one updates again";
}

TEST(NonFinite, NanLossSkipsTheUpdate) { expect_nan_step_leaves_the_state(1); }

TEST(NonFinite, NanLossSkipsTheUpdateWithGradientAccumulation) { expect_nan_step_leaves_the_state(2); }

TEST(NonFinite, TenInARowStopTheRunAndKeepTheLastGoodCheckpoint) {
  TempDir dir;
  TrainConfig c = tiny(dir);
  c.max_iters = 50, c.eval_interval = 10, c.log_interval = 5, c.checkpoint_interval = 5;
  TrainConfig good = c;
  good.out_dir = dir.file("good"), good.stop_at = 10;
  std::ostringstream log;
  run_training(good, log);

  EnvGuard nan("GW_TEST_NAN_STEPS", "12-50");
  try {
    run_training(c, log);
    ADD_FAILURE() << "a run of NaN steps went on\n" << log.str();
  } catch (const NonFiniteError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("steps 12 to 21 (10 in a row)"), std::string::npos) << what;
    EXPECT_NE(what.find(c.out_dir + "/ckpt.bin keeps the last good checkpoint (step 10)"),
              std::string::npos) << what;
  }
  EXPECT_NE(log.str().find("warning: step 12: loss nan"), std::string::npos) << log.str();
  const Checkpoint kept = read_checkpoint(c.out_dir + "/ckpt.bin");
  EXPECT_EQ(kept.meta.at("step"), 10) << "a checkpoint was written during the NaN steps";
  expect_bit_identical(read_checkpoint(good.out_dir + "/ckpt.bin").tensors, kept.tensors);
  const nlohmann::json summary = nlohmann::json::parse(read_all(c.out_dir + "/summary.json"));
  EXPECT_EQ(summary.at("status"), "stopped_non_finite");
  EXPECT_EQ(summary.at("skipped_steps"), 10);
  EXPECT_EQ(summary.at("steps"), 21);
  EXPECT_EQ(summary.at("checkpoint").at("step"), 10);
  const auto records = metrics_of(c.out_dir);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().at("step"), 21);
  EXPECT_EQ(records.back().value("skipped", false), true);
  EXPECT_TRUE(records.back().at("loss").is_null());
}

TEST(NonFinite, AFewSkippedStepsDoNotStopTheRun) {
  TempDir dir;
  TrainConfig c = tiny(dir);
  c.max_iters = 30;
  EnvGuard nan("GW_TEST_NAN_STEPS", "7,20-28");
  std::ostringstream log;
  const TrainSummary s = run_training(c, log);
  EXPECT_EQ(s.skipped_steps, 10);
  EXPECT_EQ(s.steps.size(), 30u);
  EXPECT_TRUE(all_finite(read_checkpoint(c.out_dir + "/ckpt.bin").tensors));
  EXPECT_EQ(nlohmann::json::parse(read_all(c.out_dir + "/summary.json")).at("status"), "completed");
}

TEST(NonFinite, ACheckpointIsNeverWrittenWithNonFiniteValues) {
  TempDir dir;
  TrainConfig c = tiny(dir);
  Trainer t(c, TextDataset::from_file(c.data));
  t.save(dir.file("ckpt.bin"));
  const std::string before = read_all(dir.file("ckpt.bin"));
  t.model().params[0].node->value.fill(std::numeric_limits<double>::infinity());
  try {
    t.save(dir.file("ckpt.bin"));
    ADD_FAILURE() << "a checkpoint with infinite weights was written";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find(t.model().params[0].node->name), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(dir.file("ckpt.bin")), before);
  EXPECT_FALSE(std::filesystem::exists(dir.file("ckpt.bin.tmp")));
}

TEST(NonFinite, ADivergingRunStopsWithAFiniteCheckpoint) {
  // lr 10 with weight decay 10 multiplies the matrices by -99 per step: float32 overflows
  // within a few steps. Nothing is forced here.
  TempDir dir;
  TrainConfig c = tiny(dir);
  c.lr = 10, c.min_lr = 10, c.weight_decay = 10, c.warmup_iters = 0;
  c.max_iters = 80, c.checkpoint_interval = 2, c.eval_interval = 4;
  std::ostringstream log;
  EXPECT_THROW(run_training(c, log), NonFiniteError) << log.str();
  const Checkpoint kept = read_checkpoint(c.out_dir + "/ckpt.bin");
  EXPECT_TRUE(all_finite(kept.tensors)) << "step " << kept.meta.at("step");
  const nlohmann::json summary = nlohmann::json::parse(read_all(c.out_dir + "/summary.json"));
  EXPECT_EQ(summary.at("status"), "stopped_non_finite") << log.str();
  EXPECT_EQ(summary.at("checkpoint").at("step"), kept.meta.at("step"));
}

// ---- metrics and summary ----

TEST(Metrics, ResumeCutsBackToTheCheckpointAndRepairsATornLine) {
  TempDir dir;
  TrainConfig full = tiny(dir);
  full.max_iters = 20, full.eval_interval = 5, full.log_interval = 3;
  full.out_dir = dir.file("full");
  std::ostringstream log;
  run_training(full, log);

  TrainConfig part = full;
  part.out_dir = dir.file("part"), part.stop_at = 10;
  run_training(part, log);
  {  // what a run killed after its checkpoint leaves: later records and a torn line
    std::ofstream f(part.out_dir + "/metrics.jsonl", std::ios::app);
    f << R"({"type":"step","step":11,"loss":1.0})" << '\n'
      << R"({"type":"eval","step":12,"val_loss":1.0})" << '\n'
      << R"({"type":"step","st)";
  }
  part.stop_at = 0, part.resume = part.out_dir + "/ckpt.bin";
  std::ostringstream resumed;
  run_training(part, resumed);
  EXPECT_NE(resumed.str().find("cut back to step 10: dropped 2 records of later steps and 1 torn line"),
            std::string::npos) << resumed.str();
  const auto a = metrics_of(full.out_dir), b = metrics_of(part.out_dir);
  EXPECT_EQ(logged(a), logged(b));
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (a[i]["type"] == "step") {
      EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << a[i].dump();
    }
}

TEST(Summary, ReportsOnlyWhatThisRunMeasured) {
  TempDir dir;
  TrainConfig c = tiny(dir);
  c.max_iters = 30, c.eval_interval = 10, c.stop_at = 20;
  std::ostringstream log;
  run_training(c, log);
  c.stop_at = 0, c.resume = c.out_dir + "/ckpt.bin";
  const TrainSummary s = run_training(c, log);
  ASSERT_EQ(s.evals.size(), 1u);  // step 30; 0, 10 and 20 were the first run's
  const nlohmann::json j = nlohmann::json::parse(read_all(c.out_dir + "/summary.json"));
  EXPECT_EQ(j.at("status"), "completed");
  EXPECT_EQ(j.at("first_step"), 20);
  EXPECT_EQ(j.at("steps"), 30);
  EXPECT_EQ(j.at("steps_this_run"), 10);
  EXPECT_EQ(j.at("resumed_from").at("step"), 20);
  EXPECT_EQ(j.at("best_val_step"), 30);
  EXPECT_DOUBLE_EQ(j.at("best_val_loss").get<double>(), s.evals[0].val_loss);
  EXPECT_DOUBLE_EQ(s.best_val_loss, s.evals[0].val_loss);
  EXPECT_FALSE(std::filesystem::exists(c.out_dir + "/summary.json.tmp"));
}

// ---- checkpoint errors ----

// Writes `ckpt` with `edit` applied to its metadata; returns the file.
template <typename Edit>
std::string edited(const TempDir& dir, const Checkpoint& ckpt, const std::string& name, Edit edit) {
  Checkpoint c = ckpt;
  edit(c.meta);
  write_checkpoint(dir.file(name), c);
  return dir.file(name);
}

TEST(CheckpointErrors, AMissingOrMalformedKeyIsOneLineNamingTheFileAndTheKey) {
  TempDir dir;
  TrainConfig c = tiny(dir);
  Trainer t(c, TextDataset::from_file(c.data));
  const Checkpoint good = t.checkpoint();
  struct Case {
    const char* name;
    std::function<void(nlohmann::json&)> edit;
    const char* words;
  };
  const std::vector<Case> cases = {
      {"no_step.bin", [](nlohmann::json& m) { m.erase("step"); }, "metadata key 'step' is missing"},
      {"bad_step.bin", [](nlohmann::json& m) { m["step"] = "ten"; },
       "metadata key 'step' is malformed: expected an integer, got \"ten\""},
      {"no_tok.bin", [](nlohmann::json& m) { m.erase("tokenizer"); }, "metadata key 'tokenizer' is missing"},
      {"bad_tok.bin", [](nlohmann::json& m) { m["tokenizer"] = 3; }, "metadata key 'tokenizer' is malformed"},
      {"no_layer.bin", [](nlohmann::json& m) { m["config"].erase("n_layer"); },
       "metadata key 'config.n_layer' is missing"},
      {"bad_lr.bin", [](nlohmann::json& m) { m["config"]["lr"] = "fast"; },
       "metadata key 'config' is malformed: lr must be a number"},
      {"no_format.bin", [](nlohmann::json& m) { m.erase("format"); }, "metadata key 'format' is missing"},
      {"no_best.bin", [](nlohmann::json& m) { m.erase("best_val_loss"); },
       "metadata key 'best_val_loss' is missing"},
  };
  for (const Case& k : cases) {
    const std::string path = edited(dir, good, k.name, k.edit);
    try {
      Trainer other(c, TextDataset::from_file(c.data));
      other.restore(read_checkpoint(path));
      ADD_FAILURE() << k.name << " was accepted";
    } catch (const IoError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("checkpoint " + path), std::string::npos) << what;
      EXPECT_NE(what.find(k.words), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_EQ(what.find("json.exception"), std::string::npos) << what;
    }
  }
  // gw-sample's path (load_model) names them the same way.
  Graph g;
  EXPECT_THROW(load_model(g, read_checkpoint(dir.file("no_tok.bin")), nullptr), IoError);
}

TEST(CheckpointErrors, AFolderSaysItIsAFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("run"));
  write_checkpoint(dir.file("run/ckpt.bin"), Checkpoint{{{"step", 1}}, {}, ""});
  try {
    read_checkpoint(dir.file("run"));
    ADD_FAILURE() << "a folder was read as a checkpoint";
  } catch (const IoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(dir.file("run") + " is a folder"), std::string::npos) << what;
    EXPECT_NE(what.find("did you mean " + dir.file("run/ckpt.bin")), std::string::npos) << what;
  }
}

TEST(CheckpointErrors, ABadTensorTableKeyIsNamed) {
  // A file with a valid checksum whose tensor table lacks a dtype: built by hand.
  TempDir dir;
  const std::string meta = R"({"step":1,"tensors":[{"name":"w","shape":[2],"offset":0,"bytes":8}]})";
  const std::string payload(8, '\0');
  uint64_t hash = fnv1a64(meta.data(), meta.size());
  hash = fnv1a64(payload.data(), payload.size(), hash);
  std::string bytes = std::string("GWCKPT\0\1", 8);
  const uint32_t version = kCheckpointVersion, zero = 0;
  const uint64_t m = meta.size(), p = payload.size();
  bytes.append(reinterpret_cast<const char*>(&version), 4).append(reinterpret_cast<const char*>(&zero), 4);
  bytes.append(reinterpret_cast<const char*>(&m), 8).append(reinterpret_cast<const char*>(&p), 8);
  bytes.append(reinterpret_cast<const char*>(&hash), 8).append(meta).append(payload);
  gw::testing::write_text(dir.file("t.bin"), bytes);
  try {
    read_checkpoint(dir.file("t.bin"));
    ADD_FAILURE() << "a tensor without dtype was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint " + dir.file("t.bin") +
                                         ": metadata key 'tensors[0].dtype' is missing"),
              std::string::npos) << e.what();
  }
}

TEST(CheckpointErrors, ChangedDataFileIsNamedOnRestore) {
  TempDir dir;
  TrainConfig c = tiny(dir);
  Trainer t(c, TextDataset::from_file(c.data));
  t.save(dir.file("ckpt.bin"));
  const Checkpoint saved = read_checkpoint(dir.file("ckpt.bin"));
  EXPECT_EQ(saved.meta.at("data").at("path"), c.data);
  EXPECT_EQ(saved.meta.at("data").at("bytes"), std::filesystem::file_size(c.data));
  // Same size, other content: a swapped character keeps the vocabulary.
  std::string text = read_all(c.data);
  size_t at = 100;
  while (text[at] == text[at + 1]) ++at;
  std::swap(text[at], text[at + 1]);
  gw::testing::write_text(c.data, text);
  Trainer changed(c, TextDataset::from_file(c.data));
  try {
    changed.restore(saved);
    ADD_FAILURE() << "a changed data file was accepted";
  } catch (const IoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("data: " + c.data + " changed since checkpoint " + dir.file("ckpt.bin")),
              std::string::npos) << what;
    EXPECT_NE(what.find("same size, other content"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace gw
