// test_attention.cpp — naive attention on the CPU: forward against an f64 loop (causal and
// not, s not a power of two, d in {8, 32}, default and explicit scale), backward against
// finite differences of the forward op, and the workspace the memory plan must see.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gw/ops.h"
#include "nn_testing.h"
#include "op_cases.h"
#include "testing.h"

using namespace gw;
using namespace gw::testing;

namespace {

// ---- the table's cases: every rule gradchecked, every kernel against its CUDA twin ----------
const OpCases kAttentionCases({
    GW_OP_CASE("attention_causal",
               return attention(p({1, 2, 3, 4}), p({1, 2, 3, 4}), p({1, 2, 3, 4}), true);),
    GW_OP_CASE("attention",
               return attention(p({1, 2, 3, 4}), p({1, 2, 3, 4}), p({1, 2, 3, 4}), false);),
    GW_OP_CASE("attention_scaled",
               return attention(p({2, 1, 5, 2}), p({2, 1, 5, 2}), p({2, 1, 5, 2}), true, 0.3);),
});

// softmax(c·q kᵀ + mask) v per head, written out in f64.
Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                           double scale) {
  const int64_t heads = q.size(0) * q.size(1), s = q.size(2), d = q.size(3);
  if (scale == 0) scale = 1 / std::sqrt(static_cast<double>(d));
  const std::vector<double> qv = q.to_doubles(), kv = k.to_doubles(), vv = v.to_doubles();
  std::vector<double> out(qv.size(), 0.0);
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < s; ++i) {
      std::vector<double> w(static_cast<size_t>(s), -INFINITY);
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < s; ++j) {
        if (causal && j > i) continue;
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) dot += qv[(h * s + i) * d + e] * kv[(h * s + j) * d + e];
        w[j] = scale * dot;
        mx = std::max(mx, w[j]);
      }
      for (double& x : w) sum += (x = std::exp(x - mx));
      for (int64_t j = 0; j < s; ++j)
        for (int64_t e = 0; e < d; ++e)
          out[(h * s + i) * d + e] += w[j] / sum * vv[(h * s + j) * d + e];
    }
  return Tensor::from_values(q.shape(), out, DType::f64);
}

Tensor slice_of(const Tensor& packed, int which) {  // (3, b, n, s, d) -> part `which`
  const std::vector<double> all = packed.to_doubles();
  const size_t part = all.size() / 3;
  Shape s(packed.shape().begin() + 1, packed.shape().end());
  return Tensor::from_values(
      s, std::vector<double>(all.begin() + which * part, all.begin() + (which + 1) * part),
      DType::f64);
}

}  // namespace

TEST(Attention, ForwardMatchesNaiveLoopCausalAndNot) {
  for (int64_t s : {1, 5, 17, 33})
    for (int64_t d : {8, 32})
      for (bool causal : {false, true})
        for (DType dt : {DType::f32, DType::f64}) {
          SCOPED_TRACE("s=" + std::to_string(s) + " d=" + std::to_string(d) +
                       " causal=" + std::to_string(causal) + " " + dtype_name(dt));
          const Shape shape{2, 3, s, d};
          Tensor q = random_tensor(shape, dt, 30), k = random_tensor(shape, dt, 31),
                 v = random_tensor(shape, dt, 32);
          Tensor o = run_op({q, k, v}, [causal](Graph&, auto& in) {
            return attention(in[0], in[1], in[2], causal);
          });
          const double tol = dt == DType::f32 ? 2e-6 : 1e-12;
          EXPECT_TRUE(all_close(o.astype(DType::f64),
                                reference_attention(q, k, v, causal, 0.0), tol, tol));
        }
}

TEST(Attention, ExplicitScaleIsUsed) {
  const Shape shape{1, 2, 6, 8};
  Tensor q = random_tensor(shape, DType::f64, 33), k = random_tensor(shape, DType::f64, 34),
         v = random_tensor(shape, DType::f64, 35);
  Tensor o = run_op({q, k, v},
                    [](Graph&, auto& in) { return attention(in[0], in[1], in[2], false, 2.5); });
  EXPECT_TRUE(all_close(o, reference_attention(q, k, v, false, 2.5), 1e-12, 1e-12));
}

TEST(Attention, BackwardMatchesFiniteDifferences) {
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "full");
    const Shape shape{2, 2, 5, 8};
    std::vector<Tensor> qkv = {random_tensor(shape, DType::f64, 36, -2, 2),
                               random_tensor(shape, DType::f64, 37, -2, 2),
                               random_tensor(shape, DType::f64, 38)};
    Tensor go = random_tensor(shape, DType::f64, 39);
    auto forward = [causal](const std::vector<Tensor>& in) {
      return run_op(in, [causal](Graph&, auto& n) { return attention(n[0], n[1], n[2], causal); });
    };
    Tensor packed = run_op({qkv[0], qkv[1], qkv[2], go}, [causal](Graph&, auto& in) {
      return attention_backward(in[0], in[1], in[2], in[3], causal);
    });
    ASSERT_EQ(packed.shape(), (Shape{3, 2, 2, 5, 8}));
    for (int which = 0; which < 3; ++which)
      EXPECT_TRUE(all_close(slice_of(packed, which), finite_difference(forward, qkv, which, go),
                            1e-7, 1e-6))
          << "gradient of input " << "qkv"[which];
  }
}

