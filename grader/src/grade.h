// grade.h — runs every test case of a built submission in the sandbox, judges it against the
// trusted run of the same test on the reference (judge.h), and scores it with the rubric;
// performance items time the student against the reference, interleaved.
#pragma once

#include <string>
#include <vector>

#include "framework.h"
#include "sandbox.h"
#include "submission.h"

namespace gw::grader {

/// One graded item: a test case or a performance item.
struct TestResult {
  std::string lab;          ///< "03"
  std::string group;        ///< "public", "hidden" or "benchmark"
  std::string name;         ///< "Suite.Name" or the benchmark's name
  std::string status;       ///< passed | failed | skipped | void | not_run
  std::string verdict;      ///< how it was judged: "observations" (compared with the trusted
                            ///< run) or "process" (the test sends no observations yet: the
                            ///< program's own outcome, which its code could forge)
  std::string reason;       ///< why it failed (shown for public tests and benchmarks)
  std::string outcome;      ///< what a hidden test may show: passed / failed (kind) / timed out ...
  std::string output;       ///< the program's output (instructor report only)
  double score = 0, max_score = 0;
  double seconds = 0;
  double student_ms = 0, reference_ms = 0, ratio = 0;  ///< benchmarks only
};

/// One lab of one submission.
struct LabResult {
  std::string id, title;
  std::string build_status;   ///< ok | rejected | compile_error | forbidden | link_error | not_built
  std::string build_message;
  std::vector<std::string> notes;
  std::vector<TestResult> tests;
  double score = 0, max_score = 0;
  double build_seconds = 0;
};

/// One submission.
struct SubmissionResult {
  std::string name, input;
  std::string error;          ///< could not be opened/graded (score 0)
  std::vector<std::string> defects;  ///< tests voided because the reference fails them (grader bugs)
  std::vector<LabResult> labs;
  double score = 0, max_score = 0;
  double seconds = 0;
  std::string seed;           ///< the hidden-input seed used
  std::string sandbox;        ///< what isolation was in effect
  bool gpu = false;
};

/// Options of grading.
struct GradeOptions {
  std::vector<std::string> labs;   ///< lab ids to grade (empty: all)
  SandboxLimits limits;            ///< per test case
  double deadline = 0;             ///< now_s() after which no test starts (0: none)
  std::vector<std::string> seeds;  ///< hidden seeds (empty: the release's own seed)
  bool keep_work = false;
  bool verbose = false;
};

/// Grades one submission end to end; never throws for anything the submission does.
SubmissionResult grade_submission(const std::string& input, const GradeContext& ctx,
                                  const GradeOptions& options);
/// The same, once per seed of options.seeds (built once; the public tests, which do not read
/// the hidden seed, and the performance items run with the first seed only).
std::vector<SubmissionResult> grade_submission_seeds(const std::string& input, const GradeContext& ctx,
                                                     const GradeOptions& options);
/// The hidden seed of this grader release: fixed by the contents of the grader's tree.
std::string release_seed(const Framework& framework);

/// Points of a performance item for a time ratio (student / reference).
double benchmark_points(double ratio, double points, double full_at, double zero_at);

}  // namespace gw::grader
