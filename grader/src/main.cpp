// main.cpp — gw-grade: the gradwork autograder's command line.
//
//   gw-grade grade SUBMISSION [--labs 01,03] [--json F] [--gradescope F]     one submission
//   gw-grade grade --batch FOLDER --csv gradebook.csv [--json-dir D]          every submission in FOLDER
//   gw-grade prepare                                                          build the framework cache
//   gw-grade release --out DIR                                                the student release
//
// Exit status: 0 graded (whatever the score) or done; 1 the grader itself failed (the
// reference framework does not build, an internal error); 2 usage error; 3 a submission
// could not be opened (it is graded 0 and every report is still written).
// See grader/README.md.
#include <CLI/CLI.hpp>

#include <dirent.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "framework.h"
#include "grade.h"
#include "gw/error.h"
#include "manifest.h"
#include "release.h"
#include "report.h"
#include "sandbox.h"
#include "util.h"

namespace {

using namespace gw::grader;

struct Settings {
  std::string root = GW_SOURCE_DIR;
  std::string manifest, rubric, cache, cuda = "auto";
  int jobs = 2;
  int uid_base = 61000;
  double timeout_s = 30, total_timeout_s = 0;
  int64_t memory_mb = 4096, disk_mb = 256;
  std::string labs, seed, seeds, json_out, gradescope_out, csv_out, json_dir, hidden_visibility = "after_due_date";
  std::vector<std::string> inputs;
  bool batch = false, keep = false, quiet = false, verbose = false;
  std::string release_out;
};

// "7", "1,5,9" or "1-50" (or a mix: "3,10-12").
std::vector<std::string> split_seeds(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const size_t dash = item.find('-');
    GW_CHECK_AS(gw::UsageError, item.find_first_not_of("0123456789-") == std::string::npos,
                "gw-grade: --seeds: \"", item, "\" is not a seed or a range such as 1-50");
    if (dash == std::string::npos) {
      out.push_back(item);
      continue;
    }
    const uint64_t a = std::stoull(item.substr(0, dash)), b = std::stoull(item.substr(dash + 1));
    GW_CHECK_AS(gw::UsageError, a <= b && b - a < 100000, "gw-grade: --seeds: bad range ", item);
    for (uint64_t v = a; v <= b; ++v) out.push_back(std::to_string(v));
  }
  return out;
}

std::vector<std::string> split_labs(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string id;
  while (std::getline(in, id, ',')) {
    if (id.size() == 1) id = "0" + id;
    if (!id.empty()) out.push_back(id);
  }
  return out;
}

Manifest load(const Settings& s) {
  return load_manifest(s.manifest.empty() ? s.root + "/labs/labs.json" : s.manifest, s.rubric);
}

Framework prepare(const Settings& s, const Manifest& m) {
  FrameworkOptions fo;
  fo.root = s.root;
  fo.cache_dir = s.cache;
  fo.cuda = s.cuda;
  fo.jobs = s.jobs;
  fo.verbose = s.verbose;
  return prepare_framework(m, fo);
}

