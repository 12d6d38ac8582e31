// test_flash_attention.cpp — flash attention on the CPU against the naive ops (the oracle):
// outputs, the saved log-sum-exp and gradients on odd shapes (T across tile edges, d not a
// power of two), causal and not; shape errors; extra memory linear in T. The flash ops read
// (b, s, n, d) and the naive ones (b, n, s, d): comparisons write the cases head-major and
// swap axes 1 and 2 around the flash op (flash_head_major).
#include <gtest/gtest.h>

#include <algorithm>
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
    // q, k, v fused as one (b, s, 3, n, d): one input, one (b, s, 3, n, d) gradient. The CUDA
    // kernels take three tensors (a fused input is a ShapeError there).
    cpu_only(GW_OP_CASE("flash_attention_fused",
                        return flash_attention_packed(p({1, 3, 3, 2, 4}), true);)),
    cpu_only(GW_OP_CASE("flash_attention_fused_output",
                        return flash_attention(p({2, 4, 3, 1, 2}), false, 0.4);)),
});

// Axes 1 and 2 swapped: (b, n, s, d) <-> (b, s, n, d).
Node* swap12(Node* x) { return permute(x, {0, 2, 1, 3}); }
// The flash op (packed or not) on head-major q, k, v, its result head-major again.
Node* flash_head_major(Node* q, Node* k, Node* v, bool causal, bool packed = false) {
  Node* y = packed ? flash_attention_packed(swap12(q), swap12(k), swap12(v), causal)
                   : flash_attention(swap12(q), swap12(k), swap12(v), causal);
  return swap12(y);
}

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
  Node* o = flash ? flash_head_major(in[0], in[1], in[2], causal)
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
            return flash_head_major(n[0], n[1], n[2], causal, /*packed=*/true);
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
    return flash_head_major(n[0], n[1], n[2], false);
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
    Node* empty = g.input("e", {1, 0, 2, 8});  // (b, s, n, d) with s = 0
    flash_attention(empty, empty, empty, true);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(1, 0, 2, 8)"), std::string::npos) << e.what();
  }
  try {  // a 3-D q names the layout it must have
    Node* flat = g.input("flat", {2, 4, 8});
    flash_attention(flat, flat, flat, true);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(b, s, n, d)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(flash_attention(q, q, g.input("v", {1, 2, 4, 8}, DType::f64), false), DTypeError);
  Node* packed = flash_attention_packed(q, q, q, false);
  EXPECT_THROW(flash_attention_backward(q, q, q, packed, g.input("g", {1, 2, 4, 8}), false),
               ShapeError);
}

// b = 0 (an empty batch) is no error: empty outputs, as the naive op gives (the CUDA twin is
// CudaFlash.ZeroBatchGivesEmptyOutputsInEveryDtype).
TEST(FlashAttention, ZeroBatchGivesEmptyOutputs) {
  Graph g;
  Node* q = g.constant(Tensor::zeros({0, 5, 2, 8}));
  Node* packed = flash_attention_packed(q, q, q, true);
  Node* grads = flash_attention_backward(q, q, q, packed, packed, true);
  const std::vector<Tensor> out = eval({packed, grads});
  EXPECT_EQ(out[0].shape(), (Shape{0, 5, 2, 9}));
  EXPECT_EQ(out[1].numel(), 0);
}

// q, k, v fused as one (b, s, 3, n, d) run the same kernels on the same rows as three
// tensors: the packed output and the gradients agree to the bit (the backward's (3, b, s, n, d)
// permuted to the fused layout).
TEST(FlashAttention, FusedQkvEqualsThreeTensorsToTheBit) {
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t s : {1, 7, 65, 130})
      for (int64_t d : {16, 80})
        for (bool causal : {false, true}) {
          const int64_t b = 2, n = 3;
          const Tensor qkv = random_tensor({b, s, 3, n, d}, dt, 31 + s + d, -2, 2);
          const Tensor gy = random_tensor({b, s, n, d + 1}, dt, 37 + s + d);
          Graph g;
          Node* fused = g.input("qkv", qkv.shape(), dt);
          Node* adjoint = g.input("gy", gy.shape(), dt);
          auto part = [&](int64_t k) { return reshape(slice(fused, 2, k, k + 1), {b, s, n, d}); };
          Node* q = part(0);
          Node* k = part(1);
          Node* v = part(2);
          Node* y3 = flash_attention_packed(q, k, v, causal);
          Node* y1 = flash_attention_packed(fused, causal);
          Node* g3 =
              permute(flash_attention_backward(q, k, v, y3, adjoint, causal), {1, 2, 0, 3, 4});
          Node* g1 = flash_attention_backward(fused, y1, adjoint, causal);
          EXPECT_EQ(g1->shape, qkv.shape());
          const std::vector<Tensor> out = eval({y3, y1, g3, g1}, {{fused, qkv}, {adjoint, gy}});
          const std::string at = where(s, d, causal, dt);
          EXPECT_EQ(out[0].to_doubles(), out[1].to_doubles()) << "output and LSE, " << at;
          EXPECT_EQ(out[2].to_doubles(), out[3].to_doubles()) << "gradients, " << at;
        }
}

