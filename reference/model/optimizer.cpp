// optimizer.cpp — AdamW update nodes with global-norm clipping computed in the same graph.
//
// The clip scale must come from the gradients of this very step, so it is a graph node,
// not a number from the host: sqrt(Σ sum(gᵢ²)), then min(1, c/(‖g‖ + 1e-6)) written with
// compare (there is no min op): s = 1 + [r < 1]·(r − 1). It is appended to the three host
// scalars by concat and reaches every AdamW kernel as its grad_scale. A caller that runs the
// norm first (norm_fed) feeds that tensor back, still on the device, instead of recomputing it.
#include <cmath>

#include "gw/error.h"
#include "gw/ops.h"
#include "gw/optim.h"

namespace gw {

double group_weight_decay(ParamGroup group, const AdamWOptions& options) {
  if (group == ParamGroup::matrix || options.decay_norms_embeddings) return options.weight_decay;
  return 0.0;
}

OptimizerNodes build_adamw(const std::vector<ModelParameter>& params,
                           const std::vector<Node*>& grads, const AdamWOptions& options) {
  GW_CHECK(!params.empty() && params.size() == grads.size(), "adamw: ", params.size(),
           " parameters but ", grads.size(), " gradients");
  Graph& graph = *params[0].node->graph;
  NameScope scope(graph, "optimizer");  // the counting pass's optimizer phase
  OptimizerNodes opt;
  // ‖g‖² = Σᵢ sum(gᵢ ∘ gᵢ): one scalar per weight, then their sum.
  std::vector<Node*> squares;
  for (size_t k = 0; k < params.size(); ++k) {
    Node* p = params[k].node;
    Node* g = grads[k];
    GW_CHECK_AS(ShapeError, g->shape == p->shape, "adamw: gradient ", g->str(),
                " does not match parameter ", p->str());
    squares.push_back(reshape(sum(mul(g, g)), {1}));
    opt.m.push_back(graph.parameter(p->name + ".adam_m", p->shape, p->dtype, false));
    opt.v.push_back(graph.parameter(p->name + ".adam_v", p->shape, p->dtype, false));
  }
  opt.grad_norm = sqrt(sum(concat(squares, 0)));  // scalar
  Node* norm = opt.grad_norm;
  if (options.norm_fed)
    norm = opt.norm_input = graph.input("grad_norm", opt.grad_norm->shape, opt.grad_norm->dtype);
  if (options.grad_clip > 0) {
    Node* ratio = div(graph.scalar(options.grad_clip), add(norm, 1e-6));
    Node* one = graph.scalar(1.0);
    Node* below = compare(ratio, one, CompareOp::lt);  // 1 when clipping applies
    opt.clip_scale = add(mul(below, add(ratio, -1.0)), 1.0);
  } else {
    opt.clip_scale = graph.scalar(1.0);
  }
  opt.hyper = graph.input("adamw_hyper", {3});
  Node* scalars = concat({opt.hyper, reshape(opt.clip_scale, {1})}, 0);  // (4)
  for (size_t k = 0; k < params.size(); ++k) {
    opt.updates.push_back(adamw(params[k].node, grads[k], opt.m[k], opt.v[k], scalars,
                                options.beta1, options.beta2, options.eps,
                                group_weight_decay(params[k].group, options)));
  }
  return opt;
}

Tensor adamw_hyper(double lr, int64_t t, double beta1, double beta2) {
  GW_CHECK(t >= 1, "adamw: step t = ", t, " must be >= 1");
  const double td = static_cast<double>(t);
  return Tensor::from_vector<float>({3}, {static_cast<float>(lr),
                                          static_cast<float>(1.0 - std::pow(beta1, td)),
                                          static_cast<float>(1.0 - std::pow(beta2, td))});
}

}  // namespace gw
