// gw_test_main.cpp — the main() the grader links into every graded test program, in place of
// GoogleTest's gtest_main.
//
// The program never reports a verdict the grader would believe. It reports what the test
// computed (observations, labs/common/observe.h) and where each test starts and ends; the
// grader's judge compares that stream with the one of the same test run on the reference lab
// code in a process of its own (see grader/README.md, "How a test is judged").
//
// The grader opens two pipes and names their descriptors in GW_GRADER_FDS="H,R". At the top
// of main this file reads the hidden seed from H, closes H, removes GW_GRADER_FDS, exports
// the seed as GW_HIDDEN_SEED (grader/hidden/common/hidden.h) and points the observation sink
// at R. Then R receives, one line each:
//   S <Suite.Name>                              the test starts
//   O <kind> <name> <payload>                   an observation (observe.h)
//   E <Suite.Name> <pass|fail|skip> <ns> <cpu>  the test ended: GoogleTest's own outcome, the
//                                               wall-clock and the CPU nanoseconds of its body
// Student code in the same process can write to R as well; that is why nothing on R is taken
// on trust: a line only ever has to agree with the reference's run.
// Without GW_GRADER_FDS (run by hand) it is a plain GoogleTest main.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "observe.h"

namespace {

int g_record_fd = -1;

// CPU time of the whole process (every thread), in nanoseconds. getrusage, not
// CLOCK_PROCESS_CPUTIME_ID: under the sandbox's RLIMIT_CPU that clock only moves once a tick
// (4 ms), longer than many a test.
int64_t process_cpu_ns() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (static_cast<int64_t>(u.ru_utime.tv_sec) + u.ru_stime.tv_sec) * 1000000000 +
         (static_cast<int64_t>(u.ru_utime.tv_usec) + u.ru_stime.tv_usec) * 1000;
}

void write_record(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (g_record_fd < 0) return;
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(g_record_fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

class RecordListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo& info) override {
    write_record("S " + name(info));
    start_ = std::chrono::steady_clock::now();
    start_cpu_ = process_cpu_ns();
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start_).count();
    const int64_t cpu = process_cpu_ns() - start_cpu_;
    const ::testing::TestResult* r = info.result();
    const char* outcome = r->Skipped() ? "skip" : r->Passed() ? "pass" : "fail";
    write_record("E " + name(info) + " " + outcome + " " + std::to_string(ns) + " " + std::to_string(cpu));
  }

 private:
  static std::string name(const ::testing::TestInfo& info) {
    return std::string(info.test_suite_name()) + "." + info.name();
  }
  std::chrono::steady_clock::time_point start_;
  int64_t start_cpu_ = 0;
};

// Reads the handshake; returns false when the grader channel is absent.
bool read_handshake() {
  const char* fds = std::getenv("GW_GRADER_FDS");
  if (!fds) return false;
  int hs = -1, rec = -1;
  if (std::sscanf(fds, "%d,%d", &hs, &rec) != 2) return false;
  unsetenv("GW_GRADER_FDS");
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = read(hs, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(hs);
  std::string seed = text;
  while (!seed.empty() && (seed.back() == '\n' || seed.back() == ' ')) seed.pop_back();
  if (!seed.empty()) setenv("GW_HIDDEN_SEED", seed.c_str(), 1);
  g_record_fd = rec;
  gw::observe::g_sink = write_record;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool graded = read_handshake();
  ::testing::InitGoogleTest(&argc, argv);
  if (graded) ::testing::UnitTest::GetInstance()->listeners().Append(new RecordListener);
  return RUN_ALL_TESTS();
}
