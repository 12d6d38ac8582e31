// test_flash_attention.cpp — flash attention on the CPU against the naive ops (the oracle):
// outputs, the saved log-sum-exp and gradients on odd shapes (T across tile edges, d not a
// power of two), causal and not; shape errors; extra memory linear in T.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gw/allocator.h"
#include "gw/autodiff.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "nn_testing.h"
#include "op_cases.h"
#include "testing.h"

using namespace gw;
using namespace gw::testing;

namespace {

// The table's cases: the VJP (with the LSE's adjoint), the composed JVP and the CUDA twin.
// s = 70 crosses a 64-row tile and ends inside the second one.
const OpCases kFlashCases({
    GW_OP_CASE("flash_attention_causal",
               return flash_attention_packed(p({1, 2, 3, 4}), p({1, 2, 3, 4}), p({1, 2, 3, 4}),
                                             true);),
    GW_OP_CASE("flash_attention",
               return flash_attention_packed(p({1, 2, 3, 4}), p({1, 2, 3, 4}), p({1, 2, 3, 4}),
                                             false);),
    GW_OP_CASE("flash_attention_scaled",
               return flash_attention_packed(p({2, 1, 5, 2}), p({2, 1, 5, 2}), p({2, 1, 5, 2}),
                                             true, 0.3);),
    GW_OP_CASE("flash_attention_two_tiles",
               return flash_attention_packed(p({1, 1, 70, 2}), p({1, 1, 70, 2}),
                                             p({1, 1, 70, 2}), true);),
    GW_OP_CASE("flash_attention_output",
               return flash_attention(p({1, 1, 4, 3}), p({1, 1, 4, 3}), p({1, 1, 4, 3}), false);),
});

std::string where(int64_t s, int64_t d, bool causal, DType dt) {
  return "s=" + std::to_string(s) + " d=" + std::to_string(d) + (causal ? " causal " : " full ") +
         dtype_name(dt);
}

// log Σ_j exp(c·q_i·k_j) over the keys row i sees, in f64: (b, n, s).
std::vector<double> reference_lse(const Tensor& q, const Tensor& k, bool causal) {
  const int64_t heads = q.size(0) * q.size(1), s = q.size(2), d = q.size(3);
  const double c = 1 / std::sqrt(static_cast<double>(d));
  const std::vector<double> qv = q.to_doubles(), kv = k.to_doubles();
  std::vector<double> out;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < s; ++i) {
      std::vector<double> w;
      for (int64_t j = 0; j < (causal ? i + 1 : s); ++j) {
        double dot = 0;
        for (int64_t e = 0; e < d; ++e) dot += qv[(h * s + i) * d + e] * kv[(h * s + j) * d + e];
        w.push_back(c * dot);
      }
      double mx = -INFINITY, sum = 0;
      for (double x : w) mx = std::max(mx, x);
      for (double x : w) sum += std::exp(x - mx);
      out.push_back(mx + std::log(sum));
    }
  return out;
}

// q̄, k̄, v̄ of Σ w ∘ attention(q, k, v) through gradients(), with the flash op or the naive one.
std::vector<Tensor> grads_of(bool flash, const std::vector<Tensor>& qkv, const Tensor& w,
                             bool causal) {
  Graph g;
  std::vector<Node*> in;
  for (const Tensor& t : qkv) in.push_back(g.parameter("x" + std::to_string(in.size()), t));
  Node* o = flash ? flash_attention(in[0], in[1], in[2], causal)
                  : attention(in[0], in[1], in[2], causal);
  return eval(gradients(sum(mul(o, g.constant(w))), in));
}

}  // namespace

TEST(FlashAttention, OutputAndLseMatchNaiveOnOddShapes) {
  for (int64_t s : {1, 7, 63, 65, 130})
    for (int64_t d : {16, 64, 80})
      for (bool causal : {false, true})
        for (DType dt : {DType::f32, DType::f64}) {
          SCOPED_TRACE(where(s, d, causal, dt));
          const Shape shape{1, 2, s, d};
          const std::vector<Tensor> qkv = {random_tensor(shape, dt, 50, -2, 2),
                                           random_tensor(shape, dt, 51, -2, 2),
                                           random_tensor(shape, dt, 52)};
          const Tensor naive = run_op(qkv, [causal](Graph&, auto& n) {
            return attention(n[0], n[1], n[2], causal);
          });
          const Tensor packed = run_op(qkv, [causal](Graph&, auto& n) {
            return flash_attention_packed(n[0], n[1], n[2], causal);
          });
          ASSERT_EQ(packed.shape(), (Shape{1, 2, s, d + 1}));
          const std::vector<double> y = packed.to_doubles();
          std::vector<double> o, lse;
          for (size_t r = 0; r < y.size() / static_cast<size_t>(d + 1); ++r) {
            o.insert(o.end(), y.begin() + r * (d + 1), y.begin() + r * (d + 1) + d);
            lse.push_back(y[r * (d + 1) + d]);
          }
          const double tol = dt == DType::f32 ? 1e-4 : 1e-10;
          EXPECT_TRUE(all_close(Tensor::from_values(shape, o, DType::f64),
                                naive.astype(DType::f64), tol, tol));
          const std::vector<double> want = reference_lse(qkv[0], qkv[1], causal);
          EXPECT_TRUE(all_close(Tensor::from_values({1, 2, s}, lse, DType::f64),
                                Tensor::from_values({1, 2, s}, want, DType::f64), tol, tol));
        }
}

