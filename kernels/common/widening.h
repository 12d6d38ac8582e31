// widening.h — which kernel calls hold 16-bit floats, for the CPU and CUDA kernels that
// compute in f32 and widen f16/bf16 tensors around the call (cpu/widen.cpp, cuda/widen.cu).
#pragma once

#include "gw/op_table.h"

namespace gw::kernels {

/// f16 or bf16.
inline bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }

/// True when an input or the output of the call is f16 or bf16.
inline bool needs_widening(const KernelArgs& args) {
  if (is_half(args.output.dtype())) return true;
  for (const Tensor& t : args.inputs)
    if (is_half(t.dtype())) return true;
  return false;
}

}  // namespace gw::kernels
