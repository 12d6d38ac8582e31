// op_table.h — the one declaration of every primitive op, and the one way to fill it.
//
// As in MLX's primitives and PyTorch's derivatives.yaml, everything about an op is found in
// one place: its name, its shape and dtype rule, its FLOP and byte counts, its extra
// workspace, its VJP and JVP rules and a kernel per device. Each part is written with the
// same call, define(op):
//
//   r.define(Op::Exp, "exp", 1)                       // an op family (reference/graph/ops/)
//       .shape(unary_float_shape).flops(per_element<1>).jvp(jvp_exp);
//   r.define(Op::Exp).cpu(unary_kernel<Op::Exp>);     // the CPU backend (kernels/cpu/)
//   r.define(Op::Exp).cuda(unary<Op::Exp>);           // the CUDA backend (kernels/cuda/)
//   r.define(Op::Exp).vjp(vjp_exp);                   // a lab's rule file (reference/autodiff/)
//
// Every slot is written once: a second write of the same slot stops the table's
// construction with an error that names the op and the slot. The table is built on first
// use, in this order: the op families, the kernels, the labs' rule files.
//
// A VJP rule runs inside the scope of the node it differentiates, prefixed "backward/"
// (Node::scope, gw/graph.h): every node the rule builds is labelled with the layer and part
// of the model its forward node came from, whoever calls the rule.
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
/// graph ops; nullptr when the tangent is zero.
using JvpRule = Node* (*)(Node& node, const std::vector<Node*>& tangents);
using Kernel = void (*)(const KernelArgs& args);

/// The declaration of one op. Read it through op_def(); write it through OpRegistry.
struct OpDef {
  const char* name = nullptr;       ///< lower-case name, e.g. "matmul"
  int arity = 0;                    ///< number of inputs; -1 for any number (Concat)
  ShapeRule infer = nullptr;        ///< shape and dtype inference; validates inputs
  CountRule flops = nullptr;        ///< floating-point operations (lab 07's convention);
                                    ///< null: not declared, and counting it is an error
  CountRule bytes = nullptr;        ///< bytes read and written by a kernel that streams once
  WorkspaceRule workspace = nullptr;  ///< kernel scratch bytes; null means none
  VjpRule vjp = nullptr;            ///< reverse-mode rule; null: no gradient
  JvpRule jvp = nullptr;            ///< forward-mode rule; null: no tangent
  Kernel cpu = nullptr;             ///< kernel on the CPU
  Kernel cuda = nullptr;            ///< kernel on a GPU (when CUDA is compiled)
  bool mutates_inputs = false;      ///< runs after every pure node (AdamW writes its state)
  bool is_view = false;             ///< output aliases input 0's memory (Reshape)
};

/// Writes the slots of one op's declaration; returned by OpRegistry::define. Each setter
/// throws gw::Error when its slot was already written, so two files can never both think
/// they own a rule or a kernel.
class OpDefinition {
 public:
  /// The shape and dtype rule (required of every declared op).
  OpDefinition& shape(ShapeRule rule);
  /// The FLOP count of one evaluation (lab 07's convention: every arithmetic operation
  /// counts once, so a matmul of m×n by n×h is m·h·(2n − 1)). Required of an op that runs a
  /// kernel; an op that does no arithmetic declares a rule returning 0.
  OpDefinition& flops(CountRule rule);
  /// The bytes one evaluation reads and writes (default: every input read once, the output
  /// written once).
  OpDefinition& bytes(CountRule rule);
  /// The extra scratch bytes the kernels need.
  OpDefinition& workspace(WorkspaceRule rule);
  /// The reverse-mode rule.
  OpDefinition& vjp(VjpRule rule);
  /// The forward-mode rule.
  OpDefinition& jvp(JvpRule rule);
  /// The CPU kernel.
  OpDefinition& cpu(Kernel kernel);
  /// The CUDA kernel.
  OpDefinition& cuda(Kernel kernel);
  /// The output aliases input 0's memory; no kernel runs (Reshape).
  OpDefinition& view();
  /// The kernel writes into its inputs; the executor runs it after every pure node.
  OpDefinition& mutates_inputs();

 private:
  friend class OpRegistry;
  explicit OpDefinition(OpDef& def) : def_(def) {}
  OpDef& def_;
};

/// The table under construction, handed to every registration function below.
class OpRegistry {
 public:
  /// A registry writing into `table` (Op::kCount entries); op_table() makes the only one.
  explicit OpRegistry(OpDef* table) : table_(table) {}
  /// Declares `op` with its name and number of inputs (−1: any number). Once per op.
  OpDefinition define(Op op, const char* name, int arity);
  /// Adds slots to an op declared before (its kernels, its lab's rules).
  OpDefinition define(Op op);

 private:
  OpDef* table_;
};

/// The declaration of `op`.
const OpDef& op_def(Op op);
/// All ops in declaration order.
const std::array<OpDef, static_cast<size_t>(Op::kCount)>& op_table();
/// Name of an op ("matmul").
const char* op_name(Op op);

/// For tests only: swaps the VJP rule of `op` and returns the one it replaces (tests plant a
/// wrong rule to show that a checker catches it, then put the right one back).
VjpRule replace_vjp_for_testing(Op op, VjpRule rule);
/// For tests only: swaps the CPU kernel of `op` and returns the one it replaces.
Kernel replace_cpu_kernel_for_testing(Op op, Kernel kernel);
/// For tests only: swaps the FLOP rule of `op` (nullptr: none) and returns the one it replaces.
CountRule replace_flops_for_testing(Op op, CountRule rule);

// ---- registration: each function is defined in the file that owns that part of the table --
// The op families (reference/graph/ops/): names, shape rules, counts, and every rule that is
// not a lab's.
void define_leaf_ops(OpRegistry& r);         // leaf.cpp
void define_elementwise_ops(OpRegistry& r);  // elementwise.cpp
void define_reduce_ops(OpRegistry& r);       // reduce.cpp
void define_shape_ops(OpRegistry& r);        // shape.cpp
void define_matmul_ops(OpRegistry& r);       // matmul.cpp
void define_nn_ops(OpRegistry& r);           // nn.cpp
void define_attention_ops(OpRegistry& r);    // attention.cpp
void define_optimizer_ops(OpRegistry& r);    // optimizer.cpp
void define_comm_ops(OpRegistry& r);         // comm.cpp
void define_quant_ops(OpRegistry& r);        // quant.cpp
// The backends.
void define_cpu_kernels(OpRegistry& r);      // kernels/cpu/register.cpp
void define_cuda_kernels(OpRegistry& r);     // kernels/cuda/register.cu (nothing without CUDA)
// The rules the labs' students write (registered by reference/autodiff/lab_rules.cpp).
void define_lab02_jvp_rules(OpRegistry& r);  // lab_rules.cpp (rules in jvp_rules.cpp)
void define_lab03_vjp_rules(OpRegistry& r);  // lab_rules.cpp (rules in vjp_rules.cpp)
void define_lab05_vjp_rules(OpRegistry& r);  // lab_rules.cpp (rule in passes/fake_quant.cpp)
// The FLOP and byte rules lab 07's students write (reference/passes/cost_rules.cpp).
void define_lab07_cost_rules(OpRegistry& r); // reference/passes/register_cost_rules.cpp

}  // namespace gw
