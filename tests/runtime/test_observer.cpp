// test_observer.cpp — the executor's per-node hook: an observer sees every kernel launch in
// schedule order, and the op profiler built on it counts calls and FLOPs of a real run.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gw/executor.h"
#include "gw/op_profile.h"
#include "gw/ops.h"
#include "runtime_graphs.h"
#include "testing.h"

namespace gw {
namespace {

class Recorder : public NodeObserver {
 public:
  void before(const Node& node) override { seen.push_back("+" + std::string(node.def().name)); }
  void after(const Node& node) override { seen.push_back("-" + std::string(node.def().name)); }
  std::vector<std::string> seen;
};

TEST(NodeObserver, SeesEveryKernelLaunchInScheduleOrderAndNoView) {
  testing::TestGraph t = testing::mlp_graph();
  Executor ex(*t.graph, t.outputs);
  Recorder r;
  ex.set_observer(&r);
  ex.run(testing::random_feeds(t, 3));
  std::vector<std::string> expected;
  for (const Node* n : ex.schedule()) {
    if (n->def().is_view) continue;
    expected.push_back("+" + std::string(n->def().name));
    expected.push_back("-" + std::string(n->def().name));
  }
  EXPECT_EQ(r.seen, expected);
  ex.set_observer(nullptr);
  r.seen.clear();
  ex.run(testing::random_feeds(t, 3));
  EXPECT_TRUE(r.seen.empty()) << "a removed observer sees nothing";
}

TEST(OpProfile, CountsEveryLaunchAndItsFlopsOnTheExecutorsOwnRun) {
  testing::TestGraph t = testing::mlp_graph();
  Executor ex(*t.graph, t.outputs);
  const std::vector<OpProfileEntry> entries = profile_ops(ex, testing::random_feeds(t, 4));
  int64_t calls = 0, launches = 0;
  double flops = 0, expected_flops = 0;
  for (const OpProfileEntry& e : entries) {
    calls += e.calls;
    flops += e.flops;
    EXPECT_GE(e.seconds, 0.0) << e.op;
  }
  for (const Node* n : ex.schedule()) {
    if (n->def().is_view) continue;
    ++launches;
    expected_flops += n->def().flops(*n);
  }
  EXPECT_EQ(calls, launches) << "one timed run: every kernel once";
  EXPECT_DOUBLE_EQ(flops, expected_flops);
  EXPECT_EQ(ex.runs(), 2) << "a warm-up run, then the timed one";
  EXPECT_NE(op_profile_table(entries).find("total"), std::string::npos);
}

}  // namespace
}  // namespace gw
