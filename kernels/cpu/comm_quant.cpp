// comm_quant.cpp — PLACEHOLDER: CPU kernels of this family (being written).
#include "cpu/cpu_kernels.h"

namespace gw::cpu {

void register_comm_quant_kernels(OpDef*) {}

}  // namespace gw::cpu
