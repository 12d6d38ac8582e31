// test_lab01_gradcheck.cpp — lab 01: central differences, gradcheck and the ε study
// (handouts/lab01-gradcheck.md).
#include <cmath>

#include "autodiff_testing.h"

namespace gw {
namespace {

// y = ln(x1) + x1·x2 − sin(x2), the lecture's running example.
double lecture_y(const std::vector<Tensor>& x) {
  const double x1 = x[0].item(), x2 = x[1].item();
  return std::log(x1) + x1 * x2 - std::sin(x2);
}

std::vector<Tensor> at_2_5() {
  return {Tensor::from_values({}, {2.0}, DType::f64), Tensor::from_values({}, {5.0}, DType::f64)};
}

TEST(Lab01, LectureExampleValueIs11_652) {
  EXPECT_NEAR(lecture_y(at_2_5()), 11.652, 5e-4);
}

TEST(Lab01, NumericalGradientOfLectureExampleMatchesWithin1e6) {
  const double d1 = numerical_gradient(lecture_y, at_2_5(), 0, 1e-6).item();
  const double d2 = numerical_gradient(lecture_y, at_2_5(), 1, 1e-6).item();
  EXPECT_NEAR(d1, 5.5, 1e-6);                     // 1/x1 + x2
  EXPECT_NEAR(d2, 2.0 - std::cos(5.0), 1e-6);     // x1 − cos(x2)
  EXPECT_NEAR(d2, 1.716, 5e-4);
}

TEST(Lab01, NumericalGradientIsElementwiseOnTensors) {
  // f(x) = Σ xⱼ³ has gradient 3xⱼ².
  auto f = [](const std::vector<Tensor>& x) {
    double s = 0;
    for (double v : x[0].to_doubles()) s += v * v * v;
    return s;
  };
  const Tensor x = testing::random_tensor({2, 3}, DType::f64, 3);
  const Tensor g = numerical_gradient(f, {x}, 0, 1e-5);
  ASSERT_EQ(g.shape(), x.shape());
  const std::vector<double> xv = x.to_doubles(), gv = g.to_doubles();
  for (size_t j = 0; j < xv.size(); ++j) EXPECT_NEAR(gv[j], 3 * xv[j] * xv[j], 1e-8) << "element " << j;
}

TEST(Lab01, GradcheckPassesTheCorrectGradient) {
  const std::vector<Tensor> grads = {Tensor::from_values({}, {5.5}, DType::f64),
                                     Tensor::from_values({}, {2.0 - std::cos(5.0)}, DType::f64)};
  const GradcheckReport r = gradcheck(lecture_y, grads, at_2_5());
  EXPECT_TRUE(r.passed) << r.str();
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_LT(r.inputs[0].max_abs_error, 1e-6);
}

TEST(Lab01, GradcheckCatchesAPlantedWrongGradient) {
  // ∂y/∂x2 written as x1 + cos(x2): a sign error.
  const std::vector<Tensor> grads = {Tensor::from_values({}, {5.5}, DType::f64),
                                     Tensor::from_values({}, {2.0 + std::cos(5.0)}, DType::f64)};
  const GradcheckReport r = gradcheck(lecture_y, grads, at_2_5());
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.inputs[0].passed);
  EXPECT_FALSE(r.inputs[1].passed);
  EXPECT_EQ(r.inputs[1].failing, std::vector<int64_t>{0});
  EXPECT_NEAR(r.inputs[1].max_abs_error, 2 * std::fabs(std::cos(5.0)), 1e-6);
  EXPECT_NE(r.str().find("FAIL"), std::string::npos) << r.str();
}

TEST(Lab01, GradcheckListsOnlyTheWrongElements) {
  auto f = [](const std::vector<Tensor>& x) {
    double s = 0;
    for (double v : x[0].to_doubles()) s += v * v;
    return s;
  };
  const Tensor x = testing::random_tensor({5}, DType::f64, 4);
  std::vector<double> g = x.to_doubles();
  for (double& v : g) v *= 2;
  g[3] += 1e-2;  // one wrong element
  const GradcheckReport r = gradcheck(f, {Tensor::from_values({5}, g, DType::f64)}, {x});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.inputs[0].failing, std::vector<int64_t>{3});
}

TEST(Lab01, GradcheckFailsAGradientOfTheWrongShape) {
  const std::vector<Tensor> grads = {Tensor::from_values({1}, {5.5}, DType::f64),
                                     Tensor::from_values({}, {1.716}, DType::f64)};
  EXPECT_FALSE(gradcheck(lecture_y, grads, at_2_5()).inputs[0].passed);
}

TEST(Lab01, GradcheckGraphChecksTheLectureGraph) {
  Graph g(Device::cpu());
  Node* x1 = g.input("x1", {}, DType::f64);
  Node* x2 = g.input("x2", {}, DType::f64);
  Node* y = sub(add(log(x1), mul(x1, x2)), sin(x2));
  const Feeds feeds = {{x1, Tensor::from_values({}, {2.0}, DType::f64)},
                       {x2, Tensor::from_values({}, {5.0}, DType::f64)}};
  EXPECT_NEAR(testing::value_of(y, feeds), 11.652, 5e-4);
  const GradcheckReport r = gradcheck_graph(y, {x1, x2}, feeds);
  EXPECT_TRUE(r.passed) << r.str();
  // graph_function sees the same function as the closed form.
  EXPECT_NEAR(graph_function(y, {x1, x2})(at_2_5()), lecture_y(at_2_5()), 1e-12);
}

TEST(Lab01, EpsStudyIsUShapedInBothPrecisions) {
  const std::vector<EpsStudyPoint> pts = eps_study();
  ASSERT_EQ(pts.size(), 45u) << "four steps per decade from 1e-1 to 1e-12";
  auto best = [&](bool f32) {
    size_t b = 0;
    for (size_t i = 0; i < pts.size(); ++i)
      if ((f32 ? pts[i].error_f32 : pts[i].error_f64) < (f32 ? pts[b].error_f32 : pts[b].error_f64)) b = i;
    return b;
  };
  const size_t b32 = best(true), b64 = best(false);
  // The minimum lies inside the range: truncation wins at large ε, rounding at small ε.
  EXPECT_GT(b64, 0u);
  EXPECT_LT(b64, pts.size() - 1);
  EXPECT_GT(b32, 0u);
  EXPECT_LT(b32, pts.size() - 1);
  EXPECT_GT(pts.front().error_f64, 10 * pts[b64].error_f64);
  EXPECT_GT(pts.back().error_f64, 10 * pts[b64].error_f64);
  // f32 rounds sooner, so its best ε is larger and its best error worse.
  EXPECT_LT(b32, b64) << "best eps f32 " << pts[b32].eps << ", f64 " << pts[b64].eps;
  EXPECT_GT(pts[b32].error_f32, pts[b64].error_f64);
}

TEST(Lab01, CentralDifferenceErrorIsSecondOrder) {
  // In the truncation regime the error falls 100× when ε falls 10×.
  const std::vector<EpsStudyPoint> pts = eps_study({1e-1, 1e-2});
  EXPECT_NEAR(pts[0].error_f64 / pts[1].error_f64, 100.0, 2.0);
}

}  // namespace
}  // namespace gw
