// test_lab06_autocast_hidden.cpp — hidden tests of lab 06's graph passes on random graphs:
// after autocast every product reads the low dtype, every reduction, norm, softmax and
// exp/log reads f32 (no low-precision reduction), the inputs of each elementwise op agree,
// no cast is left that changes nothing, the outputs are f32 and the counts add up; the
// numbers stay within 16-bit tolerance of the f32 graph's; weight copies on random graphs.
// Inputs: GW_HIDDEN_SEED.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "gw/autocast.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "hidden.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

constexpr int64_t kSide = 8;  // every value is (8, 8), so any two combine

Tensor random_tensor(std::mt19937_64& rng, double scale) {
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(kSide * kSide);
  for (double& x : v) x = u(rng);
  return Tensor::from_values({kSide, kSide}, v);
}

// A random forward graph of bounded values: inputs (one of them bf16 or f16 behind an explicit
// cast to f32), weights, and `steps` ops drawn from products, elementwise ops, activations,
// norms, softmax and reductions (a reduction's result is broadcast back to (8, 8)).
struct RandomGraph {
  Graph graph;
  std::vector<Node*> values;   // (8, 8) f32 values to draw operands from
  std::vector<Node*> weights;  // f32 Parameters
  std::vector<Node*> outputs;
  Feeds feeds;

  RandomGraph(std::mt19937_64& rng, int steps, DType stored) {
    for (int i = 0; i < 2; ++i) {
      Node* x = graph.input("x" + std::to_string(i), {kSide, kSide});
      feeds[x] = random_tensor(rng, 1.0);
      values.push_back(x);
    }
    Node* x16 = graph.input("x16", {kSide, kSide}, stored);
    feeds[x16] = random_tensor(rng, 1.0).astype(stored);
    values.push_back(cast(x16, DType::f32));
    for (int i = 0; i < 3; ++i) {
      weights.push_back(graph.parameter("w" + std::to_string(i), random_tensor(rng, 0.35)));
      values.push_back(weights.back());
    }
    Node* scale = graph.parameter("scale", Tensor::full({kSide}, 1.0));
    weights.push_back(scale);
    std::uniform_int_distribution<int> op(0, 10);
    auto pick = [&]() {
      return values[std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng)];
    };
    for (int s = 0; s < steps; ++s) {
      Node* a = pick();
      Node* b = pick();
      Node* y = nullptr;
      switch (op(rng)) {
        case 0:
        case 1: y = tanh(matmul(a, b)); break;  // bounded products
        case 2: y = add(a, b); break;
        case 3: y = mul(a, b); break;
        case 4: y = silu(a); break;
        case 5: y = rms_norm(a, scale); break;
        case 6: y = softmax(a); break;
        case 7: y = exp(tanh(a)); break;
        case 8: y = broadcast_to(mean(a, {1}, true), {kSide, kSide}); break;
        case 9: y = sub(a, broadcast_to(sum(b, {0}, true), {kSide, kSide})); break;
        default: y = mul(matmul(a, weights[s % 3]), 0.5); break;
      }
      values.push_back(y);
    }
    outputs = {values[values.size() - 1], values[values.size() - 2], mean(values.back())};
  }
};

bool is_float16(DType t) { return t == DType::f16 || t == DType::bf16; }
bool is_castable(DType t) { return t == DType::f32 || is_float16(t); }
bool exact_step(DType from, DType to) { return from == to || (is_float16(from) && to == DType::f32); }

// Checks the rewritten graph: returns the number of violations, and describes the first.
int64_t violations(const std::vector<Node*>& outputs, DType low, std::string* first) {
  int64_t bad = 0;
  auto fail = [&](const Node* n, const std::string& why) {
    if (bad++ == 0) *first = n->str() + ": " + why;
  };
  for (const Node* n : reachable_nodes(outputs)) {
    if (n->is_leaf()) continue;
    const CastPolicy p = cast_policy(n->op);
    for (const Node* in : n->inputs) {
      if (!is_castable(in->dtype)) continue;
      if (p == CastPolicy::low && in->dtype != low) fail(n, "a product reads " + in->str());
      if (p == CastPolicy::f32 && in->dtype != DType::f32) fail(n, "reads " + in->str());
      if (p == CastPolicy::follow && in->dtype != n->inputs[0]->dtype)
        fail(n, "inputs of different dtypes");
    }
    if (n->op == Op::Cast) {
      const Node* in = n->inputs[0];
      if (in->dtype == n->dtype) fail(n, "a cast to its input's own dtype");
      if (in->op == Op::Cast && exact_step(in->inputs[0]->dtype, in->dtype))
        fail(n, "a cast of an exact cast was not folded");
    }
  }
  for (const Node* o : outputs)
    if (o->dtype != DType::f32) fail(o, "an output is not f32");
  return bad;
}

