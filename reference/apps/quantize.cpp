// quantize.cpp — program gw-quantize: post-training quantization of a gw-train checkpoint
// (lab 05's pass). It restores the trained model, measures the val loss on the trainer's
// fixed evaluation batches, quantizes every matmul weight with the chosen scheme, measures
// the val loss again with the quantized weights, writes a quantized checkpoint (atomic and
// checksummed like ckpt.bin) that gw-sample loads, and measures the val loss of the model
// read back from that file as it runs (int8 GEMMs for int8-channel).
//
//   gw-quantize --checkpoint runs/cpu-tiny/ckpt.bin --scheme int8-channel --out q.bin
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "app_main.h"
#include "gw/checkpoint.h"
#include "gw/quantized_model.h"
#include "gw/trainer.h"

int main(int argc, char** argv) {
  CLI::App app{"gw-quantize: quantizes a trained model's weights and reports the val loss"};
  std::string checkpoint, scheme_name, out, data;
  app.add_option("--checkpoint", checkpoint, "checkpoint written by gw-train")->required();
  app.add_option("--scheme", scheme_name, "int8-channel, int4-g32 or kmeans4")->required();
  app.add_option("--out", out, "the quantized checkpoint to write")->required();
  app.add_option("--data", data, "text file for the val loss (default: the checkpoint's)");
  return gw::app::run(app, "gw-quantize", argc, argv, [&] {
    const gw::WeightScheme scheme = gw::weight_scheme_from_name(scheme_name);
    const gw::Checkpoint ckpt = gw::read_checkpoint(checkpoint);
    GW_CHECK_AS(gw::UsageError, !gw::is_quantized_checkpoint(ckpt), checkpoint,
                " is already quantized; give the gw-train checkpoint it came from");
    gw::TrainConfig config = gw::checkpoint_config(ckpt);
    if (!data.empty()) config.data = data;
    gw::Trainer trainer(config, gw::TextDataset::from_file(config.data));
    trainer.restore(ckpt);
    const double before = trainer.evaluate().val_loss;

    const std::vector<gw::Node*> weights = gw::quantizable_weights(trainer.model());
    const std::vector<gw::QuantizedWeight> q = gw::quantize_model_weights(weights, scheme);
    // The same numbers the quantized model computes from its codes (the rewritten graph of
    // load_model), put into the trainer's weights to evaluate on its fixed batches.
    for (size_t i = 0; i < weights.size(); ++i) weights[i]->value.copy_from(q[i].dequantized());
    const double after = trainer.evaluate().val_loss;

    const nlohmann::json extra = {{"source", std::filesystem::absolute(checkpoint).string()},
                                  {"val_loss_before", before}, {"val_loss_after", after}};
    gw::write_checkpoint(out, gw::quantized_checkpoint(ckpt, trainer.model(), scheme, q, extra));
    // The model as gw-sample runs it, from the file: with int8 codes, the products are int8
    // GEMMs on row-quantized activations, so its loss includes the activations' rounding.
    const double as_run = gw::quantized_val_loss(gw::read_checkpoint(out), trainer.data());
    const double f32_mb = 4.0 * static_cast<double>(trainer.model().parameter_count()) / 1e6;
    const double file_mb = static_cast<double>(std::filesystem::file_size(out)) / 1e6;
    std::cout << std::fixed << std::setprecision(4) << "gw-quantize: " << scheme_name << ", "
              << weights.size() << " matrices quantized\n"
              << "  size:     " << f32_mb << " MB of f32 weights -> " << file_mb << " MB on disk ("
              << std::setprecision(2) << f32_mb / file_mb << "x smaller)\n"
              << std::setprecision(4) << "  val loss: " << before << " -> " << after << " ("
              << std::showpos << after - before << std::noshowpos << " nats)\n"
              << "  run from the file" << (scheme == gw::WeightScheme::int8_channel
                                                ? " (int8 GEMMs, 7-bit activations per row)"
                                                : "") << ": val loss " << as_run << " ("
              << std::showpos << as_run - before << std::noshowpos << " nats)\n"
              << "  wrote " << out << '\n';
    return 0;
  });
}
