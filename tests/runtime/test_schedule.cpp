// test_schedule.cpp — the Executor's schedule: only what the outputs need, each node once,
// inputs before readers, leaves bound rather than run, 10⁵-node chains without recursion,
// and state-mutating nodes (AdamW) after every pure node.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "gw/executor.h"
#include "gw/ops.h"
#include "runtime_graphs.h"
#include "testing.h"

namespace gw {
namespace {

using testing::all_close;
using testing::random_tensor;

TEST(Schedule, RunsInputsBeforeTheirReadersAndEachNodeOnce) {
  testing::TestGraph t = testing::mlp_graph();
  Executor ex(*t.graph, t.outputs);
  std::set<const Node*> done;
  for (const Node* n : ex.schedule()) {
    EXPECT_FALSE(n->is_leaf()) << n->str() << ": leaves are bound, not run";
    EXPECT_TRUE(done.insert(n).second) << n->str() << " is scheduled twice";
    for (const Node* in : n->inputs)
      EXPECT_TRUE(in->is_leaf() || done.count(in))
          << in->str() << " runs after its reader " << n->str();
  }
  for (const Node* out : t.outputs) EXPECT_TRUE(done.count(out)) << out->str() << " never runs";
}

TEST(Schedule, LeavesOutOnlyWhatTheOutputsDoNotNeed) {
  Graph g;
  Node* x = g.input("x", {4});
  Node* a = exp(x);
  Node* unused = mul(a, 2.0);  // built, but no output needs it
  Node* b = neg(a);
  Executor ex(g, {b});
  ASSERT_EQ(ex.schedule().size(), 2u);
  EXPECT_EQ(ex.schedule()[0], a);
  EXPECT_EQ(ex.schedule()[1], b);
  (void)unused;
}

TEST(Schedule, HundredThousandNodeChainSchedulesAndRuns) {
  constexpr int kLength = 100000;
  Graph g;
  Node* x = g.input("x", {16});
  Node* c = x;
  for (int i = 0; i < kLength; ++i) c = neg(c);  // an even count of negations is x itself
  Executor ex(g, {c});
  ASSERT_EQ(ex.schedule().size(), static_cast<size_t>(kLength));
  EXPECT_LE(ex.plan().arena_bytes, 2 * 64) << "a chain needs two live buffers at a time";
  const Tensor in = random_tensor({16});
  const std::vector<Tensor> got = ex.run({{x, in}});
  EXPECT_TRUE(all_close(got[0], in, 0, 0));
  EXPECT_EQ(ex.evaluations(), kLength);
}

// An AdamW step on one parameter, with a gradient the graph computes from an Input.
struct AdamwGraph {
  Graph g;
  Node* x = nullptr;       // the Input that the gradient is computed from
  Node* p = nullptr;       // the parameter AdamW updates in place
  Node* update = nullptr;  // the AdamW node
  static constexpr double kLr = 0.1;

  AdamwGraph() {
    x = g.input("x", {6});
    p = g.parameter("p", random_tensor({6}, DType::f32, 5));
    Node* m = g.parameter("m", Tensor::zeros({6}), false);
    Node* v = g.parameter("v", Tensor::zeros({6}), false);
    // Step t = 1: [lr, 1 − β1, 1 − β2, grad_scale].
    Node* scalars = g.constant(Tensor::from_values({4}, {kLr, 1 - 0.9, 1 - 0.95, 1.0}));
    Node* grad = mul(x, 3.0);
    update = adamw(p, grad, m, v, scalars, 0.9, 0.95, 1e-12, 0.0);
  }
};

TEST(Schedule, MutatingNodeRunsAfterPureNodesThatReadItsParameter) {
  AdamwGraph a;
  Node* reader = mul(a.p, 2.0);  // built after the update, but reads the old p
  const Tensor old_p = a.p->value.clone();
  Executor ex(a.g, {a.update, reader});
  EXPECT_EQ(ex.schedule().back(), a.update);
  const std::vector<Tensor> got = ex.run({{a.x, random_tensor({6}, DType::f32, 9)}});
  std::vector<double> expected = old_p.to_doubles();
  for (double& e : expected) e *= 2.0;
  EXPECT_TRUE(all_close(got[1], Tensor::from_values({6}, expected), 1e-6, 1e-6))
      << "the pure reader saw the parameter after the update";
  EXPECT_FALSE(all_close(a.p->value, old_p, 1e-3, 0)) << "AdamW did not update p";
}

TEST(Schedule, MutatingOutputBringsItsAncestorsAlong) {
  AdamwGraph a;
  const Tensor old_p = a.p->value.clone();
  Executor ex(a.g, {a.update});
  ASSERT_EQ(ex.schedule().size(), 2u) << "the gradient (mul) and the update";
  EXPECT_EQ(ex.schedule()[0]->op, Op::MulScalar);
  const Tensor x = random_tensor({6}, DType::f32, 9);
  ex.run({{a.x, x}});
  // First Adam step: m̂ = g and v̂ = g², so p moves by lr against the sign of g = 3x.
  const std::vector<double> p0 = old_p.to_doubles(), xs = x.to_doubles();
  std::vector<double> expected(p0.size());
  for (size_t i = 0; i < p0.size(); ++i)
    expected[i] = p0[i] - AdamwGraph::kLr * (xs[i] > 0 ? 1.0 : -1.0);
  EXPECT_TRUE(all_close(a.p->value, Tensor::from_values({6}, expected), 1e-5, 1e-5));
}

TEST(Schedule, MutatingNodesKeepGraphOrder) {
  AdamwGraph a;
  Node* p2 = a.g.parameter("p2", random_tensor({6}, DType::f32, 6));
  Node* m2 = a.g.parameter("m2", Tensor::zeros({6}), false);
  Node* v2 = a.g.parameter("v2", Tensor::zeros({6}), false);
  Node* second = adamw(p2, exp(a.x), m2, v2, a.update->inputs[4], 0.9, 0.95, 1e-8, 0.0);
  Executor ex(a.g, {second, a.update});  // listed in the other order
  const std::vector<Node*>& s = ex.schedule();
  ASSERT_GE(s.size(), 2u);
  EXPECT_EQ(s[s.size() - 2], a.update);
  EXPECT_EQ(s[s.size() - 1], second);
}

}  // namespace
}  // namespace gw