TEST(FlashAttention, GradientsMatchNaiveOnOddShapes) {
  for (int64_t s : {1, 7, 65, 130})
    for (int64_t d : {16, 80})
      for (bool causal : {false, true})
        for (DType dt : {DType::f32, DType::f64}) {
          SCOPED_TRACE(where(s, d, causal, dt));
          const Shape shape{2, 1, s, d};
          const std::vector<Tensor> qkv = {random_tensor(shape, dt, 60, -2, 2),
                                           random_tensor(shape, dt, 61, -2, 2),
                                           random_tensor(shape, dt, 62)};
          const Tensor w = random_tensor(shape, dt, 63);
          const std::vector<Tensor> want = grads_of(false, qkv, w, causal);
          const std::vector<Tensor> got = grads_of(true, qkv, w, causal);
          const double tol = dt == DType::f32 ? 1e-4 : 1e-10;
          for (size_t i = 0; i < 3; ++i)
            EXPECT_TRUE(all_close(got[i].astype(DType::f64), want[i].astype(DType::f64), tol, tol))
                << "gradient of " << "qkv"[i];
        }
}

// A late, large score raises the running max in the last key tile: without the rescale of l
// and the accumulator, rows come out wrong.
TEST(FlashAttention, MaxRisingInTheLastTileIsRescaled) {
  const int64_t s = 150, d = 16;
  Tensor q = Tensor::full({1, 1, s, d}, 0.5, DType::f64);
  Tensor k = random_tensor({1, 1, s, d}, DType::f64, 70, -0.1, 0.1);
  for (int64_t e = 0; e < d; ++e) k.data<double>()[(s - 1) * d + e] = 3.0;
  Tensor v = random_tensor({1, 1, s, d}, DType::f64, 71);
  const Tensor naive = run_op({q, k, v}, [](Graph&, auto& n) {
    return attention(n[0], n[1], n[2], false);
  });
  const Tensor flash = run_op({q, k, v}, [](Graph&, auto& n) {
    return flash_attention(n[0], n[1], n[2], false);
  });
  EXPECT_TRUE(all_close(flash, naive, 1e-12, 1e-12));
}

TEST(FlashAttention, BadShapesAreErrorsNamingThem) {
  Graph g;
  Node* q = g.input("q", {1, 2, 4, 8});
  try {
    flash_attention(q, g.input("k", {1, 2, 4, 16}), q, false);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("flash_attention"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(1, 2, 4, 16)"), std::string::npos) << msg;
  }
  try {
    Node* empty = g.input("e", {1, 2, 0, 8});
    flash_attention(empty, empty, empty, true);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(1, 2, 0, 8)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(flash_attention(q, q, g.input("v", {1, 2, 4, 8}, DType::f64), false), DTypeError);
  Node* packed = flash_attention_packed(q, q, q, false);
  EXPECT_THROW(flash_attention_backward(q, q, q, packed, g.input("g", {1, 2, 4, 8}), false),
               ShapeError);
}

// Forward and backward at T = 1024, 2048, 4096 (two heads, d = 16): the extra bytes stay
// below one T×T f32 matrix and grow linearly; the naive op needs b·n·T² at T = 1024 already.
TEST(FlashAttention, ExtraMemoryIsLinearInT) {
  std::vector<double> extra;
  for (int64_t s : {1024, 2048, 4096}) {
    const Shape shape{1, 2, s, 16};
    Graph g;
    Node* q = g.parameter("q", random_tensor(shape, DType::f32, 80));
    Node* k = g.parameter("k", random_tensor(shape, DType::f32, 81));
    Node* v = g.parameter("v", random_tensor(shape, DType::f32, 82));
    std::vector<Node*> outs = gradients(sum(flash_attention(q, k, v, true)), {q, k, v});
    MemoryProbe probe;
    eval(outs);
    const double bytes = static_cast<double>(probe.peak_extra_bytes());
    const double square = static_cast<double>(s * s) * sizeof(float);
    EXPECT_LT(bytes, square) << "T = " << s << ": " << bytes
                             << " extra bytes, as much as a T×T buffer (" << square << ")";
    extra.push_back(bytes);
  }
  EXPECT_LT(extra[2] / extra[0], 4.0 * 1.25) << "extra memory grows faster than T: "
                                             << extra[0] << ", " << extra[1] << ", " << extra[2];
}
