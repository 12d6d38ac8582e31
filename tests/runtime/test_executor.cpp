// test_executor.cpp — the Executor computes what the naive evaluator computes, run after run,
// without allocating after the first run; eval() hands back tensors of their own; bad feeds
// give clear gw::Errors.
#include <gtest/gtest.h>

#include "gw/allocator.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "runtime_graphs.h"
#include "testing.h"

namespace gw {
namespace {

using testing::all_close;
using testing::naive_run;
using testing::random_feeds;
using testing::random_tensor;
using testing::TestGraph;

// Runs `t` once through an Executor and compares every output with naive_run.
void expect_matches_naive(const TestGraph& t, uint64_t seed) {
  Executor ex(*t.graph, t.outputs);
  const Feeds feeds = random_feeds(t, seed);
  const std::vector<Tensor> got = ex.run(feeds);
  ASSERT_EQ(got.size(), t.outputs.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_TRUE(all_close(got[i], naive_run(t.outputs[i], feeds), 1e-6, 1e-5))
        << "output " << i << ": " << t.outputs[i]->str();
}

TEST(Executor, MlpOutputsEqualNaiveRun) { expect_matches_naive(testing::mlp_graph(), 1); }

TEST(Executor, SharedSubexpressionsEqualNaiveRun) {
  expect_matches_naive(testing::shared_subexpression_graph(), 2);
}

TEST(Executor, ReshapeViewsOfInputsAndIntermediatesEqualNaiveRun) {
  expect_matches_naive(testing::view_graph(), 3);
}

TEST(Executor, OutputReadByLaterNodesKeepsItsValue) {
  expect_matches_naive(testing::output_reused_graph(), 4);
}

TEST(Executor, AttentionWithWorkspaceEqualsNaiveRun) {
  expect_matches_naive(testing::attention_graph(), 5);
}

TEST(Executor, ReshapeOfAnInputAliasesTheFedTensor) {
  TestGraph t = testing::view_graph();
  Executor ex(*t.graph, t.outputs);
  const Feeds feeds = random_feeds(t, 6);
  const std::vector<Tensor> got = ex.run(feeds);
  const Tensor& fed = feeds.at(t.inputs[0]);
  EXPECT_EQ(got[2].raw(), fed.raw()) << "reshape of an Input should not copy";
  EXPECT_EQ(got[2].shape(), (Shape{6, 4}));
}

TEST(Executor, SameExecutorRunsFiveTimesWithNewInputsAndNoAllocationsAfterTheFirst) {
  TestGraph t = testing::mlp_graph();
  Executor ex(*t.graph, t.outputs);
  for (uint64_t run = 0; run < 5; ++run) {
    const Feeds feeds = random_feeds(t, 100 + run);  // made outside the probe
    std::vector<Tensor> got;
    int64_t allocations = 0;
    {
      MemoryProbe probe;
      got = ex.run(feeds);
      allocations = probe.allocations();
    }
    EXPECT_EQ(allocations, run == 0 ? 1 : 0)
        << "run " << run << ": only the first run allocates, and only the arena";
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(all_close(got[i], naive_run(t.outputs[i], feeds), 1e-6, 1e-5))
          << "run " << run << ", output " << t.outputs[i]->str();
  }
}

TEST(Executor, EvaluationsCountKernelsButNotViewsOrLeaves) {
  Graph g;
  Node* x = g.input("x", {2, 3});
  Node* y = reshape(exp(neg(x)), {3, 2});  // two kernels and one view
  Node* z = mul(y, 2.0);                   // a third kernel
  Executor ex(g, {z});
  const Feeds feeds{{x, random_tensor({2, 3})}};
  const int64_t global_before = global_evaluation_count();
  ex.run(feeds);
  EXPECT_EQ(ex.evaluations(), 3);
  ex.run(feeds);
  EXPECT_EQ(ex.evaluations(), 6);
  EXPECT_EQ(global_evaluation_count() - global_before, 6);
}

TEST(Executor, EvalReturnsTensorsThatOutliveTheExecutor) {
  TestGraph t = testing::shared_subexpression_graph();
  const Feeds feeds = random_feeds(t, 7);
  const Tensor first = eval(t.outputs[0], feeds);
  const Tensor second = eval(t.outputs[0], feeds);
  EXPECT_NE(first.buffer(), second.buffer()) << "each eval() returns its own copy";
  EXPECT_TRUE(all_close(first, naive_run(t.outputs[0], feeds), 1e-6, 1e-5));
  const std::vector<Tensor> both = eval(std::vector<Node*>{t.outputs[0], t.inputs[0]}, feeds);
  EXPECT_TRUE(all_close(both[1], feeds.at(t.inputs[0]), 0, 0));
  EXPECT_NE(both[1].buffer(), feeds.at(t.inputs[0]).buffer()) << "a leaf output is copied too";
}

TEST(Executor, GraphAppendedAfterPlanningStillRunsWhatWasPlanned) {
  Graph g;
  Node* x = g.input("x", {4});
  Node* y = exp(x);
  Executor ex(g, {y});
  Node* later = mul(y, 3.0);  // autodiff and optimizers append nodes like this
  const Feeds feeds{{x, random_tensor({4})}};
  const std::vector<Tensor> got = ex.run(feeds);
  EXPECT_TRUE(all_close(got[0], naive_run(y, feeds), 1e-6, 1e-6));
  EXPECT_EQ(ex.plan().offset.size(), static_cast<size_t>(later->id))
      << "the plan covers the graph as it was when the executor was built";
  EXPECT_TRUE(all_close(eval(later, feeds), naive_run(later, feeds), 1e-6, 1e-6));
}

TEST(Executor, LastRunsOutputFedBackAsInputIsReadCorrectly) {
  Graph g;
  Node* x = g.input("x", {32});
  // x is read again at the last step, after earlier steps wrote the arena bytes it sits in.
  Node* y = add(exp(mul(tanh(x), 0.5)), x);
  Executor ex(g, {y});
  Tensor state = random_tensor({32});
  Tensor expected = state.clone();
  for (int step = 0; step < 3; ++step) {
    expected = naive_run(y, {{x, expected}});
    state = ex.run({{x, state}})[0];  // views the arena that this very run writes
  }
  EXPECT_TRUE(all_close(state, expected, 1e-6, 1e-6));
}

TEST(Executor, DoesNotKeepFedTensorsAliveAfterARun) {
  TestGraph t = testing::view_graph();
  Executor ex(*t.graph, {t.outputs[0]});  // reads x through a reshape view
  std::weak_ptr<Buffer> fed_buffer;
  {
    const Feeds feeds = random_feeds(t, 8);
    fed_buffer = feeds.at(t.inputs[0]).buffer();
    ex.run(feeds);
  }
  EXPECT_TRUE(fed_buffer.expired()) << "the executor still holds last run's input";
}

// ---- errors ---------------------------------------------------------------------------------

// Expects `fn` to throw `E` whose message contains every one of `parts`.
template <typename E, typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    for (const std::string& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message \"" << e.what() << "\" should mention \"" << p << "\"";
  }
}

TEST(ExecutorErrors, MissingFeedNamesTheInputAndItsShape) {
  Graph g;
  Node* x = g.input("x", {4, 8});
  Node* w = g.input("w", {8, 2});
  Executor ex(g, {matmul(x, w)});
  const auto run = [&] { ex.run({{x, random_tensor({4, 8})}}); };
  expect_error<Error>(run, {"'w'", "not fed", "(8, 2)", "f32"});
}

TEST(ExecutorErrors, WrongShapeNamesExpectedAndGivenShapes) {
  Graph g;
  Node* x = g.input("x", {4, 8});
  Executor ex(g, {relu(x)});
  const auto run = [&] { ex.run({{x, random_tensor({4, 9})}}); };
  expect_error<ShapeError>(run, {"'x'", "(4, 8)", "(4, 9)"});
}

TEST(ExecutorErrors, WrongDtypeNamesExpectedAndGivenDtypes) {
  Graph g;
  Node* x = g.input("x", {3});
  Executor ex(g, {relu(x)});
  const auto run = [&] { ex.run({{x, random_tensor({3}, DType::f64)}}); };
  expect_error<DTypeError>(run, {"'x'", "f32", "f64"});
}

TEST(ExecutorErrors, FailedRunAllocatesNothing) {
  Graph g;
  Node* x = g.input("x", {3});
  Executor ex(g, {relu(x)});
  MemoryProbe probe;
  EXPECT_THROW(ex.run(), Error);
  EXPECT_EQ(probe.allocations(), 0) << "feeds are checked before the arena is allocated";
}

TEST(ExecutorErrors, MissingKernelNamesDeviceAndOp) {
  Graph g;
  Node* x = g.input("x", {3});
  Executor ex(g, {neg(x)});
  const Kernel saved = replace_cpu_kernel_for_testing(Op::Neg, nullptr);
  expect_error<Error>([&] { ex.run({{x, random_tensor({3})}}); }, {"no cpu kernel for neg"});
  replace_cpu_kernel_for_testing(Op::Neg, saved);
}

TEST(ExecutorErrors, OutputOfAnotherGraphIsRejected) {
  Graph g, other;
  Node* x = other.input("x", {3});
  expect_error<Error>([&] { Executor ex(g, {relu(x)}); }, {"another graph"});
}

}  // namespace
}  // namespace gw
