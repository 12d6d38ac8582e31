// gemm.cpp — PLACEHOLDER: CPU kernels of this family (being written).
#include "cpu/cpu_kernels.h"

namespace gw::cpu {

void register_gemm_kernels(OpDef*) {}

}  // namespace gw::cpu
