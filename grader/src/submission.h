// submission.h — turns one submission (a folder, .zip or .tar.gz) into compiled test programs.
//
// Only the files the manifest lists are taken, found by basename (sub/gradcheck.cpp) or by
// their place in the repository (sub/labs/03-reverse-mode/backprop.cpp), under at most one
// extra top-level folder; a missing file is replaced by its untouched stub from labs/.
// Archives are unpacked inside the sandbox. Each lab's files are scanned before anything
// compiles them (scan.h: nothing that reads another file at compile time), compiled inside
// the sandbox with the reference build's flags (the grader's tree, the reference solutions and
// the cache are masked; a header lab's hidden test arrives on the compiler's stdin), checked
// for forbidden routes (callgraph.h), and linked (by the grader, never run by it) against the
// prebuilt framework: the student's objects for this lab, the reference objects for every
// other lab.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "framework.h"
#include "manifest.h"
#include "sandbox.h"

namespace gw::grader {

/// A submission, unpacked into the grader's work folder.
struct Submission {
  std::string name;    ///< folder or archive name
  std::string input;   ///< what was given
  std::string work;    ///< private work folder (removed by the caller)
  std::map<std::string, std::string> files;  ///< reference path -> file to compile (absolute)
  std::map<std::string, std::vector<std::string>> notes;  ///< lab id -> notes (missing files)
  std::string error;   ///< why it could not be opened (empty when fine)
};

/// The build of one lab of one submission.
struct LabBinaries {
  std::string status = "ok";   ///< ok | rejected | compile_error | forbidden | link_error | not_built
  std::string message;         ///< first compiler errors, the forbidden symbol, ...
  std::map<std::string, std::string> binaries;  ///< "public"/"hidden" -> program
  double seconds = 0;
};

/// Shared settings of building and running.
struct GradeContext {
  const Manifest* manifest = nullptr;
  const Framework* framework = nullptr;
  std::vector<std::string> compile_mask;  ///< paths hidden from the compiler
  std::vector<std::string> run_mask;      ///< paths hidden from test programs
  int jobs = 2;
  double compile_timeout_s = 180;
};

/// The secret paths of the grader's tree (solutions, hidden tests, cache, build folders).
void secret_paths(const Manifest& manifest, const std::string& root, const std::string& cache,
                  std::vector<std::string>* compile_mask, std::vector<std::string>* run_mask);
/// Unpacks and locates the lab files of `input`; never throws for a bad submission.
Submission open_submission(const std::string& input, const Manifest& manifest,
                           const std::string& root, const GradeContext& ctx);
/// Compiles, scans and links lab `lab` of the submission.
LabBinaries build_lab(const Lab& lab, const Submission& sub, const GradeContext& ctx);
/// A folder the sandbox user may write (0777 inside the private 0711 work folder).
void make_sandbox_dir(const std::string& path);

}  // namespace gw::grader
