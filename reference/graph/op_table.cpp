// op_table.cpp — assembles the op table from the files that declare each part of it.
#include "gw/op_table.h"

#include "gw/error.h"

namespace gw {
namespace {

using Table = std::array<OpDef, static_cast<size_t>(Op::kCount)>;

Table build() {
  Table t{};
  OpDef* p = t.data();
  declare_leaf_ops(p);
  declare_elementwise_ops(p);
  declare_reduce_ops(p);
  declare_shape_ops(p);
  declare_matmul_ops(p);
  declare_nn_ops(p);
  declare_comm_quant_ops(p);
  register_vjp_rules(p);
  register_jvp_rules(p);
  register_cpu_kernels(p);
  register_cuda_kernels(p);
  return t;
}

Table& table() {
  static Table t = build();
  return t;
}

}  // namespace

const Table& op_table() { return table(); }
const OpDef& op_def(Op op) { return table()[static_cast<size_t>(op)]; }
OpDef& mutable_op_def(Op op) { return table()[static_cast<size_t>(op)]; }
const char* op_name(Op op) { return op_def(op).name; }

}  // namespace gw
