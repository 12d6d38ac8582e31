// runtime_graphs.h — the small graphs the executor's tests run, and an independent liveness
// check of a memory plan (recomputed here from the schedule, not taken from the executor).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gw/executor.h"
#include "gw/ops.h"
#include "testing.h"

namespace gw::testing {

/// A graph with the outputs a test asks for and the Inputs it must feed.
struct TestGraph {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  std::vector<Node*> outputs;
  std::vector<Node*> inputs;
};

/// Fresh random values for every Input of `g`; `seed` changes them from run to run.
inline Feeds random_feeds(const TestGraph& g, uint64_t seed) {
  Feeds feeds;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    feeds[g.inputs[i]] = random_tensor(g.inputs[i]->shape, g.inputs[i]->dtype, seed * 101 + i);
  return feeds;
}

/// x (b=8, 16) -> relu(x W1 + b1) W2 + b2 -> (8, 4); outputs: loss = sum(y²) and y.
inline TestGraph mlp_graph() {
  TestGraph t;
  Graph& g = *t.graph;
  Node* x = g.input("x", {8, 16});
  Node* w1 = g.parameter("w1", random_tensor({16, 32}, DType::f32, 11));
  Node* b1 = g.parameter("b1", random_tensor({32}, DType::f32, 12));
  Node* w2 = g.parameter("w2", random_tensor({32, 4}, DType::f32, 13));
  Node* b2 = g.parameter("b2", random_tensor({4}, DType::f32, 14));
  Node* h = relu(add(matmul(x, w1), b1));  // (b, i)
  Node* y = add(matmul(h, w2), b2);        // (b, 4)
  Node* loss = sum(mul(y, y));             // ()
  t.inputs = {x};
  t.outputs = {loss, y};
  return t;
}

/// A diamond-rich chain where values are read by several later nodes.
inline TestGraph shared_subexpression_graph() {
  TestGraph t;
  Graph& g = *t.graph;
  Node* x = g.input("x", {5, 7});
  Node* z = g.input("z", {5, 7});
  Node* a = exp(mul(x, 0.5));
  Node* b = add(a, a);
  Node* c = mul(a, b);
  Node* d = sub(c, tanh(z));
  Node* e = div(d, add(exp(b), 1.0));
  Node* f = add(mul(e, a), neg(c));
  t.inputs = {x, z};
  t.outputs = {f};
  return t;
}

/// Reshape views of an Input and of intermediate values (a view of a view too).
inline TestGraph view_graph() {
  TestGraph t;
  Graph& g = *t.graph;
  Node* x = g.input("x", {4, 6});
  Node* w = g.parameter("w", random_tensor({4, 3}, DType::f32, 21));
  Node* xr = reshape(x, {6, 4});                  // view of an Input
  Node* p = matmul(xr, w);                        // (6, 3)
  Node* r = reshape(relu(p), {2, 9});             // view of an intermediate value
  Node* rr = reshape(r, {18});                    // view of a view
  Node* q = add(mul(rr, 2.0), reshape(p, {18}));  // reads the root through two views
  t.inputs = {x};
  t.outputs = {q, rr, xr};
  return t;
}

/// `a` is an output, read by the next node only; a chain follows. Its last reader is early,
/// but as an output it must keep its bytes to the end of the run.
inline TestGraph output_reused_graph() {
  TestGraph t;
  Graph& g = *t.graph;
  Node* x = g.input("x", {64});
  Node* a = exp(mul(x, 0.3));
  Node* c = a;
  for (int i = 0; i < 6; ++i) c = tanh(add(c, 0.1 * i));
  Node* out = mul(c, 2.0);
  t.inputs = {x};
  t.outputs = {a, out};
  return t;
}

/// A chain of `length` unary ops on x (n): only two values are ever live at once.
inline TestGraph chain_graph(int length, int64_t n = 256) {
  TestGraph t;
  Node* x = t.graph->input("x", {n});
  Node* c = x;
  for (int i = 0; i < length; ++i) c = (i % 2 == 0) ? tanh(c) : mul(c, 1.5);
  t.inputs = {x};
  t.outputs = {c};
  return t;
}

/// Naive causal attention on q, k, v (b=2, n=2, s=16, d=8), whose kernel needs a workspace.
inline TestGraph attention_graph() {
  TestGraph t;
  Graph& g = *t.graph;
  Node* q = g.input("q", {2, 2, 16, 8});
  Node* k = g.input("k", {2, 2, 16, 8});
  Node* v = g.input("v", {2, 2, 16, 8});
  Node* o = attention(q, k, v, /*causal=*/true);
  t.inputs = {q, k, v};
  t.outputs = {sum(mul(o, o)), o};
  return t;
}

/// One arena buffer as this file's own liveness analysis sees it.
struct Lifetime {
  const Node* node;
  int64_t start, end;  // schedule steps, inclusive
};

/// Lifetimes recomputed from the schedule: a value lives from its step to its last reader's
/// step (reads through Reshape views count for the viewed buffer), outputs to the end.
inline std::vector<Lifetime> lifetimes_of(const Executor& ex, const std::vector<Node*>& outputs) {
  const std::vector<Node*>& s = ex.schedule();
  auto root = [](const Node* n) {
    while (n->def().is_view) n = n->inputs[0];
    return n;
  };
  std::vector<Lifetime> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i]->def().is_view) continue;
    Lifetime l{s[i], static_cast<int64_t>(i), static_cast<int64_t>(i)};
    for (size_t j = i + 1; j < s.size(); ++j)
      for (const Node* in : s[j]->inputs)
        if (root(in) == s[i]) l.end = std::max<int64_t>(l.end, static_cast<int64_t>(j));
    for (const Node* o : outputs)
      if (root(o) == s[i]) l.end = static_cast<int64_t>(s.size()) - 1;
    out.push_back(l);
  }
  return out;
}

