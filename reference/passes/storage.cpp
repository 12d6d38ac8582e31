// storage.cpp — where a value's bytes live, for lab 07's memory estimate
// (gw/memory_estimate.h): the size of each kernel's output and workspace, and the buffer a
// view aliases. The executor's memory plan (reference/runtime/memory_plan.cpp) uses the same
// sizes.
#include "gw/memory_estimate.h"
#include "gw/op_table.h"

namespace gw {

int64_t value_bytes(const Node& node) {
  if (node.is_leaf() || node.def().is_view) return 0;
  return numel(node.shape) * static_cast<int64_t>(dtype_size(node.dtype));
}

int64_t workspace_bytes(const Node& node) {
  const OpDef& def = node.def();
  return def.workspace != nullptr ? static_cast<int64_t>(def.workspace(node)) : 0;
}

const Node* storage_root(const Node& node) {
  const Node* n = &node;
  while (!n->is_leaf() && n->def().is_view) n = n->inputs.at(0);
  return n;
}

}  // namespace gw
