// test_cuda_kernels.cpp — every CUDA kernel against its CPU twin, on random shapes, with
// tolerances by dtype. Each test skips with "no CUDA device: ..." on a machine without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda_testing.h"
#include "gw/ops.h"

namespace gw::testing {
namespace {

const std::vector<DType> kFloatDtypes = {DType::f32, DType::f64, DType::bf16, DType::f16};

// A few random shapes of 1 to 4 axes, one of them large enough for several blocks.
std::vector<Shape> random_shapes(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> size(1, 9);
  std::vector<Shape> shapes = {{}, {1}, {1000003}, {3, 257, 5}};
  for (int rank = 1; rank <= 4; ++rank) {
    Shape s;
    for (int k = 0; k < rank; ++k) s.push_back(size(rng));
    shapes.push_back(s);
  }
  return shapes;
}

Attrs scalar_attr(double c) {
  Attrs a;
  a.c = c;
  return a;
}

// ---- elementwise ------------------------------------------------------------------------------
TEST(CudaElementwise, UnaryOpsMatchCpuForEveryFloatDtype) {
  GW_REQUIRE_GPU();
  const std::vector<Op> ops = {Op::Neg,  Op::Exp,     Op::Log,  Op::Sin,  Op::Cos,
                               Op::Sqrt, Op::Rsqrt,   Op::Relu, Op::Sigmoid, Op::Silu,
                               Op::Tanh, Op::AddScalar, Op::MulScalar, Op::PowScalar};
  uint64_t seed = 1;
  for (DType dt : kFloatDtypes)
    for (const Shape& shape : random_shapes(seed))
      for (Op op : ops) {
        const bool positive = op == Op::Log || op == Op::Sqrt || op == Op::Rsqrt || op == Op::PowScalar;
        const Tensor x = random_tensor(shape, dt, ++seed, positive ? 0.1 : -3.0, 3.0);
        EXPECT_TRUE(cuda_matches_cpu(op, {x}, scalar_attr(op == Op::PowScalar ? 1.7 : 0.37),
                                     tolerance_of(dt)))
            << dtype_name(dt) << " " << shape_str(shape);
      }
}

TEST(CudaElementwise, BinaryOpsMatchCpuForEveryFloatDtype) {
  GW_REQUIRE_GPU();
  uint64_t seed = 100;
  for (DType dt : kFloatDtypes)
    for (const Shape& shape : random_shapes(seed))
      for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div}) {
        const Tensor a = random_tensor(shape, dt, ++seed, -2.0, 2.0);
        const Tensor b = random_tensor(shape, dt, ++seed, 0.5, 2.0);
        EXPECT_TRUE(cuda_matches_cpu(op, {a, b}, {}, tolerance_of(dt)))
            << dtype_name(dt) << " " << shape_str(shape);
      }
}

TEST(CudaElementwise, CompareMatchesCpuForEveryDtypeAndComparison) {
  GW_REQUIRE_GPU();
  uint64_t seed = 200;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i8, DType::i32})
    for (CompareOp c : {CompareOp::lt, CompareOp::le, CompareOp::gt, CompareOp::ge, CompareOp::eq,
                        CompareOp::ne}) {
      // small integers, so equal elements occur
      const Tensor a = random_tensor({7, 33}, DType::f64, ++seed, -3.0, 3.0).astype(DType::i32).astype(dt);
      const Tensor b = random_tensor({7, 33}, DType::f64, ++seed, -3.0, 3.0).astype(DType::i32).astype(dt);
      Attrs attrs;
      attrs.compare = c;
      EXPECT_TRUE(cuda_matches_cpu(Op::Compare, {a, b}, attrs, {0, 0})) << dtype_name(dt);
    }
}

