// test_cuda_training.cpp — the transformer on the GPU against the CPU: one training step
// (loss and every gradient), ten optimizer steps (loss curves agree), and the caching
// allocator's claim that steady-state steps make no cudaMalloc. Skips without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../model/model_testing.h"
#include "cuda_testing.h"
#include "gw/allocator.h"
#include "gw/autodiff.h"
#include "gw/model.h"
#include "gw/trainer.h"

namespace gw::testing {
namespace {

ModelShape tiny_shape() {
  ModelShape m;
  m.n_layer = 2, m.n_head = 2, m.n_embd = 32, m.mlp_hidden = 96;
  m.vocab_size = 23, m.block_size = 16;
  return m;
}

// Loss and the gradient of every weight, computed on `device` from the same init and batch.
std::vector<Tensor> loss_and_gradients(Device device, const Tensor& x, const Tensor& y) {
  Graph graph(device);
  const Transformer model = make_transformer(graph, tiny_shape(), 1234, 0.02);
  Node* ids = graph.input("x", x.shape(), DType::i32);
  Node* targets = graph.input("y", y.shape(), DType::i32);
  std::vector<Node*> weights;
  for (const ModelParameter& p : model.params) weights.push_back(p.node);
  std::vector<Node*> outputs = {model.loss(ids, targets)};
  for (Node* g : gradients(outputs[0], weights)) outputs.push_back(g);
  std::vector<Tensor> values = eval(outputs, {{ids, x.to(device)}, {targets, y.to(device)}});
  for (Tensor& t : values) t = t.to(Device::cpu());
  return values;
}

TEST(CudaTraining, OneStepLossAndEveryGradientMatchCpu) {
  GW_REQUIRE_GPU();
  const Tensor x = random_ids({3, 16}, 23, 1), y = random_ids({3, 16}, 23, 2);
  const std::vector<Tensor> cpu = loss_and_gradients(Device::cpu(), x, y);
  const std::vector<Tensor> gpu = loss_and_gradients(Device::cuda(0), x, y);
  ASSERT_EQ(cpu.size(), gpu.size());
  EXPECT_NEAR(gpu[0].item(), cpu[0].item(), 1e-5 * std::abs(cpu[0].item()));
  for (size_t k = 1; k < cpu.size(); ++k) {
    double scale = 0;
    for (double v : cpu[k].to_doubles()) scale = std::max(scale, std::abs(v));
    EXPECT_TRUE(all_close(gpu[k], cpu[k], 1e-4 * scale + 1e-9, 1e-3)) << "gradient " << k;
  }
}

TEST(CudaTraining, TenStepLossCurvesAgreeWithCpu) {
  GW_REQUIRE_GPU();
  TempDir dir;
  TrainConfig config = tiny_config(dir);
  Trainer cpu(config, TextDataset::from_file(config.data));
  config.device = "cuda";
  Trainer gpu(config, TextDataset::from_file(config.data));
  for (int step = 0; step < 10; ++step) {
    const StepStats a = cpu.train_step(), b = gpu.train_step();
    EXPECT_NEAR(b.loss, a.loss, 2e-3 * std::max(1.0, std::abs(a.loss))) << "step " << step + 1;
    EXPECT_NEAR(b.grad_norm, a.grad_norm, 1e-2 * std::max(1e-3, std::abs(a.grad_norm)))
        << "step " << step + 1;
  }
  EXPECT_NEAR(gpu.evaluate().val_loss, cpu.evaluate().val_loss, 5e-3);
}

// Lab 06 on the GPU: bf16 and fp16 products through cuBLASLt (f32 accumulation) and the
// naive attention widened to f32 follow the CPU's mixed-precision run.
TEST(CudaTraining, MixedPrecisionLossCurvesAgreeWithCpu) {
  GW_REQUIRE_GPU();
  for (const char* precision : {"bf16", "fp16"}) {
    TempDir dir;
    TrainConfig config = tiny_config(dir);
    config.precision = precision;
    Trainer cpu(config, TextDataset::from_file(config.data));
    config.device = "cuda";
    Trainer gpu(config, TextDataset::from_file(config.data));
    for (int step = 0; step < 10; ++step) {
      const StepStats a = cpu.train_step(), b = gpu.train_step();
      EXPECT_NEAR(b.loss, a.loss, 2e-2 * std::max(1.0, std::abs(a.loss)))
          << precision << ", step " << step + 1;
      EXPECT_EQ(b.skipped, a.skipped) << precision << ", step " << step + 1;
    }
    EXPECT_NEAR(gpu.evaluate().val_loss, cpu.evaluate().val_loss, 3e-2) << precision;
  }
}

#if GW_HAVE_CUDA
TEST(CudaTraining, SteadyStateStepsMakeNoCudaMalloc) {
  GW_REQUIRE_GPU();
  TempDir dir;
  TrainConfig config = tiny_config(dir);
  config.device = "cuda";
  Trainer trainer(config, TextDataset::from_file(config.data));
  for (int i = 0; i < 2; ++i) trainer.train_step();  // first steps: arena, plans, scratch
  const cuda::CachingStats before = cuda::caching_stats();
  const MemoryStats used_before = memory_stats(Device::cuda(0));
  for (int i = 0; i < 5; ++i) trainer.train_step();
  const cuda::CachingStats after = cuda::caching_stats();
  const MemoryStats used_after = memory_stats(Device::cuda(0));
  EXPECT_EQ(after.device_mallocs, before.device_mallocs);
  EXPECT_EQ(after.device_frees, before.device_frees);
  EXPECT_EQ(used_after.current, used_before.current);  // what a step borrows it gives back
  EXPECT_GE(used_after.peak, used_after.current);
  EXPECT_GT(used_after.allocations, used_before.allocations);  // batches are copied in...
  EXPECT_GT(after.cache_hits, before.cache_hits);              // ...into cached blocks
}
#endif

// This one needs no GPU: it checks what a user without one is told.
TEST(CudaTraining, DeviceCudaWithoutAGpuSaysSo) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  TempDir dir;
  TrainConfig config = tiny_config(dir);
  config.device = "cuda";
  try {
    Trainer trainer(config, TextDataset::from_file(config.data));
    FAIL() << "expected gw::DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda: no CUDA device found"), std::string::npos)
        << e.what();
  }
  config.device = "auto";  // falls back to the CPU
  EXPECT_NO_THROW({ Trainer cpu_trainer(config, TextDataset::from_file(config.data)); });
}

}  // namespace
}  // namespace gw::testing
