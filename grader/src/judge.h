// judge.h — the verdict of a test case, made in the grader's process from two observation
// streams: the student's run and the trusted run (the same test linked with the reference
// lab code, run in a process of its own). See labs/common/observe.h for what a test sends
// and grader/README.md ("How a test is judged") for why this cannot be forged.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace gw::grader {

/// One observation: its kind (value, count, flag, text, ints, values, tensor, error), its
/// name, and the payload's fields.
struct Observation {
  std::string kind, name;
  std::vector<std::string> fields;
};

/// What one run reported for one test case.
struct TestStream {
  bool started = false;          ///< an "S <test>" line arrived
  bool ended = false;            ///< an "E <test> ..." line arrived after it
  std::string outcome;           ///< GoogleTest's own outcome in that run: pass | fail | skip
  double ns = 0;                 ///< the test body's duration as the program measured it
  double cpu_ns = 0;             ///< the CPU time of the test body (every thread), likewise
  std::vector<Observation> observations;
};

/// Every test case's stream in `records` (a trusted run of a whole program).
std::map<std::string, TestStream> parse_streams(const std::string& records);
/// The stream of `test` in `records`: from its first "S" line to the next "E" line.
TestStream parse_stream(const std::string& records, const std::string& test);

/// Why a trusted stream cannot serve as the reference (empty when it can): the reference
/// did not pass the test, or it observed a NaN or an infinity.
std::string trusted_defect(const TestStream& trusted);

/// The comparison of a student's stream with the trusted one.
struct Comparison {
  bool match = false;
  std::string why;  ///< the first difference, in words (for public tests and the report)
};

/// Same observations in the same order: kinds and names equal, numbers within the trusted
/// run's tolerances (the student's are ignored), exact values equal, error kinds equal.
Comparison compare_streams(const TestStream& trusted, const TestStream& student);

/// Percent-decodes a record field (observe.h's detail::word).
std::string decode_word(const std::string& w);

}  // namespace gw::grader
