// framework.cpp — builds and caches the reference framework (see framework.h for what is
// kept and why).
#include "framework.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gw/error.h"
#include "util.h"

namespace gw::grader {
namespace {

using json = nlohmann::json;
constexpr const char* kFormat = "gw-grade framework v3";

// Hash of every file the framework is built from.
std::string tree_hash(const std::string& root, const std::string& extra) {
  uint64_t h = fnv1a(std::string(kFormat) + extra);
  for (const char* top : {"reference", "kernels", "labs", "cmake", "grader/hidden", "grader/runner"}) {
    for (const std::string& rel : list_files(root + "/" + top)) {
      const std::string path = std::string(top) + "/" + rel;
      h = fnv1a(path, h);
      h = fnv1a(read_text(root + "/" + path), h);
    }
  }
  for (const char* f : {"CMakeLists.txt", "tests/CMakeLists.txt"})
    if (exists(root + "/" + f)) h = fnv1a(read_text(root + "/" + f), h);
  return hex64(h);
}

// The object a compile_commands.json entry writes ("output", or the word after " -o ").
std::string output_of(const json& entry) {
  if (entry.contains("output")) return entry["output"].get<std::string>();
  const std::string cmd = entry.at("command").get<std::string>();
  const size_t at = cmd.find(" -o ");
  GW_CHECK(at != std::string::npos, "gw-grade: no -o in the compile command ", cmd);
  const size_t end = cmd.find(' ', at + 4);
  return cmd.substr(at + 4, end == std::string::npos ? std::string::npos : end - at - 4);
}

// "-o OUT" and "-c SRC" of a compile command become @OUT@ and @SRC@; @INC@ goes right after
// the compiler so that override include folders come first.
std::string compile_template(const json& entry) {
  std::string cmd = entry.at("command").get<std::string>();
  const std::string out = output_of(entry);
  const std::string src = entry.at("file").get<std::string>();
  auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = cmd.find(from);
    GW_CHECK(at != std::string::npos, "gw-grade: unexpected compile command for ", src, ": ", cmd);
    cmd.replace(at, from.size(), to);
  };
  replace(" -o " + out + " ", " -o @OUT@ ");
  replace(" -c " + src, " -c @SRC@");
  const size_t first_space = cmd.find(' ');
  cmd.insert(first_space, " @INC@");
  return "cd " + shell_quote(entry.at("directory").get<std::string>()) + " && " + cmd;
}

// The link command of a Ninja target: its objects, the library and gtest_main become
// @OBJECTS@ (test objects, the grader's main, lab objects, framework.a), its output @OUT@.
std::string link_template(const std::string& build_dir, const std::string& target) {
  const CommandResult r = run_command("ninja -t commands " + target + " | tail -n 1", build_dir);
  GW_CHECK(r.status == 0, "gw-grade: cannot read the link command of ", target, ": ", r.output);
  std::string cmd = r.output;
  const size_t begin = cmd.find(": && ");
  GW_CHECK(begin != std::string::npos, "gw-grade: unexpected link command for ", target, ": ", cmd);
  cmd = cmd.substr(begin + 5);
  const size_t end = cmd.find(" && ");
  if (end != std::string::npos) cmd = cmd.substr(0, end);
  std::istringstream words(cmd);
  std::string word, out;
  bool next_is_output = false, placed = false;
  while (words >> word) {
    if (next_is_output) {
      word = "@OUT@";
      next_is_output = false;
    } else if (word == "-o") {
      next_is_output = true;
    } else if (word.size() > 2 && word.substr(word.size() - 2) == ".o") {
      continue;  // the test objects: the caller passes them (recompiled ones for header labs)
    } else if (word.find("libgtest_main") != std::string::npos) {
      continue;  // the grader's own main replaces it
    } else if (word.find("libgradwork.a") != std::string::npos) {
      word = "@OBJECTS@";
      placed = true;
    }
    out += (out.empty() ? "" : " ") + word;
  }
  GW_CHECK(placed, "gw-grade: the link command of ", target, " does not use libgradwork.a: ", cmd);
  return "cd " + shell_quote(build_dir) + " && " + out;
}

std::vector<std::string> list_tests(const std::string& binary) {
  const CommandResult r = run_command(shell_quote(binary) + " --gtest_list_tests");
  GW_CHECK(r.status == 0, "gw-grade: cannot list the tests of ", binary, ": ", r.output);
  std::vector<std::string> tests;
  std::istringstream in(r.output);
  std::string line, suite;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::string name = line.substr(0, line.find("  #"));
    if (line[0] != ' ') {
      suite = name;  // "Suite."
      while (!suite.empty() && suite.back() == ' ') suite.pop_back();
    } else {
      std::string t = name.substr(name.find_first_not_of(' '));
      while (!t.empty() && t.back() == ' ') t.pop_back();
      tests.push_back(suite + t);
    }
  }
  return tests;
}

