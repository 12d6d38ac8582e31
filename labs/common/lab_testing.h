// lab_testing.h — what the labs' public and hidden tests share: the lecture's example graphs,
// feeds, the tests' own central-difference oracle, checks of one VJP or JVP rule, checks
// whose messages point a student at the bug, and a runner that puts the work in a child
// process on a small stack (so a recursive walk, or a crash, fails with a hint).
//
// Kept apart from tests/common so that a student release (labs/ without the project's own
// tests) still builds the public tests.
//
// Graded, every check here also sends what it checked to the grader's judge (observe.h):
// the value the student's code computed, never the check's verdict, and never more than the
// check asserts (what passes the check by hand must match in grading). Run by hand, the
// observations do nothing and the checks decide alone, with the same messages.
#pragma once

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gw/error.h"
#include "gw/executor.h"
#include "gw/graph.h"
#include "gw/op_table.h"
#include "gw/ops.h"
#include "gw/tensor.h"
#include "observe.h"

namespace gw::labs {

/// The lecture's running example y = ln(x1) + x1·x2 − sin(x2), with its named values
/// v1 = x1, v2 = x2, v3 = ln v1, v4 = v1·v2, v5 = sin v2, v6 = v3 + v4, v7 = v6 − v5.
struct LectureGraph {
  Node* x1;  ///< v1, shape {}
  Node* x2;  ///< v2, shape {}
  Node* v3;  ///< ln(x1)
  Node* v4;  ///< x1·x2
  Node* v5;  ///< sin(x2)
  Node* v6;  ///< v3 + v4
  Node* y;   ///< v7 = v6 − v5
};

/// Builds the lecture's example in `g` with scalar inputs of `dtype`.
inline LectureGraph lecture_graph(Graph& g, DType dtype = DType::f64) {
  LectureGraph l{};
  l.x1 = g.input("x1", {}, dtype);
  l.x2 = g.input("x2", {}, dtype);
  l.v3 = log(l.x1);
  l.v4 = mul(l.x1, l.x2);
  l.v5 = sin(l.x2);
  l.v6 = add(l.v3, l.v4);
  l.y = sub(l.v6, l.v5);
  return l;
}

/// A scalar tensor.
inline Tensor scalar_tensor(double v, DType dtype = DType::f64) {
  return Tensor::from_values({}, {v}, dtype);
}

/// Uniform values in [lo, hi), reproducible from `seed`.
inline Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                      DType dtype = DType::f64) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& x : v) x = u(rng);
  return Tensor::from_values(shape, v, dtype);
}

/// The tests' own central-difference derivative of the scalar `out` with respect to the fed
/// input `x` (ε = 1e-6, f64 feeds expected): an oracle that does not use any lab's code, so
/// a later lab's tests do not depend on your lab 01.
inline Tensor oracle_gradient(Node* out, Node* x, const Feeds& feeds, double eps = 1e-6) {
  Feeds moved(feeds);
  const Tensor base = feeds.at(x);
  std::vector<double> theta = base.to_doubles(), grad(theta.size());
  for (size_t i = 0; i < theta.size(); ++i) {
    std::vector<double> t = theta;
    t[i] = theta[i] + eps;
    moved[x] = Tensor::from_values(base.shape(), t, base.dtype());
    const double plus = eval(out, moved).to_doubles().at(0);
    t[i] = theta[i] - eps;
    moved[x] = Tensor::from_values(base.shape(), t, base.dtype());
    const double minus = eval(out, moved).to_doubles().at(0);
    grad[i] = (plus - minus) / (2 * eps);
  }
  return Tensor::from_values(base.shape(), grad, DType::f64);
}

/// The lecture's straight-line program (lab 02): z1 = w1/w2, z2 = sin(2π z1), z3 = exp(2 w2),
/// z4 = 3 z1 − z3, z5 = z2 + z4, f = z6 = z4·z5, on scalar f64 inputs w1, w2.
inline Node* straight_line_program(Node* w1, Node* w2) {
  const double two_pi = 2 * 3.14159265358979323846;
  Node* z1 = div(w1, w2);
  Node* z2 = sin(mul(z1, two_pi));
  Node* z3 = exp(mul(w2, 2.0));
  Node* z4 = sub(mul(z1, 3.0), z3);
  Node* z5 = add(z2, z4);
  return mul(z4, z5);
}

