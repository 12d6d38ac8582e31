// count.cpp — lab 07: the counting pass (gw/cost_model.h).
//
// count_costs walks a schedule and adds up the op table's FLOP and byte counts (node_flops,
// node_bytes), node by node and by phase and category (phase_of, category_of). fused_cost
// prices a set of nodes as one kernel: the arithmetic of all of them, but only the memory
// traffic across the kernel's boundary — the reason fusing raises arithmetic intensity.
#include <unordered_set>

#include "gw/cost_model.h"

namespace gw {

CostReport count_costs(const std::vector<Node*>& schedule) {
  CostReport report;
  // BEGIN LAB 07: for each node that runs a kernel (runs_a_kernel): its NodeCost from node_flops and node_bytes, appended to report.nodes, and added (flops, bytes, one kernel) to report.by_part[phase][category]
  for (const Node* node : schedule) {
    if (!runs_a_kernel(*node)) continue;
    const NodeCost cost{node, node_flops(*node), node_bytes(*node)};
    report.nodes.push_back(cost);
    GraphCost& part = report.by_part[static_cast<size_t>(phase_of(*node))]
                                    [static_cast<size_t>(category_of(*node))];
    part.flops += cost.flops;
    part.bytes += cost.bytes;
    part.kernels += 1;
  }
  // END LAB 07
  return report;
}

GraphCost fused_cost(const std::vector<Node*>& nodes, const std::vector<Node*>& outputs) {
  GraphCost cost;
  if (nodes.empty()) return cost;
  // BEGIN LAB 07: FLOPs of every node that runs a kernel; bytes of each outside value read inside (once) and of each inside value read outside the set or listed in outputs (once); one kernel
  const std::unordered_set<const Node*> inside(nodes.begin(), nodes.end());
  std::unordered_set<const Node*> read_in, written_out;
  for (const Node* node : nodes) {
    cost.flops += runs_a_kernel(*node) ? node_flops(*node) : 0.0;
    for (const Node* in : node->inputs)
      if (!inside.count(in)) read_in.insert(in);
  }
  for (const auto& reader : nodes.front()->graph->nodes())
    if (!inside.count(reader.get()))
      for (const Node* in : reader->inputs)
        if (inside.count(in)) written_out.insert(in);
  for (const Node* out : outputs)
    if (inside.count(out)) written_out.insert(out);
  for (const auto* set : {&read_in, &written_out})
    for (const Node* value : *set)
      cost.bytes += static_cast<double>(numel(value->shape)) * dtype_size(value->dtype);
  cost.kernels = 1;
  // END LAB 07
  return cost;
}

}  // namespace gw
