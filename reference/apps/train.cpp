// train.cpp — program gw-train: trains the reference transformer (gw::run_training).
//
// Settings come in layers: the preset (--preset, default cpu-tiny) or, with --resume, the
// checkpoint's own config; then a JSON file (--config); then single flags, one per field of
// gw::TrainConfig (generated from config_fields(), so --help lists them all). Exit status:
// 0 done, 2 usage error (bad flag or value, bad config), 1 any other error (missing data,
// unwritable output, corrupt checkpoint, a run stopped by NaN), each with one line on stderr,
// and 130 / 143 when SIGINT / SIGTERM stopped the run (after its checkpoint).
//
// Data parallel: `--ranks N` (with --comm threads, the default) trains N ranks as threads of
// this process; `mpirun -np N gw-train ...` trains N processes over MPI (found from mpirun's
// environment, or --comm mpi). Rank 0 alone prints and writes files; an error on any rank
// ends every rank (under MPI the failing rank prints it and aborts the job).
#include <unistd.h>

#include <array>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app_main.h"
#include "gw/checkpoint.h"
#include "gw/error.h"
#include "gw/mpi_communicator.h"
#include "gw/thread_group.h"
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

// This program's own path, so that the resume command it prints runs from any folder.
std::string self_path(const char* argv0) {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string(argv0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gw-train: trains the reference Llama-style transformer on a text file (default: the "
      "default corpus).\nExample: gw-train --preset cpu-tiny --data "
      "../shared/datasets/tinyshakespeare.txt --out-dir out/shakespeare\n"
      "Ctrl-C (or SIGTERM) ends the run after the current step, with a checkpoint, the summary "
      "and the command that resumes it (exit 130 / 143); a second Ctrl-C quits at once. A step "
      "whose loss or gradient norm is NaN or infinite is skipped with a warning; 10 in a row stop "
      "the run (exit 1) and leave the last good checkpoint in place."};
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
    if (f.kind == gw::FieldKind::number) help += " (" + f.range_text() + ")";
    if (f.key == "resume")
      help += " (the run continues in the checkpoint's folder unless --out-dir is given)";
    options[f.key] = app.add_option(f.flag, values[f.key], help)->type_name(kind_name(f.kind));
    // A yes/no setting alone means yes: --checkpoint-activations (or --plot false).
    if (f.kind == gw::FieldKind::boolean) options[f.key]->expected(0, 1);
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
      // Continue where the checkpoint is, whatever the folder this command runs in.
      const std::string folder = std::filesystem::path(values["resume"]).parent_path().string();
      config.out_dir = folder.empty() ? "." : folder;
    }
    if (!config_file.empty()) config = gw::TrainConfig::from_file(config_file, config);
    nlohmann::json flags = nlohmann::json::object();
    for (const gw::ConfigField& f : gw::config_fields())
      if (options[f.key]->count() > 0)
        flags[f.key] = f.kind == gw::FieldKind::boolean && values[f.key].empty()
                           ? nlohmann::json(true)
                           : gw::parse_field_value(f, values[f.key]);
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
    gw::RunOptions run;
    run.handle_signals = true;
    run.program = self_path(argv[0]);
    if (config.comm == "mpi" || gw::launched_by_mpirun()) {
      gw::Communicator& world = gw::mpi_world();  // gw::UsageError when built without MPI
      if (config.ranks > 1 && config.ranks != world.size())
        throw gw::UsageError("--ranks " + std::to_string(config.ranks) + " but mpirun started " +
                             std::to_string(world.size()) + " processes; give mpirun -np " +
                             std::to_string(config.ranks) + " or leave --ranks out");
      config.comm = "mpi";
      if (world.size() > 1) run.communicator = &world;
      try {
        const gw::TrainSummary summary = gw::run_training(config, std::cout, run);
        return summary.stop_signal ? 128 + summary.stop_signal : 0;
      } catch (const std::exception& e) {  // the other ranks must not wait for this one
        const int code = dynamic_cast<const gw::UsageError*>(&e) ? 2 : 1;
        std::cerr << "gw-train: error: rank " << world.rank() << ": " << e.what() << std::endl;
        if (world.size() > 1) gw::mpi_abort(code);
        throw;
      }
    }
    if (config.ranks > 1) {
      if (config.comm != "threads")
        throw gw::UsageError("--comm " + config.comm + ": start the ranks with mpirun -np " +
                             std::to_string(config.ranks) + " gw-train ... --comm mpi");
      gw::ThreadGroup group(static_cast<int>(config.ranks));
      std::vector<gw::TrainSummary> summaries(static_cast<size_t>(config.ranks));
      group.run([&](gw::Communicator& comm) {
        gw::RunOptions rank_run = run;
        rank_run.communicator = &comm;
        rank_run.handle_signals = comm.rank() == 0;  // the signal reaches the others through it
        summaries[static_cast<size_t>(comm.rank())] = gw::run_training(config, std::cout, rank_run);
      });
      return summaries[0].stop_signal ? 128 + summaries[0].stop_signal : 0;
    }
    const gw::TrainSummary summary = gw::run_training(config, std::cout, run);
    return summary.stop_signal ? 128 + summary.stop_signal : 0;
  });
}
