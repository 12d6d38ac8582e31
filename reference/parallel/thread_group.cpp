// thread_group.cpp — ThreadGroup (gw/thread_group.h): mailboxes per link, byte counters, the
// α–β link model, dead-peer and timeout detection, and a simple all-reduce (everyone to
// rank 0, the sum back) as the backend's own collective.
#include "gw/thread_group.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "gw/ddp.h"
#include "gw/error.h"

namespace gw {

struct ThreadGroup::State {
  struct Link {
    std::deque<std::vector<char>> messages;
    std::vector<std::vector<char>> spare;  // received buffers, reused by the next sends
    int64_t bytes = 0, count = 0;
  };
  int n = 0;
  LinkModel model;
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<Link> links;  // from·n + to
  bool closed = false;      // a rank failed: every wait stops with an error
  std::vector<char> done;   // by rank: its function returned (it will send nothing more)
  double timeout_s = 30.0;  // longest wait of a recv

  Link& link(int from, int to) { return links[static_cast<size_t>(from * n + to)]; }
};

namespace {

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
    // A buffer this link carried before, when there is one: a fresh multi-megabyte vector
    // every message would fault its pages in again (gradient all-reduces send the same
    // sizes every step).
    std::vector<char> message;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      std::vector<std::vector<char>>& spare = state_->link(rank_, peer).spare;
      if (!spare.empty()) {
        message = std::move(spare.back());
        spare.pop_back();
      }
    }
    message.resize(bytes);
    if (bytes > 0) std::memcpy(message.data(), data, bytes);
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
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(state_->timeout_s));
    const bool ready = state_->arrived.wait_until(lock, deadline, [&] {
      return !link.messages.empty() || state_->closed || state_->done[static_cast<size_t>(peer)];
    });
    if (link.messages.empty()) {
      GW_CHECK(ready, "recv (threads): rank ", rank_, " timed out after ", state_->timeout_s,
               " s waiting for ", bytes, " bytes from rank ", peer,
               " (is that rank stuck, or calling the collectives in another order?)");
      GW_CHECK(!state_->closed, "recv (threads): rank ", rank_, " waited for rank ", peer,
               ", but the group was closed after another rank failed");
      throw Error("recv (threads): rank " + std::to_string(rank_) + " waits for " +
                  std::to_string(bytes) + " bytes from rank " + std::to_string(peer) +
                  ", which finished without sending them (did the ranks call all_reduce with "
                  "different sizes or a different number of times?)");
    }
    std::vector<char> message = std::move(link.messages.front());
    link.messages.pop_front();
    lock.unlock();
    GW_CHECK(message.size() == bytes, "recv (threads): rank ", rank_, " expected ", bytes,
             " bytes from rank ", peer, " but the matching send had ", message.size());
    if (bytes > 0) std::memcpy(data, message.data(), bytes);
    lock.lock();
    if (link.spare.size() < 4) link.spare.push_back(std::move(message));
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
        reduce_add(data, other.data(), count, dtype);
      }
      if (average && n > 1) reduce_scale(data, count, dtype, 1.0 / n);
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
  state_->done.assign(static_cast<size_t>(ranks), 0);
  for (int r = 0; r < ranks; ++r) comms_.push_back(std::make_unique<ThreadCommunicator>(state_, r));
}

ThreadGroup::~ThreadGroup() = default;

int ThreadGroup::size() const { return state_->n; }

void ThreadGroup::set_timeout(double seconds) {
  GW_CHECK(seconds > 0, "ThreadGroup: the timeout must be > 0 seconds, not ", seconds);
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->timeout_s = seconds;
}

Communicator& ThreadGroup::rank(int r) {
  GW_CHECK(r >= 0 && r < state_->n, "ThreadGroup: no rank ", r, " in a group of ", state_->n);
  return *comms_[static_cast<size_t>(r)];
}

void ThreadGroup::run(const std::function<void(Communicator&)>& fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(state_->n));
  int first = -1;  // the rank that failed first: its error is the cause, the others follow
  std::vector<std::thread> threads;
  for (int r = 0; r < state_->n; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(*comms_[static_cast<size_t>(r)]);
        {
          std::lock_guard<std::mutex> lock(state_->mutex);
          state_->done[static_cast<size_t>(r)] = 1;
        }
        state_->arrived.notify_all();
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
        {
          std::lock_guard<std::mutex> lock(state_->mutex);
          if (!state_->closed) first = r;
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
    std::fill(state_->done.begin(), state_->done.end(), 0);
  }
  if (failed) std::rethrow_exception(errors[static_cast<size_t>(first)]);
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
