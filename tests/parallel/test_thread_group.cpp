// test_thread_group.cpp — the threads communicator: point-to-point messages arrive whole and
// in order, every byte is counted on its link, a size mismatch or a failing rank is a clear
// error rather than a hang (a rank that returned without sending, a rank stuck past the
// timeout), the α–β model slows a link, and the group's own all-reduce sums or averages every
// dtype on 1 to 8 ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "gw/error.h"
#include "gw/thread_group.h"

namespace gw {
namespace {

TEST(ThreadGroup, MessagesArriveWholeAndInOrderAndAreCounted) {
  ThreadGroup group(2);
  std::vector<int> received;
  group.run([&](Communicator& c) {
    if (c.rank() == 0) {
      for (int i = 0; i < 3; ++i) c.send(&i, sizeof i, 1);
    } else {
      for (int i = 0; i < 3; ++i) {
        int v = -1;
        c.recv(&v, sizeof v, 0);
        received.push_back(v);
      }
    }
  });
  EXPECT_EQ(received, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(group.bytes_sent(0, 1), 3 * static_cast<int64_t>(sizeof(int)));
  EXPECT_EQ(group.bytes_sent(1, 0), 0);
  EXPECT_EQ(group.messages_sent_by(0), 3);
  group.reset_counters();
  EXPECT_EQ(group.bytes_sent_by(0), 0);
}

TEST(ThreadGroup, ASizeMismatchIsAnErrorNamingBothSizes) {
  ThreadGroup group(2);
  try {
    group.run([](Communicator& c) {
      char buf[8] = {};
      if (c.rank() == 0) c.send(buf, 4, 1);
      else c.recv(buf, 8, 0);
    });
    FAIL() << "a recv of 8 bytes matched with a send of 4 must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected 8 bytes from rank 0"), std::string::npos)
        << e.what();
  }
}

TEST(ThreadGroup, AFailingRankStopsTheRanksWaitingForIt) {
  ThreadGroup group(3);
  EXPECT_THROW(group.run([](Communicator& c) {
                 if (c.rank() == 0) throw Error("rank 0 failed");
                 char b = 0;
                 c.recv(&b, 1, 0);  // would wait forever without the group being closed
               }),
               Error);
  // The group is usable again afterwards.
  group.run([](Communicator& c) {
    char b = 7;
    if (c.rank() == 1) c.send(&b, 1, 2);
    if (c.rank() == 2) c.recv(&b, 1, 1);
  });
}

TEST(ThreadGroup, ARankThatReturnsWithoutSendingIsAnErrorAtOnce) {
  ThreadGroup group(2);  // default timeout 30 s: the error must come long before it
  const auto t0 = std::chrono::steady_clock::now();
  try {
    group.run([](Communicator& c) {
      char b = 0;
      if (c.rank() == 1) c.recv(&b, 1, 0);  // rank 0 returns at once: a dead peer
    });
    FAIL() << "a recv from a rank that returned must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("finished without sending"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

TEST(ThreadGroup, AStuckRankEndsTheWaitAfterTheTimeout) {
  ThreadGroup group(2);
  group.set_timeout(0.2);
  try {
    group.run([](Communicator& c) {
      char b = 0;
      if (c.rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(600));
      else c.recv(&b, 1, 0);
    });
    FAIL() << "a recv that waits past the timeout must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("timed out after 0.2 s"), std::string::npos) << e.what();
  }
  EXPECT_THROW(group.set_timeout(0), Error);
}

TEST(ThreadGroup, TheFirstFailureIsTheOneReported) {
  ThreadGroup group(3);
  try {
    group.run([](Communicator& c) {
      char b = 0;
      if (c.rank() == 2) throw Error("rank 2 broke");
      c.recv(&b, 1, 2);  // ranks 0 and 1 fail only because rank 2 did
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "rank 2 broke");
  }
}

TEST(ThreadGroup, SendingToItselfOrOutsideTheGroupIsRefused) {
  ThreadGroup group(2);
  char b = 0;
  EXPECT_THROW(group.rank(0).send(&b, 1, 0), Error);
  EXPECT_THROW(group.rank(0).send(&b, 1, 2), Error);
  EXPECT_THROW(ThreadGroup(0), Error);
}

TEST(ThreadGroup, TheAlphaBetaModelMakesALinkSlow) {
  ThreadGroup group(2, LinkModel{0.02, 1e6});  // 20 ms per message + 1 MB/s
  std::vector<char> data(10000);               // 10 ms at 1 MB/s
  const auto t0 = std::chrono::steady_clock::now();
  group.run([&](Communicator& c) {
    if (c.rank() == 0) c.send(data.data(), data.size(), 1);
    else c.recv(data.data(), data.size(), 0);
  });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 0.029) << "α + b/β = 30 ms";
}

TEST(ThreadGroup, AllReduceSumsAndAveragesOnOneToEightRanks) {
  for (int n = 1; n <= 8; ++n) {
    ThreadGroup group(n);
    std::vector<std::vector<float>> data(static_cast<size_t>(n), std::vector<float>(5));
    for (int r = 0; r < n; ++r)
      for (int i = 0; i < 5; ++i) data[r][i] = static_cast<float>(r + i);
    group.run([&](Communicator& c) {
      c.all_reduce(data[static_cast<size_t>(c.rank())].data(), 5, DType::f32, /*average=*/true);
    });
    for (int r = 0; r < n; ++r)
      for (int i = 0; i < 5; ++i)
        EXPECT_FLOAT_EQ(data[r][i], (n - 1) / 2.0f + i) << n << " ranks, rank " << r;
  }
  ThreadGroup group(3);
  std::vector<std::vector<double>> sums(3, std::vector<double>{1.0, 2.0});
  group.run([&](Communicator& c) {
    c.all_reduce(sums[static_cast<size_t>(c.rank())].data(), 2, DType::f64, /*average=*/false);
  });
  EXPECT_EQ(sums[2], (std::vector<double>{3.0, 6.0}));
}

}  // namespace
}  // namespace gw