/// Most bytes (values and the step's workspace) live at one step of the schedule.
inline int64_t largest_live_set(const Executor& ex, const std::vector<Node*>& outputs) {
  const std::vector<Lifetime> lives = lifetimes_of(ex, outputs);
  int64_t best = 0;
  for (size_t step = 0; step < ex.schedule().size(); ++step) {
    const Node* node = ex.schedule()[step];
    int64_t bytes = node->def().workspace ? static_cast<int64_t>(node->def().workspace(*node)) : 0;
    for (const Lifetime& l : lives)
      if (l.start <= static_cast<int64_t>(step) && static_cast<int64_t>(step) <= l.end)
        bytes += numel(l.node->shape) * static_cast<int64_t>(dtype_size(l.node->dtype));
    best = std::max(best, bytes);
  }
  return best;
}

/// Failure naming the first two buffers that are live at the same step and share bytes.
inline ::testing::AssertionResult live_buffers_are_disjoint(const Executor& ex,
                                                            const std::vector<Node*>& outputs) {
  const std::vector<Lifetime> lives = lifetimes_of(ex, outputs);
  const MemoryPlan& p = ex.plan();
  for (size_t i = 0; i < lives.size(); ++i) {
    const size_t a = static_cast<size_t>(lives[i].node->id);
    if (p.offset[a] < 0 || p.offset[a] % 64 != 0 || p.offset[a] + p.size[a] > p.arena_bytes)
      return ::testing::AssertionFailure()
             << lives[i].node->str() << " has offset " << p.offset[a] << " and size " << p.size[a]
             << " in an arena of " << p.arena_bytes << " bytes (64-byte aligned, inside)";
    for (size_t j = i + 1; j < lives.size(); ++j) {
      const size_t b = static_cast<size_t>(lives[j].node->id);
      const bool same_time = lives[i].start <= lives[j].end && lives[j].start <= lives[i].end;
      const bool same_bytes =
          p.offset[a] < p.offset[b] + p.size[b] && p.offset[b] < p.offset[a] + p.size[a];
      if (same_time && same_bytes)
        return ::testing::AssertionFailure()
               << lives[i].node->str() << " [" << p.offset[a] << ", +" << p.size[a] << ") and "
               << lives[j].node->str() << " [" << p.offset[b] << ", +" << p.size[b]
               << ") are live together but share bytes";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace gw::testing
