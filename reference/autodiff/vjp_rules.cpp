// vjp_rules.cpp — PLACEHOLDER: the autodiff rules of every op (being written).
#include "gw/op_table.h"

namespace gw {

void register_vjp_rules(OpDef*) {}

}  // namespace gw