TEST(FlashAttention, FusedQkvShapeErrorsNameTheLayout) {
  Graph g;
  try {  // axis 2 must hold q, k and v
    flash_attention(g.input("qkv", {1, 4, 2, 2, 8}), true);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("(1, 4, 2, 2, 8)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(b, s, 3, n, d)"), std::string::npos) << msg;
  }
  Node* qkv = g.input("ok", {1, 4, 3, 2, 8});
  try {  // a fused input takes no k and v
    g.add_node(Op::FlashAttention, {qkv, qkv, qkv});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 1 inputs"), std::string::npos) << e.what();
  }
  try {  // nor three tensors two
    Node* q = g.input("q", {1, 4, 2, 8});
    g.add_node(Op::FlashAttention, {q, q});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 3 inputs"), std::string::npos) << e.what();
  }
  EXPECT_THROW(flash_attention(g.input("empty", {1, 0, 3, 2, 8}), true), ShapeError);
  EXPECT_THROW(flash_attention(g.input("ints", {1, 4, 3, 2, 8}, DType::i32), true), DTypeError);
  Node* packed = flash_attention_packed(qkv, true);
  try {  // the packed output of another shape
    flash_attention_backward(qkv, packed, g.input("gy", {1, 4, 2, 8}), true);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(1, 4, 2, 9)"), std::string::npos) << e.what();
  }
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

// 16-bit q, k, v: the CPU kernels widen them (exactly) to f32 and run the f32 path, so the
// packed output (f32) equals the f32 op's on the rounded inputs, and the gradients equal the
// f32 op's rounded once to q's dtype. These results are the oracle of the CUDA bf16 kernels.
TEST(FlashAttention, SixteenBitInputsMatchF32OnTheRoundedInputs) {
  for (DType half : {DType::bf16, DType::f16})
    for (int64_t s : {1, 63, 65, 130})
      for (bool causal : {false, true}) {
        SCOPED_TRACE(where(s, 64, causal, half));
        const Shape shape{1, 2, s, 64};
        std::vector<Tensor> narrow, wide;
        for (uint64_t seed : {90, 91, 92}) {
          narrow.push_back(random_tensor(shape, DType::f32, seed, -2, 2).astype(half));
          wide.push_back(narrow.back().astype(DType::f32));
        }
        auto packed_of = [causal](const std::vector<Tensor>& qkv) {
          return run_op(qkv, [causal](Graph&, auto& n) {
            return flash_attention_packed(n[0], n[1], n[2], causal);
          });
        };
        const Tensor y = packed_of(narrow), want_y = packed_of(wide);
        ASSERT_EQ(y.dtype(), DType::f32) << "the packed output (and its LSE) stays f32";
        ASSERT_EQ(y.shape(), (Shape{1, 2, s, 65}));
        EXPECT_TRUE(all_close(y, want_y, 1e-6, 1e-6));

        const Tensor gy = random_tensor(y.shape(), DType::f32, 93);
        auto grads_of_op = [&](const std::vector<Tensor>& qkv) {
          std::vector<Tensor> in = qkv;
          in.push_back(want_y);
          in.push_back(gy);
          return run_op(in, [causal](Graph&, auto& n) {
            return flash_attention_backward(n[0], n[1], n[2], n[3], n[4], causal);
          });
        };
        const Tensor g = grads_of_op(narrow), want_g = grads_of_op(wide);
        ASSERT_EQ(g.dtype(), half) << "q̄, k̄, v̄ come back in q's dtype";
        ASSERT_EQ(g.shape(), (Shape{3, 1, 2, s, 64}));
        EXPECT_TRUE(all_close(g.astype(DType::f32), want_g.astype(half).astype(DType::f32), 0, 0))
            << "the f32 gradients rounded once";
        // A real computation: the gradients are not all zero.
        double largest = 0;
        for (double x : want_g.to_doubles()) largest = std::max(largest, std::fabs(x));
        EXPECT_GT(largest, 1e-3);
      }
}

