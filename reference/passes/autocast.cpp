// autocast.cpp — lab 06's graph passes (gw/autocast.h): autocast puts a forward graph's
// products in f16/bf16 and keeps the sensitive ops in f32; fold_casts removes the casts
// that change nothing; keep_low_precision_copies gives the model 16-bit weights backed by
// f32 masters.
#include <map>
#include <unordered_map>
#include <utility>

#include "gw/autocast.h"
#include "gw/error.h"
#include "gw/op_table.h"
#include "gw/ops.h"

namespace gw {
namespace {

bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }
// The dtypes autocast moves between (f64 and the integers are left alone).
bool is_castable(DType t) { return t == DType::f32 || is_half(t); }

// True when every value of `from` is exactly a value of `to`.
bool holds_exactly(DType from, DType to) {
  if (from == to) return true;
  switch (from) {
    case DType::f16:
    case DType::bf16: return to == DType::f32 || to == DType::f64;
    case DType::f32: return to == DType::f64;
    case DType::i8: return to != DType::i8;
    case DType::i32: return to == DType::f64;
    default: return false;
  }
}

int count_casts(const std::vector<Node*>& nodes) {
  int n = 0;
  for (const Node* node : nodes) n += node->op == Op::Cast;
  return n;
}

}  // namespace

AutocastResult autocast(const std::vector<Node*>& outputs, DType low) {
  GW_CHECK_AS(DTypeError, is_half(low), "autocast: the low dtype must be f16 or bf16, not ",
              dtype_name(low));
  AutocastResult result;
  // BEGIN LAB 06: walk reachable_nodes(outputs) (inputs first), remembering each output's dtype before; for every non-leaf node apply cast_policy(op) to its input slots (low: cast f32/f16/bf16 inputs to `low`; f32: cast f16/bf16 inputs to f32; follow: when the f32/f16/bf16 inputs differ, cast the narrower ones to the widest, f32 when f16 meets bf16; keep: nothing), with one cast(value, dtype) per pair shared by all consumers and built in the scope of the first consumer that needs it (ScopeAs), counted in casts_inserted; then re-run the node's inference (n->def().infer(*n)) and count it in low_nodes when its dtype is now `low` (the graph's own nodes, Casts included; not the casts you add). Outputs that were f32 and are not any more are replaced by their cast to f32 (the same shared casts). Finish with fold_casts on the outputs.
  std::vector<DType> before;
  for (const Node* out : outputs) before.push_back(out->dtype);
  std::map<std::pair<Node*, DType>, Node*> casts;
  auto cast_to = [&](Node* consumer, Node* x, DType t) -> Node* {
    if (x->dtype == t) return x;
    Node*& c = casts[{x, t}];
    if (c == nullptr) {
      ScopeAs scope(*x->graph, consumer->scope);
      c = cast(x, t);
      ++result.casts_inserted;
    }
    return c;
  };
  for (Node* n : reachable_nodes(outputs)) {
    if (n->is_leaf()) continue;
    switch (cast_policy(n->op)) {
      case CastPolicy::low:
        for (Node*& in : n->inputs)
          if (is_castable(in->dtype)) in = cast_to(n, in, low);
        break;
      case CastPolicy::f32:
        for (Node*& in : n->inputs)
          if (is_half(in->dtype)) in = cast_to(n, in, DType::f32);
        break;
      case CastPolicy::follow: {
        bool any = false, mixed = false;
        DType first = DType::f32;
        for (const Node* in : n->inputs) {
          if (!is_castable(in->dtype)) continue;
          if (!any) first = in->dtype;
          mixed = mixed || in->dtype != first;
          any = true;
        }
        if (!mixed) break;  // mixed: f32 is among them, or f16 meets bf16; both widen to f32
        for (Node*& in : n->inputs)
          if (is_castable(in->dtype)) in = cast_to(n, in, DType::f32);
        break;
      }
      case CastPolicy::keep:
        break;
    }
    n->def().infer(*n);
    if (n->dtype == low) ++result.low_nodes;
  }
  std::vector<Node*> outs = outputs;
  for (size_t k = 0; k < outs.size(); ++k)
    if (before[k] == DType::f32 && outs[k]->dtype != DType::f32)
      outs[k] = cast_to(outs[k], outs[k], DType::f32);
  FoldResult folded = fold_casts(outs);
  result.outputs = std::move(folded.outputs);
  result.casts_folded = folded.folded;
  // END LAB 06
  return result;
}

