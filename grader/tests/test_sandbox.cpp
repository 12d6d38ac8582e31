// test_sandbox.cpp — the sandbox's claims, one test each: a hang, a flood of output, a fork
// bomb, a memory bomb, a detached process, the network, masked paths, the environment,
// stdin, and two runs sharing a slot. These run shell one-liners, so they need neither the
// framework nor the labs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "manifest.h"
#include "sandbox.h"
#include "submission.h"
#include "util.h"

namespace gw::grader {
namespace {

SandboxResult sh(const std::string& script, SandboxLimits limits = {}, std::vector<std::string> mask = {},
               std::vector<std::string> keep = {}, const std::string& input = "") {
  static const bool reaper = (become_subreaper(), true);
  (void)reaper;
  const std::string dir = make_temp_dir("gw-sandbox-test-");
  chmod(dir.c_str(), 0777);
  SandboxSpec spec;
  spec.argv = {"/bin/bash", "-c", script};
  spec.workdir = dir;
  spec.env = {"PATH=/usr/bin:/bin", "HOME=" + dir};
  spec.limits = limits;
  spec.mask = mask;
  spec.keep = keep;
  spec.stdin_data = input;
  spec.slot = 7;  // a uid no other test uses
  SandboxResult r = run_sandboxed(spec);
  remove_all(dir);
  return r;
}

// Processes left with the sandbox uid of slot 7 (only meaningful as root).
int processes_of_slot7() {
  const uid_t uid = static_cast<uid_t>(sandbox_caps().uid_base + 7);
  int n = 0;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      struct stat st;
      if (atoi(e->d_name) > 0 && stat((std::string("/proc/") + e->d_name).c_str(), &st) == 0 && st.st_uid == uid) ++n;
    }
    closedir(d);
  }
  return n;
}

TEST(Sandbox, ExitStatusAndOutputAreReported) {
  const SandboxResult r = sh("echo hello; echo oops >&2; exit 3");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("hello"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("oops"), std::string::npos) << r.output;
}

TEST(Sandbox, TwoRunsOnTheSameSlotDoNotKillEachOther) {
  // After a run every process of the slot's uid is killed; a second run on that uid (another
  // gw-grade, or ctest -j) must wait for the slot rather than lose its test to that sweep.
  SandboxResult a, b;
  std::thread other([&] { a = sh("sleep 1; exit 0"); });
  b = sh("sleep 0.2; exit 0");
  other.join();
  EXPECT_EQ(a.exit_code, 0) << "signal " << a.signal << ": " << a.output;
  EXPECT_EQ(b.exit_code, 0) << "signal " << b.signal << ": " << b.output;
}

TEST(Sandbox, AHangIsKilledAtTheWallClockLimit) {
  SandboxLimits lim;
  lim.wall_s = 1;
  const double t0 = now_s();
  const SandboxResult r = sh("while :; do :; done", lim);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(now_s() - t0, 5.0) << "the timeout must stop the run promptly";
  EXPECT_NE(describe_end(r, lim).find("timed out"), std::string::npos) << describe_end(r, lim);
}

TEST(Sandbox, AFloodOfOutputIsCappedAndKilled) {
  SandboxLimits lim;
  lim.output_kill = 4u << 20;
  lim.wall_s = 20;
  const SandboxResult r = sh("yes 'spam spam spam spam'", lim);
  EXPECT_TRUE(r.output_exceeded);
  EXPECT_FALSE(r.timed_out) << "the output cap, not the timeout, must stop it";
  EXPECT_LE(r.output.size(), lim.output_keep);
}

TEST(Sandbox, AForkBombIsContainedAndNothingSurvives) {
  SandboxLimits lim;
  lim.wall_s = 3;
  lim.processes = 32;
  const SandboxResult r = sh("f() { f | f & }; f; sleep 100", lim);
  EXPECT_TRUE(r.timed_out || r.exit_code != 0 || r.signal != 0);
  if (sandbox_caps().root) {
    EXPECT_EQ(processes_of_slot7(), 0) << "fork-bomb processes outlived the test";
  }
}

TEST(Sandbox, AMemoryBombFailsAtTheAddressSpaceLimit) {
  SandboxLimits lim;
  lim.memory_mb = 256;
  const SandboxResult r = sh("x=$(head -c 600000000 /dev/zero | tr '\\0' a); echo survived ${#x}", lim);
  EXPECT_EQ(r.output.find("survived 600000000"), std::string::npos) << r.output.substr(0, 300);
}

