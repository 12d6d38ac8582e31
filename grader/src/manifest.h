// manifest.h — the grader's view of labs/labs.json and of an optional rubric override.
//
// labs.json lists, for each lab, its title, folder and handout, its files (reference paths)
// and their student copies, public and hidden tests and the targets that build them, points
// per group and benchmarks (performance items). What a lab may not call is derived from the
// reference's call graph (callgraph.h); optional "forbidden_symbols" add rules. (Its "labels" are
// CMake's alone: the ctest labels of the test programs.) A rubric file
// (--rubric) may override points per lab, per group, per test, and per benchmark:
//   {"labs": {"03": {"public": 30, "hidden": 70, "tests": {"Lab03Hidden.DeepChain": 10},
//                    "benchmarks": {"backprop speed": 20}, "timeout_s": 60}}}
#pragma once

#include <map>
#include <string>
#include <vector>

namespace gw::grader {

/// A performance item: a test case timed against the reference in the same run.
struct Benchmark {
  std::string name;          ///< shown in the report
  std::string program = "hidden";  ///< "public" or "hidden": which test program holds it
  std::string test;          ///< the GoogleTest case, "Suite.Name"
  double points = 0;
  int repetitions = 5;       ///< per side; the best times are compared
  bool gpu = false;          ///< graded only where a GPU is present
  double full_at = 1.2;      ///< full points at or below this time ratio
  double zero_at = 10.0;     ///< no points at or beyond this ratio
};

/// One lab of the manifest.
struct Lab {
  std::string id, title, dir;
  std::string handout;                    ///< the handout's path
  std::vector<std::string> files;         ///< reference paths of the student's files
  std::vector<std::string> student_files; ///< their student copies, in the same order
  std::vector<std::string> public_tests;  ///< test sources
  std::vector<std::string> hidden_tests;
  std::map<std::string, std::string> targets;  ///< "public"/"hidden" -> test program target
  double public_points = 0, hidden_points = 0;
  std::map<std::string, double> test_points;  ///< per-test overrides ("Suite.Name")
  std::vector<Benchmark> benchmarks;
  std::vector<std::string> forbidden_symbols;  ///< extra rules: ECMAScript regexes over nm -C names
  double timeout_s = 0;                   ///< per-test timeout override (0: the default)
  /// The student copy of a reference lab file (from "student_files").
  std::string student_path(const std::string& reference_file) const;
};

/// The whole manifest.
struct Manifest {
  std::vector<Lab> labs;
  /// The lab with this id, or nullptr.
  const Lab* find(const std::string& id) const;
};

/// Reads labs.json and applies the rubric (empty path: none). Throws gw::IoError with the
/// file name on a malformed file.
Manifest load_manifest(const std::string& manifest_path, const std::string& rubric_path = "");

}  // namespace gw::grader
