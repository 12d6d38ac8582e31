// release.h — writes the student copy of the repository: the stubs in labs/ and no solution,
// no hidden tests, no grader, no solution markers anywhere.
#pragma once

#include <string>
#include <vector>

#include "manifest.h"

namespace gw::grader {

/// What make_release did.
struct ReleaseSummary {
  int files = 0;                      ///< files written
  int stubbed = 0;                    ///< reference lab files left out (their stubs in labs/ stay)
  std::vector<std::string> rewritten; ///< files whose "BEGIN LAB"/"END LAB" mentions were defused
  std::vector<std::string> left_out;  ///< top-level paths not released
};

/// Copies `root` to `out` (which must not exist or be empty). Throws gw::Error naming the
/// file and line when a solution region sits in a file the manifest does not list, or when
/// a stub still holds a region.
ReleaseSummary make_release(const Manifest& manifest, const std::string& root, const std::string& out);

}  // namespace gw::grader
