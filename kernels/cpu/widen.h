// widen.h — running an f32-only CPU kernel on f16/bf16 tensors (widen.cpp).
#pragma once

#include "common/widening.h"
#include "gw/op_table.h"

namespace gw::cpu {

using kernels::needs_widening;

/// Runs `f32_kernel` on f32 copies of the 16-bit inputs, into an f32 result that is then
/// rounded (to nearest even) into args.output: f32 arithmetic and accumulation, 16-bit
/// storage. Inputs of other dtypes (i32 ids, f32 scalars) are passed as they are.
void run_widened(const KernelArgs& args, Kernel f32_kernel);

}  // namespace gw::cpu