FoldResult fold_casts(const std::vector<Node*>& outputs) {
  FoldResult result;
  // BEGIN LAB 06: count the reachable Cast nodes; visiting reachable nodes inputs first, first point every input slot at its replacement (if it has one), then for a Cast whose input is a Cast of z with an exact inner step (holds_exactly(z's dtype, inner dtype)) read z directly, and a Cast whose input now has its own dtype is replaced by that input (record it, for later slots and the outputs); the outputs get their replacements too; folded = casts reachable before − casts reachable after
  const std::vector<Node*> nodes = reachable_nodes(outputs);
  const int before = count_casts(nodes);
  std::unordered_map<Node*, Node*> replacement;
  auto resolved = [&](Node* x) {
    auto it = replacement.find(x);
    return it == replacement.end() ? x : it->second;
  };
  for (Node* n : nodes) {
    for (Node*& in : n->inputs) in = resolved(in);
    if (n->op != Op::Cast) continue;
    Node* inner = n->inputs[0];
    if (inner->op == Op::Cast && holds_exactly(inner->inputs[0]->dtype, inner->dtype))
      n->inputs[0] = inner->inputs[0];
    if (n->inputs[0]->dtype == n->dtype) replacement[n] = n->inputs[0];
  }
  for (Node* out : outputs) result.outputs.push_back(resolved(out));
  result.folded = before - count_casts(reachable_nodes(result.outputs));
  // END LAB 06
  return result;
}

LowPrecisionWeights keep_low_precision_copies(const std::vector<Node*>& outputs,
                                              const std::vector<Node*>& masters, DType low) {
  GW_CHECK_AS(DTypeError, is_half(low), "keep_low_precision_copies: the low dtype must be f16 "
              "or bf16, not ", dtype_name(low));
  for (const Node* m : masters)
    GW_CHECK_AS(UsageError, m != nullptr && m->op == Op::Parameter && m->dtype == DType::f32,
                "keep_low_precision_copies: ", m == nullptr ? std::string("null") : m->str(),
                " is not an f32 Parameter");
  LowPrecisionWeights result;
  result.dtype = low;
  // BEGIN LAB 06: find each master's consumers among reachable_nodes(outputs) (consumers()); a master whose consumers are all Cast nodes to `low` (and at least one) gets a copy: graph.parameter(master->name + "." + dtype_name(low), master->value.astype(low), true) built in the master's scope (ScopeAs) (or, in a shapes-only graph, the (name, shape, dtype, trainable) overload); replace_uses of every one of those casts by the copy; refresh is one of the casts (it still reads the master). trainable lists the copy or, without one, the master
  const std::vector<Node*> nodes = reachable_nodes(outputs);
  for (Node* master : masters) {
    const std::vector<Node*> casts = consumers(nodes, master);
    bool only_casts = !casts.empty();
    for (const Node* c : casts) only_casts = only_casts && c->op == Op::Cast && c->dtype == low;
    if (!only_casts) {
      result.trainable.push_back(master);
      continue;
    }
    Graph& graph = *master->graph;
    const std::string name = master->name + "." + dtype_name(low);
    Node* copy = nullptr;
    {
      ScopeAs scope(graph, master->scope);
      copy = graph.shapes_only() ? graph.parameter(name, master->shape, low, true)
                                 : graph.parameter(name, master->value.astype(low), true);
    }
    for (Node* c : casts) replace_uses(nodes, c, copy);
    result.copies.push_back({master, copy, casts.front()});
    result.trainable.push_back(copy);
  }
  // END LAB 06
  return result;
}

}  // namespace gw
