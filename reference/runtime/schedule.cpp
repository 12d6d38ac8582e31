// schedule.cpp — which nodes an Executor runs, and in which order.
//
// A post-order depth-first walk from the outputs gives a topological order of their
// ancestors (every input before its reader). The walk keeps its own stack instead of
// recursing, because a training graph can be a chain of 10⁵ nodes and one stack frame per
// node would overflow the call stack. Then the nodes that mutate state (AdamW writes the
// parameters and moments in place) move behind every pure node: a pure node that reads a
// parameter must see the value from before the step, whatever order the graph was built in.
#include <algorithm>
#include <utility>

#include "gw/error.h"
#include "gw/op_table.h"
#include "runtime/planning.h"

namespace gw::runtime {

std::vector<Node*> make_schedule(const Graph& graph, const std::vector<Node*>& outputs) {
  const size_t n = graph.size();
  for (const Node* out : outputs) {
    GW_CHECK(out != nullptr, "executor: null output node");
    GW_CHECK(out->graph == &graph, "executor: output ", out->str(), " belongs to another graph");
  }

  // Post-order DFS with an explicit stack of (node, index of the next input to visit).
  enum : char { kUnseen = 0, kOpen = 1, kDone = 2 };
  std::vector<char> state(n, kUnseen);
  std::vector<Node*> order;  // topological: inputs first
  std::vector<std::pair<Node*, size_t>> stack;
  for (Node* out : outputs) {
    if (state[static_cast<size_t>(out->id)] != kUnseen) continue;
    state[static_cast<size_t>(out->id)] = kOpen;
    stack.emplace_back(out, 0);
    while (!stack.empty()) {
      Node* node = stack.back().first;
      const size_t next = stack.back().second;
      if (next < node->inputs.size()) {
        stack.back().second = next + 1;  // before push_back, which may move the stack
        Node* in = node->inputs[next];
        char& s = state[static_cast<size_t>(in->id)];
        // kOpen here would be a cycle; Graph::add_node only links existing nodes, so none.
        if (s == kUnseen) {
          s = kOpen;
          stack.emplace_back(in, 0);
        }
      } else {
        state[static_cast<size_t>(node->id)] = kDone;
        stack.pop_back();
        if (!node->is_leaf()) order.push_back(node);
      }
    }
  }

  // "Late" nodes: those that mutate state, and those that read a late node's result (they
  // cannot run before it). Inputs come first in `order`, so one pass decides each node.
  std::vector<char> late(n, 0);
  std::vector<Node*> schedule, tail;
  schedule.reserve(order.size());
  for (Node* node : order) {
    bool is_late = node->def().mutates_inputs;
    for (const Node* in : node->inputs) is_late = is_late || late[static_cast<size_t>(in->id)];
    late[static_cast<size_t>(node->id)] = is_late;
    (is_late ? tail : schedule).push_back(node);
  }
  // Graph (creation) order is topological too, and it is the order in which the optimizer
  // appended its updates, so the late nodes keep it.
  std::sort(tail.begin(), tail.end(), [](const Node* a, const Node* b) { return a->id < b->id; });
  schedule.insert(schedule.end(), tail.begin(), tail.end());
  return schedule;
}

}  // namespace gw::runtime
