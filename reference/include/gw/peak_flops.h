// peak_flops.h — the peak FLOP rate of the machine a run uses, the denominator of MFU
// (gw/transformer_costs.h): a GPU's datasheet figure, or a CPU's rate measured with a short
// run of OpenBLAS sgemm (a CPU has no datasheet figure that its BLAS reaches).
#pragma once

#include <string>

#include "gw/device.h"
#include "gw/dtype.h"

namespace gw {

/// A peak FLOP rate and where it comes from.
struct PeakFlops {
  double flops_per_second = 0;  ///< 0 when unknown
  std::string source;           ///< "measured: sgemm 512x512x512, 2 threads", "datasheet: ..."
};

/// The dense (no sparsity) datasheet peak of the GPU called `device_name` (as CUDA names it,
/// "NVIDIA H100 80GB HBM3") for matmuls in `dtype`; f32 counts at the TF32 tensor-core rate
/// when `tf32`. 0 with source "unknown GPU ..." for a model not in the table.
PeakFlops gpu_datasheet_peak(const std::string& device_name, DType dtype, bool tf32);

/// The CPU's peak as OpenBLAS reaches it: the best rate of 512×512×512 sgemm calls over about
/// `seconds`, with the threads OpenBLAS uses now, counted in lab 07's convention
/// (m·n·(2k − 1) FLOPs per product).
PeakFlops measure_cpu_peak(double seconds = 0.2);

/// The peak of `device` for `dtype`: measure_cpu_peak() on the CPU, the datasheet on a GPU
/// (f32 at the TF32 rate unless GW_CUDA_TF32=0, as the CUDA backend does).
PeakFlops machine_peak_flops(Device device, DType dtype = DType::f32);

}  // namespace gw
