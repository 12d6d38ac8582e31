// checkpointing.cpp — lab 07: activation checkpointing as a rewrite of the training graph
// (gw/checkpointing.h).
//
// The graph already holds the forward pass and, from gradients(), the backward pass whose
// nodes read the forward activations. For each block the rewrite copies the forward nodes
// between its (kept) input and its output, and makes the backward nodes read the copies. The
// executor then computes the originals in the forward pass and frees them as soon as the
// forward pass is done with them; the copies are computed when the backward pass first needs
// them. Node::inputs may be changed in place: shapes and dtypes do not change.
#include <unordered_map>
#include <unordered_set>

#include "gw/checkpointing.h"
#include "gw/cost_model.h"
#include "gw/error.h"

namespace gw {

CheckpointRewrite checkpoint_activations(const std::vector<RecomputeBlock>& blocks) {
  CheckpointRewrite rewrite;
  // BEGIN LAB 07: per block: its nodes = ancestors of output (walk inputs from output, not past input) that depend on input, minus input and output, in id order; copy each with graph.add_node(op, inputs mapped to copies, attrs) under graph.set_scope("recompute/" + its scope) (restore the scope); then in every node of the graph with phase_of == Phase::backward, replace each input that is a block node by its copy; count copies and replaced inputs
  for (const RecomputeBlock& block : blocks) {
    GW_CHECK(block.input != nullptr && block.output != nullptr &&
                 block.input->graph == block.output->graph,
             "checkpoint_activations: a block needs an input and an output of one graph");
    Graph& graph = *block.input->graph;
    // Ancestors of the output, stopping at the input: the candidates.
    std::unordered_set<const Node*> above{block.output};
    std::vector<Node*> stack{block.output};
    while (!stack.empty()) {
      Node* node = stack.back();
      stack.pop_back();
      if (node == block.input) continue;
      for (Node* in : node->inputs)
        if (above.insert(in).second) stack.push_back(in);
    }
    // In id order (a topological order): keep the candidates that depend on the input.
    std::unordered_set<const Node*> depends{block.input};
    std::vector<Node*> inside;
    for (const auto& owned : graph.nodes()) {
      Node* node = owned.get();
      if (!above.count(node) || node == block.input) continue;
      bool reads_block = false;
      for (const Node* in : node->inputs) reads_block = reads_block || depends.count(in) > 0;
      if (!reads_block) continue;
      depends.insert(node);
      if (node != block.output) inside.push_back(node);
    }
    // The copies, in the same order, reading each other.
    std::unordered_map<const Node*, Node*> copy;
    for (Node* node : inside) {
      std::vector<Node*> inputs;
      for (Node* in : node->inputs) {
        auto it = copy.find(in);
        inputs.push_back(it != copy.end() ? it->second : in);
      }
      std::string previous = graph.set_scope(
          node->scope.empty() ? "recompute" : "recompute/" + node->scope);
      copy[node] = graph.add_node(node->op, std::move(inputs), node->attrs);
      graph.set_scope(std::move(previous));
      ++rewrite.cloned;
    }
    // The backward pass reads the copies.
    for (const auto& owned : graph.nodes()) {
      if (phase_of(*owned) != Phase::backward) continue;
      for (Node*& in : owned->inputs) {
        auto it = copy.find(in);
        if (it == copy.end()) continue;
        in = it->second;
        ++rewrite.rewired;
      }
    }
  }
  // END LAB 07
  return rewrite;
}

}  // namespace gw
