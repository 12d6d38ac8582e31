// test_counting.cpp — lab 07 in the trainer and in gw-count: --checkpoint-activations trains
// bit-identically to a run without it and reports its recomputation apart; the progress lines
// and summary.json report MFU against a measured CPU peak; the GPU datasheet table; gw-count's
// table and JSON for cpu-tiny and Llama-2-7B, counted without allocating, and its --measure
// run of the step against the predicted peak.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gw/peak_flops.h"
#include "gw/trainer.h"
#include "gw/transformer_costs.h"
#include "model_testing.h"
#include "subprocess.h"

namespace gw {
namespace {

using testing::TempDir;
using testing::tiny_config;

TEST(TrainerCheckpointing, TrainsBitIdenticallyAndCountsTheRecomputationApart) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  const TextDataset data = TextDataset::from_file(c.data);
  Trainer plain(c, data);
  c.checkpoint_activations = true;
  Trainer ckpt(c, data);
  for (int i = 0; i < 4; ++i) {
    const StepStats a = plain.train_step();
    const StepStats b = ckpt.train_step();
    EXPECT_EQ(a.loss, b.loss) << "step " << a.step;
    EXPECT_EQ(a.grad_norm, b.grad_norm) << "step " << a.step;
  }
  EXPECT_EQ(plain.flops_per_token(), ckpt.flops_per_token()) << "model FLOPs: no recomputation";
  EXPECT_EQ(plain.recompute_flops_per_token(), 0);
  EXPECT_GT(ckpt.recompute_flops_per_token(), 0.1 * ckpt.flops_per_token());
  EXPECT_LT(ckpt.recompute_flops_per_token(), 0.5 * ckpt.flops_per_token())
      << "about one forward pass of the blocks, a third of a step at most";
}

TEST(TrainerCheckpointing, GradientAccumulationToo) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.grad_accum = 2;
  const TextDataset data = TextDataset::from_file(c.data);
  Trainer plain(c, data);
  c.checkpoint_activations = true;
  Trainer ckpt(c, data);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(plain.train_step().loss, ckpt.train_step().loss);
}

