// autodiff.h — gradient checking, forward mode, reverse mode and backward-graph construction.
//
// The four autodiff labs live behind this header, generic over the op table as in MLX's
// transforms.cpp: no function here special-cases an op; every op's calculus is its VJP/JVP
// rule in the table (gw/op_table.h).
//   lab 01  numerical_gradient, gradcheck, eps_study   (reference/autodiff/gradcheck.cpp)
//   lab 02  jvp, jacobian_forward (and gw/dual.h)      (forward_mode.cpp; rules: jvp_rules.cpp)
//   lab 03  topological_order, backprop                (topo_sort.cpp, backprop.cpp;
//                                                        rules: vjp_rules.cpp)
//   lab 04  gradients, SgdStepGraph                    (gradients.cpp, sgd_step.cpp)
// The helpers at the end (ancestors, one_hot, forward_values, depending_on) are plumbing the
// labs use and do not have to write.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gw/executor.h"
#include "gw/graph.h"
#include "gw/tensor.h"

namespace gw {

// ==== lab 01 · numerical gradient checking ===================================================

/// A scalar function of several tensors: what gradcheck differentiates numerically.
using ScalarFunction = std::function<double(const std::vector<Tensor>&)>;

/// Central-difference gradient of `f` with respect to inputs[which], element by element:
/// ĝⱼ = (f(θ + ε eⱼ) − f(θ − ε eⱼ)) / 2ε, error O(ε²). `f` is called with f64 copies of the
/// inputs (the perturbed one changed in element j), two calls per element.
/// @return f64 tensor of the shape of inputs[which].
/// @throws gw::Error when `which` is out of range or eps ≤ 0.
Tensor numerical_gradient(const ScalarFunction& f, const std::vector<Tensor>& inputs,
                          size_t which, double eps = 1e-6);

/// The floor of the relative error's denominator: rel = |g − ĝ| / max(|ĝ|, kRelativeErrorTiny),
/// so that a zero numerical gradient gives a large relative error, never a division by zero.
constexpr double kRelativeErrorTiny = 1e-12;

/// Tolerances of gradcheck: element j fails when |g − ĝ| > atol + rtol·|ĝ| (or when either
/// side is NaN).
struct GradcheckOptions {
  double eps = 1e-6;   ///< step of the central difference
  double atol = 1e-6;  ///< absolute tolerance
  double rtol = 1e-4;  ///< relative tolerance (relative to the numerical gradient)
  int max_listed = 10; ///< at most this many failing elements are listed in str()
};

/// The comparison of one input's analytic gradient with its numerical one. When g or ĝ is NaN
/// at some element, both maxima are NaN and that element fails; a missing gradient, or one
/// whose shape differs from the input's, fails the input with both maxima +inf.
struct InputCheck {
  double max_abs_error = 0.0;  ///< max over elements of |g − ĝ|
  double max_rel_error = 0.0;  ///< max over elements of |g − ĝ| / max(|ĝ|, kRelativeErrorTiny)
  std::vector<int64_t> failing;  ///< flat indices of the failing elements (all of them)
  bool passed = true;          ///< no failing element and matching shapes
};

/// gradcheck's result: one InputCheck per input.
struct GradcheckReport {
  bool passed = true;               ///< every input passed
  std::vector<InputCheck> inputs;   ///< in the order of the inputs
  int max_listed = 10;              ///< failing elements str() lists per input (from options)
  /// Multi-line summary: per input the max errors and the first failing elements.
  std::string str() const;
};

/// Compares `analytic_gradients[i]` (any floating dtype, shape of inputs[i]) with
/// numerical_gradient(f, inputs, i, options.eps) for every input. An analytic gradient whose
/// shape differs from its input's fails that input (flashlight: shape bugs surface here).
GradcheckReport gradcheck(const ScalarFunction& f, const std::vector<Tensor>& analytic_gradients,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

/// Adapts a graph to a ScalarFunction of the values of `inputs`: each call feeds the given
/// tensors (cast to the node's dtype) to the Input leaves among `inputs`, temporarily
/// replaces the value of the Parameter/Constant leaves among them (restored afterwards),
/// adds `other_feeds`, evaluates, and returns the sum of the output's elements (the output
/// itself when scalar). Build the graph in f64 for checking.
ScalarFunction graph_function(Node* scalar_output, const std::vector<Node*>& inputs,
                              const Feeds& other_feeds = {});

/// gradcheck of gradients() (lab 04) on a graph: a non-scalar output is summed first; the
/// point of evaluation is `feeds` for Input leaves and the current value of other leaves.
GradcheckReport gradcheck_graph(Node* output, const std::vector<Node*>& wrt, const Feeds& feeds,
                                const GradcheckOptions& options = {});

/// One ε of the error study.
struct EpsStudyPoint {
  double eps = 0.0;        ///< the step
  double error_f32 = 0.0;  ///< |central difference − f'(x₀)| computed in float
  double error_f64 = 0.0;  ///< the same in double
};

/// Error of the central difference of f(x) = sin(x) at x₀ = 1 (f' = cos 1) against ε, in
/// f32 and f64: truncation error ~ε²/6·|f'''| falls with ε, rounding error ~u·|f|/ε grows,
/// so each curve is U-shaped with its best ε near u^(1/3), u the unit roundoff. In f32 every
/// operation is in float, ε rounded to float too. Below ε ≈ u, 1 ± ε rounds to 1, the
/// difference is 0 and the error is flat at |f'(x₀)| = cos 1. Empty `epsilons` means
/// eps_study_grid().
std::vector<EpsStudyPoint> eps_study(const std::vector<double>& epsilons = {});

/// The default steps of eps_study: four per decade, 10^(−1), 10^(−1.25), …, 10^(−12).
std::vector<double> eps_study_grid();

// ==== lab 02 · forward mode ==================================================================

/// Builds the tangent graph: for each node between `inputs` and `output`, in forward
/// topological order, its tangent from its op's JVP rule (gw/op_table.h). `tangents[i]` is
/// the tangent of inputs[i] (a node of the same shape, e.g. an Input fed with a direction).
/// Nodes that do not depend on an input have tangent zero and get no rule applied.
/// @return the tangent of `output` (a zeros constant when it does not depend on any input).
/// @throws gw::Error when an op on the path has no JVP rule, or sizes/shapes do not match.
Node* jvp(Node* output, const std::vector<Node*>& inputs, const std::vector<Node*>& tangents);

/// Full Jacobian by forward mode: builds jvp once with an Input tangent, then runs it n times
/// (n = numel(input)) feeding the one-hot tangents eⱼ; column j is the output tangent.
/// `input` is an Input (fed in `feeds`) or a Parameter/Constant leaf.
/// @return f64 tensor (numel(output), numel(input)); *passes (when given) = the number of
/// runs of the tangent graph that were made (n).
Tensor jacobian_forward(Node* output, Node* input, const Feeds& feeds, int64_t* passes = nullptr);

/// Full Jacobian by reverse mode: builds gradients() of sum(output ∘ seed) once, then runs
/// it k times (k = numel(output)) feeding the one-hot seeds; row i is ∂outputᵢ/∂input. It
/// runs on lab 04's gradients(), so it works once lab 04 is done.
/// @return f64 tensor (numel(output), numel(input)); *passes (when given) = the number of
/// runs of the gradient graph (k).
Tensor jacobian_reverse(Node* output, Node* input, const Feeds& feeds, int64_t* passes = nullptr);

// ==== lab 03 · reverse mode on concrete values ===============================================

/// Every node `outputs` depend on, each after its inputs (a topological order), visited
/// depth-first in input order. Iterative, with an explicit stack: a chain of 10⁵ nodes
/// must not overflow the call stack.
std::vector<Node*> topological_order(const std::vector<Node*>& outputs);

/// Backpropagation in the Caffe style: evaluates every value of the forward graph, then walks
/// the reverse topological order on concrete tensors. For each node it applies the op's VJP
/// rule to constants holding the concrete values (in a scratch Graph, evaluated at once) and
/// sums the partial adjoints of a value used by several consumers: v̄ᵢ = Σⱼ v̄ᵢ→ⱼ.
/// A non-scalar output is seeded with ones (the gradient of the sum of its elements).
/// @throws gw::Error when an op on the way has no VJP rule, or a rule returns an adjoint of
/// the wrong shape.
/// @return the adjoint of every node the output depends on that has one (non-differentiable
/// paths such as integer targets are absent), in each node's shape and dtype.
std::unordered_map<const Node*, Tensor> backprop(Node* output, const Feeds& feeds = {});

// ==== lab 04 · backward graph construction ===================================================

/// Appends to output's Graph the nodes computing ∂output/∂w for each w in `wrt` (the
/// lecture's algorithm: node_to_grad = {out: [1]}; in reverse topological order,
/// v̄ᵢ = Σ node_to_grad[i]; for each input k append v̄ᵢ·∂vᵢ/∂vₖ). A non-scalar output is
/// seeded with ones of its shape (the gradient of the sum of its elements). Only nodes on a
/// path from a wrt node to the output get their rule applied. A wrt node the output does not
/// depend on gets a zeros constant of its shape. The result is made of ordinary ops, so it
/// can be run again with new inputs, and differentiated again (grad of grad).
/// @throws gw::Error when an op on the path has no VJP rule.
std::vector<Node*> gradients(Node* output, const std::vector<Node*>& wrt);

/// The lecture's training-step graph: L = MSE(w2·ReLU(w1·x), y) with θ ← θ − η∇L, written in
/// row form: x (b, n_in), y (b, n_out), w1 (n_in, h), w2 (h, n_out);
/// L = mean((relu(x w1) w2 − y)²). The graph is built once; each step() feeds new data,
/// runs {loss, w1 − η w̄1, w2 − η w̄2} with one Executor and copies the new values into the
/// Parameter tensors, so no node is added per step.
struct SgdStepGraph {
  Graph* graph = nullptr;           ///< the graph holding everything below
  Node* x = nullptr;                ///< Input (b, n_in)
  Node* y = nullptr;                ///< Input (b, n_out)
  Node* w1 = nullptr;               ///< Parameter (n_in, h)
  Node* w2 = nullptr;               ///< Parameter (h, n_out)
  Node* loss = nullptr;             ///< scalar L
  std::vector<Node*> grads;         ///< {w̄1, w̄2} from gradients()
  std::vector<Node*> new_params;    ///< {w1 − η w̄1, w2 − η w̄2}
  double learning_rate = 0.0;       ///< η
  std::shared_ptr<Executor> executor;  ///< runs {loss, new_params...}; made on first step()

  /// One SGD step on (x, y): returns L before the update and writes the updated weights
  /// into w1->value and w2->value.
  double step(const Tensor& x_batch, const Tensor& y_batch);
};

/// Builds the step graph in `graph` with parameters w1 = init_w1, w2 = init_w2 (copied; their
/// dtype is the graph's) and batch size b.
SgdStepGraph build_sgd_step(Graph& graph, int64_t batch, const Tensor& init_w1,
                            const Tensor& init_w2, double learning_rate);

// ==== helpers the labs use (plumbing, not the lesson) =======================================

/// The nodes `output` depends on, itself included, in creation order. A node's inputs are
/// always created before it, so this is a topological order; it is found with one backward
/// sweep over the node ids (no sort needed).
std::vector<Node*> ancestors(Node* output);

/// Throws gw::Error unless `output` is a floating node and every node of `wrt` belongs to its
/// graph; `who` names the caller in the message ("gradients").
void check_differentiable(const char* who, const Node* output, const std::vector<Node*>& wrt);

/// A tensor of `shape` and `dtype` that is 1 at flat index j and 0 elsewhere.
Tensor one_hot(const Shape& shape, int64_t j, DType dtype);

/// The value of every node of `order` (a topological order, as topological_order gives):
/// Inputs from `feeds`, Parameters and Constants their own tensor, the rest computed.
/// @throws gw::Error naming an Input that `feeds` lacks.
std::unordered_map<const Node*, Tensor> forward_values(const std::vector<Node*>& order,
                                                       const Feeds& feeds);

/// The nodes of `order` (a topological order) that depend on some node of `wrt`, the wrt
/// nodes included: the only nodes whose rules a gradient with respect to `wrt` needs.
std::unordered_set<const Node*> depending_on(const std::vector<Node*>& order,
                                             const std::vector<Node*>& wrt);

}  // namespace gw
