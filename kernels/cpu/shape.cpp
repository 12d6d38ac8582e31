// shape.cpp — PLACEHOLDER: CPU kernels of this family (being written).
#include "cpu/cpu_kernels.h"

namespace gw::cpu {

void register_shape_kernels(OpDef*) {}

}  // namespace gw::cpu
