// test_nn.cpp — the fused ops' CPU kernels: embedding, softmax, log-softmax,
// softmax-cross-entropy, RMSNorm, RoPE and AdamW, each forward against a naive f64 loop
// written here and each backward against finite differences of its forward op.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gw/executor.h"
#include "gw/ops.h"
#include "nn_testing.h"
#include "op_cases.h"
#include "testing.h"

using namespace gw;
using namespace gw::testing;

namespace {

// ---- the table's cases: every rule gradchecked, every kernel against its CUDA twin ----------
const OpCases kNnCases({
    GW_OP_CASE("embedding", return embedding(p({5, 3}), p.ids({4}, 5));),
    GW_OP_CASE("embedding_backward", return embedding_backward(p.ids({4}, 5), p({4, 3}), 5);),
    GW_OP_CASE("softmax", return softmax(p({2, 4}));),
    GW_OP_CASE("softmax_backward", return softmax_backward(p({2, 4}), p({2, 4}));),
    GW_OP_CASE("log_softmax", return log_softmax(p({2, 4}));),
    GW_OP_CASE("log_softmax_backward", return log_softmax_backward(p({2, 4}), p({2, 4}));),
    GW_OP_CASE("softmax_cross_entropy", return softmax_cross_entropy(p({3, 5}), p.ids({3}, 5));),
    GW_OP_CASE("softmax_cross_entropy_backward",
               Node* l = p({3, 5}); Node* t = p.ids({3}, 5);
               return softmax_cross_entropy_backward(l, t, p({3}));),
    GW_OP_CASE("rms_norm", return rms_norm(p({2, 4}), p({4}), 1e-5);),
    GW_OP_CASE("rope", return rope(p({1, 2, 3, 4}));),
    GW_OP_CASE("rope_inverse", return rope(p({1, 2, 3, 4}), 10000.0, true);),
    GW_OP_CASE("rope_sequence_major", return rope(p({2, 3, 2, 4}), 10000.0, false, 1);),
    GW_OP_CASE("rope_fused_qkv", return rope(p({2, 3, 3, 2, 4}), 10000.0, false, 1);),
});

// Applies `row_fn` (input row -> output row) to every last-axis row of x, in f64.
Tensor rowwise(const Tensor& x, const std::function<std::vector<double>(std::vector<double>)>& row_fn) {
  const std::vector<double> v = x.to_doubles();
  const int64_t n = x.size(-1);
  std::vector<double> out;
  for (int64_t r = 0; r * n < static_cast<int64_t>(v.size()); ++r) {
    std::vector<double> y = row_fn(std::vector<double>(v.begin() + r * n, v.begin() + (r + 1) * n));
    out.insert(out.end(), y.begin(), y.end());
  }
  return Tensor::from_values(x.shape(), out, DType::f64);
}

std::vector<double> softmax_row(std::vector<double> x) {
  double mx = -INFINITY, s = 0;
  for (double a : x) mx = std::max(mx, a);
  for (double& a : x) s += (a = std::exp(a - mx));
  for (double& a : x) a /= s;
  return x;
}

std::vector<double> log_softmax_row(std::vector<double> x) {
  std::vector<double> p = softmax_row(x);
  for (double& a : p) a = std::log(a);
  return p;
}

Tensor f64(const Tensor& t) { return t.astype(DType::f64); }

const std::vector<Shape> kRowShapes = {{1, 1}, {3, 7}, {2, 3, 33}, {5, 64}};

}  // namespace

// ---- embedding -----------------------------------------------------------------------------
TEST(Embedding, GathersTableRows) {
  Tensor table = random_tensor({11, 5}, DType::f32, 2);
  Tensor ids = random_ids({3, 4}, 11, 3);
  Tensor out = run_op({table, ids}, [](Graph&, auto& in) { return embedding(in[0], in[1]); });
  ASSERT_EQ(out.shape(), (Shape{3, 4, 5}));
  const std::vector<double> t = table.to_doubles(), id = ids.to_doubles(), o = out.to_doubles();
  for (size_t i = 0; i < id.size(); ++i)
    for (size_t c = 0; c < 5; ++c)
      ASSERT_EQ(o[i * 5 + c], t[static_cast<size_t>(id[i]) * 5 + c]) << "row " << i;
}

