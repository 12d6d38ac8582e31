// test_mixed_precision.cpp — the trainer in bf16 and fp16 (--precision): the loss curve
// follows fp32's, the 16-bit copies are the rounded f32 masters after every step, gradients
// come out in 16 bits, fp16 starts its loss scale at 2¹⁶, resume is bit-exact with the
// scaler's state; a model whose f16 gradients underflow learns only with loss scaling; an op
// without a 16-bit kernel says so.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gw/autocast.h"
#include "gw/autodiff.h"
#include "gw/executor.h"
#include "gw/mixed_precision.h"
#include "gw/ops.h"
#include "gw/rng.h"
#include "gw/trainer.h"
#include "gw/training_step.h"
#include "model_testing.h"

namespace gw {
namespace {

using testing::TempDir;
using testing::tiny_config;

struct Curve {
  std::vector<double> losses;
  double val_loss = 0;
};

Curve train(const std::string& precision, int steps) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.precision = precision;
  Trainer t(c, TextDataset::from_file(c.data));
  Curve out;
  for (int i = 0; i < steps; ++i) out.losses.push_back(t.train_step().loss);
  out.val_loss = t.evaluate().val_loss;
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.to(Device::cpu()).raw(), b.to(Device::cpu()).raw(), a.nbytes()) == 0;
}

TEST(MixedPrecision, Bf16AndFp16FollowTheFp32LossCurve) {
  const Curve f32 = train("fp32", 40), b16 = train("bf16", 40), f16 = train("fp16", 40);
  for (size_t i = 0; i < f32.losses.size(); ++i) {
    EXPECT_NEAR(b16.losses[i], f32.losses[i], 0.03 + 0.002 * i) << "bf16, step " << i + 1;
    EXPECT_NEAR(f16.losses[i], f32.losses[i], 0.01 + 0.001 * i) << "fp16, step " << i + 1;
  }
  EXPECT_LT(b16.losses.back(), b16.losses.front() - 0.5) << "bf16 training did not learn";
  EXPECT_NEAR(b16.val_loss, f32.val_loss, 0.03);
  EXPECT_NEAR(f16.val_loss, f32.val_loss, 0.02);
}

TEST(MixedPrecision, CopiesAreTheRoundedMastersAndGradientsAre16Bit) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.precision = "bf16";
  Trainer t(c, TextDataset::from_file(c.data));
  const LowPrecisionWeights& lw = t.low_precision_weights();
  // 6 matrices per block (W_gate and W_up are one) and the LM head; the norms and the
  // embedding keep f32.
  EXPECT_EQ(lw.copies.size(), static_cast<size_t>(6 * c.n_layer + 1));
  for (int i = 0; i < 5; ++i) t.train_step();
  for (const WeightCopy& wc : lw.copies) {
    EXPECT_EQ(wc.copy->dtype, DType::bf16);
    EXPECT_TRUE(same_bits(wc.copy->value, wc.master->value.astype(DType::bf16)))
        << wc.copy->name << " is not round(" << wc.master->name << ") after 5 steps";
  }
  EXPECT_EQ(t.loss_scaler(), nullptr) << "bf16 needs no loss scaling";
}

TEST(MixedPrecision, Fp16ResumeIsBitExactWithTheScalerState) {
  TempDir dir;
  TrainConfig c = tiny_config(dir);
  c.precision = "fp16";
  const TextDataset data = TextDataset::from_file(c.data);
  Trainer straight(c, data);
  for (int i = 0; i < 10; ++i) {
    const StepStats st = straight.train_step();
    if (i == 0) {
      EXPECT_EQ(st.loss_scale, 65536.0) << "the scale starts at 2^16";
    }
  }
  Trainer first(c, data);
  for (int i = 0; i < 6; ++i) first.train_step();
  const std::string path = dir.file("ckpt.bin");
  first.save(path);
  Trainer resumed(c, data);
  resumed.restore(read_checkpoint(path));
  for (int i = 0; i < 4; ++i) resumed.train_step();
  for (size_t k = 0; k < straight.model().params.size(); ++k)
    EXPECT_TRUE(same_bits(straight.model().params[k].node->value,
                          resumed.model().params[k].node->value))
        << straight.model().params[k].node->name;
  for (size_t k = 0; k < straight.low_precision_weights().copies.size(); ++k)
    EXPECT_TRUE(same_bits(straight.low_precision_weights().copies[k].copy->value,
                          resumed.low_precision_weights().copies[k].copy->value));
  ASSERT_NE(resumed.loss_scaler(), nullptr);
  EXPECT_EQ(resumed.loss_scaler()->scale(), straight.loss_scaler()->scale());
  EXPECT_EQ(resumed.loss_scaler()->clean_steps(), straight.loss_scaler()->clean_steps());
}

