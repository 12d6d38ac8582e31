// thread_group.cpp — ThreadGroup (gw/thread_group.h): mailboxes per link, byte counters, the
// α–β link model, and a simple all-reduce (everyone to rank 0, the sum back) as the
// backend's own collective.
#include "gw/thread_group.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "gw/error.h"

namespace gw {

struct ThreadGroup::State {
  struct Link {
    std::deque<std::vector<char>> messages;
    int64_t bytes = 0, count = 0;
  };
  int n = 0;
  LinkModel model;
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<Link> links;  // from·n + to
  bool closed = false;      // a rank failed: every wait stops with an error

  Link& link(int from, int to) { return links[static_cast<size_t>(from * n + to)]; }
};

namespace {

// Adds `count` elements of `src` into `dst`, both of `dtype`.
void accumulate(void* dst, const void* src, int64_t count, DType dtype) {
  switch (dtype) {
    case DType::f64:
      for (int64_t i = 0; i < count; ++i)
        static_cast<double*>(dst)[i] += static_cast<const double*>(src)[i];
      return;
    case DType::f32:
      for (int64_t i = 0; i < count; ++i)
        static_cast<float*>(dst)[i] += static_cast<const float*>(src)[i];
      return;
    case DType::i32:
      for (int64_t i = 0; i < count; ++i)
        static_cast<int32_t*>(dst)[i] += static_cast<const int32_t*>(src)[i];
      return;
    case DType::f16:
    case DType::bf16: {
      const bool half = dtype == DType::f16;
      auto* d = static_cast<uint16_t*>(dst);
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < count; ++i) {
        const float a = half ? f16_bits_to_float(d[i]) : bf16_bits_to_float(d[i]);
        const float b = half ? f16_bits_to_float(s[i]) : bf16_bits_to_float(s[i]);
        d[i] = half ? float_to_f16_bits(a + b) : float_to_bf16_bits(a + b);
      }
      return;
    }
    case DType::i8: break;
  }
  throw DTypeError("all_reduce (threads): dtype " + std::string(dtype_name(dtype)) +
                   " cannot be reduced");
}

void scale(void* data, int64_t count, DType dtype, double factor) {
  for (int64_t i = 0; i < count; ++i) {
    switch (dtype) {
      case DType::f64: static_cast<double*>(data)[i] *= factor; break;
      case DType::f32: static_cast<float*>(data)[i] *= static_cast<float>(factor); break;
      case DType::i32: static_cast<int32_t*>(data)[i] /= static_cast<int32_t>(1.0 / factor); break;
      case DType::f16: {
        auto* d = static_cast<uint16_t*>(data);
        d[i] = float_to_f16_bits(f16_bits_to_float(d[i]) * static_cast<float>(factor));
        break;
      }
      case DType::bf16: {
        auto* d = static_cast<uint16_t*>(data);
        d[i] = float_to_bf16_bits(bf16_bits_to_float(d[i]) * static_cast<float>(factor));
        break;
      }
      case DType::i8: break;
    }
  }
}

class ThreadCommunicator : public Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadGroup::State> state, int rank)
      : state_(std::move(state)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return state_->n; }

  void send(const void* data, size_t bytes, int peer) override {
    check_peer(peer, "send");
    const LinkModel& m = state_->model;
    const double seconds =
        m.latency_s + (m.bandwidth_bytes_per_s > 0 ? bytes / m.bandwidth_bytes_per_s : 0.0);
    if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    std::vector<char> message(static_cast<const char*>(data),
                              static_cast<const char*>(data) + bytes);
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      ThreadGroup::State::Link& link = state_->link(rank_, peer);
      link.messages.push_back(std::move(message));
      link.bytes += static_cast<int64_t>(bytes);
      ++link.count;
    }
    state_->arrived.notify_all();
  }

  void recv(void* data, size_t bytes, int peer) override {
    check_peer(peer, "recv");
    std::unique_lock<std::mutex> lock(state_->mutex);
    ThreadGroup::State::Link& link = state_->link(peer, rank_);
    state_->arrived.wait(lock, [&] { return !link.messages.empty() || state_->closed; });
    GW_CHECK(!link.messages.empty(), "recv (threads): rank ", rank_, " waited for rank ", peer,
             ", but the group was closed after another rank failed");
    std::vector<char> message = std::move(link.messages.front());
    link.messages.pop_front();
    lock.unlock();
    GW_CHECK(message.size() == bytes, "recv (threads): rank ", rank_, " expected ", bytes,
             " bytes from rank ", peer, " but the matching send had ", message.size());
    if (bytes > 0) std::memcpy(data, message.data(), bytes);
  }

  // Every rank sends its data to rank 0, which sums and sends the result back: simple and
  // exact, not bandwidth-optimal (lab 09's ring is).
  void all_reduce(void* data, int64_t count, DType dtype, bool average) override {
    const size_t bytes = static_cast<size_t>(count) * dtype_size(dtype);
    const int n = state_->n;
    if (rank_ == 0) {
      std::vector<char> other(bytes);
      for (int r = 1; r < n; ++r) {
        recv(other.data(), bytes, r);
        accumulate(data, other.data(), count, dtype);
      }
      if (average && n > 1) scale(data, count, dtype, 1.0 / n);
      for (int r = 1; r < n; ++r) send(data, bytes, r);
    } else {
      send(data, bytes, 0);
      recv(data, bytes, 0);
    }
  }

 private:
  void check_peer(int peer, const char* what) const {
    GW_CHECK(peer >= 0 && peer < state_->n && peer != rank_, what, " (threads): rank ", rank_,
             " cannot talk to rank ", peer, " of a group of ", state_->n);
  }
  std::shared_ptr<ThreadGroup::State> state_;
  int rank_;
};

}  // namespace