TEST(Embedding, IdOutsideVocabularyIsAnError) {
  Tensor table = random_tensor({4, 3});
  Tensor ids = Tensor::from_values({2}, {1, 4}, DType::i32);
  EXPECT_THROW(run_op({table, ids}, [](Graph&, auto& in) { return embedding(in[0], in[1]); }),
               Error);
}

TEST(Embedding, BackwardScatterAddsRepeatedIds) {
  Tensor ids = Tensor::from_values({2, 3}, {0, 2, 0, 5, 2, 0}, DType::i32);
  Tensor grad = random_tensor({2, 3, 4}, DType::f64, 4);
  Tensor out = run_op({ids, grad},
                      [](Graph&, auto& in) { return embedding_backward(in[0], in[1], 7); });
  std::vector<double> expect(7 * 4, 0.0);
  const std::vector<double> g = grad.to_doubles(), id = ids.to_doubles();
  for (size_t i = 0; i < 6; ++i)
    for (size_t c = 0; c < 4; ++c) expect[static_cast<size_t>(id[i]) * 4 + c] += g[i * 4 + c];
  EXPECT_TRUE(all_close(out, Tensor::from_values({7, 4}, expect, DType::f64), 1e-12, 0));
}

TEST(Embedding, ShapeAndDtypeErrors) {
  Graph g;
  EXPECT_THROW(embedding(g.input("t", {4}), g.input("i", {2}, DType::i32)), ShapeError);
  EXPECT_THROW(embedding(g.input("t2", {4, 3}), g.input("i2", {2})), DTypeError);
  EXPECT_THROW(embedding_backward(g.input("i3", {2}, DType::i32), g.input("g", {3, 4}), 5),
               ShapeError);
  EXPECT_THROW(embedding_backward(g.input("i4", {2}, DType::i32), g.input("g2", {2, 4}), 0),
               ShapeError);
}

// ---- softmax family ----------------------------------------------------------------------
TEST(Softmax, ForwardMatchesNaiveRowsInF32AndF64) {
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : kRowShapes) {
      SCOPED_TRACE(shape_str(s));
      Tensor x = random_tensor(s, dt, 5, -4, 4);
      const double tol = dt == DType::f32 ? 1e-6 : 1e-13;
      EXPECT_TRUE(all_close(f64(run_op({x}, [](Graph&, auto& in) { return softmax(in[0]); })),
                            rowwise(x, softmax_row), tol, tol));
      EXPECT_TRUE(all_close(
          f64(run_op({x}, [](Graph&, auto& in) { return log_softmax(in[0]); })),
          rowwise(x, log_softmax_row), tol, tol));
    }
}

TEST(Softmax, HugeLogitsStayFinite) {
  Tensor x = Tensor::from_values({2, 3}, {1000, 1001, 1002, -1000, -3000, 0});
  Tensor y = run_op({x}, [](Graph&, auto& in) { return softmax(in[0]); });
  Tensor ly = run_op({x}, [](Graph&, auto& in) { return log_softmax(in[0]); });
  for (double v : y.to_doubles()) EXPECT_TRUE(std::isfinite(v));
  for (double v : ly.to_doubles()) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(ly.to_doubles()[2], -std::log(1 + std::exp(-1.0) + std::exp(-2.0)), 1e-5);
}

