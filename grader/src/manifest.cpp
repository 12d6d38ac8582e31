// manifest.cpp — parses labs/labs.json and a rubric override with nlohmann::json.
#include "manifest.h"

#include <nlohmann/json.hpp>

#include "gw/error.h"
#include "util.h"

namespace gw::grader {
namespace {

using json = nlohmann::json;

std::vector<std::string> strings(const json& lab, const char* key) {
  std::vector<std::string> out;
  if (lab.contains(key))
    for (const auto& v : lab.at(key)) out.push_back(v.get<std::string>());
  return out;
}

Benchmark parse_benchmark(const json& b) {
  Benchmark out;
  out.name = b.at("name").get<std::string>();
  out.program = b.value("program", std::string("hidden"));
  out.test = b.at("test").get<std::string>();
  out.points = b.value("points", 0.0);
  out.repetitions = b.value("repetitions", 5);
  out.gpu = b.value("gpu", false);
  out.full_at = b.value("full_at", 1.2);
  out.zero_at = b.value("zero_at", 10.0);
  GW_CHECK_AS(IoError, out.program == "public" || out.program == "hidden",
              "benchmark \"", out.name, "\": program must be \"public\" or \"hidden\"");
  GW_CHECK_AS(IoError, out.zero_at > out.full_at && out.repetitions > 0,
              "benchmark \"", out.name, "\": needs zero_at > full_at and repetitions > 0");
  return out;
}

}  // namespace

std::string Lab::student_path(const std::string& reference_file) const {
  for (size_t i = 0; i < files.size(); ++i)
    if (files[i] == reference_file) return student_files.at(i);
  throw Error("gw-grade: " + reference_file + " is not a file of lab " + id);
}

const Lab* Manifest::find(const std::string& id) const {
  for (const Lab& lab : labs)
    if (lab.id == id) return &lab;
  return nullptr;
}

Manifest load_manifest(const std::string& manifest_path, const std::string& rubric_path) {
  Manifest m;
  try {
    const json doc = json::parse(read_text(manifest_path));
    for (const auto& l : doc.at("labs")) {
      Lab lab;
      lab.id = l.at("id").get<std::string>();
      lab.title = l.at("title").get<std::string>();
      lab.dir = l.at("dir").get<std::string>();
      lab.handout = l.at("handout").get<std::string>();
      lab.files = strings(l, "files");
      lab.student_files = strings(l, "student_files");
      GW_CHECK_AS(IoError, lab.files.size() == lab.student_files.size(), "gw-grade: ",
                  manifest_path, ": lab ", lab.id, " lists ", lab.files.size(), " files but ",
                  lab.student_files.size(), " student_files; they pair up in order");
      for (const char* kind : {"public", "hidden"})
        lab.targets[kind] = l.at("targets").at(kind).get<std::string>();
      lab.public_tests = strings(l, "public_tests");
      lab.hidden_tests = strings(l, "hidden_tests");
      lab.forbidden_symbols = strings(l, "forbidden_symbols");
      if (l.contains("points")) {
        lab.public_points = l["points"].value("public", 0.0);
        lab.hidden_points = l["points"].value("hidden", 0.0);
      }
      if (l.contains("benchmarks"))
        for (const auto& b : l["benchmarks"]) lab.benchmarks.push_back(parse_benchmark(b));
      lab.timeout_s = l.value("timeout_s", 0.0);
      m.labs.push_back(lab);
    }
  } catch (const json::exception& e) {
    throw IoError("gw-grade: " + manifest_path + " is not a valid lab manifest: " + e.what());
  }
  if (rubric_path.empty()) return m;
  try {
    const json doc = json::parse(read_text(rubric_path));
    for (auto it = doc.at("labs").begin(); it != doc.at("labs").end(); ++it) {
      Lab* lab = nullptr;
      for (Lab& l : m.labs)
        if (l.id == it.key()) lab = &l;
      GW_CHECK_AS(IoError, lab != nullptr, "gw-grade: rubric ", rubric_path, " names lab ",
                  it.key(), ", which the manifest does not have");
      const json& r = it.value();
      lab->public_points = r.value("public", lab->public_points);
      lab->hidden_points = r.value("hidden", lab->hidden_points);
      lab->timeout_s = r.value("timeout_s", lab->timeout_s);
      if (r.contains("tests"))
        for (auto t = r["tests"].begin(); t != r["tests"].end(); ++t)
          lab->test_points[t.key()] = t.value().get<double>();
      if (r.contains("benchmarks"))
        for (auto b = r["benchmarks"].begin(); b != r["benchmarks"].end(); ++b) {
          bool found = false;
          for (Benchmark& bench : lab->benchmarks)
            if (bench.name == b.key()) bench.points = b.value().get<double>(), found = true;
          GW_CHECK_AS(IoError, found, "gw-grade: rubric ", rubric_path, ": lab ", lab->id,
                      " has no benchmark \"", b.key(), "\"");
        }
    }
  } catch (const json::exception& e) {
    throw IoError("gw-grade: " + rubric_path + " is not a valid rubric: " + e.what());
  }
  return m;
}

}  // namespace gw::grader
