// topo_sort.cpp — lab 03: the topological order of the nodes an output depends on.
//
// Reverse mode visits nodes in reverse topological order, so each adjoint is complete (every
// consumer has contributed) before it is propagated further. The depth-first search keeps
// its own stack: a recursive one overflows the call stack on a chain of 10⁵ nodes.
#include <unordered_set>
#include <utility>

#include "gw/autodiff.h"

namespace gw {

std::vector<Node*> topological_order(const std::vector<Node*>& outputs) {
  std::vector<Node*> order;
  // BEGIN LAB 03: iterative depth-first topological sort (explicit stack; a node is emitted after all its inputs)
  std::unordered_set<const Node*> visited;
  // Each frame is a node and the index of the next input to visit; the node is emitted
  // when all its inputs are done (post-order), which puts it after them.
  std::vector<std::pair<Node*, size_t>> stack;
  for (Node* out : outputs) {
    GW_CHECK(out != nullptr, "topological_order: null output");
    if (!visited.insert(out).second) continue;
    stack.emplace_back(out, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        Node* in = node->inputs[next++];
        if (visited.insert(in).second) stack.emplace_back(in, 0);  // may invalidate node/next
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  // END LAB 03
  return order;
}

}  // namespace gw
