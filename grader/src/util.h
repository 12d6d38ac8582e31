// util.h — small file-system and process helpers of the grader (trusted commands only; code
// from a submission always goes through sandbox.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gw::grader {

/// Contents of a file; throws gw::IoError when it cannot be read.
std::string read_text(const std::string& path);
/// Writes a file (and its parent folders); throws gw::IoError on failure.
void write_text(const std::string& path, const std::string& text);
/// True when the path exists.
bool exists(const std::string& path);
/// True for a directory.
bool is_dir(const std::string& path);
/// Creates a folder and its parents.
void make_dirs(const std::string& path);
/// Removes a file or a folder tree (no error when missing).
void remove_all(const std::string& path);
/// Copies a file (mode 0644, or 0755 when `executable`).
void copy_file(const std::string& from, const std::string& to, bool executable = false);
/// A new private temporary folder "<base>/<prefix>XXXXXX".
std::string make_temp_dir(const std::string& prefix);
/// Last path component.
std::string basename_of(const std::string& path);
/// Everything before the last '/'.
std::string dirname_of(const std::string& path);
/// Absolute, normalized path (the path must exist).
std::string absolute(const std::string& path);
/// Every regular file below `root` (relative paths, sorted); symlinks are not followed.
std::vector<std::string> list_files(const std::string& root, int max_depth = 12);
/// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

/// Result of a trusted command.
struct CommandResult {
  int status = -1;       ///< exit status (-1 when it did not exit normally)
  std::string output;    ///< stdout + stderr
};
/// Runs `/bin/sh -c command` in `cwd` and captures its output (trusted commands only).
CommandResult run_command(const std::string& command, const std::string& cwd = "");

/// 64-bit FNV-1a, chained from `seed`.
uint64_t fnv1a(const std::string& data, uint64_t seed = 1469598103934665603ull);
/// 16 hex digits.
std::string hex64(uint64_t v);
/// A random hex token of `bytes` bytes from /dev/urandom.
std::string random_token(size_t bytes = 16);
/// A random 63-bit number from /dev/urandom.
uint64_t random_u64();
/// Seconds since an arbitrary origin (steady clock).
double now_s();

}  // namespace gw::grader