/// Expects |a − b| ≤ atol + rtol·|b| for every element; on failure names `what`, the first
/// element that is off, both values and the shapes. Graded, `a` is observed in f64 (the check
/// ignores the dtype) with twice the tolerances: two answers that each pass this check may
/// differ by that much.
inline ::testing::AssertionResult close(const std::string& what, const Tensor& a, const Tensor& b,
                                        double atol = 1e-6, double rtol = 1e-6) {
  observe::tensor(what, a.defined() ? a.astype(DType::f64) : a, 2 * atol, 2 * rtol);
  if (!a.defined()) return ::testing::AssertionFailure() << what << ": got an undefined tensor";
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure()
           << what << ": shape " << shape_str(a.shape()) << ", expected " << shape_str(b.shape());
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  for (size_t i = 0; i < x.size(); ++i) {
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i])))
      return ::testing::AssertionFailure()
             << what << ": element " << i << " is " << x[i] << ", expected " << y[i]
             << " (difference " << x[i] - y[i] << ", atol " << atol << ", rtol " << rtol << ")";
  }
  return ::testing::AssertionSuccess();
}

/// Expects |a − expected| ≤ tol for a one-element tensor, explaining `why` on failure.
/// Graded, its one element is observed within 2·tol (see close; the shape is not checked).
inline ::testing::AssertionResult near(const std::string& what, const Tensor& a, double expected,
                                       double tol, const std::string& why = "") {
  if (a.defined() && a.numel() == 1)
    observe::value(what, a.item(), 2 * tol);
  else
    observe::flag(what + ": one element", false);
  if (!a.defined()) return ::testing::AssertionFailure() << what << ": got an undefined tensor";
  if (a.numel() != 1)
    return ::testing::AssertionFailure()
           << what << ": expected one element, got shape " << shape_str(a.shape());
  const double v = a.item();
  if (!(std::abs(v - expected) <= tol))
    return ::testing::AssertionFailure()
           << what << " is " << v << ", expected " << expected << " (within " << tol << ")"
           << (why.empty() ? "" : ": ") << why;
  return ::testing::AssertionSuccess();
}

/// The lecture's training step by hand, in plain loops (lab 04's reference):
/// L = mean((relu(x w1) w2 − y)²) over all b·n_out elements, then θ ← θ − η∇L.
struct HandMadeStep {
  int64_t b, n_in, h, n_out;
  std::vector<double> w1, w2;  // (n_in, h), (h, n_out)
  double step(const std::vector<double>& x, const std::vector<double>& y, double lr) {
    std::vector<double> z(b * h), a(b * h), p(b * n_out, 0.0);
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < h; ++j) {
        double s = 0;
        for (int64_t k = 0; k < n_in; ++k) s += x[i * n_in + k] * w1[k * h + j];
        z[i * h + j] = s;
        a[i * h + j] = s > 0 ? s : 0;
      }
    double loss = 0;
    for (int64_t i = 0; i < b; ++i)
      for (int64_t o = 0; o < n_out; ++o) {
        for (int64_t j = 0; j < h; ++j) p[i * n_out + o] += a[i * h + j] * w2[j * n_out + o];
        const double d = p[i * n_out + o] - y[i * n_out + o];
        loss += d * d;
      }
    const double count = static_cast<double>(b * n_out);
    std::vector<double> dp(b * n_out), g1(n_in * h, 0.0), g2(h * n_out, 0.0), dz(b * h, 0.0);
    for (int64_t i = 0; i < b * n_out; ++i) dp[i] = 2 * (p[i] - y[i]) / count;
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < h; ++j)
        for (int64_t o = 0; o < n_out; ++o) {
          g2[j * n_out + o] += a[i * h + j] * dp[i * n_out + o];
          if (z[i * h + j] > 0) dz[i * h + j] += dp[i * n_out + o] * w2[j * n_out + o];
        }
    for (int64_t i = 0; i < b; ++i)
      for (int64_t k = 0; k < n_in; ++k)
        for (int64_t j = 0; j < h; ++j) g1[k * h + j] += x[i * n_in + k] * dz[i * h + j];
    for (size_t i = 0; i < w1.size(); ++i) w1[i] -= lr * g1[i];
    for (size_t i = 0; i < w2.size(); ++i) w2[i] -= lr * g2[i];
    return loss / count;
  }
};

// ---- checks of one rule, against the tests' own central differences -------------------------

/// Σₖ ⟨∂probe/∂inputsₖ, directionsₖ⟩ at `at`, by oracle_gradient: the directional derivative
/// of the scalar `probe` that a JVP must reproduce.
inline double directional_derivative(Node* probe, const std::vector<Node*>& inputs,
                                     const std::vector<Tensor>& directions, const Feeds& at) {
  double d = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const std::vector<double> grad = oracle_gradient(probe, inputs[k], at).to_doubles();
    const std::vector<double> dir = directions[k].to_doubles();
    for (size_t i = 0; i < grad.size(); ++i) d += grad[i] * dir[i];
  }
  return d;
}

