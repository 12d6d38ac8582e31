// test_lab09.cpp — public tests of lab 09 (distributed data parallel): the ring all-reduce on
// 1 to 8 thread ranks at 0, 1, 7, 1000 and 2^20 elements, sum and mean, f32 and bf16; the
// bytes it puts on every link (2(n − 1)/n·S per rank); sizes that do not match are an error,
// not a hang; buckets in reverse parameter order and their sizes; a bucketed all-reduce sends
// one ring per bucket.
//
// Graded, each check also sends what it checked to the grader (labs/common/observe.h); run by
// hand, the observations do nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gw/ddp.h"
#include "gw/dtype.h"
#include "gw/error.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/thread_group.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

// A rank's communicator with the backend's own all_reduce taken away: the ring must be
// built from send and recv.
class SendRecvOnly : public Communicator {
 public:
  explicit SendRecvOnly(Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  void send(const void* data, size_t bytes, int peer) override { inner_.send(data, bytes, peer); }
  void recv(void* data, size_t bytes, int peer) override { inner_.recv(data, bytes, peer); }
  void all_reduce(void*, int64_t, DType, bool) override {
    throw Error("lab 09: ring_all_reduce must use send and recv only, not comm.all_reduce");
  }

 private:
  Communicator& inner_;
};

// Rank r's input: small integers, so that every sum is exact in f32 and in bf16.
float input_value(int r, int64_t i) { return static_cast<float>((r * 7 + i * 3) % 9 - 4); }

// Runs ring_all_reduce on `ranks` thread ranks over `count` f32 elements; returns each rank's
// result.
std::vector<std::vector<float>> ring_f32(ThreadGroup& group, int64_t count, bool average) {
  const int n = group.size();
  std::vector<std::vector<float>> data(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r)
    for (int64_t i = 0; i < count; ++i) data[r].push_back(input_value(r, i));
  group.run([&](Communicator& c) {
    SendRecvOnly comm(c);
    ring_all_reduce(comm, data[static_cast<size_t>(c.rank())].data(), count, DType::f32, average);
  });
  return data;
}

// Observes rank 0's result (every element up to 1000, else 1000 evenly spaced ones and the
// sum of all) and the largest difference between ranks (all must hold the same bits).
void observe_result(const std::string& what, const std::vector<std::vector<float>>& data,
                    double tol) {
  std::vector<double> shown;
  const size_t count = data[0].size();
  const size_t step = count <= 1000 ? 1 : count / 1000;
  double sum = 0;
  for (size_t i = 0; i < count; ++i) {
    sum += data[0][i];
    if (i % step == 0 && shown.size() < 1000) shown.push_back(data[0][i]);
  }
  observe::values(what + ": rank 0's elements", shown, 2 * tol, 2 * tol);
  if (count > 1000) observe::value(what + ": sum of rank 0's elements", sum, 2 * tol * count, 2 * tol);
  double spread = 0;
  for (const auto& d : data)
    for (size_t i = 0; i < count; ++i) spread = std::max(spread, std::abs(double(d[i]) - data[0][i]));
  observe::value(what + ": largest difference between ranks", spread);
}

TEST(RingAllReduce, SumsOnOneToEightRanksAtEverySize) {
  for (int n = 1; n <= 8; ++n) {
    ThreadGroup group(n);
    group.set_timeout(20);
    for (int64_t count : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{1} << 20}) {
      const std::string what = std::to_string(n) + " ranks, " + std::to_string(count) + " elements";
      std::vector<std::vector<float>> data;
      try {
        data = ring_f32(group, count, /*average=*/false);
      } catch (const std::exception& e) {
        observe::error(what, e);
        FAIL() << what << ": " << e.what();
      }
      observe_result(what, data, 0);
      for (int r = 0; r < n; ++r)
        for (int64_t i = 0; i < count; ++i) {
          float expected = 0;
          for (int q = 0; q < n; ++q) expected += input_value(q, i);
          ASSERT_EQ(data[r][i], expected) << what << ": rank " << r << ", element " << i;
        }
    }
  }
}

TEST(RingAllReduce, AveragesAndEveryRankHoldsTheSameBits) {
  for (int n : {2, 3, 5, 8}) {
    ThreadGroup group(n);
    const std::string what = std::to_string(n) + " ranks, mean of 1000";
    const std::vector<std::vector<float>> data = ring_f32(group, 1000, /*average=*/true);
    observe_result(what, data, 1e-6);
    for (int r = 0; r < n; ++r)
      for (int64_t i = 0; i < 1000; ++i) {
        double expected = 0;
        for (int q = 0; q < n; ++q) expected += input_value(q, i);
        expected /= n;
        ASSERT_NEAR(data[r][i], expected, 1e-6) << what << ": rank " << r << ", element " << i;
        ASSERT_EQ(data[r][i], data[0][i]) << what << ": ranks " << r << " and 0 differ";
      }
  }
}

