// test_scoring.cpp — the rubric arithmetic and the manifest reader: performance points by
// time ratio, rubric overrides, and clear errors for malformed files.
#include <gtest/gtest.h>

#include <cmath>

#include "grade.h"
#include "gw/error.h"
#include "manifest.h"
#include "util.h"

namespace gw::grader {
namespace {

TEST(BenchmarkPoints, FullPointsAtOrBelowTheFullRatio) {
  EXPECT_DOUBLE_EQ(benchmark_points(0.5, 10, 1.2, 10), 10);
  EXPECT_DOUBLE_EQ(benchmark_points(1.2, 10, 1.2, 10), 10);
}

TEST(BenchmarkPoints, NoPointsAtOrBeyondTheZeroRatio) {
  EXPECT_DOUBLE_EQ(benchmark_points(10, 10, 1.2, 10), 0);
  EXPECT_DOUBLE_EQ(benchmark_points(250, 10, 1.2, 10), 0);
}

TEST(BenchmarkPoints, ProportionalInBetween) {
  EXPECT_NEAR(benchmark_points(5.6, 10, 1.2, 10), 5.0, 1e-12);  // halfway from 1.2 to 10
  EXPECT_GT(benchmark_points(2, 10, 1.2, 10), benchmark_points(3, 10, 1.2, 10));
}

TEST(BenchmarkPoints, AMissingMeasurementScoresNothing) {
  EXPECT_DOUBLE_EQ(benchmark_points(0, 10, 1.2, 10), 0);
  EXPECT_DOUBLE_EQ(benchmark_points(NAN, 10, 1.2, 10), 0);
}

// A file in one temporary folder per test program, removed at exit.
std::string temp_file(const std::string& text) {
  static const std::string dir = [] {
    const std::string d = make_temp_dir("gw-manifest-test-");
    static struct Cleanup {
      std::string path;
      ~Cleanup() { remove_all(path); }
    } cleanup{d};
    return d;
  }();
  static int n = 0;
  const std::string path = dir + "/f" + std::to_string(n++) + ".json";
  write_text(path, text);
  return path;
}

const char* kManifest = R"({"labs": [{"id": "03", "title": "Reverse mode", "dir": "labs/03-reverse-mode",
  "handout": "handouts/lab03-reverse-mode.md", "files": ["reference/autodiff/backprop.cpp"],
  "student_files": ["labs/03-reverse-mode/my_backprop.cpp"], "public_tests": ["a.cpp"],
  "hidden_tests": ["b.cpp"], "targets": {"public": "p03", "hidden": "h03"},
  "points": {"public": 40, "hidden": 60}, "forbidden_symbols": ["std::sort"],
  "benchmarks": [{"name": "speed", "test": "Perf.Deep", "points": 10}]}]})";

TEST(Manifest, ReadsFilesTestsPointsBenchmarksAndForbiddenSymbols) {
  const Manifest m = load_manifest(temp_file(kManifest));
  ASSERT_EQ(m.labs.size(), 1u);
  const Lab& lab = m.labs[0];
  EXPECT_EQ(lab.student_path(lab.files[0]), "labs/03-reverse-mode/my_backprop.cpp")
      << "the student copy is the manifest's student_files entry, whatever its name";
  EXPECT_EQ(lab.targets.at("public"), "p03");
  EXPECT_EQ(lab.handout, "handouts/lab03-reverse-mode.md");
  EXPECT_EQ(lab.public_points, 40);
  EXPECT_EQ(lab.hidden_points, 60);
  ASSERT_EQ(lab.benchmarks.size(), 1u);
  EXPECT_EQ(lab.benchmarks[0].program, "hidden") << "benchmarks default to the hidden program";
  EXPECT_EQ(lab.benchmarks[0].repetitions, 5);
  EXPECT_EQ(lab.forbidden_symbols, std::vector<std::string>{"std::sort"});
}

TEST(Manifest, ARubricOverridesPointsPerGroupTestAndBenchmark) {
  const Manifest m = load_manifest(temp_file(kManifest), temp_file(R"({"labs": {"03": {"public": 10,
      "tests": {"Hidden.Deep": 25}, "benchmarks": {"speed": 30}, "timeout_s": 90}}})"));
  const Lab& lab = m.labs[0];
  EXPECT_EQ(lab.public_points, 10);
  EXPECT_EQ(lab.hidden_points, 60) << "groups the rubric does not name keep the manifest's points";
  EXPECT_EQ(lab.test_points.at("Hidden.Deep"), 25);
  EXPECT_EQ(lab.benchmarks[0].points, 30);
  EXPECT_EQ(lab.timeout_s, 90);
}

TEST(Manifest, ARubricNamingAnUnknownLabIsAnError) {
  EXPECT_THROW(load_manifest(temp_file(kManifest), temp_file(R"({"labs": {"99": {"public": 1}}})")), IoError);
}

TEST(Manifest, MalformedJsonNamesTheFile) {
  const std::string path = temp_file("{\"labs\": [");
  try {
    load_manifest(path);
    FAIL() << "no error for malformed JSON";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gw::grader
