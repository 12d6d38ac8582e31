// test_config.cpp — TrainConfig: presets, JSON round trip, validation of bad values, flag
// parsing, and the LR schedule's values (warmup, cosine, floor).
#include <gtest/gtest.h>

#include <cmath>

#include "gw/error.h"
#include "gw/optim.h"
#include "gw/train_config.h"

namespace gw {
namespace {

TEST(TrainConfig, JsonRoundTripKeepsEveryField) {
  TrainConfig c = preset_config("gpu-char");
  c.lr = 2.5e-4, c.seed = 99, c.data = "x.txt", c.plot = false, c.grad_accum = 3;
  const TrainConfig back = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json()) << back.to_json().dump(1);
}

TEST(TrainConfig, EveryFieldHasAFlagAndAJsonKey) {
  const nlohmann::json j = TrainConfig().to_json();
  for (const ConfigField& f : config_fields()) {
    EXPECT_TRUE(j.contains(f.key)) << f.key;
    EXPECT_EQ(f.flag.substr(0, 2), "--");
  }
  EXPECT_EQ(j.size(), config_fields().size() + 1) << "a field is missing from config_fields()";
}

TEST(TrainConfig, PresetsMatchTheirRecipes) {
  const TrainConfig tiny = preset_config("cpu-tiny");
  EXPECT_EQ(tiny.n_layer, 4);
  EXPECT_EQ(tiny.n_head, 4);
  EXPECT_EQ(tiny.n_embd, 128);
  EXPECT_EQ(tiny.block_size, 64);
  EXPECT_EQ(tiny.batch_size, 12);
  EXPECT_EQ(tiny.max_iters, 2000);
  const TrainConfig gpu = preset_config("gpu-char");
  EXPECT_EQ(gpu.n_layer, 6);
  EXPECT_EQ(gpu.n_embd, 384);
  EXPECT_EQ(gpu.block_size, 256);
  EXPECT_EQ(gpu.batch_size, 64);
  EXPECT_EQ(gpu.max_iters, 5000);
  const TrainConfig gpt2 = preset_config("gpt2-small");
  EXPECT_EQ(gpt2.n_layer, 12);
  EXPECT_EQ(gpt2.n_embd, 768);
  EXPECT_EQ(gpt2.block_size, 1024);
  for (const std::string& name : preset_names()) EXPECT_NO_THROW(preset_config(name).validate());
}

TEST(TrainConfig, UnknownPresetIsAUsageError) {
  EXPECT_THROW(preset_config("gpt5"), UsageError);
}

TEST(TrainConfig, UnknownKeyAndWrongTypeAreUsageErrors) {
  EXPECT_THROW(TrainConfig::from_json({{"n_layerz", 4}}), UsageError);
  EXPECT_THROW(TrainConfig::from_json({{"n_layer", "four"}}), UsageError);
  EXPECT_THROW(TrainConfig::from_json({{"lr", true}}), UsageError);
  EXPECT_THROW(TrainConfig::from_json(nlohmann::json::array()), UsageError);
}

TEST(TrainConfig, ZeroOrNegativeSizesAreRefused) {
  for (const char* key : {"n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters",
                          "grad_accum", "eval_iters"}) {
    for (int v : {0, -3}) {
      const TrainConfig c = TrainConfig::from_json({{key, v}});
      try {
        c.validate();
        ADD_FAILURE() << key << " = " << v << " was accepted";
      } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      }
    }
  }
}

TEST(TrainConfig, HeadsMustDivideTheWidthIntoEvenHeadDims) {
  EXPECT_THROW(TrainConfig::from_json({{"n_embd", 130}}).validate(), UsageError);  // 130/4 no
  EXPECT_THROW(TrainConfig::from_json({{"n_embd", 12}, {"n_head", 4}}).validate(), UsageError);
}

TEST(TrainConfig, FlagValuesParseByKind) {
  const auto& fields = config_fields();
  auto field = [&](const std::string& key) {
    for (const ConfigField& f : fields)
      if (f.key == key) return f;
    throw Error("no field " + key);
  };
  EXPECT_EQ(parse_field_value(field("n_layer"), "6"), 6);
  EXPECT_DOUBLE_EQ(parse_field_value(field("lr"), "3e-4").get<double>(), 3e-4);
  EXPECT_EQ(parse_field_value(field("plot"), "false"), false);
  EXPECT_THROW(parse_field_value(field("n_layer"), "6x"), UsageError);
  EXPECT_THROW(parse_field_value(field("lr"), "fast"), UsageError);
  EXPECT_THROW(parse_field_value(field("seed"), "-1"), UsageError);
}

TEST(LrSchedule, WarmsUpLinearlyThenDecaysByCosineToTheFloor) {
  LrSchedule s{1e-3, 1e-4, 100, 2000};
  EXPECT_DOUBLE_EQ(s.at(0), 1e-3 * 1 / 101);
  EXPECT_DOUBLE_EQ(s.at(49), 1e-3 * 50 / 101);
  EXPECT_DOUBLE_EQ(s.at(100), 1e-3);  // cosine starts at the peak
  const double mid = s.at(1050);      // half way: (lr + min_lr) / 2
  EXPECT_NEAR(mid, 5.5e-4, 1e-12);
  EXPECT_NEAR(s.at(2000), 1e-4, 1e-15);
  EXPECT_DOUBLE_EQ(s.at(5000), 1e-4);
  for (int64_t it = 101; it <= 2000; ++it) EXPECT_LE(s.at(it), s.at(it - 1)) << "at " << it;
}

}  // namespace
}  // namespace gw

#include "model_testing.h"

namespace gw {
namespace {

TEST(TrainConfig, ConfigFileAppliesOnTopOfThePresetAndRejectsBadJson) {
  gw::testing::TempDir dir;
  gw::testing::write_text(dir.file("c.json"), R"({"preset": "gpu-char", "lr": 0.002, "max_iters": 7})");
  const TrainConfig c = TrainConfig::from_file(dir.file("c.json"), TrainConfig());
  EXPECT_EQ(c.n_embd, 384) << "the preset key restarts from gpu-char";
  EXPECT_EQ(c.lr, 0.002);
  EXPECT_EQ(c.max_iters, 7);
  gw::testing::write_text(dir.file("bad.json"), "{\"lr\": ");
  EXPECT_THROW(TrainConfig::from_file(dir.file("bad.json"), TrainConfig()), UsageError);
  EXPECT_THROW(TrainConfig::from_file(dir.file("none.json"), TrainConfig()), IoError);
}

}  // namespace
}  // namespace gw
