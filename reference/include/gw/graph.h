// graph.h — the define-then-run dataflow graph: Op, Attrs, Node and Graph.
//
// Model code builds a Graph of Nodes with the functions of gw/ops.h. Nothing runs while the
// graph is built: each node only knows its op, its inputs, its attributes and the shape and
// dtype its op inferred. The executor (gw/executor.h) runs the graph; autodiff
// (gw/autodiff.h) appends the backward graph to the same Graph.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gw/device.h"
#include "gw/dtype.h"
#include "gw/shape.h"
#include "gw/tensor.h"

namespace gw {

/// Every primitive op. Each is declared once in the op table (gw/op_table.h).
enum class Op : uint16_t {
  // leaves
  Input,      ///< fed with a new tensor every run
  Parameter,  ///< owns a persistent tensor (weights, optimizer state)
  Constant,   ///< owns a fixed tensor
  // elementwise unary
  Neg, Abs, Exp, Log, Sin, Cos, Sqrt, Rsqrt, Relu, Sigmoid, Silu, Tanh, Cast,
  // elementwise with a scalar attribute: x + c, x * c, x ^ c
  AddScalar, MulScalar, PowScalar,
  // elementwise binary (same shapes: ops.h inserts Broadcast nodes first)
  Add, Sub, Mul, Div, Compare,
  // reductions along axes
  Sum, Max, Mean,
  // shape
  Reshape, Permute, Broadcast, Slice, Concat,
  // embedding
  Embedding, EmbeddingBackward,
  // linear algebra
  MatMul,
  // fused ops and their backward ops
  Softmax, SoftmaxBackward, LogSoftmax, LogSoftmaxBackward,
  SoftmaxCrossEntropy, SoftmaxCrossEntropyBackward,
  RMSNorm, RMSNormBackwardInput, RMSNormBackwardWeight,
  SwiGLU, SwiGLUBackwardGate, SwiGLUBackwardUp, SwiGLUPacked, SwiGLUPackedBackward,
  RoPE, Attention, AttentionBackward, FlashAttention, FlashAttentionBackward,
  AdamW,
  // distributed
  AllReduce,
  // quantization
  Quantize, Dequantize, FakeQuantize, FakeQuantizeMask, MatMulInt8, QuantizedLinear,
  kCount  ///< number of ops (not an op)
};

/// Comparison of Op::Compare; the result is 1 where true and 0 elsewhere, in the input dtype.
enum class CompareOp : uint8_t { lt, le, gt, ge, eq, ne };

/// AdamW's hyperparameters (the learning rate and bias corrections change every step, so
/// they are an input of the node, not attributes).
struct AdamWAttrs {
  double beta1 = 0.9;          ///< decay of the first moment
  double beta2 = 0.95;         ///< decay of the second moment
  double eps = 1e-8;           ///< added to sqrt(v̂)
  double weight_decay = 0.0;   ///< decoupled decay λ
};

/// Attributes of a node. Every field has one meaning; the ops that read it are named beside
/// it. Shape rules normalize the fields they read (axes sorted and non-negative, −1 resolved),
/// so kernels, rules and passes see one canonical form.
struct Attrs {
  std::vector<int64_t> axes;   ///< Sum, Max, Mean: the reduced axes (empty: every axis)
  bool keepdims = false;       ///< Sum, Max, Mean: keep each reduced axis with size 1
  std::vector<int64_t> perm;   ///< Permute: output axis i is input axis perm[i]
  Shape shape;                 ///< Reshape, Broadcast: the target shape
  double c = 0.0;              ///< AddScalar, MulScalar, PowScalar: the constant c
  int64_t axis = 0;            ///< Slice, Concat: the axis; Quantize, Dequantize, FakeQuantize*: the channel or group axis; RoPE: the sequence axis
  int64_t start = 0;           ///< Slice: first index along axis
  int64_t end = 0;             ///< Slice: one past the last index along axis
  bool transpose_a = false;    ///< MatMul: use Aᵀ
  bool transpose_b = false;    ///< MatMul: use Bᵀ
  DType dtype = DType::f32;    ///< Cast, Dequantize: the output dtype
  CompareOp compare = CompareOp::gt;  ///< Compare: which comparison
  int64_t vocab = 0;           ///< EmbeddingBackward: rows of the table (v)
  double eps = 1e-5;           ///< RMSNorm and its backward ops: added to mean(x²)
  double theta = 10000.0;      ///< RoPE: base of the frequencies
  bool inverse = false;        ///< RoPE: rotate the other way (its own VJP)
  bool causal = false;         ///< the attention ops: mask keys after the query
  double scale = 0.0;          ///< the attention ops: score scale (0: 1/sqrt(d))
  AdamWAttrs adamw;            ///< AdamW
  bool average = true;         ///< AllReduce: divide the sum by the number of ranks
  int64_t bits = 8;            ///< Quantize, FakeQuantize*: N of the signed range [−2^(N−1), 2^(N−1) − 1]
  int64_t group_size = 0;      ///< Quantize, Dequantize, FakeQuantize*: elements per group along axis (0: none)
  bool trainable = false;      ///< Parameter: gradients() differentiates it by default
};

class Graph;
struct OpDef;

/// One value of the graph: the result of `op` applied to `inputs`.
struct Node {
  int id = 0;                  ///< index in Graph::nodes()
  Op op = Op::Input;           ///< what computes this value
  std::vector<Node*> inputs;   ///< operands, in the op's order
  Attrs attrs;                 ///< op parameters (see Attrs)
  Shape shape;                 ///< inferred by the op's declaration
  DType dtype = DType::f32;    ///< inferred by the op's declaration
  Device device;               ///< all inputs and the output live here
  std::string name;            ///< optional, for leaves and debugging
  /// Where the node was built, as a '/'-separated path ("layer0/attention"): the graph's
  /// scope at add time (NameScope). A VJP rule's nodes get "backward/" + the scope of the
  /// node it differentiates (gw/op_table.h), so passes can tell a node's layer, part and
  /// phase (gw/cost_model.h).
  std::string scope;
  Graph* graph = nullptr;      ///< the owner
  Tensor value;                ///< Parameter/Constant: the owned tensor; Input: unused