TEST(Softmax, BackwardMatchesJacobian) {
  // x̄_j = Σ_i ȳ_i ∂y_i/∂x_j with the full Jacobian ∂y_i/∂x_j = y_i (δ_ij − y_j)
  Tensor x = random_tensor({4, 9}, DType::f64, 6, -2, 2);
  Tensor gy = random_tensor({4, 9}, DType::f64, 7);
  Tensor y = run_op({x}, [](Graph&, auto& in) { return softmax(in[0]); });
  Tensor gx = run_op({y, gy}, [](Graph&, auto& in) { return softmax_backward(in[0], in[1]); });
  const std::vector<double> yv = y.to_doubles(), gv = gy.to_doubles();
  std::vector<double> expect(yv.size());
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 9; ++j) {
      double acc = 0;
      for (int i = 0; i < 9; ++i)
        acc += gv[r * 9 + i] * yv[r * 9 + i] * ((i == j) - yv[r * 9 + j]);
      expect[r * 9 + j] = acc;
    }
  EXPECT_TRUE(all_close(gx, Tensor::from_values({4, 9}, expect, DType::f64), 1e-12, 1e-12));
}

TEST(Softmax, LogSoftmaxBackwardMatchesFiniteDifferences) {
  Tensor x = random_tensor({3, 2, 7}, DType::f64, 8, -2, 2);
  Tensor gy = random_tensor({3, 2, 7}, DType::f64, 9);
  auto forward = [](const std::vector<Tensor>& in) {
    return run_op(in, [](Graph&, auto& n) { return log_softmax(n[0]); });
  };
  Tensor y = forward({x});
  Tensor gx =
      run_op({y, gy}, [](Graph&, auto& in) { return log_softmax_backward(in[0], in[1]); });
  EXPECT_TRUE(all_close(gx, finite_difference(forward, {x}, 0, gy), 1e-7, 1e-6));
}

TEST(Softmax, IntegerInputAndMismatchedAdjointAreErrors) {
  Graph g;
  EXPECT_THROW(softmax(g.input("x", {2, 3}, DType::i32)), DTypeError);
  EXPECT_THROW(softmax(g.input("s", {})), ShapeError);
  EXPECT_THROW(softmax_backward(g.input("y", {2, 3}), g.input("gy", {3, 2})), ShapeError);
  EXPECT_THROW(log_softmax_backward(g.input("y2", {2, 3}), g.input("gy2", {2, 3}, DType::f64)),
               DTypeError);
}

// ---- softmax cross-entropy -----------------------------------------------------------------
TEST(SoftmaxCrossEntropy, LossIsLogsumexpMinusTargetLogit) {
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor logits = random_tensor({6, 33}, dt, 10, -5, 5);
    Tensor targets = random_ids({6}, 33, 11);
    Tensor loss = run_op({logits, targets},
                         [](Graph&, auto& in) { return softmax_cross_entropy(in[0], in[1]); });
    const std::vector<double> x = logits.to_doubles(), t = targets.to_doubles();
    std::vector<double> expect;
    for (int r = 0; r < 6; ++r) {
      std::vector<double> row(x.begin() + r * 33, x.begin() + (r + 1) * 33);
      expect.push_back(-log_softmax_row(row)[static_cast<size_t>(t[r])]);
    }
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    EXPECT_TRUE(all_close(f64(loss), Tensor::from_values({6}, expect, DType::f64), tol, tol));
  }
}

TEST(SoftmaxCrossEntropy, BackwardMatchesFiniteDifferences) {
  Tensor logits = random_tensor({5, 7}, DType::f64, 12, -3, 3);
  Tensor targets = random_ids({5}, 7, 13);
  Tensor gloss = random_tensor({5}, DType::f64, 14);
  auto forward = [&](const std::vector<Tensor>& in) {
    return run_op({in[0], targets},
                  [](Graph&, auto& n) { return softmax_cross_entropy(n[0], n[1]); });
  };
  Tensor gx = run_op({logits, targets, gloss}, [](Graph&, auto& in) {
    return softmax_cross_entropy_backward(in[0], in[1], in[2]);
  });
  EXPECT_TRUE(all_close(gx, finite_difference(forward, {logits}, 0, gloss), 1e-7, 1e-6));
}

