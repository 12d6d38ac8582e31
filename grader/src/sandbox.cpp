// sandbox.cpp — fork/exec with namespaces, rlimits, a sandbox uid, output capture and a
// timeout (see sandbox.h for the layers and why each is there).
#include "sandbox.h"

#include "util.h"

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
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

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
  if (namespaces) s += pid_ns ? ", PID namespace, private /tmp" : ", no PID namespace, private /tmp";
  return s;
}

void become_subreaper() {
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);  // a child that dies early must not take the grader with it
}

namespace {

// World-writable folders (where a sandbox uid could leave files): /tmp and /dev/shm, and
// whatever a short walk of /var and /run finds (/var/tmp, /run/lock, /var/crash, ...). Only
// system folders: a world-writable folder of somebody's project must not vanish from view.
std::vector<std::string> find_writable_dirs() {
  std::vector<std::string> out = {"/tmp"};
  std::function<void(const std::string&, int)> walk = [&](const std::string& dir, int depth) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> subs;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = dir + "/" + name;
      struct stat st;
      if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      if (st.st_mode & S_IWOTH) out.push_back(path);  // covered whole: no need to look inside
      else if (depth < 2) subs.push_back(path);
    }
    closedir(d);
    for (const std::string& s : subs) walk(s, depth + 1);
  };
  for (const char* top : {"/var", "/run"}) walk(top, 0);
  struct stat st;
  if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)) out.push_back("/dev/shm");
  return out;
}