TEST(RingAllReduce, Bf16SumsAndMeans) {
  for (int n : {1, 2, 4, 7}) {
    for (bool average : {false, true}) {
      ThreadGroup group(n);
      const int64_t count = 37;
      std::vector<std::vector<uint16_t>> data(static_cast<size_t>(n));
      for (int r = 0; r < n; ++r)
        for (int64_t i = 0; i < count; ++i) data[r].push_back(float_to_bf16_bits(input_value(r, i)));
      group.run([&](Communicator& c) {
        SendRecvOnly comm(c);
        ring_all_reduce(comm, data[static_cast<size_t>(c.rank())].data(), count, DType::bf16,
                        average);
      });
      const std::string what = std::to_string(n) + " ranks, bf16 " + (average ? "mean" : "sum");
      std::vector<double> got;
      for (uint16_t b : data[0]) got.push_back(bf16_bits_to_float(b));
      observe::values(what, got, 0, 2 * 0.0079);  // bf16 keeps 8 significant bits
      for (int64_t i = 0; i < count; ++i) {
        double expected = 0;
        for (int q = 0; q < n; ++q) expected += input_value(q, i);
        if (average) expected /= n;
        EXPECT_NEAR(got[i], expected, 0.0079 * std::abs(expected)) << what << ", element " << i;
        for (int r = 1; r < n; ++r) EXPECT_EQ(data[r][i], data[0][i]) << what << ", rank " << r;
      }
    }
  }
}

// Bytes rank r sends in a ring all-reduce of `count` elements of `element` bytes over n
// ranks: every chunk but (r + 1) mod n in the reduce-scatter, every chunk but (r + 2) mod n
// in the all-gather. When n divides count that is 2(n − 1)/n·S.
int64_t ring_bytes(int64_t count, int n, int r, int64_t element) {
  if (n == 1) return 0;
  return element * (2 * count - ring_chunk(count, n, (r + 1) % n).count -
                    ring_chunk(count, n, (r + 2) % n).count);
}

// The bytes on every link, row by row (from · n + to).
std::vector<int64_t> link_bytes(const ThreadGroup& group) {
  std::vector<int64_t> out;
  for (int from = 0; from < group.size(); ++from)
    for (int to = 0; to < group.size(); ++to) out.push_back(group.bytes_sent(from, to));
  return out;
}

TEST(RingAllReduce, EachRankSendsTwoTimesNMinusOneOverNOfTheData) {
  for (int n = 2; n <= 8; ++n) {
    ThreadGroup group(n);
    const int64_t count = 840 * 3;  // divisible by 1 … 8
    const int64_t S = count * 4;
    ring_f32(group, count, false);
    observe::indices(std::to_string(n) + " ranks: bytes per link", link_bytes(group));
    for (int r = 0; r < n; ++r) {
      EXPECT_EQ(group.bytes_sent_by(r), 2 * (n - 1) * S / n)
          << n << " ranks: rank " << r << " must send 2(n − 1)/n·S bytes";
      EXPECT_EQ(group.bytes_sent(r, (r + 1) % n), group.bytes_sent_by(r))
          << n << " ranks: rank " << r << " sends only to its right neighbour " << (r + 1) % n;
    }
  }
}

TEST(RingAllReduce, UnevenChunksDifferByOneElementAndTheTotalIsExact) {
  for (int n : {3, 7}) {
    for (int64_t count : {int64_t{2}, int64_t{1000}}) {
      ThreadGroup group(n);
      ring_f32(group, count, false);
      const std::string what = std::to_string(n) + " ranks, " + std::to_string(count) + " elements";
      observe::indices(what + ": bytes per link", link_bytes(group));
      int64_t total = 0;
      for (int r = 0; r < n; ++r) {
        total += group.bytes_sent_by(r);
        EXPECT_EQ(group.bytes_sent_by(r), ring_bytes(count, n, r, 4)) << what << ", rank " << r;
      }
      EXPECT_EQ(total, 2 * (n - 1) * count * 4) << what << ": 2(n − 1)·S in all";
    }
  }
}

TEST(RingAllReduce, SizesThatDoNotMatchAreAnErrorNotAHang) {
  ThreadGroup group(3);
  group.set_timeout(10);
  std::vector<std::vector<float>> data(3, std::vector<float>(1001, 1.0f));
  EXPECT_TRUE(labs::throws(
      [&] {
        group.run([&](Communicator& c) {
          SendRecvOnly comm(c);
          const int64_t count = c.rank() == 1 ? 1001 : 1000;  // rank 1 disagrees
          ring_all_reduce(comm, data[static_cast<size_t>(c.rank())].data(), count, DType::f32,
                          false);
        });
      },
      "bytes", "a recv of another size than its send must fail (the message says how many bytes)"));
}

