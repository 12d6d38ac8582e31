// test_optimizer.cpp — the AdamW graph: decay groups (none on norms and the embedding unless
// asked), global-norm clipping computed in the graph, and one step against a hand-written
// AdamW.
#include <gtest/gtest.h>

#include <cmath>

#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/optim.h"

namespace gw {
namespace {

struct Toy {
  Graph graph;
  std::vector<ModelParameter> params;
  std::vector<Node*> grads;
  Toy(const std::vector<float>& g_values) {
    params.push_back({graph.parameter("w", Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4})),
                      ParamGroup::matrix});
    params.push_back({graph.parameter("norm", Tensor::from_vector<float>({2}, {1, 1})),
                      ParamGroup::norm});
    params.push_back({graph.parameter("emb", Tensor::from_vector<float>({3, 2}, {1, 1, 1, 1, 1, 1})),
                      ParamGroup::embedding});
    size_t at = 0;
    for (const ModelParameter& p : params) {
      std::vector<float> g(static_cast<size_t>(numel(p.node->shape)));
      for (float& x : g) x = g_values.empty() ? 0.0f : g_values[at++ % g_values.size()];
      grads.push_back(graph.constant(Tensor::from_vector<float>(p.node->shape, g)));
    }
  }
  // One step with the given options; returns the clip scale the graph computed.
  double step(const AdamWOptions& o, double lr) {
    OptimizerNodes opt = build_adamw(params, grads, o);
    std::vector<Node*> outs = {opt.clip_scale};
    outs.insert(outs.end(), opt.updates.begin(), opt.updates.end());
    Executor exec(graph, outs);
    return exec.run({{opt.hyper, adamw_hyper(lr, 1, o.beta1, o.beta2)}})[0].item();
  }
};

TEST(AdamW, NormsAndEmbeddingAreNotDecayedByDefault) {
  Toy toy({});  // zero gradients: the only change is the decay p <- p (1 - lr λ)
  AdamWOptions o;
  o.weight_decay = 0.5, o.grad_clip = 0;
  toy.step(o, 0.1);
  EXPECT_FLOAT_EQ(toy.params[0].node->value.to_doubles()[3], 4.0f * (1 - 0.1f * 0.5f));
  for (double x : toy.params[1].node->value.to_doubles()) EXPECT_EQ(x, 1.0) << "norm decayed";
  for (double x : toy.params[2].node->value.to_doubles()) EXPECT_EQ(x, 1.0) << "embedding decayed";
}

TEST(AdamW, DecayNormsEmbeddingsDecaysEveryGroup) {
  Toy toy({});
  AdamWOptions o;
  o.weight_decay = 0.5, o.grad_clip = 0, o.decay_norms_embeddings = true;
  toy.step(o, 0.1);
  for (size_t k = 0; k < 3; ++k)
    EXPECT_FLOAT_EQ(static_cast<float>(toy.params[k].node->value.to_doubles()[0]),
                    1.0f * (1 - 0.1f * 0.5f))  // element 0 of every weight is 1
        << toy.params[k].node->name;
  EXPECT_EQ(group_weight_decay(ParamGroup::norm, o), 0.5);
}

TEST(AdamW, ClipScaleIsComputedFromTheSameStepsGradientNorm) {
  Toy toy({3, 4});  // 6 pairs of (3, 4): ‖g‖ = 5·sqrt(6)
  AdamWOptions o;
  o.grad_clip = 1.0, o.weight_decay = 0;
  const double norm = 5.0 * std::sqrt(6.0);
  EXPECT_NEAR(toy.step(o, 0.0), 1.0 / (norm + 1e-6), 1e-6);
  Toy loose({3, 4});
  o.grad_clip = 100.0;
  EXPECT_EQ(loose.step(o, 0.0), 1.0) << "a norm under the limit must not be scaled";
}

TEST(AdamW, FirstStepMovesEachWeightByLrTimesSignOfGradient) {
  // At t = 1, m̂ = g and v̂ = g², so the step is lr·g/(|g| + eps) ≈ lr·sign(g).
  Toy toy({0.5f, -2.0f});
  AdamWOptions o;
  o.grad_clip = 0, o.weight_decay = 0;
  toy.step(o, 0.01);
  const std::vector<double> w = toy.params[0].node->value.to_doubles();
  EXPECT_NEAR(w[0], 1 - 0.01, 1e-6);
  EXPECT_NEAR(w[1], 2 + 0.01, 1e-6);
}

}  // namespace
}  // namespace gw