// Probes one combination of namespaces in a throw-away child.
bool probe(bool user, bool pid) {
  const pid_t child = fork();
  if (child == 0) {
    const int flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (user ? CLONE_NEWUSER : 0) |
                      (pid ? CLONE_NEWPID : 0);
    if (unshare(flags) != 0) _exit(1);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(1);
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") != 0) _exit(1);
    if (pid) {
      const pid_t init = fork();
      if (init == 0) {
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) _exit(1);
        _exit(getpid() == 1 ? 0 : 1);
      }
      int st = 0;
      if (init < 0 || waitpid(init, &st, 0) != init || !WIFEXITED(st) || WEXITSTATUS(st) != 0) _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Reads fields 48-51 of /proc/self/stat (arg_start, arg_end, env_start, env_end) without
// allocating (called after fork) and zeroes those areas: the init of a PID namespace is a
// copy of the grader, whose command line and environment the sandbox must not read.
void wipe_cmdline_and_environ() {
  char buf[4096];
  const int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  char* p = strrchr(buf, ')');
  if (!p) return;
  p += 2;  // field 3 starts here
  unsigned long long fields[4] = {0, 0, 0, 0};
  for (int field = 3; field <= 51 && *p; ++field) {
    char* end = p;
    while (*end && *end != ' ') ++end;
    if (field >= 48) fields[field - 48] = strtoull(p, nullptr, 10);
    p = *end ? end + 1 : end;
  }
  for (int k = 0; k < 4; k += 2)
    if (fields[k] && fields[k + 1] > fields[k])
      memset(reinterpret_cast<void*>(fields[k]), 0, fields[k + 1] - fields[k]);
  prctl(PR_SET_NAME, "gw-init", 0, 0, 0);
}

// A path inside the sandbox that must exist as a mount point: the ancestors to create
// below the covered folder it lies in (empty when it is not in a covered folder).
struct MountPoint {
  std::string path;
  bool dir = true;
  bool covered = false;
  std::vector<std::string> ancestors;  // to mkdir, outermost first
  unsigned long keep_flags = 0;        // nosuid/nodev/noexec of the source, kept on remount
};

MountPoint mount_point(const std::string& path, const std::vector<std::string>& covered) {
  MountPoint m;
  m.path = path;
  struct stat st;
  m.dir = stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode);
  for (const std::string& c : covered) {
    if (path.size() > c.size() && path.compare(0, c.size(), c) == 0 && path[c.size()] == '/') {
      m.covered = true;
      for (size_t at = path.find('/', c.size() + 1); at != std::string::npos; at = path.find('/', at + 1))
        m.ancestors.push_back(path.substr(0, at));
      break;
    }
  }
  struct statvfs vs;
  if (statvfs(path.c_str(), &vs) == 0) {
    if (vs.f_flag & ST_NOSUID) m.keep_flags |= MS_NOSUID;
    if (vs.f_flag & ST_NODEV) m.keep_flags |= MS_NODEV;
    if (vs.f_flag & ST_NOEXEC) m.keep_flags |= MS_NOEXEC;
  }
  return m;
}

// In the child: creates the ancestors and the mount point itself (inside the private tmpfs).
bool make_mount_point(const MountPoint& m) {
  if (!m.covered) return true;
  for (const std::string& a : m.ancestors) {
    if (mkdir(a.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  if (m.dir) return mkdir(m.path.c_str(), 0755) == 0 || errno == EEXIST;
  const int fd = open(m.path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// What the sandbox's middle process reports to the grader: the program's wait status and
// how full its private /tmp was.
struct Report {
  int32_t magic = 0x67777362;
  int32_t have_status = 0;
  int32_t status = 0;
  int32_t pad = 0;
  int64_t disk_used = -1;
  int64_t disk_size = -1;
};

}  // namespace

const SandboxCaps& sandbox_caps(int uid_base) {
  static SandboxCaps caps = [uid_base] {
    SandboxCaps c;
    c.root = geteuid() == 0;
    c.uid_base = uid_base;
    for (bool user : {false, true}) {
      if (!user && !c.root) continue;
      for (bool pid : {true, false}) {
        if (probe(user, pid)) {
          c.namespaces = true;
          c.user_ns = user;
          c.pid_ns = pid;
          break;
        }
      }
      if (c.namespaces) break;
    }
    if (c.namespaces) c.writable = find_writable_dirs();
    return c;
  }();
  return caps;
}

int sweep_sandbox_files(int slot) {
  const SandboxCaps& caps = sandbox_caps();
  if (!caps.root) return 0;
  const uid_t lo = static_cast<uid_t>(caps.uid_base + std::max(slot, 0)), hi = slot >= 0 ? lo + 1 : lo + 64;
  int removed = 0;
  std::vector<std::string> dirs = caps.writable;
  for (const char* d : {"/tmp", "/var/tmp", "/dev/shm", "/run/lock"})
    if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  for (const std::string& dir : dirs) {
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    std::vector<std::string> doomed;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      const std::string path = dir + "/" + name;
      if (lstat(path.c_str(), &st) == 0 && st.st_uid >= lo && st.st_uid < hi) doomed.push_back(path);
    }
    closedir(d);
    for (const std::string& p : doomed) {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
      ++removed;
    }
  }
  return removed;
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
  // The private /tmp: /tmp itself is the tmpfs; each other covered folder is bound to a
  // folder of it; keep paths and the working directory are bound back in.
  const bool private_tmp = caps.namespaces;
  std::vector<std::string> covered_src;   // /tmp/.gw-sys/N for covered folder N
  std::vector<const char*> covered;
  if (private_tmp)
    for (const std::string& w : caps.writable)
      if (w != "/tmp") {
        covered.push_back(w.c_str());
        covered_src.push_back("/tmp/.gw-sys/" + std::to_string(covered_src.size()));
      }
  const std::string workdir_src = "/tmp/.gw-sys/work";
  std::vector<MountPoint> keeps;
  std::vector<bool> keep_rw;
  std::vector<std::array<char, 40>> keep_fd_path;
  if (private_tmp) {
    for (int rw = 0; rw < 2; ++rw)
      for (const std::string& k : rw ? spec.keep_rw : spec.keep) {
        if (!exists(k)) continue;
        keeps.push_back(mount_point(k, caps.writable));
        keep_rw.push_back(rw == 1);
      }
    if (!spec.private_workdir && !spec.workdir.empty()) {
      keeps.push_back(mount_point(spec.workdir, caps.writable));
      keep_rw.push_back(true);
    }
    keep_fd_path.resize(keeps.size());
  }
  MountPoint work_mp;
  if (private_tmp && spec.private_workdir) {
    work_mp = mount_point(spec.workdir, caps.writable);
    work_mp.dir = true;
  }
  char tmpfs_opts[96];
  snprintf(tmpfs_opts, sizeof tmpfs_opts, "size=%lldm,nr_inodes=%lld,mode=1777",
           static_cast<long long>(std::max<int64_t>(1, lim.disk_mb)),
           static_cast<long long>(std::max<int64_t>(1024, lim.disk_mb * 64)));
  const uid_t real_uid = getuid();
  const gid_t real_gid = getgid();
  char uid_map[64], gid_map[64];
  snprintf(uid_map, sizeof uid_map, "0 %u 1\n", static_cast<unsigned>(real_uid));
  snprintf(gid_map, sizeof gid_map, "0 %u 1\n", static_cast<unsigned>(real_gid));
  const uid_t sandbox_uid = static_cast<uid_t>(caps.uid_base + spec.slot);
  const bool drop_uid = caps.root && !spec.as_grader;
  std::optional<UidLock> uid_lock;
  if (drop_uid) uid_lock.emplace(sandbox_uid);

  int out_pipe[2], hs_pipe[2] = {-1, -1}, rec_pipe[2] = {-1, -1}, info_pipe[2] = {-1, -1};
  int in_pipe[2] = {-1, -1};
  const bool feed = !spec.stdin_data.empty();
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(info_pipe, O_CLOEXEC) != 0 || (feed && pipe2(in_pipe, O_CLOEXEC) != 0) ||
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
    // ---- child (A: sets up the namespaces; with a PID namespace it forks the init B, which
    // forks the program C) ----
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    const int devnull = feed ? in_pipe[0] : open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0) child_fail("stdin");
    if (spec.channel) {
      if (dup2(hs_pipe[0], hs_fd) < 0 || dup2(rec_pipe[1], rec_fd) < 0) child_fail("channel");
    }
    const int info_fd = 3;
    if (dup2(info_pipe[1], info_fd) < 0) child_fail("info pipe");
    for (int fd = 4; fd < 1024; ++fd)
      if (!spec.channel || (fd != hs_fd && fd != rec_fd)) close(fd);
    if (setsid() < 0) child_fail("setsid");
    set_limit(RLIMIT_CORE, 0);
    if (caps.namespaces) {
      const int flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                        (caps.user_ns ? CLONE_NEWUSER : 0) | (caps.pid_ns ? CLONE_NEWPID : 0);
      if (unshare(flags) != 0) child_fail("unshare");
      if (caps.user_ns) {
        write_file_raw("/proc/self/setgroups", "deny");
        if (!write_file_raw("/proc/self/uid_map", uid_map) ||
            !write_file_raw("/proc/self/gid_map", gid_map))
          child_fail("uid_map");
      }
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail("mount private");
      for (size_t i = 0; i < keeps.size(); ++i) {
        const int fd = open(keeps[i].path.c_str(), O_PATH | O_CLOEXEC);
        if (fd < 0) child_fail("open a kept path");
        snprintf(keep_fd_path[i].data(), keep_fd_path[i].size(), "/proc/self/fd/%d", fd);
      }
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
      if (private_tmp) {
        if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts) != 0) child_fail("private /tmp");
        if (mkdir("/tmp/.gw-sys", 0755) != 0) child_fail("private /tmp");
        for (size_t i = 0; i < covered.size(); ++i) {
          if (mkdir(covered_src[i].c_str(), 01777) != 0 || chmod(covered_src[i].c_str(), 01777) != 0 ||
              mount(covered_src[i].c_str(), covered[i], nullptr, MS_BIND, nullptr) != 0)
            child_fail("cover a world-writable folder");
        }
        for (size_t i = 0; i < keeps.size(); ++i) {
          if (!keeps[i].covered) continue;  // outside the covered folders: visible as it is
          if (!make_mount_point(keeps[i]) ||
              mount(keep_fd_path[i].data(), keeps[i].path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            child_fail("bind a kept path");
          // Read-only; in a user namespace the remount may be refused (locked mount flags),
          // and the path stays writable to a uid that owns nothing of the grader anyway.
          if (!keep_rw[i] && mount(nullptr, keeps[i].path.c_str(), nullptr,
                                   MS_REMOUNT | MS_BIND | MS_RDONLY | keeps[i].keep_flags, nullptr) != 0 &&
              !caps.user_ns)
            child_fail("kept path read-only");
        }
        if (spec.private_workdir && !spec.workdir.empty()) {
          if (mkdir(workdir_src.c_str(), 0777) != 0 || chmod(workdir_src.c_str(), 0777) != 0)
            child_fail("private working directory");
          if (drop_uid && chown(workdir_src.c_str(), sandbox_uid, sandbox_uid) != 0) child_fail("chown");
          if (!make_mount_point(work_mp) ||
              mount(workdir_src.c_str(), spec.workdir.c_str(), nullptr, MS_BIND, nullptr) != 0)
            child_fail("private working directory");
        }
      }
    }
    // The program itself (C): limits, working directory, identity, exec.
    auto exec_program = [&]() {
      set_limit(RLIMIT_AS, lim.memory_mb << 20);
      set_limit(RLIMIT_CPU, lim.cpu_s > 0 ? lim.cpu_s : static_cast<int64_t>(lim.wall_s) + 2);
      set_limit(RLIMIT_FSIZE, lim.file_mb << 20);
      set_limit(RLIMIT_NOFILE, lim.open_files);
      if (drop_uid) set_limit(RLIMIT_NPROC, lim.processes);
      close(info_fd);
      if (chdir(spec.workdir.c_str()) != 0) child_fail("chdir");
      if (drop_uid) {
        if (setgroups(0, nullptr) != 0 || setgid(sandbox_uid) != 0 || setuid(sandbox_uid) != 0)
          child_fail("drop to sandbox uid");
      }
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      execve(argv[0], argv.data(), envp.data());
      child_fail(argv[0]);
    };
    auto close_all_but = [&](int keep_fd) {
      for (int fd = 0; fd < 1024; ++fd)
        if (fd != keep_fd) close(fd);
    };
    Report report;
    if (!(caps.namespaces && caps.pid_ns)) {
      if (!caps.namespaces) exec_program();
      // Mount namespace without a PID namespace: A waits for C to measure the private /tmp.
      const pid_t c = fork();
      if (c == 0) exec_program();
      if (c < 0) child_fail("fork");
      close_all_but(info_fd);
      int st = 0;
      while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
      }
      report.have_status = 1;
      report.status = st;
    } else {
      int status_pipe[2];
      if (pipe2(status_pipe, O_CLOEXEC) != 0) child_fail("pipe");
      const pid_t b = fork();
      if (b == 0) {
        // ---- B: pid 1 of the new PID namespace ----
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        close(status_pipe[0]);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  caps.root ? "hidepid=2" : nullptr) != 0)
          child_fail("mount /proc");
        wipe_cmdline_and_environ();
        const pid_t c = fork();
        if (c == 0) {
          close(status_pipe[1]);
          exec_program();
        }
        if (c < 0) child_fail("fork");
        close_all_but(status_pipe[1]);
        int st = 0;
        while (true) {  // as the namespace's init, reap every orphan until the program ends
          const pid_t w = waitpid(-1, &st, 0);
          if (w == c) break;
          if (w < 0 && errno != EINTR) _exit(0);
        }
        (void)!write(status_pipe[1], &st, sizeof st);
        _exit(0);  // the kernel kills whatever else is left in the namespace
      }
      if (b < 0) child_fail("fork");
      close(status_pipe[1]);
      for (int fd = 0; fd < 1024; ++fd)  // A keeps only the two pipes it reports through
        if (fd != info_fd && fd != status_pipe[0]) close(fd);
      int st = 0;
      if (read(status_pipe[0], &st, sizeof st) == static_cast<ssize_t>(sizeof st)) {
        report.have_status = 1;
        report.status = st;
      }
      int bst = 0;
      while (waitpid(b, &bst, 0) < 0 && errno == EINTR) {
      }
    }
    if (private_tmp) {
      struct statvfs vs;
      if (statvfs("/tmp", &vs) == 0) {
        report.disk_size = static_cast<int64_t>(vs.f_blocks) * static_cast<int64_t>(vs.f_frsize);
        report.disk_used = static_cast<int64_t>(vs.f_blocks - vs.f_bfree) * static_cast<int64_t>(vs.f_frsize);
      }
    }
    (void)!write(info_fd, &report, sizeof report);
    _exit(0);
  }
  // ---- parent ----
  close(out_pipe[1]);
  close(info_pipe[1]);
  if (spec.channel) {
    close(hs_pipe[0]);
    close(rec_pipe[1]);
    (void)!write(hs_pipe[1], spec.handshake.data(), spec.handshake.size());
    close(hs_pipe[1]);
  }
  if (feed) close(in_pipe[0]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(info_pipe[0]);
    if (spec.channel) close(rec_pipe[0]);
    res.setup_failed = true;
    res.output = std::string("gw-sandbox: fork: ") + strerror(errno);
    if (feed) close(in_pipe[1]);
    return res;
  }
  std::thread feeder;
  if (feed) {
    const int fd = in_pipe[1];
    feeder = std::thread([fd, &spec] {
      size_t done = 0;
      while (done < spec.stdin_data.size()) {
        const ssize_t n = write(fd, spec.stdin_data.data() + done, spec.stdin_data.size() - done);
        if (n <= 0 && errno != EINTR) break;
        if (n > 0) done += static_cast<size_t>(n);
      }
      close(fd);
    });
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
    } else if (res.records.size() < (32u << 20)) {
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
  if (feeder.joinable()) feeder.join();  // the child is gone: its end of the pipe is closed
  Report report;
  {
    const int fl = fcntl(info_pipe[0], F_GETFL);
    fcntl(info_pipe[0], F_SETFL, fl | O_NONBLOCK);
    Report r;
    if (read(info_pipe[0], &r, sizeof r) == static_cast<ssize_t>(sizeof r) && r.magic == report.magic) report = r;
    close(info_pipe[0]);
  }
  // Nothing the test started may outlive it: its group, its uid, and re-parented orphans.
  kill(-pid, SIGKILL);
  if (drop_uid) {
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
  // Without a private /tmp, whatever the sandbox uid left in the shared folders goes now.
  if (!private_tmp && drop_uid) sweep_sandbox_files(spec.slot);
  if (report.have_status) status = report.status;
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
    if (res.exit_code == 126 && res.output.rfind("gw-sandbox:", 0) == 0) res.setup_failed = true;
  } else if (WIFSIGNALED(status)) {
    res.signal = WTERMSIG(status);
  }
  res.disk_used = report.disk_used;
  if (report.disk_size > 0 && report.disk_used >= 0)
    res.disk_full = report.disk_size - report.disk_used < (256 << 10);
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
  } else if (r.disk_full && r.signal == 0 && r.exit_code != 0) {
    os << "exited with status " << r.exit_code << " after filling its " << lim.disk_mb
       << " MiB of disk (the total it may write)";
  } else if (r.signal != 0) {
    os << "crashed: killed by signal " << r.signal << " (" << strsignal(r.signal) << ")";
    if (r.signal == SIGKILL) os << " — possibly out of memory";
  } else {
    os << "exited with status " << r.exit_code;
  }
  if (r.disk_full && !(r.signal == 0 && r.exit_code != 0))
    os << " (it had filled its " << lim.disk_mb << " MiB of disk, the total it may write)";
  return os.str();
}

}  // namespace gw::grader
