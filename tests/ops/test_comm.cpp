// test_comm.cpp — AllReduce, the collective that data-parallel training puts into the graph:
// its kernel hands the reduction to the run's communicator, and one rank is a copy.
#include <gtest/gtest.h>

#include <vector>

#include "gw/executor.h"
#include "gw/thread_group.h"
#include "gw/ops.h"
#include "op_cases.h"
#include "testing.h"

using namespace gw;
using namespace gw::testing;

namespace {

// ---- the table's cases: every rule gradchecked, every kernel against its CUDA twin ----------
const OpCases kCommCases({
    GW_OP_CASE("all_reduce", return all_reduce(p({2, 3}), true);),
    GW_OP_CASE("all_reduce_sum", return all_reduce(p({4}), false);),
});

TEST(AllReduce, OneRankIsACopyAndTwoThreadRanksSumThroughTheirCommunicator) {
  Graph g;
  Tensor x = random_tensor({3, 5}, DType::f32, 53);
  EXPECT_TRUE(all_close(naive_run(all_reduce(g.constant(x), false)), x, 0, 0))
      << "no communicator: one rank, a copy";

  // Two ranks, each running the same graph on its own data through the executor.
  ThreadGroup group(2);
  std::vector<Tensor> results(2);
  group.run([&](Communicator& comm) {
    Graph local;
    Node* in = local.input("x", {3, 5});
    Node* total = all_reduce(in, /*average=*/false);
    ExecutorOptions options;
    options.communicator = &comm;
    Executor ex(local, {total}, options);
    const Tensor mine = random_tensor({3, 5}, DType::f32, 60 + comm.rank());
    results[static_cast<size_t>(comm.rank())] = ex.run({{in, mine}})[0].clone();
  });
  const std::vector<double> a = random_tensor({3, 5}, DType::f32, 60).to_doubles();
  const std::vector<double> b = random_tensor({3, 5}, DType::f32, 61).to_doubles();
  for (int r = 0; r < 2; ++r) {
    const std::vector<double> got = results[static_cast<size_t>(r)].to_doubles();
    for (size_t i = 0; i < got.size(); ++i) ASSERT_FLOAT_EQ(got[i], a[i] + b[i]) << "rank " << r;
  }
  EXPECT_GT(group.bytes_sent_by(1), 0) << "the sum went through the communicator";
}

}  // namespace
