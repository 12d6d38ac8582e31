// leaf.cpp — the leaves: Input, Parameter and Constant.
//
// Leaves have no kernel and no rule: the executor binds a fed tensor (Input) or the owned
// one (Parameter, Constant), and autodiff stops at them. Their shape and dtype are set when
// Graph creates them, so their shape rule has nothing left to do.
#include "gw/op_table.h"
#include "op_rules.h"

namespace gw {
namespace {

void leaf_shape(Node&) {}
double nothing(const Node&) { return 0.0; }

}  // namespace

void define_leaf_ops(OpRegistry& r) {
  using op_rules::no_arithmetic;
  r.define(Op::Input, "input", 0).shape(leaf_shape).flops(no_arithmetic).bytes(nothing);
  r.define(Op::Parameter, "parameter", 0).shape(leaf_shape).flops(no_arithmetic).bytes(nothing);
  r.define(Op::Constant, "constant", 0).shape(leaf_shape).flops(no_arithmetic).bytes(nothing);
}

}  // namespace gw