TEST(Buckets, ReverseParameterOrderWithinTheByteSize) {
  const std::vector<int64_t> bytes = {400, 100, 300, 200, 600, 50};
  const std::vector<Bucket> buckets = make_buckets(bytes, 500);
  observe::count("buckets", static_cast<int64_t>(buckets.size()));
  ASSERT_EQ(buckets.size(), 4u) << "[5] 50 B, [4] 600 B (alone: larger than 500), [3, 2] 500 B, "
                                   "[1, 0] 500 B";
  const std::vector<std::vector<int64_t>> params = {{5}, {4}, {3, 2}, {1, 0}};
  const std::vector<int64_t> sizes = {50, 600, 500, 500};
  for (size_t b = 0; b < 4; ++b) {
    observe::indices("bucket " + std::to_string(b) + " parameters", buckets[b].params);
    observe::count("bucket " + std::to_string(b) + " bytes", buckets[b].bytes);
    EXPECT_EQ(buckets[b].params, params[b]) << "bucket " << b;
    EXPECT_EQ(buckets[b].bytes, sizes[b]) << "bucket " << b;
  }
}

TEST(Buckets, OneBucketWhenEverythingFitsAndOneEachWhenNothingDoes) {
  const std::vector<int64_t> bytes = {8, 16, 24};
  const std::vector<Bucket> all = make_buckets(bytes, kDefaultBucketBytes);
  observe::count("buckets at 25 MiB", static_cast<int64_t>(all.size()));
  ASSERT_EQ(all.size(), 1u);
  observe::indices("the one bucket", all[0].params);
  EXPECT_EQ(all[0].params, (std::vector<int64_t>{2, 1, 0}));
  const std::vector<Bucket> each = make_buckets(bytes, 1);
  observe::count("buckets at 1 byte", static_cast<int64_t>(each.size()));
  ASSERT_EQ(each.size(), 3u);
  for (size_t b = 0; b < 3; ++b) {
    observe::indices("bucket " + std::to_string(b), each[b].params);
    EXPECT_EQ(each[b].params, (std::vector<int64_t>{2 - static_cast<int64_t>(b)}));
  }
  observe::count("buckets of no parameters", static_cast<int64_t>(make_buckets({}, 100).size()));
  EXPECT_TRUE(make_buckets({}, 100).empty());
  EXPECT_TRUE(labs::throws([&] { make_buckets(bytes, 0); }, "bucket size",
                           "a bucket size of 0 bytes cannot hold anything"));
}

TEST(Buckets, EachBucketIsOneFlatRingAllReduce) {
  const int n = 3;
  const std::vector<Shape> shapes = {{4, 6}, {6}, {6, 3}, {3}};  // 96, 24, 72, 12 bytes
  ThreadGroup group(n);
  std::vector<std::vector<Tensor>> grads(n);
  for (int r = 0; r < n; ++r)
    for (size_t k = 0; k < shapes.size(); ++k)
      grads[r].push_back(labs::uniform(shapes[k], 100 * r + k, -1, 1, DType::f32));
  std::vector<int64_t> bytes;
  for (const Tensor& g : grads[0]) bytes.push_back(static_cast<int64_t>(g.nbytes()));
  const std::vector<Bucket> buckets = make_buckets(bytes, 96);  // [3, 2] 84 B, [1] 24 B, [0] 96 B
  group.run([&](Communicator& c) {
    SendRecvOnly comm(c);
    all_reduce_buckets(comm, grads[static_cast<size_t>(c.rank())], buckets, /*average=*/true);
  });
  for (size_t k = 0; k < shapes.size(); ++k) {
    std::vector<double> mean(static_cast<size_t>(numel(shapes[k])), 0.0);
    for (int r = 0; r < n; ++r) {
      const std::vector<double> v = labs::uniform(shapes[k], 100 * r + k, -1, 1, DType::f32).to_doubles();
      for (size_t i = 0; i < v.size(); ++i) mean[i] += v[i] / n;
    }
    const Tensor expected = Tensor::from_values(shapes[k], mean, DType::f64);
    for (int r = 0; r < n; ++r)
      EXPECT_TRUE(labs::close("rank " + std::to_string(r) + " gradient " + std::to_string(k),
                              grads[r][k], expected, 1e-6, 1e-6));
  }
  // One ring per bucket: 2(n − 1) messages per rank per bucket, and the bytes of each.
  int64_t per_rank = 0;
  for (const Bucket& b : buckets) per_rank += 2 * (n - 1) * b.bytes / n;
  for (int r = 0; r < n; ++r) {
    observe::count("rank " + std::to_string(r) + " messages", group.messages_sent_by(r));
    observe::count("rank " + std::to_string(r) + " bytes", group.bytes_sent_by(r));
    EXPECT_EQ(group.messages_sent_by(r), 2 * (n - 1) * static_cast<int64_t>(buckets.size()))
        << "rank " << r << ": one flat all-reduce per bucket, not one per gradient";
    EXPECT_EQ(group.bytes_sent_by(r), per_rank) << "rank " << r;
  }
}

