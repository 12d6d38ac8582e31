// test_rule_table.cpp — the op table drives these tests (as ggml's test-backend-ops): every op
// with a VJP rule is gradchecked, every op with a JVP rule is checked against numerical
// directional derivatives, on small random f64 instances built by one factory per case.
// An op with no rule must be in an explicit exempt list, and every rule must be covered.
#include <functional>
#include <set>
#include <string>

#include "autodiff_testing.h"

namespace gw {
namespace {

using testing::random_param;
using testing::random_tensor;

/// One small instance of an op: builds the output and the leaves to differentiate by.
struct Case {
  std::string name;
  std::function<Node*(Graph&, std::vector<Node*>&)> build;
  double eps = 1e-6;   ///< central-difference step
  double atol = 1e-6;  ///< absolute tolerance
};

Node* ids_const(Graph& g, const Shape& shape, int high, uint64_t seed) {
  return g.constant(testing::random_ids(shape, high, seed));
}

// Shorthands: a random f64 parameter appended to wrt.
struct P {
  Graph& g;
  std::vector<Node*>& wrt;
  Node* operator()(const Shape& s, double lo = -1.0, double hi = 1.0) {
    Node* n = random_param(g, "p" + std::to_string(wrt.size()), s, 100 + wrt.size(), lo, hi);
    wrt.push_back(n);
    return n;
  }
};

#define CASE(label, body) \
  Case { label, [](Graph& g, std::vector<Node*>& wrt) -> Node* { P p{g, wrt}; body } }

std::vector<Case> cases() {
  std::vector<Case> c = {
      CASE("neg", return neg(p({2, 3}));),
      CASE("exp", return exp(p({2, 3}));),
      CASE("log", return log(p({2, 3}, 0.5, 2.0));),
      CASE("sin", return sin(p({2, 3}));),
      CASE("cos", return cos(p({2, 3}));),
      CASE("sqrt", return sqrt(p({2, 3}, 0.5, 2.0));),
      CASE("rsqrt", return rsqrt(p({2, 3}, 0.5, 2.0));),
      CASE("relu", return relu(p({3, 4}));),
      CASE("sigmoid", return sigmoid(p({2, 3}));),
      CASE("silu", return silu(p({2, 3}));),
      CASE("tanh", return tanh(p({2, 3}));),
      CASE("add_scalar", return add(p({2, 3}), 1.5);),
      CASE("mul_scalar", return mul(p({2, 3}), -2.5);),
      CASE("pow_scalar", return pow(p({2, 3}, 0.5, 2.0), 2.5);),
      CASE("add", return add(p({2, 3}), p({2, 3}));),
      CASE("add_broadcast", return add(p({2, 3}), p({3}));),
      CASE("sub", return sub(p({2, 3}), p({2, 1}));),
      CASE("mul", return mul(p({2, 3}), p({2, 3}));),
      CASE("mul_broadcast", return mul(p({4, 2, 3}), p({2, 1}));),
      CASE("mul_shared_operand", Node* x = p({2, 3}); return mul(x, x);),
      CASE("div", return div(p({2, 3}), p({2, 3}, 0.5, 2.0));),
      CASE("sum_axis", return sum(p({2, 3, 4}), {1});),
      CASE("sum_all", return sum(p({2, 3}));),
      CASE("sum_keepdims", return sum(p({2, 3}), {-1}, true);),
      CASE("mean_axis", return mean(p({2, 3}), {0});),
      CASE("max_axis", return max(p({3, 4}), {1});),
      CASE("max_all", return max(p({2, 3}));),
      CASE("reshape", return reshape(p({2, 3}), {3, 2});),
      CASE("permute", return permute(p({2, 3, 4}), {2, 0, 1});),
      CASE("broadcast", return broadcast_to(p({2, 1}), {2, 3});),
      CASE("slice", return slice(p({3, 5}), 1, 1, 3);),
      CASE("slice_from_start", return slice(p({4, 2}), 0, 0, 2);),
      CASE("concat", return concat({p({2, 3}), p({2, 2}), p({2, 1})}, 1);),
      CASE("embedding", return embedding(p({5, 3}), ids_const(g, {4}, 5, 7));),
      CASE("embedding_backward", return embedding_backward(ids_const(g, {4}, 5, 8), p({4, 3}), 5);),
      CASE("matmul", return matmul(p({2, 3}), p({3, 4}));),
      CASE("matmul_ta", return matmul(p({3, 2}), p({3, 4}), true, false);),
      CASE("matmul_tb", return matmul(p({2, 3}), p({4, 3}), false, true);),
      CASE("matmul_ta_tb", return matmul(p({3, 2}), p({4, 3}), true, true);),
      CASE("matmul_batched", return matmul(p({2, 2, 3}), p({2, 3, 4}));),
      CASE("matmul_shared_b", return matmul(p({2, 2, 3}), p({3, 4}));),
      CASE("matmul_shared_b_tb", return matmul(p({2, 2, 3}), p({4, 3}), false, true);),
      CASE("softmax", return softmax(p({2, 4}));),
      CASE("softmax_backward", return softmax_backward(p({2, 4}), p({2, 4}));),
      CASE("log_softmax", return log_softmax(p({2, 4}));),
      CASE("log_softmax_backward", return log_softmax_backward(p({2, 4}), p({2, 4}));),
      CASE("softmax_cross_entropy", return softmax_cross_entropy(p({3, 5}), ids_const(g, {3}, 5, 9));),
      CASE("softmax_cross_entropy_backward",
           Node* l = p({3, 5}); Node* t = ids_const(g, {3}, 5, 10);
           return softmax_cross_entropy_backward(l, t, p({3}));),
      CASE("rms_norm", return rms_norm(p({2, 4}), p({4}), 1e-5);),
      CASE("rope", return rope(p({1, 2, 3, 4}));),
      CASE("rope_inverse", return rope(p({1, 2, 3, 4}), 10000.0, true);),
      CASE("attention_causal", return attention(p({1, 2, 3, 4}), p({1, 2, 3, 4}), p({1, 2, 3, 4}), true);),
      CASE("attention", return attention(p({1, 2, 3, 4}), p({1, 2, 3, 4}), p({1, 2, 3, 4}), false);),
      CASE("all_reduce", return all_reduce(p({2, 3}), true);),
  };
  // Through f32 and back: the derivative is 1, but the step must dwarf f32 rounding.
  c.push_back(Case{"cast", [](Graph& g, std::vector<Node*>& wrt) -> Node* {
                     P p{g, wrt};
                     return cast(cast(p({2, 3}), DType::f32), DType::f64);
                   },
                   1e-2, 1e-4});
  return c;
}

// Ops without a rule, and why. Leaves have nothing to differentiate; Compare is piecewise
// constant (treated as zero gradient); quantization and integer ops have no useful gradient;
// AdamW mutates state; the backward ops of RMSNorm and attention have no second-order rule.
const std::set<Op> kVjpExempt = {Op::Input, Op::Parameter, Op::Constant, Op::Compare,
                                 Op::RMSNormBackwardInput, Op::RMSNormBackwardWeight,
                                 Op::AttentionBackward, Op::AdamW, Op::Quantize, Op::Dequantize,
                                 Op::MatMulInt8};
// Every op with a VJP rule also has a JVP rule.
const std::set<Op> kJvpExempt = kVjpExempt;

std::set<Op> ops_covered() {
  std::set<Op> covered;
  for (const Case& c : cases()) {
    Graph g;
    std::vector<Node*> wrt;
    c.build(g, wrt);
    for (const auto& n : g.nodes()) covered.insert(n->op);
  }
  return covered;
}

TEST(RuleTable, EveryOpHasAVjpRuleOrAnExplicitExemption) {
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const Op op = static_cast<Op>(i);
    const bool has_rule = op_def(op).vjp != nullptr;
    const bool exempt = kVjpExempt.count(op) > 0;
    EXPECT_TRUE(has_rule != exempt) << op_name(op) << (has_rule ? ": has a VJP rule but is listed exempt"
                                                                : ": has no VJP rule and no exemption");
  }
}

TEST(RuleTable, EveryOpHasAJvpRuleOrAnExplicitExemption) {
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const Op op = static_cast<Op>(i);
    const bool has_rule = op_def(op).jvp != nullptr;
    const bool exempt = kJvpExempt.count(op) > 0;
    EXPECT_TRUE(has_rule != exempt) << op_name(op) << (has_rule ? ": has a JVP rule but is listed exempt"
                                                                : ": has no JVP rule and no exemption");
  }
}

