// callgraph.h — forbidden routes, derived from the reference's compiled objects.
//
// A lab may not reach another lab's solution by any path: lab 03 may not call gradients()
// (lab 04), nor jacobian_reverse(), which calls gradients() underneath. No list is written by
// hand: the grader reads the call graph out of the objects it builds (the framework is built
// with -ffunction-sections, so every call between functions is a relocation of the caller's
// own section) and derives, for each lab L:
//   * the solutions of the other labs: every strong function their lab files define;
//   * what the reference of lab L itself reaches through the framework: allowed to L (the
//     reference is by definition a fair solution);
//   * forbidden to L: the other labs' solutions the reference of L does not reach, and every
//     function of the framework from which one of them is reachable by calls.
// Edges: direct calls and tail calls (R_X86_64_PLT32, R_AARCH64_CALL26/JUMP26), a function's
// references to functions of its own translation unit (lambdas, std::function thunks) and to
// vtables, and a vtable's entries. Not followed: function pointers stored in tables at run
// time (the op table's rules are reached this way by design: lab 04 applies lab 03's VJP
// rules through it), and the lab's own functions (the student's code replaces them).
// A student's object is forbidden when any symbol it references is in that set.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace gw::grader {

/// The routes forbidden to one lab: for each symbol from which another lab's solution is
/// reachable, the next symbol on the way (empty for the solution itself).
struct Routes {
  std::map<std::string, std::string> next;
  std::map<std::string, std::string> owner;  ///< a solution symbol -> "lab 04 (reference/autodiff/gradients.cpp)"
};

/// Inputs of derive_routes: the framework's objects and, per lab, its reference objects.
struct CallGraphInput {
  std::vector<std::string> framework_objects;
  std::map<std::string, std::vector<std::string>> lab_objects;   ///< lab id -> objects
  std::map<std::string, std::string> object_file;               ///< object -> its source (for messages)
};

/// Reads the objects (readelf) and derives every lab's forbidden routes. Throws gw::Error
/// when readelf fails.
std::map<std::string, Routes> derive_routes(const CallGraphInput& input);

/// The symbols an object references but does not define (its calls out).
std::vector<std::string> undefined_symbols(const std::string& object);

/// The first forbidden route among `symbols` in words ("calls gw::jacobian_reverse(...), which
/// calls gw::gradients(...): lab 04's solution (reference/autodiff/gradients.cpp)"), or "".
std::string forbidden_route(const Routes& routes, const std::vector<std::string>& symbols);

/// Demangles C++ symbols (c++filt), in order.
std::vector<std::string> demangle(const std::vector<std::string>& symbols);

}  // namespace gw::grader
