// submission.cpp — unpacking, locating, compiling, scanning and linking a submission
// (see submission.h).
#include "submission.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "callgraph.h"
#include "gw/error.h"
#include "scan.h"
#include "util.h"

namespace gw::grader {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> base_env(const std::string& workdir) {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + workdir, "TMPDIR=" + workdir,
          "LANG=C.UTF-8", "LC_ALL=C.UTF-8"};
}

// First lines of compiler output from the first error on, with the work folder's paths cut
// down to file names.
std::string first_errors(std::string out, const std::string& work, size_t max_lines = 25) {
  std::string escaped;
  for (char c : work) {
    if (!std::isalnum(static_cast<unsigned char>(c))) escaped += '\\';
    escaped += c;
  }
  out = std::regex_replace(out, std::regex(escaped + "/[^: \n]*/"), "");
  std::vector<std::string> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  size_t from = 0;
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find("error") != std::string::npos) {
      from = i >= 2 ? i - 2 : 0;
      break;
    }
  std::string kept;
  for (size_t i = from; i < lines.size() && i < from + max_lines; ++i) kept += lines[i] + "\n";
  if (lines.size() > from + max_lines)
    kept += "... (" + std::to_string(lines.size() - from - max_lines) + " more lines)\n";
  return kept;
}

}  // namespace

void make_sandbox_dir(const std::string& path) {
  make_dirs(path);
  chmod(path.c_str(), 0777);
}

void secret_paths(const Manifest& manifest, const std::string& root, const std::string& cache,
                  std::vector<std::string>* compile_mask, std::vector<std::string>* run_mask) {
  std::vector<std::string> common = {root + "/.git", cache};
  for (const Lab& lab : manifest.labs)
    for (const std::string& f : lab.files) common.push_back(root + "/" + f);
  // Build folders of the instructor's tree hold compiled solutions.
  if (DIR* d = opendir(root.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind("build", 0) == 0 && is_dir(root + "/" + name)) common.push_back(root + "/" + name);
    }
    closedir(d);
  }
  // Neither the compiler nor a test sees the grader's tree (hidden tests, fixtures, its
  // sources): a header lab's hidden test reaches the compiler on its stdin.
  *compile_mask = common;
  compile_mask->push_back(root + "/grader");
  *run_mask = common;
  run_mask->push_back(root + "/grader");
}

Submission open_submission(const std::string& input, const Manifest& manifest,
                           const std::string& root, const GradeContext& ctx) {
  Submission sub;
  sub.input = input;
  std::string trimmed = input;  // "alice/" names alice, not ""
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  std::string name = basename_of(trimmed);
  for (const char* ext : {".tar.gz", ".tgz", ".zip", ".tar"})
    if (ends_with(name, ext)) name = name.substr(0, name.size() - std::string(ext).size());
  sub.name = name.empty() ? "submission" : name;
  sub.work = make_temp_dir("gw-grade-");
  chmod(sub.work.c_str(), 0711);  // the sandbox user may enter (to run programs), not list
  std::string tree = input;
  if (!is_dir(input)) {
    if (!exists(input)) {
      sub.error = "submission " + input + " does not exist";
      return sub;
    }
    const bool zip = ends_with(input, ".zip");
    const bool tar = ends_with(input, ".tar.gz") || ends_with(input, ".tgz") || ends_with(input, ".tar");
    if (!zip && !tar) {
      sub.error = "submission " + input + " is neither a folder nor a .zip/.tar.gz archive";
      return sub;
    }
    const std::string archive = sub.work + "/upload" + (zip ? std::string(".zip") : std::string(".tar.gz"));
    copy_file(input, archive);
    tree = sub.work + "/unpacked";
    make_sandbox_dir(tree);
    SandboxSpec spec;
    // Unpacked by the sandbox user into a folder it creates itself (so tar may set its mode).
    const std::string unpack = zip ? "/usr/bin/unzip -qq -o \"$1\" -d x"
                                   : "/bin/tar -xf \"$1\" -C x --no-same-owner --no-overwrite-dir";
    spec.argv = {"/bin/sh", "-c", "mkdir x && " + unpack, "unpack", archive};
    spec.workdir = tree;
    spec.private_workdir = false;  // the unpacked files are what the grader reads next
    spec.keep = {archive};
    spec.env = base_env(tree);
    spec.mask = ctx.run_mask;
    spec.limits.wall_s = 60;
    spec.limits.file_mb = 256;
    const SandboxResult r = run_sandboxed(spec);
    tree += "/x";
    if (r.exit_code != 0) {
      sub.error = "cannot unpack " + basename_of(input) + ": " + describe_end(r, spec.limits) + "\n" +
                  r.output.substr(0, 2000);
      return sub;
    }
  }
  // Locate each lab file: by its place in the repository, else by basename (one match).
  const std::vector<std::string> found = list_files(tree, 8);
  for (const Lab& lab : manifest.labs) {
    for (const std::string& ref : lab.files) {
      const std::string base = basename_of(lab.student_path(ref));
      const std::string student_rel = lab.student_path(ref);
      std::vector<std::string> by_place, by_name;
      for (const std::string& f : found) {
        if (basename_of(f) != base) continue;
        if (f == student_rel || ends_with(f, "/" + student_rel)) by_place.push_back(f);
        else by_name.push_back(f);
      }
      std::string chosen;
      if (by_place.size() == 1) chosen = by_place[0];
      else if (by_place.empty() && by_name.size() == 1) chosen = by_name[0];
      if (!chosen.empty()) {
        const std::string copy = sub.work + "/src/" + lab.id + "/" + base;
        copy_file(tree + "/" + chosen, copy);
        sub.files[ref] = copy;
      } else {
        const std::string stub = root + "/" + student_rel;
        const std::string copy = sub.work + "/src/" + lab.id + "/" + base;
        if (exists(stub)) copy_file(stub, copy);
        sub.files[ref] = exists(stub) ? copy : "";
        sub.notes[lab.id].push_back(
            by_place.size() + by_name.size() > 1
                ? "several files named " + base + " and none at " + student_rel + ": graded with the untouched stub"
                : "no " + base + " in the submission: graded with the untouched stub");
      }
    }
  }
  chmod((sub.work + "/src").c_str(), 0755);
  for (const Lab& lab : manifest.labs) chmod((sub.work + "/src/" + lab.id).c_str(), 0755);
  return sub;
}

