// grade.cpp — runs each test case of a submission in its own sandboxed process, judges it
// against the trusted run of the same test on the reference (judge.h; never from what the
// program prints or claims), and scores it.
#include "grade.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "judge.h"
#include "util.h"

namespace gw::grader {
namespace {

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
  TestStream stream;
};

std::vector<std::string> run_env(const std::string& dir) {
  return {"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8",
          "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1"};
}

// One test case of a student's program: in the sandbox, one process, its own private /tmp
// (its working folder lives there), only its own binary visible from the work folder.
Run run_test(const std::string& binary, const std::string& test, const std::string& seed,
             const GradeContext& ctx, const SandboxLimits& limits, int slot, const std::string& work,
             bool timed = false) {
  Run run;
  const std::string dir = make_temp_dir("gw-run-");
  chmod(dir.c_str(), 0777);
  SandboxSpec spec;
  spec.argv = {binary, "--gtest_filter=" + test, "--gtest_color=no", "--gtest_brief=0"};
  spec.workdir = dir;
  spec.env = run_env(dir);
  spec.mask = ctx.run_mask;
  spec.mask.push_back(work + "/src");  // the submission's sources: not needed at run time
  spec.keep = {binary};
  spec.limits = limits;
  spec.slot = slot;
  spec.channel = true;
  spec.handshake = seed + "\n";
  // A timed run gets one fixed layout: with random ones, one program was fast in some runs and
  // 60% slower in others, and two identical programs compared apart scored 1.2x.
  spec.fixed_layout = timed;
  run.result = run_sandboxed(spec);
  run.stream = parse_stream(run.result.records, test);
  remove_all(dir);
  return run;
}

// The trusted run of a reference program: every test case of it in one process (trusted code
// only: the reference lab files and the tests), as the grader's uid, in the same sandbox
// layers otherwise. Its records are cached per framework, program and seed; a test the
// all-in-one run did not finish is run again alone.
std::map<std::string, TestStream> trusted_streams(const Framework& fw, const std::string& lab,
                                                  const LabProgram& p, const std::string& seed,
                                                  const SandboxLimits& limits) {
  const std::string cache = fw.dir + "/trusted/" + lab + "_" + p.kind + "_" + seed + ".records";
  if (exists(cache)) return parse_streams(read_text(cache));
  auto run = [&](const std::string& filter, double wall_s, std::string* output) {
    const std::string dir = make_temp_dir("gw-trusted-");
    SandboxSpec spec;
    spec.argv = {p.reference_binary, "--gtest_color=no"};
    if (!filter.empty()) spec.argv.push_back("--gtest_filter=" + filter);
    spec.workdir = dir;
    spec.env = run_env(dir);
    spec.keep = {p.reference_binary};
    spec.limits = limits;
    spec.limits.wall_s = wall_s;
    spec.limits.cpu_s = static_cast<int64_t>(wall_s) + 2;
    spec.as_grader = true;
    spec.channel = true;
    spec.handshake = seed + "\n";
    const SandboxResult r = run_sandboxed(spec);
    remove_all(dir);
    if (output) *output = r.output;
    return r.records;
  };
  std::string output;
  std::string records = run("", std::min(1800.0, 10 + limits.wall_s * static_cast<double>(p.tests.size())), &output);
  std::map<std::string, TestStream> streams = parse_streams(records);
  for (const std::string& test : p.tests) {
    auto it = streams.find(test);
    if (it != streams.end() && it->second.ended) continue;
    // Only this test's lines of the first run are dropped: the lone run replaces them.
    std::string kept, line;
    std::istringstream in(records);
    bool inside = false;
    while (std::getline(in, line)) {
      if (line == "S " + test) inside = true;
      if (!inside) kept += line + "\n";
      if (inside && line.rfind("E ", 0) == 0) inside = false;
    }
    records = kept + run(test, limits.wall_s, nullptr);
  }
  streams = parse_streams(records);
  // Cached only when every test finished: a run cut short (an overloaded machine, a timeout)
  // must not void a test for good. rename(2) is atomic: two graders writing the same entry
  // leave one whole copy.
  bool complete = true;
  for (const std::string& test : p.tests) complete = complete && streams.count(test) && streams[test].ended;
  if (complete) {
    const std::string tmp = cache + ".tmp" + random_token(4);
    write_text(tmp, records);
    std::rename(tmp.c_str(), cache.c_str());
  }
  return streams;
}

// Fills status, verdict, reason and outcome of a test from the student's run and the
// trusted stream of the same test and seed.
void judge(const Run& run, const TestStream* trusted, const SandboxLimits& limits, const std::string& seed,
           TestResult& t) {
  const SandboxResult& r = run.result;
  const TestStream& s = run.stream;
  t.seconds = r.wall_s;
  t.output = r.output;
  if (r.output_bytes > r.output.size())
    t.output += "\n[... " + std::to_string(r.output_bytes - r.output.size()) + " more bytes not kept]";
  // The reference must pass the test, with finite results, for its stream to be the standard.
  const std::string defect = trusted ? trusted_defect(*trusted) : "no trusted run of this test";
  if (!defect.empty()) {
    t.status = "void";
    t.reason = "not graded: " + defect + " (seed " + seed + "); this is a fault of the grader, not of your code";
    t.outcome = t.reason;
    return;
  }
  if (trusted->outcome == "skip") {
    t.status = "skipped";
    t.reason = "the test skips itself here (for example: no GPU on this machine)";
    t.outcome = "skipped";
    return;
  }
  const bool clean_exit = r.exit_code == 0 && !r.timed_out && !r.output_exceeded && r.signal == 0;
  const bool observed = !trusted->observations.empty();
  t.verdict = observed ? "observations" : "process";
  const Comparison cmp = observed ? compare_streams(*trusted, s) : Comparison{true, ""};
  const bool gtest_pass = s.ended && s.outcome == "pass";
  if (cmp.match && gtest_pass && clean_exit) {
    t.status = "passed";
    t.outcome = "passed";
    return;
  }
  t.status = "failed";
  const bool crashed = r.timed_out || r.output_exceeded || r.signal != 0;
  if (r.setup_failed) {
    t.reason = describe_end(r, limits);
  } else if (!s.started) {
    t.reason = "the program " + describe_end(r, limits) + " before the test started";
  } else if (!s.ended) {
    if (!crashed && r.exit_code == 0)
      t.reason = "the program exited with status 0 in the middle of the test (exit() called from lab code?); "
                 "a test passes only when it runs to its end";
    else
      t.reason = describe_end(r, limits) + " during the test";
  } else if (s.outcome == "pass" && cmp.match) {
    t.reason = "the test passed, but the program then " + describe_end(r, limits) +
               " (at exit: a static destructor or atexit handler?)";
  } else {
    // A wrong result: the first difference from the reference's run, then the test's own
    // messages (what a student sees running the public test).
    const std::string mine = failure_text(r.output);
    // The first line of the test's own message that says something ("not implemented: ...",
    // "Value of: ..."), without GoogleTest's "file:line: Failure" headers.
    std::string head;
    std::istringstream lines(mine);
    for (std::string line; std::getline(lines, line);)
      if (line.size() < 9 || line.compare(line.size() - 9, 9, ": Failure") != 0) {
        head = line;
        break;
      }
    const bool stopped = s.observations.size() < trusted->observations.size() && s.outcome == "fail";
    if (cmp.match || (stopped && !head.empty()))  // the test's own assertion or exception says it best
      t.reason = "wrong result: " + head + "\n" + (cmp.match ? "" : cmp.why + "\n") + mine;
    else
      t.reason = "wrong result: " + cmp.why + "\n" + mine;
    if (r.output.find("std::bad_alloc") != std::string::npos)
      t.reason = "ran out of memory (std::bad_alloc at the address-space limit of " +
                 std::to_string(limits.memory_mb) + " MiB):\n" + mine;
    if (r.disk_full)
      t.reason = "filled its " + std::to_string(limits.disk_mb) + " MiB of disk (the total a test may write):\n" + t.reason;
  }
  // What a hidden test may show: the kind of failure, never its assertions or values.
  if (s.ended)
    t.outcome = r.output.find("not implemented") != std::string::npos ? "failed: not implemented (stub)"
                : t.reason.rfind("ran out of memory", 0) == 0           ? "failed: ran out of memory"
                : t.reason.rfind("the test passed, but", 0) == 0        ? "failed: " + t.reason.substr(0, t.reason.find('\n'))
                                                                        : "failed: wrong result";
  else
    t.outcome = "failed: " + t.reason.substr(0, t.reason.find('\n'));
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

std::string release_seed(const Framework& fw) {
  return std::to_string(fnv1a("gw-grade hidden seed " + fw.content_hash) % 1000000000000ull);
}

SubmissionResult grade_submission(const std::string& input, const GradeContext& ctx,
                                  const GradeOptions& opt) {
  return grade_submission_seeds(input, ctx, opt).at(0);
}

std::vector<SubmissionResult> grade_submission_seeds(const std::string& input, const GradeContext& ctx,
                                                     const GradeOptions& opt) {
  const double t0 = now_s();
  const Manifest& manifest = *ctx.manifest;
  const Framework& fw = *ctx.framework;
  const std::vector<std::string> seeds = opt.seeds.empty() ? std::vector<std::string>{release_seed(fw)} : opt.seeds;
  SubmissionResult base;
  base.input = input;
  base.sandbox = sandbox_caps().describe();
  base.gpu = fw.gpu;
  Submission sub = open_submission(input, manifest, fw.root, ctx);
  base.name = sub.name;
  // Every sandboxed compile and test gets a private /tmp (and /var/tmp, /dev/shm): a
  // framework kept there would vanish from under the compiler, and every lab would read as
  // "does not compile". Say so instead.
  if (sandbox_caps().namespaces && sub.error.empty())
    for (const std::string& path : {fw.root, fw.dir})
      for (const std::string hidden : {"/tmp/", "/var/tmp/", "/dev/shm/"})
        if (sub.error.empty() && path.rfind(hidden, 0) == 0)
          sub.error = "the grader gives each test a private " + hidden.substr(0, hidden.size() - 1) +
                      ", which hides " + path + ": keep the repository and its build folder elsewhere";
  if (!sub.error.empty()) base.error = sub.error;
  std::vector<const Lab*> labs;
  for (const Lab& lab : manifest.labs)
    if (opt.labs.empty() || std::find(opt.labs.begin(), opt.labs.end(), lab.id) != opt.labs.end())
      labs.push_back(&lab);
  // Build every lab once, the labs side by side: their compiles share the `jobs` sandbox
  // slots (one uid each, locked per run), so the cores stay busy while a lab links or scans.
  std::vector<LabBinaries> built(labs.size());
  {
    std::vector<std::exception_ptr> failures(labs.size());
    std::vector<std::thread> builders;
    for (size_t i = 0; i < labs.size() && sub.error.empty(); ++i)
      builders.emplace_back([&, i] {
        try {
          if (opt.verbose) std::cerr << "gw-grade: " << sub.name << ": building lab " << labs[i]->id << "\n";
          built[i] = build_lab(*labs[i], sub, ctx);
        } catch (...) {
          failures[i] = std::current_exception();
        }
      });
    for (auto& b : builders) b.join();
    for (const auto& f : failures)
      if (f) std::rethrow_exception(f);
  }
  // Every test of every lab is listed (from the reference build) so that the maximum is right
  // even when a lab does not compile.
  std::vector<std::map<std::string, std::string>> lab_binaries;  // parallel to base.labs
  for (size_t li = 0; li < labs.size(); ++li) {
    const Lab* lab = labs[li];
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
    LabBinaries bins = built[li];
    if (!sub.error.empty()) {
      bins.status = "not_built";
      bins.message = sub.error;
    }
    lr.build_status = bins.status;
    lr.build_message = bins.message;
    lr.build_seconds = bins.seconds;
    lr.objects_compiled = bins.objects_compiled;
    lr.objects_reused = bins.objects_reused;
    for (TestResult& t : lr.tests) {
      if (bins.status == "ok") continue;
      t.status = "failed";
      t.reason = bins.status == "compile_error" ? "the lab does not compile (see the lab's build message)"
               : bins.status == "rejected"      ? "the lab was rejected before compiling (see the lab's build message)"
               : bins.status == "forbidden"     ? "the lab uses a forbidden route (see the lab's build message)"
               : bins.status == "link_error"    ? "the lab does not link (see the lab's build message)"
                                                : "the submission could not be opened: " + bins.message;
      t.outcome = "failed: " + t.reason;
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
    base.labs.push_back(lr);
    lab_binaries.push_back(bins.binaries);
  }
  std::vector<SubmissionResult> results;
  for (size_t si = 0; si < seeds.size(); ++si) {
    SubmissionResult res = base;
    res.seed = seeds[si];
    // Public tests do not read the hidden seed: after the first seed they are copied.
    if (si > 0)
      for (size_t li = 0; li < res.labs.size(); ++li)
        for (size_t ti = 0; ti < res.labs[li].tests.size(); ++ti)
          if (res.labs[li].tests[ti].group != "hidden") res.labs[li].tests[ti] = results[0].labs[li].tests[ti];
    // The trusted streams of every program that will run, computed first (cached on disk).
    std::map<std::string, std::map<std::string, TestStream>> trusted;  // "lab/kind" -> test -> stream
    {
      std::vector<std::pair<std::string, const LabProgram*>> wanted;
      for (size_t li = 0; li < res.labs.size(); ++li) {
        if (!lab_binaries[li].size()) continue;
        for (const LabProgram& p : fw.labs.at(res.labs[li].id).programs)
          if (si == 0 || p.kind == "hidden") wanted.push_back({res.labs[li].id, &p});
      }
      std::mutex tmu;
      std::atomic<size_t> next_w{0};
      auto tworker = [&] {
        for (size_t k = next_w++; k < wanted.size(); k = next_w++) {
          const Lab& lab = *manifest.find(wanted[k].first);
          SandboxLimits limits = opt.limits;
          if (lab.timeout_s > 0) limits.wall_s = lab.timeout_s;
          auto streams = trusted_streams(fw, lab.id, *wanted[k].second, res.seed, limits);
          std::lock_guard<std::mutex> lock(tmu);
          trusted[lab.id + "/" + wanted[k].second->kind] = std::move(streams);
        }
      };
      std::vector<std::thread> tt;
      for (int j = 0; j < std::max(1, ctx.jobs); ++j) tt.emplace_back(tworker);
      for (auto& th : tt) th.join();
    }
    struct Pending {
      size_t lab_index, test_index;
      std::string binary;
      SandboxLimits limits;
    };
    std::vector<Pending> pending;
    for (size_t li = 0; li < res.labs.size(); ++li) {
      const Lab& lab = *manifest.find(res.labs[li].id);
      for (size_t ti = 0; ti < res.labs[li].tests.size(); ++ti) {
        const TestResult& t = res.labs[li].tests[ti];
        if (t.group == "benchmark" || t.status != "not_run" || !lab_binaries[li].count(t.group)) continue;
        if (si > 0 && t.group != "hidden") continue;
        SandboxLimits limits = opt.limits;
        if (lab.timeout_s > 0) limits.wall_s = lab.timeout_s;
        pending.push_back({li, ti, lab_binaries[li].at(t.group), limits});
      }
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
        const auto& streams = trusted[t.lab + "/" + t.group];
        auto it = streams.find(t.name);
        judge(run, it == streams.end() ? nullptr : &it->second, p.limits, res.seed, t);
        if (t.status == "passed") t.score = t.max_score;
        if (opt.verbose) {
          std::lock_guard<std::mutex> lock(mu);
          std::cerr << "  lab " << t.lab << " " << t.group << " " << t.name << ": " << t.status << "\n";
        }
      }
    };
    std::vector<std::thread> threads;
    for (int s = 0; s < std::max(1, ctx.jobs); ++s) threads.emplace_back(worker, s);
    for (auto& th : threads) th.join();
    // Performance items (first seed only): rounds of one run of each side, one at a time, each
    // side first in every other round; the median of the rounds' ratios.
    for (size_t li = 0; li < res.labs.size() && si == 0; ++li) {
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
        // The cache is masked in the sandbox: the reference program runs from the work folder,
        // from a path as long as the student's (…/lab05/bin/x and …/ref05/bin/x): the path
        // shifts the stack, and that alone made one of two identical programs 50% slower.
        const std::string ref_dir = sub.work + "/ref" + lab.id;
        const std::string ref_copy = ref_dir + "/bin/" + basename_of(ref_binary);
        if (!exists(ref_copy)) {
          make_dirs(ref_dir + "/bin");
          copy_file(ref_binary, ref_copy, true);
          chmod(ref_dir.c_str(), 0755);
          chmod((ref_dir + "/bin").c_str(), 0755);
        }
        ref_binary = ref_copy;
        SandboxLimits limits = opt.limits;
        if (lab.timeout_s > 0) limits.wall_s = lab.timeout_s;
        const auto& streams = trusted[lab.id + "/" + b->program];
        auto tr = streams.find(b->test);
        std::vector<double> mine, theirs;
        std::string failure;
        for (int rep = 0; rep < b->repetitions && failure.empty(); ++rep) {
          for (int turn = 0; turn < 2; ++turn) {
            const int side = (turn + rep) % 2;  // who runs first alternates: no order bias
            const Run run = run_test(side == 0 ? binaries[b->program] : ref_binary, b->test, res.seed, ctx,
                                     limits, 0, sub.work, true);
            TestResult probe;
            judge(run, tr == streams.end() ? nullptr : &tr->second, limits, res.seed, probe);
            if (probe.status != "passed") {
              failure = (side == 0 ? "your code: " : "the reference: ") + probe.reason;
              break;
            }
            // The program's own clock, bounded by the grader's: no claim beyond the process's
            // whole life. CPU items compare CPU time, which other work on a shared machine does
            // not stretch (wall time moved ±30% at a load of 6 on 2 cores); GPU items compare
            // wall time, since a kernel's time is not the CPU's. (The kernel's CPU accounting of
            // a short process can read 0, and threads can use more CPU than wall time: the
            // larger of the two bounds a CPU claim.)
            const double ms =
                b->gpu ? std::min(run.stream.ns / 1e6, run.result.wall_s * 1e3)
                       : std::min(run.stream.cpu_ns / 1e6, std::max(run.result.cpu_s, run.result.wall_s) * 1e3);
            (side == 0 ? mine : theirs).push_back(ms);
          }
        }
        if (!failure.empty()) {
          t.status = "failed";
          t.reason = "the timed test " + b->test + " did not pass: " + failure;
          t.outcome = "failed";
          continue;
        }
        // Each round times both sides back to back, so that whatever else the machine does
        // weighs on both alike: the ratio is the median of the rounds' ratios. (The sides'
        // times compared apart, even the best of each, still moved ±30% on a busy 2-core
        // machine: enough to cost the reference points against itself.)
        std::vector<double> ratios;
        for (size_t i = 0; i < mine.size() && i < theirs.size(); ++i)
          if (theirs[i] > 0) ratios.push_back(mine[i] / theirs[i]);
        t.student_ms = median(mine);
        t.reference_ms = median(theirs);
        t.ratio = median(ratios);
        t.score = benchmark_points(t.ratio, b->points, b->full_at, b->zero_at);
        t.status = t.score >= b->points ? "passed" : "failed";
        std::ostringstream os;
        os.precision(3);
        os << "yours " << t.student_ms << " ms, reference " << t.reference_ms << " ms (medians of "
           << b->repetitions << " rounds, each side once per round): ratio " << t.ratio << "; full points at <= " << b->full_at
           << "x, none at >= " << b->zero_at << "x";
        t.reason = os.str();
        t.outcome = t.reason;
      }
    }
    for (LabResult& lr : res.labs) {
      lr.score = lr.max_score = 0;
      for (TestResult& t : lr.tests) {
        if (t.status == "skipped" || t.status == "void") {
          t.max_score = 0;
          t.score = 0;
        }
        if (t.status == "void")
          res.defects.push_back("lab " + lr.id + " " + t.group + " " + t.name + ": " + t.reason);
        lr.score += t.score;
        lr.max_score += t.max_score;
      }
      res.score += lr.score;
      res.max_score += lr.max_score;
    }
    res.seconds = now_s() - t0;
    results.push_back(std::move(res));
  }
  if (!opt.keep_work) remove_all(sub.work);
  return results;
}

}  // namespace gw::grader