json to_json(const Framework& f) {
  json labs = json::object();
  for (const auto& [id, lab] : f.labs) {
    json programs = json::array();
    for (const LabProgram& p : lab.programs)
      programs.push_back({{"kind", p.kind}, {"objects", p.objects}, {"sources", p.sources},
                          {"compile", p.compile}, {"link", p.link}, {"tests", p.tests},
                          {"reference_binary", p.reference_binary}});
    labs[id] = {{"compile", lab.compile}, {"objects", lab.objects}, {"headers", lab.headers},
                {"programs", programs}, {"routes", {{"next", lab.routes.next}, {"owner", lab.routes.owner}}}};
  }
  return {{"format", kFormat}, {"root", f.root}, {"hash", f.hash}, {"content_hash", f.content_hash}, {"gpu", f.gpu},
          {"archive", f.archive}, {"runner", f.runner}, {"build_dir", f.build_dir}, {"labs", labs}};
}

Framework from_json(const json& j, const std::string& dir) {
  Framework f;
  f.dir = dir;
  f.root = j.at("root");
  f.hash = j.at("hash");
  f.content_hash = j.at("content_hash");
  f.gpu = j.at("gpu");
  f.archive = j.at("archive");
  f.runner = j.at("runner");
  f.build_dir = j.at("build_dir");
  for (auto it = j.at("labs").begin(); it != j.at("labs").end(); ++it) {
    LabBuild lab;
    lab.id = it.key();
    lab.compile = it.value().at("compile").get<std::map<std::string, std::string>>();
    lab.objects = it.value().at("objects").get<std::map<std::string, std::string>>();
    lab.headers = it.value().at("headers").get<std::vector<std::string>>();
    lab.routes.next = it.value().at("routes").at("next").get<std::map<std::string, std::string>>();
    lab.routes.owner = it.value().at("routes").at("owner").get<std::map<std::string, std::string>>();
    for (const auto& p : it.value().at("programs")) {
      LabProgram prog;
      prog.kind = p.at("kind");
      prog.objects = p.at("objects").get<std::vector<std::string>>();
      prog.sources = p.at("sources").get<std::vector<std::string>>();
      prog.compile = p.at("compile").get<std::map<std::string, std::string>>();
      prog.link = p.at("link");
      prog.tests = p.at("tests").get<std::vector<std::string>>();
      prog.reference_binary = p.at("reference_binary");
      lab.programs.push_back(prog);
    }
    f.labs[lab.id] = lab;
  }
  return f;
}

bool is_header(const std::string& path) {
  return path.size() > 2 && (path.substr(path.size() - 2) == ".h" ||
                             (path.size() > 4 && path.substr(path.size() - 4) == ".hpp"));
}

// A lab's CUDA sources (lab 08's kernels) build only in a CUDA build: a CPU-only framework
// (no GPU, or --cuda off) neither compiles nor scans them, and no test of the lab reaches
// them there (their tests are the CUDA suite's, on a GPU machine).
bool is_cuda_source(const std::string& path) {
  return path.size() > 3 && path.substr(path.size() - 3) == ".cu";
}

}  // namespace

bool gpu_present() {
  if (exists("/dev/nvidia0")) return true;
  return run_command("nvidia-smi -L 2>/dev/null | grep -q GPU").status == 0;
}

std::string fill(std::string tmpl, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string pat = "@" + key + "@";
    for (size_t at = tmpl.find(pat); at != std::string::npos; at = tmpl.find(pat, at + value.size()))
      tmpl.replace(at, pat.size(), value);
  }
  return tmpl;
}

