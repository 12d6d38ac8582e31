// op_profile.cpp — per-op-type timing of one run of a schedule (gw/op_profile.h).
//
// The executor has no timing hooks, so this walks its schedule itself with plain buffers,
// as tests' naive_run does, and times each kernel on its second pass over warm buffers. The
// totals are close to a real run's (the same kernels on the same shapes and warm memory);
// only the arena's buffer sharing differs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>

#include "gw/error.h"
#include "gw/op_profile.h"

namespace gw {

std::vector<OpProfileEntry> profile_ops(const Executor& exec, const Feeds& feeds) {
  std::map<const Node*, Tensor> values;
  std::map<std::string, OpProfileEntry> by_op;
  RunContext context;
  auto value_of = [&](Node* n) -> Tensor {
    if (n->op == Op::Input) {
      auto it = feeds.find(n);
      GW_CHECK(it != feeds.end(), "profile_ops: input ", n->str(), " not fed");
      return it->second;
    }
    if (n->op == Op::Parameter || n->op == Op::Constant) return n->value;
    return values.at(n);
  };
  // Two passes: the first allocates every output and workspace (a fresh buffer page-faults on
  // first touch, which would bill the kernel for the kernel's memory), the second reuses them
  // and is the one timed, as in a real run where the executor's arena is warm. Ops that
  // mutate their inputs (AdamW) run twice: profiling is a measurement, not a training step.
  std::map<const Node*, std::vector<char>> workspaces;
  for (int pass = 0; pass < 2; ++pass) {
    for (Node* node : exec.schedule()) {
      const OpDef& def = node->def();
      std::vector<Tensor> inputs;
      for (Node* in : node->inputs) inputs.push_back(value_of(in));
      if (def.is_view) {
        values[node] = inputs[0].reshaped(node->shape);
        continue;
      }
      GW_CHECK(def.cpu != nullptr, "profile_ops: no cpu kernel for ", def.name);
      if (pass == 0) {
        values[node] = Tensor::empty(node->shape, node->dtype);
        workspaces[node].resize(def.workspace ? def.workspace(*node) : 0);
      }
      Tensor& out = values[node];
      std::vector<char>& ws = workspaces[node];
      const auto t0 = std::chrono::steady_clock::now();
      def.cpu(KernelArgs{*node, inputs, out, ws.empty() ? nullptr : ws.data(), context});
      const double dt =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (pass == 0) continue;
      OpProfileEntry& e = by_op[def.name];
      e.op = def.name;
      ++e.calls;
      e.seconds += dt;
      if (def.flops) e.flops += def.flops(*node);
    }
  }
  std::vector<OpProfileEntry> out;
  for (auto& [name, e] : by_op) out.push_back(e);
  std::sort(out.begin(), out.end(),
            [](const OpProfileEntry& a, const OpProfileEntry& b) { return a.seconds > b.seconds; });
  return out;
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
