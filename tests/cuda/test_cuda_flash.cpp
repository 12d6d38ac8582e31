// test_cuda_flash.cpp — the CUDA flash attention kernels against the CPU ones (f32 and f64,
// odd s across the CUDA kernels' 64-row blocks and 16-row tiles, d up to 128, causal and not),
// and a head dimension the CUDA kernels do not take; the bf16 tensor-core kernels against the
// CPU's f32 computation on the same bf16 inputs (T across the 64-row tiles up to 4096, d = 64
// and 128, causal and not). Skips with a message without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda_testing.h"
#include "gw/error.h"
#include "gw/ops.h"

using namespace gw;
using namespace gw::testing;

namespace {

// The packed forward output, then the backward op given the packed output and an adjoint.
TEST(CudaFlash, ForwardAndBackwardMatchCpu) {
  GW_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64})
    for (bool causal : {true, false})
      for (const Shape& shape :
           std::vector<Shape>{{2, 17, 3, 8}, {1, 130, 2, 64}, {1, 77, 1, 128}}) {
        const Tensor q = random_tensor(shape, dt, 1), k = random_tensor(shape, dt, 2);
        const Tensor v = random_tensor(shape, dt, 3);
        Attrs a;
        a.causal = causal;
        EXPECT_TRUE(cuda_matches_cpu(Op::FlashAttention, {q, k, v}, a, tolerance_of(dt)))
            << shape_str(shape) << " causal " << causal;
        const Tensor y = run_op(Device::cpu(), Op::FlashAttention, {q, k, v}, a);
        const Tensor gy = random_tensor(y.shape(), dt, 4);
        EXPECT_TRUE(cuda_matches_cpu(Op::FlashAttentionBackward, {q, k, v, y, gy}, a,
                                     tolerance_of(dt)))
            << shape_str(shape) << " causal " << causal;
      }
}

// b = 0: empty outputs, no launch (a grid of zero blocks would be a CUDA launch error).
TEST(CudaFlash, ZeroBatchGivesEmptyOutputsInEveryDtype) {
  GW_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::bf16}) {
    const Tensor q = random_tensor({0, 5, 2, 64}, dt, 1);
    Attrs a;
    a.causal = true;
    const Tensor y = run_op(Device::cuda(0), Op::FlashAttention, {q, q, q}, a);
    EXPECT_EQ(y.shape(), (Shape{0, 5, 2, 65})) << dtype_name(dt);
    const Tensor g = run_op(Device::cuda(0), Op::FlashAttentionBackward, {q, q, q, y, y}, a);
    EXPECT_EQ(g.numel(), 0) << dtype_name(dt);
  }
}

TEST(CudaFlash, HeadDimensionAbove128IsAShapeErrorNamingTheShape) {
  GW_REQUIRE_GPU();
  const Tensor q = random_tensor({1, 1, 4, 160}, DType::f32, 1);
  try {
    run_op(Device::cuda(0), Op::FlashAttention, {q, q, q}, Attrs{});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(1, 1, 4, 160)"), std::string::npos) << e.what();
  }
}

// The CUDA kernels take q, k, v as three tensors; a fused (b, s, 3, n, d) is refused by name
// (the trainer on a GPU slices nothing: it runs three projections, Transformer::fused_flash).
TEST(CudaFlash, FusedQkvIsAShapeErrorAskingForThreeTensors) {
  GW_REQUIRE_GPU();
  const Tensor qkv = random_tensor({1, 4, 3, 2, 16}, DType::f32, 1);
  try {
    run_op(Device::cuda(0), Op::FlashAttention, {qkv}, Attrs{});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("three (b, s, n, d) tensors"), std::string::npos)
        << e.what();
  }
}

// bf16 tolerance: P and dS are rounded to bf16 (relative 2⁻⁸) as tensor-core operands and
// summed over up to `keys` terms, so an element may be off by 2⁻⁸·√keys of the values' rms,
// plus one bf16 ulp of itself where the result is stored in bf16; the norm-wise error stays
// of order 2⁻⁸ (checked at 2⁻⁶). NaN fails both.
::testing::AssertionResult bf16_close(const std::vector<double>& got,
                                      const std::vector<double>& want, double keys) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " values, want " << want.size();
  double ref2 = 0;
  for (double w : want) ref2 += w * w;
  const double rms = std::sqrt(ref2 / static_cast<double>(want.size()));
  double err2 = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - want[i]);
    err2 += e * e;
    const double bound = std::ldexp(1.0, -8) * std::sqrt(keys) * rms +
                         std::ldexp(std::fabs(want[i]), -7) + 1e-6;
    if (!(e <= bound))
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", want "
                                           << want[i] << " (bound " << bound << ", rms " << rms
                                           << ")";
  }
  const double rel = std::sqrt(err2 / std::max(ref2, 1e-300));
  if (!(rel <= std::ldexp(1.0, -6)))
    return ::testing::AssertionFailure() << "norm-wise error " << rel << ", at most 2^-6";
  return ::testing::AssertionSuccess();
}

