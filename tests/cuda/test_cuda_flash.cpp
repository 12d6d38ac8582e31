// test_cuda_flash.cpp — the CUDA flash attention kernels against the CPU ones (f32 and f64,
// odd s across the CUDA kernels' 64-row blocks and 16-row tiles, d up to 128, causal and not),
// and a head dimension the CUDA kernels do not take. Skips with a message without a GPU.
#include <gtest/gtest.h>

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
           std::vector<Shape>{{2, 3, 17, 8}, {1, 2, 130, 64}, {1, 1, 77, 128}}) {
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

}  // namespace
