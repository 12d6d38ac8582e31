// test_swiglu.cpp — the fused SwiGLU op, silu(a) ∘ u, and its two backward ops against the
// composed graph they replace (mul(silu(a), u) and the gradients autodiff builds through it),
// in every floating dtype, plus their shape and dtype errors; and the packed form (gate and up
// side by side in one tensor) against the two-input op on its halves. The op table's harness
// (test_op_table.cpp) gradchecks the cases registered here and compares them with their CUDA
// twins.
#include <cmath>
#include <string>

#include "gw/autodiff.h"
#include "gw/ops.h"
#include "nn_testing.h"
#include "op_cases.h"

namespace gw::testing {
namespace {

const OpCases kSwigluCases({
    GW_OP_CASE("swiglu", return swiglu(p({3, 5}, -4, 4), p({3, 5}));),
    GW_OP_CASE("swiglu_packed", return swiglu_packed(p({2, 3, 10}, -4, 4));),
});

Tensor f64(const Tensor& t) { return t.astype(DType::f64); }

// Throws E with `part` in its message.
template <typename E, typename F>
::testing::AssertionResult throws_naming(const F& f, const std::string& part) {
  try {
    f();
  } catch (const E& e) {
    if (std::string(e.what()).find(part) != std::string::npos)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "message lacks '" << part << "': " << e.what();
  }
  return ::testing::AssertionFailure() << "no error thrown";
}

// Values of a spanning both tails of σ (where silu′ changes sign near a ≈ −1.28).
Tensor gate_values(const Shape& s, DType dt, uint64_t seed) {
  return random_tensor(s, dt, seed, -9.0, 9.0);
}

// The fused output and the gradients of Σ w∘y with respect to (a, u), by the fused ops or
// through the composed graph: both run in the same dtype on the same values.
std::vector<Tensor> outputs_and_gradients(const Tensor& a, const Tensor& u, const Tensor& w,
                                          bool fused) {
  Graph g;
  Node* an = g.parameter("a", a.clone());
  Node* un = g.parameter("u", u.clone());
  Node* y = fused ? swiglu(an, un) : mul(silu(an), un);
  Node* loss = sum(mul(y, g.constant(w)));
  std::vector<Tensor> out = {naive_run(y)};
  for (Node* d : gradients(loss, {an, un})) out.push_back(naive_run(d));
  return out;
}

TEST(SwiGLU, FusedEqualsTheComposedGraphInEveryFloatingDtype) {
  for (DType dt : {DType::f64, DType::f32, DType::bf16, DType::f16}) {
    SCOPED_TRACE(dtype_name(dt));
    const Shape s = {7, 33};  // odd sizes: no loop assumes a multiple of a vector width
    const Tensor a = gate_values(s, dt, 1), u = random_tensor(s, dt, 2, -2, 2);
    const Tensor w = random_tensor(s, dt, 3, 0.5, 1.5);
    const std::vector<Tensor> fused = outputs_and_gradients(a, u, w, true);
    const std::vector<Tensor> composed = outputs_and_gradients(a, u, w, false);
    // The composed graph rounds after every op: in 16 bits that is a few ulps apart.
    const double tol = dt == DType::f64 ? 1e-13 : dt == DType::f32 ? 1e-6
                       : dt == DType::f16 ? 4e-3 : 3e-2;
    for (size_t k = 0; k < fused.size(); ++k) {
      SCOPED_TRACE(k == 0 ? "y" : k == 1 ? "gate adjoint" : "up adjoint");
      EXPECT_EQ(fused[k].dtype(), dt);
      EXPECT_TRUE(all_close(f64(fused[k]), f64(composed[k]), tol, tol));
    }
  }
}

// y and the adjoint of Σ w∘y with respect to gate_up (..., 2i): by the packed ops, or by the
// two-input op on the halves sliced out (whose adjoints autodiff concatenates back).
std::vector<Tensor> packed_output_and_gradient(const Tensor& gate_up, const Tensor& w,
                                               bool packed) {
  Graph g;
  Node* gu = g.parameter("gate_up", gate_up.clone());
  const int64_t i = gate_up.shape().back() / 2, axis = 1;
  Node* y = packed ? swiglu_packed(gu) : swiglu(slice(gu, axis, 0, i), slice(gu, axis, i, 2 * i));
  Node* loss = sum(mul(y, g.constant(w)));
  return {naive_run(y), naive_run(gradients(loss, {gu})[0])};
}

TEST(SwiGLU, PackedEqualsTheTwoInputOpOnItsHalvesInEveryFloatingDtype) {
  for (DType dt : {DType::f64, DType::f32, DType::bf16, DType::f16}) {
    SCOPED_TRACE(dtype_name(dt));
    const Tensor gate_up = gate_values({5, 2 * 19}, dt, 7);  // gate and up each 19 wide
    const Tensor w = random_tensor({5, 19}, dt, 8, 0.5, 1.5);
    const std::vector<Tensor> packed = packed_output_and_gradient(gate_up, w, true);
    const std::vector<Tensor> halves = packed_output_and_gradient(gate_up, w, false);
    ASSERT_EQ(packed[0].shape(), (Shape{5, 19}));
    ASSERT_EQ(packed[1].shape(), (Shape{5, 38}));
    for (size_t k = 0; k < packed.size(); ++k) {  // the same arithmetic per element: exact
      SCOPED_TRACE(k == 0 ? "y" : "gate_up adjoint");
      EXPECT_EQ(packed[k].dtype(), dt);
      EXPECT_TRUE(all_close(f64(packed[k]), f64(halves[k]), 0, 0));
    }
  }
}

TEST(SwiGLU, BackwardOpsMatchFiniteDifferences) {
  const Tensor a = gate_values({4, 6}, DType::f64, 4), u = random_tensor({4, 6}, DType::f64, 5);
  const Tensor gy = random_tensor({4, 6}, DType::f64, 6);
  auto forward = [](const std::vector<Tensor>& in) {
    return run_op(in, [](Graph&, auto& n) { return swiglu(n[0], n[1]); });
  };
  const Tensor ga = run_op({a, u, gy}, [](Graph&, auto& n) {
    return swiglu_backward_gate(n[0], n[1], n[2]);
  });
  const Tensor gu = run_op({a, gy}, [](Graph&, auto& n) { return swiglu_backward_up(n[0], n[1]); });
  EXPECT_TRUE(all_close(ga, finite_difference(forward, {a, u}, 0, gy), 1e-7, 1e-6));
  EXPECT_TRUE(all_close(gu, finite_difference(forward, {a, u}, 1, gy), 1e-7, 1e-6));
}

TEST(SwiGLU, SaturatesWithoutOverflowAtLargeGates) {
  // silu(a) → a for a ≫ 0 and → 0 for a ≪ 0; σ's exp is clamped, never inf or NaN.
  const Tensor a = Tensor::from_values({4}, {-200.0, -30.0, 30.0, 200.0}, DType::f32);
  const Tensor u = Tensor::full({4}, 2.0, DType::f32);
  const std::vector<double> y =
      run_op({a, u}, [](Graph&, auto& n) { return swiglu(n[0], n[1]); }).to_doubles();
  EXPECT_NEAR(y[0], 0.0, 1e-30);
  EXPECT_NEAR(y[1], -60.0 * std::exp(-30.0), 1e-15);
  EXPECT_FLOAT_EQ(y[2], 60.0f);
  EXPECT_FLOAT_EQ(y[3], 400.0f);
}

TEST(SwiGLU, ShapeAndDtypeErrorsNameTheOperands) {
  Graph g;
  Node* a = g.input("a", {2, 4});
  EXPECT_TRUE(throws_naming<ShapeError>([&] { swiglu(a, g.input("u", {2, 5})); }, "gate and up"));
  EXPECT_TRUE(throws_naming<DTypeError>([&] { swiglu(a, g.input("u2", {2, 4}, DType::f64)); },
                                        "gate and up"));
  EXPECT_TRUE(throws_naming<DTypeError>(
      [&] { swiglu(g.input("i", {2, 4}, DType::i32), g.input("j", {2, 4}, DType::i32)); },
      "floating"));
  EXPECT_TRUE(throws_naming<ShapeError>(
      [&] { swiglu_backward_gate(a, g.input("u3", {2, 4}), g.input("g", {4, 2})); }, "gate and ȳ"));
  EXPECT_TRUE(throws_naming<ShapeError>([&] { swiglu_backward_up(a, g.input("g2", {2, 3})); },
                                        "gate and ȳ"));
  // Packed: gate_up needs an even last axis, ȳ the shape of the output, dtypes agree.
  EXPECT_TRUE(throws_naming<ShapeError>([&] { swiglu_packed(g.input("odd", {2, 5})); }, "(..., 2i)"));
  EXPECT_TRUE(throws_naming<ShapeError>([&] { swiglu_packed(g.scalar(1.0)); }, "(..., 2i)"));
  EXPECT_TRUE(throws_naming<DTypeError>(
      [&] { swiglu_packed(g.input("i2", {2, 4}, DType::i32)); }, "floating"));
  EXPECT_TRUE(throws_naming<ShapeError>(
      [&] { swiglu_packed_backward(a, g.input("g3", {2, 4})); }, "must be (2, 2)"));
  EXPECT_TRUE(throws_naming<DTypeError>(
      [&] { swiglu_packed_backward(a, g.input("g4", {2, 2}, DType::f64)); }, "gate_up and ȳ"));
}

}  // namespace
}  // namespace gw::testing
