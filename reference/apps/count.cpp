// count.cpp — program gw-count: what one training step of the reference model costs, before
// anything runs. Lab 07's passes over a shapes-only graph (nothing is allocated, so
// Llama-2-7B counts in a fraction of a second): FLOPs, bytes and arithmetic intensity per
// part of the model and phase of the step, the lecture's formulas beside the graph's count,
// and the peak memory predicted from the schedule with and without activation checkpointing.
//
//   gw-count --preset cpu-tiny
//   gw-count --preset llama2-7b --json llama2-7b.json
//   gw-count --preset gpt2-small --batch-size 1 --block-size 256 --vocab 50257
//   gw-count --preset cpu-tiny --measure     also run the step: predicted against measured
//
// Exit status: 0 printed, 2 usage error, 1 any other error.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app_main.h"
#include "gw/executor.h"
#include "gw/passes.h"
#include "gw/train_config.h"
#include "gw/trainer.h"
#include "gw/training_step.h"

namespace {

using gw::Category;
using gw::Phase;

// What one shapes-only step graph counts to.
struct Counted {
  gw::CostReport cost;
  gw::MemoryEstimate memory;
  gw::CheckpointRewrite rewrite;
  int64_t nodes = 0;
  double weight_bytes[gw::kCategoryCount] = {};  // weights by the part that uses them
};

Counted count_step(const gw::ModelShape& shape, int64_t batch, int64_t sequence, bool checkpoint) {
  gw::Graph graph(gw::Device::cpu(), gw::GraphMode::shapes_only);
  gw::TrainingStepOptions options;
  options.batch = batch;
  options.sequence = sequence;
  options.checkpoint_activations = checkpoint;
  const gw::TrainingStep step = gw::build_training_step(graph, shape, options);
  const gw::Executor executor(graph, step.outputs);  // plans only: a shapes-only graph never runs
  Counted c;
  c.cost = gw::count_costs(executor.schedule());
  c.memory = gw::predict_memory(executor.schedule(), step.outputs);
  c.rewrite = step.rewrite;
  c.nodes = static_cast<int64_t>(graph.size());
  for (const gw::ModelParameter& p : step.model.params)
    c.weight_bytes[static_cast<size_t>(gw::category_of(*p.node))] +=
        static_cast<double>(gw::numel(p.node->shape)) * gw::dtype_size(p.node->dtype);
  return c;
}

// 62.97 T, 1.234 G, 512 (four significant digits and an SI prefix).
std::string si(double v) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  int p = 0;
  while (std::abs(v) >= 1000 && p < 6) v /= 1000, ++p;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g %s", v, prefixes[p]);
  return buf;
}

nlohmann::json cost_json(const gw::GraphCost& c) {
  return {{"flops", c.flops}, {"bytes", c.bytes}, {"kernels", c.kernels},
          {"intensity", c.intensity()}};
}

nlohmann::json memory_json(const gw::MemoryEstimate& m) {
  return {{"weights", m.weights},           {"optimizer_state", m.optimizer_state},
          {"inputs", m.inputs},             {"activations", m.activations},
          {"gradients", m.gradients},       {"optimizer_values", m.optimizer_values},
          {"workspace", m.workspace},       {"largest_workspace", m.largest_workspace},
          {"peak_step", m.peak_step},       {"total", m.total()}};
}

void print_table(const Counted& c) {
  std::printf("%-10s %11s %11s %11s %11s %11s %9s %11s\n", "part", "forward", "backward",
              "optimizer", "FLOPs", "bytes", "FLOP/B", "weights B");
  for (size_t k = 0; k < gw::kCategoryCount; ++k) {
    const Category cat = static_cast<Category>(k);
    const gw::GraphCost all = c.cost.category(cat);
    if (all.kernels == 0 && c.weight_bytes[k] == 0) continue;
    std::printf("%-10s %11s %11s %11s %11s %11s %9.2f %11s\n", gw::category_name(cat),
                si(c.cost.at(Phase::forward, cat).flops).c_str(),
                si(c.cost.at(Phase::backward, cat).flops).c_str(),
                si(c.cost.at(Phase::optimizer, cat).flops).c_str(), si(all.flops).c_str(),
                si(all.bytes).c_str(), all.intensity(), si(c.weight_bytes[k]).c_str());
  }
  const gw::GraphCost t = c.cost.total();
  double weights = 0;
  for (double w : c.weight_bytes) weights += w;
  std::printf("%-10s %11s %11s %11s %11s %11s %9.2f %11s\n", "total",
              si(c.cost.phase(Phase::forward).flops).c_str(),
              si(c.cost.phase(Phase::backward).flops).c_str(),
              si(c.cost.phase(Phase::optimizer).flops).c_str(), si(t.flops).c_str(),
              si(t.bytes).c_str(), t.intensity(), si(weights).c_str());
}

