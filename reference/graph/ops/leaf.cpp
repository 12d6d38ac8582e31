// leaf.cpp — declarations of the leaves: Input, Parameter and Constant.
//
// Leaves have no kernel: the executor binds a fed tensor (Input) or the owned one
// (Parameter, Constant). Their shape and dtype are set when Graph creates them.
#include "gw/op_table.h"

namespace gw {

static void leaf_infer(Node&) {}
static double zero_count(const Node&) { return 0.0; }

void declare_leaf_ops(OpDef* t) {
  const std::pair<Op, const char*> leaves[] = {
      {Op::Input, "input"}, {Op::Parameter, "parameter"}, {Op::Constant, "constant"}};
  for (auto [op, name] : leaves) {
    OpDef& d = t[static_cast<size_t>(op)];
    d.name = name;
    d.arity = 0;
    d.infer = leaf_infer;
    d.flops = zero_count;
    d.bytes = zero_count;
  }
}

}  // namespace gw