TEST(Sandbox, ADetachedProcessDoesNotOutliveTheRun) {
  const std::string marker = "/tmp/gw-sandbox-detached-" + random_token(4);
  const SandboxResult r = sh("setsid bash -c 'sleep 2; touch " + marker + "' </dev/null >/dev/null 2>&1 & exit 0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  sleep(3);
  EXPECT_FALSE(exists(marker)) << "a detached child survived the sandbox and ran later";
  remove_all(marker);
}

TEST(Sandbox, TheNetworkIsUnreachable) {
  if (!sandbox_caps().namespaces) GTEST_SKIP() << "no network namespace on this machine: " << sandbox_caps().describe();
  const SandboxResult r = sh("ip -o link 2>/dev/null | grep -v ' lo:' | grep -c UP; "
                             "(echo > /dev/tcp/1.1.1.1/53) 2>/dev/null && echo CONNECTED || echo BLOCKED");
  EXPECT_NE(r.output.find("BLOCKED"), std::string::npos) << r.output;
}

TEST(Sandbox, MaskedFilesAndFoldersCannotBeRead) {
  if (!sandbox_caps().namespaces && !sandbox_caps().root) GTEST_SKIP() << "no mount namespace and not root";
  const std::string dir = make_temp_dir("gw-secret-");
  chmod(dir.c_str(), 0755);
  write_text(dir + "/secret.cpp", "TOP SECRET TEST");
  chmod((dir + "/secret.cpp").c_str(), 0644);  // world-readable: only the mask protects it
  const SandboxResult r = sh("cat " + dir + "/secret.cpp; ls " + dir, {}, {dir});
  EXPECT_EQ(r.output.find("TOP SECRET"), std::string::npos) << r.output;
  remove_all(dir);
}

TEST(Sandbox, TheGradersPrivateFilesAreUnreadableAsTheSandboxUser) {
  if (!sandbox_caps().root) GTEST_SKIP() << "not root: no sandbox uid";
  const std::string dir = make_temp_dir("gw-private-");
  write_text(dir + "/answers.txt", "PRIVATE ANSWERS");
  chmod((dir + "/answers.txt").c_str(), 0600);
  chmod(dir.c_str(), 0755);
  const SandboxResult r = sh("cat " + dir + "/answers.txt");
  EXPECT_EQ(r.output.find("PRIVATE ANSWERS"), std::string::npos) << r.output;
  remove_all(dir);
}

TEST(Sandbox, TheEnvironmentIsScrubbed) {
  setenv("GW_SECRET_OF_THE_GRADER", "leak", 1);
  const SandboxResult r = sh("env");
  EXPECT_EQ(r.output.find("GW_SECRET_OF_THE_GRADER"), std::string::npos) << r.output;
  unsetenv("GW_SECRET_OF_THE_GRADER");
}

TEST(Sandbox, StdinIsClosed) {
  SandboxLimits lim;
  lim.wall_s = 5;
  const SandboxResult r = sh("cat; echo done", lim);
  EXPECT_FALSE(r.timed_out) << "the child waited for input";
  EXPECT_NE(r.output.find("done"), std::string::npos);
}

TEST(Sandbox, TheProgramSeesOnlyItsOwnProcessesAndNothingOfTheGrader) {
  if (!sandbox_caps().pid_ns) GTEST_SKIP() << "no PID namespace here: " << sandbox_caps().describe();
  const SandboxResult r = sh("echo ppid=$PPID; ls /proc | grep -c '^[0-9]'; "
                             "tr '\\0' ' ' < /proc/$PPID/cmdline 2>/dev/null; echo; "
                             "tr '\\0' ' ' < /proc/$PPID/environ 2>/dev/null; echo end");
  EXPECT_NE(r.output.find("ppid=1\n"), std::string::npos) << r.output;
  // bash, and the ls of the pipe (and grep): no grader, no other test.
  std::istringstream in(r.output.substr(r.output.find('\n') + 1));
  int visible = 0;
  in >> visible;
  EXPECT_LE(visible, 3) << r.output;
  EXPECT_EQ(r.output.find("gw_test_grader"), std::string::npos) << "the grader's command line leaked: " << r.output;
  EXPECT_EQ(r.output.find("PATH="), std::string::npos) << "the parent's environment leaked: " << r.output;
}

TEST(Sandbox, EachRunHasAPrivateTmpThatNothingOutlives) {
  if (!sandbox_caps().namespaces) GTEST_SKIP() << "no mount namespace here";
  const std::string mark = "gw-sandbox-private-" + random_token(4);
  const SandboxResult a = sh("for d in /tmp /var/tmp /dev/shm; do echo hi > $d/" + mark + " || echo FAILED $d; done; "
                             "ls /tmp/" + mark);
  EXPECT_EQ(a.output.find("FAILED"), std::string::npos) << a.output;
  const SandboxResult b = sh("cat /tmp/" + mark + " /var/tmp/" + mark + " /dev/shm/" + mark + " 2>&1; echo done");
  EXPECT_EQ(b.output.find("hi"), std::string::npos) << "a file of one run was still there in the next: " << b.output;
  for (const char* d : {"/tmp/", "/var/tmp/", "/dev/shm/"})
    EXPECT_FALSE(exists(d + mark)) << d << mark << " reached the machine's own folder";
  if (sandbox_caps().root) {
    const CommandResult left = run_command("find /tmp /var/tmp /dev/shm -xdev -uid 61007 2>/dev/null | head -3");
    EXPECT_EQ(left.output, "") << "files of the sandbox uid outlived the runs";
  }
}

TEST(Sandbox, TheTotalBytesWrittenAreCapped) {
  if (!sandbox_caps().namespaces) GTEST_SKIP() << "no mount namespace here";
  SandboxLimits lim;
  lim.disk_mb = 16;
  lim.file_mb = 8;
  // Many files, each under the per-file limit: the total stops at the cap.
  const SandboxResult r = sh("for i in $(seq 1 10); do head -c 6000000 /dev/zero > /tmp/f$i || { echo STOPPED $i; break; }; done; "
                             "du -sm /tmp | cut -f1",
                             lim);
  EXPECT_NE(r.output.find("STOPPED"), std::string::npos) << r.output;
  EXPECT_TRUE(r.disk_full) << r.output;
  EXPECT_LE(r.disk_used, 17 << 20);
}

TEST(Sandbox, KeptPathsAreVisibleAndReadOnlyEverythingElseInTmpIsNot) {
  if (!sandbox_caps().namespaces) GTEST_SKIP() << "no mount namespace here";
  const std::string dir = make_temp_dir("gw-keep-");
  chmod(dir.c_str(), 0755);
  write_text(dir + "/kept.txt", "KEPT");
  write_text(dir + "/other.txt", "OTHER");
  chmod((dir + "/kept.txt").c_str(), 0644);
  chmod((dir + "/other.txt").c_str(), 0644);
  const SandboxResult r = sh("cat " + dir + "/kept.txt; cat " + dir + "/other.txt; echo x >> " + dir +
                             "/kept.txt && echo WROTE", {}, {}, {dir + "/kept.txt"});
  EXPECT_NE(r.output.find("KEPT"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("OTHER"), std::string::npos) << "a file of the work folder that was not kept is visible";
  EXPECT_EQ(r.output.find("WROTE"), std::string::npos) << r.output;
  EXPECT_EQ(read_text(dir + "/kept.txt"), "KEPT");
  remove_all(dir);
}

TEST(Sandbox, StdinDataReachesTheProgram) {
  const SandboxResult r = sh("wc -c", {}, {}, {}, std::string(200000, 'x'));
  EXPECT_NE(r.output.find("200000"), std::string::npos) << r.output;
}

TEST(Sandbox, TheCompilerSeesNeitherTheGradersTreeNorTheSolutions) {
  if (!sandbox_caps().namespaces && !sandbox_caps().root) GTEST_SKIP() << "no mount namespace and not root";
  const std::string root = GW_SOURCE_DIR;
  const Manifest m = load_manifest(root + "/labs/labs.json");
  std::vector<std::string> compile_mask, run_mask;
  secret_paths(m, root, "/nonexistent-cache", &compile_mask, &run_mask);
  std::string script;
  for (const std::string& f : list_files(root + "/grader/hidden", 3)) script += "cat " + root + "/grader/hidden/" + f + "; ";
  for (const Lab& lab : m.labs)
    for (const std::string& f : lab.files) script += "cat " + root + "/" + f + "; ";
  script += "echo entries=$(ls " + root + "/grader 2>/dev/null | wc -l); echo done";
  for (const auto* mask : {&compile_mask, &run_mask}) {
    const SandboxResult r = sh(script, {}, *mask);
    EXPECT_NE(r.output.find("done"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("TEST("), std::string::npos) << "a hidden test is readable: " << r.output.substr(0, 400);
    EXPECT_EQ(r.output.find("BEGIN LAB"), std::string::npos) << "a solution is readable: " << r.output.substr(0, 400);
    EXPECT_NE(r.output.find("entries=0"), std::string::npos) << "grader/ can be listed: " << r.output.substr(0, 400);
  }
}

TEST(Sandbox, ACrashIsReportedWithItsSignal) {
  const SandboxResult r = sh("kill -SEGV $$");
  EXPECT_EQ(r.signal, 11);
  EXPECT_NE(describe_end(r, {}).find("signal 11"), std::string::npos) << describe_end(r, {});
}

}  // namespace
}  // namespace gw::grader