/// Applies the VJP rule of `node` (`rule` names it and its formula, for the messages) to a
/// random adjoint ȳ drawn from `seed`, and compares the entry of every input in `wrt` with
/// the central difference of Σ(node ∘ ȳ) with respect to that input.
inline ::testing::AssertionResult vjp_rule_matches(Node* node, const Feeds& at,
                                                   const std::vector<Node*>& wrt, uint64_t seed,
                                                   const std::string& rule, double atol = 1e-6,
                                                   double rtol = 1e-6) {
  Graph& g = *node->graph;
  const OpDef& def = node->def();
  if (def.vjp == nullptr)
    return ::testing::AssertionFailure() << rule << ": op " << def.name << " has no VJP rule";
  Node* adjoint = g.constant(uniform(node->shape, seed, -1, 1, node->dtype));
  const std::vector<Node*> adjoints = def.vjp(*node, adjoint);
  if (adjoints.size() != node->inputs.size())
    return ::testing::AssertionFailure()
           << rule << ": the rule returned " << adjoints.size() << " adjoints for "
           << node->inputs.size() << " inputs (one entry per input)";
  Node* probe = sum(mul(node, adjoint));
  for (size_t k = 0; k < node->inputs.size(); ++k) {
    Node* in = node->inputs[k];
    bool wanted = false;
    for (Node* w : wrt) wanted = wanted || w == in;
    if (!wanted) continue;
    const std::string what = rule + ", adjoint of input " + std::to_string(k) + " " +
                             shape_str(in->shape) + " for y " + shape_str(node->shape);
    if (adjoints[k] == nullptr)
      return ::testing::AssertionFailure() << what << ": got nullptr, expected an adjoint";
    if (adjoints[k]->shape != in->shape)
      return ::testing::AssertionFailure()
             << what << ": got shape " << shape_str(adjoints[k]->shape)
             << ", expected the input's shape " << shape_str(in->shape);
    const ::testing::AssertionResult r =
        close(what, eval(adjoints[k], at), oracle_gradient(probe, in, at), atol, rtol);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

/// Applies the JVP rule of `node` to random tangents (from `seed`) for the inputs in `moving`
/// and nullptr (zero) for the others, and compares ⟨ẏ, r⟩ for a random r with the directional
/// derivative of Σ(node ∘ r) by central differences. `rule` names the rule and its formula.
inline ::testing::AssertionResult jvp_rule_matches(Node* node, const Feeds& at,
                                                   const std::vector<Node*>& moving, uint64_t seed,
                                                   const std::string& rule) {
  Graph& g = *node->graph;
  const OpDef& def = node->def();
  if (def.jvp == nullptr)
    return ::testing::AssertionFailure() << rule << ": op " << def.name << " has no JVP rule";
  std::map<Node*, Node*> tangent_of;  // one tangent Input per distinct moving input
  std::vector<Node*> inputs, tangents;
  std::vector<Tensor> directions;
  Feeds feeds = at;
  for (Node* in : moving) {
    if (tangent_of.count(in)) continue;
    Node* t = g.input(in->name + "_dot", in->shape, in->dtype);
    tangent_of[in] = t;
    inputs.push_back(in);
    directions.push_back(uniform(in->shape, seed + 1 + inputs.size()));
    feeds[t] = directions.back();
  }
  for (Node* in : node->inputs) tangents.push_back(tangent_of.count(in) ? tangent_of[in] : nullptr);
  Node* r = g.constant(uniform(node->shape, seed));
  const double expected = directional_derivative(sum(mul(node, r)), inputs, directions, at);
  Node* tangent = def.jvp(*node, tangents);
  if (tangent == nullptr)
    return ::testing::AssertionFailure() << rule << ": got nullptr (a zero tangent), but "
                                         << "the inputs move";
  if (tangent->shape != node->shape)
    return ::testing::AssertionFailure()
           << rule << ": the tangent has shape " << shape_str(tangent->shape) << ", expected y's "
           << shape_str(node->shape);
  return near(rule + " (ẏ projected on a random r)", eval(sum(mul(tangent, r)), feeds), expected,
              1e-6 * (1 + std::abs(expected)));
}

// ---- running the work in a child process ----------------------------------------------------

/// A check that runs apart from the test's own process (see in_child).
using Check = std::function<::testing::AssertionResult()>;

/// The stack of the thread that runs the long-chain checks: enough for the library and an
/// iterative walk, far too little for a recursive one over 10⁵ nodes.
constexpr size_t kSmallStack = 256 * 1024;

namespace detail {
struct ChildCheck {
  const Check* check = nullptr;
  bool passed = false;
  std::string message;
};
inline void* run_child_check(void* arg) {
  auto* run = static_cast<ChildCheck*>(arg);
  try {
    const ::testing::AssertionResult r = (*run->check)();
    run->passed = static_cast<bool>(r);
    run->message = r.message();
  } catch (const std::exception& e) {
    run->message = e.what();
  } catch (...) {
    run->message = "threw something that is not a std::exception";
  }
  return nullptr;
}
}  // namespace detail

/// Runs `check` in a forked child process, on a thread whose stack is `stack_bytes`, and
/// returns its result. When the child dies (a stack overflow, a null pointer), the failure
/// quotes `hint`, so the test says where to look and not only that it crashed.
inline ::testing::AssertionResult in_child(const std::string& hint, const Check& check,
                                           size_t stack_bytes = 8u << 20) {
  int fds[2];
  if (::pipe(fds) != 0) return ::testing::AssertionFailure() << "pipe: " << std::strerror(errno);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);
  if (pid == 0) {  // the child: run on its own thread, report, leave without cleanup
    ::close(fds[0]);
    detail::ChildCheck run;
    run.check = &check;
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_bytes);
    if (pthread_create(&thread, &attr, detail::run_child_check, &run) == 0)
      pthread_join(thread, nullptr);
    else
      run.message = "could not start a thread";
    const std::string text = (run.passed ? "1" : "0") + run.message;
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n > 0)
      text.append(buf, static_cast<size_t>(n));
    else if (errno != EINTR)
      break;
  }
  ::close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return ::testing::AssertionFailure()
           << "crashed with signal " << WTERMSIG(status) << " (" << strsignal(WTERMSIG(status))
           << ") on a thread with a " << stack_bytes / 1024 << " KiB stack: " << hint;
  if (text.empty())
    return ::testing::AssertionFailure() << "the code under test ended the process (exit "
                                         << "status " << WEXITSTATUS(status) << "): " << hint;
  if (text[0] == '1') return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text.substr(1);
}

