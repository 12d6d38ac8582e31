// random_graph.h — random differentiable graphs for the hidden tests of labs 03 and 04:
// shared subexpressions (every new node picks its operands among all earlier nodes) and
// NumPy broadcasting (inputs of shapes (3, 4), (4) and (3, 1)), with values kept bounded.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "gw/executor.h"
#include "gw/graph.h"
#include "gw/ops.h"
#include "lab_testing.h"

namespace gw::hidden {

/// A random graph: its Input leaves (f64), their feeds, and a scalar output.
struct RandomGraph {
  std::vector<Node*> inputs;
  Feeds feeds;
  Node* output = nullptr;
  std::string recipe;  ///< the ops in order, for failure messages
};

/// Builds `steps` random ops on top of three inputs in `g`, from `seed`.
inline RandomGraph random_graph(Graph& g, uint64_t seed, int steps = 12) {
  std::mt19937_64 rng(seed);
  RandomGraph r;
  const std::vector<Shape> shapes = {{3, 4}, {4}, {3, 1}};
  std::vector<Node*> pool;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Node* x = g.input("x" + std::to_string(i), shapes[i], DType::f64);
    r.inputs.push_back(x);
    r.feeds[x] = labs::uniform(shapes[i], seed * 7 + i, -1, 1);
    pool.push_back(x);
  }
  auto pick = [&]() { return pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)]; };
  for (int s = 0; s < steps; ++s) {
    Node* a = pick();
    Node* b = pick();
    Node* n = nullptr;
    switch (std::uniform_int_distribution<int>(0, 7)(rng)) {
      case 0: n = add(a, b); r.recipe += "add "; break;
      case 1: n = mul(a, b); r.recipe += "mul "; break;
      case 2: n = sub(a, b); r.recipe += "sub "; break;
      case 3: n = sin(a); r.recipe += "sin "; break;
      case 4: n = exp(mul(sin(a), 0.5)); r.recipe += "exp "; break;
      case 5: n = relu(add(a, 0.05)); r.recipe += "relu "; break;  // shifted off the kink at 0
      case 6: n = log(add(mul(a, a), 1.0)); r.recipe += "log "; break;
      default: n = mul(sin(a), cos(b)); r.recipe += "sincos "; break;
    }
    pool.push_back(n);
  }
  // Sum the last three values, each reduced to a scalar: several consumers share nodes.
  Node* out = sum(pool.back());
  out = add(out, sum(pool[pool.size() - 2]));
  out = add(out, sum(mul(pool[pool.size() - 3], pool[pool.size() - 3])));
  r.output = out;
  return r;
}

}  // namespace gw::hidden