void print_memory(const gw::MemoryEstimate& plain, const gw::MemoryEstimate& ckpt) {
  std::printf("%-30s %14s %14s\n", "peak memory (bytes)", "plain", "checkpointed");
  auto row = [](const char* what, double a, double b) {
    std::printf("%-30s %14s %14s\n", what, si(a).c_str(), si(b).c_str());
  };
  row("weights", plain.weights, ckpt.weights);
  row("optimizer state (m, v)", plain.optimizer_state, ckpt.optimizer_state);
  row("inputs and constants", plain.inputs, ckpt.inputs);
  row("activations at the peak", plain.activations, ckpt.activations);
  row("gradients at the peak", plain.gradients, ckpt.gradients);
  row("optimizer values at the peak", plain.optimizer_values, ckpt.optimizer_values);
  row("workspace at the peak", plain.workspace, ckpt.workspace);
  row("total", plain.total(), ckpt.total());
  row("largest workspace", plain.largest_workspace, ckpt.largest_workspace);
}

// gw-count's own presets beside the trainer's: the lecture's Llama-2-7B.
gw::TrainConfig count_preset(const std::string& name, int64_t* vocab) {
  if (name == "llama2-7b") {
    gw::TrainConfig c;
    c.preset = name;
    c.n_layer = 32, c.n_head = 32, c.n_embd = 4096, c.mlp_hidden = 11008;
    c.block_size = 4096, c.batch_size = 1;
    *vocab = 32000;
    return c;
  }
  return gw::preset_config(name);
}

// CPU seconds of this thread: the count's own time, however loaded the machine is.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// --measure allocates the model: refuse, before printing anything, a step whose predicted
// peak would not fit in this machine's memory.
void check_fits(int64_t predicted) {
  const double physical =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  GW_CHECK_AS(gw::UsageError, static_cast<double>(predicted) < 0.7 * physical,
              "--measure: the step needs ", si(static_cast<double>(predicted)),
              "B (predicted) and this machine has ", si(physical),
              "B; use a smaller --batch-size or --block-size");
}