/// in_child on a 256 KiB stack: for the long-chain tests, where recursion must fail.
inline ::testing::AssertionResult on_small_stack(const std::string& hint, const Check& check) {
  return in_child(hint, check, kSmallStack);
}

// ---- errors ------------------------------------------------------------------------------

/// throws() without the observation.
template <typename E = Error>
::testing::AssertionResult throws_unobserved(const std::function<void()>& call,
                                             const std::string& text, const std::string& why) {
  try {
    call();
  } catch (const NotImplemented& e) {
    return ::testing::AssertionFailure() << e.what();
  } catch (const E& e) {
    if (std::string(e.what()).find(text) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got the error \"" << e.what()
                                         << "\", expected one that names " << text << ": " << why;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "got \"" << e.what() << "\", expected a "
                                         << "gw::Error that names " << text << ": " << why;
  }
  return ::testing::AssertionFailure()
         << "returned normally, expected a gw::Error that names " << text << ": " << why;
}

/// Expects `call` to throw an `E` (a gw::Error) whose message contains `text`; `why` says
/// what the rule is. A NotImplemented (an untouched stub) is a failure like any other.
/// Graded, whether it did is observed (the error's exact type is not: any `E` passes).
template <typename E = Error>
::testing::AssertionResult throws(const std::function<void()>& call, const std::string& text,
                                  const std::string& why) {
  ::testing::AssertionResult r = throws_unobserved<E>(call, text, why);
  observe::flag("throws an error naming " + text, static_cast<bool>(r));
  return r;
}

/// For as long as it lives, `op`'s VJP rule is `rule` (a test plants a wrong rule this way
/// to see that backprop and gradients check what rules return).
class PlantedVjp {
 public:
  PlantedVjp(Op op, VjpRule rule) : op_(op), saved_(replace_vjp_for_testing(op, rule)) {}
  ~PlantedVjp() { replace_vjp_for_testing(op_, saved_); }
  PlantedVjp(const PlantedVjp&) = delete;
  PlantedVjp& operator=(const PlantedVjp&) = delete;

 private:
  Op op_;
  VjpRule saved_;
};

/// A VJP rule that returns an adjoint of the wrong shape: a scalar, whatever the input.
inline std::vector<Node*> wrong_shape_vjp(Node& y, Node* adjoint) {
  return {sum(mul(adjoint, &y))};
}

/// y = Σ rms_norm_backward_input(x, w, ȳ): an op with no VJP and no JVP rule on x's path.
inline Node* op_without_rules(Node* x) {
  Graph& g = *x->graph;
  const int64_t h = x->shape.back();
  Node* w = g.constant(uniform({h}, 5, 0.5, 1.5, x->dtype));
  Node* y_bar = g.constant(uniform(x->shape, 6, -1, 1, x->dtype));
  return sum(rms_norm_backward_input(x, w, y_bar));
}

/// Reverse mode as the error tests call it: backprop (lab 03) or gradients (lab 04) of the
/// scalar y with respect to x, at the feeds `at`.
using Differentiate = std::function<void(Node* y, Node* x, const Feeds& at)>;

/// Expects `differentiate` to fail with a gw::Error naming the op when an op without a VJP
/// rule lies on the way, for x of `shape` drawn from `seed` (in a child: a call of the null
/// rule would crash).
inline ::testing::AssertionResult rejects_op_without_vjp(const Differentiate& differentiate,
                                                         const Shape& shape, uint64_t seed) {
  Graph g;
  Node* x = g.input("x", shape, DType::f64);
  Node* y = add(op_without_rules(exp(x)), sum(x));
  const Feeds at{{x, uniform(shape, seed)}};
  return in_child("check node->def().vjp before calling it", [&] {
    return throws([&] { differentiate(y, x, at); }, "rms_norm_backward_input",
                  "an op on the way without a VJP rule is an error naming the op (never a "
                  "silent zero)");
  });
}

/// Expects `differentiate` to fail with a gw::ShapeError naming the shape () when the rule
/// of `op` (the op of build(x)) is replaced by one that returns a scalar adjoint.
inline ::testing::AssertionResult rejects_wrong_shape_rule(const Differentiate& differentiate,
                                                           Op op, Node* (*build)(Node*),
                                                           const Shape& shape, uint64_t seed) {
  PlantedVjp planted(op, wrong_shape_vjp);
  Graph g;
  Node* x = g.input("x", shape, DType::f64);
  Node* y = sum(mul(build(x), x));
  const Feeds at{{x, uniform(shape, seed, 0.5, 1.5)}};
  return throws<ShapeError>([&] { differentiate(y, x, at); }, "()",
                            "a rule that returns an adjoint whose shape is not its input's "
                            "(here a scalar) is a gw::ShapeError naming the shape: check every "
                            "partial's shape");
}

// ---- graphs ------------------------------------------------------------------------------

/// is_topological() without the observation.
inline ::testing::AssertionResult is_topological_unobserved(const std::vector<Node*>& order,
                                                            const std::vector<Node*>& outputs) {
  std::unordered_map<const Node*, size_t> at;
  for (size_t i = 0; i < order.size(); ++i)
    if (!at.emplace(order[i], i).second)
      return ::testing::AssertionFailure() << order[i]->str() << " appears twice in the order";
  std::vector<Node*> stack(outputs);
  std::unordered_set<const Node*> seen(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    auto it = at.find(n);
    if (it == at.end())
      return ::testing::AssertionFailure() << n->str()
                                           << " is needed by an output but "
                                              "missing from the order";
    for (Node* in : n->inputs) {
      auto jt = at.find(in);
      if (jt != at.end() && jt->second > it->second)
        return ::testing::AssertionFailure() << in->str() << " comes after its consumer "
                                             << n->str() << ": inputs must come first";
      if (seen.insert(in).second) stack.push_back(in);
    }
  }
  if (seen.size() != order.size())
    return ::testing::AssertionFailure() << "the order has " << order.size() << " nodes, but "
                                         << "the outputs depend on " << seen.size();
  return ::testing::AssertionSuccess();
}

/// Checks that `order` holds every node that `outputs` depend on exactly once, each after its
/// inputs, and nothing else. Graded, the order's length and the outcome are observed (many
/// orders are right, so the order itself is not).
inline ::testing::AssertionResult is_topological(const std::vector<Node*>& order,
                                                 const std::vector<Node*>& outputs) {
  ::testing::AssertionResult r = is_topological_unobserved(order, outputs);
  observe::count("nodes in the order", static_cast<int64_t>(order.size()));
  observe::flag("the order is topological", static_cast<bool>(r));
  return r;
}

/// A chain x → ((x·c) + d)·c + d … of `length` ops: 10⁵ of them overflow a recursive walk on
/// a small stack. ∂out/∂x = c^(length/2).
inline Node* long_chain(Node* x, int length, double c = 1.0, double d = 1e-6) {
  Node* v = x;
  for (int i = 0; i < length; ++i) v = (i % 2 == 0) ? mul(v, c) : add(v, d);
  return v;
}

}  // namespace gw::labs
