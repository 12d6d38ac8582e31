// test_scopes.cpp — what the counting pass stands on: scopes name where nodes were built
// (NameScope nests them, a VJP rule's nodes inherit "backward/" + its node's scope), phases
// and categories are read from them, and a shapes-only graph is counted and planned but never
// allocated or run.
#include <gtest/gtest.h>

#include <string>

#include "gw/allocator.h"
#include "gw/autodiff.h"
#include "gw/cost_model.h"
#include "gw/error.h"
#include "gw/executor.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/training_step.h"

namespace gw {
namespace {

TEST(Scopes, NameScopesNestAndRestore) {
  Graph g;
  Node* x = g.input("x", {3});
  Node* a = nullptr;
  Node* b = nullptr;
  {
    NameScope layer(g, "layer2");
    {
      NameScope part(g, "mlp");
      a = exp(x);
    }
    b = exp(x);
  }
  Node* c = exp(x);
  EXPECT_EQ(a->scope, "layer2/mlp");
  EXPECT_EQ(b->scope, "layer2");
  EXPECT_EQ(c->scope, "");
  EXPECT_EQ(g.scope(), "");
}

TEST(Scopes, AVjpRulesNodesCarryBackwardAndTheirNodesScope) {
  Graph g;
  Node* x = g.input("x", {3}, DType::f64);
  Node* y = nullptr;
  {
    NameScope part(g, "layer0/attention");
    y = sum(sin(x));
  }
  const size_t before = g.size();
  gradients(y, {x});
  ASSERT_GT(g.size(), before);
  for (size_t id = before; id < g.size(); ++id) {
    const Node* n = g.node(static_cast<int>(id));
    if (n->is_leaf() && n->scope.empty()) continue;  // the seed of gradients() itself
    EXPECT_EQ(n->scope, "backward/layer0/attention") << n->str();
    EXPECT_EQ(phase_of(*n), Phase::backward);
    EXPECT_EQ(category_of(*n), Category::attention);
  }
  EXPECT_EQ(g.scope(), "") << "the rule's scope is restored after it runs";
}

TEST(Scopes, PhasesAndCategoriesComeFromTheScope) {
  Graph g;
  Node* x = g.input("x", {3});
  auto in = [&](const std::string& scope) {
    const std::string previous = g.set_scope(scope);
    Node* n = exp(x);
    g.set_scope(previous);
    return n;
  };
  EXPECT_EQ(category_of(*in("layer3/attn_norm")), Category::norm);
  EXPECT_EQ(category_of(*in("final_norm")), Category::norm);
  EXPECT_EQ(category_of(*in("head")), Category::head);
  EXPECT_EQ(category_of(*in("embedding")), Category::embedding);
  EXPECT_EQ(category_of(*in("backward")), Category::other);
  EXPECT_EQ(category_of(*in("optimizer")), Category::optimizer);
  EXPECT_EQ(phase_of(*in("recompute/layer1/mlp")), Phase::recompute);
  EXPECT_EQ(category_of(*in("recompute/layer1/mlp")), Category::mlp);
  EXPECT_EQ(phase_of(*in("layer1/mlp")), Phase::forward);
  EXPECT_EQ(phase_of(*in("optimizer")), Phase::optimizer);
}

TEST(Scopes, ReplacingAVjpRuleForATestKeepsTheScope) {
  Graph g;
  Node* x = g.input("x", {2}, DType::f64);
  Node* y = nullptr;
  {
    NameScope part(g, "mlp");
    y = sum(exp(x));
  }
  const VjpRule saved = replace_vjp_for_testing(
      Op::Exp, [](Node& e, Node* adj) -> std::vector<Node*> { return {mul(adj, &e)}; });
  const size_t before = g.size();
  gradients(y, {x});
  replace_vjp_for_testing(Op::Exp, saved);
  bool found = false;
  for (size_t id = before; id < g.size(); ++id)
    found = found || g.node(static_cast<int>(id))->scope == "backward/mlp";
  EXPECT_TRUE(found);
}

TEST(ShapesOnly, DeclaresWeightsWithoutAllocatingAndRefusesToRun) {
  MemoryProbe probe;
  Graph g(Device::cpu(), GraphMode::shapes_only);
  Node* w = g.parameter("w", {4096, 4096}, DType::f32, true);
  Node* y = matmul(g.input("x", {2, 4096}), w);
  EXPECT_FALSE(w->value.defined());
  EXPECT_EQ(probe.peak_extra_bytes(), 0);
  Executor ex(g, {y});
  EXPECT_EQ(ex.schedule().size(), 1u) << "planned like any graph";
  EXPECT_GT(ex.plan().arena_bytes, 0);
  try {
    ex.run({});
    FAIL() << "a shapes-only graph must not run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shapes-only"), std::string::npos) << e.what();
  }
}

TEST(ShapesOnly, ATrainingStepMatchesTheSameStepWithValues) {
  ModelShape shape;  // cpu-tiny's sizes
  TrainingStepOptions o;
  o.batch = 2, o.sequence = 16;
  Graph with_values;
  Graph shapes(Device::cpu(), GraphMode::shapes_only);
  const TrainingStep a = build_training_step(with_values, shape, o);
  const TrainingStep b = build_training_step(shapes, shape, o);
  ASSERT_EQ(with_values.size(), shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Node* m = with_values.node(static_cast<int>(i));
    const Node* n = shapes.node(static_cast<int>(i));
    EXPECT_EQ(m->op, n->op);
    EXPECT_EQ(m->shape, n->shape);
    EXPECT_EQ(m->scope, n->scope);
  }
  EXPECT_EQ(count_cost(Executor(with_values, a.outputs).schedule()).flops,
            count_cost(Executor(shapes, b.outputs).schedule()).flops);
}

}  // namespace
}  // namespace gw
