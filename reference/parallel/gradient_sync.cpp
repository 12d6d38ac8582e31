// gradient_sync.cpp — GradientSync and Timeline (parallel/gradient_sync.h): a communication
// thread that all-reduces each gradient bucket as soon as backward has written it.
#include "parallel/gradient_sync.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gw/error.h"
#include "gw/op_table.h"

namespace gw {

using Clock = std::chrono::steady_clock;

Timeline::Timeline() : origin_(Clock::now()) {}

void Timeline::add(const std::string& name, const std::string& track, Clock::time_point start,
                   Clock::time_point end) {
  if (!recording) return;
  auto us = [&](Clock::time_point t) {
    return std::chrono::duration<double, std::micro>(t - origin_).count();
  };
  std::lock_guard<std::mutex> lock(mutex_);
  spans_.push_back({name, track, us(start), us(end)});
}

double Timeline::comm_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  double total = 0;
  for (const Span& s : spans_)
    if (s.track == "comm") total += s.end_us - s.start_us;
  return total * 1e-6;
}

double Timeline::overlapped_comm_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<double, double>> compute;  // sorted, merged intervals
  for (const Span& s : spans_)
    if (s.track == "compute") compute.emplace_back(s.start_us, s.end_us);
  std::sort(compute.begin(), compute.end());
  std::vector<std::pair<double, double>> merged;
  for (const auto& c : compute) {
    if (!merged.empty() && c.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, c.second);
    else
      merged.push_back(c);
  }
  double total = 0;
  for (const Span& s : spans_) {
    if (s.track != "comm") continue;
    for (const auto& c : merged)
      total += std::max(0.0, std::min(s.end_us, c.second) - std::max(s.start_us, c.first));
  }
  return total * 1e-6;
}

void Timeline::write(const std::string& path, int rank) const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json events = nlohmann::json::array();
  const std::vector<std::string> tracks = {"compute", "comm"};
  for (size_t t = 0; t < tracks.size(); ++t)
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", rank},
                      {"tid", static_cast<int>(t + 1)}, {"args", {{"name", tracks[t]}}}});
  for (const Span& s : spans_) {
    const int tid = s.track == "comm" ? 2 : 1;
    events.push_back({{"name", s.name}, {"cat", s.track}, {"ph", "X"}, {"pid", rank}, {"tid", tid},
                      {"ts", s.start_us}, {"dur", s.end_us - s.start_us}});
  }
  std::ofstream out(path);
  out << nlohmann::json{{"traceEvents", events}, {"displayTimeUnit", "ms"}}.dump() << '\n';
  out.close();
  GW_CHECK_AS(IoError, !out.fail(), "--trace: cannot write ", path);
}

void ComputeTracer::after(const Node& node) {
  timeline_.add(node.def().name, "compute", start_, Clock::now());
}

GradientSync::GradientSync(Communicator& comm, std::vector<Bucket> buckets,
                           const std::vector<Node*>& grads, bool ring, Timeline* timeline)
    : comm_(comm),
      buckets_(std::move(buckets)),
      ring_(ring),
      timeline_(timeline),
      readiness_(buckets_, grads) {
  started_.assign(buckets_.size(), 0);
  thread_ = std::thread([this] { loop(); });
}

GradientSync::~GradientSync() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void GradientSync::arm(const std::vector<Tensor>& grads) {
  grads_ = grads;
  armed_ = true;
}

void GradientSync::before(const Node&) { node_start_ = Clock::now(); }

void GradientSync::after(const Node& node) {
  if (timeline_) timeline_->add(node.def().name, "compute", node_start_, Clock::now());
  if (!armed_) return;
  for (size_t b : readiness_.node_done(node)) enqueue(b);
}

void GradientSync::enqueue(size_t bucket) {
  started_[bucket] = 1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(bucket);
  }
  wake_.notify_all();
}

void GradientSync::finish(const std::vector<Tensor>& grads) {
  if (!armed_) grads_ = grads;  // nothing started: the thread reads this run's tensors
  for (size_t b = 0; b < buckets_.size(); ++b)
    if (!started_[b]) enqueue(b);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return finished_ == buckets_.size(); });
  finished_ = 0;
  readiness_.reset();
  std::fill(started_.begin(), started_.end(), 0);
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void GradientSync::loop() {
  while (true) {
    size_t bucket = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_
      bucket = queue_.front();
      queue_.pop_front();
    }
    bool failed = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      failed = error_ != nullptr;
    }
    if (!failed) {  // after an error the others are skipped: the step fails anyway
      const auto t0 = Clock::now();
      try {
        all_reduce_buckets(comm_, grads_, {buckets_[bucket]}, /*average=*/true, ring_);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
      }
      if (timeline_)
        timeline_->add("all-reduce bucket " + std::to_string(bucket) + " (" +
                           std::to_string(buckets_[bucket].bytes) + " B)",
                       "comm", t0, Clock::now());
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++finished_;
    }
    done_.notify_all();
  }
}

}  // namespace gw