TEST(SoftmaxCrossEntropy, BadTargetsAreErrors) {
  Graph g;
  Node* logits = g.input("x", {4, 5});
  EXPECT_THROW(softmax_cross_entropy(logits, g.input("t", {4})), DTypeError);
  EXPECT_THROW(softmax_cross_entropy(logits, g.input("t2", {3}, DType::i32)), ShapeError);
  EXPECT_THROW(softmax_cross_entropy(g.input("x3", {2, 4, 5}), g.input("t3", {2}, DType::i32)),
               ShapeError);
  Tensor out_of_range = Tensor::from_values({2}, {1, 5}, DType::i32);
  EXPECT_THROW(run_op({random_tensor({2, 5}), out_of_range},
                      [](Graph&, auto& in) { return softmax_cross_entropy(in[0], in[1]); }),
               Error);
}

// ---- RMSNorm -------------------------------------------------------------------------------
TEST(RMSNorm, ForwardMatchesNaiveRows) {
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : kRowShapes) {
      SCOPED_TRACE(shape_str(s));
      Tensor x = random_tensor(s, dt, 15, -2, 2);
      Tensor w = random_tensor({s.back()}, dt, 16);
      const std::vector<double> wv = w.to_doubles();
      Tensor expect = rowwise(x, [&](std::vector<double> r) {
        double ss = 0;
        for (double a : r) ss += a * a;
        const double rstd = 1 / std::sqrt(ss / static_cast<double>(r.size()) + 1e-5);
        for (size_t j = 0; j < r.size(); ++j) r[j] *= rstd * wv[j];
        return r;
      });
      const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
      EXPECT_TRUE(all_close(
          f64(run_op({x, w}, [](Graph&, auto& in) { return rms_norm(in[0], in[1], 1e-5); })),
          expect, tol, tol));
    }
}

TEST(RMSNorm, BackwardInputAndWeightMatchFiniteDifferences) {
  Tensor x = random_tensor({2, 3, 6}, DType::f64, 17, -2, 2);
  Tensor w = random_tensor({6}, DType::f64, 18);
  Tensor gy = random_tensor({2, 3, 6}, DType::f64, 19);
  auto forward = [](const std::vector<Tensor>& in) {
    return run_op(in, [](Graph&, auto& n) { return rms_norm(n[0], n[1], 1e-3); });
  };
  Tensor gx = run_op({x, w, gy}, [](Graph&, auto& in) {
    return rms_norm_backward_input(in[0], in[1], in[2], 1e-3);
  });
  Tensor gw_ = run_op({x, gy}, [](Graph&, auto& in) {
    return rms_norm_backward_weight(in[0], in[1], 1e-3);
  });
  EXPECT_TRUE(all_close(gx, finite_difference(forward, {x, w}, 0, gy), 1e-7, 1e-6));
  EXPECT_TRUE(all_close(gw_, finite_difference(forward, {x, w}, 1, gy), 1e-7, 1e-6));
}

TEST(RMSNorm, WeightMustMatchLastAxis) {
  Graph g;
  EXPECT_THROW(rms_norm(g.input("x", {2, 4}), g.input("w", {3})), ShapeError);
  EXPECT_THROW(rms_norm(g.input("x2", {2, 4}), g.input("w2", {4}, DType::f64)), DTypeError);
  EXPECT_THROW(rms_norm_backward_weight(g.input("x3", {2, 4}), g.input("g3", {2, 5})),
               ShapeError);
}

