// report.h — the grader's outputs: a terminal table, Gradescope's results.json, the full
// machine-readable JSON, and a CSV gradebook for a folder of submissions.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "grade.h"

namespace gw::grader {

/// Lab, test, points and reason per line, with a total per lab and overall.
void print_table(const SubmissionResult& r, std::ostream& os);
/// One line for one seed of a multi-seed grading: seed, score, and the tests that failed.
void print_seed_line(const SubmissionResult& r, std::ostream& os);
/// Gradescope's results.json. Hidden tests show their outcome, never their assertions; their
/// visibility is `hidden_visibility` (after_due_date unless the instructor says otherwise).
nlohmann::json gradescope_json(const SubmissionResult& r, const std::string& hidden_visibility = "after_due_date");
/// Gradescope's results.json for a grader that failed itself: score 0 and the reason.
nlohmann::json gradescope_failure(const std::string& reason, double seconds);
/// Everything, for instructors and scripts.
nlohmann::json full_json(const SubmissionResult& r);
/// One row per submission: name, each lab's score, total, maximum, status.
std::string csv_gradebook(const std::vector<SubmissionResult>& results, const std::vector<std::string>& lab_ids);

}  // namespace gw::grader
