// test_comm.cpp — AllReduce, the collective that data-parallel training puts into the graph:
// its kernel hands the reduction to the run's communicator, and one rank is a copy.
#include <gtest/gtest.h>

#include <vector>

#include "gw/communicator.h"
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

// Pretends to be rank 0 of 2 whose peer holds the same data: sum doubles, mean keeps.
class TwinCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void send(const void*, size_t, int) override {}
  void recv(void*, size_t, int) override {}
  void all_reduce(void* data, int64_t count, DType dtype, bool average) override {
    ++calls;
    seen_count = count;
    seen_dtype = dtype;
    if (average) return;
    float* f = static_cast<float*>(data);
    for (int64_t i = 0; i < count; ++i) f[i] *= 2;
  }
  int calls = 0;
  int64_t seen_count = 0;
  DType seen_dtype = DType::f64;
};

TEST(AllReduce, OneRankCopiesAndACommunicatorReducesTheOutput) {
  Graph g;
  Tensor x = random_tensor({3, 5}, DType::f32, 53);
  Node* sum = all_reduce(g.constant(x), false);
  EXPECT_TRUE(all_close(naive_run(sum), x, 0, 0)) << "no communicator: one rank, a copy";

  TwinCommunicator comm;
  RunContext ctx;
  ctx.communicator = &comm;
  Tensor out = Tensor::empty({3, 5});
  std::vector<Tensor> ins = {x};
  op_def(Op::AllReduce).cpu(KernelArgs{*sum, ins, out, nullptr, ctx});
  EXPECT_EQ(comm.calls, 1);
  EXPECT_EQ(comm.seen_count, 15);
  EXPECT_EQ(comm.seen_dtype, DType::f32);
  const std::vector<double> xv = x.to_doubles(), ov = out.to_doubles();
  for (size_t i = 0; i < xv.size(); ++i) ASSERT_FLOAT_EQ(ov[i], 2 * xv[i]);
  EXPECT_TRUE(all_close(x, Tensor::from_values({3, 5}, xv), 0, 0)) << "input left untouched";
}

}  // namespace