TEST(CudaElementwise, CastMatchesCpuBetweenEveryPairOfDtypes) {
  GW_REQUIRE_GPU();
  const std::vector<DType> all = {DType::f64, DType::f32, DType::f16, DType::bf16, DType::i8, DType::i32};
  uint64_t seed = 300;
  for (DType from : all)
    for (DType to : all) {
      // values beyond i8's range check saturation; halves check rounding to even
      Tensor x = random_tensor({5, 41}, DType::f64, ++seed, -300.0, 300.0);
      std::vector<double> v = x.to_doubles();
      v[0] = 2.5, v[1] = -3.5, v[2] = 0.5;
      x = Tensor::from_values({5, 41}, v, DType::f64).astype(from);
      Attrs attrs;
      attrs.dtype = to;
      EXPECT_TRUE(cuda_matches_cpu(Op::Cast, {x}, attrs, {0, 0}))
          << dtype_name(from) << " -> " << dtype_name(to);
    }
}

// ---- reductions -------------------------------------------------------------------------------
TEST(CudaReduce, SumMaxMeanMatchCpuOverAnyAxes) {
  GW_REQUIRE_GPU();
  struct Case {
    Shape shape;
    std::vector<int64_t> axes;
  };
  const std::vector<Case> cases = {
      {{4000000}, {0}},            // one long row: chunked two-pass
      {{3, 5, 7}, {0, 1, 2}},      // everything
      {{64, 1000}, {1}},           // rows
      {{2048, 384}, {0}},          // columns (a bias gradient)
      {{4, 6, 8}, {0, 2}},         // two separate blocks: permuted first
      {{5, 1, 9, 3}, {1, 3}},      // a size-1 axis in the reduced set
      {{8, 300, 3}, {1}},          // middle axis
  };
  uint64_t seed = 400;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (const Case& c : cases)
      for (Op op : {Op::Sum, Op::Max, Op::Mean})
        for (bool keep : {false, true}) {
          Attrs attrs;
          attrs.axes = c.axes;
          attrs.keepdims = keep;
          const Tensor x = random_tensor(c.shape, dt, ++seed);
          // long f32 sums: the CPU sums in double too; the order differs, hence the atol
          Tolerance tol = tolerance_of(dt);
          if (dt == DType::f32) tol.atol = 1e-4;
          EXPECT_TRUE(cuda_matches_cpu(op, {x}, attrs, tol))
              << dtype_name(dt) << " " << shape_str(c.shape) << " keepdims " << keep;
        }
}

// ---- shape ------------------------------------------------------------------------------------
TEST(CudaShape, PermuteBroadcastSliceConcatReshapeCopyExactly) {
  GW_REQUIRE_GPU();
  uint64_t seed = 500;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::i8, DType::i32}) {
    const Tensor x = random_tensor({2, 3, 4, 5}, DType::f64, ++seed, -100, 100).astype(dt);
    for (const std::vector<int64_t>& perm :
         std::vector<std::vector<int64_t>>{{0, 1, 3, 2}, {3, 2, 1, 0}, {0, 2, 1, 3}, {1, 0, 2, 3}}) {
      Attrs a;
      a.perm = perm;
      EXPECT_TRUE(cuda_matches_cpu(Op::Permute, {x}, a, {0, 0})) << dtype_name(dt);
    }
    for (const std::pair<Shape, Shape>& bc : std::vector<std::pair<Shape, Shape>>{
             {{5}, {2, 3, 5}}, {{3, 1}, {2, 3, 7}}, {{1, 4, 1}, {6, 4, 3}}, {{}, {4, 4}}}) {
      Attrs a;
      a.shape = bc.second;
      const Tensor y = random_tensor(bc.first, DType::f64, ++seed, -100, 100).astype(dt);
      EXPECT_TRUE(cuda_matches_cpu(Op::Broadcast, {y}, a, {0, 0})) << dtype_name(dt);
    }
    for (int64_t axis = 0; axis < 4; ++axis) {
      Attrs a;
      a.axis = axis, a.start = 1, a.end = x.size(axis);
      EXPECT_TRUE(cuda_matches_cpu(Op::Slice, {x}, a, {0, 0})) << dtype_name(dt);
      Attrs c;
      c.axis = axis;
      EXPECT_TRUE(cuda_matches_cpu(Op::Concat, {x, x.clone(), x}, c, {0, 0})) << dtype_name(dt);
    }
    Attrs r;
    r.shape = {6, 20};
    EXPECT_TRUE(cuda_matches_cpu(Op::Reshape, {x}, r, {0, 0})) << dtype_name(dt);
  }
}

