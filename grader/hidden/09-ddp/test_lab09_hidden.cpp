// test_lab09_hidden.cpp — hidden tests of lab 09: the ring all-reduce on drawn rank counts and
// odd sizes (fewer elements than ranks, counts no rank count divides), random f32, f64 and
// bf16 data, sums and means, several calls in a row; the exact bytes on every link (a
// solution that gathers everything on rank 0 gets the right sums and the wrong bytes);
// buckets of drawn parameter sizes and byte limits against an independent oracle (forward
// order fails); bucketed all-reduce of drawn gradients. Inputs come from GW_HIDDEN_SEED
// (grader/hidden/common/hidden.h); each check also sends what it checked to the grader's
// judge (labs/common/observe.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <unordered_map>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gw/ddp.h"
#include "gw/dtype.h"
#include "gw/error.h"
#include "gw/executor.h"
#include "gw/ops.h"
#include "gw/training_step.h"
#include "gw/thread_group.h"
#include "hidden.h"
#include "lab_testing.h"
#include "observe.h"

namespace gw {
namespace {

// The backend's all_reduce taken away: the ring must be built from send and recv.
class SendRecvOnly : public Communicator {
 public:
  explicit SendRecvOnly(Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  void send(const void* data, size_t bytes, int peer) override { inner_.send(data, bytes, peer); }
  void recv(void* data, size_t bytes, int peer) override { inner_.recv(data, bytes, peer); }
  void all_reduce(void*, int64_t, DType, bool) override {
    throw Error("lab 09: ring_all_reduce must use send and recv only");
  }

 private:
  Communicator& inner_;
};

// Rank 0's elements (all up to 1000, else 1000 evenly spaced), the largest difference from
// the f64 oracle, and the largest difference between ranks.
template <typename T>
void check_result(const std::string& what, const std::vector<std::vector<T>>& got,
                  const std::vector<double>& expected, double tol,
                  double (*to_double)(T) = [](T v) { return static_cast<double>(v); }) {
  const size_t count = expected.size();
  const size_t step = count <= 1000 ? 1 : count / 1000;
  std::vector<double> shown;
  double err = 0, spread = 0;
  for (size_t i = 0; i < count; ++i) {
    const double v = to_double(got[0][i]);
    if (i % step == 0 && shown.size() < 1000) shown.push_back(v);
    err = std::max(err, std::abs(v - expected[i]));
    for (const auto& rank : got) spread = std::max(spread, std::abs(to_double(rank[i]) - v));
  }
  observe::values(what + ": rank 0's elements", shown, 2 * tol, 0);
  observe::value(what + ": largest difference between ranks", spread);
  EXPECT_LE(err, tol) << what << " (" << hidden::seed_note() << ")";
  EXPECT_EQ(spread, 0.0) << what << ": every rank must hold the same bits (" << hidden::seed_note()
                         << ")";
}

double bf16_value(uint16_t b) { return bf16_bits_to_float(b); }

std::vector<int64_t> link_bytes(const ThreadGroup& group) {
  std::vector<int64_t> out;
  for (int from = 0; from < group.size(); ++from)
    for (int to = 0; to < group.size(); ++to) out.push_back(group.bytes_sent(from, to));
  return out;
}

// The ring's bytes on link from → to (see gw/ddp.h): only r → r + 1 carries any, every chunk
// but (r + 1) mod n in the reduce-scatter and every chunk but (r + 2) mod n in the all-gather.
std::vector<int64_t> expected_link_bytes(int64_t count, int n, int64_t element) {
  std::vector<int64_t> out(static_cast<size_t>(n * n), 0);
  if (n == 1) return out;
  for (int r = 0; r < n; ++r) {
    const int64_t base = count / n, extra = count % n;
    auto size = [&](int c) { return base + (c < extra ? 1 : 0); };
    out[static_cast<size_t>(r * n + (r + 1) % n)] =
        element * (2 * count - size((r + 1) % n) - size((r + 2) % n));
  }
  return out;
}

// A count for n ranks: often smaller than n, never a multiple of n when it can be avoided.
int64_t odd_count(std::mt19937_64& rng, int n) {
  const int kind = std::uniform_int_distribution<int>(0, 2)(rng);
  if (kind == 0) return std::uniform_int_distribution<int64_t>(0, n)(rng);
  int64_t c = std::uniform_int_distribution<int64_t>(n + 1, 30000)(rng);
  if (n > 1 && c % n == 0) ++c;
  return c;
}

TEST(HiddenRing, DrawnRankCountsAndOddSizesF32) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(1));
  for (int trial = 0; trial < 8; ++trial) {
    const int n = std::uniform_int_distribution<int>(1, 8)(rng);
    const int64_t count = odd_count(rng, n);
    const bool average = trial % 2 == 1;
    std::uniform_real_distribution<double> u(-2, 2);
    std::vector<std::vector<float>> data(static_cast<size_t>(n));
    std::vector<double> expected(static_cast<size_t>(count), 0.0);
    for (int r = 0; r < n; ++r)
      for (int64_t i = 0; i < count; ++i) {
        data[r].push_back(static_cast<float>(u(rng)));
        expected[i] += data[r].back();
      }
    if (average)
      for (double& e : expected) e /= n;
    ThreadGroup group(n);
    group.set_timeout(20);
    group.run([&](Communicator& c) {
      SendRecvOnly comm(c);
      ring_all_reduce(comm, data[static_cast<size_t>(c.rank())].data(), count, DType::f32, average);
    });
    const std::string what = "trial " + std::to_string(trial) + ": " + std::to_string(n) +
                             " ranks, " + std::to_string(count) + " f32 " +
                             (average ? "mean" : "sum");
    check_result<float>(what, data, expected, 1e-5);
    observe::indices(what + ": bytes per link", link_bytes(group));
    EXPECT_EQ(link_bytes(group), expected_link_bytes(count, n, 4)) << what;
  }
}

TEST(HiddenRing, BytesOnEveryLinkNotEverythingThroughRankZero) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(2));
  for (int trial = 0; trial < 4; ++trial) {
    const int n = std::uniform_int_distribution<int>(3, 8)(rng);
    const int64_t count = std::uniform_int_distribution<int64_t>(n, 50000)(rng);
    std::vector<std::vector<double>> data(static_cast<size_t>(n), std::vector<double>(count, 1.0));
    ThreadGroup group(n);
    group.run([&](Communicator& c) {
      SendRecvOnly comm(c);
      ring_all_reduce(comm, data[static_cast<size_t>(c.rank())].data(), count, DType::f64, false);
    });
    const std::string what = std::to_string(n) + " ranks, " + std::to_string(count) + " f64";
    const std::vector<int64_t> links = link_bytes(group);
    observe::indices(what + ": bytes per link", links);
    EXPECT_EQ(links, expected_link_bytes(count, n, 8)) << what;
    int64_t most = 0;
    for (int r = 0; r < n; ++r) most = std::max(most, group.bytes_sent_by(r));
    observe::count(what + ": most bytes any rank sent", most);
    EXPECT_LE(most, 2 * count * 8) << what << ": no rank sends more than 2S in a ring";
    double off = 0;
    for (const auto& rank : data)
      for (double v : rank) off = std::max(off, std::abs(v - n));
    observe::value(what + ": largest error", off);
    EXPECT_EQ(off, 0.0) << what;
  }
}

