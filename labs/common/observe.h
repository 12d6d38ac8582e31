// observe.h — what a test computed with the student's code, sent to the grader's judge.
//
// In a normal build (ctest, ./gradwork lab NN) every function here does nothing: the test's
// own assertions (EXPECT_*, labs::close, labs::near) decide, with their usual messages.
//
// In grading mode (the program was started by gw-grade, whose test main sets the sink) each
// call writes one observation — a name and a value that the test computed — to the grader,
// never a verdict. The grader runs the same test with the reference lab code in a process of
// its own (the trusted run) and compares the two streams: the same names in the same order,
// numbers within the tolerance *the trusted run* declared, the same error kinds. A test
// passes only when its whole stream matches and the program ended normally, so the only way
// to pass is to compute the answers (see grader/README.md, "How a test is judged").
//
// Writing good observations:
//   * observe what the student's code computed (a gradient, a count, an index list, the kind
//     of error it threw), not the outcome of a comparison: a flag is the weakest observation
//     (anyone can send `true`), a number the strongest;
//   * give every observation a name that says what it is: the names must come in the same
//     order in both runs, and a public test's mismatch message quotes the name;
//   * the tolerance is the one the test asserts with (the judge uses the trusted run's);
//   * observe values only the student's code determines: whatever the test computes on its
//     own (a hand-made expected value) is the same in both runs and proves nothing.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <typeinfo>
#include <vector>

#include "gw/tensor.h"

#if defined(__GNUG__)
#include <cxxabi.h>

#include <cstdlib>
#endif

namespace gw::observe {

/// Where observations go. Set by the grader's test main (grader/runner/gw_test_main.cpp) in
/// grading mode; null otherwise (then every call below is a no-op).
using Sink = void (*)(const std::string& line);
inline Sink g_sink = nullptr;

/// True in grading mode.
inline bool active() { return g_sink != nullptr; }

namespace detail {

/// Percent-encodes what a record field must not hold (space, newline, '%', control bytes).
inline std::string word(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c <= ' ' || c == '%' || c == 0x7F) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out.empty() ? "%" : out;  // "%" alone: the empty string
}

/// A double that reads back exactly ("nan", "inf", "-inf" for the non-finite).
inline std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline void emit(const std::string& kind, const std::string& name, const std::string& payload) {
  if (g_sink) g_sink("O " + kind + " " + word(name) + (payload.empty() ? "" : " " + payload));
}

inline std::string type_name(const std::exception& e) {
  const char* mangled = typeid(e).name();
#if defined(__GNUG__)
  int status = 0;
  char* plain = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status == 0 && plain) {
    std::string out = plain;
    std::free(plain);
    return out;
  }
#endif
  return mangled;
}

}  // namespace detail

/// A number the student's code computed; matches when |yours − reference| ≤ atol + rtol·|reference|.
inline void value(const std::string& name, double v, double atol = 0, double rtol = 0) {
  if (!active()) return;
  detail::emit("value", name, detail::number(v) + " " + detail::number(atol) + " " + detail::number(rtol));
}

/// An exact integer (a count of calls, an index, a size).
inline void count(const std::string& name, int64_t n) {
  if (!active()) return;
  detail::emit("count", name, std::to_string(n));
}

/// A yes/no outcome. The weakest observation: prefer the number the decision was made from.
inline void flag(const std::string& name, bool b) {
  if (!active()) return;
  detail::emit("flag", name, b ? "1" : "0");
}

/// Exact text (a shape, a dtype, an op name).
inline void text(const std::string& name, const std::string& s) {
  if (!active()) return;
  detail::emit("text", name, detail::word(s));
}

/// A list of exact integers (flat indices, a shape).
inline void indices(const std::string& name, const std::vector<int64_t>& v) {
  if (!active()) return;
  std::string payload = std::to_string(v.size());
  for (int64_t x : v) payload += " " + std::to_string(x);
  detail::emit("ints", name, payload);
}

/// A list of numbers, each within atol + rtol·|reference|.
inline void values(const std::string& name, const std::vector<double>& v, double atol = 0,
                   double rtol = 0) {
  if (!active()) return;
  std::string payload = detail::number(atol) + " " + detail::number(rtol) + " " + std::to_string(v.size());
  for (double x : v) payload += " " + detail::number(x);
  detail::emit("values", name, payload);
}

/// A tensor: its dtype and shape exactly, its elements within atol + rtol·|reference|.
/// An undefined tensor is an observation too (it matches only an undefined one).
inline void tensor(const std::string& name, const Tensor& t, double atol = 0, double rtol = 0) {
  if (!active()) return;
  if (!t.defined()) {
    detail::emit("tensor", name, "undefined");
    return;
  }
  std::string payload = std::string(dtype_name(t.dtype())) + " " + std::to_string(t.shape().size());
  for (int64_t d : t.shape()) payload += " " + std::to_string(d);
  const std::vector<double> v = t.to_doubles();
  payload += " " + detail::number(atol) + " " + detail::number(rtol) + " " + std::to_string(v.size());
  for (double x : v) payload += " " + detail::number(x);
  detail::emit("tensor", name, payload);
}

/// The error the student's code threw: its kind (the exception's type) must match; the
/// message is shown, not compared.
inline void error(const std::string& name, const std::exception& e) {
  if (!active()) return;
  detail::emit("error", name, detail::word(detail::type_name(e)) + " " + detail::word(e.what()));
}

/// "No error was thrown" where the reference may throw one (the counterpart of error()).
inline void no_error(const std::string& name) {
  if (!active()) return;
  detail::emit("error", name, "none %");
}

}  // namespace gw::observe