// ---- GEMM -------------------------------------------------------------------------------------
struct GemmCase {
  Shape a, b;
  bool ta, tb;
};
const std::vector<GemmCase> kGemmCases = {
    {{64, 48}, {48, 80}, false, false},
    {{48, 64}, {48, 80}, true, false},
    {{64, 48}, {80, 48}, false, true},
    {{48, 64}, {80, 48}, true, true},
    {{3, 17, 33}, {33, 9}, false, false},     // shared b: batch folded into m
    {{3, 33, 17}, {33, 9}, true, false},      // shared b with aᵀ: batch stride 0
    {{2, 3, 17, 33}, {2, 3, 33, 9}, false, false},
    {{2, 3, 17, 33}, {2, 3, 9, 33}, false, true},
    {{5, 0}, {0, 4}, false, false},           // k = 0: zeros
};

TEST(CudaGemm, MatMulMatchesCpuInF32AndF64) {
  GW_REQUIRE_GPU();
  uint64_t seed = 600;
  for (DType dt : {DType::f32, DType::f64})
    for (const GemmCase& c : kGemmCases) {
      Attrs a;
      a.transpose_a = c.ta, a.transpose_b = c.tb;
      EXPECT_TRUE(cuda_matches_cpu(Op::MatMul,
                                   {random_tensor(c.a, dt, ++seed), random_tensor(c.b, dt, ++seed)},
                                   a, tolerance_of(dt)))
          << dtype_name(dt) << " " << shape_str(c.a) << " x " << shape_str(c.b);
    }
}

#if GW_HAVE_CUDA
TEST(CudaGemm, Tf32MatMulIsWithinTf32Rounding) {
  GW_REQUIRE_GPU();
  cuda::set_tf32(true);
  Attrs a;
  const Tensor x = random_tensor({256, 512}, DType::f32, 1), w = random_tensor({512, 128}, DType::f32, 2);
  // inputs cut to 10 mantissa bits (rounded, or truncated by some kernels): up to 1e-3
  // relative per product, ~6e-3 absolute rms over k = 512 when truncated; 4.5 sigma over the
  // 32768 outputs must pass, a wrong GEMM is off by O(1)
  EXPECT_TRUE(cuda_matches_cpu(Op::MatMul, {x, w}, a, {5e-2, 1e-2}));
  cuda::set_tf32(false);
}

TEST(CudaGemm, Bf16GemmAccumulatesInF32) {
  GW_REQUIRE_GPU();
  uint64_t seed = 700;
  for (const GemmCase& c : kGemmCases) {
    // bf16 inputs; the reference multiplies the same (rounded) values in f32 on the CPU
    const Tensor a16 = random_tensor(c.a, DType::bf16, ++seed), b16 = random_tensor(c.b, DType::bf16, ++seed);
    Attrs attrs;
    attrs.transpose_a = c.ta, attrs.transpose_b = c.tb;
    const Tensor expected = run_op(Device::cpu(), Op::MatMul, {a16.astype(DType::f32), b16.astype(DType::f32)}, attrs);
    const int64_t ra = static_cast<int64_t>(c.a.size());
    const int64_t m = expected.size(-2), n = expected.size(-1);
    const int64_t k = c.ta ? c.a[static_cast<size_t>(ra - 2)] : c.a[static_cast<size_t>(ra - 1)];
    const int64_t batch = m * n > 0 ? expected.numel() / (m * n) : 0;
    const Tensor da = a16.to(Device::cuda(0)), db = b16.to(Device::cuda(0));
    Tensor out = Tensor::zeros(expected.shape(), DType::bf16, Device::cuda(0));
    cuda::gemm(DType::bf16, c.ta, c.tb, batch, m, n, k, da.raw(), db.raw(), out.raw(), c.b.size() == 2);
    // f32 accumulation, one rounding of the result to bf16
    EXPECT_TRUE(all_close(out.astype(DType::f32).to(Device::cpu()), expected, 1e-2, 8e-3))
        << shape_str(c.a) << " x " << shape_str(c.b);
  }
}
#endif