TEST(Attention, BackwardF32AgreesWithF64) {
  const Shape shape{1, 3, 19, 32};
  Tensor q = random_tensor(shape, DType::f64, 40), k = random_tensor(shape, DType::f64, 41),
         v = random_tensor(shape, DType::f64, 42), go = random_tensor(shape, DType::f64, 43);
  auto backward = [](const std::vector<Tensor>& in) {
    return run_op(in, [](Graph&, auto& n) {
      return attention_backward(n[0], n[1], n[2], n[3], true, 0.0);
    });
  };
  Tensor exact = backward({q, k, v, go});
  Tensor f32 = backward({q.astype(DType::f32), k.astype(DType::f32), v.astype(DType::f32),
                         go.astype(DType::f32)});
  EXPECT_TRUE(all_close(f32.astype(DType::f64), exact, 1e-5, 1e-4));
}

TEST(Attention, WorkspaceHoldsEveryHeadsScores) {
  Graph g;
  Node* q = g.input("q", {2, 3, 17, 8});
  Node* o = attention(q, q, q, true);
  Node* b = attention_backward(q, q, q, q, true);
  ASSERT_NE(o->def().workspace, nullptr);
  EXPECT_EQ(o->def().workspace(*o), size_t{2 * 3 * 17 * 17 * 4});
  EXPECT_EQ(b->def().workspace(*b), size_t{2 * 2 * 3 * 17 * 17 * 4});
  // Lab 07's convention per head: q kᵀ s·s·(2d − 1), softmax 3s², P v s·d·(2s − 1).
  EXPECT_DOUBLE_EQ(o->def().flops(*o), 2.0 * 3 * (17 * 17 * 15 + 3 * 17 * 17 + 17 * 8 * 33));
}

TEST(Attention, MismatchedShapesAreShapeErrors) {
  Graph g;
  Node* q = g.input("q", {1, 2, 4, 8});
  try {
    attention(q, g.input("k", {1, 2, 5, 8}), q, false);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("attention"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(1, 2, 4, 8)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(1, 2, 5, 8)"), std::string::npos) << msg;
  }
  EXPECT_THROW(attention(g.input("x", {2, 4, 8}), g.input("y", {2, 4, 8}),
                         g.input("z", {2, 4, 8}), false),
               ShapeError);
  EXPECT_THROW(attention(q, q, g.input("v", {1, 2, 4, 8}, DType::f64), false), DTypeError);
  EXPECT_THROW(attention_backward(q, q, q, g.input("go", {1, 2, 4, 7}), false), ShapeError);
}

// ---- the threaded paths of the row kernels (large inputs) -----------------------------------
TEST(ThreadedRowKernels, RMSNormWeightGradAndEmbeddingBackwardMatchSerialSums) {
  const int64_t rows = 600, h = 64, vocab = 50;
  Tensor x = random_tensor({rows, h}, DType::f64, 44);
  Tensor gy = random_tensor({rows, h}, DType::f64, 45);
  Tensor ids = random_ids({rows}, static_cast<int>(vocab), 46);
  Tensor gw_ = run_op({x, gy}, [](Graph&, auto& in) {
    return rms_norm_backward_weight(in[0], in[1], 1e-5);
  });
  Tensor ge = run_op({ids, gy}, [vocab](Graph&, auto& in) {
    return embedding_backward(in[0], in[1], vocab);
  });
  const std::vector<double> xv = x.to_doubles(), gv = gy.to_doubles(), id = ids.to_doubles();
  std::vector<double> w_expect(h, 0.0), e_expect(vocab * h, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t j = 0; j < h; ++j) ss += xv[r * h + j] * xv[r * h + j];
    const double rstd = 1 / std::sqrt(ss / h + 1e-5);
    for (int64_t j = 0; j < h; ++j) {
      w_expect[j] += gv[r * h + j] * xv[r * h + j] * rstd;
      e_expect[static_cast<size_t>(id[r]) * h + j] += gv[r * h + j];
    }
  }
  EXPECT_TRUE(all_close(gw_, Tensor::from_values({h}, w_expect, DType::f64), 1e-10, 1e-10));
  EXPECT_TRUE(all_close(ge, Tensor::from_values({vocab, h}, e_expect, DType::f64), 1e-10, 0));
}