int grade(const Settings& s, double t0) {
  const Manifest manifest = load(s);
  for (const std::string& id : split_labs(s.labs))
    GW_CHECK_AS(gw::UsageError, manifest.find(id), "gw-grade: --labs: no lab ", id, " in the manifest");
  sandbox_caps(s.uid_base);
  const Framework fw = prepare(s, manifest);
  GradeContext ctx;
  ctx.manifest = &manifest;
  ctx.framework = &fw;
  ctx.jobs = s.jobs;
  secret_paths(manifest, s.root, s.cache, &ctx.compile_mask, &ctx.run_mask);
  GradeOptions opt;
  opt.labs = split_labs(s.labs);
  opt.limits.wall_s = s.timeout_s;
  opt.limits.memory_mb = s.memory_mb;
  opt.limits.disk_mb = s.disk_mb;
  GW_CHECK_AS(gw::UsageError, s.seed.empty() || s.seeds.empty(), "gw-grade: give --seed or --seeds, not both");
  if (!s.seed.empty()) opt.seeds = {s.seed};
  if (!s.seeds.empty()) opt.seeds = split_seeds(s.seeds);
  opt.keep_work = s.keep;
  opt.verbose = s.verbose;
  if (s.total_timeout_s > 0) opt.deadline = t0 + s.total_timeout_s;

  std::vector<std::string> inputs;
  if (s.batch) {
    GW_CHECK_AS(gw::UsageError, s.inputs.size() == 1 && is_dir(s.inputs[0]),
                "gw-grade: --batch takes one folder that holds the submissions");
    if (DIR* d = opendir(s.inputs[0].c_str())) {
      while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') inputs.push_back(s.inputs[0] + "/" + e->d_name);
      closedir(d);
    }
    std::sort(inputs.begin(), inputs.end());
  } else {
    GW_CHECK_AS(gw::UsageError, s.inputs.size() == 1,
                "gw-grade: give one submission (a folder, .zip or .tar.gz), or --batch FOLDER");
    inputs = s.inputs;
  }
  std::vector<SubmissionResult> results;
  bool unopened = false;
  if (opt.seeds.size() > 1) {
    // One submission under many seeds: a line per seed, a JSON array of the full reports.
    GW_CHECK_AS(gw::UsageError, !s.batch, "gw-grade: --seeds grades one submission");
    const std::vector<SubmissionResult> all = grade_submission_seeds(inputs[0], ctx, opt);
    nlohmann::json reports = nlohmann::json::array();
    for (const SubmissionResult& r : all) {
      if (!s.quiet) print_seed_line(r, std::cout);
      for (const std::string& d : r.defects) std::cerr << "gw-grade: GRADER DEFECT (seed " << r.seed << "): " << d << "\n";
      reports.push_back(full_json(r));
    }
    if (!s.json_out.empty()) write_text(s.json_out, reports.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return all[0].error.empty() ? 0 : 3;
  }
  for (const std::string& in : inputs) {
    SubmissionResult r = grade_submission(in, ctx, opt);
    unopened = unopened || !r.error.empty();
    if (!s.quiet) print_table(r, std::cout);
    for (const std::string& d : r.defects) std::cerr << "gw-grade: GRADER DEFECT (seed " << r.seed << "): " << d << "\n";
    if (!s.json_dir.empty()) write_text(s.json_dir + "/" + r.name + ".json", full_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    results.push_back(std::move(r));
  }
  if (!s.batch) {
    if (!s.json_out.empty()) write_text(s.json_out, full_json(results[0]).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!s.gradescope_out.empty())
      write_text(s.gradescope_out, gradescope_json(results[0], s.hidden_visibility).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (!s.json_out.empty()) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : results) all.push_back(full_json(r));
    write_text(s.json_out, all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (!s.csv_out.empty()) {
    std::vector<std::string> ids;
    for (const Lab& lab : manifest.labs)
      if (opt.labs.empty() || std::find(opt.labs.begin(), opt.labs.end(), lab.id) != opt.labs.end())
        ids.push_back(lab.id);
    write_text(s.csv_out, csv_gradebook(results, ids));
  }
  return unopened && !s.batch ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const double t0 = now_s();
  become_subreaper();
  Settings s;
  if (const char* c = std::getenv("GW_GRADER_CACHE")) s.cache = c;
  CLI::App app{"gw-grade: the gradwork autograder (sandboxed, rubric-driven, Gradescope-ready)"};
  app.add_option("--root", s.root, "the grader's repository (reference, hidden tests)");
  app.add_option("--manifest", s.manifest, "lab manifest (default: <root>/labs/labs.json)");
  app.add_option("--rubric", s.rubric, "rubric file overriding the manifest's points");
  app.add_option("--cache", s.cache, "framework cache folder (default: $GW_GRADER_CACHE or <build>/grader-cache)");
  app.add_option("--cuda", s.cuda, "build the framework with CUDA: auto, on, off")->check(CLI::IsMember({"auto", "on", "off"}));
  app.add_option("-j,--jobs", s.jobs, "compiles and test cases run in parallel")->check(CLI::Range(1, 64));
  app.add_option("--sandbox-uid", s.uid_base, "first uid of the sandbox users (as root; one per job)");
  app.add_flag("-v,--verbose", s.verbose, "progress on stderr");
  app.require_subcommand(1);
  CLI::App* g = app.add_subcommand("grade", "grade one submission, or a folder of submissions with --batch");
  g->add_option("submission", s.inputs, "folder, .zip or .tar.gz (or, with --batch, a folder of them)")->required();
  g->add_flag("--batch", s.batch, "the argument is a folder of submissions");
  g->add_option("--labs", s.labs, "only these labs (e.g. 01,03)");
  g->add_option("--timeout", s.timeout_s, "wall-clock limit per test case, seconds");
  g->add_option("--total-timeout", s.total_timeout_s, "budget for the whole run; later tests are not run");
  g->add_option("--memory-mb", s.memory_mb, "address-space limit per test case");
  g->add_option("--disk-mb", s.disk_mb, "bytes a test case may write in all (its private /tmp), MiB");
  g->add_option("--seed", s.seed, "seed of the hidden inputs (default: the release's own, fixed by the grader's tree)");
  g->add_option("--seeds", s.seeds, "grade once per seed (e.g. 1-50 or 3,7,11): one line per seed");
  g->add_option("--json", s.json_out, "write the full machine-readable report");
  g->add_option("--json-dir", s.json_dir, "with --batch: one full report per submission");
  g->add_option("--gradescope", s.gradescope_out, "write Gradescope's results.json");
  g->add_option("--hidden-visibility", s.hidden_visibility,
                "Gradescope visibility of hidden tests (default after_due_date)")
      ->check(CLI::IsMember({"visible", "hidden", "after_due_date", "after_published"}));
  g->add_option("--csv", s.csv_out, "write a CSV gradebook");
  g->add_flag("--keep", s.keep, "keep the temporary build folders");
  g->add_flag("-q,--quiet", s.quiet, "no table on stdout");
  CLI::App* p = app.add_subcommand("prepare", "build the reference framework into the cache and exit");
  CLI::App* r = app.add_subcommand("release", "write the student copy of the repository");
  r->add_option("--out", s.release_out, "folder to create")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  s.root = absolute(s.root);
  if (s.cache.empty()) s.cache = std::string(GW_GRADER_BINARY_DIR) + "/grader-cache";
  make_dirs(s.cache);
  s.cache = absolute(s.cache);
  try {
    if (g->parsed()) return grade(s, t0);
    const Manifest manifest = load(s);
    if (p->parsed()) {
      const Framework fw = prepare(s, manifest);
      std::cout << "gw-grade: framework " << fw.hash << " ready in " << fw.dir << "\n";
      return 0;
    }
    const ReleaseSummary sum = make_release(manifest, s.root, s.release_out);
    std::cout << "gw-grade: wrote the student release to " << s.release_out << ": " << sum.files << " files, "
              << sum.stubbed << " reference lab files left out (their stubs in labs/ remain)\n";
    for (const auto& l : sum.left_out) std::cout << "  left out: " << l << "\n";
    for (const auto& f : sum.rewritten) std::cout << "  marker mentions defused in: " << f << "\n";
    return 0;
  } catch (const gw::UsageError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gw-grade: " << e.what() << "\n";
    if (!s.gradescope_out.empty()) {
      try {
        write_text(s.gradescope_out, gradescope_failure(e.what(), now_s() - t0).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
      } catch (...) {
      }
    }
    return 1;
  }
}
