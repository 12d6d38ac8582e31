// cuda_testing.h — helpers of the CUDA tests: skip without a GPU, run one op on a device,
// and the tolerance of each dtype.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gw/device.h"
#include "gw/executor.h"
#include "gw/graph.h"
#include "testing.h"

#if GW_HAVE_CUDA
#include "gw_cuda.h"
#endif

namespace gw::testing {

/// Why CUDA tests cannot run here, or "" when a GPU is usable.
inline std::string no_gpu_reason() {
  if (!cuda_compiled()) return "this build has no CUDA backend (configure with the CUDA toolkit)";
  if (cuda_device_count() == 0) {
    std::string why = "no GPU visible (or no driver); the CUDA kernels compiled but cannot run";
#if GW_HAVE_CUDA
    const std::string error = cuda::device_error();  // e.g. a driver older than the toolkit
    if (!error.empty()) why += " (" + error + ")";
#endif
    return why;
  }
  return "";
}

/// Every CUDA test starts with this: skips with "no CUDA device: <why>" when there is no GPU,
/// and turns TF32 off so f32 GEMMs compare with the CPU at f32 precision.
#if GW_HAVE_CUDA
#define GW_REQUIRE_GPU()                                                        \
  do {                                                                          \
    const std::string gw_reason_ = ::gw::testing::no_gpu_reason();              \
    if (!gw_reason_.empty()) GTEST_SKIP() << "no CUDA device: " << gw_reason_;  \
    ::gw::cuda::set_tf32(false);                                                \
  } while (0)
#else
#define GW_REQUIRE_GPU() \
  GTEST_SKIP() << "no CUDA device: " << ::gw::testing::no_gpu_reason()
#endif

/// Absolute and relative tolerance of a comparison.
struct Tolerance {
  double atol, rtol;
};

/// Tolerance for results of `dtype` that went through a few roundings on each side.
inline Tolerance tolerance_of(DType dtype) {
  switch (dtype) {
    case DType::f64: return {1e-12, 1e-10};
    case DType::f32: return {1e-5, 1e-4};
    case DType::f16: return {2e-3, 2e-3};
    case DType::bf16: return {1.6e-2, 1.6e-2};  // one bf16 ulp is 2⁻⁷ ≈ 0.8 %
    default: return {0, 0};                     // integers: exact
  }
}

/// Evaluates op(inputs) with `attrs` on `device`: inputs become constants of a fresh graph
/// on that device. Returns the result on the CPU. For ops that mutate their inputs (AdamW),
/// `mutated` receives the inputs after the run, on the CPU; the inputs are then
/// non-trainable Parameter leaves, since AdamW's shape rule accepts only those as the state
/// it updates in place.
inline Tensor run_op(Device device, Op op, const std::vector<Tensor>& inputs, const Attrs& attrs,
                     std::vector<Tensor>* mutated = nullptr) {
  Graph graph(device);
  std::vector<Node*> nodes;
  for (const Tensor& t : inputs)
    nodes.push_back(mutated ? graph.parameter("input" + std::to_string(nodes.size()), t.clone(),
                                              /*trainable=*/false)
                            : graph.constant(t.clone()));
  Node* out = graph.add_node(op, nodes, attrs);
  Tensor result = eval(out).to(Device::cpu());
  if (mutated) {
    mutated->clear();
    for (Node* n : nodes) mutated->push_back(n->value.to(Device::cpu()));
  }
  return result;
}

/// Runs op on the CPU and on cuda:0 and expects the results within `tol`.
inline ::testing::AssertionResult cuda_matches_cpu(Op op, const std::vector<Tensor>& inputs,
                                                   const Attrs& attrs, Tolerance tol) {
  const Tensor cpu = run_op(Device::cpu(), op, inputs, attrs);
  const Tensor gpu = run_op(Device::cuda(0), op, inputs, attrs);
  if (gpu.dtype() != cpu.dtype())
    return ::testing::AssertionFailure() << "dtypes differ: " << dtype_name(gpu.dtype()) << " vs "
                                         << dtype_name(cpu.dtype());
  return all_close(gpu, cpu, tol.atol, tol.rtol) << " [" << op_name(op) << "]";
}

}  // namespace gw::testing
