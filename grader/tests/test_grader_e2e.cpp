// test_grader_e2e.cpp — gw-grade end to end: the reference gets full marks, untouched stubs
// get 0, each planted bug loses exactly the tests that should catch it, a forbidden call
// zeroes its lab, each malicious submission fails only the tests it breaks, with a clear
// reason, while grading goes on, and the Gradescope package holds what it must.
//
// Submissions are made at test time from the reference lab files (so fixtures never hold a
// copy of a solution): grader/tests/fixtures/<name>/fixture.json says which labs, which
// literal edits (replace/with), and what text to prepend/append, and what to expect.
// The framework cache lives in <build>/grader-cache; the first test builds it (~1 minute).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "util.h"

namespace gw::grader {
namespace {

using json = nlohmann::json;
// GW_GRADER_TEST_ROOT / GW_GRADER_TEST_MANIFEST point the tests at another tree or manifest.
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
const std::string kRoot = env_or("GW_GRADER_TEST_ROOT", GW_SOURCE_DIR);
const std::string kManifest = env_or("GW_GRADER_TEST_MANIFEST", kRoot + "/labs/labs.json");
// The grader's common options.
std::string grader_command() {
  return std::string(GW_GRADE_PROGRAM) + " --root " + shell_quote(kRoot) + " --manifest " + shell_quote(kManifest) +
         " --cache " + shell_quote(env_or("GW_GRADER_TEST_CACHE", GW_GRADER_CACHE_DIR));
}
const std::string kFixtures = GW_GRADER_FIXTURES;

json manifest() { return json::parse(read_text(kManifest)); }

// The ids of every lab of the manifest.
std::vector<std::string> all_labs() {
  const json m = manifest();  // named: a temporary's ["labs"] would dangle in the loop
  std::vector<std::string> ids;
  for (const auto& lab : m["labs"]) ids.push_back(lab["id"].get<std::string>());
  return ids;
}

// A submission folder holding, for each lab in `labs`, its files taken from the reference
// (solutions) or, with base "stub", the untouched stubs of labs/ (student_files). With no
// labs and base "stub" the folder is empty (the grader then uses the stubs itself).
std::string make_submission(const std::vector<std::string>& labs, const std::string& base = "reference",
                            const std::map<std::string, std::string>& base_of = {}) {
  const std::string dir = make_temp_dir("gw-e2e-sub-");
  const json m = manifest();
  for (const auto& lab : m["labs"]) {
    const std::string id = lab["id"];
    if (std::find(labs.begin(), labs.end(), id) == labs.end()) continue;
    const std::string b = base_of.count(id) ? base_of.at(id) : base;
    for (size_t i = 0; i < lab["files"].size(); ++i) {
      const std::string ref = lab["files"][i], stub = lab["student_files"][i];
      copy_file(kRoot + "/" + (b == "stub" ? stub : ref), dir + "/" + basename_of(ref));
    }
  }
  return dir;
}

// Files and processes of the sandbox uids (61000-61063) left on the machine: entries of the
// shared world-writable folders (the grader's own work folders there are root's), and
// processes older than any test (other tests may be grading right now, under the same uids).
std::string sandbox_leftovers() {
  if (geteuid() != 0) return "";
  const CommandResult f = run_command(
      "find /tmp /var/tmp /dev/shm /run/lock -mindepth 1 -maxdepth 1 -uid +60999 -uid -61064 -print 2>/dev/null | head -n 5");
  const CommandResult p = run_command(
      "ps -e -o uid=,etimes=,pid=,comm= | awk '$1 >= 61000 && $1 < 61064 && $2 > 300' | head -n 5");
  return f.output + p.output;
}

struct Graded {
  int status = -1;
  json report, gradescope;
  std::string log;
};

Graded grade(const std::string& submission, const std::vector<std::string>& labs, double timeout_s = 10,
             const std::string& extra = "") {
  const std::string out = make_temp_dir("gw-e2e-out-");
  std::string lab_list;
  for (const auto& l : labs) lab_list += (lab_list.empty() ? "" : ",") + l;
  const std::string cmd = grader_command() + " grade " + shell_quote(submission) + (labs.empty() ? "" : " --labs " + lab_list) +
                          " --timeout " + std::to_string(timeout_s) + " --json " + out + "/full.json" +
                          " --gradescope " + out + "/results.json --seed 20261122 " + extra;  // reproducible hidden inputs
  const CommandResult r = run_command(cmd);
  Graded g;
  g.status = r.status;
  g.log = r.output;
  if (exists(out + "/full.json")) g.report = json::parse(read_text(out + "/full.json"));
  if (exists(out + "/results.json")) g.gradescope = json::parse(read_text(out + "/results.json"));
  remove_all(out);
  return g;
}

std::vector<json> tests_of(const json& report) {
  std::vector<json> out;
  for (const auto& lab : report["labs"])
    for (const auto& t : lab["tests"]) {
      json copy = t;
      copy["lab"] = lab["id"];
      out.push_back(copy);
    }
  return out;
}

// A performance item that lost points to time alone: its timed test passed and its ratio is
// within the noise that expect_full_marks allows the reference against itself (< 2x). A
// planted bug that does not slow the code down cannot be said to "cost" such an item.
bool timing_noise(const json& t) {
  if (t["group"] != "benchmark" || !t.contains("timing")) return false;
  const double ratio = t["timing"].value("ratio", 0.0);
  return ratio > 0 && ratio < 2;
}

// The failing tests of one report ("group:name"), leaving out timing noise (timing_noise).
std::set<std::string> failed_set(const json& report) {
  std::set<std::string> out;
  for (const json& t : tests_of(report))
    if (t["status"] != "passed" && !timing_noise(t))
      out.insert(t["group"].get<std::string>() + ":" + t["name"].get<std::string>());
  return out;
}

// Every test of the reference passes; its performance items, timed against the reference
// itself, are within noise of 1x. (They are not required to score full points: on a shared
// machine, another job's load can move one process by 1.5x, and only a real slowdown should
// fail this test. Benchmarks.AreTimedAgainstTheReferenceAndScoredByRatio checks the scoring.)
void expect_full_marks(const json& report, const std::string& where) {
  double lost = 0;
  for (const json& t : tests_of(report)) {
    if (t["group"] == "benchmark") {
      const double ratio = t["timing"]["ratio"].get<double>();
      EXPECT_TRUE(ratio > 0 && ratio < 2) << where << "lab " << t["lab"] << " " << t["name"] << ": " << t["reason"];
      lost += t["max_score"].get<double>() - t["score"].get<double>();
      continue;
    }
    EXPECT_EQ(t["status"], "passed") << where << "lab " << t["lab"] << " " << t["name"] << ": " << t["reason"];
    // A test judged by its program's own outcome could be forged (grader/README.md).
    EXPECT_EQ(t["verdict"], "observations") << where << "lab " << t["lab"] << " " << t["name"]
                                            << " sends no observations: its verdict can be forged";
  }
  EXPECT_NEAR(report["score"].get<double>() + lost, report["max_score"].get<double>(), 1e-9) << where;
  EXPECT_TRUE(report["defects"].empty()) << where << report["defects"].dump(1);
}

TEST(Grader, TheReferenceGetsFullMarksOnEveryLab) {
  const std::string sub = make_submission(all_labs());
  const double t0 = now_s();
  const Graded g = grade(sub, {});
  const double seconds = now_s() - t0;
  ASSERT_EQ(g.status, 0) << g.log;
  ASSERT_GT(g.report["max_score"].get<double>(), 0) << g.log;
  EXPECT_EQ(g.report["labs"].size(), all_labs().size());
  expect_full_marks(g.report, "");
  EXPECT_DOUBLE_EQ(g.gradescope["score"].get<double>(), g.report["score"].get<double>());
  std::printf("grading every lab of the reference took %.1f s (framework cached)\n", seconds);
  RecordProperty("grading_seconds", std::to_string(seconds));
  remove_all(sub);
}

TEST(Grader, UntouchedStubsGetZeroAndGradingFinishes) {
  const std::string sub = make_submission({}, "stub");
  const Graded g = grade(sub, {});
  ASSERT_EQ(g.status, 0) << g.log;
  EXPECT_GT(g.report["max_score"].get<double>(), 0);
  EXPECT_EQ(g.report["score"].get<double>(), 0) << g.log;
  int not_implemented = 0;
  for (const json& t : tests_of(g.report)) {
    EXPECT_NE(t["status"], "passed") << t["name"] << " passed on an untouched stub";
    if (t["outcome"].get<std::string>().find("not implemented") != std::string::npos) ++not_implemented;
  }
  EXPECT_GT(not_implemented, 0) << "stub failures should say 'not implemented'";
  remove_all(sub);
}

TEST(Grader, GradescopeResultsHaveTheRequiredFieldsAndHideHiddenAssertions) {
  const std::string sub = make_submission({}, "stub");
  const Graded g = grade(sub, {"01"});
  ASSERT_TRUE(g.gradescope.contains("score") && g.gradescope.contains("execution_time")) << g.log;
  ASSERT_FALSE(g.gradescope["tests"].empty());
  for (const auto& t : g.gradescope["tests"]) {
    for (const char* key : {"name", "score", "max_score", "status", "output", "visibility"})
      EXPECT_TRUE(t.contains(key)) << "missing " << key << " in " << t.dump();
    const std::string name = t["name"];
    if (name.find(" hidden: ") != std::string::npos) {
      EXPECT_EQ(t["visibility"], "after_due_date") << "hidden tests are shown after the due date by default";
      const std::string out = t["output"];
      EXPECT_EQ(out.find("Expected"), std::string::npos) << "a hidden test shows its assertion: " << out;
      EXPECT_EQ(out.find(".cpp:"), std::string::npos) << "a hidden test shows its source: " << out;
    }
  }
  remove_all(sub);
}

TEST(Grader, ArchivesAreGradedLikeFolders) {
  const std::string sub = make_submission({"01"});
  const std::string tmp = make_temp_dir("gw-e2e-arch-");
  ASSERT_EQ(run_command("tar -czf " + tmp + "/sub.tar.gz -C " + sub + " .").status, 0);
  ASSERT_EQ(run_command("cd " + sub + " && zip -q -r " + tmp + "/sub.zip .").status, 0);
  for (const char* archive : {"/sub.tar.gz", "/sub.zip"}) {
    const Graded g = grade(tmp + archive, {"01"});
    ASSERT_EQ(g.status, 0) << g.log;
    EXPECT_DOUBLE_EQ(g.report["score"].get<double>(), g.report["max_score"].get<double>()) << archive << g.log;
  }
  remove_all(tmp);
  remove_all(sub);
}

TEST(Grader, ACompileErrorGivesZeroForThatLabAndShowsTheError) {
  const std::string sub = make_submission({"01"});
  write_text(sub + "/gradcheck.cpp", read_text(sub + "/gradcheck.cpp") + "\nthis is not C++;\n");
  const Graded g = grade(sub, {"01"});
  ASSERT_EQ(g.status, 0) << g.log;
  ASSERT_EQ(g.report["labs"].size(), 1u);
  EXPECT_EQ(g.report["labs"][0]["build_status"], "compile_error");
  EXPECT_NE(g.report["labs"][0]["build_message"].get<std::string>().find("error"), std::string::npos);
  EXPECT_EQ(g.report["score"].get<double>(), 0);
  remove_all(sub);
}

TEST(Grader, AForbiddenShortcutGivesZeroForThatLabAndNamesTheSymbol) {
  // labs.json forbids lab 04 from calling lab 03's backprop: gradients() could otherwise
  // return the numbers as constants instead of building the backward graph.
  const std::string sub = make_submission({"03", "04"});
  write_text(sub + "/gradients.cpp", read_text(sub + "/gradients.cpp") +
                                         "\nnamespace gw {\nvoid shortcut(Node* y) { (void)backprop(y); }\n}\n");
  const Graded g = grade(sub, {"03", "04"});
  ASSERT_EQ(g.status, 0) << g.log;
  ASSERT_EQ(g.report["labs"].size(), 2u);
  for (const auto& lab : g.report["labs"]) {
    if (lab["id"] == "03") {
      EXPECT_EQ(lab["score"].get<double>(), lab["max_score"].get<double>()) << lab.dump(1);
      continue;
    }
    EXPECT_EQ(lab["build_status"], "forbidden") << lab.dump(1);
    EXPECT_EQ(lab["score"].get<double>(), 0);
    EXPECT_NE(lab["build_message"].get<std::string>().find("gw::backprop"), std::string::npos)
        << lab["build_message"];
  }
  remove_all(sub);
}

TEST(Grader, IncludingTheReferenceSolutionDoesNotCompile) {
  const std::string sub = make_submission({}, "stub");
  write_text(sub + "/gradcheck.cpp", "#include \"" + kRoot + "/reference/autodiff/gradcheck.cpp\"\n");
  const Graded g = grade(sub, {"01"});
  ASSERT_EQ(g.status, 0) << g.log;
  EXPECT_EQ(g.report["score"].get<double>(), 0) << "the solution was readable by the compiler";
  remove_all(sub);
}

TEST(Grader, ABatchFolderGivesOneCsvRowPerSubmission) {
  const std::string batch = make_temp_dir("gw-e2e-batch-");
  const std::string good = make_submission({"01"});
  ASSERT_EQ(run_command("cp -r " + good + " " + batch + "/alice && mkdir " + batch + "/bob").status, 0);
  const std::string csv = batch + ".csv";
  const CommandResult r = run_command(grader_command() + " grade --batch " + batch + " --labs 01 -q --csv " + csv);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string text = read_text(csv);
  EXPECT_EQ(text.rfind("submission,lab01,total,max,status\n", 0), 0u) << text;
  // alice: the reference (full marks); bob: an empty folder (the stubs, 0 points).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("\nalice,([0-9.]+),([0-9.]+),([0-9.]+),graded\n"))) << text;
  EXPECT_EQ(m[1], m[3]);
  EXPECT_EQ(m[2], m[3]);
  EXPECT_TRUE(std::regex_search(text, m, std::regex("\nbob,0,0,([0-9.]+),graded\n"))) << text;
  remove_all(batch);
  remove_all(good);
  remove_all(csv);
}

TEST(Grader, AnObjectIsReusedOnlyForByteIdenticalInputs) {
  const std::string sub = make_submission({"01"});
  (void)grade(sub, {"01"});  // compiles, or finds it compiled by an earlier test
  Graded g = grade(sub, {"01"});
  ASSERT_EQ(g.status, 0) << g.log;
  EXPECT_EQ(g.report["labs"][0]["objects_compiled"], 0) << "the same file compiled twice";
  EXPECT_EQ(g.report["labs"][0]["objects_reused"], 1);
  // One more comment (a new one each run, so that no earlier run cached it): compiled again.
  write_text(sub + "/gradcheck.cpp", read_text(sub + "/gradcheck.cpp") + "\n// " + random_token(8) + "\n");
  g = grade(sub, {"01"});
  ASSERT_EQ(g.status, 0) << g.log;
  EXPECT_EQ(g.report["labs"][0]["objects_compiled"], 1) << "a changed file must be compiled";
  EXPECT_EQ(g.report["labs"][0]["objects_reused"], 0);
  EXPECT_DOUBLE_EQ(g.report["score"].get<double>(), g.report["max_score"].get<double>());
  remove_all(sub);
}

TEST(Grader, ASubmissionFolderGivenWithATrailingSlashKeepsItsName) {
  const std::string sub = make_submission({"01"});
  const Graded g = grade(sub + "/", {"01"});
  ASSERT_EQ(g.status, 0) << g.log;
  EXPECT_EQ(g.report["submission"], basename_of(sub)) << "\"alice/\" is alice";
  remove_all(sub);
}

TEST(Grader, TheDefaultSeedIsFixedPerReleaseSoTheSameFilesGetTheSameScore) {
  // A planted bug (one-sided differences) in lab 01, graded twice with the release's seed.
  const std::string sub = make_submission({"01"});
  std::string text = read_text(sub + "/gradcheck.cpp");
  const std::string from = "g[j] = (plus - minus) / (2.0 * eps);";
  ASSERT_NE(text.find(from), std::string::npos) << "the reference changed; update this test";
  text.replace(text.find(from), from.size(), "g[j] = (plus - minus) / (2.0 * eps) * (1 + 1e-4);");
  write_text(sub + "/gradcheck.cpp", text);
  std::vector<json> reports;
  for (int run = 0; run < 2; ++run) {
    const std::string out = make_temp_dir("gw-e2e-det-");
    const CommandResult r = run_command(grader_command() + " grade " + shell_quote(sub) + " --labs 01 -q --json " +
                                        out + "/r.json");
    ASSERT_EQ(r.status, 0) << r.output;
    reports.push_back(json::parse(read_text(out + "/r.json")));
    remove_all(out);
  }
  EXPECT_EQ(reports[0]["seed"], reports[1]["seed"]) << "the hidden seed must not change between gradings";
  EXPECT_NE(reports[0]["seed"], "20261122") << "the release's seed is its own, not the tests' fallback";
  EXPECT_EQ(reports[0]["score"], reports[1]["score"]);
  EXPECT_EQ(failed_set(reports[0]), failed_set(reports[1]));
  EXPECT_LT(reports[0]["score"].get<double>(), reports[0]["max_score"].get<double>()) << "the bug must cost points";
  remove_all(sub);
}

TEST(Grader, TheReferenceGetsFullMarksForEachOfFiftySeeds) {
  const std::string sub = make_submission(all_labs());
  const std::string out = make_temp_dir("gw-e2e-seeds-");
  const double t0 = now_s();
  const CommandResult r = run_command(grader_command() + " grade " + shell_quote(sub) + " -q --seeds 1-50 --json " +
                                      out + "/all.json");
  const double seconds = now_s() - t0;
  ASSERT_EQ(r.status, 0) << r.output;
  const json all = json::parse(read_text(out + "/all.json"));
  ASSERT_EQ(all.size(), 50u);
  for (const json& report : all) {
    EXPECT_GT(report["max_score"].get<double>(), 0);
    EXPECT_EQ(report["labs"].size(), all_labs().size());
    expect_full_marks(report, "seed " + report["seed"].get<std::string>() + ": ");
  }
  std::printf("grading the reference under 50 hidden seeds took %.1f s\n", seconds);
  RecordProperty("grading_seconds", std::to_string(seconds));
  remove_all(out);
  remove_all(sub);
}

// ---- fixtures: planted bugs and malicious submissions -------------------------------------

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const std::string& f : list_files(kFixtures, 1))
    if (basename_of(f) == "fixture.json") names.push_back(dirname_of(f));
  return names;
}

class Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Fixture, FailsOnlyTheTestsItShouldWithAClearReason) {
  const json fx = json::parse(read_text(kFixtures + "/" + GetParam() + "/fixture.json"));
  const std::vector<std::string> labs = fx["labs"].get<std::vector<std::string>>();
  std::map<std::string, std::string> base_of;
  std::string base = "reference";
  if (fx.contains("base") && fx["base"].is_object()) base_of = fx["base"].get<std::map<std::string, std::string>>();
  else base = fx.value("base", std::string("reference"));
  const std::string sub = make_submission(labs, base, base_of);
  auto file_of = [&](const std::string& ref) { return sub + "/" + basename_of(ref); };
  for (const auto& e : fx.value("edits", json::array())) {
    std::string text = read_text(file_of(e["file"]));
    const std::string from = e["replace"], to = e["with"];
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << GetParam() << ": the edit no longer matches " << e["file"]
                                     << " (the reference changed; update the fixture): " << from;
    text.replace(at, from.size(), to);
    write_text(file_of(e["file"]), text);
  }
  const json prepend = fx.value("prepend", json::object()), append = fx.value("append", json::object());
  for (auto it = prepend.begin(); it != prepend.end(); ++it)
    write_text(file_of(it.key()), it.value().get<std::string>() + read_text(file_of(it.key())));
  for (auto it = append.begin(); it != append.end(); ++it)
    write_text(file_of(it.key()), read_text(file_of(it.key())) + "\n" + it.value().get<std::string>());
  const json expect = fx["expect"];
  for (const auto& p : expect.value("absent", json::array())) remove_all(kRoot + "/" + p.get<std::string>());
  const double t0 = now_s();
  const std::string options = fx.value("grader_options", std::string());
  const Graded g = grade(sub, labs, fx.value("timeout_s", 10.0), options);
  const double seconds = now_s() - t0;
  ASSERT_EQ(g.status, 0) << g.log;
  ASSERT_TRUE(g.report.contains("labs")) << g.log;
  std::vector<json> failed;
  double noise_lost = 0;  // points a timing item lost to noise (timing_noise)
  bool output_seen = false;
  for (const json& t : tests_of(g.report)) {
    if (t["status"] != "passed" && timing_noise(t))
      noise_lost += t["max_score"].get<double>() - t["score"].get<double>();
    else if (t["status"] != "passed")
      failed.push_back(t);
    if (expect.contains("output") && t["output"].get<std::string>().find(expect["output"].get<std::string>()) != std::string::npos)
      output_seen = true;
  }
  const json lab_expect = expect.value("labs", json::object());
  for (const auto& lab : g.report["labs"]) {
    const std::string id = lab["id"];
    const json le = lab_expect.value(id, json::object());
    EXPECT_EQ(lab["build_status"], le.value("build_status", std::string("ok"))) << "lab " << id << ": " << lab["build_message"];
    if (le.value("full", false)) {
      EXPECT_EQ(lab["score"].get<double>(), lab["max_score"].get<double>()) << "lab " << id << " should still grade fully";
    }
    if (le.contains("score")) {
      EXPECT_EQ(lab["score"].get<double>(), le["score"].get<double>()) << "lab " << id;
    }
    for (const auto& w : le.value("message", json::array())) {
      EXPECT_NE(lab["build_message"].get<std::string>().find(w.get<std::string>()), std::string::npos)
          << "lab " << id << "'s message should name \"" << w << "\": " << lab["build_message"];
    }
  }
  if (expect.value("full", false)) {
    for (const json& t : failed) ADD_FAILURE() << t["name"] << " failed: " << t["reason"];
  }
  if (expect.contains("failed_only")) {
    // Every failing test must be one this submission breaks, and enough of them must fail.
    std::vector<std::regex> allowed;
    for (const auto& p : expect["failed_only"]) allowed.emplace_back(p.get<std::string>());
    for (const json& t : failed) {
      const std::string name = t["name"];
      const bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const std::regex& re) { return std::regex_search(name, re); });
      EXPECT_TRUE(ok) << name << " failed but should have been graded normally: " << t["reason"];
      if (expect.contains("reason")) {
        EXPECT_NE(t["reason"].get<std::string>().find(expect["reason"].get<std::string>()), std::string::npos)
            << name << ": reason should mention \"" << expect["reason"] << "\": " << t["reason"];
      }
    }
    EXPECT_GE(static_cast<int>(failed.size()), expect.value("min_failed", 1)) << "too few tests caught it";
    EXPECT_LT(failed.size(), tests_of(g.report).size()) << "every test failed: nothing was graded normally";
  }
  if (expect.contains("failed_exactly")) {
    std::set<std::string> want;
    for (const auto& n : expect["failed_exactly"]) want.insert(n.get<std::string>());
    EXPECT_EQ(failed_set(g.report), want) << "the planted bug must cost exactly the tests that catch it";
    double lost = noise_lost;
    for (const json& t : failed) lost += t["max_score"].get<double>() - t["score"].get<double>();
    EXPECT_NEAR(g.report["max_score"].get<double>() - g.report["score"].get<double>(), lost, 1e-9);
  }
  if (expect.contains("output")) {
    EXPECT_TRUE(output_seen) << "no test printed \"" << expect["output"] << "\"";
  }
  for (const auto& p : expect.value("absent", json::array())) {
    EXPECT_FALSE(exists(kRoot + "/" + p.get<std::string>())) << "the submission wrote " << p;
    remove_all(kRoot + "/" + p.get<std::string>());
  }
  for (const auto& p : expect.value("absent_on_host", json::array())) {
    EXPECT_FALSE(exists(p.get<std::string>())) << "the submission left " << p << " on the machine";
    remove_all(p.get<std::string>());
  }
  if (expect.contains("absent_after_s")) {
    sleep(expect["absent_after_s"]["wait_s"].get<unsigned>());
    const std::string path = expect["absent_after_s"]["path"];
    EXPECT_FALSE(exists(path)) << "a process of the submission outlived grading and wrote " << path;
    remove_all(path);
  }
  EXPECT_EQ(sandbox_leftovers(), "") << "files or processes of a sandbox uid outlived grading";
  // A planted bug is caught, by the same tests, whatever the hidden seed.
  if (expect.contains("every_seed")) {
    const std::string out = make_temp_dir("gw-e2e-seeds-");
    std::string lab_list;
    for (const auto& l : labs) lab_list += (lab_list.empty() ? "" : ",") + l;
    const CommandResult r = run_command(grader_command() + " grade " + shell_quote(sub) + " --labs " + lab_list +
                                        " -q --seeds " + expect["every_seed"].get<std::string>() + " --json " + out + "/all.json");
    ASSERT_EQ(r.status, 0) << r.output;
    const json all = json::parse(read_text(out + "/all.json"));
    // For every seed: the tests of failed_exactly fail, and nothing else. The only exception
    // is "caught_for_some_seeds": hidden tests aimed at another bug that catch this one too,
    // but only where the drawn inputs show it; each seed must still fail a hidden test.
    std::set<std::string> want, sometimes;
    for (const auto& n : expect["failed_exactly"]) want.insert(n.get<std::string>());
    for (const auto& n : expect.value("caught_for_some_seeds", json::array())) {
      EXPECT_TRUE(want.count(n.get<std::string>())) << n << " is not in failed_exactly";
      sometimes.insert(n.get<std::string>());
    }
    EXPECT_FALSE(all.empty());
    for (const json& report : all) {
      const std::set<std::string> got = failed_set(report);
      int hidden = 0;
      for (const std::string& t : got) {
        EXPECT_TRUE(want.count(t)) << "seed " << report["seed"] << ": " << t << " failed, but the bug is not its business";
        hidden += t.rfind("hidden:", 0) == 0;
      }
      for (const std::string& t : want) {
        if (sometimes.count(t)) continue;
        EXPECT_TRUE(got.count(t)) << "seed " << report["seed"] << ": " << t << " missed the planted bug";
      }
      EXPECT_GE(hidden, 1) << "seed " << report["seed"] << ": no hidden test catches the planted bug";
    }
    remove_all(out);
  }
  std::printf("%s: %zu tests failed, graded in %.1f s\n", GetParam().c_str(), failed.size(), seconds);
  RecordProperty("grading_seconds", std::to_string(seconds));
  remove_all(sub);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Fixture, ::testing::ValuesIn(fixture_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace gw::grader

namespace gw::grader {
namespace {

// ---- the student release -------------------------------------------------------------------

TEST(Release, IsMadeForStudentsFromTrackedFilesAndItsLabCommandWorksFromStubsToASolvedLab) {
  // An untracked note beside the tracked files must stay home.
  const std::string untracked = kRoot + "/gw-e2e-untracked-" + random_token(4) + ".md";
  write_text(untracked, "a draft solution the instructor never committed\n");
  std::string out = make_temp_dir("gw-e2e-release-") + "/gradwork";
  const CommandResult r = run_command(grader_command() + " release --out " + shell_quote(out));
  remove_all(untracked);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(exists(out + "/" + basename_of(untracked))) << "an untracked file went into the release";
  EXPECT_FALSE(exists(out + "/runs")) << "the instructor's runs/ went into the release";
  EXPECT_FALSE(exists(out + "/grader")) << "the release holds the grader and its hidden tests";
  EXPECT_TRUE(exists(out + "/.gradwork-release"));
  const CommandResult markers = run_command("grep -rl 'BEGIN LAB' " + shell_quote(out));
  EXPECT_TRUE(markers.output.empty()) << "solution markers in the release:\n" << markers.output;
  // Its README is the students': what to do, in order, per lab, and how to hand in.
  const std::string readme = read_text(out + "/README.md");
  for (const char* words : {"./gradwork lab 01", "./gradwork test", "./gradwork submit",
                            "trains on your own", "in this order"})
    EXPECT_NE(readme.find(words), std::string::npos) << "the student README does not say " << words;
  EXPECT_EQ(readme.find("gw-grade"), std::string::npos) << "the student README talks about the grader's commands";
  const json m = manifest();
  for (const auto& lab : m["labs"]) {
    EXPECT_NE(readme.find("./gradwork lab " + lab["id"].get<std::string>()), std::string::npos);
    for (const auto& f : lab["files"])
      EXPECT_FALSE(exists(out + "/" + f.get<std::string>()))
          << f << ": the reference lab file is in the release, beside the student's copy";
    for (const auto& f : lab["student_files"]) {
      const std::string text = read_text(out + "/" + f.get<std::string>());
      EXPECT_NE(text.find("GW_TODO("), std::string::npos) << f << " is not a stub in the release";
    }
  }
  remove_all(dirname_of(out));
  // From a clean clone (what git holds, nothing else), the release builds: ./gradwork lab 01 on
  // the untouched stubs, every test fails cleanly with its hint.
  const std::string clone = make_temp_dir("gw-e2e-clone-") + "/repo";
  const CommandResult cl = run_command("git clone -q " + shell_quote(kRoot) + " " + shell_quote(clone));
  ASSERT_EQ(cl.status, 0) << cl.output;
  const std::string rel = make_temp_dir("gw-e2e-release-") + "/gradwork";
  out = rel;
  const CommandResult made = run_command(std::string(GW_GRADE_PROGRAM) + " --root " + shell_quote(clone) +
                                         " --cache " + shell_quote(env_or("GW_GRADER_TEST_CACHE", GW_GRADER_CACHE_DIR)) +
                                         " release --out " + shell_quote(out));
  ASSERT_EQ(made.status, 0) << made.output;
  remove_all(dirname_of(clone));
  const json first = m["labs"][0];
  const std::string id = first["id"];
  const std::string env = "cd " + shell_quote(out) + " && GW_JOBS=2 ";
  const CommandResult stubs = run_command(env + "./gradwork lab " + id + " 2>&1");
  EXPECT_EQ(stubs.status, 1) << stubs.output.substr(stubs.output.size() > 4000 ? stubs.output.size() - 4000 : 0);
  EXPECT_NE(stubs.output.find("not started"), std::string::npos) << stubs.output.substr(0, 4000);
  EXPECT_NE(stubs.output.find("FAIL"), std::string::npos);
  EXPECT_NE(stubs.output.find("not implemented: lab " + id), std::string::npos) << "each failure shows its hint";
  EXPECT_EQ(stubs.output.find("  pass  "), std::string::npos) << "a test passes on an untouched stub";
  // The reference lab files dropped in: the lab passes.
  for (size_t i = 0; i < first["files"].size(); ++i)
    copy_file(kRoot + "/" + first["files"][i].get<std::string>(), out + "/" + first["student_files"][i].get<std::string>());
  const CommandResult solved = run_command(env + "./gradwork lab " + id + " 2>&1");
  EXPECT_EQ(solved.status, 0) << solved.output.substr(solved.output.size() > 4000 ? solved.output.size() - 4000 : 0);
  EXPECT_EQ(solved.output.find("FAIL"), std::string::npos) << solved.output;
  EXPECT_NE(solved.output.find("every public test passes"), std::string::npos) << solved.output;
  // ./gradwork submit: an archive with exactly the manifest's student files.
  const CommandResult sub = run_command(env + "./gradwork submit 2>&1");
  ASSERT_EQ(sub.status, 0) << sub.output;
  std::string listing;
  if (exists(out + "/submission.zip")) listing = run_command("unzip -Z1 " + shell_quote(out + "/submission.zip")).output;
  else listing = run_command("tar -tzf " + shell_quote(out + "/submission.tar.gz")).output;
  std::set<std::string> got, want;
  std::istringstream in(listing);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) got.insert(line);
  for (const auto& lab : m["labs"])
    for (const auto& f : lab["student_files"]) want.insert(f.get<std::string>());
  EXPECT_EQ(got, want);
  // ./gradwork test: one line per lab.
  const CommandResult all = run_command(env + "./gradwork test 2>&1");
  EXPECT_EQ(all.status, 1) << "not every lab passes: the status says so";
  for (const auto& lab : m["labs"]) {
    const std::string lid = lab["id"];
    std::smatch line;
    ASSERT_TRUE(std::regex_search(all.output, line, std::regex("\nlab " + lid + "  [^\n]*")))
        << "no line for lab " << lid << ":\n" << all.output.substr(all.output.size() > 3000 ? all.output.size() - 3000 : 0);
    const std::string l = line.str();
    if (lid == id) {
      EXPECT_NE(l.find(" passed ("), std::string::npos) << l;
    } else {
      EXPECT_TRUE(l.find("not started") != std::string::npos || l.find("failed (") != std::string::npos) << l;
    }
  }
  remove_all(dirname_of(out));
}

}  // namespace
}  // namespace gw::grader

