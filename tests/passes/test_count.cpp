// test_count.cpp — the counting pass adds up the op table's counts over a schedule: a matmul
// of m×k by k×n is m·n·(2k − 1) FLOPs, an add streams three tensors, leaves and views cost
// nothing.
#include <gtest/gtest.h>

#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/passes.h"

namespace gw {
namespace {

TEST(CountCost, AddsTheTablesFlopsAndBytesOverTheSchedule) {
  Graph g;
  Node* a = g.input("a", {4, 3});
  Node* b = g.input("b", {3, 5});
  Node* c = g.input("c", {4, 5});
  Node* y = reshape(add(matmul(a, b), c), {20});  // reshape is a view: no kernel
  Executor ex(g, {y});
  const GraphCost cost = count_cost(ex.schedule());
  EXPECT_DOUBLE_EQ(cost.flops, 4.0 * 5 * (2 * 3 - 1) + 4 * 5);
  EXPECT_DOUBLE_EQ(cost.bytes, 4.0 * ((12 + 15 + 20) + (20 + 20 + 20)));
  EXPECT_EQ(cost.kernels, 2);
  EXPECT_NEAR(cost.intensity(), cost.flops / cost.bytes, 1e-12);
}

TEST(CountCost, AnElementwiseAddHasIntensityOneThird) {
  Graph g;
  Node* x = add(g.input("x", {1024}, DType::f32), g.input("y", {1024}, DType::f32));
  // 1 FLOP per element over 3·4 bytes per element: 1/12 FLOP per byte, the lecture's 1/3
  // counted in elements.
  EXPECT_NEAR(count_cost({x}).intensity() * dtype_size(DType::f32), 1.0 / 3.0, 1e-12);
}

}  // namespace
}  // namespace gw