TEST(HiddenRing, Bf16MeansRoundOncePerHop) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(3));
  for (int trial = 0; trial < 4; ++trial) {
    const int n = std::uniform_int_distribution<int>(2, 8)(rng);
    const int64_t count = odd_count(rng, n);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<std::vector<uint16_t>> data(static_cast<size_t>(n));
    std::vector<double> expected(static_cast<size_t>(count), 0.0);
    for (int r = 0; r < n; ++r)
      for (int64_t i = 0; i < count; ++i) {
        data[r].push_back(float_to_bf16_bits(static_cast<float>(u(rng))));
        expected[i] += bf16_bits_to_float(data[r].back()) / n;
      }
    ThreadGroup group(n);
    group.run([&](Communicator& c) {
      SendRecvOnly comm(c);
      ring_all_reduce(comm, data[static_cast<size_t>(c.rank())].data(), count, DType::bf16, true);
    });
    const std::string what = std::to_string(n) + " ranks, " + std::to_string(count) + " bf16 mean";
    // n − 1 roundings of partial sums up to n, one of the mean: each at most 2^-9 relative.
    check_result<uint16_t>(what, data, expected, (n + 1) * n * std::ldexp(1.0, -9) / n, bf16_value);
    observe::indices(what + ": bytes per link", link_bytes(group));
    EXPECT_EQ(link_bytes(group), expected_link_bytes(count, n, 2)) << what;
  }
}

