// subprocess.h — running gw-train and gw-sample as a user does, for the tests that kill,
// interrupt or starve them: fork/exec with extra environment and a working folder, stdout and
// stderr merged into one pipe, waiting for a line to appear, sending signals, exit status.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace gw::testing {

/// <the folder of this test program>/name: the programs are built next to the tests.
inline std::string program_path(const std::string& name) {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  return (std::filesystem::path(std::string(buf.data(), static_cast<size_t>(n))).parent_path() / name)
      .string();
}

/// One running program. The destructor kills it if it still runs.
class Child {
 public:
  /// Starts argv[0] with `env` ("NAME=value") added to this process's environment, in `cwd`
  /// when it is not empty.
  Child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
        const std::string& cwd = "") {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Reads output until it contains `text` (true) or the program ends or `seconds` pass.
  bool wait_for(const std::string& text, double seconds = 60) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (output_.find(text) == std::string::npos) {
      const double left =
          std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count();
      if (left <= 0 || !read_some(static_cast<int>(left * 1000) + 1)) return false;
    }
    return true;
  }
  /// Sends `sig`.
  void signal(int sig) { if (pid_ > 0) ::kill(pid_, sig); }
  /// Waits for the end (killing it after `seconds`) and returns its exit status, 128 + N when
  /// signal N ended it.
  int wait(double seconds = 120) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (read_some(200)) {
      if (std::chrono::steady_clock::now() > until) ::kill(pid_, SIGKILL);
    }
    int raw = 0;
    ::waitpid(pid_, &raw, 0);
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    return status_;
  }
  /// Everything it printed so far.
  const std::string& output() const { return output_; }

 private:
  // Reads what is there within `ms`; false at the end of the output.
  bool read_some(int ms) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return true;  // nothing yet
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = -1;
  std::string output_;
};

/// Runs a program to its end: {status, output}.
struct Ran {
  int status;
  std::string output;
};
inline Ran run_program(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                       const std::string& cwd = "") {
  Child c(argv, env, cwd);
  const int status = c.wait();
  return {status, c.output()};
}

}  // namespace gw::testing
