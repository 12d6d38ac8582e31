// run_files.cpp — metrics.jsonl and the stop signals of a gw-train run (run_files.h).
//
// Why records are buffered and not streamed: a std::ofstream flushes whenever its buffer
// fills, mid-line, so a kill -9 left a torn line and a resume appended after it. Here a
// write(2) only ever carries whole lines, and it happens at the moments the run reports
// progress (progress line, evaluation, checkpoint), so a killed run loses at most the records
// after its last progress line — records past its checkpoint, which a resume recomputes.
#include "model/run_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gw/checkpoint.h"
#include "gw/error.h"
#include "model/test_hooks.h"

namespace gw::run {
namespace {

// The record's step when `line` is a whole metrics record, else -1.
int64_t record_step(const std::string& line) {
  try {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.is_object() && j.contains("type") && j["type"].is_string() && j.contains("step") &&
        j["step"].is_number_integer() && j["step"].get<int64_t>() >= 0)
      return j["step"].get<int64_t>();
  } catch (const nlohmann::json::exception&) {
  }
  return -1;
}

// Keeps the records of steps <= `step` of the file at `path` (a regular file); rewrites it
// atomically when anything goes. Returns what went, for the log ("" when nothing did).
std::string cut_back(const std::string& path, int64_t step) {
  std::ifstream in(path, std::ios::binary);
  GW_CHECK_AS(IoError, in.good(), "metrics: cannot read ", path, " to resume it");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::string kept;
  int64_t later = 0, broken = 0;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // no newline: the line a crash cut short
      ++broken;
      break;
    }
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const int64_t s = record_step(line);
    if (s < 0)
      ++broken;
    else if (s > step)
      ++later;
    else
      kept += line + '\n';
  }
  if (later == 0 && broken == 0) return "";
  write_file_atomically(path, kept, "metrics");
  std::ostringstream note;
  note << "metrics: " << path << " cut back to step " << step << ": dropped";
  if (later > 0) note << ' ' << later << " record" << (later > 1 ? "s" : "") << " of later steps";
  if (later > 0 && broken > 0) note << " and";
  if (broken > 0) note << ' ' << broken << " torn line" << (broken > 1 ? "s" : "");
  return note.str();
}

std::atomic<int> g_signal{0};
char g_first_msg[256];
char g_second_msg[256];
size_t g_first_len = 0, g_second_len = 0;

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    if (::write(STDERR_FILENO, g_second_msg, g_second_len) < 0) {
    }
    ::_exit(128 + sig);
  }
  if (::write(STDERR_FILENO, g_first_msg, g_first_len) < 0) {
  }
}

}  // namespace

MetricsLog::MetricsLog(std::string path, int64_t resume_step, std::string* note)
    : path_(std::move(path)) {
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  if (resume_step < 0) {
    flags |= O_TRUNC;
  } else {
    struct stat st {};
    // Only a regular file is read back (a device such as /dev/full reads forever).
    if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      const std::string dropped = cut_back(path_, resume_step);
      if (note) *note = dropped;
    }
  }
  fd_ = ::open(path_.c_str(), flags, 0644);
  GW_CHECK_AS(IoError, fd_ >= 0, "metrics: cannot open ", path_, ": ", std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  try {
    flush();
  } catch (const std::exception&) {
  }
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::add(const nlohmann::json& record) {
  pending_ += record.dump();
  pending_ += '\n';
  if (record.value("type", "") == "step") pending_steps_.push_back(record.value("step", int64_t{-1}));
}

void MetricsLog::flush() {
  if (pending_.empty()) return;
  const std::string text = std::move(pending_);
  pending_.clear();
  size_t len = text.size();
  for (int64_t s : pending_steps_)
    if (test_hooks::kill_armed("metrics", s)) len = text.size() / 2;  // then die mid-record
  pending_steps_.clear();
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  const char* p = text.data();
  size_t left = len;
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      // No torn last line: cut the file back to where this write began (best effort).
      if (before >= 0 && ::ftruncate(fd_, before) != 0) {
      }
      throw IoError("metrics: cannot write " + path_ + ": " + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (len < text.size()) test_hooks::kill_now();
}

void MetricsLog::sync() {
  flush();
  if (::fsync(fd_) != 0 && errno != EINVAL)  // EINVAL: a device that cannot sync
    throw IoError("metrics: cannot sync " + path_ + ": " + std::strerror(errno));
}

StopSignals::StopSignals(bool install, const std::string& program) {
  if (!install) return;
  g_signal = 0;
  g_first_len = static_cast<size_t>(std::snprintf(
      g_first_msg, sizeof g_first_msg,
      "\n%s: stopping after this step, then writing the checkpoint and the summary "
      "(a second Ctrl-C quits at once, without them)\n", program.c_str()));
  g_second_len = static_cast<size_t>(std::snprintf(
      g_second_msg, sizeof g_second_msg, "\n%s: second signal: quitting now, without a checkpoint\n",
      program.c_str()));
  g_first_len = std::min(g_first_len, sizeof g_first_msg - 1);
  g_second_len = std::min(g_second_len, sizeof g_second_msg - 1);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a write in progress completes instead of failing with EINTR
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
  installed_ = true;
}

StopSignals::~StopSignals() {
  if (!installed_) return;
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
}

int StopSignals::received() const { return installed_ ? g_signal.load() : 0; }

std::string signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(sig);
}

}  // namespace gw::run