TEST(HiddenRing, ManyCallsInARowOnOneGroup) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(4));
  const int n = std::uniform_int_distribution<int>(2, 6)(rng);
  std::vector<int64_t> counts;
  for (int k = 0; k < 6; ++k) counts.push_back(odd_count(rng, n));
  std::vector<std::vector<std::vector<float>>> data(counts.size(),
                                                    std::vector<std::vector<float>>(n));
  for (size_t k = 0; k < counts.size(); ++k)
    for (int r = 0; r < n; ++r)
      for (int64_t i = 0; i < counts[k]; ++i) data[k][r].push_back(static_cast<float>(r + i % 5));
  ThreadGroup group(n);
  group.run([&](Communicator& c) {
    SendRecvOnly comm(c);
    for (size_t k = 0; k < counts.size(); ++k)
      ring_all_reduce(comm, data[k][static_cast<size_t>(c.rank())].data(), counts[k], DType::f32,
                      k % 2 == 0);
  });
  for (size_t k = 0; k < counts.size(); ++k) {
    std::vector<double> expected;
    for (int64_t i = 0; i < counts[k]; ++i)
      expected.push_back((k % 2 == 0 ? (n - 1) / 2.0 : n * (n - 1) / 2.0) +
                         (k % 2 == 0 ? 1.0 : n) * static_cast<double>(i % 5));
    check_result<float>("call " + std::to_string(k) + " of " + std::to_string(counts[k]), data[k],
                        expected, 1e-5);
  }
}

// The oracle: reverse order, a bucket closes when the next parameter would overflow it.
std::vector<std::vector<int64_t>> oracle_buckets(const std::vector<int64_t>& bytes, int64_t cap) {
  std::vector<std::vector<int64_t>> out;
  int64_t size = 0;
  for (int64_t k = static_cast<int64_t>(bytes.size()) - 1; k >= 0; --k) {
    if (!out.empty() && !out.back().empty() && size + bytes[k] <= cap) {
      out.back().push_back(k);
      size += bytes[k];
    } else {
      out.push_back({k});
      size = bytes[k];
    }
  }
  return out;
}

TEST(HiddenBuckets, DrawnSizesInReverseParameterOrder) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(5));
  for (int trial = 0; trial < 5; ++trial) {
    const int params = std::uniform_int_distribution<int>(3, 40)(rng);
    std::vector<int64_t> bytes;
    for (int k = 0; k < params; ++k)
      bytes.push_back(4 * std::uniform_int_distribution<int64_t>(1, 1000)(rng));
    const int64_t cap = std::uniform_int_distribution<int64_t>(200, 6000)(rng);
    const std::vector<Bucket> got = make_buckets(bytes, cap);
    const auto expected = oracle_buckets(bytes, cap);
    const std::string what = "trial " + std::to_string(trial) + " (" + std::to_string(params) +
                             " parameters, " + std::to_string(cap) + " B)";
    observe::count(what + ": buckets", static_cast<int64_t>(got.size()));
    ASSERT_EQ(got.size(), expected.size()) << what;
    for (size_t b = 0; b < got.size(); ++b) {
      int64_t sum = 0;
      for (int64_t k : expected[b]) sum += bytes[k];
      observe::indices(what + ": bucket " + std::to_string(b), got[b].params);
      observe::count(what + ": bucket " + std::to_string(b) + " bytes", got[b].bytes);
      EXPECT_EQ(got[b].params, expected[b]) << what << ", bucket " << b;
      EXPECT_EQ(got[b].bytes, sum) << what << ", bucket " << b;
    }
  }
}