// ---- overlap: which node completes which bucket ---------------------------------------------

// Runs `exec` once with a BucketReadiness watching it: for each bucket, the name of the node
// after which node_done returned it ("-" if never), and how many times it was returned.
struct ReadyLog {
  std::vector<std::string> after;
  std::vector<int64_t> times;
};
class ReadyWatcher : public NodeObserver {
 public:
  ReadyWatcher(BucketReadiness& r, size_t buckets) : r_(r) {
    log.after.assign(buckets, "-");
    log.times.assign(buckets, 0);
  }
  void before(const Node&) override {}
  void after(const Node& node) override {
    for (size_t b : r_.node_done(node)) {
      log.after.at(b) = node.name;
      ++log.times.at(b);
    }
  }
  ReadyLog log;

 private:
  BucketReadiness& r_;
};

TEST(Overlap, EachBucketIsReadyAfterTheLastNodeThatWritesItsGradients) {
  // A stand-in for a backward pass: a = exp(x) is parameter 2's gradient, b = 2a is
  // parameter 1's through a reshape (a view: b writes it), c = b + x is parameter 0's, and
  // parameter 3's gradient is a constant (no node writes it).
  Graph g;
  Node* x = g.input("x", {4, 4});
  Node* a = exp(x);
  a->name = "a";
  Node* b = mul(a, 2.0);
  b->name = "b";
  Node* c = add(b, x);
  c->name = "c";
  Node* zero = g.constant(Tensor::zeros({4, 4}));
  const std::vector<Node*> grads = {c, reshape(b, {16}), a, zero};
  // Three buckets: {3, 2}, {1, 0}, and {3} again alone (BucketReadiness takes any buckets).
  const std::vector<Bucket> buckets = {{{3, 2}, 128}, {{1, 0}, 128}, {{3}, 64}};
  BucketReadiness ready(buckets, grads);
  std::vector<int64_t> writers;
  for (size_t k = 0; k < buckets.size(); ++k) writers.push_back(ready.writers(k));
  observe::indices("writers per bucket", writers);
  EXPECT_EQ(writers, (std::vector<int64_t>{1, 2, 0}));

  Executor exec(g, {c, grads[1], a});
  for (int step = 0; step < 2; ++step) {  // reset() makes the second step like the first
    ReadyWatcher watch(ready, buckets.size());
    exec.set_observer(&watch);
    exec.run({{x, Tensor::full({4, 4}, 0.5)}});
    exec.set_observer(nullptr);
    ready.reset();
    const std::string label = "step " + std::to_string(step + 1) + ": ";
    std::string order;
    for (const std::string& n : watch.log.after) order += n;
    observe::text(label + "the node completing each bucket", order);
    EXPECT_EQ(watch.log.after, (std::vector<std::string>{"a", "c", "-"})) << label;
    observe::indices(label + "times each bucket was returned", watch.log.times);
    EXPECT_EQ(watch.log.times, (std::vector<int64_t>{1, 1, 0})) << label;
  }
}

TEST(Overlap, ABucketWithOneWriterForSeveralGradientsCountsItOnce) {
  Graph g;
  Node* x = g.input("x", {3});
  Node* y = exp(x);
  y->name = "y";
  const std::vector<Node*> grads = {y, y, reshape(y, {1, 3})};
  const std::vector<Bucket> buckets = {{{2, 1, 0}, 36}};
  BucketReadiness ready(buckets, grads);
  observe::count("writers", ready.writers(0));
  EXPECT_EQ(ready.writers(0), 1);
  const std::vector<size_t> done = ready.node_done(*y);
  observe::indices("buckets completed by y", std::vector<int64_t>(done.begin(), done.end()));
  EXPECT_EQ(done, std::vector<size_t>{0});
  EXPECT_TRUE(ready.node_done(*y).empty()) << "a bucket is returned once per step";
  EXPECT_TRUE(ready.node_done(*x).empty()) << "x writes no gradient";
}

}  // namespace
}  // namespace gw
