// test_memory_plan.cpp — the liveness memory plan: it predicts the allocator's measured peak,
// reuses memory on chains, never lets two live values share bytes, gives views no bytes of
// their own, and counts kernel workspace.
#include <gtest/gtest.h>

#include "gw/allocator.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "runtime_graphs.h"
#include "testing.h"

namespace gw {
namespace {

using testing::TestGraph;

int64_t bytes_of(const Node* n) {
  return numel(n->shape) * static_cast<int64_t>(dtype_size(n->dtype));
}

// The peak the plan predicts is the one the allocator measures during the first run.
void expect_predicted_peak_is_measured(const TestGraph& t) {
  Executor ex(*t.graph, t.outputs);
  const Feeds feeds = testing::random_feeds(t, 1);
  MemoryProbe probe;
  ex.run(feeds);
  EXPECT_GT(ex.plan().predicted_peak_bytes, 0);
  EXPECT_EQ(ex.plan().predicted_peak_bytes, probe.peak_extra_bytes())
      << "arena " << ex.plan().arena_bytes << " bytes, unplanned " << ex.plan().unplanned_bytes;
}

TEST(MemoryPlan, PredictedPeakEqualsMeasuredPeakOnMlp) {
  expect_predicted_peak_is_measured(testing::mlp_graph());
}

TEST(MemoryPlan, PredictedPeakEqualsMeasuredPeakOnChain) {
  expect_predicted_peak_is_measured(testing::chain_graph(40));
}

TEST(MemoryPlan, PredictedPeakEqualsMeasuredPeakOnViews) {
  expect_predicted_peak_is_measured(testing::view_graph());
}

TEST(MemoryPlan, PredictedPeakEqualsMeasuredPeakOnAttention) {
  expect_predicted_peak_is_measured(testing::attention_graph());
}

TEST(MemoryPlan, LongChainReusesMemory) {
  TestGraph t = testing::chain_graph(50, 1000);
  Executor ex(*t.graph, t.outputs);
  const MemoryPlan& p = ex.plan();
  EXPECT_EQ(p.unplanned_bytes, 50 * 1000 * 4) << "fifty f32 (1000) values";
  EXPECT_LT(p.arena_bytes, p.unplanned_bytes);
  // A chain holds at most its input and its output at once: two buffers, 64-byte rounded.
  EXPECT_LE(p.arena_bytes, 2 * 4032);
}

TEST(MemoryPlan, ArenaHoldsTheLargestLiveSet) {
  for (TestGraph (*make)() :
       {testing::mlp_graph, testing::shared_subexpression_graph, testing::view_graph,
        testing::output_reused_graph, testing::attention_graph}) {
    TestGraph t = make();
    Executor ex(*t.graph, t.outputs);
    const int64_t live = testing::largest_live_set(ex, t.outputs);
    EXPECT_GE(ex.plan().arena_bytes, live) << "graph of " << t.graph->size() << " nodes";
    EXPECT_LE(ex.plan().arena_bytes, ex.plan().unplanned_bytes + 64 * int64_t(t.graph->size()))
        << "never more than every buffer side by side (plus alignment)";
  }
}

TEST(MemoryPlan, ValuesLiveAtTheSameTimeNeverShareBytes) {
  for (TestGraph (*make)() :
       {testing::mlp_graph, testing::shared_subexpression_graph, testing::view_graph,
        testing::output_reused_graph, testing::attention_graph}) {
    TestGraph t = make();
    Executor ex(*t.graph, t.outputs);
    EXPECT_TRUE(testing::live_buffers_are_disjoint(ex, t.outputs))
        << "graph of " << t.graph->size() << " nodes";
  }
}

TEST(MemoryPlan, ViewsAndLeavesOwnNoBytes) {
  TestGraph t = testing::view_graph();
  Executor ex(*t.graph, t.outputs);
  for (const auto& node : t.graph->nodes()) {
    if (!node->is_leaf() && !node->def().is_view) continue;
    EXPECT_EQ(ex.plan().size[static_cast<size_t>(node->id)], 0) << node->str();
    EXPECT_EQ(ex.plan().offset[static_cast<size_t>(node->id)], -1) << node->str();
  }
}

TEST(MemoryPlan, UnplannedBytesIsTheSumOfValueAndWorkspaceSizes) {
  TestGraph t = testing::mlp_graph();
  Executor ex(*t.graph, t.outputs);
  int64_t sum = 0;
  for (const Node* n : ex.schedule())
    if (!n->def().is_view) sum += bytes_of(n);
  EXPECT_EQ(ex.plan().unplanned_bytes, sum);  // the MLP's kernels need no workspace
}

TEST(MemoryPlan, AttentionWorkspaceIsInsideThePlan) {
  Graph g;
  Node* q = g.input("q", {2, 2, 32, 8});
  Node* k = g.input("k", {2, 2, 32, 8});
  Node* v = g.input("v", {2, 2, 32, 8});
  Node* o = attention(q, k, v, /*causal=*/false);
  const int64_t workspace = static_cast<int64_t>(o->def().workspace(*o));
  ASSERT_GT(workspace, 0) << "the naive attention kernel keeps its (s, s) scores";
  Executor ex(g, {o});
  EXPECT_EQ(ex.plan().unplanned_bytes, bytes_of(o) + workspace);
  // The output and the scores are live during the same step: the arena holds both.
  EXPECT_GE(ex.plan().arena_bytes, bytes_of(o) + workspace);
  const Feeds feeds{{q, testing::random_tensor(q->shape, DType::f32, 1)},
                    {k, testing::random_tensor(k->shape, DType::f32, 2)},
                    {v, testing::random_tensor(v->shape, DType::f32, 3)}};
  MemoryProbe probe;
  const Tensor got = ex.run(feeds)[0];
  EXPECT_EQ(probe.peak_extra_bytes(), ex.plan().predicted_peak_bytes)
      << "the kernel used the planned workspace, not memory of its own";
  EXPECT_TRUE(testing::all_close(got, testing::naive_run(o, feeds), 1e-6, 1e-5));
}

TEST(MemoryPlan, WorkspaceIsFreedAfterItsStep) {
  // Two attentions one after the other: the second reuses the first one's scores.
  Graph g;
  Node* q = g.input("q", {1, 2, 32, 8});
  Node* o1 = attention(q, q, q, true);
  Node* o2 = attention(o1, o1, o1, true);
  const int64_t workspace = static_cast<int64_t>(o1->def().workspace(*o1));
  Executor ex(g, {o2});
  EXPECT_EQ(ex.plan().unplanned_bytes, 2 * bytes_of(o1) + 2 * workspace);
  EXPECT_LT(ex.plan().arena_bytes, 2 * bytes_of(o1) + 2 * workspace)
      << "the two workspaces are never live together";
}

TEST(MemoryPlan, OutputLivesToTheEnd) {
  TestGraph t = testing::output_reused_graph();
  Executor ex(*t.graph, t.outputs);
  const Node* a = t.outputs[0];
  const size_t ia = static_cast<size_t>(a->id);
  const MemoryPlan& p = ex.plan();
  for (const Node* n : ex.schedule()) {
    const size_t in = static_cast<size_t>(n->id);
    if (n == a || n->def().is_view) continue;
    const bool overlap =
        p.offset[ia] < p.offset[in] + p.size[in] && p.offset[in] < p.offset[ia] + p.size[ia];
    EXPECT_FALSE(overlap) << n->str() << " shares bytes with the output " << a->str();
  }
}

}  // namespace
}  // namespace gw