// ---- RoPE ----------------------------------------------------------------------------------
TEST(RoPE, RotatesPairsByPositionTimesFrequency) {
  for (int64_t d : {2, 8, 32}) {
    Tensor x = random_tensor({2, 3, 5, d}, DType::f64, 20);
    Tensor y = run_op({x}, [](Graph&, auto& in) { return rope(in[0], 500.0); });
    const std::vector<double> xv = x.to_doubles();
    std::vector<double> expect(xv.size());
    for (int64_t h = 0; h < 6; ++h)
      for (int64_t p = 0; p < 5; ++p)
        for (int64_t i = 0; i < d / 2; ++i) {
          const double angle = p / std::pow(500.0, 2.0 * i / d);
          const size_t at = static_cast<size_t>((h * 5 + p) * d + 2 * i);
          expect[at] = xv[at] * std::cos(angle) - xv[at + 1] * std::sin(angle);
          expect[at + 1] = xv[at] * std::sin(angle) + xv[at + 1] * std::cos(angle);
        }
    EXPECT_TRUE(all_close(y, Tensor::from_values(x.shape(), expect, DType::f64), 1e-12, 1e-12))
        << "d = " << d;
  }
}

TEST(RoPE, InverseUndoesForwardAndIsItsVjp) {
  Tensor x = random_tensor({1, 2, 7, 8}, DType::f64, 21);
  Tensor gy = random_tensor({1, 2, 7, 8}, DType::f64, 22);
  Tensor back = run_op({x}, [](Graph&, auto& in) { return rope(rope(in[0]), 10000.0, true); });
  EXPECT_TRUE(all_close(back, x, 1e-12, 0));
  auto forward = [](const std::vector<Tensor>& in) {
    return run_op(in, [](Graph&, auto& n) { return rope(n[0]); });
  };
  Tensor vjp = run_op({gy}, [](Graph&, auto& in) { return rope(in[0], 10000.0, true); });
  EXPECT_TRUE(all_close(vjp, finite_difference(forward, {x}, 0, gy), 1e-7, 1e-6));
}

// Sequence-major x (b, s, n, d), the layout the flash op reads: the same rotation as on the
// head-major tensor, position by position.
TEST(RoPE, SequenceMajorRotatesAsHeadMajor) {
  Tensor x = random_tensor({2, 3, 5, 8}, DType::f64, 23);  // (b, n, s, d)
  Tensor want = run_op({x}, [](Graph&, auto& in) { return rope(in[0], 500.0); });
  for (bool inverse : {false, true}) {
    Tensor got = run_op({x}, [inverse](Graph&, auto& in) {
      Node* seq = permute(in[0], {0, 2, 1, 3});  // (b, s, n, d)
      Node* turned = rope(seq, 500.0, inverse, 1);
      return permute(inverse ? rope(turned, 500.0, false, 1) : turned, {0, 2, 1, 3});
    });
    EXPECT_TRUE(all_close(got, inverse ? x : want, 1e-12, 1e-12)) << "inverse " << inverse;
  }
}

// Fused x (b, s, 3, n, d), q, k and v side by side: q and k turn as a (b, s, n, d) tensor
// does, v is copied.
TEST(RoPE, FusedQkvRotatesQAndKAndCopiesV) {
  const int64_t b = 2, s = 5, n = 3, d = 8;
  const Tensor x = random_tensor({b, s, 3, n, d}, DType::f64, 29);
  for (bool inverse : {false, true}) {
    Graph g;
    Node* in = g.input("x", x.shape(), DType::f64);
    auto part = [&](Node* t, int64_t k) { return reshape(slice(t, 2, k, k + 1), {b, s, n, d}); };
    Node* fused = rope(in, 500.0, inverse, 1);
    const std::vector<Tensor> out =
        eval({part(fused, 0), part(fused, 1), part(fused, 2), rope(part(in, 0), 500.0, inverse, 1),
              rope(part(in, 1), 500.0, inverse, 1), part(in, 2)},
             {{in, x}});
    EXPECT_EQ(out[0].to_doubles(), out[3].to_doubles()) << "q, inverse " << inverse;
    EXPECT_EQ(out[1].to_doubles(), out[4].to_doubles()) << "k, inverse " << inverse;
    EXPECT_EQ(out[2].to_doubles(), out[5].to_doubles()) << "v, inverse " << inverse;
  }
  Graph g;
  EXPECT_THROW(rope(g.input("four", {2, 5, 4, 3, 8}), 500.0, false, 1), ShapeError);
  EXPECT_THROW(rope(g.input("head_major", {2, 5, 3, 3, 8})), ShapeError);  // fused is (b, s, ...)
}

