// test_mpi.cpp — the MPI backend, run by ctest under `mpirun -np 2` (label mpi): lab 09's ring
// over MPI send/recv gives the same sums as MPI_Allreduce at 0 to 2^20 elements; a size
// mismatch is a gw::Error, not a hang; two MPI ranks with batch b train to the same weights
// as one rank with batch 2b.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gw/ddp.h"
#include "gw/error.h"
#include "gw/mpi_communicator.h"
#include "gw/trainer.h"
#include "model_testing.h"

namespace gw {
namespace {

TEST(Mpi, RingAllReduceEqualsMpiAllreduce) {
  Communicator& world = mpi_world();
  ASSERT_EQ(world.size(), 2) << "run under mpirun -np 2";
  for (int64_t count : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{1} << 20}) {
    for (bool average : {false, true}) {
      std::vector<float> ring(static_cast<size_t>(count)), backend;
      for (int64_t i = 0; i < count; ++i) ring[i] = static_cast<float>((world.rank() * 5 + i) % 11 - 5);
      backend = ring;
      ring_all_reduce(world, ring.data(), count, DType::f32, average);
      world.all_reduce(backend.data(), count, DType::f32, average);
      EXPECT_EQ(ring, backend) << count << " elements, average " << average;
    }
  }
  std::vector<uint16_t> half(5, float_to_bf16_bits(1.5f));
  world.all_reduce(half.data(), 5, DType::bf16, false);  // no MPI type: the ring
  EXPECT_EQ(bf16_bits_to_float(half[4]), 3.0f);
}

TEST(Mpi, ASizeMismatchIsAnError) {
  Communicator& world = mpi_world();
  char buf[8] = {};
  if (world.rank() == 0) {
    world.send(buf, 4, 1);
  } else {
    try {
      world.recv(buf, 8, 0);
      ADD_FAILURE() << "a recv of 8 bytes matched with a send of 4 must throw";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("expected 8 bytes from rank 0"), std::string::npos)
          << e.what();
    }
    world.recv(buf, 4, 0);  // the message is still there
  }
  double sync = 1;
  world.all_reduce(&sync, 1, DType::f64, false);
  EXPECT_EQ(sync, 2.0);
}

TEST(Mpi, TwoRanksOfBatchBEqualOneRankOfBatch2B) {
  Communicator& world = mpi_world();
  testing::TempDir dir;
  TrainConfig c = testing::tiny_config(dir);
  c.batch_size = 2;
  c.bucket_mb = 0.004;
  Trainer ddp(c, TextDataset::from_file(c.data), &world);
  TrainConfig big = c;
  big.batch_size = 4;
  Trainer one(big, TextDataset::from_file(big.data));
  for (int s = 0; s < 3; ++s) {
    const StepStats a = ddp.train_step(), b = one.train_step();
    EXPECT_NEAR(a.loss, b.loss, 1e-5 * b.loss) << "step " << s;
  }
  double diff2 = 0, norm2 = 0;  // ‖Δθ‖/‖θ‖ over every weight
  for (size_t k = 0; k < one.model().params.size(); ++k) {
    const std::vector<double> x = ddp.model().params[k].node->value.to_doubles();
    const std::vector<double> y = one.model().params[k].node->value.to_doubles();
    for (size_t i = 0; i < x.size(); ++i) {
      diff2 += (x[i] - y[i]) * (x[i] - y[i]);
      norm2 += y[i] * y[i];
    }
  }
  const double rel = std::sqrt(diff2 / norm2);
  if (world.rank() == 0)
    std::cout << "2 MPI ranks x batch 2 vs 1 rank x batch 4 after 3 steps: relative parameter "
                 "difference "
              << rel << "\n";
  EXPECT_LE(rel, 1e-5);
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  gw::mpi_world();  // MPI_Init before any test
  return RUN_ALL_TESTS();
}
