// grade.cpp — runs each test case in its own sandboxed process, decides its outcome from the
// grader's own token-stamped records (never from what the program prints), and scores it.
#include "grade.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "util.h"

namespace gw::grader {
namespace {

struct Record {
  bool started = false, ended = false;
  std::string outcome;  // pass | fail | skip
  double ns = 0;
};

// The records stamped with `token` for `test`; lines without the token are ignored.
Record parse_records(const std::string& records, const std::string& token, const std::string& test) {
  Record r;
  std::istringstream in(records);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, tok, name, outcome;
    double ns = 0;
    words >> kind >> tok >> name;
    if (tok != token || name != test) continue;
    if (kind == "start") r.started = true;
    if (kind == "end" && (words >> outcome >> ns) && r.started) {
      r.ended = true;
      r.outcome = outcome;
      r.ns = ns;
    }
  }
  return r;
}

// The assertion messages of GoogleTest's output, without its banner lines.
std::string failure_text(const std::string& output, size_t cap = 2000) {
  std::istringstream in(output);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("[==========]", 0) == 0 || line.rfind("[----------]", 0) == 0 ||
        line.rfind("[ RUN      ]", 0) == 0 || line.rfind("[  FAILED  ]", 0) == 0 ||
        line.rfind("[  PASSED  ]", 0) == 0 || line.rfind("[       OK ]", 0) == 0 ||
        line.rfind("Note: Google Test filter", 0) == 0 || line.rfind("Running main()", 0) == 0 ||
        line.find("FAILED TEST") != std::string::npos || line.empty())
      continue;
    out += line + "\n";
    if (out.size() > cap) {
      out = out.substr(0, cap) + "...\n";
      break;
    }
  }
  return out;
}

struct Run {
  SandboxResult result;
  Record record;
  std::string token;
};

Run run_test(const std::string& binary, const std::string& test, const std::string& seed,
             const GradeContext& ctx, const SandboxLimits& limits, int slot, const std::string& work) {
  Run run;
  run.token = random_token();
  const std::string dir = make_temp_dir("gw-run-");
  chmod(dir.c_str(), 0777);
  SandboxSpec spec;
  spec.argv = {binary, "--gtest_filter=" + test, "--gtest_color=no", "--gtest_brief=0"};
  spec.workdir = dir;
  spec.env = {"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8",
              "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1"};
  spec.mask = ctx.run_mask;
  spec.mask.push_back(work + "/src");  // the submission's sources: not needed at run time
  spec.limits = limits;
  spec.slot = slot;
  spec.channel = true;
  spec.handshake = run.token + " " + seed + "\n";
  run.result = run_sandboxed(spec);
  run.record = parse_records(run.result.records, run.token, test);
  remove_all(dir);
  return run;
}

// Fills status, reason and outcome of a test from its run.
void judge(const Run& run, const SandboxLimits& limits, TestResult& t) {
  const SandboxResult& r = run.result;
  const Record& rec = run.record;
  t.seconds = r.wall_s;
  t.output = r.output;
  if (r.output_bytes > r.output.size())
    t.output += "\n[... " + std::to_string(r.output_bytes - r.output.size()) + " more bytes not kept]";
  const bool clean_exit = r.exit_code == 0 && !r.timed_out && !r.output_exceeded && r.signal == 0;
  if (rec.ended && rec.outcome == "pass" && clean_exit) {
    t.status = "passed";
    t.outcome = "passed";
    return;
  }
  t.status = "failed";
  if (r.setup_failed) {
    t.reason = describe_end(r, limits);
  } else if (rec.ended && rec.outcome == "skip") {
    t.status = "skipped";
    t.reason = "the test skipped itself (for example: no GPU on this machine)";
  } else if (rec.ended && rec.outcome == "pass") {
    t.reason = "the test passed, but the program then " + describe_end(r, limits) +
               " (at exit: a static destructor or atexit handler?)";
  } else if (rec.ended) {
    t.reason = "wrong result:\n" + failure_text(r.output);
    if (r.output.find("std::bad_alloc") != std::string::npos)
      t.reason = "ran out of memory (std::bad_alloc at the address-space limit of " +
                 std::to_string(limits.memory_mb) + " MiB):\n" + failure_text(r.output);
  } else if (rec.started) {
    if (!r.timed_out && !r.output_exceeded && r.signal == 0 && r.exit_code == 0)
      t.reason = "the program exited with status 0 in the middle of the test (exit() called from lab code?); "
                 "a test passes only when it runs to its end";
    else
      t.reason = describe_end(r, limits) + " during the test";
  } else {
    t.reason = "the program " + describe_end(r, limits) + " before the test started";
  }
  // What a hidden test may show: the kind of failure, never its assertions.
  if (t.status == "skipped") t.outcome = "skipped";
  else if (rec.ended && rec.outcome == "fail")
    t.outcome = r.output.find("not implemented") != std::string::npos ? "failed: not implemented (stub)"
                : t.reason.rfind("ran out of memory", 0) == 0             ? "failed: ran out of memory"
                                                                          : "failed: wrong result";
  else t.outcome = "failed: " + t.reason.substr(0, t.reason.find('\n'));
}

