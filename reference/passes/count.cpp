// count.cpp — the counting pass (gw/passes.h): sums the op table's FLOP and byte counts over
// the nodes a run evaluates.
#include "gw/op_table.h"
#include "gw/passes.h"

namespace gw {

GraphCost count_cost(const std::vector<Node*>& nodes) {
  GraphCost cost;
  for (const Node* n : nodes) {
    const OpDef& def = n->def();
    if (n->is_leaf() || def.is_view) continue;
    cost.flops += def.flops(*n);
    cost.bytes += def.bytes(*n);
    ++cost.kernels;
  }
  return cost;
}

}  // namespace gw
