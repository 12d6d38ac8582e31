// comm.cpp — the collective ops that data-parallel training puts into the graph (AllReduce):
// declaration, rules and builder. The communicator that carries the bytes is the run's
// (gw/communicator.h, reference/parallel/); the graph only says where the reduction happens.
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/rules.h"
#include "op_rules.h"

namespace gw {
namespace {

void all_reduce_shape(Node& node) {
  const Node* x = node.inputs[0];
  GW_CHECK_AS(DTypeError, is_floating(x->dtype) || x->dtype == DType::i32, "all_reduce: ",
              x->str(), ": dtype must be floating or i32");
  node.shape = x->shape;
  node.dtype = x->dtype;
}

// Sum over ranks is linear and symmetric: every rank's x̄ is the all-reduce of ȳ (the mean if
// the forward averaged), and the tangent is the all-reduce of the tangents.
Adjoints vjp_all_reduce(Node& y, Node* g) { return {all_reduce(g, y.attrs.average)}; }
Node* jvp_all_reduce(Node& y, const Tangents& t) { return all_reduce(t[0], y.attrs.average); }

}  // namespace

void define_comm_ops(OpRegistry& r) {
  // one add per element and incoming contribution (counted for 2 ranks)
  r.define(Op::AllReduce, "all_reduce", 1).shape(all_reduce_shape).flops(op_rules::elements)
      .vjp(vjp_all_reduce).jvp(jvp_all_reduce);
}

Node* all_reduce(Node* x, bool average) {
  Attrs a;
  a.average = average;
  return op_rules::build(Op::AllReduce, {x}, a, "all_reduce");
}

}  // namespace gw