// Splits packed (.., d + 1) rows into the outputs and the log-sum-exps.
void split_packed(const Tensor& packed, std::vector<double>& o, std::vector<double>& lse) {
  const std::vector<double> y = packed.to_doubles();
  const size_t w = static_cast<size_t>(packed.shape().back());
  for (size_t r = 0; r < y.size() / w; ++r) {
    o.insert(o.end(), y.begin() + r * w, y.begin() + r * w + w - 1);
    lse.push_back(y[r * w + w - 1]);
  }
}

void check_bf16_case(const Shape& shape, bool causal) {
  SCOPED_TRACE(shape_str(shape) + (causal ? " causal" : " full"));
  const double keys = static_cast<double>(shape[2]);
  // q, k in [-2, 2): scores of a few units after the 1/√d scale, so the softmax is peaked and
  // the running max moves across key tiles.
  const Tensor q = random_tensor(shape, DType::f32, 11, -2, 2).astype(DType::bf16);
  const Tensor k = random_tensor(shape, DType::f32, 12, -2, 2).astype(DType::bf16);
  const Tensor v = random_tensor(shape, DType::f32, 13).astype(DType::bf16);
  Attrs a;
  a.causal = causal;
  const Tensor cpu_y = run_op(Device::cpu(), Op::FlashAttention, {q, k, v}, a);
  const Tensor gpu_y = run_op(Device::cuda(0), Op::FlashAttention, {q, k, v}, a);
  ASSERT_EQ(gpu_y.dtype(), DType::f32);
  ASSERT_EQ(gpu_y.shape(), cpu_y.shape());
  std::vector<double> cpu_o, cpu_lse, gpu_o, gpu_lse;
  split_packed(cpu_y, cpu_o, cpu_lse);
  split_packed(gpu_y, gpu_o, gpu_lse);
  EXPECT_TRUE(bf16_close(gpu_o, cpu_o, keys)) << "forward output";
  // Scores are exact bf16 products summed in f32 on both sides: the LSE agrees to f32
  // rounding (a bf16 LSE would be off by up to 2⁻⁸·|LSE|).
  for (size_t i = 0; i < cpu_lse.size(); ++i)
    ASSERT_NEAR(gpu_lse[i], cpu_lse[i], 1e-4 * (1 + std::fabs(cpu_lse[i]))) << "LSE of row " << i;

  // Backward from the CPU's packed output (both sides get the same y) and a random adjoint.
  const Tensor gy = random_tensor(cpu_y.shape(), DType::f32, 14);
  const Tensor cpu_g = run_op(Device::cpu(), Op::FlashAttentionBackward, {q, k, v, cpu_y, gy}, a);
  const Tensor gpu_g = run_op(Device::cuda(0), Op::FlashAttentionBackward, {q, k, v, cpu_y, gy}, a);
  ASSERT_EQ(gpu_g.dtype(), DType::bf16);
  ASSERT_EQ(gpu_g.shape(), cpu_g.shape());
  const std::vector<double> got = gpu_g.to_doubles(), want = cpu_g.to_doubles();
  const size_t third = got.size() / 3;
  for (size_t part = 0; part < 3; ++part) {
    const std::vector<double> g(got.begin() + part * third, got.begin() + (part + 1) * third);
    const std::vector<double> w(want.begin() + part * third, want.begin() + (part + 1) * third);
    EXPECT_TRUE(bf16_close(g, w, keys)) << "gradient of " << "qkv"[part];
  }
}

TEST(CudaFlash, Bf16TensorCoreKernelsMatchCpu) {
  GW_REQUIRE_GPU();
  for (int64_t d : {64, 128})
    for (int64_t s : {1, 63, 65, 1000})
      for (bool causal : {false, true}) check_bf16_case({1, s, 2, d}, causal);
}

TEST(CudaFlash, Bf16AtT4096) {
  GW_REQUIRE_GPU();
  check_bf16_case({1, 4096, 1, 128}, true);
}

TEST(CudaFlash, Bf16HeadDimensionOtherThan64Or128IsAShapeErrorNamingD) {
  GW_REQUIRE_GPU();
  const Tensor q = random_tensor({1, 1, 4, 80}, DType::f32, 1).astype(DType::bf16);
  try {
    run_op(Device::cuda(0), Op::FlashAttention, {q, q, q}, Attrs{});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("d = 80"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(1, 1, 4, 80)"), std::string::npos) << msg;
  }
}

// f16 runs the f32 kernels on widened copies: the packed output is f32, the gradients f16.
TEST(CudaFlash, F16MatchesCpu) {
  GW_REQUIRE_GPU();
  const Shape shape{1, 65, 2, 32};
  const Tensor q = random_tensor(shape, DType::f16, 21), k = random_tensor(shape, DType::f16, 22);
  const Tensor v = random_tensor(shape, DType::f16, 23);
  Attrs a;
  a.causal = true;
  EXPECT_TRUE(cuda_matches_cpu(Op::FlashAttention, {q, k, v}, a, tolerance_of(DType::f32)));
  const Tensor y = run_op(Device::cpu(), Op::FlashAttention, {q, k, v}, a);
  const Tensor gy = random_tensor(y.shape(), DType::f32, 24);
  EXPECT_TRUE(cuda_matches_cpu(Op::FlashAttentionBackward, {q, k, v, y, gy}, a,
                               tolerance_of(DType::f16)));
}

}  // namespace
