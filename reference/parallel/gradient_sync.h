// gradient_sync.h — data parallelism's gradient all-reduce overlapped with the backward pass,
// and the timeline that shows it.
//
// GradientSync watches the gradient executor (a NodeObserver). As soon as the last node that
// writes one of a bucket's gradients has run, it hands the bucket to its communication
// thread, which all-reduces it (gw/ddp.h) while the executor goes on with the rest of
// backward. finish() starts the buckets still waiting, in bucket order, and waits for all:
// the optimizer only ever sees averaged gradients. Every rank runs the same schedule, so the
// buckets start in the same order on every rank, as collectives must.
//
// The gradients are written into the executor's arena, whose address is fixed from the first
// run on; the first step therefore all-reduces after backward (nothing to watch yet), and the
// following steps overlap.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gw/communicator.h"
#include "gw/ddp.h"
#include "gw/executor.h"

namespace gw {

/// Spans of work on named tracks, written as a Chrome trace (chrome://tracing, Perfetto).
class Timeline {
 public:
  Timeline();
  /// Records a span [start, end) on `track` ("compute", "comm"); thread-safe.
  void add(const std::string& name, const std::string& track,
           std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end);
  /// Whether spans are being recorded (the trainer records a few steps, not a whole run).
  std::atomic<bool> recording{false};
  /// Seconds of "comm" spans, and how many of them overlap a "compute" span.
  double comm_seconds() const;
  double overlapped_comm_seconds() const;
  /// Writes {"traceEvents": [...]}: one complete ("X") event per span, one thread per track.
  void write(const std::string& path, int rank) const;

 private:
  struct Span {
    std::string name, track;
    double start_us, end_us;
  };
  std::chrono::steady_clock::time_point origin_;
  mutable std::mutex mutex_;
  std::vector<Span> spans_;
};

/// Records every kernel of an executor on the "compute" track (one rank, no communication).
class ComputeTracer : public NodeObserver {
 public:
  explicit ComputeTracer(Timeline& timeline) : timeline_(timeline) {}
  void before(const Node&) override { start_ = std::chrono::steady_clock::now(); }
  void after(const Node& node) override;

 private:
  Timeline& timeline_;
  std::chrono::steady_clock::time_point start_;
};

/// The overlapped all-reduce of one executor's gradients (see the file comment).
class GradientSync : public NodeObserver {
 public:
  /// `grads[k]` is the node of parameter k's gradient (an output of the watched executor);
  /// `buckets` index into it. `timeline` (optional, not owned) receives compute and comm spans.
  GradientSync(Communicator& comm, std::vector<Bucket> buckets, const std::vector<Node*>& grads,
               bool ring, Timeline* timeline);
  ~GradientSync() override;
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  /// Before a run: where the gradients will be written (the previous run's outputs, which
  /// view the executor's fixed arena). Without it, nothing starts before finish().
  void arm(const std::vector<Tensor>& grads);
  void before(const Node& node) override;
  void after(const Node& node) override;
  /// After the run: starts every bucket not started yet, waits for all, and rethrows the
  /// first communication error. `grads` are this run's gradient tensors.
  void finish(const std::vector<Tensor>& grads);

 private:
  void enqueue(size_t bucket);
  void loop();

  Communicator& comm_;
  std::vector<Bucket> buckets_;
  bool ring_;
  Timeline* timeline_;
  BucketReadiness readiness_;          // which buckets each node completes (lab 09)
  std::vector<char> started_;          // by bucket: handed to the thread this step
  std::vector<Tensor> grads_;          // where the thread reads and writes
  bool armed_ = false;
  std::chrono::steady_clock::time_point node_start_;

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::deque<size_t> queue_;
  size_t finished_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace gw