TEST(HiddenBuckets, DrawnGradientsAreAveragedOneRingPerBucket) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(6));
  const int n = std::uniform_int_distribution<int>(2, 5)(rng);
  const int params = std::uniform_int_distribution<int>(3, 8)(rng);
  std::vector<Shape> shapes;
  for (int k = 0; k < params; ++k)
    shapes.push_back({std::uniform_int_distribution<int64_t>(1, 9)(rng),
                      std::uniform_int_distribution<int64_t>(1, 9)(rng)});
  const uint64_t seed = hidden::seed(7);
  std::vector<std::vector<Tensor>> grads(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r)
    for (int k = 0; k < params; ++k)
      grads[r].push_back(labs::uniform(shapes[k], seed + 100 * r + k, -1, 1, DType::f32));
  std::vector<int64_t> bytes;
  for (const Tensor& g : grads[0]) bytes.push_back(static_cast<int64_t>(g.nbytes()));
  const int64_t cap = std::uniform_int_distribution<int64_t>(16, 400)(rng);
  const std::vector<Bucket> buckets = make_buckets(bytes, cap);
  ThreadGroup group(n);
  group.run([&](Communicator& c) {
    SendRecvOnly comm(c);
    all_reduce_buckets(comm, grads[static_cast<size_t>(c.rank())], buckets, /*average=*/true);
  });
  for (int k = 0; k < params; ++k) {
    std::vector<double> mean(static_cast<size_t>(numel(shapes[k])), 0.0);
    for (int r = 0; r < n; ++r) {
      const std::vector<double> v =
          labs::uniform(shapes[k], seed + 100 * r + k, -1, 1, DType::f32).to_doubles();
      for (size_t i = 0; i < v.size(); ++i) mean[i] += v[i] / n;
    }
    EXPECT_TRUE(labs::close("gradient " + std::to_string(k) + " on the last rank",
                            grads[n - 1][k], Tensor::from_values(shapes[k], mean, DType::f64),
                            1e-6, 1e-6));
  }
  int64_t messages = 0;
  for (const Bucket& b : buckets)
    for (int c = 0; c < n; ++c)
      if (ring_chunk(b.bytes / 4, n, c).count > 0) messages += 2;  // each non-empty chunk, twice
  int64_t total = 0;
  for (int r = 0; r < n; ++r) total += group.messages_sent_by(r);
  observe::count("messages of all ranks", total);
  EXPECT_EQ(total, messages * (n - 1)) << "one flat ring all-reduce per bucket";
}

// ---- overlap, without timing: the schedule position at which each bucket is complete -------

// Runs `exec` once with a BucketReadiness watching and returns, per bucket, the schedule
// position of the node after which node_done returned it (−1: never; −2: returned twice).
std::vector<int64_t> ready_positions(Executor& exec, BucketReadiness& ready, size_t buckets,
                                     const Feeds& feeds) {
  struct Watch : NodeObserver {
    std::unordered_map<const Node*, int64_t> index;
    std::vector<int64_t> at;
    BucketReadiness* r = nullptr;
    void before(const Node&) override {}
    void after(const Node& node) override {
      for (size_t b : r->node_done(node)) at.at(b) = at.at(b) == -1 ? index.at(&node) : -2;
    }
  } watch;
  for (size_t i = 0; i < exec.schedule().size(); ++i)
    watch.index[exec.schedule()[i]] = static_cast<int64_t>(i);
  watch.at.assign(buckets, -1);
  watch.r = &ready;
  exec.set_observer(&watch);
  exec.run(feeds);
  exec.set_observer(nullptr);
  ready.reset();
  return watch.at;
}