// ---- nn ---------------------------------------------------------------------------------------
TEST(CudaNn, EmbeddingAndScatterAddMatchCpu) {
  GW_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor table = random_tensor({65, 48}, dt, 1);
    const Tensor ids = random_ids({4, 33}, 65, 2);  // repeats: the scatter-add adds them
    EXPECT_TRUE(cuda_matches_cpu(Op::Embedding, {table, ids}, {}, {0, 0}));
    Attrs a;
    a.vocab = 65;
    EXPECT_TRUE(cuda_matches_cpu(Op::EmbeddingBackward, {ids, random_tensor({4, 33, 48}, dt, 3)}, a,
                                 tolerance_of(dt)));
  }
}

TEST(CudaNn, EmbeddingIdOutsideTheVocabularyThrows) {
  GW_REQUIRE_GPU();
  const Tensor table = random_tensor({10, 8}, DType::f32, 1);
  const Tensor ids = Tensor::from_values({3}, {1, 10, 2}, DType::i32);
  EXPECT_THROW(run_op(Device::cuda(0), Op::Embedding, {table, ids}, {}), ShapeError);
  // the error is reported once: the next run is clean
  EXPECT_NO_THROW(run_op(Device::cuda(0), Op::Embedding, {table, random_ids({3}, 10, 5)}, {}));
}

TEST(CudaNn, SoftmaxFamilyForwardAndBackwardMatchCpu) {
  GW_REQUIRE_GPU();
  uint64_t seed = 800;
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& shape : std::vector<Shape>{{7, 13}, {3, 5, 1000}, {2, 4097}, {1}}) {
      const Tensor x = random_tensor(shape, dt, ++seed, -8, 8);
      const Tensor g = random_tensor(shape, dt, ++seed);
      EXPECT_TRUE(cuda_matches_cpu(Op::Softmax, {x}, {}, tolerance_of(dt)));
      EXPECT_TRUE(cuda_matches_cpu(Op::LogSoftmax, {x}, {}, tolerance_of(dt)));
      const Tensor y = run_op(Device::cpu(), Op::Softmax, {x}, {});
      const Tensor ly = run_op(Device::cpu(), Op::LogSoftmax, {x}, {});
      EXPECT_TRUE(cuda_matches_cpu(Op::SoftmaxBackward, {y, g}, {}, tolerance_of(dt)));
      EXPECT_TRUE(cuda_matches_cpu(Op::LogSoftmaxBackward, {ly, g}, {}, tolerance_of(dt)));
    }
}

TEST(CudaNn, SoftmaxCrossEntropyForwardAndBackwardMatchCpu) {
  GW_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t v : {5, 65, 1031}) {
      const Tensor logits = random_tensor({37, v}, dt, static_cast<uint64_t>(v), -6, 6);
      const Tensor targets = random_ids({37}, static_cast<int>(v), 3);
      EXPECT_TRUE(cuda_matches_cpu(Op::SoftmaxCrossEntropy, {logits, targets}, {}, tolerance_of(dt)));
      EXPECT_TRUE(cuda_matches_cpu(Op::SoftmaxCrossEntropyBackward,
                                   {logits, targets, random_tensor({37}, dt, 4)}, {}, tolerance_of(dt)));
    }
}

