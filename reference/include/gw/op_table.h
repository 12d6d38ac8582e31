// op_table.h — the one declaration of every primitive op.
//
// As in MLX's primitives and PyTorch's derivatives.yaml, everything about an op is found in
// one place: its name, its shape and dtype rule, its FLOP and byte counts, its extra
// workspace, its VJP and JVP rules and a kernel per device. Shape rules and counts live in
// reference/graph/ops/*.cpp, VJP/JVP rules in reference/autodiff/*_rules.cpp, kernels in
// kernels/cpu and kernels/cuda; each registers itself into this table.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "gw/graph.h"
#include "gw/tensor.h"

namespace gw {

class Communicator;

/// What a kernel sees at run time besides its tensors.
struct RunContext {
  Communicator* communicator = nullptr;  ///< for AllReduce; null means one rank
  void* cuda_stream = nullptr;           ///< cudaStream_t of the CUDA backend
};

/// Everything a kernel gets. `output` is already allocated with the node's shape and dtype;
/// `workspace` holds OpDef::workspace(node) bytes (or is null when that is 0).
struct KernelArgs {
  const Node& node;                   ///< the node being evaluated (attrs, shapes)
  const std::vector<Tensor>& inputs;  ///< values of node.inputs, in order
  Tensor& output;                     ///< where to write the result
  void* workspace;                    ///< scratch of OpDef::workspace(node) bytes, or null
  RunContext& context;                ///< communicator, stream
};

using ShapeRule = void (*)(Node& node);              ///< sets node.shape and node.dtype or throws
using CountRule = double (*)(const Node& node);      ///< FLOPs or bytes of one evaluation
using WorkspaceRule = size_t (*)(const Node& node);  ///< extra bytes the kernel needs
/// Adjoints of the inputs given the adjoint of the output (v̄ᵢ·∂vᵢ/∂vₖ for each input k),
/// built with graph ops. An entry may be nullptr for an input that has no gradient.
using VjpRule = std::vector<Node*> (*)(Node& node, Node* adjoint);
/// Tangent of the output given the tangents of the inputs (nullptr means zero), built with
/// graph ops.
using JvpRule = Node* (*)(Node& node, const std::vector<Node*>& tangents);
using Kernel = void (*)(const KernelArgs& args);

/// The declaration of one op.
struct OpDef {
  const char* name = "?";          ///< lower-case name, e.g. "matmul"
  int arity = 0;                    ///< number of inputs; -1 for any number (Concat)
  ShapeRule infer = nullptr;        ///< shape and dtype inference; validates inputs
  CountRule flops = nullptr;        ///< floating-point operations (2 per multiply-add)
  CountRule bytes = nullptr;        ///< bytes read and written by a kernel that streams once
  WorkspaceRule workspace = nullptr;  ///< kernel scratch bytes; null means none
  VjpRule vjp = nullptr;            ///< registered by reference/autodiff/vjp_rules.cpp
  JvpRule jvp = nullptr;            ///< registered by reference/autodiff/jvp_rules.cpp
  Kernel cpu = nullptr;             ///< registered by kernels/cpu
  Kernel cuda = nullptr;            ///< registered by kernels/cuda (when CUDA is compiled)
  bool mutates_inputs = false;      ///< runs after every pure node (AdamW writes its state)
  bool is_view = false;             ///< output aliases input 0's memory (Reshape)
};

/// The table, indexed by Op. Built on first use from the registration functions below.
const OpDef& op_def(Op op);
/// Mutable access for registration and for tests that swap a rule.
OpDef& mutable_op_def(Op op);
/// All ops in declaration order.
const std::array<OpDef, static_cast<size_t>(Op::kCount)>& op_table();
/// Name of an op ("matmul").
const char* op_name(Op op);

// Registration functions, each defined in the file that owns that part of the table.
void declare_leaf_ops(OpDef* table);        // reference/graph/ops/leaf.cpp
void declare_elementwise_ops(OpDef* table); // reference/graph/ops/elementwise.cpp
void declare_reduce_ops(OpDef* table);      // reference/graph/ops/reduce.cpp
void declare_shape_ops(OpDef* table);       // reference/graph/ops/shape.cpp
void declare_matmul_ops(OpDef* table);      // reference/graph/ops/matmul.cpp
void declare_nn_ops(OpDef* table);          // reference/graph/ops/nn.cpp
void declare_comm_quant_ops(OpDef* table);  // reference/graph/ops/comm_quant.cpp
void register_vjp_rules(OpDef* table);      // reference/autodiff/vjp_rules.cpp
void register_jvp_rules(OpDef* table);      // reference/autodiff/jvp_rules.cpp
void register_cpu_kernels(OpDef* table);    // kernels/cpu/register.cpp
void register_cuda_kernels(OpDef* table);   // kernels/cuda/register.cu (no-op without CUDA)

}  // namespace gw