// Linear regression whose loss is multiplied by 1e-7 (and the learning rate by 1e7, so that
// in exact arithmetic nothing changes): its f16 output adjoints, about 1e-7·2·err/n ≈ 3e-9·err,
// fall below half of f16's smallest subnormal (6e-8) and round to 0, unless the loss is
// scaled first.
// Returns the final loss over the first.
double underflow_regression(bool loss_scaling) {
  const int64_t n = 64, k = 8;
  Graph g;
  Node* x = g.input("x", {n, k});
  Node* target = g.input("target", {n, 1});
  Node* w = g.parameter("w", Tensor::zeros({k, 1}));
  Node* scale = g.input("scale", {});
  Node* err = sub(matmul(x, w), target);
  Node* loss = mul(mean(mul(err, err)), 1e-7);
  const AutocastResult ac = autocast({loss}, DType::f16);
  const LowPrecisionWeights lw = keep_low_precision_copies(ac.outputs, {w}, DType::f16);
  EXPECT_EQ(lw.copies.size(), 1u);
  Node* scaled = mul(ac.outputs[0], scale);
  Node* grad = gradients(scaled, {lw.trainable[0]})[0];
  EXPECT_EQ(grad->dtype, DType::f16);
  Executor step(g, {ac.outputs[0], grad});
  Executor refresh(g, {lw.copies[0].refresh});

  std::vector<double> xs(static_cast<size_t>(n * k)), ys(static_cast<size_t>(n));
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = 2.0 * uniform_float(3, 0, i) - 1.0;
  for (int64_t r = 0; r < n; ++r)  // target = x · (1, −1, 0.5, ...)
    for (int64_t c = 0; c < k; ++c)
      ys[static_cast<size_t>(r)] += xs[static_cast<size_t>(r * k + c)] * (c % 2 ? -1.0 : 1.0) /
                                    static_cast<double>(1 + c / 2);
  DynamicLossScaler scaler;
  Feeds feeds = {{x, Tensor::from_values({n, k}, xs)}, {target, Tensor::from_values({n, 1}, ys)}};
  double first = 0, last = 0;
  for (int it = 0; it < 60; ++it) {
    const double s = loss_scaling ? scaler.scale() : 1.0;
    feeds[scale] = Tensor::full({}, s);
    const std::vector<Tensor> out = step.run(feeds);
    last = out[0].item();
    if (it == 0) first = last;
    if (loss_scaling && !scaler.update(all_finite({out[1]}))) continue;
    const std::vector<double> gw = out[1].to_doubles();
    float* master = w->value.data<float>();
    for (int64_t c = 0; c < k; ++c)  // SGD, lr 0.2·1e7, on the unscaled f32 gradient
      master[c] -= static_cast<float>(0.2e7 * gw[static_cast<size_t>(c)] / s);
    lw.copies[0].copy->value.copy_from(refresh.run({})[0]);
  }
  return last / first;
}

TEST(MixedPrecision, UnderflowingF16GradientsLearnOnlyWithLossScaling) {
  const double without = underflow_regression(false), with = underflow_regression(true);
  EXPECT_GT(without, 0.99) << "without scaling the f16 gradients should all be 0";
  EXPECT_LT(with, 0.1) << "with scaling the regression should learn";
}

TEST(MixedPrecision, Bf16ActivationsTakeLessMemory) {
  // cpu-tiny's shape at b = 12: the backward pass's peak above the weights, gradients
  // consumed as they are made. The products' saved inputs halve; the residual stream, the
  // norms' inputs, the f32 logits of the loss and the f32 attention scores do not.
  ModelShape shape;
  shape.vocab_size = 65;
  TrainingStepOptions o;
  o.batch = 12, o.sequence = 64;
  const double f32 = static_cast<double>(measure_activation_memory(shape, o));
  o.precision = DType::bf16;
  const double bf16 = static_cast<double>(measure_activation_memory(shape, o));
  std::printf("activations: f32 %.0f B, bf16 %.0f B, ratio %.3f\n", f32, bf16, bf16 / f32);
  EXPECT_LT(bf16 / f32, 0.8);
  EXPECT_GT(bf16 / f32, 0.4);
}

TEST(MixedPrecision, AnOpWithoutA16BitKernelSaysSo) {
  Graph g;
  Node* x = g.input("x", {2, 4}, DType::f16);
  try {  // refused when the node is built, before anything runs
    eval(log_softmax(x), {{x, Tensor::zeros({2, 4}, DType::f16)}});
    ADD_FAILURE() << "an f16 log_softmax ran";
  } catch (const DTypeError& e) {
    EXPECT_NE(std::string(e.what()).find("f16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gw
