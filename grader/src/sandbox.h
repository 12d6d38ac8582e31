// sandbox.h — runs one untrusted command (a compiler on student code, or one test case) in a
// child process that cannot hurt the grader, and says exactly how it ended.
//
// Layers, each used where the kernel allows it:
//   * a new session (setsid), so the whole process group is killed at the end;
//   * a network, IPC and UTS namespace (no network, no shared SysV IPC) and a mount namespace
//     in which the grader's secret paths (hidden tests, reference solutions, the cache) are
//     covered by empty mounts;
//   * a PID namespace with a /proc of its own (hidepid=2): the program sees only its own
//     processes, never the grader's (its parent there is a small init that holds no secret
//     in its command line or environment), and every process it started dies with it;
//   * a private /tmp: one tmpfs of `disk_mb` MiB over /tmp, with /var/tmp, /dev/shm and every
//     other world-writable folder bound to folders of it, so everything a run writes counts
//     against one cap and vanishes with the run; the paths the run needs from the grader's
//     work folder (`keep`) are bound back in, read-only unless asked otherwise;
//   * when the grader runs as root, a dedicated unprivileged uid per parallel slot, so the
//     child cannot read the grader's private files, and every process that uid left behind
//     is killed afterwards (kill(-1) as that uid); without root, an unprivileged user
//     namespace gives the mount and network isolation;
//   * rlimits: address space, CPU time, file size, process count, open files, no core files;
//   * a scrubbed environment, a private working directory, stdin from /dev/null, and
//     stdout+stderr captured through a pipe with a size cap (the child is killed beyond it);
//   * a wall-clock timeout enforced by the parent.
// The grader itself is a child subreaper, so processes that escape the process group are
// re-parented to it and swept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gw::grader {

/// Resource limits of one sandboxed run.
struct SandboxLimits {
  double wall_s = 30;               ///< wall-clock timeout
  int64_t memory_mb = 4096;         ///< RLIMIT_AS
  int64_t cpu_s = 0;                ///< RLIMIT_CPU; 0 means wall_s + 2
  int64_t file_mb = 64;             ///< RLIMIT_FSIZE
  int64_t processes = 64;           ///< RLIMIT_NPROC (threads count too)
  int64_t open_files = 128;         ///< RLIMIT_NOFILE
  int64_t disk_mb = 256;            ///< total bytes the run may write (its private /tmp)
  size_t output_keep = 32 * 1024;   ///< bytes of output kept for the report
  size_t output_kill = 64u << 20;   ///< the child is killed after printing this much
};

/// What to run.
struct SandboxSpec {
  std::vector<std::string> argv;     ///< argv[0] is an absolute path
  std::string workdir;               ///< private working directory (created by the caller)
  std::vector<std::string> env;      ///< the whole environment ("K=V")
  std::vector<std::string> mask;     ///< paths covered by empty mounts inside the sandbox
  std::vector<std::string> keep;     ///< paths that stay visible (read-only) inside the private /tmp
  std::vector<std::string> keep_rw;  ///< the same, writable (e.g. a compiler's output folder)
  bool private_workdir = true;       ///< the working directory lives in the private /tmp
                                     ///< (when false, it is bound from the host like keep_rw)
  SandboxLimits limits;
  int slot = 0;                      ///< parallel slot: selects the sandbox uid
  bool as_grader = false;            ///< trusted code (the reference's runs): keep the
                                     ///< grader's uid, all other layers stay
  std::string stdin_data;            ///< fed to the program's stdin (else stdin is /dev/null)
  bool channel = false;              ///< open the grader channel (handshake in, records out)
  std::string handshake;             ///< written to the handshake pipe, then closed
};

/// How it ended.
struct SandboxResult {
  int exit_code = -1;          ///< exit status when it exited normally, else -1
  int signal = 0;              ///< terminating signal, 0 when it exited
  bool timed_out = false;      ///< killed by the wall-clock timeout
  bool output_exceeded = false;  ///< killed for printing more than output_kill bytes
  bool setup_failed = false;   ///< the sandbox could not be set up (message in output)
  bool disk_full = false;      ///< its private /tmp was full when it ended (disk_mb reached)
  int64_t disk_used = -1;      ///< bytes in its private /tmp when it ended (-1: unknown)
  std::string output;          ///< first output_keep bytes of stdout+stderr
  size_t output_bytes = 0;     ///< total bytes printed
  std::string records;         ///< what arrived on the grader channel
  double wall_s = 0;           ///< elapsed wall-clock time
  double cpu_s = 0;            ///< user + system CPU time of the child and its children
};

/// What this machine and user allow; probed once.
struct SandboxCaps {
  bool root = false;        ///< running as root: a sandbox uid is used
  bool namespaces = false;  ///< network + mount namespaces work (root or user namespace)
  bool user_ns = false;     ///< namespaces come through an unprivileged user namespace
  bool pid_ns = false;      ///< a PID namespace with its own /proc works
  std::vector<std::string> writable;  ///< world-writable folders covered by the private /tmp
  int uid_base = 61000;     ///< sandbox uid of slot 0 (slot k uses uid_base + k)
  std::string describe() const;  ///< one line for the report
};

/// Probes the capabilities (cached after the first call). `uid_base` picks the sandbox uids.
const SandboxCaps& sandbox_caps(int uid_base = 61000);
/// Runs `spec` and waits for it; never throws for anything the child does.
SandboxResult run_sandboxed(const SandboxSpec& spec);
/// Makes the grader a child subreaper (call once at start).
void become_subreaper();
/// Removes whatever the sandbox uids (uid_base … uid_base+63) own in the world-writable
/// folders (/tmp, /var/tmp, /dev/shm, ...): the safety net where no private /tmp is
/// possible; returns how many entries it removed. `slot` >= 0: only that slot's uid.
int sweep_sandbox_files(int slot = -1);
/// A short reason for an abnormal end ("killed by signal 11 (Segmentation fault)").
std::string describe_end(const SandboxResult& r, const SandboxLimits& limits);

}  // namespace gw::grader