namespace gw::grader {
namespace {

// ---- performance items ----------------------------------------------------------------------

// A copy of the manifest whose first lab has a CPU and a GPU performance item on one of its
// public tests (the cache is shared: benchmarks do not change what is built).
std::string manifest_with_benchmarks(const std::string& test) {
  json m = manifest();
  m["labs"][0]["benchmarks"] = json::array(
      {{{"name", "cpu speed"}, {"program", "public"}, {"test", test}, {"points", 10}, {"repetitions", 3}},
       {{"name", "gpu speed"}, {"program", "public"}, {"test", test}, {"points", 10}, {"gpu", true}}});
  const std::string path = make_temp_dir("gw-e2e-bench-") + "/labs.json";
  write_text(path, m.dump(1));
  return path;
}

TEST(Benchmarks, AreTimedAgainstTheReferenceAndScoredByRatio) {
  const json m = manifest();
  ASSERT_EQ(m["labs"][0]["id"], "01") << "this test times lab 01's numerical gradient";
  const std::string test = "NumericalGradient.MatchesAHandDerivedTensorGradient";
  const std::string bench_manifest = manifest_with_benchmarks(test);
  const std::string fast = make_submission({"01"});
  const std::string slow = make_submission({"01"});
  // The slow one spins 30 ms of CPU in every call (CPU items compare CPU time): far beyond 10x
  // the reference.
  write_text(slow + "/gradcheck.cpp",
             "#define numerical_gradient numerical_gradient_reference\n" + read_text(slow + "/gradcheck.cpp") +
                 "\n#undef numerical_gradient\n#include <ctime>\nnamespace gw {\n"
                 "Tensor numerical_gradient(const ScalarFunction& f, const std::vector<Tensor>& inputs, size_t which,"
                 " double eps) {\n  const std::clock_t until = std::clock() + CLOCKS_PER_SEC * 3 / 100;\n"
                 "  while (std::clock() < until) {\n  }\n"
                 "  return numerical_gradient_reference(f, inputs, which, eps);\n}\n}\n");
  auto bench = [&](const std::string& sub) {
    const std::string out = make_temp_dir("gw-e2e-bout-");
    const CommandResult r = run_command(std::string(GW_GRADE_PROGRAM) + " --root " + shell_quote(kRoot) +
                                        " --manifest " + bench_manifest + " --cache " +
                                        shell_quote(env_or("GW_GRADER_TEST_CACHE", GW_GRADER_CACHE_DIR)) +
                                        " grade " + sub + " --labs 01 -q --json " + out + "/r.json");
    EXPECT_EQ(r.status, 0) << r.output;
    std::map<std::string, json> items;
    for (const json& t : tests_of(json::parse(read_text(out + "/r.json"))))
      if (t["group"] == "benchmark") items[t["name"]] = t;
    remove_all(out);
    return items;
  };
  auto f = bench(fast), s = bench(slow);
  ASSERT_TRUE(f.count("cpu speed") && s.count("cpu speed"));
  EXPECT_GT(f["cpu speed"]["timing"]["reference_ms"].get<double>(), 0);
  EXPECT_GT(f["cpu speed"]["timing"]["student_ms"].get<double>(), 0);
  EXPECT_LT(f["cpu speed"]["timing"]["ratio"].get<double>(), 5) << "the reference against itself";
  EXPECT_GE(s["cpu speed"]["timing"]["ratio"].get<double>(), 10) << s["cpu speed"]["reason"];
  EXPECT_EQ(s["cpu speed"]["score"].get<double>(), 0);
  EXPECT_NE(s["cpu speed"]["reason"].get<std::string>().find("medians of 3 rounds"), std::string::npos);
  if (!exists("/dev/nvidia0")) {
    EXPECT_EQ(f["gpu speed"]["status"], "skipped");
    EXPECT_NE(f["gpu speed"]["reason"].get<std::string>().find("no GPU"), std::string::npos);
  }
  remove_all(fast);
  remove_all(slow);
  remove_all(dirname_of(bench_manifest));
}

TEST(Gradescope, PackageHoldsTheScriptsAndTheRepositoryButNoBuildsOrRuns) {
  const std::string out = make_temp_dir("gw-e2e-zip-");
  const CommandResult made =
      run_command("bash " + shell_quote(kRoot + "/grader/gradescope/make_autograder.sh") + " " +
                  shell_quote(out + "/autograder.zip"));
  ASSERT_EQ(made.status, 0) << made.output;
  const CommandResult list = run_command("unzip -Z1 " + shell_quote(out + "/autograder.zip"));
  ASSERT_EQ(list.status, 0) << list.output;
  std::set<std::string> names;
  std::istringstream in(list.output);
  for (std::string line; std::getline(in, line);) names.insert(line);
  for (const char* need : {"setup.sh", "run_autograder", "gradwork/labs/labs.json",
                           "gradwork/CMakeLists.txt", "gradwork/grader/src/main.cpp"})
    EXPECT_TRUE(names.count(need)) << need << " missing from the package";
  bool hidden = false;
  for (const std::string& n : names) {
    hidden = hidden || n.rfind("gradwork/grader/hidden/", 0) == 0;
    EXPECT_TRUE(n.rfind("gradwork/build", 0) != 0 && n.rfind("gradwork/runs/", 0) != 0 &&
                n.rfind("gradwork/.git/", 0) != 0)
        << n << " does not belong in the package";
  }
  EXPECT_TRUE(hidden) << "the hidden tests must travel with the autograder";
  // The hidden tests' visibility: after_due_date unless the instructor says otherwise.
  EXPECT_TRUE(names.count("config.env"));
  auto config = [&](const std::string& zip) {
    return run_command("unzip -p " + shell_quote(zip) + " config.env").output;
  };
  EXPECT_EQ(config(out + "/autograder.zip"), "HIDDEN_VISIBILITY=after_due_date\n");
  const CommandResult vis = run_command("bash " + shell_quote(kRoot + "/grader/gradescope/make_autograder.sh") +
                                        " --hidden-visibility visible " + shell_quote(out + "/visible.zip"));
  ASSERT_EQ(vis.status, 0) << vis.output;
  EXPECT_EQ(config(out + "/visible.zip"), "HIDDEN_VISIBILITY=visible\n");
  const std::string run = read_text(kRoot + "/grader/gradescope/run_autograder");
  EXPECT_EQ(run.find("--hidden-visibility visible"), std::string::npos) << "run_autograder shows hidden tests at every submission";
  EXPECT_NE(run.find("--hidden-visibility \"$HIDDEN_VISIBILITY\""), std::string::npos);
  remove_all(out);
}

}  // namespace
}  // namespace gw::grader
