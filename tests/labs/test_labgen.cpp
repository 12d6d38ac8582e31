// test_labgen.cpp — tests of gw-labgen, the generator of the students' lab files: each
// claim of the lab swap on a small throwaway repository (manifest + reference files),
// by running the real program next to this test in <build>/bin.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A scratch repository with lab 01 owning a.cpp (which also holds a lab 02 region).
class Labgen : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gw_labgen_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    write(root_ / "labs/labs.json",
          R"({"labs": [{"id": "01", "dir": "labs/01-x", "files": ["reference/a.cpp"],
                        "student_files": ["labs/01-x/a.cpp"]}]})");
    fs::create_directories(root_ / "labs/01-x");
    write(root_ / "reference/a.cpp",
          "// a.cpp — example\n"
          "int twice(int x) {\n"
          "    // BEGIN LAB 01: return \"twice\" x\n"
          "    return 2 * x;\n"
          "    // END LAB 01\n"
          "}\n"
          "int other() {\n"
          "  // BEGIN LAB 02: not this lab\n"
          "  return 1;\n"
          "  // END LAB 02\n"
          "}\n");
    const fs::path self = fs::read_symlink("/proc/self/exe");
    program_ = self.parent_path() / "gw-labgen";
    ASSERT_TRUE(fs::exists(program_)) << "build gw-labgen first (it sits next to this test): "
                                      << program_;
  }
  void TearDown() override { fs::remove_all(root_); }

  // Runs gw-labgen with `args`; returns its exit status and keeps its output in output_.
  int run(const std::string& args) {
    const fs::path out = root_ / "output.txt";
    const std::string cmd = program_.string() + " --root " + root_.string() + " " + args + " > " +
                            out.string() + " 2>&1";
    const int status = std::system(cmd.c_str());
    output_ = read(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path root_, program_;
  std::string output_;
};

TEST_F(Labgen, GenerateReplacesTheRegionByOneTodoLineAtItsIndentation) {
  ASSERT_EQ(run("generate"), 0) << output_;
  const std::string copy = read(root_ / "labs/01-x/a.cpp");
  EXPECT_NE(copy.find("\n    GW_TODO(\"lab 01: return \\\"twice\\\" x\", x);\n}"), std::string::npos)
      << copy;
  EXPECT_EQ(copy.find("return 2 * x;"), std::string::npos) << "the solution must not leak";
  EXPECT_EQ(copy.find("BEGIN LAB 01"), std::string::npos) << copy;
}

TEST_F(Labgen, GenerateKeepsOtherLabsRegionsAndOtherLinesVerbatim) {
  ASSERT_EQ(run("generate"), 0) << output_;
  const std::string copy = read(root_ / "labs/01-x/a.cpp");
  EXPECT_NE(copy.find("  // BEGIN LAB 02: not this lab\n  return 1;\n  // END LAB 02\n"),
            std::string::npos) << copy;
  EXPECT_NE(copy.find("// a.cpp — example\nint twice(int x) {\n"), std::string::npos) << copy;
}

TEST_F(Labgen, StudentCopyStartsWithAHeaderSayingWhatToDo) {
  ASSERT_EQ(run("generate"), 0) << output_;
  const std::string copy = read(root_ / "labs/01-x/a.cpp");
  EXPECT_EQ(copy.rfind("// Lab 01: your copy of this file. Replace each GW_TODO", 0), 0u) << copy;
  EXPECT_EQ(copy.find("reference/"), std::string::npos)
      << "the student release has no reference/ lab files to point to\n" << copy;
}

// An untouched stub must compile without "unused parameter" warnings: the GW_TODO line names
// the parameters of its function (unnamed ones, such as `int /*y*/`, are left out).
TEST_F(Labgen, TodoLineNamesTheParametersOfItsFunction) {
  write(root_ / "reference/a.cpp",
        "// a.cpp\nint twice(int x) {\n  // BEGIN LAB 01: x\n  return 2 * x;\n  // END LAB 01\n}\n"
        "std::vector<int> pair(const std::map<int, int>& m,\n                      int /*y*/, "
        "double* out = nullptr) {\n  // BEGIN LAB 01: y\n  return {};\n  // END LAB 01\n}\n");
  ASSERT_EQ(run("generate"), 0) << output_;
  const std::string copy = read(root_ / "labs/01-x/a.cpp");
  EXPECT_NE(copy.find("GW_TODO(\"lab 01: x\", x);"), std::string::npos) << copy;
  EXPECT_NE(copy.find("GW_TODO(\"lab 01: y\", m, out);"), std::string::npos) << copy;
}

// A region outside any function (its BEGIN line in column 0: a CUDA kernel, which cannot
// throw) becomes a TODO comment; the header says what such comments mean.
TEST_F(Labgen, RegionOutsideAnyFunctionBecomesATodoComment) {
  write(root_ / "reference/a.cpp",
        "// a.cpp\n// BEGIN LAB 01: the kernel\n__global__ void k(float* x) { x[0] = 1; }\n"
        "// END LAB 01\nvoid launch(float* x) {\n  // BEGIN LAB 01: launch k\n  k<<<1, 1>>>(x);\n"
        "  // END LAB 01\n}\n");
  ASSERT_EQ(run("generate"), 0) << output_;
  const std::string copy = read(root_ / "labs/01-x/a.cpp");
  EXPECT_NE(copy.find("\n// TODO(lab 01): the kernel\nvoid launch(float* x) {\n"), std::string::npos)
      << copy;
  EXPECT_NE(copy.find("  GW_TODO(\"lab 01: launch k\", x);\n"), std::string::npos) << copy;
  EXPECT_EQ(copy.find("x[0] = 1"), std::string::npos) << "the solution must not leak";
  EXPECT_NE(copy.find("// Each \"// TODO(lab 01)\" comment marks code you write outside"),
            std::string::npos) << copy;
}

TEST_F(Labgen, CheckPassesRightAfterGenerate) {
  ASSERT_EQ(run("generate"), 0) << output_;
  EXPECT_EQ(run("check"), 0) << output_;
}

TEST_F(Labgen, CheckFailsAndNamesTheFileWhenTheReferenceDrifted) {
  ASSERT_EQ(run("generate"), 0) << output_;
  write(root_ / "reference/a.cpp", read(root_ / "reference/a.cpp") + "int added() { return 3; }\n");
  EXPECT_EQ(run("check"), 1);
  EXPECT_NE(output_.find("labs/01-x/a.cpp"), std::string::npos) << output_;
}

TEST_F(Labgen, CheckFailsWhenTheStudentCopyIsMissing) {
  EXPECT_EQ(run("check"), 1);
  EXPECT_NE(output_.find("missing"), std::string::npos) << output_;
}

TEST_F(Labgen, UnclosedRegionIsAnErrorWithFileAndLineAndWritesNothing) {
  write(root_ / "reference/a.cpp", "int f() {\n  // BEGIN LAB 01: x\n  return 1;\n}\n");
  EXPECT_EQ(run("generate"), 1);
  EXPECT_NE(output_.find("reference/a.cpp:2"), std::string::npos) << output_;
  EXPECT_FALSE(fs::exists(root_ / "labs/01-x/a.cpp"));
}

TEST_F(Labgen, EndOfAnotherLabInsideARegionIsAnError) {
  write(root_ / "reference/a.cpp", "int f() {\n  // BEGIN LAB 01: x\n  // END LAB 02\n}\n");
  EXPECT_EQ(run("generate"), 1);
  EXPECT_NE(output_.find("END LAB 02"), std::string::npos) << output_;
}

TEST_F(Labgen, ListedFileWithoutARegionOfItsLabIsAnError) {
  write(root_ / "reference/a.cpp", "int f() { return 1; }\n");
  EXPECT_EQ(run("generate"), 1);
  EXPECT_NE(output_.find("no \"// BEGIN LAB 01\" region"), std::string::npos) << output_;
}

TEST_F(Labgen, MissingReferenceFileIsOneClearLine) {
  fs::remove(root_ / "reference/a.cpp");
  EXPECT_EQ(run("generate"), 1);
  EXPECT_NE(output_.find("cannot read"), std::string::npos) << output_;
}

TEST_F(Labgen, UnknownLabIsAUsageError) {
  EXPECT_EQ(run("generate --lab 07"), 2);
  EXPECT_NE(output_.find("no lab \"07\""), std::string::npos) << output_;
}

}  // namespace
