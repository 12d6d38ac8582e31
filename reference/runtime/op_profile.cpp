// op_profile.cpp — per-op-type timing of a run (gw/op_profile.h), through the executor's
// NodeObserver hook.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>

#include "gw/cuda_backend.h"
#include "gw/error.h"
#include "gw/op_profile.h"

namespace gw {

namespace {

// Times each kernel launch; on a GPU it waits for the queue before and after, so a kernel is
// billed for itself, not for the ones queued before it.
class KernelTimer : public NodeObserver {
 public:
  explicit KernelTimer(Device device) : gpu_(!device.is_cpu()) {}
  void before(const Node&) override {
    if (gpu_) cuda::synchronize();
    start_ = std::chrono::steady_clock::now();
  }
  void after(const Node& node) override {
    if (gpu_) cuda::synchronize();
    const double dt =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    OpProfileEntry& e = by_op_[node.def().name];
    e.op = node.def().name;
    ++e.calls;
    e.seconds += dt;
    e.flops += node.def().flops(node);
  }
  std::vector<OpProfileEntry> entries() const {
    std::vector<OpProfileEntry> out;
    for (const auto& [name, e] : by_op_) out.push_back(e);
    std::sort(out.begin(), out.end(), [](const OpProfileEntry& a, const OpProfileEntry& b) {
      return a.seconds > b.seconds;
    });
    return out;
  }

 private:
  bool gpu_;
  std::chrono::steady_clock::time_point start_;
  std::map<std::string, OpProfileEntry> by_op_;
};

}  // namespace

std::vector<OpProfileEntry> profile_ops(Executor& exec, const Feeds& feeds) {
  exec.run(feeds);  // warm: the arena is allocated and touched, caches are filled
  KernelTimer timer(exec.graph().device());
  exec.set_observer(&timer);
  try {
    exec.run(feeds);
  } catch (...) {
    exec.set_observer(nullptr);
    throw;
  }
  exec.set_observer(nullptr);
  return timer.entries();
}

std::string op_profile_table(const std::vector<OpProfileEntry>& entries) {
  double total = 0;
  for (const OpProfileEntry& e : entries) total += e.seconds;
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof line, "%-32s %6s %10s %7s %9s\n", "op", "calls", "ms", "share",
                "GFLOP/s");
  os << line;
  for (const OpProfileEntry& e : entries) {
    std::snprintf(line, sizeof line, "%-32s %6lld %10.3f %6.1f%% %9.2f\n", e.op.c_str(),
                  static_cast<long long>(e.calls), e.seconds * 1e3,
                  total > 0 ? 100.0 * e.seconds / total : 0.0,
                  e.seconds > 0 ? e.flops / e.seconds / 1e9 : 0.0);
    os << line;
  }
  std::snprintf(line, sizeof line, "%-32s %6s %10.3f\n", "total", "", total * 1e3);
  os << line;
  return os.str();
}

}  // namespace gw
