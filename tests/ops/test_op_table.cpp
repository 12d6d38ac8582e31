// test_op_table.cpp — the op table drives these tests (as ggml's test-backend-ops). Every
// case that the family test files register (tests/common/op_cases.h) is checked four ways:
// its VJP against numerical gradients, its JVP against numerical directional derivatives,
// the two rules against each other, and its CUDA kernels (forward and backward graph)
// against the CPU's. An op without a rule must be in an explicit exempt list here, and every
// rule must be covered by a case.
#include <cmath>
#include <set>
#include <string>

#include "cuda_testing.h"
#include "gw/autodiff.h"
#include "gw/ops.h"
#include "op_cases.h"

namespace gw::testing {
namespace {

// Ops without a VJP rule, and why. Leaves have nothing to differentiate; quantization and
// integer ops have no useful gradient; AdamW is an update, not a function to differentiate;
// the backward ops of RMSNorm, SwiGLU and attention have no second-order rule.
const std::set<Op> kVjpExempt = {Op::Input, Op::Parameter, Op::Constant,
                                 Op::RMSNormBackwardInput, Op::RMSNormBackwardWeight,
                                 Op::SwiGLUBackwardGate, Op::SwiGLUBackwardUp,
                                 Op::SwiGLUPackedBackward,
                                 Op::AttentionBackward, Op::FlashAttentionBackward, Op::AdamW,
                                 Op::Quantize, Op::Dequantize, Op::MatMulInt8,
                                 Op::QuantizedLinear};
// Every op with a VJP rule also has a JVP rule.
const std::set<Op> kJvpExempt = kVjpExempt;

/// A case built in a fresh graph: the output and its differentiable leaves.
struct Built {
  explicit Built(const OpCase& c, Device device = Device::cpu(), DType dtype = DType::f64)
      : graph(device) {
    CaseLeaves leaves{graph, dtype, wrt};
    out = c.build(leaves);
  }
  Graph graph;
  std::vector<Node*> wrt;
  Node* out = nullptr;
};

// Weights the output by a fixed random tensor before summing, so that an op whose plain sum is
// constant (softmax rows sum to 1) still has a nonzero gradient to check.
Node* weighted_sum(Node* out) {
  Node* w = out->graph->constant(random_tensor(out->shape, out->dtype, 4242, 0.5, 1.5));
  return sum(mul(out, w));
}

bool every_op_has_a_jvp_rule(const Graph& g) {
  for (const auto& n : g.nodes())
    if (!n->is_leaf() && n->def().jvp == nullptr) return false;
  return true;
}

std::set<Op> ops_covered() {
  std::set<Op> covered;
  for (const OpCase& c : registered_op_cases()) {
    Built b(c);
    for (const auto& n : b.graph.nodes()) covered.insert(n->op);
  }
  return covered;
}

TEST(OpTable, EveryOpHasAVjpRuleOrAnExplicitExemption) {
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const Op op = static_cast<Op>(i);
    const bool has_rule = op_def(op).vjp != nullptr;
    const bool exempt = kVjpExempt.count(op) > 0;
    EXPECT_TRUE(has_rule != exempt)
        << op_name(op)
        << (has_rule ? ": has a VJP rule but is listed exempt" : ": has no VJP rule and no exemption");
  }
}

TEST(OpTable, EveryOpHasAJvpRuleOrAnExplicitExemption) {
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const Op op = static_cast<Op>(i);
    const bool has_rule = op_def(op).jvp != nullptr;
    const bool exempt = kJvpExempt.count(op) > 0;
    EXPECT_TRUE(has_rule != exempt)
        << op_name(op)
        << (has_rule ? ": has a JVP rule but is listed exempt" : ": has no JVP rule and no exemption");
  }
}

TEST(OpTable, EveryRuleIsCoveredByACase) {
  const std::set<Op> covered = ops_covered();
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const Op op = static_cast<Op>(i);
    if (op_def(op).vjp || op_def(op).jvp) {
      EXPECT_TRUE(covered.count(op)) << op_name(op)
                                     << " has a rule but no case in its family's test file";
    }
  }
}

TEST(OpTable, EveryOpHasACpuKernelAndCounts) {
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const OpDef& d = op_def(static_cast<Op>(i));
    EXPECT_NE(d.flops, nullptr) << d.name;
    EXPECT_NE(d.bytes, nullptr) << d.name;
    if (i > static_cast<size_t>(Op::Constant)) {
      EXPECT_TRUE(d.cpu != nullptr || d.is_view) << d.name << " has no CPU kernel";
    }
  }
}

class OpCaseTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpCaseTest, VjpMatchesNumericalGradient) {
  const OpCase& c = GetParam();
  if (!c.differentiable) GTEST_SKIP() << c.name << ": its rule is not the numerical derivative";
  Built b(c);
  GradcheckOptions options;
  options.eps = c.eps;
  options.atol = c.atol;
  const GradcheckReport report = gradcheck_graph(weighted_sum(b.out), b.wrt, {}, options);
  EXPECT_TRUE(report.passed) << c.name << ":\n" << report.str();
}

