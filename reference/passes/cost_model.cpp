// cost_model.cpp — what lab 07's counting pass stands on (gw/cost_model.h): phases and
// categories read from node scopes, the op table's counts with a clear error for a missing
// rule, and the sums of a CostReport. The pass itself is the lab's (count.cpp).
#include "gw/cost_model.h"

#include <string>

#include "gw/error.h"
#include "gw/op_table.h"

namespace gw {
namespace {

constexpr const char* kPhaseNames[kPhaseCount] = {"forward", "backward", "recompute", "optimizer"};
constexpr const char* kCategoryNames[kCategoryCount] = {"embedding", "attention", "mlp", "norm",
                                                        "head",      "optimizer", "other"};

// The '/'-separated parts of a scope.
std::vector<std::string> scope_parts(const std::string& scope) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= scope.size()) {
    const size_t slash = scope.find('/', start);
    const size_t end = slash == std::string::npos ? scope.size() : slash;
    if (end > start) parts.push_back(scope.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

GraphCost& GraphCost::operator+=(const GraphCost& other) {
  flops += other.flops;
  bytes += other.bytes;
  kernels += other.kernels;
  return *this;
}

const char* phase_name(Phase phase) { return kPhaseNames[static_cast<size_t>(phase)]; }
const char* category_name(Category category) {
  return kCategoryNames[static_cast<size_t>(category)];
}

Phase phase_of(const Node& node) {
  const std::vector<std::string> parts = scope_parts(node.scope);
  if (parts.empty()) return Phase::forward;
  for (size_t p = 1; p < kPhaseCount; ++p)
    if (parts.front() == kPhaseNames[p]) return static_cast<Phase>(p);
  return Phase::forward;
}

Category category_of(const Node& node) {
  const std::vector<std::string> parts = scope_parts(node.scope);
  for (auto part = parts.rbegin(); part != parts.rend(); ++part)
    for (size_t c = 0; c + 1 < kCategoryCount; ++c)  // "other" is what is left
      if (*part == kCategoryNames[c] || ends_with(*part, std::string("_") + kCategoryNames[c]))
        return static_cast<Category>(c);
  return Category::other;
}

double node_flops(const Node& node) {
  const OpDef& def = node.def();
  GW_CHECK(def.flops != nullptr, "count: op '", def.name, "' has no FLOP rule (node ",
           node.str(), "); declare one with .flops(...) in the op table");
  return def.flops(node);
}

double node_bytes(const Node& node) {
  const OpDef& def = node.def();
  GW_CHECK(def.bytes != nullptr, "count: op '", def.name, "' has no byte rule (node ",
           node.str(), ")");
  return def.bytes(node);
}

bool runs_a_kernel(const Node& node) { return !node.is_leaf() && !node.def().is_view; }

const GraphCost& CostReport::at(Phase phase, Category category) const {
  return by_part[static_cast<size_t>(phase)][static_cast<size_t>(category)];
}

GraphCost CostReport::phase(Phase phase) const {
  GraphCost sum;
  for (const GraphCost& c : by_part[static_cast<size_t>(phase)]) sum += c;
  return sum;
}

GraphCost CostReport::category(Category category) const {
  GraphCost sum;
  for (const auto& row : by_part) sum += row[static_cast<size_t>(category)];
  return sum;
}

GraphCost CostReport::total() const {
  GraphCost sum;
  for (const auto& row : by_part)
    for (const GraphCost& c : row) sum += c;
  return sum;
}

GraphCost count_cost(const std::vector<Node*>& nodes) { return count_costs(nodes).total(); }

}  // namespace gw