// Splits the group's points over its tests; rubric overrides are taken first.
void assign_points(const Lab& lab, std::vector<TestResult>& tests) {
  for (const char* group : {"public", "hidden"}) {
    const double total = std::string(group) == "public" ? lab.public_points : lab.hidden_points;
    double fixed = 0;
    int rest = 0;
    for (const TestResult& t : tests) {
      if (t.group != group) continue;
      auto it = lab.test_points.find(t.name);
      if (it != lab.test_points.end()) fixed += it->second;
      else ++rest;
    }
    for (TestResult& t : tests) {
      if (t.group != group) continue;
      auto it = lab.test_points.find(t.name);
      t.max_score = it != lab.test_points.end() ? it->second : (rest ? std::max(0.0, total - fixed) / rest : 0);
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
}

}  // namespace

double benchmark_points(double ratio, double points, double full_at, double zero_at) {
  if (!(ratio > 0)) return 0;
  if (ratio <= full_at) return points;
  if (ratio >= zero_at) return 0;
  return points * (zero_at - ratio) / (zero_at - full_at);
}

SubmissionResult grade_submission(const std::string& input, const GradeContext& ctx,
                                  const GradeOptions& opt) {
  const double t0 = now_s();
  const Manifest& manifest = *ctx.manifest;
  const Framework& fw = *ctx.framework;
  SubmissionResult res;
  res.input = input;
  res.seed = opt.seed.empty() ? std::to_string(random_u64() % 1000000000000ull) : opt.seed;
  res.sandbox = sandbox_caps().describe();
  res.gpu = fw.gpu;
  Submission sub = open_submission(input, manifest, fw.root, ctx);
  res.name = sub.name;
  std::vector<const Lab*> labs;
  for (const Lab& lab : manifest.labs)
    if (opt.labs.empty() || std::find(opt.labs.begin(), opt.labs.end(), lab.id) != opt.labs.end())
      labs.push_back(&lab);
  // Every test of every lab is listed (from the reference build) so that the maximum is
  // right even when a lab does not compile.
  struct Pending {
    size_t lab_index, test_index;
    std::string binary;
    SandboxLimits limits;
  };
  std::vector<Pending> pending;
  std::vector<std::map<std::string, std::string>> lab_binaries;  // parallel to res.labs
  for (const Lab* lab : labs) {
    LabResult lr;
    lr.id = lab->id;
    lr.title = lab->title;
    lr.notes = sub.notes[lab->id];
    const LabBuild& lb = fw.labs.at(lab->id);
    for (const LabProgram& p : lb.programs)
      for (const std::string& test : p.tests) {
        TestResult t;
        t.lab = lab->id;
        t.group = p.kind;
        t.name = test;
        t.status = "not_run";
        lr.tests.push_back(t);
      }
    assign_points(*lab, lr.tests);
    LabBinaries bins;
    if (!sub.error.empty()) {
      bins.status = "not_built";
      bins.message = sub.error;
    } else {
      if (opt.verbose) std::cerr << "gw-grade: " << sub.name << ": building lab " << lab->id << "\n";
      bins = build_lab(*lab, sub, ctx);
    }
    lr.build_status = bins.status;
    lr.build_message = bins.message;
    lr.build_seconds = bins.seconds;
    for (size_t i = 0; i < lr.tests.size(); ++i) {
      TestResult& t = lr.tests[i];
      if (bins.status != "ok") {
        t.status = "failed";
        t.reason = bins.status == "compile_error" ? "the lab does not compile (see the lab's build message)"
                 : bins.status == "forbidden"     ? "the lab uses a forbidden symbol (see the lab's build message)"
                 : bins.status == "link_error"    ? "the lab does not link (see the lab's build message)"
                                                  : "the submission could not be opened: " + bins.message;
        t.outcome = "failed: " + t.reason;
        continue;
      }
      SandboxLimits limits = opt.limits;
      if (lab->timeout_s > 0) limits.wall_s = lab->timeout_s;
      pending.push_back({res.labs.size(), i, bins.binaries.at(t.group), limits});
    }
    // Performance items come after the correctness tests (run alone, below).
    for (const Benchmark& b : lab->benchmarks) {
      TestResult t;
      t.lab = lab->id;
      t.group = "benchmark";
      t.name = b.name;
      t.max_score = b.points;
      t.status = "not_run";
      if (bins.status != "ok") {
        t.status = "failed";
        t.reason = "the lab was not built";
      }
      lr.tests.push_back(t);
    }
    res.labs.push_back(lr);
    lab_binaries.push_back(bins.binaries);  // kept for the performance items
  }
  // Correctness tests: a pool of `jobs` workers, one sandbox slot (uid) each.
  std::atomic<size_t> next{0};
  std::mutex mu;
  auto worker = [&](int slot) {
    while (true) {
      const size_t k = next++;
      if (k >= pending.size()) return;
      const Pending& p = pending[k];
      TestResult& t = res.labs[p.lab_index].tests[p.test_index];
      if (opt.deadline > 0 && now_s() > opt.deadline) {
        t.status = "not_run";
        t.reason = "not run: the grading time budget ran out";
        t.outcome = t.reason;
        continue;
      }
      const Run run = run_test(p.binary, t.name, res.seed, ctx, p.limits, slot, sub.work);
      judge(run, p.limits, t);
      if (t.status == "passed") t.score = t.max_score;
      if (t.status == "skipped") t.max_score = 0;
      if (opt.verbose) {
        std::lock_guard<std::mutex> lock(mu);
        std::cerr << "  lab " << t.lab << " " << t.group << " " << t.name << ": " << t.status << "\n";
      }
    }
  };
  std::vector<std::thread> threads;
  for (int s = 0; s < std::max(1, ctx.jobs); ++s) threads.emplace_back(worker, s);
  for (auto& th : threads) th.join();
  // Performance items: student and reference alternate, one at a time, median of each.
  for (size_t li = 0; li < res.labs.size(); ++li) {
    LabResult& lr = res.labs[li];
    const Lab& lab = *manifest.find(lr.id);
    std::map<std::string, std::string>& binaries = lab_binaries[li];
    for (TestResult& t : lr.tests) {
      if (t.group != "benchmark" || t.status != "not_run") continue;
      const Benchmark* b = nullptr;
      for (const Benchmark& x : lab.benchmarks)
        if (x.name == t.name) b = &x;
      if (b->gpu && !fw.gpu) {
        t.status = "skipped";
        t.max_score = 0;
        t.reason = "GPU item not graded: no GPU on this machine";
        t.outcome = t.reason;
        continue;
      }
      std::string ref_binary;
      for (const LabProgram& p : fw.labs.at(lab.id).programs)
        if (p.kind == b->program) ref_binary = p.reference_binary;
      if (!binaries.count(b->program) || ref_binary.empty()) {
        t.status = "failed";
        t.reason = "no " + b->program + " test program to time";
        continue;
      }
      // The cache is masked in the sandbox: the reference program runs from the work folder.
      const std::string ref_copy = sub.work + "/ref/" + basename_of(ref_binary);
      if (!exists(ref_copy)) {
        copy_file(ref_binary, ref_copy, true);
        chmod((sub.work + "/ref").c_str(), 0755);
      }
      ref_binary = ref_copy;
      SandboxLimits limits = opt.limits;
      if (lab.timeout_s > 0) limits.wall_s = lab.timeout_s;
      std::vector<double> mine, theirs;
      std::string failure;
      for (int rep = 0; rep < b->repetitions && failure.empty(); ++rep) {
        for (int side = 0; side < 2; ++side) {
          const Run run = run_test(side == 0 ? binaries[b->program] : ref_binary, b->test, res.seed, ctx,
                                   limits, 0, sub.work);
          TestResult probe;
          judge(run, limits, probe);
          if (probe.status != "passed") {
            failure = (side == 0 ? "your code: " : "the reference: ") + probe.reason;
            break;
          }
          (side == 0 ? mine : theirs).push_back(run.record.ns / 1e6);
        }
      }
      if (!failure.empty()) {
        t.status = "failed";
        t.reason = "the timed test " + b->test + " did not pass: " + failure;
        t.outcome = "failed";
        continue;
      }
      t.student_ms = median(mine);
      t.reference_ms = median(theirs);
      t.ratio = t.reference_ms > 0 ? t.student_ms / t.reference_ms : 0;
      t.score = benchmark_points(t.ratio, b->points, b->full_at, b->zero_at);
      t.status = t.score >= b->points ? "passed" : "failed";
      std::ostringstream os;
      os.precision(3);
      os << "yours " << t.student_ms << " ms, reference " << t.reference_ms << " ms (median of "
         << b->repetitions << ", interleaved): ratio " << t.ratio << "; full points at <= " << b->full_at
         << "x, none at >= " << b->zero_at << "x";
      t.reason = os.str();
      t.outcome = t.reason;
    }
  }
  for (LabResult& lr : res.labs) {
    for (const TestResult& t : lr.tests) {
      lr.score += t.score;
      lr.max_score += t.max_score;
    }
    res.score += lr.score;
    res.max_score += lr.max_score;
  }
  if (!sub.error.empty()) res.error = sub.error;
  if (!opt.keep_work) remove_all(sub.work);
  res.seconds = now_s() - t0;
  return res;
}

}  // namespace gw::grader