TEST(RuleTable, EveryRuleIsCoveredByATestCase) {
  const std::set<Op> covered = ops_covered();
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const Op op = static_cast<Op>(i);
    if (op_def(op).vjp || op_def(op).jvp) {
      EXPECT_TRUE(covered.count(op)) << op_name(op) << " has a rule but no case in cases()";
    }
  }
}

class OpRules : public ::testing::TestWithParam<Case> {};

// Weights the output by a fixed random tensor before summing, so that an op whose plain sum is
// constant (softmax rows sum to 1) still has a nonzero gradient to check.
Node* weighted_sum(Node* out) {
  Node* w = out->graph->constant(random_tensor(out->shape, out->dtype, 4242, 0.5, 1.5));
  return sum(mul(out, w));
}

TEST_P(OpRules, VjpMatchesNumericalGradient) {
  const Case& c = GetParam();
  Graph g;
  std::vector<Node*> wrt;
  Node* out = c.build(g, wrt);
  GradcheckOptions options;
  options.eps = c.eps;
  options.atol = c.atol;
  const GradcheckReport report = gradcheck_graph(weighted_sum(out), wrt, {}, options);
  EXPECT_TRUE(report.passed) << c.name << ":\n" << report.str();
}

TEST_P(OpRules, JvpMatchesNumericalDirectionalDerivative) {
  const Case& c = GetParam();
  Graph g;
  std::vector<Node*> wrt;
  Node* out = c.build(g, wrt);
  bool all_rules = true;
  for (const auto& n : g.nodes()) all_rules = all_rules && (n->is_leaf() || n->def().jvp);
  if (!all_rules) GTEST_SKIP() << c.name << " uses an op that is JVP-exempt";
  std::vector<Node*> directions;
  std::vector<Tensor> dirs;
  for (size_t i = 0; i < wrt.size(); ++i) {
    dirs.push_back(random_tensor(wrt[i]->shape, DType::f64, 900 + i));
    directions.push_back(g.constant(dirs.back()));
  }
  const std::vector<double> analytic = eval(jvp(out, wrt, directions)).to_doubles();
  // (f(x + εv) − f(x − εv)) / 2ε, every output element at once.
  auto shifted = [&](double step) {
    std::vector<Tensor> saved;
    for (size_t i = 0; i < wrt.size(); ++i) {
      saved.push_back(wrt[i]->value);
      std::vector<double> x = saved.back().to_doubles(), v = dirs[i].to_doubles();
      for (size_t j = 0; j < x.size(); ++j) x[j] += step * v[j];
      wrt[i]->value = Tensor::from_values(wrt[i]->shape, x, DType::f64);
    }
    std::vector<double> y = eval(out).to_doubles();
    for (size_t i = 0; i < wrt.size(); ++i) wrt[i]->value = saved[i];
    return y;
  };
  const std::vector<double> plus = shifted(c.eps), minus = shifted(-c.eps);
  ASSERT_EQ(analytic.size(), plus.size());
  for (size_t j = 0; j < plus.size(); ++j) {
    const double numeric = (plus[j] - minus[j]) / (2 * c.eps);
    EXPECT_NEAR(analytic[j], numeric, c.atol + 1e-4 * std::fabs(numeric))
        << c.name << ": tangent element " << j;
  }
}

