// util.cpp — file-system and trusted-process helpers of the grader (see util.h).
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "gw/error.h"

namespace gw::grader {
namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GW_CHECK_AS(IoError, in.good(), "gw-grade: cannot read ", path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void write_text(const std::string& path, const std::string& text) {
  const std::string dir = dirname_of(path);
  if (!dir.empty()) make_dirs(dir);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  GW_CHECK_AS(IoError, out.good(), "gw-grade: cannot write ", path);
  out << text;
  GW_CHECK_AS(IoError, out.good(), "gw-grade: cannot write ", path);
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  GW_CHECK_AS(IoError, is_dir(path), "gw-grade: cannot create folder ", path, ": ", ec.message());
}

void remove_all(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

void copy_file(const std::string& from, const std::string& to, bool executable) {
  write_text(to, read_text(from));
  chmod(to.c_str(), executable ? 0755 : 0644);
}

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  GW_CHECK_AS(IoError, mkdtemp(buf.data()) != nullptr, "gw-grade: cannot create a temporary folder in ",
              tmpl, ": ", strerror(errno));
  return buf.data();
}

std::string basename_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dirname_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  return ec ? path : p.string();
}

std::vector<std::string> list_files(const std::string& root, int max_depth) {
  std::vector<std::string> out;
  std::function<void(const std::string&, int)> walk = [&](const std::string& rel, int depth) {
    if (depth > max_depth) return;
    DIR* d = opendir((root + (rel.empty() ? "" : "/" + rel)).c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string r = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      if (lstat((root + "/" + r).c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) walk(r, depth + 1);
      else if (S_ISREG(st.st_mode)) out.push_back(r);
    }
    closedir(d);
  };
  walk("", 0);
  std::sort(out.begin(), out.end());
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

CommandResult run_command(const std::string& command, const std::string& cwd) {
  CommandResult r;
  const std::string full = (cwd.empty() ? "" : "cd " + shell_quote(cwd) + " && ") + "(" + command + ") 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) {
    r.output = "popen failed";
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

uint64_t fnv1a(const std::string& data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

uint64_t random_u64() {
  uint64_t v = 0;
  std::ifstream in("/dev/urandom", std::ios::binary);
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  if (!in) v = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return v & 0x7fffffffffffffffull;
}

std::string random_token(size_t bytes) {
  std::string out;
  for (size_t i = 0; i < (bytes + 7) / 8; ++i) out += hex64(random_u64() ^ (0x9E3779B97F4A7C15ull * i));
  return out.substr(0, bytes * 2);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace gw::grader
