// graph.cpp — Graph construction: leaves, add_node, lookups, scopes.
#include "gw/graph.h"

#include "gw/error.h"
#include "gw/op_table.h"

namespace gw {

const OpDef& Node::def() const { return op_def(op); }

std::string Node::str() const {
  std::string s = std::string(op_name(op)) + "#" + std::to_string(id);
  if (!name.empty()) s += " '" + name + "'";
  return s + " " + dtype_name(dtype) + " " + shape_str(shape);
}

Node* Graph::push(std::unique_ptr<Node> node) {
  node->id = static_cast<int>(nodes_.size());
  node->graph = this;
  node->scope = scope_;
  nodes_.push_back(std::move(node));
  return nodes_.back().get();
}

Node* Graph::input(const std::string& name, const Shape& shape, DType dtype) {
  auto n = std::make_unique<Node>();
  n->op = Op::Input;
  n->name = name;
  n->shape = shape;
  n->dtype = dtype;
  n->device = device_;
  return push(std::move(n));
}

Node* Graph::parameter(const std::string& name, const Tensor& value, bool trainable) {
  GW_CHECK(value.defined(), "parameter '", name, "': undefined tensor");
  auto n = std::make_unique<Node>();
  n->op = Op::Parameter;
  n->name = name;
  if (!shapes_only()) n->value = value.to(device_);
  n->shape = value.shape();
  n->dtype = value.dtype();
  n->device = device_;
  n->attrs.trainable = trainable;
  return push(std::move(n));
}

Node* Graph::parameter(const std::string& name, const Shape& shape, DType dtype, bool trainable) {
  auto n = std::make_unique<Node>();
  n->op = Op::Parameter;
  n->name = name;
  if (!shapes_only()) n->value = Tensor::zeros(shape, dtype, device_);
  n->shape = shape;
  n->dtype = dtype;
  n->device = device_;
  n->attrs.trainable = trainable;
  return push(std::move(n));
}

Node* Graph::constant(const Tensor& value, const std::string& name) {
  GW_CHECK(value.defined(), "constant '", name, "': undefined tensor");
  auto n = std::make_unique<Node>();
  n->op = Op::Constant;
  n->name = name;
  if (!shapes_only()) n->value = value.to(device_);
  n->shape = value.shape();
  n->dtype = value.dtype();
  n->device = device_;
  return push(std::move(n));
}

Node* Graph::zeros(const Shape& shape, DType dtype) {
  auto n = std::make_unique<Node>();
  n->op = Op::Constant;
  if (!shapes_only()) n->value = Tensor::zeros(shape, dtype, device_);
  n->shape = shape;
  n->dtype = dtype;
  n->device = device_;
  return push(std::move(n));
}

Node* Graph::scalar(double value, DType dtype) {
  return constant(Tensor::from_values({}, {value}, dtype));
}

Node* Graph::add_node(Op op, std::vector<Node*> inputs, Attrs attrs) {
  const OpDef& def = op_def(op);
  GW_CHECK_AS(ShapeError, def.arity < 0 || static_cast<int>(inputs.size()) == def.arity,
              def.name, ": expected ", def.arity, " inputs, got ", inputs.size());
  for (Node* in : inputs) {
    GW_CHECK(in != nullptr, def.name, ": null input");
    GW_CHECK(in->graph == this, def.name, ": input ", in->str(), " belongs to another graph");
    GW_CHECK_AS(DeviceError, in->device == device_, def.name, ": input ", in->str(), " is on ",
                in->device.str(), " but the graph is on ", device_.str());
  }
  auto n = std::make_unique<Node>();
  n->op = op;
  n->inputs = std::move(inputs);
  n->attrs = std::move(attrs);
  n->device = device_;
  GW_CHECK(def.infer != nullptr, def.name, ": op has no shape rule");
  def.infer(*n);  // throws before the node is added: a failed op leaves the graph unchanged
  return push(std::move(n));
}

std::vector<Node*> Graph::parameters(bool trainable_only) const {
  std::vector<Node*> out;
  for (const auto& n : nodes_)
    if (n->op == Op::Parameter && (!trainable_only || n->attrs.trainable)) out.push_back(n.get());
  return out;
}

Node* Graph::find(const std::string& name) const {
  for (const auto& n : nodes_)
    if (n->name == name) return n.get();
  return nullptr;
}

std::string Graph::set_scope(std::string scope) {
  std::swap(scope, scope_);
  return scope;
}

NameScope::NameScope(Graph& graph, const std::string& name)
    : graph_(graph), previous_(graph.scope()) {
  graph_.set_scope(previous_.empty() ? name : previous_ + "/" + name);
}

NameScope::~NameScope() { graph_.set_scope(previous_); }

}  // namespace gw
