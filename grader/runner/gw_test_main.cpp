// gw_test_main.cpp — the main() the grader links into every graded test program, in place of
// GoogleTest's gtest_main.
//
// Why: the grader must decide each outcome itself, not believe what the program prints
// (student code can print "[  PASSED  ]", call exit(0) mid-test, or write a results file).
// The grader opens two pipes and names their (randomly numbered) descriptors in
// GW_GRADER_FDS="H,R". At the top of main this file reads "<token> <seed>" from H, closes H,
// removes GW_GRADER_FDS, and exports the seed as GW_HIDDEN_SEED for grader/hidden/common/
// hidden.h. A listener then writes one line per test to R:
//   start <token> <Suite.Name>
//   end <token> <Suite.Name> <pass|fail|skip> <nanoseconds of the test body>
// The grader counts a pass only when it reads a token-stamped "end ... pass" line for the
// test it asked for AND the process then exits with status 0. exit(0) in the middle of the
// test never produces the end line, and a fake line lacks the token.
// Without GW_GRADER_FDS (run by hand) it behaves as a plain GoogleTest main.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int g_record_fd = -1;
std::string g_token;

void write_record(const std::string& line) {
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
    write_record("start " + g_token + " " + name(info));
    start_ = std::chrono::steady_clock::now();
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start_).count();
    const ::testing::TestResult* r = info.result();
    const char* outcome = r->Skipped() ? "skip" : r->Passed() ? "pass" : "fail";
    write_record("end " + g_token + " " + name(info) + " " + outcome + " " + std::to_string(ns));
  }

 private:
  static std::string name(const ::testing::TestInfo& info) {
    return std::string(info.test_suite_name()) + "." + info.name();
  }
  std::chrono::steady_clock::time_point start_;
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
  const size_t space = text.find(' ');
  if (space == std::string::npos) return false;
  g_token = text.substr(0, space);
  std::string seed = text.substr(space + 1);
  while (!seed.empty() && (seed.back() == '\n' || seed.back() == ' ')) seed.pop_back();
  if (!seed.empty()) setenv("GW_HIDDEN_SEED", seed.c_str(), 1);
  g_record_fd = rec;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool graded = read_handshake();
  ::testing::InitGoogleTest(&argc, argv);
  if (graded) ::testing::UnitTest::GetInstance()->listeners().Append(new RecordListener);
  return RUN_ALL_TESTS();
}
