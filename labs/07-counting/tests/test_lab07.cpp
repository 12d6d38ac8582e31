// test_lab07.cpp — public tests of lab 07 (FLOP and memory counting): the per-op formulas,
// the lecture's intensities, the counting pass against the analytic table on the trainer's
// cpu-tiny model, the lecture's numbers (Llama-2-7B, Llama 3 405B, GPT-3), the memory
// prediction against the allocator's measurement, and activation checkpointing.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "counting_testing.h"
#include "gw/checkpointing.h"
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"

namespace gw {
namespace {

using labs::cpu_tiny;
using labs::letters_of;
using labs::measure_training_step;
using labs::within;

// ---- per-op formulas ---------------------------------------------------------------------

double flops_of(const Node* n) { return n->def().flops(*n); }

TEST(CostRules, MatmulIsMTimesHTimesTwoNMinusOne) {
  Graph g;
  Node* c = matmul(g.input("a", {3, 5}), g.input("b", {5, 7}));
  LAB_EXPECT_EQ(flops_of(c), 3.0 * 7 * (2 * 5 - 1))
      << "(3×5)·(5×7): 21 outputs of 5 products and 4 adds";
  Node* t = matmul(g.input("at", {2, 5, 3}), g.input("bt", {2, 7, 5}), true, true);
  LAB_EXPECT_EQ(flops_of(t), 2.0 * 3 * 7 * 9) << "batched, both transposed: batch·m·h·(2n − 1)";
}

TEST(CostRules, AnEmptyDimensionDoesNoArithmetic) {
  Graph g;
  LAB_EXPECT_EQ(flops_of(matmul(g.input("a", {3, 0}), g.input("b", {0, 7}))), 0)
      << "k = 0: 21 empty sums, not −21 FLOPs";
  LAB_EXPECT_EQ(flops_of(sum(g.input("x", {4, 0}), {1})), 0) << "4 sums of nothing";
}

TEST(CostRules, ElementwiseCountsOperationsPerElement) {
  Graph g;
  Node* x = g.input("x", {4, 6});
  LAB_EXPECT_EQ(flops_of(exp(x)), 24);
  LAB_EXPECT_EQ(flops_of(add(x, x)), 24);
  LAB_EXPECT_EQ(flops_of(mul(x, 2.0)), 24);
  LAB_EXPECT_EQ(flops_of(rsqrt(x)), 48) << "rsqrt = sqrt, then a divide";
  LAB_EXPECT_EQ(flops_of(sigmoid(x)), 72) << "sigmoid = exp, add, divide";
  LAB_EXPECT_EQ(flops_of(silu(x)), 96) << "silu = a sigmoid, then a multiply";
  LAB_EXPECT_EQ(flops_of(cast(x, DType::f64)), 0) << "a conversion is no arithmetic";
}

TEST(CostRules, AReductionOfKNumbersIsKMinusOneOperations) {
  Graph g;
  Node* x = g.input("x", {4, 6});
  LAB_EXPECT_EQ(flops_of(sum(x, {1})), 4 * 5) << "4 rows of 6: 5 adds each";
  LAB_EXPECT_EQ(flops_of(sum(x)), 23);
  LAB_EXPECT_EQ(flops_of(max(x, {1}, true)), 20);
  LAB_EXPECT_EQ(flops_of(mean(x, {0})), 6 * 3 + 6) << "6 columns of 4: 3 adds and a divide each";
}

TEST(CostRules, SoftmaxRmsNormAndRopeFollowTheLecturesTable) {
  Graph g;
  LAB_EXPECT_EQ(flops_of(softmax(g.input("s", {4, 6}))), 3 * 24);
  Node* x = g.input("x", {2, 3, 8});  // b·s = 6 rows of h = 8
  LAB_EXPECT_EQ(flops_of(rms_norm(x, g.input("w", {8}))), 4.0 * 48 + 2 * 6) << "4bsh + 2bs";
  LAB_EXPECT_EQ(flops_of(rope(g.input("q", {1, 2, 3, 4}))), 3 * 24) << "3 per element";
}

TEST(CostRules, AttentionIsScoresSoftmaxAndPv) {
  Graph g;
  Node* q = g.input("q", {2, 3, 5, 4});  // b 2, n 3, s 5, d 4
  Node* o = attention(q, g.input("k", {2, 3, 5, 4}), g.input("v", {2, 3, 5, 4}), true);
  // per head: q kᵀ s·s·(2d − 1), softmax 3s², P v s·d·(2s − 1)
  LAB_EXPECT_EQ(flops_of(o), 6.0 * (25 * 7 + 3 * 25 + 20 * 9));
}

TEST(CostRules, CrossEntropyAndTheEmbeddingGather) {
  Graph g;
  Node* loss = softmax_cross_entropy(g.input("l", {6, 10}), g.input("t", {6}, DType::i32));
  LAB_EXPECT_EQ(flops_of(loss), 6.0 * (3 * 10 + 1));
  Node* y = embedding(g.input("table", {10, 8}), g.input("ids", {2, 3}, DType::i32));
  LAB_EXPECT_EQ(flops_of(y), 0) << "a gather does no arithmetic";
  LAB_EXPECT_EQ(y->def().bytes(*y), 6.0 * 4 + 2 * 48 * 4)
      << "the 6 ids, the 6 rows it reads and the 6 rows it writes, not the whole table";
}

// ---- the lecture's intensities -----------------------------------------------------------

TEST(Intensity, AnElementwiseAddIsOneThird) {
  Graph g;
  Node* y = add(g.input("a", {1024}), g.input("b", {1024}));
  const GraphCost c = count_cost({y});
  LAB_EXPECT_NEAR(c.intensity() * dtype_size(DType::f32), 1.0 / 3, 1e-12)
      << "1 FLOP per 3 values moved (the lecture counts values, 4 bytes each in f32)";
}

TEST(Intensity, FusingDPlusAPlusBTimesCGivesThreeFifths) {
  Graph g;
  Node* a = g.input("A", {1024});
  Node* b = g.input("B", {1024});
  Node* c = g.input("C", {1024});
  Node* d = g.input("D", {1024});
  Node* t = add(a, b);
  Node* u = mul(t, c);
  Node* e = add(d, u);
  const GraphCost fused = fused_cost({t, u, e}, {e});
  LAB_EXPECT_EQ(fused.flops, 3 * 1024);
  LAB_EXPECT_NEAR(fused.intensity() * 4, 3.0 / 5, 1e-12)
      << "3 FLOPs per element over A, B, C, D read and E written";
  LAB_EXPECT_NEAR(count_cost({t, u, e}).intensity() * 4, 1.0 / 3, 1e-12) << "unfused: 1/3 each";
}

// ---- the counting pass ---------------------------------------------------------------------

// The trainer's cpu-tiny step (b 12, s 64) as a shapes-only graph, counted.
struct CountedStep {
  Graph graph{Device::cpu(), GraphMode::shapes_only};
  TrainingStep step;
  CostReport cost;
  explicit CountedStep(const ModelShape& shape, int64_t b, int64_t s, bool checkpoint = false) {
    TrainingStepOptions o;
    o.batch = b, o.sequence = s, o.checkpoint_activations = checkpoint;
    step = build_training_step(graph, shape, o);
    cost = count_costs(Executor(graph, step.outputs).schedule());
  }
};

TEST(CountingPass, ForwardOfCpuTinyEqualsTheAnalyticTableExactly) {
  const CountedStep c(cpu_tiny(), 12, 64);
  const LlamaForwardFlops table = llama_forward_flops(letters_of(cpu_tiny(), 12, 64));
  LAB_EXPECT_EQ(c.cost.at(Phase::forward, Category::attention).flops, table.attention());
  LAB_EXPECT_EQ(c.cost.at(Phase::forward, Category::mlp).flops, table.mlp());
  LAB_EXPECT_EQ(c.cost.at(Phase::forward, Category::norm).flops, table.norms());
  LAB_EXPECT_EQ(c.cost.at(Phase::forward, Category::head).flops, table.head_and_loss());
  LAB_EXPECT_EQ(c.cost.at(Phase::forward, Category::embedding).flops, 0);
  LAB_EXPECT_EQ(c.cost.phase(Phase::forward).flops, table.total());
}

TEST(CountingPass, SplitsTheStepIntoForwardBackwardAndOptimizer) {
  const CountedStep c(cpu_tiny(), 12, 64);
  const double forward = c.cost.phase(Phase::forward).flops;
  const double backward = c.cost.phase(Phase::backward).flops;
  LAB_EXPECT_GT(backward, 1.8 * forward) << "two matmuls backward for every one forward";
  LAB_EXPECT_LT(backward, 2.6 * forward);
  LAB_EXPECT_GT(c.cost.at(Phase::optimizer, Category::optimizer).flops, 0) << "AdamW";
  LAB_EXPECT_EQ(c.cost.phase(Phase::recompute).kernels, 0) << "no checkpointing here";
  const GraphCost total = c.cost.total();
  double flops = 0;
  for (const NodeCost& n : c.cost.nodes) flops += n.flops;
  LAB_EXPECT_EQ(flops, total.flops) << "every kernel is listed once";
  LAB_EXPECT_EQ(static_cast<int64_t>(c.cost.nodes.size()), total.kernels);
}

TEST(CountingPass, GivesTheIntensityOfEachNodeAndPart) {
  const CountedStep c(cpu_tiny(), 12, 64);
  for (const NodeCost& n : c.cost.nodes)
    if (n.node->op == Op::MatMul && phase_of(*n.node) == Phase::forward &&
        category_of(*n.node) == Category::mlp) {
      LAB_EXPECT_GT(n.intensity(), 10) << "a (768, 128)·(128, 352) product reuses every value";
      break;
    }
  const GraphCost mlp = c.cost.category(Category::mlp);
  const GraphCost norm = c.cost.category(Category::norm);
  LAB_EXPECT_GT(mlp.intensity(), 10 * norm.intensity()) << "matmuls against a normalization";
}

TEST(CountingPass, AnOpWithoutAFlopRuleIsAnErrorNamingIt) {
  Graph g;
  Node* y = abs(g.input("x", {3}));
  const CountRule saved = replace_flops_for_testing(Op::Abs, nullptr);
  try {
    count_costs({y});
    replace_flops_for_testing(Op::Abs, saved);
    observe::no_error("counting abs without a FLOP rule");
    FAIL() << "counting an op without a FLOP rule must throw, not count 0";
  } catch (const Error& e) {
    replace_flops_for_testing(Op::Abs, saved);
    observe::error("counting abs without a FLOP rule", e);
    observe::flag("the message names abs", std::string(e.what()).find("abs") != std::string::npos);
    EXPECT_NE(std::string(e.what()).find("abs"), std::string::npos) << e.what();
  }
}

// ---- the lecture's numbers -----------------------------------------------------------------

TEST(LectureNumbers, Llama2_7bForwardIs62_97TeraFlops) {
  const LlamaShape llama = LlamaShape::llama2_7b();
  LAB_EXPECT_NEAR(lecture_forward_flops(llama) / 1e12, 62.97, 0.005);
  LAB_EXPECT_NEAR(llama_forward_flops(llama).total() / 1e12, 62.97, 0.005)
      << "row by row, exact matmul counts: still the lecture's 63";
  LAB_EXPECT_EQ(llama_parameter_count(llama), 6738415616) << "Llama-2-7B's 6.74 billion weights";
}

TEST(LectureNumbers, TrainingIsAboutThreeTimesTheForward) {
  const LlamaShape llama = LlamaShape::llama2_7b();
  LAB_EXPECT_EQ(lecture_training_flops(llama), 3 * lecture_forward_flops(llama));
  const CountedStep c(cpu_tiny(), 12, 64);
  const double forward = c.cost.phase(Phase::forward).flops;
  EXPECT_TRUE(within("graph: forward + backward over 3 × forward",
                     forward + c.cost.phase(Phase::backward).flops, 3 * forward, 0.1));
}

TEST(LectureNumbers, Llama3_405bTrainedAt32PercentMfu) {
  const double tokens_per_second = 16.5e12 / (54 * 86400.0);
  LAB_EXPECT_NEAR(mfu(6 * 405e9, tokens_per_second, 16e3 * 1671e12), 0.32, 0.005);
}

TEST(LectureNumbers, Gpt3NeedsSixteenBytesPerWeight) {
  LAB_EXPECT_EQ(adam_training_bytes(175e9) / 1e9, 2800) << "16N = 2800 GB for GPT-3";
  LAB_EXPECT_EQ(gpt_parameter_count(768, 12, 50257), 12.0 * 768 * 768 * 12 + 2.0 * 768 * 50257);
}

TEST(LectureNumbers, ParameterCountMatchesTheModel) {
  Graph g(Device::cpu(), GraphMode::shapes_only);
  const Transformer t = make_transformer(g, cpu_tiny(), 1);
  LAB_EXPECT_EQ(t.parameter_count(), llama_parameter_count(letters_of(cpu_tiny(), 1, 64)));
}

// ---- shapes-only graphs ----------------------------------------------------------------------

TEST(ShapesOnly, CountsLlama2_7bQuicklyWithoutAllocating) {
  const LlamaShape l = LlamaShape::llama2_7b();
  const ModelShape shape = labs::model_of(l.N, l.n, l.h, l.i, l.v, l.s);
  MemoryProbe probe;
  const double start = labs::thread_cpu_seconds();
  const CountedStep c(shape, l.b, l.s);
  const double seconds = labs::thread_cpu_seconds() - start;  // CPU time: load does not count
  EXPECT_LT(probe.peak_extra_bytes(), 1 << 20) << "no tensor of the model is made";
  EXPECT_LT(seconds, 1.0) << "a few thousand nodes: counting them takes a fraction of a second";
  LAB_EXPECT_NEAR(c.cost.phase(Phase::forward).flops / 1e12, 62.97, 0.005);
}

// ---- peak memory: predicted against measured -------------------------------------------------

TEST(PeakMemory, CountsLeavesOnceAndValuesWhileTheyLive) {
  Graph g;
  Node* w = g.parameter("w", Tensor::zeros({100}));        // 400 B, trainable
  Node* m = g.parameter("m", Tensor::zeros({50}), false);  // 200 B, optimizer state
  Node* x = g.input("x", {100});                           // 400 B
  Node* a = mul(x, w);                                     // 400 B, dies at step 1
  Node* b = exp(a);                                        // 400 B, dies at step 2
  Node* c = sum(b);                                        // 4 B, an output
  Node* d = add(sum(m), c);                                // 4 B + 4 B
  Executor ex(g, {d});
  const MemoryEstimate e = predict_memory(ex.schedule(), {d});
  LAB_EXPECT_EQ(e.weights, 400);
  LAB_EXPECT_EQ(e.optimizer_state, 200);
  LAB_EXPECT_EQ(e.inputs, 400);
  LAB_EXPECT_EQ(e.at_peak(), 804)
      << "a and b are both alive while exp reads a and writes b, and sum(m) waits for d";
  LAB_EXPECT_EQ(e.total(), 1804);
}

TEST(PeakMemory, PredictionIsWithin5PercentOfTheMeasuredPeakOnCpuTiny) {
  const labs::MeasuredStep run = measure_training_step(cpu_tiny(), 12, 64, false);
  EXPECT_TRUE(within("predicted against measured peak bytes",
                     static_cast<double>(run.predicted.total()),
                     static_cast<double>(run.measured_peak), 0.05));
  LAB_EXPECT_EQ(run.predicted.persistent(), run.measured_persistent)
      << "weights, AdamW's m and v, the batch and the constants are allocated before the run";
}

TEST(PeakMemory, PredictionIsWithin5PercentWithCheckpointing) {
  const labs::MeasuredStep run = measure_training_step(cpu_tiny(), 12, 64, true);
  EXPECT_TRUE(within("predicted against measured peak bytes",
                     static_cast<double>(run.predicted.total()),
                     static_cast<double>(run.measured_peak), 0.05));
}

// ---- activation checkpointing ----------------------------------------------------------------

TEST(Checkpointing, GradientsAreBitIdentical) {
  const labs::MeasuredStep plain = measure_training_step(cpu_tiny(), 12, 64, false);
  const labs::MeasuredStep ckpt = measure_training_step(cpu_tiny(), 12, 64, true);
  LAB_EXPECT_GT(ckpt.rewrite.cloned, 0);
  LAB_EXPECT_EQ(plain.loss, ckpt.loss);
  EXPECT_TRUE(labs::bit_identical(plain.grads, ckpt.grads))
      << "the recomputed copies must compute the same values";
}

TEST(Checkpointing, CutsTheMeasuredActivationMemoryAsTheLecturePredicts) {
  const double plain =
      static_cast<double>(labs::measure_activation_memory(cpu_tiny(), 12, 64, false));
  const double ckpt =
      static_cast<double>(labs::measure_activation_memory(cpu_tiny(), 12, 64, true));
  const LlamaShape l = letters_of(cpu_tiny(), 12, 64);
  const double f32 = 4;
  EXPECT_TRUE(
      within("measured activation memory", plain, f32 * llama_activation_elements(l, false), 0.10));
  EXPECT_TRUE(within("measured activation memory with checkpointing", ckpt,
                     f32 * llama_activation_elements(l, true), 0.20))
      << "the kept block inputs, one block recomputed, and the backward pass's temporaries";
  const double saving =
      f32 * (llama_activation_elements(l, false) - llama_activation_elements(l, true));
  EXPECT_TRUE(within("measured saving against (N − 1)·(7h + 3i)·T", plain - ckpt, saving, 0.10));
}

TEST(Checkpointing, RecomputesTheBlocksForwardPassOnce) {
  const CountedStep plain(cpu_tiny(), 12, 64);
  const CountedStep ckpt(cpu_tiny(), 12, 64, true);
  const LlamaForwardFlops f = llama_forward_flops(letters_of(cpu_tiny(), 12, 64));
  // Every block again, but for its down projection and last residual add: only the block's
  // output (kept) reads them, and the executor runs no copy that nothing reads.
  const double expected =
      f.attention() + f.mlp() + 2 * f.layers * f.rms_norm - f.layers * (f.down + f.mlp_residual);
  LAB_EXPECT_EQ(ckpt.cost.phase(Phase::recompute).flops, expected);
  LAB_EXPECT_EQ(ckpt.cost.phase(Phase::backward).flops, plain.cost.phase(Phase::backward).flops)
      << "the backward pass itself is unchanged";
  LAB_EXPECT_EQ(ckpt.cost.phase(Phase::forward).flops, plain.cost.phase(Phase::forward).flops);
}

}  // namespace
}  // namespace gw
