// gradcheck_graph.cpp — gradcheck applied to graphs (lab 01's checker, run on lab 04's
// gradients), and the report's text.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "gw/autodiff.h"
#include "gw/ops.h"

namespace gw {

std::string GradcheckReport::str() const {
  std::ostringstream os;
  os << "gradcheck " << (passed ? "passed" : "FAILED") << "\n";
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputCheck& c = inputs[i];
    os << "  input " << i << ": " << (c.passed ? "ok" : "FAIL") << ", max abs error "
       << c.max_abs_error << ", max rel error " << c.max_rel_error;
    if (!c.failing.empty()) {
      os << ", " << c.failing.size() << " failing element(s):";
      const size_t shown = std::min(c.failing.size(), static_cast<size_t>(std::max(max_listed, 0)));
      for (size_t j = 0; j < shown; ++j) os << " " << c.failing[j];
      if (shown < c.failing.size()) os << " ...";
    }
    os << "\n";
  }
  return os.str();
}

std::vector<double> eps_study_grid() {
  std::vector<double> steps;
  for (int quarter = 4; quarter <= 48; ++quarter) steps.push_back(std::pow(10.0, -quarter / 4.0));
  return steps;
}

ScalarFunction graph_function(Node* scalar_output, const std::vector<Node*>& inputs,
                              const Feeds& other_feeds) {
  GW_CHECK(scalar_output != nullptr, "graph_function: null output");
  return [scalar_output, inputs, other_feeds](const std::vector<Tensor>& values) {
    GW_CHECK(values.size() == inputs.size(), "graph_function: ", values.size(), " values for ",
             inputs.size(), " inputs");
    Feeds feeds = other_feeds;
    std::vector<Tensor> saved(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      Node* leaf = inputs[i];
      GW_CHECK(leaf->is_leaf(), "graph_function: ", leaf->str(), " is not a leaf");
      Tensor v = values[i].astype(leaf->dtype).to(leaf->device);
      if (leaf->op == Op::Input) {
        feeds[leaf] = v;
      } else {
        saved[i] = leaf->value;
        leaf->value = v;
      }
    }
    auto restore = [&] {
      for (size_t i = 0; i < inputs.size(); ++i)
        if (saved[i].defined()) inputs[i]->value = saved[i];
    };
    double result = 0.0;
    try {
      for (double x : eval(scalar_output, feeds).to_doubles()) result += x;
    } catch (...) {
      restore();
      throw;
    }
    restore();
    return result;
  };
}

GradcheckReport gradcheck_graph(Node* output, const std::vector<Node*>& wrt, const Feeds& feeds,
                                const GradcheckOptions& options) {
  GW_CHECK(output != nullptr, "gradcheck_graph: null output");
  Node* scalar = output->shape.empty() ? output : sum(output);
  const std::vector<Node*> grads = gradients(scalar, wrt);
  const std::vector<Tensor> analytic = eval(grads, feeds);
  std::vector<Tensor> point;
  for (Node* w : wrt) {
    if (w->op == Op::Input) {
      auto it = feeds.find(w);
      GW_CHECK(it != feeds.end(), "gradcheck_graph: input ", w->str(), " not fed");
      point.push_back(it->second);
    } else {
      point.push_back(w->value);
    }
  }
  Feeds others = feeds;
  for (Node* w : wrt) others.erase(w);
  return gradcheck(graph_function(scalar, wrt, others), analytic, point, options);
}

}  // namespace gw
