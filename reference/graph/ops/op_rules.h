// op_rules.h — the pieces every op family (reference/graph/ops/*.cpp) declares its ops with:
// an op's slot in the table, the common FLOP and byte counts, a table row setter, and the node
// builder behind the functions of gw/ops.h. Private to reference/graph/ops.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "gw/error.h"
#include "gw/graph.h"
#include "gw/op_table.h"

namespace gw::op_rules {

/// The table entry of `op`.
inline OpDef& def_of(OpDef* table, Op op) { return table[static_cast<size_t>(op)]; }

/// Elements of the node's output.
inline double elements(const Node& node) { return static_cast<double>(numel(node.shape)); }

/// Bytes read and written by a kernel that streams every input and the output once.
inline double io_bytes(const Node& node) {
  double total = elements(node) * static_cast<double>(dtype_size(node.dtype));
  for (const Node* in : node.inputs)
    total += static_cast<double>(numel(in->shape)) * static_cast<double>(dtype_size(in->dtype));
  return total;
}

/// For ops that only move data.
inline double zero_flops(const Node&) { return 0.0; }

/// One op of a family: what declare() writes into its table entry.
struct Entry {
  Op op;
  const char* name;
  int arity;  ///< −1: any number of inputs
  ShapeRule infer;
  CountRule flops;
};

/// Sets name, arity, shape rule and FLOPs of each entry, and io_bytes as its byte count (a
/// family overrides the ops whose kernels move other amounts afterwards).
template <size_t N>
void declare(OpDef* table, const Entry (&entries)[N]) {
  for (const Entry& e : entries) {
    OpDef& d = def_of(table, e.op);
    d.name = e.name;
    d.arity = e.arity;
    d.infer = e.infer;
    d.flops = e.flops;
    d.bytes = io_bytes;
  }
}

/// Appends `op` on `inputs` to the graph of the first input (Graph::add_node checks that the
/// others belong to it and runs the shape rule); `name` is the builder's, for the errors.
inline Node* build(Op op, std::vector<Node*> inputs, Attrs attrs, const char* name) {
  GW_CHECK(!inputs.empty(), name, ": no inputs");
  for (Node* in : inputs) GW_CHECK(in != nullptr, name, ": null input");
  Graph* graph = inputs[0]->graph;
  return graph->add_node(op, std::move(inputs), std::move(attrs));
}

}  // namespace gw::op_rules