// gradients() through the flash op on bf16 leaves: flash_attention's output is bf16 (the f32
// packed output cast back), the vjps take the f32 adjoint of the packed output and return
// bf16 gradients, the f32 graph's rounded once (w is bf16-exact, so both see one adjoint).
TEST(FlashAttention, Bf16GradientsThroughTheVjp) {
  for (bool causal : {false, true}) {
    const Shape shape{2, 1, 70, 16};
    std::vector<Tensor> narrow, wide;
    for (uint64_t seed : {94, 95, 96}) {
      narrow.push_back(random_tensor(shape, DType::f32, seed, -2, 2).astype(DType::bf16));
      wide.push_back(narrow.back().astype(DType::f32));
    }
    const Tensor w = random_tensor(shape, DType::f32, 97).astype(DType::bf16);
    {
      Graph g;
      Node* q = g.input("q", shape, DType::bf16);
      EXPECT_EQ(flash_attention(q, q, q, causal)->dtype, DType::bf16);
    }
    const std::vector<Tensor> got = grads_of(true, narrow, w, causal);
    const std::vector<Tensor> want = grads_of(true, wide, w.astype(DType::f32), causal);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(got[i].dtype(), DType::bf16) << "gradient of " << "qkv"[i];
      EXPECT_TRUE(all_close(got[i].astype(DType::f32), want[i].astype(DType::bf16).astype(DType::f32),
                            1e-6, 1e-6))
          << "gradient of " << "qkv"[i] << " (causal " << causal << ")";
    }
  }
}

TEST(FlashAttention, SixteenBitDTypeErrorsNameTheDTypes) {
  Graph g;
  Node* q = g.input("q", {1, 2, 4, 64}, DType::bf16);
  // q, k, v must share one dtype.
  try {
    flash_attention(q, g.input("k", {1, 2, 4, 64}, DType::f32), q, false);
    ADD_FAILURE() << "expected DTypeError";
  } catch (const DTypeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bf16"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f32"), std::string::npos) << msg;
  }
  EXPECT_THROW(flash_attention(q, q, g.input("v16", {1, 2, 4, 64}, DType::f16), false),
               DTypeError);
  // Mismatched head dimensions and T = 0 stay shape errors with 16-bit inputs.
  EXPECT_THROW(flash_attention(q, g.input("k2", {1, 2, 4, 128}, DType::bf16), q, false),
               ShapeError);
  Node* empty = g.input("e", {1, 0, 2, 64}, DType::bf16);
  EXPECT_THROW(flash_attention(empty, empty, empty, true), ShapeError);
  // The packed output of bf16 q is f32; so must its adjoint be.
  Node* packed = flash_attention_packed(q, q, q, false);
  EXPECT_EQ(packed->dtype, DType::f32);
  try {
    flash_attention_backward(q, q, q, packed, g.input("gy", {1, 2, 4, 65}, DType::bf16), false);
    ADD_FAILURE() << "expected DTypeError";
  } catch (const DTypeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("adjoint"), std::string::npos) << msg;
    EXPECT_NE(msg.find("must be f32"), std::string::npos) << msg;
  }
  Node* grads = flash_attention_backward(q, q, q, packed, g.input("gy32", {1, 2, 4, 65}), false);
  EXPECT_EQ(grads->dtype, DType::bf16);
  EXPECT_EQ(grads->shape, (Shape{3, 1, 2, 4, 64}));
  // i32 is no attention dtype.
  Node* ids = g.input("ids", {1, 2, 4, 64}, DType::i32);
  EXPECT_THROW(flash_attention(ids, ids, ids, false), DTypeError);
}

// The JVP rules widen 16-bit operands to f32 (MatMul takes f32/f64): the tangent of the packed
// output of bf16 q, k, v is f32 and equals the f32 graph's on the same values.
TEST(FlashAttention, Bf16TangentsThroughTheJvp) {
  const Shape shape{1, 2, 9, 16};
  std::vector<Tensor> narrow;
  for (uint64_t seed = 100; seed < 106; ++seed)
    narrow.push_back(random_tensor(shape, DType::f32, seed).astype(DType::bf16));
  auto tangent = [&](DType dt) {
    Graph g;
    std::vector<Node*> in, dir;
    for (size_t i = 0; i < 3; ++i)
      in.push_back(g.parameter("x" + std::to_string(i), narrow[i].astype(dt)));
    for (size_t i = 3; i < 6; ++i) dir.push_back(g.constant(narrow[i].astype(dt)));
    return eval(jvp(flash_attention_packed(in[0], in[1], in[2], true), in, dir));
  };
  const Tensor got = tangent(DType::bf16), want = tangent(DType::f32);
  EXPECT_EQ(got.dtype(), DType::f32);
  EXPECT_TRUE(all_close(got, want, 1e-6, 1e-6));
  double largest = 0;
  for (double x : want.to_doubles()) largest = std::max(largest, std::fabs(x));
  EXPECT_GT(largest, 1e-3);
}
