// executor.h — runs a graph: schedule, liveness memory plan, and eval.
//
// An Executor is built once for a graph and the nodes you want back. It orders the nodes
// topologically (pure nodes first, then nodes that mutate state such as AdamW), computes
// each value's lifetime, and places every intermediate value in one arena so that buffers
// whose lifetimes do not overlap share memory. run() can then be called any number of
// times with new inputs and makes no new allocations after the first.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "gw/graph.h"
#include "gw/op_table.h"
#include "gw/tensor.h"

namespace gw {

/// Tensors for the Input leaves of a run.
using Feeds = std::unordered_map<const Node*, Tensor>;

/// Where each value and each kernel workspace lives during a run.
struct MemoryPlan {
  /// Offset of each non-leaf, non-view node's buffer in the arena, by node id (−1: none).
  std::vector<int64_t> offset;
  /// Bytes of each node's buffer by node id (0 for leaves and views).
  std::vector<int64_t> size;
  /// Offset of each node's kernel workspace in the arena, by node id (−1: none).
  std::vector<int64_t> workspace_offset;
  /// Bytes of each node's kernel workspace (OpDef::workspace), by node id (0: none).
  std::vector<int64_t> workspace_size;
  /// Size of the arena holding every intermediate value and kernel workspace.
  int64_t arena_bytes = 0;
  /// Sum of the sizes if nothing were reused (what a plan without liveness would need).
  int64_t unplanned_bytes = 0;
  /// Bytes the executor predicts the allocator will see in use at the peak of a run, on
  /// top of what was already allocated (the arena; leaves are not counted).
  int64_t predicted_peak_bytes = 0;
};

/// Watches a run node by node: the executor calls before() and after() around every kernel
/// it launches (views launch none). Profilers and tracers implement it (gw/op_profile.h).
class NodeObserver {
 public:
  /// Observers are deleted through this interface.
  virtual ~NodeObserver() = default;
  /// Called just before `node`'s kernel is launched.
  virtual void before(const Node& node) = 0;
  /// Called just after `node`'s kernel returned (on a GPU the kernel may still be queued).
  virtual void after(const Node& node) = 0;
};

/// Options of an Executor.
struct ExecutorOptions {
  Communicator* communicator = nullptr;  ///< for AllReduce nodes
};

/// Runs the part of a graph that the outputs need.
class Executor {
 public:
  /// Plans the run of `outputs` (and of every node that mutates state reachable from them).
  Executor(Graph& graph, std::vector<Node*> outputs, ExecutorOptions options = {});
  /// Releases the arena.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Runs once. Every Input the outputs depend on must be in `feeds` with its shape and
  /// dtype. Returns the outputs as views of the arena: valid until the next run (clone() to
  /// keep them). A shapes-only graph (GraphMode) is planned but refuses to run.
  std::vector<Tensor> run(const Feeds& feeds = {});
  /// The nodes in the order they run.
  const std::vector<Node*>& schedule() const { return schedule_; }
  /// The memory plan made at construction.
  const MemoryPlan& plan() const { return plan_; }
  /// Number of node evaluations so far (kernels launched), for the labs' counting tests.
  int64_t evaluations() const { return evaluations_; }
  /// Number of completed run() calls so far: the passes a Jacobian made, say.
  int64_t runs() const { return runs_; }
  /// Watches every kernel launch of the following runs (nullptr: none). Not owned.
  void set_observer(NodeObserver* observer) { observer_ = observer; }
  /// The graph this executor runs.
  Graph& graph() const { return graph_; }

 private:
  Graph& graph_;
  std::vector<Node*> outputs_;
  std::vector<Node*> schedule_;
  MemoryPlan plan_;
  bool needs_arena_ = false;  // some scheduled node writes into the arena
  ExecutorOptions options_;
  NodeObserver* observer_ = nullptr;
  std::shared_ptr<Buffer> arena_;
  std::vector<Tensor> values_;      // by node id, views of the arena or of leaf tensors
  std::vector<Tensor> workspaces_;  // by node id, views of the arena (undefined: none)
  int64_t evaluations_ = 0;
  int64_t runs_ = 0;
};

/// Runs a small graph at once (eager feel for tests and debugging). Returns fresh tensors.
Tensor eval(Node* output, const Feeds& feeds = {});
/// Several outputs at once.
std::vector<Tensor> eval(const std::vector<Node*>& outputs, const Feeds& feeds = {});
/// Number of node evaluations made by eval() and every Executor since the program started.
int64_t global_evaluation_count();

}  // namespace gw
