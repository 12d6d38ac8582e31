// test_elementwise.cpp — the elementwise ops (unary, with a scalar, binary with broadcasting,
// Compare, Cast): CPU kernels against naive f64 references, shape/dtype rules, counts.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "gw/ops.h"
#include "ops_reference.h"
#include "op_cases.h"
#include "testing.h"

namespace gw {
namespace {

// ---- the table's cases: every rule gradchecked, every kernel against its CUDA twin ----------
const testing::OpCases kElementwiseCases({
    GW_OP_CASE("neg", return neg(p({2, 3}));),
    GW_OP_CASE("abs", return abs(p({3, 4}));),
    GW_OP_CASE("exp", return exp(p({2, 3}));),
    GW_OP_CASE("log", return log(p({2, 3}, 0.5, 2.0));),
    GW_OP_CASE("sin", return sin(p({2, 3}));),
    GW_OP_CASE("cos", return cos(p({2, 3}));),
    GW_OP_CASE("sqrt", return sqrt(p({2, 3}, 0.5, 2.0));),
    GW_OP_CASE("rsqrt", return rsqrt(p({2, 3}, 0.5, 2.0));),
    GW_OP_CASE("relu", return relu(p({3, 4}));),
    GW_OP_CASE("sigmoid", return sigmoid(p({2, 3}));),
    GW_OP_CASE("silu", return silu(p({2, 3}));),
    GW_OP_CASE("tanh", return tanh(p({2, 3}));),
    GW_OP_CASE("add_scalar", return add(p({2, 3}), 1.5);),
    GW_OP_CASE("mul_scalar", return mul(p({2, 3}), -2.5);),
    GW_OP_CASE("pow_scalar", return pow(p({2, 3}, 0.5, 2.0), 2.5);),
    GW_OP_CASE("add", return add(p({2, 3}), p({2, 3}));),
    GW_OP_CASE("add_broadcast", return add(p({2, 3}), p({3}));),
    GW_OP_CASE("sub", return sub(p({2, 3}), p({2, 1}));),
    GW_OP_CASE("mul", return mul(p({2, 3}), p({2, 3}));),
    GW_OP_CASE("mul_broadcast", return mul(p({4, 2, 3}), p({2, 1}));),
    GW_OP_CASE("mul_shared_operand", Node* x = p({2, 3}); return mul(x, x);),
    GW_OP_CASE("div", return div(p({2, 3}), p({2, 3}, 0.5, 2.0));),
    // A mask: no gradient flows through compare, so d/dx of x·(x > 0) is the mask itself.
    GW_OP_CASE("compare", Node* x = p({3, 4}); return mul(x, compare(x, p.graph.scalar(0.0, x->dtype), CompareOp::gt));),
    // Through f32 and back: the derivative is 1, but the step must dwarf f32 rounding.
    testing::OpCase{"cast",
                    [](testing::CaseLeaves& p) -> Node* {
                      return cast(cast(p({2, 3}), DType::f32), p.dtype);
                    },
                    1e-2, 1e-4},
});

using testing::all_close;
using testing::naive_run;
using testing::random_tensor;

// Odd sizes, a scalar, and one above the kernels' threading threshold (32k elements).
const std::vector<Shape> kShapes = {{}, {1}, {7}, {4, 33}, {1031}, {3, 11111}};
const DType kFloatTypes[] = {DType::f32, DType::f64};

double tolerance(DType t) { return t == DType::f64 ? 1e-12 : 2e-6; }

// One unary op: its builder, its math in double, and the input range where it is defined.
struct UnaryCase {
  const char* name;
  std::function<Node*(Node*)> build;
  std::function<double(double)> reference;
  double lo, hi;
};

std::vector<UnaryCase> unary_cases() {
  auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  return {
      {"neg", [](Node* x) { return neg(x); }, [](double x) { return -x; }, -3, 3},
      {"abs", [](Node* x) { return abs(x); }, [](double x) { return std::fabs(x); }, -3, 3},
      {"exp", [](Node* x) { return exp(x); }, [](double x) { return std::exp(x); }, -3, 3},
      {"log", [](Node* x) { return log(x); }, [](double x) { return std::log(x); }, 0.05, 5},
      {"sin", [](Node* x) { return sin(x); }, [](double x) { return std::sin(x); }, -4, 4},
      {"cos", [](Node* x) { return cos(x); }, [](double x) { return std::cos(x); }, -4, 4},
      {"sqrt", [](Node* x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0, 5},
      {"rsqrt", [](Node* x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.05,
       5},
      {"relu", [](Node* x) { return relu(x); }, [](double x) { return x > 0 ? x : 0.0; }, -3, 3},
      {"sigmoid", [](Node* x) { return sigmoid(x); }, sig, -8, 8},
      {"silu", [](Node* x) { return silu(x); }, [sig](double x) { return x * sig(x); }, -8, 8},
      {"tanh", [](Node* x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -4, 4},
      {"add_scalar", [](Node* x) { return add(x, 0.75); }, [](double x) { return x + 0.75; }, -3,
       3},
      {"mul_scalar", [](Node* x) { return mul(x, -2.5); }, [](double x) { return x * -2.5; }, -3,
       3},
      {"pow_scalar", [](Node* x) { return pow(x, 1.5); }, [](double x) { return std::pow(x, 1.5); },
       0, 3},
      {"pow_scalar square", [](Node* x) { return pow(x, 2.0); }, [](double x) { return x * x; }, -3,
       3},
  };
}

// Runs y = build(x) on a random x and compares with reference applied to x's values.
void check_unary(const UnaryCase& c, const Shape& shape, DType dtype, uint64_t seed) {
  SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dtype) + " " + shape_str(shape));
  Graph g;
  Node* x = g.input("x", shape, dtype);
  Node* y = c.build(x);
  ASSERT_STREQ(y->def().name, std::string(c.name).substr(0, std::string(c.name).find(' ')).c_str());
  ASSERT_EQ(y->shape, shape);
  ASSERT_EQ(y->dtype, dtype);
  const Tensor xv = random_tensor(shape, dtype, seed, c.lo, c.hi);
  std::vector<double> want = xv.to_doubles();
  for (double& v : want) v = c.reference(v);
  EXPECT_TRUE(all_close(naive_run(y, {{x, xv}}), Tensor::from_values(shape, want, DType::f64),
                        tolerance(dtype), tolerance(dtype)));
}

TEST(Elementwise, UnaryOpsMatchTheNaiveReferenceInF32AndF64) {
  uint64_t seed = 1;
  for (const UnaryCase& c : unary_cases())
    for (DType t : kFloatTypes)
      for (const Shape& s : kShapes) check_unary(c, s, t, seed++);
}

TEST(Elementwise, SigmoidAndSiluStayFiniteForLargeInputs) {
  Graph g;
  const Tensor xv = Tensor::from_values({4}, {-1000, -80, 80, 1000});
  Node* x = g.input("x", {4});
  const double tiny = std::exp(-80.0) / (1 + std::exp(-80.0));
  EXPECT_TRUE(all_close(naive_run(sigmoid(x), {{x, xv}}),
                        Tensor::from_values({4}, {0, tiny, 1, 1}, DType::f64), 0, 1e-6));
  EXPECT_TRUE(all_close(naive_run(silu(x), {{x, xv}}),
                        Tensor::from_values({4}, {0, -80 * tiny, 80, 1000}, DType::f64), 0, 1e-6));
}

// ---- binary ----------------------------------------------------------------------------
struct BinaryCase {
  const char* name;
  std::function<Node*(Node*, Node*)> build;
  std::function<double(double, double)> reference;
};

std::vector<BinaryCase> binary_cases() {
  auto cmp = [](CompareOp op) { return [op](Node* a, Node* b) { return compare(a, b, op); }; };
  return {
      {"add", [](Node* a, Node* b) { return add(a, b); }, std::plus<double>()},
      {"sub", [](Node* a, Node* b) { return sub(a, b); }, std::minus<double>()},
      {"mul", [](Node* a, Node* b) { return mul(a, b); }, std::multiplies<double>()},
      {"div", [](Node* a, Node* b) { return div(a, b); }, std::divides<double>()},
      {"compare", cmp(CompareOp::lt), [](double a, double b) { return a < b ? 1.0 : 0.0; }},
      {"compare", cmp(CompareOp::le), [](double a, double b) { return a <= b ? 1.0 : 0.0; }},
      {"compare", cmp(CompareOp::gt), [](double a, double b) { return a > b ? 1.0 : 0.0; }},
      {"compare", cmp(CompareOp::ge), [](double a, double b) { return a >= b ? 1.0 : 0.0; }},
      {"compare", cmp(CompareOp::eq), [](double a, double b) { return a == b ? 1.0 : 0.0; }},
      {"compare", cmp(CompareOp::ne), [](double a, double b) { return a != b ? 1.0 : 0.0; }},
  };
}

// a (sa) op b (sb) against the broadcasting reference. Values are rounded to quarters so
// that eq/ne and the ties of le/ge actually occur; b stays away from 0 for div.
void check_binary(const BinaryCase& c, const Shape& sa, const Shape& sb, DType dtype,
                  uint64_t seed) {
  SCOPED_TRACE(std::string(c.name) + " " + dtype_name(dtype) + " " + shape_str(sa) + " and " +
               shape_str(sb));
  auto quarters = [&](const Shape& s, uint64_t sd, double shift) {
    std::vector<double> v = random_tensor(s, DType::f64, sd, -2, 2).to_doubles();
    for (double& e : v) e = std::round(e * 4) / 4 + shift;
    return Tensor::from_values(s, v, dtype);
  };
  const Tensor av = quarters(sa, seed, 0), bv = quarters(sb, seed + 1000, 0.125);
  Graph g;
  Node* a = g.input("a", sa, dtype);
  Node* b = g.input("b", sb, dtype);
  Node* y = c.build(a, b);
  const Shape out = broadcast_shapes(sa, sb, "test");
  ASSERT_EQ(y->shape, out);
  ASSERT_STREQ(y->def().name, c.name);
  // The op itself sees equal shapes: the builder inserted Broadcast nodes where needed.
  for (Node* in : y->inputs) {
    EXPECT_EQ(in->shape, out);
    EXPECT_TRUE(in == a || in == b || in->op == Op::Broadcast) << in->str();
  }
  const std::vector<double> x1 = av.to_doubles(), x2 = bv.to_doubles();
  std::vector<double> want(static_cast<size_t>(numel(out)));
  for (int64_t i = 0; i < numel(out); ++i) {
    const auto idx = testing::unravel(i, out);
    want[static_cast<size_t>(i)] = c.reference(x1[testing::broadcast_source(idx, sa, out)],
                                               x2[testing::broadcast_source(idx, sb, out)]);
  }
  const Tensor got = naive_run(y, {{a, av}, {b, bv}});
  EXPECT_EQ(got.dtype(), dtype);
  EXPECT_TRUE(all_close(got, Tensor::from_values(out, want, DType::f64), tolerance(dtype),
                        tolerance(dtype)));
}

TEST(Elementwise, BinaryOpsMatchTheNaiveReferenceOnEqualShapes) {
  uint64_t seed = 1;
  for (const BinaryCase& c : binary_cases())
    for (DType t : kFloatTypes)
      for (const Shape& s : kShapes) check_binary(c, s, s, t, seed++);
}

TEST(Elementwise, BinaryOpsBroadcastNumPyStyle) {
  const std::pair<Shape, Shape> pairs[] = {
      {{}, {3, 4}},
      {{3, 4}, {}},
      {{4, 1, 3}, {5, 1}},
      {{3, 1}, {1, 4}},
      {{2, 3, 4}, {4}},
      {{1}, {7}},
      {{5, 1, 33}, {5, 2, 1}},
      {{300, 1}, {1, 120}},  // 36000 elements: the threaded path
  };
  uint64_t seed = 1;
  for (const BinaryCase& c : binary_cases())
    for (DType t : kFloatTypes)
      for (const auto& [sa, sb] : pairs) check_binary(c, sa, sb, t, seed++);
}

TEST(Elementwise, BinaryBuilderAddsNoBroadcastWhenShapesMatch) {
  Graph g;
  Node* a = g.input("a", {2, 3});
  Node* b = g.input("b", {2, 3});
  Node* y = mul(a, b);
  EXPECT_EQ(y->inputs[0], a);
  EXPECT_EQ(y->inputs[1], b);
  EXPECT_EQ(g.size(), 3u);
}

TEST(Elementwise, CompareOfIntegersGivesOneAndZeroInI32) {
  Graph g;
  Node* a = g.constant(Tensor::from_values({4}, {1, 2, 3, -4}, DType::i32));
  Node* b = g.constant(Tensor::from_values({4}, {2, 2, 2, 2}, DType::i32));
  const Tensor y = naive_run(compare(a, b, CompareOp::ge));
  EXPECT_EQ(y.dtype(), DType::i32);
  EXPECT_EQ(y.to_doubles(), (std::vector<double>{0, 1, 1, 0}));
}

TEST(Elementwise, BFloat16AddIsTheRoundedF32Sum) {
  const Tensor av = random_tensor({257}, DType::bf16, 3), bv = random_tensor({257}, DType::bf16, 4);
  Graph g;
  Node* a = g.constant(av);
  Node* b = g.constant(bv);
  const std::vector<double> x = av.to_doubles(), y = bv.to_doubles();
  std::vector<double> want(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    want[i] =
        bf16_bits_to_float(float_to_bf16_bits(static_cast<float>(x[i]) + static_cast<float>(y[i])));
  const Tensor got = naive_run(add(a, b));
  EXPECT_EQ(got.dtype(), DType::bf16);
  EXPECT_EQ(got.to_doubles(), want);
}

// ---- shape and dtype rules ---------------------------------------------------------------
TEST(Elementwise, BinaryOpRejectsUnequalShapesNamingOpAndShapes) {
  Graph g;
  Node* a = g.input("a", {2, 3});
  Node* b = g.input("b", {3, 2});
  for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Compare}) {
    const std::string msg = testing::error_message<ShapeError>([&] { g.add_node(op, {a, b}); });
    EXPECT_NE(msg.find(op_name(op)), std::string::npos) << msg;
    EXPECT_NE(msg.find("(2, 3)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(3, 2)"), std::string::npos) << msg;
  }
}

TEST(Elementwise, BuilderRejectsShapesThatDoNotBroadcast) {
  Graph g;
  Node* a = g.input("a", {2, 3});
  Node* b = g.input("b", {4});
  const std::string msg = testing::error_message<ShapeError>([&] { sub(a, b); });
  EXPECT_NE(msg.find("sub"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(2, 3)"), std::string::npos) << msg;
}

TEST(Elementwise, MismatchedDTypesThrowAndLeaveTheGraphUnchanged) {
  Graph g;
  Node* a = g.input("a", {2, 3}, DType::f32);
  Node* b = g.input("b", {3}, DType::f64);
  const size_t before = g.size();
  const std::string msg = testing::error_message<DTypeError>([&] { div(a, b); });
  EXPECT_NE(msg.find("div"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f64"), std::string::npos) << msg;
  EXPECT_EQ(g.size(), before) << "a Broadcast node was added before the dtype check";
  Node* c = g.input("c", {2, 3}, DType::f64);
  EXPECT_THROW(g.add_node(Op::Add, {a, c}), DTypeError);
}

TEST(Elementwise, MathOnIntegersIsADTypeErrorNamingTheOp) {
  Graph g;
  Node* x = g.input("x", {3}, DType::i32);
  const std::string msg = testing::error_message<DTypeError>([&] { exp(x); });
  EXPECT_NE(msg.find("exp"), std::string::npos) << msg;
  EXPECT_THROW(add(x, x), DTypeError);
}

// ---- cast ------------------------------------------------------------------------------
TEST(Elementwise, CastBetweenEveryPairOfDTypesMatchesConversionThroughDouble) {
  const DType all[] = {DType::f64, DType::f32, DType::f16, DType::bf16, DType::i8, DType::i32};
  // Integers and halves, exactly representable in every dtype, plus general values for floats.
  std::vector<double> exact = {0, 1, -1, 2.5, -3.5, 7, -100, 127, -128, 0.5};
  for (DType from : all)
    for (DType to : all) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to));
      const Tensor xv = Tensor::from_values({10}, exact, from);
      Graph g;
      Node* y = cast(g.constant(xv), to);
      EXPECT_EQ(y->dtype, to);
      const Tensor got = naive_run(y);
      ASSERT_EQ(got.dtype(), to);
      std::vector<double> want = xv.to_doubles();
      if (!is_floating(to))
        for (double& v : want) v = std::nearbyint(v);  // ties to even: 2.5 -> 2, -3.5 -> -4
      EXPECT_EQ(got.to_doubles(), want);
    }
}

TEST(Elementwise, CastRoundTripsThroughF16AndBF16RoundToNearestEven) {
  const Tensor xv = random_tensor({1001}, DType::f32, 9, -70000, 70000);
  for (DType half : {DType::f16, DType::bf16}) {
    SCOPED_TRACE(dtype_name(half));
    Graph g;
    Node* x = g.input("x", {1001});
    const Tensor back = naive_run(cast(cast(x, half), DType::f32), {{x, xv}});
    const float* src = xv.data<float>();
    const float* got = back.data<float>();
    for (int i = 0; i < 1001; ++i) {
      const float want = half == DType::f16 ? f16_bits_to_float(float_to_f16_bits(src[i]))
                                            : bf16_bits_to_float(float_to_bf16_bits(src[i]));
      ASSERT_EQ(got[i], want) << "element " << i << " = " << src[i];
    }
  }
}

TEST(Elementwise, CastF32ToF64AndBackIsExact) {
  const Tensor xv = random_tensor({33, 7}, DType::f32, 5);
  Graph g;
  Node* x = g.input("x", {33, 7});
  EXPECT_TRUE(all_close(naive_run(cast(cast(x, DType::f64), DType::f32), {{x, xv}}), xv, 0, 0));
}

TEST(Elementwise, CastToIntegersSaturatesAndMapsNaNToZero) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor xv = Tensor::from_values({5}, {1e10, -1e10, 300, -300, nan}, DType::f64);
  Graph g;
  Node* x = g.constant(xv);
  EXPECT_EQ(naive_run(cast(x, DType::i32)).to_doubles(),
            (std::vector<double>{2147483647, -2147483648.0, 300, -300, 0}));
  EXPECT_EQ(naive_run(cast(x, DType::i8)).to_doubles(),
            (std::vector<double>{127, -128, 127, -128, 0}));
}

// ---- counts ----------------------------------------------------------------------------
TEST(Elementwise, FlopsAreOnePerElementPerArithmeticOperation) {
  Graph g;
  Node* a = g.input("a", {6, 7});
  Node* b = g.input("b", {6, 7});
  Node* y = add(a, b);
  EXPECT_EQ(y->def().flops(*y), 42);
  Node* s = sigmoid(a);
  EXPECT_EQ(s->def().flops(*s), 3 * 42) << "sigmoid = exp, add, divide";
  Node* c = cast(a, DType::f16);
  EXPECT_EQ(c->def().flops(*c), 0) << "a conversion is no arithmetic";
  Node* m = mul(a, 3.0);
  EXPECT_EQ(m->def().flops(*m), 42);
}

TEST(Elementwise, BytesAreInputsReadPlusOutputWritten) {
  Graph g;
  Node* a = g.input("a", {10}, DType::f32);
  Node* b = g.input("b", {10}, DType::f32);
  Node* y = add(a, b);
  EXPECT_EQ(y->def().bytes(*y), 3 * 10 * 4);
  Node* c = cast(a, DType::f16);
  EXPECT_EQ(c->def().bytes(*c), 10 * 4 + 10 * 2);
  Node* e = exp(g.input("d", {10}, DType::f64));
  EXPECT_EQ(e->def().bytes(*e), 2 * 10 * 8);
}

}  // namespace
}  // namespace gw