// As MLX checks: the two rules describe the same Jacobian J, so for random v and w,
// wᵀ(J v) from the JVP equals (Jᵀ w)ᵀ v from the VJP.
TEST_P(OpRules, JvpAndVjpAgree) {
  const Case& c = GetParam();
  Graph g;
  std::vector<Node*> wrt;
  Node* out = c.build(g, wrt);
  bool all_rules = true;
  for (const auto& n : g.nodes()) all_rules = all_rules && (n->is_leaf() || n->def().jvp);
  if (!all_rules) GTEST_SKIP() << c.name << " uses an op that is JVP-exempt";
  std::vector<Node*> directions;
  for (size_t i = 0; i < wrt.size(); ++i)
    directions.push_back(g.constant(random_tensor(wrt[i]->shape, DType::f64, 700 + i)));
  Node* w = g.constant(random_tensor(out->shape, out->dtype, 800));
  const double forward = eval(sum(mul(jvp(out, wrt, directions), w))).item();
  const std::vector<Node*> grads = gradients(sum(mul(out, w)), wrt);
  double reverse = 0;
  for (size_t i = 0; i < wrt.size(); ++i) reverse += eval(sum(mul(grads[i], directions[i]))).item();
  EXPECT_NEAR(forward, reverse, 1e-2 * c.atol * (1 + std::fabs(reverse))) << c.name;
}

// Lab 03's backprop (rules on concrete values) and lab 04's backward graph agree on every op.
TEST_P(OpRules, BackpropMatchesTheBackwardGraph) {
  const Case& c = GetParam();
  Graph g;
  std::vector<Node*> wrt;
  Node* out = weighted_sum(c.build(g, wrt));
  const auto adjoints = backprop(out);
  const std::vector<Tensor> built = eval(gradients(out, wrt));
  for (size_t i = 0; i < wrt.size(); ++i) {
    ASSERT_TRUE(adjoints.count(wrt[i])) << c.name << ": no adjoint for input " << i;
    const std::vector<double> a = adjoints.at(wrt[i]).to_doubles(), b = built[i].to_doubles();
    ASSERT_EQ(a.size(), b.size()) << c.name;
    for (size_t j = 0; j < a.size(); ++j)
      EXPECT_NEAR(a[j], b[j], 1e-12 * (1 + std::fabs(b[j]))) << c.name << ": input " << i << " element " << j;
  }
}

// The harness itself must be able to fail: a wrong rule swapped into the table is caught.
TEST(RuleTable, GradcheckCatchesAWrongRuleSwappedIntoTheTable) {
  OpDef& sin_def = mutable_op_def(Op::Sin);
  const VjpRule saved = sin_def.vjp;
  sin_def.vjp = [](Node& y, Node* g) -> std::vector<Node*> { return {mul(g, sin(y.inputs[0]))}; };
  Graph g;
  Node* x = random_param(g, "x", {3}, 5);
  const GradcheckReport report = gradcheck_graph(sum(sin(x)), {x}, {});
  sin_def.vjp = saved;
  EXPECT_FALSE(report.passed) << report.str();
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpRules, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace gw
