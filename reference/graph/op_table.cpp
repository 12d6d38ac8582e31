// op_table.cpp — builds the op table from the files that own its parts (gw/op_table.h),
// checks that every op came out complete, and runs each VJP rule in its node's scope.
#include "gw/op_table.h"

#include "gw/error.h"

namespace gw {
namespace {

using Table = std::array<OpDef, static_cast<size_t>(Op::kCount)>;

// Default byte count: every input read once, the output written once.
double streamed_bytes(const Node& node) {
  double total = static_cast<double>(numel(node.shape)) * dtype_size(node.dtype);
  for (const Node* in : node.inputs)
    total += static_cast<double>(numel(in->shape)) * dtype_size(in->dtype);
  return total;
}

// The VJP rules as their files registered them; OpDef::vjp holds rule_in_scope instead, so
// that every node a rule builds carries the scope of the node it differentiates.
std::array<VjpRule, static_cast<size_t>(Op::kCount)>& vjp_rules() {
  static std::array<VjpRule, static_cast<size_t>(Op::kCount)> rules{};
  return rules;
}

// "backward/" + the forward node's scope: the layer and part (attention, mlp, ...) of a
// backward node are those of the node whose adjoint rule built it, as JAX names the
// transposed ops after their primal's name stack.
std::vector<Node*> rule_in_scope(Node& node, Node* adjoint) {
  Graph& graph = *node.graph;
  std::string previous =
      graph.set_scope(node.scope.empty() ? "backward" : "backward/" + node.scope);
  try {
    std::vector<Node*> adjoints = vjp_rules()[static_cast<size_t>(node.op)](node, adjoint);
    graph.set_scope(std::move(previous));
    return adjoints;
  } catch (...) {
    graph.set_scope(std::move(previous));
    throw;
  }
}

// A slot written twice means two files believe they own it: stop at once, naming both.
template <typename Slot>
void write_once(Slot& slot, Slot value, const OpDef& def, const char* what) {
  GW_CHECK(slot == Slot{}, "op table: the ", what, " of '", def.name ? def.name : "?",
           "' is defined twice");
  slot = value;
}

Table build() {
  Table t{};
  OpRegistry r(t.data());
  define_leaf_ops(r);
  define_elementwise_ops(r);
  define_reduce_ops(r);
  define_shape_ops(r);
  define_matmul_ops(r);
  define_nn_ops(r);
  define_attention_ops(r);
  define_optimizer_ops(r);
  define_comm_ops(r);
  define_quant_ops(r);
  define_cpu_kernels(r);
  define_cuda_kernels(r);
  define_lab02_jvp_rules(r);
  define_lab03_vjp_rules(r);
  define_lab05_vjp_rules(r);
  define_lab07_cost_rules(r);
  for (size_t i = 0; i < t.size(); ++i) {
    OpDef& d = t[i];
    GW_CHECK(d.name != nullptr && d.infer != nullptr, "op table: op #", i,
             " has no declaration (name and shape rule)");
    // No default FLOP rule: a forgotten one must be an error when counted, not a silent 0.
    if (d.bytes == nullptr) d.bytes = streamed_bytes;
    vjp_rules()[i] = d.vjp;
    if (d.vjp != nullptr) d.vjp = rule_in_scope;
  }
  return t;
}

Table& table() {
  static Table t = build();
  return t;
}

}  // namespace

OpDefinition OpRegistry::define(Op op, const char* name, int arity) {
  OpDef& d = table_[static_cast<size_t>(op)];
  GW_CHECK(d.name == nullptr, "op table: op '", name, "' is declared twice (as '", d.name, "')");
  d.name = name;
  d.arity = arity;
  return OpDefinition(d);
}

OpDefinition OpRegistry::define(Op op) {
  OpDef& d = table_[static_cast<size_t>(op)];
  GW_CHECK(d.name != nullptr, "op table: op #", static_cast<int>(op),
           " gets a kernel or a rule before its family declared it");
  return OpDefinition(d);
}

OpDefinition& OpDefinition::shape(ShapeRule rule) { return write_once(def_.infer, rule, def_, "shape rule"), *this; }
OpDefinition& OpDefinition::flops(CountRule rule) { return write_once(def_.flops, rule, def_, "FLOP count"), *this; }
OpDefinition& OpDefinition::bytes(CountRule rule) { return write_once(def_.bytes, rule, def_, "byte count"), *this; }
OpDefinition& OpDefinition::workspace(WorkspaceRule rule) {
  return write_once(def_.workspace, rule, def_, "workspace rule"), *this;
}
OpDefinition& OpDefinition::vjp(VjpRule rule) { return write_once(def_.vjp, rule, def_, "VJP rule"), *this; }
OpDefinition& OpDefinition::jvp(JvpRule rule) { return write_once(def_.jvp, rule, def_, "JVP rule"), *this; }
OpDefinition& OpDefinition::cpu(Kernel kernel) { return write_once(def_.cpu, kernel, def_, "CPU kernel"), *this; }
OpDefinition& OpDefinition::cuda(Kernel kernel) { return write_once(def_.cuda, kernel, def_, "CUDA kernel"), *this; }
OpDefinition& OpDefinition::view() { return write_once(def_.is_view, true, def_, "view flag"), *this; }
OpDefinition& OpDefinition::mutates_inputs() {
  return write_once(def_.mutates_inputs, true, def_, "mutates-inputs flag"), *this;
}

const Table& op_table() { return table(); }
const OpDef& op_def(Op op) { return table()[static_cast<size_t>(op)]; }
const char* op_name(Op op) { return op_def(op).name; }

VjpRule replace_vjp_for_testing(Op op, VjpRule rule) {
  const size_t i = static_cast<size_t>(op);
  table();  // built first: it fills vjp_rules()
  VjpRule old = vjp_rules()[i];
  vjp_rules()[i] = rule;
  table()[i].vjp = rule != nullptr ? rule_in_scope : nullptr;
  return old;
}
Kernel replace_cpu_kernel_for_testing(Op op, Kernel kernel) {
  Kernel old = table()[static_cast<size_t>(op)].cpu;
  table()[static_cast<size_t>(op)].cpu = kernel;
  return old;
}
CountRule replace_flops_for_testing(Op op, CountRule rule) {
  CountRule old = table()[static_cast<size_t>(op)].flops;
  table()[static_cast<size_t>(op)].flops = rule;
  return old;
}

}  // namespace gw
