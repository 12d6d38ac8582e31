// report.cpp — writes the grader's results in the four formats (see report.h).
#include "report.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace gw::grader {
namespace {

std::string points(double v) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(std::fabs(v - std::round(v)) < 1e-9 ? 0 : 2) << v;
  return os.str();
}

std::string first_line(const std::string& s, size_t max = 90) {
  std::string line = s.substr(0, s.find('\n'));
  if (line.empty() && s.size() > 1) {
    const size_t nl = s.find('\n');
    line = s.substr(nl + 1, s.find('\n', nl + 1) - nl - 1);
  }
  if (line.size() <= max) return line;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return line.substr(0, cut) + "...";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

void print_table(const SubmissionResult& r, std::ostream& os) {
  os << "== " << r.name << ": " << points(r.score) << " / " << points(r.max_score) << " points  ("
     << std::fixed << std::setprecision(1) << r.seconds << " s; sandbox: " << r.sandbox << ")\n";
  if (!r.error.empty()) os << "   ERROR: " << r.error << "\n";
  os << std::left << std::setw(5) << "lab" << std::setw(52) << "test" << std::setw(14) << "points"
     << "reason\n";
  for (const LabResult& lab : r.labs) {
    for (const std::string& n : lab.notes) os << std::setw(5) << lab.id << "note: " << n << "\n";
    if (lab.build_status != "ok") {
      os << std::setw(5) << lab.id << lab.build_status << ":\n";
      std::istringstream in(lab.build_message);
      std::string line;
      while (std::getline(in, line)) os << "     | " << line << "\n";
    }
    for (const TestResult& t : lab.tests) {
      std::string name = (t.group == "public" ? "" : t.group + ": ") + t.name;
      if (name.size() > 50) name = name.substr(0, 47) + "...";
      const std::string pts = points(t.score) + "/" + points(t.max_score);
      std::string why = t.status == "passed" ? "ok" : first_line(t.reason.empty() ? t.status : t.reason);
      if (t.group == "benchmark") why = first_line(t.reason, 200);
      os << std::setw(5) << lab.id << std::setw(52) << name << std::setw(14) << pts << why << "\n";
    }
    os << std::setw(5) << lab.id << std::setw(52) << ("total of lab " + lab.id + " (" + lab.title + ")")
       << std::setw(14) << (points(lab.score) + "/" + points(lab.max_score)) << "\n";
  }
  os << "TOTAL " << points(r.score) << " / " << points(r.max_score) << "   (hidden seed " << r.seed << ")\n";
  int process = 0;
  for (const LabResult& lab : r.labs)
    for (const TestResult& t : lab.tests) process += t.verdict == "process";
  if (process)
    os << "note: " << process << " test(s) send no observations yet and were judged by the program's own "
       << "outcome (see grader/README.md, \"How a test is judged\")\n";
  for (const std::string& d : r.defects) os << "GRADER DEFECT: " << d << "\n";
}

void print_seed_line(const SubmissionResult& r, std::ostream& os) {
  os << "seed " << r.seed << ": " << points(r.score) << " / " << points(r.max_score);
  std::string failed;
  for (const LabResult& lab : r.labs)
    for (const TestResult& t : lab.tests)
      if (t.status != "passed" && t.status != "skipped") failed += " " + lab.id + ":" + t.name + "(" + t.status + ")";
  if (!failed.empty()) os << "  not passed:" << failed;
  os << "\n";
}

nlohmann::json gradescope_json(const SubmissionResult& r, const std::string& hidden_visibility) {
  nlohmann::json tests = nlohmann::json::array();
  for (const LabResult& lab : r.labs) {
    if (lab.build_status != "ok" || !lab.notes.empty()) {
      std::string out = lab.build_status == "ok" ? "" : lab.build_status + ":\n" + lab.build_message;
      for (const std::string& n : lab.notes) out += "note: " + n + "\n";
      tests.push_back({{"name", "Lab " + lab.id + " build"}, {"score", 0}, {"max_score", 0},
                       {"status", lab.build_status == "ok" ? "passed" : "failed"}, {"output", out},
                       {"visibility", "visible"}});
    }
    for (const TestResult& t : lab.tests) {
      const bool hidden = t.group == "hidden";
      std::string output = t.status == "passed" ? "passed" : (hidden ? t.outcome : t.reason);
      if (t.group == "benchmark") output = t.reason;
      tests.push_back({{"name", "Lab " + lab.id + " " + t.group + ": " + t.name},
                       {"score", t.score},
                       {"max_score", t.max_score},
                       {"status", t.status == "passed" ? "passed" : "failed"},
                       {"output", output},
                       {"visibility", hidden ? hidden_visibility : "visible"}});
    }
  }
  nlohmann::json j = {{"score", r.score}, {"execution_time", static_cast<int>(std::ceil(r.seconds))},
                      {"tests", tests}, {"visibility", "visible"}, {"stdout_visibility", "hidden"}};
  std::string summary = "gradwork autograder: " + points(r.score) + " / " + points(r.max_score) + " points.";
  if (!r.error.empty()) summary += " " + r.error;
  if (!r.gpu) summary += " GPU items were not graded: no GPU on the grading machine.";
  j["output"] = summary;
  return j;
}

nlohmann::json gradescope_failure(const std::string& reason, double seconds) {
  return {{"score", 0},
          {"execution_time", static_cast<int>(std::ceil(seconds))},
          {"output", "The autograder failed before it could grade this submission: " + reason +
                         "\nThis is not your fault; please tell the course staff."},
          {"visibility", "visible"},
          {"tests", nlohmann::json::array()}};
}

nlohmann::json full_json(const SubmissionResult& r) {
  nlohmann::json labs = nlohmann::json::array();
  for (const LabResult& lab : r.labs) {
    nlohmann::json tests = nlohmann::json::array();
    for (const TestResult& t : lab.tests) {
      nlohmann::json jt = {{"name", t.name},     {"group", t.group},     {"status", t.status}, {"verdict", t.verdict},
                           {"score", t.score},   {"max_score", t.max_score}, {"reason", t.reason},
                           {"outcome", t.outcome}, {"seconds", t.seconds}, {"output", t.output}};
      if (t.group == "benchmark")
        jt["timing"] = {{"student_ms", t.student_ms}, {"reference_ms", t.reference_ms}, {"ratio", t.ratio}};
      tests.push_back(jt);
    }
    labs.push_back({{"id", lab.id}, {"title", lab.title}, {"score", lab.score},
                    {"max_score", lab.max_score}, {"build_status", lab.build_status},
                    {"build_message", lab.build_message}, {"build_seconds", lab.build_seconds},
                    {"notes", lab.notes}, {"tests", tests}});
  }
  return {{"submission", r.name}, {"input", r.input}, {"score", r.score}, {"max_score", r.max_score},
          {"seconds", r.seconds}, {"seed", r.seed}, {"sandbox", r.sandbox}, {"gpu", r.gpu},
          {"error", r.error}, {"defects", r.defects}, {"labs", labs}};
}

std::string csv_gradebook(const std::vector<SubmissionResult>& results, const std::vector<std::string>& lab_ids) {
  std::string out = "submission";
  for (const std::string& id : lab_ids) out += ",lab" + id;
  out += ",total,max,status\n";
  for (const SubmissionResult& r : results) {
    out += csv_field(r.name);
    for (const std::string& id : lab_ids) {
      std::string cell;
      for (const LabResult& lab : r.labs)
        if (lab.id == id) cell = points(lab.score);
      out += "," + cell;
    }
    out += "," + points(r.score) + "," + points(r.max_score) + "," + csv_field(r.error.empty() ? "graded" : r.error) + "\n";
  }
  return out;
}

}  // namespace gw::grader