ThreadGroup::ThreadGroup(int ranks, LinkModel link) : state_(std::make_shared<State>()) {
  GW_CHECK(ranks >= 1 && ranks <= 64, "ThreadGroup: ", ranks, " ranks; use 1 to 64");
  GW_CHECK(link.latency_s >= 0 && link.bandwidth_bytes_per_s >= 0,
           "ThreadGroup: the link model needs latency ≥ 0 and bandwidth ≥ 0");
  state_->n = ranks;
  state_->model = link;
  state_->links.resize(static_cast<size_t>(ranks * ranks));
  for (int r = 0; r < ranks; ++r) comms_.push_back(std::make_unique<ThreadCommunicator>(state_, r));
}

ThreadGroup::~ThreadGroup() = default;

int ThreadGroup::size() const { return state_->n; }

Communicator& ThreadGroup::rank(int r) {
  GW_CHECK(r >= 0 && r < state_->n, "ThreadGroup: no rank ", r, " in a group of ", state_->n);
  return *comms_[static_cast<size_t>(r)];
}

void ThreadGroup::run(const std::function<void(Communicator&)>& fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(state_->n));
  std::vector<std::thread> threads;
  for (int r = 0; r < state_->n; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(*comms_[static_cast<size_t>(r)]);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
        {
          std::lock_guard<std::mutex> lock(state_->mutex);
          state_->closed = true;
        }
        state_->arrived.notify_all();
      }
    });
  for (std::thread& t : threads) t.join();
  const bool failed = state_->closed;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->closed = false;
    for (State::Link& l : state_->links) l.messages.clear();
  }
  if (failed)
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
}

int64_t ThreadGroup::bytes_sent(int from, int to) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->link(from, to).bytes;
}

int64_t ThreadGroup::bytes_sent_by(int r) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  int64_t total = 0;
  for (int to = 0; to < state_->n; ++to) total += state_->link(r, to).bytes;
  return total;
}

int64_t ThreadGroup::messages_sent_by(int r) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  int64_t total = 0;
  for (int to = 0; to < state_->n; ++to) total += state_->link(r, to).count;
  return total;
}

void ThreadGroup::reset_counters() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (State::Link& l : state_->links) l.bytes = l.count = 0;
}

}  // namespace gw
