// train.cpp — program gw-train: trains the reference transformer (gw::run_training).
//
// Settings come in layers: the preset (--preset, default cpu-tiny) or, with --resume, the
// checkpoint's own config; then a JSON file (--config); then single flags, one per field of
// gw::TrainConfig (generated from config_fields(), so --help lists them all). Exit status:
// 0 done, 2 usage error (bad flag or value, bad config), 1 any other error (missing data,
// unwritable output, corrupt checkpoint), each with one line on stderr.
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "app_main.h"
#include "gw/checkpoint.h"
#include "gw/error.h"
#include "gw/train_config.h"
#include "gw/trainer.h"

namespace {

const char* kind_name(gw::FieldKind k) {
  switch (k) {
    case gw::FieldKind::integer: return "INT";
    case gw::FieldKind::number: return "FLOAT";
    case gw::FieldKind::boolean: return "BOOL";
    default: return "TEXT";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gw-train: trains the reference Llama-style transformer on a text file (default: the "
      "default corpus).\nExample: gw-train --preset cpu-tiny --data "
      "../shared/datasets/tinyshakespeare.txt --out-dir out/shakespeare"};
  std::string preset, config_file;
  app.add_option("--preset", preset, "start from a preset: cpu-tiny (default), gpu-char, gpt2-small");
  app.add_option("--config", config_file, "JSON file of settings (keys as the flags, with _)");
  bool profile = false;
  app.add_flag("--profile", profile,
               "time 3 warm-up steps, then print the time per op type of one step, and exit");
  const gw::TrainConfig defaults;
  const nlohmann::json default_json = defaults.to_json();
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;
  for (const gw::ConfigField& f : gw::config_fields()) {
    std::string help = f.help + " [cpu-tiny: " + default_json.at(f.key).dump() + "]";
    options[f.key] = app.add_option(f.flag, values[f.key], help)->type_name(kind_name(f.kind));
  }
  return gw::app::run(app, "gw-train", argc, argv, [&] {
    gw::TrainConfig config;
    const bool resuming = options["resume"]->count() > 0;
    if (!preset.empty()) config = gw::preset_config(preset);
    if (resuming) {  // the checkpoint's own settings are the base of a resumed run
      const gw::Checkpoint ckpt = gw::read_checkpoint(values["resume"]);
      config = gw::checkpoint_config(ckpt);
      config.stop_at = 0;  // the stopped run's stop_at is not this run's
      config.resume.clear();
    }
    if (!config_file.empty()) config = gw::TrainConfig::from_file(config_file, config);
    nlohmann::json flags = nlohmann::json::object();
    for (const gw::ConfigField& f : gw::config_fields())
      if (options[f.key]->count() > 0) flags[f.key] = gw::parse_field_value(f, values[f.key]);
    config = gw::TrainConfig::from_json(flags, config);
    config.validate();
    if (profile) {
      gw::set_thread_count(config.threads);
      gw::Trainer trainer(config, gw::TextDataset::from_file(
                                      config.data.empty() ? gw::require_default_corpus() : config.data));
      for (int i = 0; i < 3; ++i) trainer.train_step();
      std::cout << trainer.profile_step();
      return 0;
    }
    gw::run_training(config, std::cout);
    return 0;
  });
}