// --measure: runs the step (plain and checkpointed) with the allocator watching and prints
// the predicted peak beside the measured one, and the measured activation memory beside the
// lecture's formula.
nlohmann::json measure(const gw::ModelShape& shape, const gw::LlamaShape& l) {
  gw::TrainingStepOptions options;
  options.batch = l.b;
  options.sequence = l.s;
  nlohmann::json j;
  std::printf("measured: one step run on this CPU with the allocator counting every byte\n");
  std::printf("%-14s %16s %16s %10s\n", "peak (bytes)", "predicted", "measured", "ratio");
  std::vector<gw::Tensor> grads[2];
  for (bool checkpoint : {false, true}) {
    options.checkpoint_activations = checkpoint;
    gw::MeasuredStep run = gw::measure_training_step(shape, options);
    const double want = static_cast<double>(run.predicted.total());
    const double got = static_cast<double>(run.measured_peak);
    const char* name = checkpoint ? "checkpointed" : "plain";
    std::printf("%-14s %16lld %16lld %10.4f\n", name, static_cast<long long>(want),
                static_cast<long long>(got), got / want);
    j["peak"][name] = {{"predicted", run.predicted.total()}, {"measured", run.measured_peak}};
    grads[checkpoint] = std::move(run.grads);
  }
  bool same = grads[0].size() == grads[1].size();
  for (size_t k = 0; same && k < grads[0].size(); ++k)
    same = grads[0][k].numel() == grads[1][k].numel() &&
           std::memcmp(grads[0][k].data<float>(), grads[1][k].data<float>(),
                       static_cast<size_t>(grads[0][k].numel()) * sizeof(float)) == 0;
  std::printf("gradients with and without checkpointing: %s\n",
              same ? "bit-identical" : "DIFFERENT");
  j["gradients_identical"] = same;
  // The backward pass's activations, gradients consumed as they are made.
  double act[2];
  for (bool checkpoint : {false, true}) {
    options.checkpoint_activations = checkpoint;
    act[checkpoint] = static_cast<double>(gw::measure_activation_memory(shape, options));
  }
  const double f32 = 4;
  const double formula[2] = {f32 * gw::llama_activation_elements(l, false),
                             f32 * gw::llama_activation_elements(l, true)};
  std::printf("%-14s %16s %16s %10s\n", "activations", "formula", "measured", "ratio");
  const char* names[3] = {"plain", "checkpointed", "saving"};
  const double rows[3][2] = {{formula[0], act[0]},
                             {formula[1], act[1]},
                             {formula[0] - formula[1], act[0] - act[1]}};
  for (int r = 0; r < 3; ++r) {
    std::printf("%-14s %16.0f %16.0f %10.4f\n", names[r], rows[r][0], rows[r][1],
                rows[r][1] / rows[r][0]);
    j["activations"][names[r]] = {{"formula", rows[r][0]}, {"measured", rows[r][1]}};
  }
  // Lab 06: the same backward pass autocast to bf16 (products and their saved inputs in
  // bf16, the residual stream, norms and loss in f32).
  options.checkpoint_activations = false;
  options.precision = gw::DType::bf16;
  const double bf16 = static_cast<double>(gw::measure_activation_memory(shape, options));
  std::printf("%-14s %16s %16.0f %10.4f  (of f32's measured)\n", "bf16 (lab 06)", "", bf16,
              bf16 / act[0]);
  j["activations"]["bf16"] = {{"measured", bf16}, {"ratio_to_f32", bf16 / act[0]}};
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "gw-count: FLOPs, bytes, intensity and peak memory of one training step (forward, "
      "backward, AdamW) of the reference model, counted on its graph before anything runs "
      "(nothing is allocated), with the lecture's formulas beside the count.\n"
      "Example: gw-count --preset llama2-7b --json llama2-7b.json"};
  std::string preset = "cpu-tiny", config_file, json_path;
  int64_t vocab = 0;
  gw::TrainConfig flags;
  app.add_option("--preset", preset,
                 "cpu-tiny (default), gpu-char, gpt2-small (the trainer's), or llama2-7b");
  app.add_option("--config", config_file, "JSON file of trainer settings (gw-train --config)");
  CLI::Option* n_layer = app.add_option("--n-layer", flags.n_layer, "decoder blocks N");
  CLI::Option* n_head = app.add_option("--n-head", flags.n_head, "attention heads n");
  CLI::Option* n_embd = app.add_option("--n-embd", flags.n_embd, "width h");
  CLI::Option* mlp = app.add_option("--mlp-hidden", flags.mlp_hidden, "SwiGLU width i");
  CLI::Option* block = app.add_option("--block-size", flags.block_size, "sequence length s");
  CLI::Option* batch = app.add_option("--batch-size", flags.batch_size, "batch b");
  app.add_option("--vocab", vocab,
                 "vocabulary v (default: 65, tinyshakespeare's characters; llama2-7b: 32000)")
      ->check(gw::app::integer_in(1, 10000000));
  app.add_option("--json", json_path, "also write everything as JSON to this file");
  bool run_it = false;
  app.add_flag("--measure", run_it,
               "also run the step on this CPU (allocating the model) and print the predicted "
               "peak memory beside the allocator's measured one, with and without "
               "checkpointing");
  return gw::app::run(app, "gw-count", argc, argv, [&] {
    int64_t preset_vocab = 65;
    gw::TrainConfig c = count_preset(preset, &preset_vocab);
    if (!config_file.empty()) c = gw::TrainConfig::from_file(config_file, c);
    if (n_layer->count()) c.n_layer = flags.n_layer;
    if (n_head->count()) c.n_head = flags.n_head;
    if (n_embd->count()) c.n_embd = flags.n_embd;
    if (mlp->count()) c.mlp_hidden = flags.mlp_hidden;
    if (block->count()) c.block_size = flags.block_size;
    if (batch->count()) c.batch_size = flags.batch_size;
    c.validate();
    const gw::ModelShape shape = gw::model_shape(c, vocab > 0 ? vocab : preset_vocab);
    const int64_t b = c.batch_size, s = c.block_size;
    const gw::LlamaShape letters{b, s, shape.n_embd, shape.n_head, shape.mlp_hidden,
                                 shape.vocab_size, shape.n_layer};

    const double start = thread_cpu_seconds();
    const Counted plain = count_step(shape, b, s, false);
    const Counted ckpt = count_step(shape, b, s, true);
    const double seconds = thread_cpu_seconds() - start;
    if (run_it) check_fits(std::max(plain.memory.total(), ckpt.memory.total()));

    const double forward = plain.cost.phase(Phase::forward).flops;
    const double training = plain.cost.phase(Phase::forward).flops +
                            plain.cost.phase(Phase::backward).flops;
    const gw::LlamaForwardFlops table = gw::llama_forward_flops(letters);
    const double lecture = gw::lecture_forward_flops(letters);
    const double recompute = ckpt.cost.phase(Phase::recompute).flops;
    const int64_t params = gw::llama_parameter_count(letters);

    std::printf("gw-count: %s | b %lld, s %lld, h %lld, n %lld, d %lld, i %lld, v %lld, N %lld | "
                "%lld parameters\n",
                c.preset.c_str(), static_cast<long long>(b), static_cast<long long>(s),
                static_cast<long long>(letters.h), static_cast<long long>(letters.n),
                static_cast<long long>(letters.d()), static_cast<long long>(letters.i),
                static_cast<long long>(letters.v), static_cast<long long>(letters.N),
                static_cast<long long>(params));
    std::printf("one training step, counted on its graph (%lld nodes; FLOPs of a matmul "
                "m×n·n×h = m·h·(2n − 1)):\n",
                static_cast<long long>(plain.nodes));
    print_table(plain);
    std::printf("forward FLOPs: graph %s | lecture's table, row by row %s | lecture's "
                "approximation %s\n",
                si(forward).c_str(), si(table.total()).c_str(), si(lecture).c_str());
    std::printf("forward + backward = %.3f × forward (the lecture's rule: about 3×)\n",
                training / forward);
    print_memory(plain.memory, ckpt.memory);
    std::printf("checkpointing: %lld nodes recomputed, +%s FLOPs (+%.1f%% of the step), "
                "%s bytes less at the peak\n",
                static_cast<long long>(ckpt.rewrite.cloned), si(recompute).c_str(),
                100 * recompute / plain.cost.total().flops,
                si(static_cast<double>(plain.memory.total() - ckpt.memory.total())).c_str());
    std::printf("counted in %.3f s of CPU time (both graphs, shapes only: nothing allocated)\n",
                seconds);
    nlohmann::json measured;
    if (run_it) measured = measure(shape, letters);

    if (!json_path.empty()) {
      nlohmann::json j;
      j["preset"] = c.preset;
      j["shape"] = {{"b", b}, {"s", s}, {"h", letters.h}, {"n", letters.n}, {"d", letters.d()},
                    {"i", letters.i}, {"v", letters.v}, {"N", letters.N}};
      j["parameters"] = params;
      j["nodes"] = plain.nodes;
      for (size_t p = 0; p < gw::kPhaseCount; ++p)
        for (size_t k = 0; k < gw::kCategoryCount; ++k) {
          const gw::GraphCost& cell = plain.cost.by_part[p][k];
          if (cell.kernels > 0)
            j["cost"][gw::phase_name(static_cast<Phase>(p))]
             [gw::category_name(static_cast<Category>(k))] = cost_json(cell);
        }
      j["total"] = cost_json(plain.cost.total());
      for (size_t k = 0; k < gw::kCategoryCount; ++k)
        if (plain.weight_bytes[k] > 0)
          j["weight_bytes"][gw::category_name(static_cast<Category>(k))] = plain.weight_bytes[k];
      j["forward_flops"] = {{"graph", forward}, {"table", table.total()}, {"lecture", lecture}};
      j["training_over_forward"] = training / forward;
      j["memory"] = {{"plain", memory_json(plain.memory)},
                     {"checkpointed", memory_json(ckpt.memory)}};
      j["checkpointing"] = {{"recomputed_nodes", ckpt.rewrite.cloned},
                            {"recompute_flops", recompute}};
      j["seconds"] = seconds;
      if (run_it) j["measured"] = measured;
      std::ofstream out(json_path);
      GW_CHECK_AS(gw::IoError, out.good(), "cannot write ", json_path);
      out << j.dump(2) << '\n';
      GW_CHECK_AS(gw::IoError, out.good(), "cannot write ", json_path);
    }
    return 0;
  });
}
