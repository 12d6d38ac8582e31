// elementwise.cpp — PLACEHOLDER: declarations of this op family (being written).
#include "gw/op_table.h"

namespace gw {

void declare_elementwise_ops(OpDef*) {}

}  // namespace gw