int64_t reachable_casts(const std::vector<Node*>& outputs) {
  int64_t n = 0;
  for (const Node* node : reachable_nodes(outputs)) n += node->op == Op::Cast;
  return n;
}

TEST(HiddenAutocast, RandomGraphsFollowThePolicyAndStayClose) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(20));
  for (int trial = 0; trial < 12; ++trial) {
    const DType low = trial % 2 ? DType::f16 : DType::bf16;
    RandomGraph g(rng, 6 + trial, trial % 3 ? DType::bf16 : DType::f16);
    const std::string label = "trial " + std::to_string(trial) + " (" + dtype_name(low) + ")";
    const std::vector<Tensor> want = eval(g.outputs, g.feeds);
    std::vector<Node*> before = reachable_nodes(g.outputs);
    const int64_t casts_before = reachable_casts(g.outputs);
    const AutocastResult r = autocast(g.outputs, low);

    std::string first;
    const int64_t bad = violations(r.outputs, low, &first);
    observe::count(label + ": policy violations", bad);
    EXPECT_EQ(bad, 0) << label << ": " << first;
    // Casts: those there before, plus the inserted ones, minus the folded ones.
    const int64_t casts_after = reachable_casts(r.outputs);
    observe::count(label + ": casts reachable after", casts_after);
    EXPECT_EQ(casts_after, casts_before + r.casts_inserted - r.casts_folded) << label;
    int64_t low_nodes = 0;
    for (const Node* n : before) low_nodes += !n->is_leaf() && n->dtype == low;
    observe::count(label + ": low nodes", r.low_nodes);
    EXPECT_EQ(r.low_nodes, low_nodes) << label;

    const std::vector<Tensor> got = eval(r.outputs, g.feeds);
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (size_t k = 0; k < got.size(); ++k) {
      const std::vector<double> a = got[k].to_doubles(), b = want[k].to_doubles();
      for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(a[i] - b[i]) / (1 + std::abs(b[i])));
    }
    const double tol = low == DType::bf16 ? 0.1 : 0.02;
    observe::value(label + ": largest relative change", worst, tol);
    EXPECT_LT(worst, tol) << label;
  }
}

TEST(HiddenAutocast, WeightCopiesOnRandomGraphs) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(21));
  for (int trial = 0; trial < 8; ++trial) {
    const DType low = trial % 2 ? DType::bf16 : DType::f16;
    RandomGraph g(rng, 8 + trial, DType::bf16);
    const std::string label = "trial " + std::to_string(trial) + " (" + dtype_name(low) + ")";
    const AutocastResult r = autocast(g.outputs, low);
    // Which masters only feed products (through their casts), before the copies are made.
    std::vector<bool> only_products(g.weights.size(), true), used(g.weights.size(), false);
    const std::vector<Node*> nodes = reachable_nodes(r.outputs);
    for (size_t k = 0; k < g.weights.size(); ++k)
      for (const Node* n : nodes)
        for (const Node* in : n->inputs)
          if (in == g.weights[k]) {
            used[k] = true;
            only_products[k] = only_products[k] && n->op == Op::Cast && n->dtype == low;
          }
    const LowPrecisionWeights lw = keep_low_precision_copies(r.outputs, g.weights, low);
    ASSERT_EQ(lw.trainable.size(), g.weights.size()) << label;
    std::vector<int64_t> gets_copy;
    int64_t wrong = 0;
    size_t c = 0;
    for (size_t k = 0; k < g.weights.size(); ++k) {
      const bool copy = used[k] && only_products[k];
      gets_copy.push_back(copy);
      if (!copy) {
        wrong += lw.trainable[k] != g.weights[k];
        continue;
      }
      if (c >= lw.copies.size()) {
        ++wrong;
        continue;
      }
      const WeightCopy& wc = lw.copies[c++];
      const Tensor rounded = g.weights[k]->value.astype(low);
      wrong += wc.master != g.weights[k] || lw.trainable[k] != wc.copy ||
               wc.copy->dtype != low || !wc.copy->is_trainable() ||
               std::memcmp(wc.copy->value.raw(), rounded.raw(), rounded.nbytes()) != 0;
      // Nothing reachable reads the master through a cast any more.
      for (const Node* n : reachable_nodes(r.outputs))
        for (const Node* in : n->inputs) wrong += in == g.weights[k];
    }
    wrong += c != lw.copies.size();
    observe::indices(label + ": which weights get a copy", gets_copy);
    observe::count(label + ": mismatches", wrong);
    EXPECT_EQ(wrong, 0) << label;
  }
}

}  // namespace
}  // namespace gw