TEST_P(OpCaseTest, JvpMatchesNumericalDirectionalDerivative) {
  const OpCase& c = GetParam();
  if (!c.differentiable) GTEST_SKIP() << c.name << ": its rule is not the numerical derivative";
  Built b(c);
  if (!every_op_has_a_jvp_rule(b.graph)) GTEST_SKIP() << c.name << " uses a JVP-exempt op";
  std::vector<Node*> directions;
  std::vector<Tensor> dirs;
  for (size_t i = 0; i < b.wrt.size(); ++i) {
    dirs.push_back(random_tensor(b.wrt[i]->shape, DType::f64, 900 + i));
    directions.push_back(b.graph.constant(dirs.back()));
  }
  const std::vector<double> analytic = eval(jvp(b.out, b.wrt, directions)).to_doubles();
  // (f(x + εv) − f(x − εv)) / 2ε, every output element at once.
  auto shifted = [&](double step) {
    std::vector<Tensor> saved;
    for (size_t i = 0; i < b.wrt.size(); ++i) {
      saved.push_back(b.wrt[i]->value);
      std::vector<double> x = saved.back().to_doubles(), v = dirs[i].to_doubles();
      for (size_t j = 0; j < x.size(); ++j) x[j] += step * v[j];
      b.wrt[i]->value = Tensor::from_values(b.wrt[i]->shape, x, DType::f64);
    }
    std::vector<double> y = eval(b.out).to_doubles();
    for (size_t i = 0; i < b.wrt.size(); ++i) b.wrt[i]->value = saved[i];
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
TEST_P(OpCaseTest, JvpAndVjpAgree) {
  const OpCase& c = GetParam();
  Built b(c);
  if (!every_op_has_a_jvp_rule(b.graph)) GTEST_SKIP() << c.name << " uses a JVP-exempt op";
  std::vector<Node*> directions;
  for (size_t i = 0; i < b.wrt.size(); ++i)
    directions.push_back(b.graph.constant(random_tensor(b.wrt[i]->shape, DType::f64, 700 + i)));
  Node* w = b.graph.constant(random_tensor(b.out->shape, b.out->dtype, 800));
  const double forward = eval(sum(mul(jvp(b.out, b.wrt, directions), w))).item();
  const std::vector<Node*> grads = gradients(sum(mul(b.out, w)), b.wrt);
  double reverse = 0;
  for (size_t i = 0; i < b.wrt.size(); ++i)
    reverse += eval(sum(mul(grads[i], directions[i]))).item();
  EXPECT_NEAR(forward, reverse, 1e-2 * c.atol * (1 + std::fabs(reverse))) << c.name;
}

// Lab 03's backprop (rules on concrete values) and lab 04's backward graph agree on every op.
TEST_P(OpCaseTest, BackpropMatchesTheBackwardGraph) {
  const OpCase& c = GetParam();
  Built b(c);
  Node* out = weighted_sum(b.out);
  const auto adjoints = backprop(out);
  const std::vector<Tensor> built = eval(gradients(out, b.wrt));
  for (size_t i = 0; i < b.wrt.size(); ++i) {
    const std::vector<double> y = built[i].to_doubles();
    // backprop leaves out an input no gradient reaches (every path gave nullptr): zero.
    const std::vector<double> x = adjoints.count(b.wrt[i]) ? adjoints.at(b.wrt[i]).to_doubles()
                                                           : std::vector<double>(y.size(), 0.0);
    ASSERT_EQ(x.size(), y.size()) << c.name;
    for (size_t j = 0; j < x.size(); ++j)
      EXPECT_NEAR(x[j], y[j], 1e-12 * (1 + std::fabs(y[j])))
          << c.name << ": input " << i << " element " << j;
  }
}

// The same case on cuda:0 and on the CPU, in f32 and f64: the output and, through the
// backward graph, every backward op's kernel.
TEST_P(OpCaseTest, CudaMatchesCpu) {
  GW_REQUIRE_GPU();
  const OpCase& c = GetParam();
  if (!c.on_cuda) GTEST_SKIP() << c.name << ": the CUDA kernels do not take this form";
  for (DType dtype : {DType::f32, DType::f64}) {
    Built cpu(c, Device::cpu(), dtype), gpu(c, Device::cuda(0), dtype);
    std::vector<Node*> cpu_outs = {cpu.out}, gpu_outs = {gpu.out};
    if (c.differentiable) {
      for (Node* g : gradients(weighted_sum(cpu.out), cpu.wrt)) cpu_outs.push_back(g);
      for (Node* g : gradients(weighted_sum(gpu.out), gpu.wrt)) gpu_outs.push_back(g);
    }
    const std::vector<Tensor> want = eval(cpu_outs), got = eval(gpu_outs);
    const Tolerance tol = tolerance_of(dtype);
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_TRUE(all_close(got[i].to(Device::cpu()), want[i], tol.atol, tol.rtol))
          << c.name << " " << dtype_name(dtype) << (i == 0 ? ": output" : ": gradient ") << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, OpCaseTest, ::testing::ValuesIn(registered_op_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) {
                           return info.param.name;
                         });

// The harness itself must be able to fail: a wrong rule swapped into the table is caught.
TEST(OpTable, GradcheckCatchesAWrongRuleSwappedIntoTheTable) {
  const VjpRule saved = replace_vjp_for_testing(
      Op::Sin, [](Node& y, Node* g) -> std::vector<Node*> { return {mul(g, sin(y.inputs[0]))}; });
  Graph g;
  Node* x = g.parameter("x", random_tensor({3}, DType::f64, 5));
  const GradcheckReport report = gradcheck_graph(sum(sin(x)), {x}, {});
  replace_vjp_for_testing(Op::Sin, saved);
  EXPECT_FALSE(report.passed) << report.str();
}

}  // namespace
}  // namespace gw::testing