TEST(CudaNn, RmsNormForwardAndBothBackwardsMatchCpu) {
  GW_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& shape : std::vector<Shape>{{4, 8, 384}, {3, 31}, {5000, 64}}) {
      const int64_t h = shape.back();
      const Tensor x = random_tensor(shape, dt, 1, -2, 2);
      const Tensor w = random_tensor({h}, dt, 2, 0.5, 1.5);
      const Tensor g = random_tensor(shape, dt, 3);
      Attrs a;
      a.eps = 1e-5;
      EXPECT_TRUE(cuda_matches_cpu(Op::RMSNorm, {x, w}, a, tolerance_of(dt)));
      EXPECT_TRUE(cuda_matches_cpu(Op::RMSNormBackwardInput, {x, w, g}, a, tolerance_of(dt)));
      // a sum over rows: f32 tolerance grows with their count
      Tolerance tol = tolerance_of(dt);
      if (dt == DType::f32) tol = {1e-3, 1e-4};
      EXPECT_TRUE(cuda_matches_cpu(Op::RMSNormBackwardWeight, {x, g}, a, tol));
    }
}

TEST(CudaNn, RopeAndItsInverseMatchCpu) {
  GW_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64})
    for (bool inverse : {false, true}) {
      Attrs a;
      a.theta = 10000.0, a.inverse = inverse;
      EXPECT_TRUE(cuda_matches_cpu(Op::RoPE, {random_tensor({2, 3, 1024, 16}, dt, 1)}, a, tolerance_of(dt)));
    }
}

TEST(CudaNn, NaiveAttentionForwardAndBackwardMatchCpu) {
  GW_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64})
    for (bool causal : {true, false})
      for (const Shape& shape : std::vector<Shape>{{2, 3, 17, 8}, {1, 2, 130, 32}}) {
        const Tensor q = random_tensor(shape, dt, 1), k = random_tensor(shape, dt, 2);
        const Tensor v = random_tensor(shape, dt, 3), go = random_tensor(shape, dt, 4);
        Attrs a;
        a.causal = causal;
        EXPECT_TRUE(cuda_matches_cpu(Op::Attention, {q, k, v}, a, tolerance_of(dt)))
            << shape_str(shape) << " causal " << causal;
        EXPECT_TRUE(cuda_matches_cpu(Op::AttentionBackward, {q, k, v, go}, a, tolerance_of(dt)))
            << shape_str(shape) << " causal " << causal;
      }
}

TEST(CudaNn, AdamWUpdatesParamAndMomentsLikeCpu) {
  GW_REQUIRE_GPU();
  const Shape shape = {300, 7};
  const std::vector<Tensor> inputs = {
      random_tensor(shape, DType::f32, 1), random_tensor(shape, DType::f32, 2),
      random_tensor(shape, DType::f32, 3, -0.1, 0.1), random_tensor(shape, DType::f32, 4, 0.0, 0.1),
      Tensor::from_vector<float>({4}, {1e-3f, 0.19f, 0.0199f, 0.7f})};
  Attrs a;
  a.adamw = AdamWAttrs{0.9, 0.99, 1e-8, 0.1};
  std::vector<Tensor> cpu, gpu;
  run_op(Device::cpu(), Op::AdamW, inputs, a, &cpu);
  run_op(Device::cuda(0), Op::AdamW, inputs, a, &gpu);
  for (size_t i : {size_t(0), size_t(2), size_t(3)})
    EXPECT_TRUE(all_close(gpu[i], cpu[i], 1e-6, 1e-5)) << "input " << i;
  // t = 0 (1 − β1⁰ = 0) is refused on both devices (the GPU at the next synchronization)
  std::vector<Tensor> bad = inputs;
  bad[4] = Tensor::from_vector<float>({4}, {1e-3f, 0.0f, 0.0f, 1.0f});
  EXPECT_THROW(run_op(Device::cpu(), Op::AdamW, bad, a, &cpu), Error);
  EXPECT_THROW(run_op(Device::cuda(0), Op::AdamW, bad, a, &gpu), Error);
}