namespace {

// The -I/-isystem/-iquote folders of a compile command, without the grader's own tree, the
// cache and the instructor's build folders (masked for the compiler anyway).
std::vector<std::string> include_dirs(const std::string& command, const std::string& root,
                                      const std::vector<std::string>& masked) {
  std::vector<std::string> out;
  std::istringstream in(command);
  std::string w, pending;
  while (in >> w) {
    std::string dir;
    if (!pending.empty()) {
      dir = w;
      pending.clear();
    } else if (w == "-I" || w == "-isystem" || w == "-iquote") {
      pending = w;
      continue;
    } else if (w.rfind("-I", 0) == 0) {
      dir = w.substr(2);
    } else {
      continue;
    }
    if (!dir.empty() && dir.front() == '\'') dir = dir.substr(1, dir.size() - 2);
    bool hidden = dir.rfind(root + "/grader", 0) == 0;
    for (const std::string& m : masked) hidden = hidden || dir.rfind(m, 0) == 0;
    if (!hidden && is_dir(dir)) out.push_back(absolute(dir));
  }
  return out;
}

// The hidden test's text with the grader's common headers (grader/hidden/common) pasted in,
// so that it compiles from stdin: no file of grader/ exists in the compiler's sandbox, and
// __FILE__/__BASE_FILE__ of a header included there are "<stdin>".
std::string inline_hidden_headers(const std::string& source, const std::string& common,
                                  std::set<std::string>& done) {
  std::istringstream in(read_text(source));
  std::string out, line;
  static const std::regex include_re(R"re(^\s*#\s*include\s*"([^"]+)")re");
  static const std::regex once_re(R"(^\s*#\s*pragma\s+once)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, include_re) && exists(common + "/" + m[1].str())) {
      if (done.insert(m[1].str()).second) out += inline_hidden_headers(common + "/" + m[1].str(), common, done);
      out += "\n";
      continue;
    }
    if (std::regex_search(line, once_re)) line.clear();
    out += line + "\n";
  }
  return out;
}

// The object cache (<cache>/<hash>/objects): an object compiled from exactly the same inputs
// (compile command, sources, lab headers; the project's files are the framework's, which
// its hash covers) is reused, so that files equal to the reference's or the stubs (fixtures,
// untouched labs of a batch) compile once. An entry holds its whole key and is used only when
// the key is equal byte for byte: a crafted hash collision gains nothing. Entries are
// written by the grader after a successful sandboxed compile, whole (rename(2) is atomic).
bool cached_object(const Framework& fw, const std::string& key, const std::string& object) {
  const std::string entry = fw.dir + "/objects/" + hex64(fnv1a(key));
  if (!exists(entry + "/key") || !exists(entry + "/object.o") || read_text(entry + "/key") != key) return false;
  copy_file(entry + "/object.o", object);
  return true;
}

// At most this many entries (a few hundred MB): a batch of many submissions fills the cache
// with objects that no other submission shares, and stops there.
constexpr size_t kMaxCachedObjects = 2048;

void keep_object(const Framework& fw, const std::string& key, const std::string& object) {
  size_t entries = 0;
  if (DIR* d = opendir((fw.dir + "/objects").c_str())) {
    while (readdir(d) && entries <= kMaxCachedObjects) ++entries;
    closedir(d);
  }
  if (entries > kMaxCachedObjects) return;
  const std::string entry = fw.dir + "/objects/" + hex64(fnv1a(key));
  const std::string tmp = entry + ".tmp" + random_token(4);
  make_dirs(tmp);
  write_text(tmp + "/key", key);
  copy_file(object, tmp + "/object.o");
  if (std::rename(tmp.c_str(), entry.c_str()) != 0) remove_all(tmp);  // another grader was first
}

}  // namespace

LabBinaries build_lab(const Lab& lab, const Submission& sub, const GradeContext& ctx) {
  const double t0 = now_s();
  LabBinaries out;
  const Framework& fw = *ctx.framework;
  const LabBuild& lb = fw.labs.at(lab.id);
  const std::string dir = sub.work + "/lab" + lab.id;
  make_sandbox_dir(dir + "/obj");
  // Header lab files: the submission's copies (or stubs) in an include folder that comes
  // first, for every header lab (their reference versions are masked).
  const std::string inc = dir + "/include";
  make_sandbox_dir(inc);
  std::set<std::string> header_names;  // "gw/dual.h": how lab headers are included
  static const std::regex inc_re("^reference/(?:include/)?(.*)$");
  for (const Lab& any : ctx.manifest->labs)
    for (const std::string& h : fw.labs.at(any.id).headers) {
      std::smatch m;
      if (std::regex_match(h, m, inc_re)) header_names.insert(m[1].str());
    }
  // 1. The scan: nothing that reads another file at compile time (scan.h).
  {
    IncludePolicy policy;
    std::string any_command;
    for (const auto& [ref, tmpl] : lb.compile) any_command += " " + tmpl;
    for (const LabProgram& p : lb.programs)
      for (const auto& [src, tmpl] : p.compile) any_command += " " + tmpl;
    policy.dirs = include_dirs(any_command, fw.root, ctx.compile_mask);
    for (const std::string& ref : lab.files) policy.dirs.push_back(absolute(fw.root + "/" + dirname_of(ref)));
    for (const std::string& d : system_include_dirs()) policy.dirs.push_back(d);
    policy.lab_files = header_names;
    for (const std::string& f : lab.student_files) policy.lab_files.insert(basename_of(f));
    for (const Lab& any : ctx.manifest->labs)
      for (const std::string& f : any.files) policy.forbidden.insert(absolute(fw.root + "/" + f));
    std::vector<ScanFinding> findings;
    for (const std::string& ref : lab.files) {
      const std::string src = sub.files.count(ref) ? sub.files.at(ref) : "";
      if (src.empty()) continue;
      const bool header = std::count(lb.headers.begin(), lb.headers.end(), ref) > 0;
      if (!header && !lb.compile.count(ref)) continue;  // not built by this framework (CUDA)
      for (const ScanFinding& f : scan_source(basename_of(lab.student_path(ref)), read_text(src), policy))
        findings.push_back(f);
    }
    // Another lab's header goes into this lab's include folder too: one that fails the scan
    // is replaced by its stub here (its own lab gets the 0).
    for (const Lab& any : ctx.manifest->labs)
      for (const std::string& h : fw.labs.at(any.id).headers) {
        std::smatch m;
        if (!std::regex_match(h, m, inc_re) || sub.files.count(h) == 0 || sub.files.at(h).empty()) continue;
        std::string from = sub.files.at(h);
        if (any.id != lab.id && !scan_source(basename_of(h), read_text(from), policy).empty())
          from = fw.root + "/" + any.student_path(h);
        copy_file(from, inc + "/" + m[1].str());
      }
    chmod((inc + "/gw").c_str(), 0755);
    if (!findings.empty()) {
      out.status = "rejected";
      out.message = "the lab scores 0: its files may not read other files at compile time\n";
      for (size_t i = 0; i < findings.size() && i < 12; ++i) out.message += findings[i].str() + "\n";
      if (findings.size() > 12) out.message += "... (" + std::to_string(findings.size() - 12) + " more)\n";
      out.seconds = now_s() - t0;
      return out;
    }
  }
  // 2. Compile in the sandbox: the lab's .cpp files, and for a header lab its tests. The
  // compiler sees the project's public files, the lab's files and its own output folder;
  // never grader/, the reference solutions, the cache or .git.
  struct Job {
    std::string what, command, object, stdin_data;
    bool hidden = false;  // its errors are not shown (they would quote the hidden test)
    std::string key;      // everything the object depends on (see cached_object)
  };
  std::vector<Job> jobs;
  std::vector<std::string> lab_objects;
  const std::string src_dir = sub.work + "/src/" + lab.id;
  // What a compile reads besides the project's files, which the framework's hash covers: the
  // lab's files (one may include another) and the include folder of lab headers.
  std::string inputs;
  for (const std::string& d : {src_dir, inc})
    for (const std::string& rel : list_files(d)) inputs += d.substr(dir.size()) + "/" + rel + '\n' + read_text(d + "/" + rel) + '\n';
  for (const auto& [ref, tmpl] : lb.compile) {
    const std::string src = sub.files.count(ref) ? sub.files.at(ref) : "";
    if (src.empty()) {
      out.status = "compile_error";
      out.message = "no " + basename_of(ref) + " in the submission and no stub to use";
      return out;
    }
    const std::string obj = dir + "/obj/" + basename_of(ref) + ".o";
    // __FILE__ as the reference's (framework.cpp): "reference/passes/x.cpp", not the work folder.
    const std::string flags = "-I" + shell_quote(inc) + " -iquote " + shell_quote(fw.root + "/" + dirname_of(ref)) +
                              " " + shell_quote("-fmacro-prefix-map=" + src_dir + "/=" + dirname_of(ref) + "/");
    std::string cmd = fill(tmpl, {{"INC", flags}, {"SRC", shell_quote(src)}, {"OUT", shell_quote(obj)}});
    cmd = cmd.substr(cmd.find(" && ") + 4);  // run in the work folder, not the cache
    jobs.push_back({basename_of(ref), cmd, obj, "", false, tmpl + '\n' + ref + '\n' + inputs});
    lab_objects.push_back(obj);
  }
  std::map<std::string, std::vector<std::string>> test_objects;  // kind -> objects
  // A header lab recompiles its tests with the student's header: the public test from its
  // public file, the hidden test from stdin (its text, with the grader's common headers
  // pasted in), so that no hidden file is there to be read.
  for (const LabProgram& p : lb.programs) {
    if (lb.headers.empty()) {
      test_objects[p.kind] = p.objects;
      continue;
    }
    for (size_t i = 0; i < p.sources.size(); ++i) {
      const std::string obj = dir + "/obj/" + p.kind + "_" + std::to_string(i) + ".o";
      const bool hidden = p.kind == "hidden";
      const std::string flags = "-I" + shell_quote(inc);
      std::string cmd = fill(p.compile.at(p.sources[i]),
                             {{"INC", flags}, {"SRC", hidden ? std::string("-x c++ -") : shell_quote(p.sources[i])},
                              {"OUT", shell_quote(obj)}});
      cmd = cmd.substr(cmd.find(" && ") + 4);
      std::set<std::string> done;
      const std::string text =
          hidden ? inline_hidden_headers(p.sources[i], fw.root + "/grader/hidden/common", done) : "";
      jobs.push_back({"the " + p.kind + " tests (with your " + basename_of(lb.headers[0]) + ")", cmd, obj, text,
                      hidden, p.compile.at(p.sources[i]) + '\n' + p.sources[i] + '\n' + inputs + text});
      test_objects[p.kind].push_back(obj);
    }
  }
  std::mutex mu;
  std::string errors;
  size_t next = 0;
  std::atomic<int> reused{0};
  auto worker = [&](int slot) {
    while (true) {
      Job job;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next >= jobs.size() || !errors.empty()) return;
        job = jobs[next++];
      }
      if (cached_object(fw, job.key, job.object)) {
        ++reused;
        continue;
      }
      SandboxSpec spec;
      spec.argv = {"/bin/sh", "-c", job.command};
      spec.workdir = dir + "/obj";
      spec.private_workdir = false;  // the objects are the point
      spec.keep = {src_dir, inc};
      spec.env = base_env("/tmp");
      spec.mask = ctx.compile_mask;
      spec.slot = slot;
      spec.stdin_data = job.stdin_data;
      spec.limits.wall_s = ctx.compile_timeout_s;
      spec.limits.memory_mb = 4096;
      spec.limits.file_mb = 512;
      spec.limits.disk_mb = 512;
      spec.limits.processes = 256;
      spec.limits.output_keep = 64 * 1024;
      const SandboxResult r = run_sandboxed(spec);
      if (r.exit_code == 0 && exists(job.object)) keep_object(fw, job.key, job.object);
      if (r.exit_code != 0 || !exists(job.object)) {
        std::lock_guard<std::mutex> lock(mu);
        if (errors.empty())
          errors = job.hidden ? "compiling " + job.what + " failed (" + describe_end(r, spec.limits) +
                                    "). The hidden tests' errors are not shown: compile your header with the "
                                    "public tests (./gradwork lab " + lab.id + ") and fix every error and warning "
                                    "there first.\n"
                              : "compiling " + job.what + " failed (" + describe_end(r, spec.limits) + "):\n" +
                                    first_errors(r.output, sub.work);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int s = 0; s < std::max(1, ctx.jobs); ++s) threads.emplace_back(worker, s);
  for (auto& t : threads) t.join();
  if (!errors.empty()) {
    out.status = "compile_error";
    out.message = errors;
    out.seconds = now_s() - t0;
    return out;
  }
  // 3. Forbidden routes: derived from the reference's call graph (callgraph.h), plus any
  // patterns of the manifest; and GoogleTest from student code (it could skip or fake results).
  for (const std::string& obj : lab_objects) {
    const std::string route = forbidden_route(lb.routes, undefined_symbols(obj));
    if (!route.empty()) {
      out.status = "forbidden";
      out.message = basename_of(obj).substr(0, basename_of(obj).size() - 2) + " " + route +
                    ". Lab " + lab.id + " may not reach another lab's solution by any path: write it with the "
                    "framework's own operations.";
      out.seconds = now_s() - t0;
      return out;
    }
  }
  std::vector<std::pair<std::string, std::regex>> forbidden;
  for (const std::string& pat : lab.forbidden_symbols) {
    try {
      forbidden.emplace_back(pat, std::regex(pat));
    } catch (const std::regex_error&) {
      throw IoError("gw-grade: lab " + lab.id + ": forbidden symbol pattern \"" + pat + "\" is not a valid regex");
    }
  }
  forbidden.emplace_back("testing::", std::regex("(^|[^A-Za-z_:])testing::"));
  for (const std::string& obj : lab_objects) {
    const CommandResult nm = run_command("nm -C " + shell_quote(obj));
    std::istringstream in(nm.output);
    std::string line;
    while (std::getline(in, line)) {
      const std::string symbol = line.size() > 19 ? line.substr(19) : line;
      for (const auto& [pat, re] : forbidden)
        if (std::regex_search(symbol, re)) {
          out.status = "forbidden";
          out.message = basename_of(obj).substr(0, basename_of(obj).size() - 2) + " uses `" + symbol +
                        "`, which lab " + lab.id + " forbids (pattern \"" + pat + "\")";
          out.seconds = now_s() - t0;
          return out;
        }
    }
  }
  // 4. Link each test program: test objects, the grader's main, the labs' objects in the
  // order of the reference program (framework.cpp) with this lab's replaced by the student's,
  // the framework. The same order gives the same code layout, so that a performance item
  // compares code, not link orders (a hot loop's alignment alone moved one by 30%).
  std::string objects = shell_quote(fw.runner);
  for (const auto& [id, other] : fw.labs) {
    if (id == lab.id) {
      for (const std::string& o : lab_objects) objects += " " + shell_quote(o);
    } else {
      for (const auto& [ref, obj] : other.objects) objects += " " + shell_quote(obj);
    }
  }
  objects += " " + shell_quote(fw.archive);
  make_dirs(dir + "/bin");
  chmod((dir + "/bin").c_str(), 0755);
  chmod(dir.c_str(), 0711);
  for (const LabProgram& p : lb.programs) {
    std::string tests;
    for (const std::string& o : test_objects[p.kind]) tests += shell_quote(o) + " ";
    const std::string binary = dir + "/bin/lab" + lab.id + "_" + p.kind;
    const CommandResult r = run_command(fill(p.link, {{"OUT", shell_quote(binary)}, {"OBJECTS", tests + objects}}));
    if (r.status != 0) {
      out.status = "link_error";
      out.message = "linking the " + p.kind + " tests failed (a function of the lab missing or renamed?):\n" +
                    first_errors(r.output, sub.work);
      out.seconds = now_s() - t0;
      return out;
    }
    chmod(binary.c_str(), 0755);
    out.binaries[p.kind] = binary;
  }
  out.seconds = now_s() - t0;
  out.objects_reused = reused;
  out.objects_compiled = static_cast<int>(jobs.size()) - reused;
  return out;
}

}  // namespace gw::grader
