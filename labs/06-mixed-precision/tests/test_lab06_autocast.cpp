// test_lab06_autocast.cpp — public tests of lab 06's graph passes: autocast on a small model
// (which nodes compute in bf16, which stay f32, which casts it adds, what the outputs become,
// how close the numbers stay), fold_casts on exact and inexact pairs, and the 16-bit weight
// copies of f32 masters.
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gw/autocast.h"
#include "gw/error.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/rng.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

// A (rows, cols) f32 tensor of uniform values in [−scale, scale) from (seed, stream).
Tensor uniform(int64_t rows, int64_t cols, uint64_t stream, double scale = 1.0) {
  std::vector<double> v(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = scale * (2.0 * uniform_float(42, stream, i) - 1.0);
  return Tensor::from_values({rows, cols}, v);
}

// dtype names of `nodes`, for messages and observations.
std::string dtypes(const std::vector<Node*>& nodes) {
  std::string s;
  for (const Node* n : nodes) s += std::string(s.empty() ? "" : " ") + dtype_name(n->dtype);
  return s;
}

// A two-layer MLP classifier: logits = relu(x W1) W2, loss = mean cross-entropy.
struct Mlp {
  Graph graph;
  Node* x = nullptr;
  Node* targets = nullptr;
  Node* w1 = nullptr;
  Node* w2 = nullptr;
  Node* h = nullptr;       // matmul(x, W1)
  Node* act = nullptr;     // relu(h)
  Node* logits = nullptr;  // matmul(act, W2)
  Node* ce = nullptr;      // softmax_cross_entropy(logits, targets)
  Node* loss = nullptr;    // mean(ce)
  Feeds feeds;

  Mlp() {
    x = graph.input("x", {8, 16});
    targets = graph.input("targets", {8}, DType::i32);
    w1 = graph.parameter("w1", uniform(16, 32, 1, 0.25));
    w2 = graph.parameter("w2", uniform(32, 10, 2, 0.25));
    h = matmul(x, w1);
    act = relu(h);
    logits = matmul(act, w2);
    ce = softmax_cross_entropy(logits, targets);
    loss = mean(ce);
    feeds[x] = uniform(8, 16, 3);
    feeds[targets] = Tensor::from_vector<int32_t>({8}, {0, 1, 2, 3, 4, 5, 6, 7});
  }
};

// ---- autocast ------------------------------------------------------------------------------

TEST(Autocast, AnMlpRunsItsMatmulsInBf16AndItsLossInF32) {
  Mlp m;
  const std::vector<Tensor> before = eval({m.loss, m.logits}, m.feeds);
  const double loss32 = before[0].item();
  const AutocastResult r = autocast({m.loss, m.logits}, DType::bf16);

  const std::vector<Node*> low = {m.h, m.act, m.logits};
  observe::text("dtypes of matmul, relu, matmul", dtypes(low));
  for (const Node* n : low) EXPECT_EQ(n->dtype, DType::bf16) << n->str();
  // The first product reads casts of x and W1; the second reads the bf16 relu as it is
  // (no cast needed) and a cast of W2.
  for (const Node* in : {m.h->inputs[0], m.h->inputs[1], m.logits->inputs[1]}) {
    EXPECT_EQ(in->op, Op::Cast) << in->str();
    EXPECT_EQ(in->dtype, DType::bf16) << in->str();
  }
  observe::flag("the second product reads the relu", m.logits->inputs[0] == m.act);
  EXPECT_EQ(m.logits->inputs[0], m.act);
  // The cross-entropy reads an f32 cast of the bf16 logits; the mean and the loss stay f32.
  observe::text("cross-entropy input dtype", dtype_name(m.ce->inputs[0]->dtype));
  EXPECT_EQ(m.ce->inputs[0]->op, Op::Cast);
  EXPECT_EQ(m.ce->inputs[0]->dtype, DType::f32);
  EXPECT_EQ(m.ce->dtype, DType::f32);
  observe::text("loss dtype", dtype_name(m.loss->dtype));
  EXPECT_EQ(m.loss->dtype, DType::f32);

  // The loss output is the same node; the logits output, now bf16, comes back as its f32
  // cast: the very cast the cross-entropy reads (one cast per value and dtype).
  ASSERT_EQ(r.outputs.size(), 2u);
  observe::flag("the loss output is the same node", r.outputs[0] == m.loss);
  EXPECT_EQ(r.outputs[0], m.loss);
  observe::flag("the logits output is the cross-entropy's cast", r.outputs[1] == m.ce->inputs[0]);
  EXPECT_EQ(r.outputs[1], m.ce->inputs[0]);

  // x, W1, W2 to bf16 and the logits back to f32; relu needed none.
  observe::count("casts inserted", r.casts_inserted);
  EXPECT_EQ(r.casts_inserted, 4);
  observe::count("low nodes", r.low_nodes);
  EXPECT_EQ(r.low_nodes, 3);
  observe::count("casts folded", r.casts_folded);
  EXPECT_EQ(r.casts_folded, 0);

  // bf16 keeps 8 bits of mantissa: the loss moves by a fraction of a percent, not more.
  const std::vector<Tensor> after = eval(r.outputs, m.feeds);
  const double loss16 = after[0].item();
  observe::value("bf16 loss", loss16, 0.02 * loss32);
  EXPECT_NEAR(loss16, loss32, 0.01 * loss32);
  EXPECT_NE(loss16, loss32) << "the products did not change precision";
  const std::vector<double> l32 = before[1].to_doubles(), l16 = after[1].to_doubles();
  double worst = 0;
  for (size_t i = 0; i < l32.size(); ++i) worst = std::max(worst, std::abs(l16[i] - l32[i]));
  observe::value("largest logit change", worst, 0.05);
  EXPECT_LT(worst, 0.05);
}

TEST(Autocast, ResidualAddsWidenToF32AndNormsReadF32) {
  // x + norm(x) W: the add meets an f32 value and a bf16 one, so both go f32; the norm is
  // computed in f32 from an f16 input.
  Graph g;
  Node* x = g.input("x", {4, 8}, DType::f16);
  Node* w = g.parameter("w", uniform(8, 8, 5, 0.3));
  Node* scale = g.parameter("scale", Tensor::full({8}, 1.0));
  Node* wide = cast(x, DType::f32);
  Node* normed = rms_norm(wide, scale);
  Node* y = add(wide, matmul(normed, w));
  const AutocastResult r = autocast({y}, DType::bf16);
  observe::text("norm, matmul, add dtypes", dtypes({normed, y->inputs[1], y}));
  EXPECT_EQ(normed->dtype, DType::f32);
  EXPECT_EQ(y->inputs[1]->op, Op::Cast) << "the bf16 product must be cast to f32 for the add";
  EXPECT_EQ(y->inputs[1]->inputs[0]->dtype, DType::bf16);
  EXPECT_EQ(y->dtype, DType::f32);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_EQ(r.outputs[0], y);
  observe::count("casts inserted", r.casts_inserted);
  EXPECT_EQ(r.casts_inserted, 3);  // normed and w to bf16, the product back to f32
}

TEST(Autocast, OnlyF16AndBf16AreLowDtypes) {
  {  // f16 is one: the same MLP in f16
    Mlp f16;
    const AutocastResult r = autocast({f16.loss}, DType::f16);
    observe::text("f16 dtypes of matmul, relu, matmul", dtypes({f16.h, f16.act, f16.logits}));
    EXPECT_EQ(r.low_nodes, 3);
    EXPECT_EQ(f16.logits->dtype, DType::f16);
  }
  Mlp m;
  for (DType t : {DType::f32, DType::f64, DType::i8}) {
    const std::string what = std::string("autocast to ") + dtype_name(t);
    try {
      autocast({m.loss}, t);
      observe::no_error(what);
      ADD_FAILURE() << what << " was accepted";
    } catch (const DTypeError& e) {
      observe::error(what, e);
    }
  }
}

// ---- fold_casts ----------------------------------------------------------------------------

TEST(FoldCasts, AnExactRoundTripFoldsAwayAndARoundingOneStays) {
  Graph g;
  Node* x16 = g.input("x16", {4, 4}, DType::bf16);
  Node* x32 = g.input("x32", {4, 4});
  Node* w = g.parameter("w", uniform(4, 4, 7));
  // bf16 → f32 is exact, so autocast's cast back to bf16 for the matmul reads x16 itself.
  Node* y = matmul(cast(x16, DType::f32), w);
  const AutocastResult r = autocast({y}, DType::bf16);
  observe::flag("the matmul reads the bf16 input directly", y->inputs[0] == x16);
  EXPECT_EQ(y->inputs[0], x16) << "reads " << y->inputs[0]->str();
  observe::count("casts folded", r.casts_folded);
  EXPECT_EQ(r.casts_folded, 2);

  // f32 → bf16 → f32 rounds: nothing to fold. A cast to a value's own dtype is nothing.
  Node* rounded = cast(cast(x32, DType::bf16), DType::f32);
  Node* same = cast(x32, DType::f32);
  const FoldResult f = fold_casts({rounded, same});
  ASSERT_EQ(f.outputs.size(), 2u);
  observe::flag("the rounding pair stays", f.outputs[0] == rounded &&
                                               rounded->inputs[0]->op == Op::Cast);
  EXPECT_EQ(f.outputs[0], rounded);
  EXPECT_EQ(rounded->inputs[0]->op, Op::Cast);
  observe::flag("a cast to its own dtype is its input", f.outputs[1] == x32);
  EXPECT_EQ(f.outputs[1], x32);
  observe::count("folded", f.folded);
  EXPECT_EQ(f.folded, 1);
}

// ---- 16-bit copies of f32 master weights --------------------------------------------------

TEST(WeightCopies, MatmulWeightsGetBf16CopiesAndNormWeightsDoNot) {
  Graph g;
  Node* x = g.input("x", {4, 8});
  Node* w = g.parameter("w", uniform(8, 8, 9));
  Node* scale = g.parameter("scale", Tensor::full({8}, 1.0));
  Node* y = mean(matmul(rms_norm(x, scale), w));
  const AutocastResult r = autocast({y}, DType::bf16);
  const LowPrecisionWeights lw = keep_low_precision_copies(r.outputs, {w, scale}, DType::bf16);
  observe::count("copies", static_cast<int64_t>(lw.copies.size()));
  ASSERT_EQ(lw.copies.size(), 1u);
  const WeightCopy& c = lw.copies[0];
  EXPECT_EQ(c.master, w);
  observe::text("copy", c.copy->name + " " + dtype_name(c.copy->dtype));
  EXPECT_EQ(c.copy->name, "w.bf16");
  EXPECT_EQ(c.copy->dtype, DType::bf16);
  EXPECT_TRUE(c.copy->is_trainable());
  // The copy holds the rounded master, bit for bit.
  const Tensor want = w->value.astype(DType::bf16);
  observe::tensor("copy value", c.copy->value);
  EXPECT_EQ(std::memcmp(c.copy->value.raw(), want.raw(), want.nbytes()), 0);
  // The product reads the copy; refresh is cast(w, bf16).
  Node* product = y->inputs[0]->op == Op::Cast ? y->inputs[0]->inputs[0] : y->inputs[0];
  ASSERT_EQ(product->op, Op::MatMul) << product->str();
  observe::flag("the matmul reads the copy", product->inputs[1] == c.copy);
  EXPECT_EQ(product->inputs[1], c.copy);
  EXPECT_EQ(c.refresh->op, Op::Cast);
  EXPECT_EQ(c.refresh->inputs[0], w);
  observe::text("trainable", lw.trainable.size() == 2
                                 ? lw.trainable[0]->name + " " + lw.trainable[1]->name
                                 : std::string("?"));
  ASSERT_EQ(lw.trainable.size(), 2u);
  EXPECT_EQ(lw.trainable[0], c.copy);
  EXPECT_EQ(lw.trainable[1], scale);
}

TEST(WeightCopies, TheMasterKeepsUpdatesTooSmallForBf16) {
  // 100 updates of +1e-3 to a weight of 1: each is below half of bf16's step at 1 (2⁻⁸), so
  // a bf16 weight never moves, while the master reaches 1.1 and its copy bf16(1.1).
  Graph g;
  Node* x = g.input("x", {1, 1});
  Node* w = g.parameter("w", Tensor::full({1, 1}, 1.0));
  Node* y = matmul(x, w);
  const AutocastResult r = autocast({y}, DType::bf16);
  const LowPrecisionWeights lw = keep_low_precision_copies(r.outputs, {w}, DType::bf16);
  ASSERT_EQ(lw.copies.size(), 1u);
  Executor refresh(g, {lw.copies[0].refresh});
  float in_bf16 = 1.0f;
  for (int i = 0; i < 100; ++i) {
    w->value.data<float>()[0] += 1e-3f;
    lw.copies[0].copy->value.copy_from(refresh.run({})[0]);
    in_bf16 = bf16_bits_to_float(float_to_bf16_bits(in_bf16 + 1e-3f));
  }
  const double copy = lw.copies[0].copy->value.to_doubles()[0];
  observe::value("bf16 weight updated in bf16", in_bf16);
  EXPECT_EQ(in_bf16, 1.0f);
  observe::value("copy of the master", copy);
  EXPECT_EQ(copy, 1.1015625);  // bf16(1.1)
  const Tensor out = eval(r.outputs[0], {{x, Tensor::full({1, 1}, 1.0)}});
  observe::value("the product reads the copy", out.item());
  EXPECT_EQ(out.item(), 1.1015625);
}

TEST(WeightCopies, MastersMustBeF32ParametersAndF16CopiesWork) {
  Graph g;
  Node* x = g.input("x", {2, 2});
  Node* v = g.parameter("v", Tensor::full({2, 2}, 0.1));
  const AutocastResult r = autocast({matmul(x, v)}, DType::f16);
  const LowPrecisionWeights lw = keep_low_precision_copies(r.outputs, {v}, DType::f16);
  observe::text("f16 copy", lw.copies.empty() ? std::string("none")
                                              : lw.copies[0].copy->name + " " +
                                                    dtype_name(lw.copies[0].copy->dtype));
  ASSERT_EQ(lw.copies.size(), 1u);
  EXPECT_EQ(lw.copies[0].copy->name, "v.f16");
  Node* w = g.parameter("w", Tensor::zeros({2, 2}, DType::f64));
  try {
    keep_low_precision_copies({matmul(cast(x, DType::f64), w)}, {w}, DType::bf16);
    observe::no_error("an f64 master");
    ADD_FAILURE() << "an f64 master was accepted";
  } catch (const UsageError& e) {
    observe::error("an f64 master", e);
  }
}

}  // namespace
}  // namespace gw
