// run_files.h — what keeps a gw-train run from being lost or corrupted around its
// checkpoint: metrics.jsonl written in whole lines that survive kill -9 and line up with the
// checkpoint on resume, and the SIGINT/SIGTERM guard that lets a run stop at a step boundary.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gw::run {

/// metrics.jsonl: one JSON object per line, each with "type" and "step". Records are kept in
/// memory and written by flush() in one write(2) of whole lines, so a reader never sees
/// half a record unless a crash lands inside that very call, and a resume repairs that.
class MetricsLog {
 public:
  /// Opens `path` for appending. resume_step < 0: a fresh run, the file starts empty.
  /// resume_step >= 0: keeps the whole records of steps <= resume_step (what the checkpoint
  /// holds) and drops the others (written past the checkpoint by the interrupted run, or a
  /// line a crash tore), rewriting the file atomically; `note` then says what was dropped.
  MetricsLog(std::string path, int64_t resume_step, std::string* note);
  /// Writes what is still buffered, ignoring errors (the run is failing already).
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  /// Buffers one record (an object with "type" and "step").
  void add(const nlohmann::json& record);
  /// Writes the buffered lines. gw::IoError naming the file and the reason; the file is cut
  /// back to its last whole line when the disk is full.
  void flush();
  /// flush(), then fsync: before a checkpoint, so that metrics never lag behind it on disk.
  void sync();
  /// The file.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string pending_;
  std::vector<int64_t> pending_steps_;  // step records in pending_, for the kill test hook
};

/// Catches SIGINT and SIGTERM for its lifetime (when `install`): the first one is recorded
/// and announced on stderr; a second one exits the process at once with 128 + signal.
class StopSignals {
 public:
  /// `program` starts the stderr lines ("gw-train: ...").
  StopSignals(bool install, const std::string& program);
  /// Restores the handlers found at construction.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  /// The first signal received (SIGINT, SIGTERM), or 0.
  int received() const;

 private:
  bool installed_ = false;
  struct sigaction old_int_ {}, old_term_ {};
};

/// "SIGINT", "SIGTERM", or "signal N".
std::string signal_name(int sig);

}  // namespace gw::run