// ---- quantization -----------------------------------------------------------------------------
TEST(CudaQuant, QuantizeDequantizeAndInt8MatMulMatchCpu) {
  GW_REQUIRE_GPU();
  const Tensor x = random_tensor({16, 40}, DType::f32, 1, -3, 3);
  const Tensor scale = Tensor::from_vector<float>({}, {0.05f});
  const Tensor zero = Tensor::from_vector<float>({}, {3.0f});
  Attrs q;
  q.bits = 8, q.axis = 0;
  EXPECT_TRUE(cuda_matches_cpu(Op::Quantize, {x, scale, zero}, q, {0, 0}));
  const Tensor scales = random_tensor({16}, DType::f32, 2, 0.01, 0.1);
  const Tensor zeros = random_tensor({16}, DType::f32, 3, -2, 2).astype(DType::i32).astype(DType::f32);
  EXPECT_TRUE(cuda_matches_cpu(Op::Quantize, {x, scales, zeros}, q, {0, 0}));  // per channel
  q.bits = 4;
  EXPECT_TRUE(cuda_matches_cpu(Op::Quantize, {x, scales, zeros}, q, {0, 0}));
  const Tensor codes = run_op(Device::cpu(), Op::Quantize, {x, scales, zeros}, q);
  for (DType dt : {DType::f32, DType::f64}) {
    Attrs d;
    d.axis = 0, d.dtype = dt;
    EXPECT_TRUE(cuda_matches_cpu(Op::Dequantize, {codes, scales, zeros}, d, {0, 0}));
  }
  const Tensor a8 = random_tensor({37, 70}, DType::f64, 4, -128, 127).astype(DType::i8);
  const Tensor b8 = random_tensor({70, 29}, DType::f64, 5, -128, 127).astype(DType::i8);
  EXPECT_TRUE(cuda_matches_cpu(Op::MatMulInt8, {a8, b8}, {}, {0, 0}));
  // quantized_linear: the same row codes on both sides; only the final f32 rescale may round
  // differently.
  const Tensor xl = random_tensor({2, 9, 70}, DType::f32, 6, -3, 3);
  const Tensor w_scale = random_tensor({29}, DType::f32, 7, 0.001, 0.02);
  EXPECT_TRUE(cuda_matches_cpu(Op::QuantizedLinear, {xl, b8, w_scale}, {}, {1e-5, 1e-5}));
}

TEST(CudaQuant, NonPositiveScaleThrows) {
  GW_REQUIRE_GPU();
  Attrs q;
  q.bits = 8;
  EXPECT_THROW(run_op(Device::cuda(0), Op::Quantize,
                      {random_tensor({4}, DType::f32, 1), Tensor::from_vector<float>({}, {-1.0f}),
                       Tensor::from_vector<float>({}, {0.0f})},
                      q),
               Error);
}

TEST(CudaComm, AllReduceOfOneRankIsACopy) {
  GW_REQUIRE_GPU();
  Attrs a;
  a.average = true;
  EXPECT_TRUE(cuda_matches_cpu(Op::AllReduce, {random_tensor({3, 5}, DType::f32, 1)}, a, {0, 0}));
}

// ---- zero-size tensors -------------------------------------------------------------------------
// Every kernel must launch nothing (a launch of 0 blocks is an error) or only what fills the
// output: sums over an empty axis are 0 and means NaN (the shape rule refuses an empty max);
// compared exactly, NaN matching NaN, which all_close does not allow.
::testing::AssertionResult same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return ::testing::AssertionFailure() << "shapes differ";
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  for (size_t i = 0; i < x.size(); ++i)
    if (!(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i]))))
      return ::testing::AssertionFailure() << "element " << i << ": " << x[i] << " vs " << y[i];
  return ::testing::AssertionSuccess();
}

