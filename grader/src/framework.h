// framework.h — the grader's prebuilt framework, cached between submissions.
//
// Grading a submission must not rebuild the whole system. So, once per version of the
// grader's source tree (a hash of reference/, kernels/, labs/, grader/hidden/, grader/runner/
// and the CMake files), gw-grade configures and builds the project with GW_LABS=reference
// into <cache>/<hash>/build and keeps:
//   * framework.a: every object of the gradwork library except the lab files;
//   * the reference objects of every lab file (linked for the labs not being graded);
//   * the compiled public and hidden test objects of every lab, and the grader's test main;
//   * compile and link command templates taken from compile_commands.json and Ninja, so a
//     student's file is compiled with exactly the flags of the reference build;
//   * the list of test cases, read from the reference-built programs (never from a
//     student's program);
//   * each lab's forbidden routes, derived from the call graph of these objects (callgraph.h;
//     the framework is compiled with -ffunction-sections so that every call is visible);
//   * the trusted runs' observation streams, per program and seed (trusted/), made on demand.
// Per submission, only the student's lab files are compiled and the test programs linked.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "callgraph.h"
#include "manifest.h"

namespace gw::grader {

/// One test program of a lab (public or hidden).
struct LabProgram {
  std::string kind;                  ///< "public" or "hidden"
  std::vector<std::string> objects;  ///< compiled test objects (absolute)
  std::vector<std::string> sources;  ///< test sources (absolute), recompiled for header labs
  std::map<std::string, std::string> compile;  ///< source -> compile template
  std::string link;                  ///< link template (@OBJECTS@, @OUT@), run in build_dir
  std::vector<std::string> tests;    ///< "Suite.Name" of every case
  std::string reference_binary;      ///< the reference program linked with the grader's main
};

/// What the cache holds for one lab.
struct LabBuild {
  std::string id;
  std::map<std::string, std::string> compile;  ///< reference .cpp (relative) -> compile template
  std::map<std::string, std::string> objects;  ///< reference .cpp (relative) -> reference object
  std::vector<std::string> headers;            ///< lab files that are headers (relative)
  std::vector<LabProgram> programs;
  Routes routes;                               ///< what the lab may not reach (callgraph.h)
};

/// The prepared framework.
struct Framework {
  std::string root;        ///< the grader's repository
  std::string dir;         ///< <cache>/<hash>
  std::string build_dir;   ///< <dir>/build
  std::string archive;     ///< framework.a
  std::string runner;      ///< the grader's test main object
  std::string hash;
  std::string content_hash;  ///< the grader tree's contents only (no path, no CPU/GPU): the release
  bool gpu = false;        ///< a GPU was found when it was prepared
  std::map<std::string, LabBuild> labs;
  double build_seconds = 0;  ///< 0 when it came from the cache
};

/// Options of prepare_framework.
struct FrameworkOptions {
  std::string root;
  std::string cache_dir;
  std::string cuda = "auto";  ///< "auto" (on when a GPU is present), "on" or "off"
  int jobs = 2;
  bool verbose = false;
};

/// True when an NVIDIA GPU is visible.
bool gpu_present();
/// Builds the framework or loads it from the cache; throws gw::Error with the build log's
/// tail when the reference does not build.
Framework prepare_framework(const Manifest& manifest, const FrameworkOptions& options);
/// Substitutes @KEY@ placeholders.
std::string fill(std::string tmpl, const std::map<std::string, std::string>& values);

}  // namespace gw::grader