TEST(TrainerMfu, ProgressLinesAndSummaryReportMfuAgainstAMeasuredPeak) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.max_iters = 4, c.log_interval = 2, c.eval_interval = 100, c.save_checkpoint = false;
  std::ostringstream log;
  const TrainSummary sum = run_training(c, log);
  EXPECT_NE(log.str().find("MFU against a peak of"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("measured: OpenBLAS sgemm"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("step 2/4 |"), std::string::npos);
  EXPECT_NE(log.str().find("% | ETA"), std::string::npos) << "MFU on the progress line";
  EXPECT_GT(sum.peak_flops, 1e8);
  EXPECT_DOUBLE_EQ(sum.mfu, mfu(sum.flops_per_token, sum.tokens_per_second, sum.peak_flops));
  std::ifstream f(c.out_dir + "/summary.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_GT(j.at("mfu").get<double>(), 0);
  EXPECT_GT(j.at("peak_flops").get<double>(), 0);
  EXPECT_EQ(j.at("checkpoint_activations"), false);
}

TEST(PeakFlopsTable, KnowsTheCommonDatacenterGpus) {
  EXPECT_DOUBLE_EQ(gpu_datasheet_peak("NVIDIA H100 80GB HBM3", DType::f32, true).flops_per_second,
                   494.7e12);
  EXPECT_DOUBLE_EQ(gpu_datasheet_peak("NVIDIA H100 80GB HBM3", DType::f32, false).flops_per_second,
                   67e12);
  EXPECT_DOUBLE_EQ(gpu_datasheet_peak("NVIDIA H200", DType::bf16, true).flops_per_second,
                   989.4e12);
  EXPECT_DOUBLE_EQ(gpu_datasheet_peak("NVIDIA H100 PCIe", DType::bf16, true).flops_per_second,
                   756e12);
  EXPECT_DOUBLE_EQ(gpu_datasheet_peak("NVIDIA A100-SXM4-80GB", DType::bf16, true).flops_per_second,
                   312e12) << "not taken for an A10";
  EXPECT_DOUBLE_EQ(gpu_datasheet_peak("NVIDIA L40S", DType::f32, false).flops_per_second, 91.6e12)
      << "not taken for an L4";
  const PeakFlops unknown = gpu_datasheet_peak("Some Future GPU", DType::f32, true);
  EXPECT_EQ(unknown.flops_per_second, 0);
  EXPECT_NE(unknown.source.find("unknown GPU"), std::string::npos);
}

// ---- gw-count -----------------------------------------------------------------------------

class GwCount : public ::testing::Test {
 protected:
  void SetUp() override {
    count_ = testing::program_path("gw-count");
    if (!std::filesystem::exists(count_)) GTEST_SKIP() << "gw-count not built next to the test";
  }
  // gw-count with `args` and --json: its exit status must be 0; the JSON it wrote.
  nlohmann::json counted(std::vector<std::string> args, std::string* output = nullptr) {
    const std::string json = dir_.file("count.json");
    args.insert(args.begin(), count_);
    args.insert(args.end(), {"--json", json});
    const testing::Ran r = testing::run_program(args);
    EXPECT_EQ(r.status, 0) << r.output;
    if (output) *output = r.output;
    std::ifstream f(json);
    return nlohmann::json::parse(f);
  }
  std::string count_;
  TempDir dir_;
};

TEST_F(GwCount, CpuTinyTableJsonAndTheAnalyticFormula) {
  std::string out;
  const nlohmann::json j = counted({"--preset", "cpu-tiny"}, &out);
  for (const char* part : {"attention", "mlp", "norm", "head", "optimizer", "total",
                           "forward FLOPs", "peak memory", "checkpointed"})
    EXPECT_NE(out.find(part), std::string::npos) << part << "\n" << out;
  const LlamaShape l{12, 64, 128, 4, 352, 65, 4};
  EXPECT_EQ(j["parameters"], llama_parameter_count(l));
  EXPECT_EQ(j["forward_flops"]["graph"].get<double>(), llama_forward_flops(l).total());
  EXPECT_LT(j["memory"]["checkpointed"]["activations"].get<double>(),
            j["memory"]["plain"]["activations"].get<double>() / 2);
  EXPECT_EQ(j["memory"]["plain"]["optimizer_state"],
            2 * j["memory"]["plain"]["weights"].get<int64_t>());
}

TEST_F(GwCount, MeasurePrintsThePredictedPeakBesideTheMeasuredOne) {
  std::string out;
  const nlohmann::json j =
      counted({"--preset", "cpu-tiny", "--batch-size", "4", "--measure"}, &out);
  EXPECT_NE(out.find("bit-identical"), std::string::npos) << out;
  for (const char* run : {"plain", "checkpointed"}) {
    const double predicted = j["measured"]["peak"][run]["predicted"].get<double>();
    const double measured = j["measured"]["peak"][run]["measured"].get<double>();
    EXPECT_NEAR(measured / predicted, 1.0, 0.05) << run << "\n" << out;
  }
  EXPECT_TRUE(j["measured"]["gradients_identical"].get<bool>());
  const nlohmann::json& saving = j["measured"]["activations"]["saving"];
  EXPECT_NEAR(saving["measured"].get<double>() / saving["formula"].get<double>(), 1.0, 0.10);
  // A step far larger than any machine's memory is refused in one line, not attempted.
  const testing::Ran huge = testing::run_program(
      {count_, "--preset", "gpt2-small", "--batch-size", "100000", "--measure"});
  EXPECT_EQ(huge.status, 2) << huge.output;
  EXPECT_EQ(huge.output.rfind("gw-count: error: --measure: the step needs", 0), 0)
      << "one line, before any table:\n" << huge.output;
}

TEST_F(GwCount, Llama2_7bInAFractionOfASecondWithTheLecturesNumbers) {
  const nlohmann::json j = counted({"--preset", "llama2-7b"});
  EXPECT_NEAR(j["forward_flops"]["graph"].get<double>() / 1e12, 62.97, 0.005);
  EXPECT_NEAR(j["forward_flops"]["lecture"].get<double>() / 1e12, 62.97, 0.005);
  EXPECT_EQ(j["parameters"], 6738415616);
  EXPECT_NEAR(j["training_over_forward"].get<double>(), 3.0, 0.1);
  EXPECT_NEAR(j["memory"]["plain"]["weights"].get<double>(), 4.0 * 6738415616, 1.0);
  EXPECT_LT(j["seconds"].get<double>(), 2.0)
      << "both graphs, built, planned and counted, in CPU seconds";
}

TEST_F(GwCount, FlagsOverrideThePresetAndBadInputExitsWith2) {
  const nlohmann::json j = counted({"--preset", "gpt2-small", "--batch-size", "2",
                                    "--block-size", "128", "--vocab", "50257"});
  EXPECT_EQ(j["shape"]["b"], 2);
  EXPECT_EQ(j["shape"]["s"], 128);
  EXPECT_EQ(j["shape"]["v"], 50257);
  EXPECT_EQ(j["shape"]["N"], 12);
  EXPECT_EQ(testing::run_program({count_, "--preset", "gpt5"}).status, 2);
  EXPECT_EQ(testing::run_program({count_, "--n-head", "3"}).status, 2)
      << "h 128 does not split into 3 heads";
  EXPECT_EQ(testing::run_program({count_, "--vocab", "0"}).status, 2);
}

}  // namespace
}  // namespace gw
