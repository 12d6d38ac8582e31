// release.cpp — the student release (see release.h). Only files git tracks are copied (no
// untracked runs, notes or drafts). The reference lab files are left out: each file a student
// edits exists once, as its student copy in labs/NN-name/ (made by gw-labgen), and the
// release's CMake builds every lab from there, so its public tests fail with "not
// implemented" until filled in. The README is the students' (grader/release/README.student.md,
// with the labs of the manifest), and .gradwork-release marks the copy for ./gradwork.
#include "release.h"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <set>

#include "gw/error.h"
#include "util.h"

namespace gw::grader {
namespace {

// Top-level entries never released: history, build output, the grader and its hidden tests.
bool is_regular(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool left_out(const std::string& rel) {
  const std::string top = rel.substr(0, rel.find('/'));
  return top == ".git" || top.rfind("build", 0) == 0 || top == "grader" || top == "results" ||
         rel == "reference/apps/labgen.cpp";  // the instructor's generator: it spells the markers
}

std::string replace_all(std::string s, const std::string& from, const std::string& to, int* count) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
    ++*count;
  }
  return s;
}

}  // namespace

ReleaseSummary make_release(const Manifest& manifest, const std::string& root, const std::string& out) {
  GW_CHECK_AS(UsageError, !exists(out) || list_files(out).empty(), "gw-grade release: ", out,
              " already exists and is not empty; pick a new folder");
  static const std::regex marker(R"(^\s*//\s*(BEGIN|END) LAB \d\d)");
  ReleaseSummary summary;
  std::map<std::string, std::string> stub_of;  // reference path -> student copy path
  for (const Lab& lab : manifest.labs)
    for (const std::string& f : lab.files) {
      stub_of[f] = lab.student_path(f);
      GW_CHECK(exists(root + "/" + stub_of[f]), "gw-grade release: the student copy ", stub_of[f],
               " of ", f, " is missing; run gw-labgen generate first");
    }
  // Only what git tracks: untracked runs, notes or draft solutions stay home.
  const CommandResult ls = run_command("git -C " + shell_quote(root) + " ls-files -z 2>&1");
  GW_CHECK(ls.status == 0, "gw-grade release: ", root, " is not a git checkout (the release copies the files "
           "git tracks): ", ls.output.substr(0, 300));
  std::vector<std::string> tracked;
  for (size_t at = 0; at < ls.output.size();) {
    const size_t end = ls.output.find('\0', at);
    const std::string rel = ls.output.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (!rel.empty() && is_regular(root + "/" + rel)) tracked.push_back(rel);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  std::set<std::string> skipped_tops;
  for (const std::string& rel : tracked) {
    if (left_out(rel)) {
      skipped_tops.insert(rel == "reference/apps/labgen.cpp" ? rel : rel.substr(0, rel.find('/')));
      continue;
    }
    if (stub_of.count(rel)) {  // a solution: the student's copy in labs/ takes its place
      ++summary.stubbed;
      continue;
    }
    if (rel == "README.md") continue;  // the students' README replaces the instructor's
    std::string text = read_text(root + "/" + rel);
    // A solution region outside the manifest's files would ship a solution: refuse.
    size_t line_start = 0;
    int line_no = 1;
    while (line_start < text.size()) {
      const size_t end = text.find('\n', line_start);
      const std::string line = text.substr(line_start, end == std::string::npos ? std::string::npos : end - line_start);
      GW_CHECK(!std::regex_search(line, marker), "gw-grade release: ", rel, ":", line_no,
               " holds a solution region (", line, ") but is not a lab file of labs/labs.json; "
               "list it in the manifest or remove the region");
      if (end == std::string::npos) break;
      line_start = end + 1;
      ++line_no;
    }
    // Mentions of the markers (docs, build scripts) are defused so that no "BEGIN LAB"
    // text remains anywhere in the release.
    int count = 0;
    text = replace_all(text, "BEGIN LAB", "BEGIN_LAB", &count);
    text = replace_all(text, "END LAB", "END_LAB", &count);
    if (count) summary.rewritten.push_back(rel);
    write_text(out + "/" + rel, text);
    if (access((root + "/" + rel).c_str(), X_OK) == 0) chmod((out + "/" + rel).c_str(), 0755);
    ++summary.files;
  }
  // The students' README: what to do, in which order, with the labs of the manifest.
  std::string labs;
  labs += "| lab | what | handout | your files | its tests |\n| --- | --- | --- | --- | --- |\n";
  for (const Lab& lab : manifest.labs) {
    std::string files;
    for (const std::string& f : lab.student_files) files += (files.empty() ? "" : ", ") + ("`" + f + "`");
    labs += "| " + lab.id + " | " + lab.title + " | `" + lab.handout + "` | " + files + " | `./gradwork lab " + lab.id +
            "` |\n";
  }
  std::string readme = read_text(root + "/grader/release/README.student.md");
  const size_t at = readme.find("@LABS@");
  GW_CHECK(at != std::string::npos, "gw-grade release: grader/release/README.student.md has no @LABS@");
  readme.replace(at, 6, labs);
  write_text(out + "/README.md", readme);
  write_text(out + "/.gradwork-release",
             "This folder is a student release of gradwork (gw-grade release). ./gradwork reads this file.\n");
  summary.files += 2;
  summary.left_out.assign(skipped_tops.begin(), skipped_tops.end());
  return summary;
}

}  // namespace gw::grader
