// walks.cpp — the graph walks and small tensors that the autodiff labs use but do not have to
// write (gw/autodiff.h, "helpers the labs use").
#include "gw/autodiff.h"

namespace gw {

std::vector<Node*> ancestors(Node* output) {
  GW_CHECK(output != nullptr, "ancestors: null output");
  const Graph& graph = *output->graph;
  std::vector<bool> needed(static_cast<size_t>(output->id) + 1, false);
  needed[static_cast<size_t>(output->id)] = true;
  std::vector<Node*> order;
  for (int id = output->id; id >= 0; --id) {
    if (!needed[static_cast<size_t>(id)]) continue;
    Node* node = graph.node(id);
    order.push_back(node);
    for (const Node* in : node->inputs) needed[static_cast<size_t>(in->id)] = true;
  }
  return {order.rbegin(), order.rend()};
}

void check_differentiable(const char* who, const Node* output, const std::vector<Node*>& wrt) {
  GW_CHECK(output != nullptr, who, ": null output");
  GW_CHECK(is_floating(output->dtype), who, ": output ", output->str(), " is not floating");
  for (const Node* w : wrt)
    GW_CHECK(w != nullptr && w->graph == output->graph, who, ": a wrt node is null or in ",
             "another graph");
}

Tensor one_hot(const Shape& shape, int64_t j, DType dtype) {
  std::vector<double> v(static_cast<size_t>(numel(shape)), 0.0);
  GW_CHECK(j >= 0 && j < static_cast<int64_t>(v.size()), "one_hot: index ", j, " outside ",
           shape_str(shape));
  v[static_cast<size_t>(j)] = 1.0;
  return Tensor::from_values(shape, v, dtype);
}

std::unordered_map<const Node*, Tensor> forward_values(const std::vector<Node*>& order,
                                                       const Feeds& feeds) {
  std::unordered_map<const Node*, Tensor> value;
  std::vector<Node*> computed;
  for (Node* n : order) {
    if (n->op == Op::Input) {
      auto it = feeds.find(n);
      GW_CHECK(it != feeds.end(), "forward_values: input ", n->str(), " is not fed");
      value[n] = it->second;
    } else if (n->is_leaf()) {
      value[n] = n->value;
    } else {
      computed.push_back(n);
    }
  }
  const std::vector<Tensor> results = eval(computed, feeds);
  for (size_t i = 0; i < computed.size(); ++i) value[computed[i]] = results[i];
  return value;
}

std::unordered_set<const Node*> depending_on(const std::vector<Node*>& order,
                                             const std::vector<Node*>& wrt) {
  std::unordered_set<const Node*> found(wrt.begin(), wrt.end());
  for (const Node* n : order)
    for (const Node* in : n->inputs)
      if (found.count(in)) {
        found.insert(n);
        break;
      }
  return found;
}

}  // namespace gw