Framework prepare_framework(const Manifest& manifest, const FrameworkOptions& opt) {
  const bool gpu = gpu_present();
  const bool cuda = opt.cuda == "on" || (opt.cuda == "auto" && gpu);
  // The manifest's files and tests shape the cache; points and forbidden symbols do not.
  std::string shape = std::string(cuda ? "cuda" : "cpu") + opt.root;
  for (const Lab& lab : manifest.labs) {
    shape += "|" + lab.id;
    for (const auto* list : {&lab.files, &lab.public_tests, &lab.hidden_tests})
      for (const std::string& f : *list) shape += ";" + f;
  }
  const std::string content = tree_hash(opt.root, "");
  const std::string hash = hex64(fnv1a(shape, fnv1a(content)));
  const std::string dir = opt.cache_dir + "/" + hash;
  make_dirs(dir);
  chmod(opt.cache_dir.c_str(), 0700);  // reference objects: not for the sandbox user's eyes
  // One preparer at a time (ctest may grade in parallel); the others wait and reuse it.
  const int lock = open((opt.cache_dir + "/lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock >= 0) flock(lock, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() { if (fd >= 0) close(fd); }
  } unlock{lock};
  const std::string state = dir + "/state.json";
  if (exists(state)) return from_json(json::parse(read_text(state)), dir);

  const double t0 = now_s();
  Framework f;
  f.root = opt.root;
  f.dir = dir;
  f.hash = hash;
  f.content_hash = content;
  f.gpu = gpu;
  f.build_dir = dir + "/build";
  std::cerr << "gw-grade: building the reference framework once (cache " << dir << ") ...\n";
  const std::string configure =
      "cmake -S " + shell_quote(opt.root) + " -B " + shell_quote(f.build_dir) +
      " -G Ninja -DCMAKE_BUILD_TYPE=Release -DGW_LABS=reference -DGW_BUILD_TESTS=ON"
      // -ffunction-sections: every call a relocation (the call graph). -fmacro-prefix-map:
      // __FILE__ relative to the repository, as a student's copy of a lab file is compiled
      // (submission.cpp), so that equal sources give equal code, laid out alike (a shift of
      // 16 bytes moved a hot loop by 50%), and messages name no folder of the grader's.
      " " + shell_quote("-DCMAKE_CXX_FLAGS=-ffunction-sections -fmacro-prefix-map=" + opt.root + "/=") +
      " -DGW_BUILD_BENCHMARKS=OFF -DGW_GRADER_FRAMEWORK=ON -DGW_CUDA=" + (cuda ? "AUTO" : "OFF");
  CommandResult r = run_command(configure);
  auto tail = [](const std::string& s) { return s.size() > 4000 ? s.substr(s.size() - 4000) : s; };
  GW_CHECK(r.status == 0, "gw-grade: configuring the reference framework failed:\n", tail(r.output));
  std::vector<std::string> targets = {"gradwork"};
  const CommandResult all = run_command("ninja -t targets all", f.build_dir);
  for (const Lab& lab : manifest.labs)
    for (const char* kind : {"public", "hidden"}) {
      const std::string t = lab.targets.at(kind);
      if (all.output.find("\n" + t + ": ") != std::string::npos || all.output.rfind(t + ": ", 0) == 0)
        targets.push_back(t);
    }
  std::string target_list;
  for (const auto& t : targets) target_list += " " + t;
  r = run_command("ninja -j " + std::to_string(opt.jobs) + target_list, f.build_dir);
  GW_CHECK(r.status == 0, "gw-grade: building the reference framework failed:\n", tail(r.output));

  const json commands = json::parse(read_text(f.build_dir + "/compile_commands.json"));
  std::map<std::string, const json*> by_file;
  for (const auto& e : commands) by_file[e.at("file").get<std::string>()] = &e;
  // Lab files: their compile templates and reference objects; everything else of the
  // library goes into framework.a.
  std::map<std::string, std::string> lab_of_file;
  for (const Lab& lab : manifest.labs)
    for (const std::string& file : lab.files) lab_of_file[opt.root + "/" + file] = lab.id;
  std::string archive_members;
  CallGraphInput graph_input;
  for (const auto& e : commands) {
    const std::string out = output_of(e);
    if (out.find("/gradwork.dir/") == std::string::npos) continue;
    const std::string file = e.at("file").get<std::string>();
    const std::string abs_out = out[0] == '/' ? out : f.build_dir + "/" + out;
    if (lab_of_file.count(file)) {
      graph_input.lab_objects[lab_of_file[file]].push_back(abs_out);
      graph_input.object_file[abs_out] = file.substr(opt.root.size() + 1);
      continue;
    }
    archive_members += " " + shell_quote(out);
    graph_input.framework_objects.push_back(abs_out);
  }
  f.archive = dir + "/framework.a";
  remove_all(f.archive);
  // "q", not "r": several objects share a file name (shape.cpp.o) and must all stay.
  r = run_command("ar qcs " + shell_quote(f.archive) + archive_members, f.build_dir);
  GW_CHECK(r.status == 0, "gw-grade: ar failed: ", r.output);

  for (const Lab& lab : manifest.labs) {
    LabBuild lb;
    lb.id = lab.id;
    for (const std::string& file : lab.files) {
      if (is_header(file)) {
        lb.headers.push_back(file);
        continue;
      }
      if (!cuda && is_cuda_source(file)) continue;
      auto it = by_file.find(opt.root + "/" + file);
      GW_CHECK(it != by_file.end(), "gw-grade: lab ", lab.id, "'s file ", file,
               " is not compiled by the reference build");
      lb.compile[file] = compile_template(*it->second);
      lb.objects[file] = f.build_dir + "/" + output_of(*it->second);
    }
    for (const char* kind : {"public", "hidden"}) {
      const std::string target = lab.targets.at(kind);
      if (std::find(targets.begin(), targets.end(), target) == targets.end()) continue;
      LabProgram p;
      p.kind = kind;
      for (const std::string& src : kind == std::string("public") ? lab.public_tests : lab.hidden_tests) {
        auto it = by_file.find(opt.root + "/" + src);
        if (it == by_file.end()) continue;
        p.sources.push_back(opt.root + "/" + src);
        p.objects.push_back(f.build_dir + "/" + output_of(*it->second));
        p.compile[opt.root + "/" + src] = compile_template(*it->second);
      }
      p.link = link_template(f.build_dir, target);
      p.tests = list_tests(f.build_dir + "/bin/" + target);
      lb.programs.push_back(p);
    }
    f.labs[lab.id] = lb;
  }
  // Forbidden routes, from the call graph of everything just built.
  const std::map<std::string, Routes> routes = derive_routes(graph_input);
  for (auto& [id, lb] : f.labs)
    if (routes.count(id)) lb.routes = routes.at(id);
  // The grader's test main, compiled with the flags of a test source.
  std::string test_compile;
  for (const auto& [id, lb] : f.labs)
    for (const LabProgram& p : lb.programs)
      if (!p.compile.empty() && test_compile.empty()) test_compile = p.compile.begin()->second;
  GW_CHECK(!test_compile.empty(), "gw-grade: the manifest's labs have no test programs to grade");
  f.runner = dir + "/gw_test_main.o";
  r = run_command(fill(test_compile, {{"INC", ""}, {"SRC", shell_quote(opt.root + "/grader/runner/gw_test_main.cpp")},
                                      {"OUT", shell_quote(f.runner)}}));
  GW_CHECK(r.status == 0, "gw-grade: compiling the grader's test main failed:\n", tail(r.output));
  // Reference programs linked with the grader's main: the baseline of performance items and
  // the self-check that the reference passes.
  for (auto& [id, lb] : f.labs) {
    std::string objects = shell_quote(f.runner);
    for (const auto& [other_id, other] : f.labs)
      for (const auto& [file, obj] : other.objects) objects += " " + shell_quote(obj);
    objects += " " + shell_quote(f.archive);
    for (LabProgram& p : lb.programs) {
      std::string objs;
      for (const auto& o : p.objects) objs += shell_quote(o) + " ";
      p.reference_binary = dir + "/bin/lab" + id + "_" + p.kind;
      make_dirs(dir + "/bin");
      std::string link = fill(p.link, {{"OUT", shell_quote(p.reference_binary)}, {"OBJECTS", objs + objects}});
      r = run_command(link);
      GW_CHECK(r.status == 0, "gw-grade: linking the reference ", p.kind, " tests of lab ", id,
               " failed:\n", tail(r.output));
    }
  }
  f.build_seconds = now_s() - t0;
  write_text(state, to_json(f).dump(1));
  std::cerr << "gw-grade: framework ready in " << static_cast<int>(f.build_seconds) << " s\n";
  return f;
}

}  // namespace gw::grader