TEST(CudaEdge, ZeroSizeTensorsMatchCpu) {
  GW_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  struct Case {
    Op op;
    std::vector<Tensor> inputs;
    Attrs attrs;
  };
  auto axes = [](std::vector<int64_t> a) {
    Attrs attrs;
    attrs.axes = std::move(a);
    return attrs;
  };
  Attrs concat1;
  concat1.axis = 1;
  Attrs slice_empty;
  slice_empty.axis = 1, slice_empty.start = 2, slice_empty.end = 2;
  Attrs to_bf16;
  to_bf16.dtype = DType::bf16;
  Attrs vocab;
  vocab.vocab = 5;
  Attrs eps;
  eps.eps = 1e-5;
  Attrs bits;
  bits.bits = 8;
  auto f32 = [](const Shape& shape, uint64_t seed) {
    return random_tensor(shape, DType::f32, seed);
  };
  auto i8 = [](const Shape& shape, uint64_t seed) {
    return random_tensor(shape, DType::f64, seed, -100, 100).astype(DType::i8);
  };
  const std::vector<Case> cases = {
      {Op::Exp, {f32({0, 3}, 1)}, {}},
      {Op::Add, {f32({4, 0}, 1), f32({4, 0}, 2)}, {}},
      {Op::Cast, {f32({0}, 1)}, to_bf16},
      {Op::Sum, {f32({3, 0}, 1)}, axes({1})},  // R = 0, rows
      {Op::Mean, {f32({3, 0}, 1)}, axes({1})},
      {Op::Sum, {f32({0, 5}, 1)}, axes({0})},        // R = 0, columns
      {Op::Sum, {f32({0, 5}, 1)}, axes({1})},        // no outputs
      {Op::Sum, {f32({2, 0, 3}, 1)}, axes({0, 2})},  // no outputs, permuted
      {Op::Permute, {f32({0, 3}, 1)}, axes({1, 0})},
      {Op::Slice, {f32({3, 4}, 1)}, slice_empty},
      {Op::Concat, {f32({2, 0, 3}, 1), f32({2, 4, 3}, 2)}, concat1},
      {Op::MatMul, {f32({0, 4}, 1), f32({4, 3}, 2)}, {}},
      {Op::MatMul, {f32({2, 0, 4}, 1), f32({2, 4, 3}, 2)}, {}},
      {Op::Softmax, {f32({0, 5}, 1)}, {}},
      {Op::LogSoftmax, {f32({2, 0}, 1)}, {}},
      {Op::Embedding, {f32({5, 4}, 1), random_ids({0}, 5, 1)}, {}},
      {Op::EmbeddingBackward, {random_ids({0}, 5, 1), f32({0, 4}, 1)}, vocab},
      {Op::RMSNorm, {f32({0, 4}, 1), f32({4}, 2)}, eps},
      {Op::RMSNormBackwardWeight, {f32({0, 4}, 1), f32({0, 4}, 2)}, eps},
      {Op::RoPE, {f32({1, 2, 0, 4}, 1)}, {}},
      {Op::Attention, {f32({1, 2, 0, 4}, 1), f32({1, 2, 0, 4}, 2), f32({1, 2, 0, 4}, 3)}, {}},
      {Op::Quantize,
       {f32({0}, 1), Tensor::from_vector<float>({}, {0.1f}),
        Tensor::from_vector<float>({}, {0.0f})},
       bits},
      {Op::MatMulInt8, {i8({0, 5}, 1), i8({5, 3}, 2)}, {}},
  };
  for (const Case& c : cases)
    EXPECT_TRUE(same_values(run_op(gpu, c.op, c.inputs, c.attrs),
                            run_op(Device::cpu(), c.op, c.inputs, c.attrs)))
        << op_name(c.op);
  // k = 0 through the graph: zeros
  EXPECT_TRUE(same_values(run_op(gpu, Op::MatMul, {f32({3, 0}, 1), f32({0, 2}, 2)}, {}),
                          Tensor::zeros({3, 2})));
}

// ---- the table --------------------------------------------------------------------------------
// Registration needs no GPU: this one runs wherever the backend is compiled.
TEST(CudaTable, EveryOpHasACudaKernel) {
  if (!cuda_compiled()) GTEST_SKIP() << "no CUDA device: " << no_gpu_reason();
  for (const OpDef& def : op_table()) {
    if (&def == &op_def(Op::Input) || &def == &op_def(Op::Parameter) || &def == &op_def(Op::Constant))
      continue;
    EXPECT_NE(def.cuda, nullptr) << def.name;
  }
}

}  // namespace
}  // namespace gw::testing
