// sandbox.cpp — fork/exec with namespaces, rlimits, a sandbox uid, output capture and a
// timeout (see sandbox.h for the layers and why each is there).
#include "sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>

namespace gw::grader {
namespace {

std::mutex g_active_mutex;
std::set<pid_t> g_active;  // main children of running sandboxes (never swept)

// Holds the sandbox uid for one run. After each run every process of that uid is killed, so
// two runs on the same uid (two gw-grade processes, or ctest -j) would kill each other's
// tests: an exclusive flock on a root-only file per uid makes the second one wait instead.
class UidLock {
 public:
  explicit UidLock(uid_t uid) {
    const std::string path = "/tmp/gw-sandbox-uid-" + std::to_string(uid) + ".lock";
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~UidLock() {
    if (fd_ >= 0) close(fd_);  // closing the only descriptor releases the lock
  }
  UidLock(const UidLock&) = delete;
  UidLock& operator=(const UidLock&) = delete;

 private:
  int fd_ = -1;
};

// In the child: writes a message to fd 2 (already the output pipe) and exits 126.
[[noreturn]] void child_fail(const char* what) {
  char buf[256];
  const int n = snprintf(buf, sizeof buf, "gw-sandbox: %s: %s\n", what, strerror(errno));
  if (n > 0) (void)!write(2, buf, static_cast<size_t>(n));
  _exit(126);
}

bool write_file_raw(const char* path, const char* text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == static_cast<ssize_t>(strlen(text));
}

void set_limit(int resource, int64_t value) {
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(value);
  setrlimit(resource, &rl);
}

// Kills every process re-parented to us that is not a running sandbox's main child.
void sweep_orphans() {
  DIR* d = opendir("/proc");
  if (!d) return;
  const pid_t me = getpid(), my_session = getsid(0);
  while (dirent* e = readdir(d)) {
    const pid_t pid = static_cast<pid_t>(atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const size_t close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(line.substr(close_paren + 2));
    char state;
    pid_t ppid, pgrp, session;
    rest >> state >> ppid >> pgrp >> session;
    // Only processes that left our session: the grader's own helpers (reapers, compilers of
    // the framework) stay in it.
    if (ppid != me || session == my_session) continue;
    {
      std::lock_guard<std::mutex> lock(g_active_mutex);
      if (g_active.count(pid)) continue;
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  closedir(d);
}

}  // namespace

std::string SandboxCaps::describe() const {
  std::string s = root ? "sandbox uid " + std::to_string(uid_base) + "+slot" : "same uid (not root)";
  s += namespaces ? (user_ns ? ", user+mount+network namespaces" : ", mount+network namespaces")
                  : ", no namespaces (network not isolated; secret paths protected by permissions only)";
  return s;
}

void become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

const SandboxCaps& sandbox_caps(int uid_base) {
  static SandboxCaps caps = [uid_base] {
    SandboxCaps c;
    c.root = geteuid() == 0;
    c.uid_base = uid_base;
    for (bool user : {false, true}) {
      if (!user && !c.root) continue;
      const pid_t pid = fork();
      if (pid == 0) {
        const int flags = CLONE_NEWNS | CLONE_NEWNET | (user ? CLONE_NEWUSER : 0);
        if (unshare(flags) != 0) _exit(1);
        if (!user && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(1);
        _exit(0);
      }
      int status = 0;
      if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0) {
        c.namespaces = true;
        c.user_ns = user;
        break;
      }
    }
    return c;
  }();
  return caps;
}

SandboxResult run_sandboxed(const SandboxSpec& spec) {
  const SandboxCaps& caps = sandbox_caps();
  SandboxResult res;
  const SandboxLimits& lim = spec.limits;
  // Everything the child needs is prepared here: after fork it must not allocate.
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  // The grader channel's fd numbers are drawn at random, named in GW_GRADER_FDS.
  static thread_local std::mt19937 rng(std::random_device{}());
  const int hs_fd = 30 + static_cast<int>(rng() % 40), rec_fd = hs_fd + 1 + static_cast<int>(rng() % 40);
  std::string fds_env = "GW_GRADER_FDS=" + std::to_string(hs_fd) + "," + std::to_string(rec_fd);
  if (spec.channel) envp.push_back(const_cast<char*>(fds_env.c_str()));
  envp.push_back(nullptr);
  std::vector<const char*> masks;
  std::vector<bool> mask_is_dir;
  for (const auto& m : spec.mask) {
    struct stat st;
    if (stat(m.c_str(), &st) != 0) continue;
    masks.push_back(m.c_str());
    mask_is_dir.push_back(S_ISDIR(st.st_mode));
  }
  const uid_t real_uid = getuid();
  const gid_t real_gid = getgid();
  char uid_map[64], gid_map[64];
  snprintf(uid_map, sizeof uid_map, "0 %u 1\n", static_cast<unsigned>(real_uid));
  snprintf(gid_map, sizeof gid_map, "0 %u 1\n", static_cast<unsigned>(real_gid));
  const uid_t sandbox_uid = static_cast<uid_t>(caps.uid_base + spec.slot);
  std::optional<UidLock> uid_lock;
  if (caps.root) uid_lock.emplace(sandbox_uid);

  int out_pipe[2], hs_pipe[2] = {-1, -1}, rec_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 ||
      (spec.channel && (pipe2(hs_pipe, O_CLOEXEC) != 0 || pipe2(rec_pipe, O_CLOEXEC) != 0))) {
    res.setup_failed = true;
    res.output = std::string("gw-sandbox: pipe: ") + strerror(errno);
    return res;
  }
  const auto start = std::chrono::steady_clock::now();
  pid_t pid;
  {
    std::lock_guard<std::mutex> lock(g_active_mutex);
    pid = fork();
    if (pid > 0) g_active.insert(pid);
  }
  if (pid == 0) {
    // ---- child ----
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0) child_fail("stdin");
    if (spec.channel) {
      if (dup2(hs_pipe[0], hs_fd) < 0 || dup2(rec_pipe[1], rec_fd) < 0) child_fail("channel");
    }
    for (int fd = 3; fd < 1024; ++fd)
      if (!spec.channel || (fd != hs_fd && fd != rec_fd)) close(fd);
    if (setsid() < 0) child_fail("setsid");
    if (caps.namespaces) {
      const int flags = CLONE_NEWNS | CLONE_NEWNET | (caps.user_ns ? CLONE_NEWUSER : 0);
      if (unshare(flags) != 0) child_fail("unshare");
      if (caps.user_ns) {
        write_file_raw("/proc/self/setgroups", "deny");
        if (!write_file_raw("/proc/self/uid_map", uid_map) ||
            !write_file_raw("/proc/self/gid_map", gid_map))
          child_fail("uid_map");
      }
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail("mount private");
      for (size_t i = 0; i < masks.size(); ++i) {
        const int rc = mask_is_dir[i]
                           ? mount("tmpfs", masks[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                                   "size=4k,mode=0555")
                           : mount("/dev/null", masks[i], nullptr, MS_BIND, nullptr);
        if (rc != 0) child_fail("mask");
        // A bind mount of /dev/null would swallow writes silently: make it read-only.
        if (!mask_is_dir[i] &&
            mount(nullptr, masks[i], nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
          child_fail("mask read-only");
      }
    }
    set_limit(RLIMIT_AS, lim.memory_mb << 20);
    set_limit(RLIMIT_CPU, lim.cpu_s > 0 ? lim.cpu_s : static_cast<int64_t>(lim.wall_s) + 2);
    set_limit(RLIMIT_FSIZE, lim.file_mb << 20);
    set_limit(RLIMIT_NOFILE, lim.open_files);
    set_limit(RLIMIT_CORE, 0);
    if (caps.root) set_limit(RLIMIT_NPROC, lim.processes);
    if (chdir(spec.workdir.c_str()) != 0) child_fail("chdir");
    if (caps.root) {
      if (setgroups(0, nullptr) != 0 || setgid(sandbox_uid) != 0 || setuid(sandbox_uid) != 0)
        child_fail("drop to sandbox uid");
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    execve(argv[0], argv.data(), envp.data());
    child_fail(argv[0]);
  }
  // ---- parent ----
  close(out_pipe[1]);
  if (spec.channel) {
    close(hs_pipe[0]);
    close(rec_pipe[1]);
    (void)!write(hs_pipe[1], spec.handshake.data(), spec.handshake.size());
    close(hs_pipe[1]);
  }
  if (pid < 0) {
    close(out_pipe[0]);
    if (spec.channel) close(rec_pipe[0]);
    res.setup_failed = true;
    res.output = std::string("gw-sandbox: fork: ") + strerror(errno);
    return res;
  }
  const auto deadline = start + std::chrono::duration<double>(lim.wall_s);
  bool exited = false, out_open = true, rec_open = spec.channel;
  int status = 0;
  struct rusage usage {};
  char buf[65536];
  auto drain = [&](int fd, bool& open_flag, bool is_out) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) open_flag = false;
      return;
    }
    if (is_out) {
      res.output_bytes += static_cast<size_t>(n);
      if (res.output.size() < lim.output_keep)
        res.output.append(buf, std::min(static_cast<size_t>(n), lim.output_keep - res.output.size()));
      if (res.output_bytes > lim.output_kill && !res.output_exceeded) {
        res.output_exceeded = true;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
      }
    } else if (res.records.size() < (1u << 20)) {
      res.records.append(buf, static_cast<size_t>(n));
    }
  };
  // After the main child ends, stragglers may keep the pipes open: give them a moment.
  std::chrono::steady_clock::time_point exit_seen{};
  while (true) {
    if (!exited) {
      const pid_t w = wait4(pid, &status, WNOHANG, &usage);
      if (w == pid) {
        exited = true;
        exit_seen = std::chrono::steady_clock::now();
        res.wall_s = std::chrono::duration<double>(exit_seen - start).count();
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (!exited && now >= deadline) {
      res.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    if ((!out_open && !rec_open && exited) ||
        (exited && now - exit_seen > std::chrono::milliseconds(200)))
      break;
    struct pollfd pfd[2];
    int n = 0;
    if (out_open) pfd[n++] = {out_pipe[0], POLLIN, 0};
    if (rec_open) pfd[n++] = {rec_pipe[0], POLLIN, 0};
    if (n == 0) {
      usleep(5000);
      continue;
    }
    if (poll(pfd, static_cast<nfds_t>(n), 20) > 0) {
      for (int i = 0; i < n; ++i) {
        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (pfd[i].fd == out_pipe[0]) drain(out_pipe[0], out_open, true);
        else drain(rec_pipe[0], rec_open, false);
      }
    }
  }
  close(out_pipe[0]);
  if (spec.channel) close(rec_pipe[0]);
  // Nothing the test started may outlive it: its group, its uid, and re-parented orphans.
  kill(-pid, SIGKILL);
  if (caps.root) {
    const pid_t reaper = fork();
    if (reaper == 0) {
      if (setgid(sandbox_uid) == 0 && setuid(sandbox_uid) == 0) kill(-1, SIGKILL);
      _exit(0);
    }
    if (reaper > 0) waitpid(reaper, nullptr, 0);
  }
  {
    std::lock_guard<std::mutex> lock(g_active_mutex);
    g_active.erase(pid);
  }
  sweep_orphans();
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
    if (res.exit_code == 126 && res.output.rfind("gw-sandbox:", 0) == 0) res.setup_failed = true;
  } else if (WIFSIGNALED(status)) {
    res.signal = WTERMSIG(status);
  }
  res.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
              1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  return res;
}

std::string describe_end(const SandboxResult& r, const SandboxLimits& lim) {
  std::ostringstream os;
  if (r.setup_failed) {
    os << "the sandbox could not start the program: " << r.output.substr(0, 200);
  } else if (r.output_exceeded) {
    os << "printed more than " << (lim.output_kill >> 20) << " MiB of output (output limit); killed";
  } else if (r.timed_out) {
    os << "timed out after " << lim.wall_s << " s (wall-clock limit); killed";
  } else if (r.signal == SIGXCPU) {
    os << "used more than its CPU-time limit; killed";
  } else if (r.signal == SIGXFSZ) {
    os << "wrote a file larger than " << lim.file_mb << " MiB (file-size limit)";
  } else if (r.signal != 0) {
    os << "crashed: killed by signal " << r.signal << " (" << strsignal(r.signal) << ")";
    if (r.signal == SIGKILL) os << " — possibly out of memory";
  } else {
    os << "exited with status " << r.exit_code;
  }
  return os.str();
}

}  // namespace gw::grader