  /// The op's declaration (name, shape rule, FLOPs, VJP, JVP, kernels).
  const OpDef& def() const;
  /// "matmul#12 f32 (4, 8)".
  std::string str() const;
  /// Input, Parameter or Constant.
  bool is_leaf() const { return op == Op::Input || op == Op::Parameter || op == Op::Constant; }
  /// A Parameter that gradients() differentiates by default.
  bool is_trainable() const { return op == Op::Parameter && attrs.trainable; }
};

/// What a graph's leaves hold.
enum class GraphMode {
  values,       ///< tensors: the graph can run (the default)
  shapes_only,  ///< shapes and dtypes only: nothing is allocated and nothing can run, but
                ///< passes can count and plan it (Llama-2-7B's training graph in a few MB)
};

/// Owns the nodes. Nodes are never removed, so Node* stay valid for the graph's lifetime.
class Graph {
 public:
  /// An empty graph whose nodes all live on `device`.
  explicit Graph(Device device = Device::cpu(), GraphMode mode = GraphMode::values)
      : device_(device), mode_(mode) {}
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  /// A leaf fed with a new tensor on every run.
  Node* input(const std::string& name, const Shape& shape, DType dtype = DType::f32);
  /// A persistent leaf owning `value` (moved to the graph's device). Trainable parameters are
  /// what gradients() differentiates by default; non-trainable ones hold optimizer state.
  /// A shapes-only graph keeps only the shape and dtype of `value`.
  Node* parameter(const std::string& name, const Tensor& value, bool trainable = true);
  /// A persistent leaf of `shape` and `dtype` holding zeros on the graph's device (no tensor
  /// at all in a shapes-only graph: this is how large models are declared for counting).
  Node* parameter(const std::string& name, const Shape& shape, DType dtype, bool trainable);
  /// A leaf owning a fixed tensor (only its shape and dtype in a shapes-only graph).
  Node* constant(const Tensor& value, const std::string& name = "");
  /// A scalar (shape {}) constant.
  Node* scalar(double value, DType dtype = DType::f32);
  /// A constant of zeros; a shapes-only graph makes no tensor for it (the VJP of a slice of a
  /// 7B model's weight pads with zeros that large).
  Node* zeros(const Shape& shape, DType dtype = DType::f32);

  /// Appends a node: checks that inputs belong to this graph and share a device, then runs
  /// the op's shape and dtype inference (which throws gw::ShapeError / gw::DTypeError).
  Node* add_node(Op op, std::vector<Node*> inputs, Attrs attrs = {});

  /// Every node, in creation order (a valid topological order).
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }
  /// Number of nodes.
  size_t size() const { return nodes_.size(); }
  /// The node with this id.
  Node* node(int id) const { return nodes_.at(static_cast<size_t>(id)).get(); }
  /// Device of every node.
  Device device() const { return device_; }
  /// Parameter leaves; with trainable_only, those with the trainable flag.
  std::vector<Node*> parameters(bool trainable_only = true) const;
  /// The leaf with this name, or nullptr.
  Node* find(const std::string& name) const;
  /// True for a GraphMode::shapes_only graph: leaves own no tensors, executors refuse to run.
  bool shapes_only() const { return mode_ == GraphMode::shapes_only; }
  /// The scope new nodes get (Node::scope); "" at first.
  const std::string& scope() const { return scope_; }
  /// Sets the scope of the nodes built from now on and returns the previous one. NameScope
  /// nests scopes and restores the previous one; this replaces it outright.
  std::string set_scope(std::string scope);

 private:
  Node* push(std::unique_ptr<Node> node);
  std::vector<std::unique_ptr<Node>> nodes_;
  Device device_;
  GraphMode mode_ = GraphMode::values;
  std::string scope_;
};

/// Puts the nodes built while it lives under `name`, inside the graph's current scope
/// ("layer0", then "mlp" inside it, gives "layer0/mlp"), and restores the previous scope when
/// it goes. Model code names its parts this way so passes can group their cost.
///
///     { NameScope scope(graph, "mlp"); h = matmul(x, w_up); }   // h->scope == "mlp"
class NameScope {
 public:
  /// Enters `name` inside the graph's current scope.
  NameScope(Graph& graph, const std::string& name);
  /// Restores the scope from before.
  ~NameScope();
  NameScope(const NameScope&) = delete;
  NameScope& operator=(const NameScope&) = delete;

 private:
  Graph& graph_;
  std::string previous_;
};

}  // namespace gw