// The oracle: a bucket is complete at the latest schedule position of a node writing one of
// its gradients (views resolved to what they view; leaf gradients need nothing).
std::vector<int64_t> expected_positions(const Executor& exec, const std::vector<Bucket>& buckets,
                                        const std::vector<Node*>& grads) {
  std::unordered_map<const Node*, int64_t> index;
  for (size_t i = 0; i < exec.schedule().size(); ++i)
    index[exec.schedule()[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> at;
  for (const Bucket& b : buckets) {
    int64_t last = -1;
    for (int64_t k : b.params) {
      const Node* w = grads[static_cast<size_t>(k)];
      while (w->def().is_view) w = w->inputs[0];
      if (!w->is_leaf()) last = std::max(last, index.at(w));
    }
    at.push_back(last);
  }
  return at;
}

TEST(HiddenOverlap, RandomGraphsAndBuckets) {
  SCOPED_TRACE(hidden::seed_note());
  std::mt19937_64 rng(hidden::seed(30));
  for (int trial = 0; trial < 10; ++trial) {
    Graph g;
    Node* x = g.input("x", {2, 3});
    std::vector<Node*> values = {x};
    const int n = std::uniform_int_distribution<int>(4, 14)(rng);
    for (int i = 0; i < n; ++i) {
      Node* a = values[std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng)];
      Node* b = values[std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng)];
      values.push_back(i % 3 == 0 ? exp(mul(a, 0.1)) : i % 3 == 1 ? add(a, b) : mul(a, b));
    }
    const int params = std::uniform_int_distribution<int>(2, 9)(rng);
    std::vector<Node*> grads;
    std::vector<int64_t> bytes;
    for (int k = 0; k < params; ++k) {
      const int pick = std::uniform_int_distribution<int>(0, 9)(rng);
      Node* v = values[std::uniform_int_distribution<size_t>(1, values.size() - 1)(rng)];
      grads.push_back(pick == 0 ? g.constant(Tensor::zeros({2, 3}))
                                : pick < 4 ? reshape(v, {6}) : v);
      bytes.push_back(24);
    }
    const std::vector<Bucket> buckets =
        make_buckets(bytes, 24 * std::uniform_int_distribution<int64_t>(1, 3)(rng));
    BucketReadiness ready(buckets, grads);
    Executor exec(g, grads);
    const std::vector<int64_t> want = expected_positions(exec, buckets, grads);
    const Feeds feeds = {{x, Tensor::full({2, 3}, 0.3)}};
    for (int step = 0; step < 2; ++step) {
      const std::vector<int64_t> got = ready_positions(exec, ready, buckets.size(), feeds);
      const std::string label = "trial " + std::to_string(trial) + ", step " +
                                std::to_string(step + 1) + ": ready positions";
      observe::indices(label, got);
      EXPECT_EQ(got, want) << label;
    }
  }
}

TEST(HiddenOverlap, ATransformerStepCompletesItsFirstBucketEarly) {
  // The overlap the trainer gets: in the schedule of one training step (gradients listed
  // last layer first, as gw-train lists them), the first bucket of small buckets is complete
  // long before the backward pass ends, so its all-reduce has compute to hide under.
  SCOPED_TRACE(hidden::seed_note());
  ModelShape shape;
  shape.n_layer = 3, shape.n_embd = 32, shape.n_head = 2, shape.mlp_hidden = 64;
  shape.vocab_size = 17, shape.block_size = 8;
  TrainingStepOptions o;
  o.batch = 2, o.sequence = 8;
  Graph graph;
  const TrainingStep step = build_training_step(graph, shape, o);
  std::vector<Node*> outputs = {step.forward.loss};
  for (Node* g : last_layer_first(step.grads)) outputs.push_back(g);
  Executor exec(graph, outputs);
  std::vector<int64_t> bytes;
  for (const ModelParameter& p : step.model.params)
    bytes.push_back(numel(p.node->shape) * 4);
  const int64_t cap = 4096 * hidden::draw_int(31, 1, 4);
  const std::vector<Bucket> buckets = make_buckets(bytes, cap);
  BucketReadiness ready(buckets, step.grads);
  std::vector<int32_t> ids(16);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7) % 17);
  const Feeds feeds = {{step.x, Tensor::from_vector<int32_t>({2, 8}, ids)},
                       {step.y, Tensor::from_vector<int32_t>({2, 8}, ids)}};
  const std::vector<int64_t> got = ready_positions(exec, ready, buckets.size(), feeds);
  observe::indices("ready positions", got);
  EXPECT_EQ(got, expected_positions(exec, buckets, step.grads));
  const double share = static_cast<double>(got.front()) / static_cast<double>(exec.schedule().size());
  std::printf("%zu buckets of at most %lld B; first complete at %.2f of the schedule\n",
              buckets.size(), static_cast<long long>(cap), share);
  observe::value("first bucket ready at this share of the schedule", share, 0.05);
  EXPECT_LT(share, 0.75) << "the first bucket should be complete well before backward ends";
  EXPECT_LT(got.front(), got.back()) << "the last bucket (first layers) is complete last";
}

}  // namespace
}  // namespace gw