TEST(RoPE, OddHeadDimOrWrongRankIsShapeError) {
  Graph g;
  EXPECT_THROW(rope(g.input("x", {1, 2, 3, 5})), ShapeError);
  EXPECT_THROW(rope(g.input("y", {2, 3, 4})), ShapeError);
  try {
    rope(g.input("z", {1, 2, 3, 4}), 10000.0, false, 3);
    ADD_FAILURE() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("sequence axis"), std::string::npos) << e.what();
  }
}

// ---- AdamW ---------------------------------------------------------------------------------
TEST(AdamW, ThreeStepsMatchHandWrittenLoop) {
  const double b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  const Shape s{3, 5};
  Graph g;
  Node* p = g.parameter("p", random_tensor(s, DType::f32, 23));
  Node* m = g.parameter("m", Tensor::zeros(s), false);
  Node* v = g.parameter("v", Tensor::zeros(s), false);
  Node* grad = g.parameter("grad", Tensor::zeros(s), false);
  Node* scalars = g.parameter("scalars", Tensor::zeros({4}), false);
  Node* step = adamw(p, grad, m, v, scalars, b1, b2, eps, wd);
  EXPECT_TRUE(step->def().mutates_inputs);
  EXPECT_EQ(step->shape, Shape{});

  std::vector<double> pr = p->value.to_doubles(), mr(15, 0.0), vr(15, 0.0);
  for (int t = 1; t <= 3; ++t) {
    const double lr = 0.01 * t, gscale = t == 2 ? 0.5 : 1.0;
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    grad->value.copy_from(random_tensor(s, DType::f32, 100 + t));
    scalars->value.copy_from(Tensor::from_values({4}, {lr, bc1, bc2, gscale}));
    Tensor out = naive_run(step);
    EXPECT_EQ(out.item(), 0.0);
    const std::vector<double> gv = grad->value.to_doubles();
    for (size_t i = 0; i < 15; ++i) {
      const double gi = static_cast<float>(gv[i] * gscale);
      mr[i] = b1 * mr[i] + (1 - b1) * gi;
      vr[i] = b2 * vr[i] + (1 - b2) * gi * gi;
      pr[i] -= lr * (wd * pr[i] + (mr[i] / bc1) / (std::sqrt(vr[i] / bc2) + eps));
    }
    SCOPED_TRACE("step " + std::to_string(t));
    EXPECT_TRUE(all_close(p->value, Tensor::from_values(s, pr, DType::f32), 1e-6, 1e-5));
    EXPECT_TRUE(all_close(m->value, Tensor::from_values(s, mr, DType::f32), 1e-6, 1e-5));
    EXPECT_TRUE(all_close(v->value, Tensor::from_values(s, vr, DType::f32), 1e-7, 1e-5));
  }
}

TEST(AdamW, StateMustBeParametersAndScalarsFour) {
  Graph g;
  Node* p = g.parameter("p", Tensor::zeros({3}));
  Node* m = g.parameter("m", Tensor::zeros({3}), false);
  Node* v = g.parameter("v", Tensor::zeros({3}), false);
  Node* grad = g.input("g", {3});
  EXPECT_THROW(adamw(p, grad, m, v, g.input("s", {3}), 0.9, 0.95, 1e-8, 0), ShapeError);
  EXPECT_THROW(adamw(p, grad, g.input("m2", {3}), v, g.input("s2", {4}), 0.9, 0.95, 1e-8, 0),
               Error);
  EXPECT_THROW(adamw(p, g.input("g3", {4}), m, v, g.input("s3", {4}), 0.9, 0.95, 1e-8, 0),
               ShapeError);
  EXPECT_NO_THROW(adamw(p, grad, m, v, g.input("s4", {4}), 0.9, 0.95, 1e-8, 0));
}
