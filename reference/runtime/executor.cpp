// executor.cpp — gw::Executor: binds the leaves, runs the kernels into one planned arena, and
// gw::eval, the eager-feeling wrapper for tests and debugging.
//
// The constructor plans (runtime/schedule.cpp, runtime/memory_plan.cpp); run() checks the
// feeds, allocates the arena once (the first run), then walks the schedule. Each value is
// a view of the arena made on that first run, so later runs call the allocator zero times:
// that is what lets the trainer replay the same step thousands of times, and what lets a
// test compare the plan's predicted peak with the allocator's measured one.
//
// values_ holds, by node id, each value's tensor (a view of the arena, of a leaf's tensor, or
// of a fed tensor); workspaces_ holds each kernel workspace (a view of the arena).
#include "gw/executor.h"

#include <atomic>
#include <utility>

#include "gw/allocator.h"
#include "runtime/planning.h"

namespace gw {
namespace {

std::atomic<int64_t> g_evaluations{0};

// "input 'x' f32 (4, 8)": how the errors name a leaf.
std::string describe(const Node& leaf) {
  std::string s = "input";
  if (!leaf.name.empty()) s += " '" + leaf.name + "'";
  return s + " (node #" + std::to_string(leaf.id) + ")";
}

// Throws unless `feeds` gives `leaf` a tensor of its shape, dtype and device.
const Tensor& checked_feed(const Node& leaf, const Feeds& feeds) {
  const auto it = feeds.find(&leaf);
  GW_CHECK(it != feeds.end() && it->second.defined(), "executor: ", describe(leaf),
           " is not fed: expected a ", dtype_name(leaf.dtype), " tensor of shape ",
           shape_str(leaf.shape), " on ", leaf.device.str());
  const Tensor& t = it->second;
  GW_CHECK_AS(ShapeError, t.shape() == leaf.shape, "executor: ", describe(leaf), " expects shape ",
              shape_str(leaf.shape), " but was fed shape ", shape_str(t.shape()));
  GW_CHECK_AS(DTypeError, t.dtype() == leaf.dtype, "executor: ", describe(leaf), " expects dtype ",
              dtype_name(leaf.dtype), " but was fed ", dtype_name(t.dtype()));
  GW_CHECK_AS(DeviceError, t.device() == leaf.device, "executor: ", describe(leaf), " lives on ",
              leaf.device.str(), " but was fed a tensor on ", t.device().str());
  return t;
}

}  // namespace

Executor::Executor(Graph& graph, std::vector<Node*> outputs, ExecutorOptions options)
    : graph_(graph), outputs_(std::move(outputs)), options_(options) {
  schedule_ = runtime::make_schedule(graph_, outputs_);
  plan_ = runtime::plan_memory(schedule_, outputs_, graph_.size());
  for (const Node* node : schedule_) needs_arena_ = needs_arena_ || !node->def().is_view;
  values_.resize(graph_.size());
  workspaces_.resize(graph_.size());
}

Executor::~Executor() = default;  // outputs handed out keep the arena alive until they go

std::vector<Tensor> Executor::run(const Feeds& feeds) {
  const Device device = graph_.device();
  GW_CHECK(!graph_.shapes_only(), "executor: the graph is shapes-only (GraphMode::shapes_only): "
           "its schedule and memory plan can be read and counted, but it cannot run");

  // 1. Check everything that can be wrong before touching memory: feeds and kernels.
  auto bind_leaf = [&](Node* leaf) {
    Tensor& slot = values_[static_cast<size_t>(leaf->id)];
    if (leaf->op != Op::Input) {
      slot = leaf->value;
      return;
    }
    const Tensor& fed = checked_feed(*leaf, feeds);
    // A feed that views this arena (last run's output fed back) would be overwritten while
    // it is read: copy it out first. This costs an allocation, which is why it is rare.
    slot = arena_ != nullptr && fed.buffer() == arena_ ? fed.clone() : fed;
  };
  for (Node* node : schedule_) {
    const OpDef& def = node->def();
    GW_CHECK(def.is_view || (device.is_cpu() ? def.cpu : def.cuda) != nullptr, "executor: no ",
             device.is_cpu() ? "cpu" : "cuda", " kernel for ", def.name, " (node ", node->str(),
             ")");
    for (Node* in : node->inputs)
      if (in->is_leaf()) bind_leaf(in);
  }
  for (Node* out : outputs_)
    if (out->is_leaf()) bind_leaf(out);

  // 2. First run: the one allocation, and a view of it for every value and workspace.
  if (arena_ == nullptr && needs_arena_) {
    arena_ = std::make_shared<Buffer>(static_cast<size_t>(plan_.arena_bytes), device);
    for (const Node* node : schedule_) {
      const size_t id = static_cast<size_t>(node->id);
      if (node->def().is_view) continue;
      values_[id] =
          Tensor::view(arena_, static_cast<size_t>(plan_.offset[id]), node->shape, node->dtype);
      if (plan_.workspace_size[id] > 0)
        workspaces_[id] = Tensor::view(arena_, static_cast<size_t>(plan_.workspace_offset[id]),
                                       {plan_.workspace_size[id]}, DType::i8);
    }
  }

  // 3. The kernels, in schedule order. Views only rename their input's tensor.
  RunContext context;
  context.communicator = options_.communicator;
  std::vector<Tensor> inputs;  // reused for every node: its capacity stays
  for (Node* node : schedule_) {
    const size_t id = static_cast<size_t>(node->id);
    const OpDef& def = node->def();
    if (def.is_view) {
      values_[id] = values_[static_cast<size_t>(node->inputs[0]->id)].reshaped(node->shape);
      continue;
    }
    inputs.clear();
    for (const Node* in : node->inputs) inputs.push_back(values_[static_cast<size_t>(in->id)]);
    Tensor& workspace = workspaces_[id];
    const KernelArgs args{*node, inputs, values_[id],
                          workspace.defined() ? workspace.raw() : nullptr, context};
    if (observer_ != nullptr) observer_->before(*node);
    (device.is_cpu() ? def.cpu : def.cuda)(args);
    if (observer_ != nullptr) observer_->after(*node);
    ++evaluations_;
    g_evaluations.fetch_add(1, std::memory_order_relaxed);
  }

  std::vector<Tensor> results;
  results.reserve(outputs_.size());
  for (const Node* out : outputs_) results.push_back(values_[static_cast<size_t>(out->id)]);
  // Drop this run's handles on the fed tensors (and views of them), so the executor does not
  // keep the last batch alive; they are bound again next run. Arena views stay for reuse.
  for (Node* node : schedule_) {
    if (node->def().is_view) values_[static_cast<size_t>(node->id)] = Tensor();
    for (const Node* in : node->inputs)
      if (in->op == Op::Input) values_[static_cast<size_t>(in->id)] = Tensor();
  }
  for (const Node* out : outputs_)
    if (out->op == Op::Input) values_[static_cast<size_t>(out->id)] = Tensor();
  ++runs_;
  return results;
}

std::vector<Tensor> eval(const std::vector<Node*>& outputs, const Feeds& feeds) {
  if (outputs.empty()) return {};
  GW_CHECK(outputs[0] != nullptr && outputs[0]->graph != nullptr, "eval: null output node");
  Executor executor(*outputs[0]->graph, outputs);
  std::vector<Tensor> results = executor.run(feeds);
  // The results view the executor's arena (or a caller's tensor): hand back copies of their own.
  for (Tensor& t : results) t = t.clone();
  return results;
}

Tensor eval(Node* output, const Feeds& feeds) {
  return eval(std::vector<Node*>{output}, feeds).at(0);
}

int64_t global_evaluation_count() { return g_evaluations.load(std::memory_order_relaxed); }

}  // namespace gw
