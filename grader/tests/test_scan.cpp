// test_scan.cpp — the pre-compile scan of lab files (scan.h) and the judge's comparison of
// observation streams (judge.h): one test per rule, the tricks that must not slip through,
// and the legitimate code that must.
#include <gtest/gtest.h>

#include <string>

#include "judge.h"
#include "scan.h"
#include "util.h"

namespace gw::grader {
namespace {

IncludePolicy policy() {
  IncludePolicy p;
  p.dirs = {std::string(GW_SOURCE_DIR) + "/reference/include"};
  for (const std::string& d : system_include_dirs()) p.dirs.push_back(d);
  p.lab_files = {"gw/dual.h", "gradcheck.cpp"};
  p.forbidden = {absolute(std::string(GW_SOURCE_DIR) + "/reference/autodiff/gradcheck.cpp")};
  return p;
}

std::vector<ScanFinding> scan(const std::string& text) { return scan_source("lab.cpp", text, policy()); }

// The first finding's token, or "" when the text is clean.
std::string first(const std::string& text) {
  const auto f = scan(text);
  return f.empty() ? "" : f[0].token;
}

TEST(Scan, OrdinaryLabCodeIsClean) {
  const std::string code = R"cpp(// a comment with asm and __FILE__ and #include "/etc/passwd"
#include <algorithm>
#include <cmath>
#include <unistd.h>
#include "gw/autodiff.h"
#pragma once
#pragma omp parallel for
#define SQUARE(x) ((x) * (x))
#define NAME(x) #x
/* a block comment: asm(".incbin") */
namespace gw {
const char* text = "asm(\".incbin \\\"x\\\"\") __BASE_FILE__ ##";
const char* raw = R"x(asm __FILE__ )" ## )x";
const char32_t c = U'\'';
const long big = 1'000'000;
double f(double x) { return SQUARE(x) + 0x1p-3 + 1e+5; }
}
)cpp";
  const auto f = scan(code);
  EXPECT_TRUE(f.empty()) << f[0].str();
}

TEST(Scan, InlineAssemblyInEverySpellingIsRefusedWithItsLine) {
  for (const char* kw : {"asm", "__asm", "__asm__"}) {
    const auto f = scan(std::string("int x;\n\n") + kw + "(\".incbin \\\"/etc/passwd\\\"\");\n");
    ASSERT_FALSE(f.empty()) << kw;
    EXPECT_EQ(f[0].token, kw);
    EXPECT_EQ(f[0].line, 3);
    EXPECT_NE(f[0].str().find("lab.cpp:3: `"), std::string::npos) << f[0].str();
  }
}

TEST(Scan, FileNameMacrosAndPragmaOperatorsAreRefused) {
  EXPECT_EQ(first("const char* p = __BASE_FILE__;"), "__BASE_FILE__");
  EXPECT_EQ(first("const char* p = __FILE__;"), "__FILE__");
  EXPECT_EQ(first("const char* p = __builtin_FILE();"), "__builtin_FILE");
  EXPECT_EQ(first("_Pragma(\"GCC dependency \\\"x\\\"\")"), "_Pragma");
  EXPECT_EQ(first("#pragma GCC dependency \"/etc/passwd\"\n"), "#pragma GCC dependency");
  EXPECT_EQ(first("#embed \"/etc/passwd\"\n"), "#embed");
  EXPECT_EQ(first("#if __has_embed(\"x\")\n#endif\n"), "__has_embed");
}

TEST(Scan, TokenPastingAndSplicesCannotAssembleAForbiddenWord) {
  EXPECT_EQ(first("#define CAT(a, b) a##b\nCAT(__as, m__)(\"\");\n"), "##");
  EXPECT_EQ(first("%:define CAT(a, b) a%:%:b\n"), "%:%:");
  // A line continuation joins "as" and "m": the scanner joins lines as the compiler does.
  EXPECT_EQ(first("int x; as\\\nm(\"nop\");\n"), "asm");
  EXPECT_EQ(first("int x; as\\  \nm(\"nop\");\n"), "asm") << "GCC also joins a backslash, blanks, newline";
  // A // comment that ends in a backslash swallows the next line: no finding there.
  EXPECT_EQ(first("// comment \\\nasm(\"x\");\nint y;\n"), "");
}

TEST(Scan, DirectivesHideNowhere) {
  EXPECT_EQ(first("%:include \"/etc/passwd\"\n"), "#include \"/etc/passwd\"") << "the %: digraph is #";
  EXPECT_EQ(first("/* a\n*/ #include \"../x.h\"\n"), "#include \"../x.h\"")
      << "after a comment holding a new-line, # starts a directive";
  EXPECT_EQ(first("#define F(x) x\nF(1) # include \"/etc/passwd\"\n"), "#include \"/etc/passwd\"")
      << "a '#' before a name that reads files is checked wherever it is";
  EXPECT_EQ(first("#ident \"x\"\n"), "#ident");
}

TEST(Scan, IncludesMustBeOnTheAllowlist) {
  EXPECT_EQ(first("#include \"/work/grader/hidden/x.cpp\"\n"), "#include \"/work/grader/hidden/x.cpp\"");
  EXPECT_EQ(first("#include \"../../grader/hidden/x.h\"\n"), "#include \"../../grader/hidden/x.h\"");
  EXPECT_EQ(first("#define P <vector>\n#include P\n"), "#include") << "a computed include";
  EXPECT_EQ(first("#include <gtest/gtest.h>\n"), "#include <gtest/gtest.h>");
  EXPECT_EQ(first("#include \"no/such/header.h\"\n"), "#include \"no/such/header.h\"");
  EXPECT_EQ(first("#include \"" + std::string("../autodiff/gradcheck.cpp") + "\"\n"),
            "#include \"../autodiff/gradcheck.cpp\"");
  EXPECT_EQ(first("#if __has_include(\"/etc/passwd\")\n#endif\n"), "__has_include \"/etc/passwd\"");
  EXPECT_EQ(first("#include <vector>\n#include \"gw/ops.h\"\n#include \"gw/dual.h\"\n"), "");
}

TEST(Scan, MalformedSourceIsRefused) {
  EXPECT_EQ(first(std::string("int a\0sm;", 9)), "NUL byte");
  EXPECT_EQ(first("int x;\rasm(\"\");"), "carriage return");
  EXPECT_EQ(first("/* never closed"), "/*");
  EXPECT_EQ(first("const char* s = R\"abc(never closed"), "R\"");
  EXPECT_EQ(first("const char* s = R\"x(a\\\nb)x\";"), "R\"") << "a raw string across a line continuation";
  EXPECT_EQ(first("int x = 1; // fine\r\nint y;\r\n"), "") << "CR LF line ends are fine";
}

TEST(Scan, UniversalCharacterNamesInIdentifiersAreRefused) {
  EXPECT_EQ(first("int \\u0061sm;"), "\\u");
}

// ---- the judge ---------------------------------------------------------------------------

TestStream stream(const std::string& body, const std::string& end = "E T.t pass 10") {
  return parse_stream("S T.t\n" + body + end + "\n", "T.t");
}

TEST(Judge, EqualStreamsMatchAndTheTrustedToleranceDecides) {
  const TestStream ref = stream("O value x 1.0 0.01 0\nO tensor g f64 1 2 0 1e-6 2 1 2\nO count n 3\n");
  EXPECT_TRUE(compare_streams(ref, stream("O value x 1.005 0 0\nO tensor g f64 1 2 0 0 2 1 2\nO count n 3\n")).match);
  // The student's stream claims a huge tolerance: ignored.
  const Comparison c = compare_streams(ref, stream("O value x 1.5 100 100\nO tensor g f64 1 2 0 0 2 1 2\nO count n 3\n"));
  EXPECT_FALSE(c.match);
  EXPECT_NE(c.why.find("\"x\""), std::string::npos) << c.why;
}

TEST(Judge, MissingReorderedOrExtraObservationsDoNotMatch) {
  const TestStream ref = stream("O value a 1 0 0\nO value b 2 0 0\n");
  EXPECT_FALSE(compare_streams(ref, stream("O value a 1 0 0\n")).match);
  EXPECT_FALSE(compare_streams(ref, stream("O value b 2 0 0\nO value a 1 0 0\n")).match);
  EXPECT_FALSE(compare_streams(ref, stream("O value a 1 0 0\nO value b 2 0 0\nO value c 3 0 0\n")).match);
  EXPECT_FALSE(compare_streams(ref, stream("")).match) << "a forged end record without results";
}

TEST(Judge, ShapesDtypesFlagsIndicesAndErrorKindsMustBeExact) {
  EXPECT_FALSE(compare_streams(stream("O tensor g f64 1 2 0 1 2 1 2\n"), stream("O tensor g f32 1 2 0 1 2 1 2\n")).match);
  EXPECT_FALSE(compare_streams(stream("O tensor g f64 1 2 0 1 2 1 2\n"), stream("O tensor g f64 2 1 2 0 1 2 1 2\n")).match);
  EXPECT_FALSE(compare_streams(stream("O flag p 1\n"), stream("O flag p 0\n")).match);
  EXPECT_FALSE(compare_streams(stream("O ints f 1 4\n"), stream("O ints f 2 4 5\n")).match);
  EXPECT_TRUE(compare_streams(stream("O error e gw::ShapeError %\n"), stream("O error e gw::ShapeError other%20words\n")).match);
  EXPECT_FALSE(compare_streams(stream("O error e gw::ShapeError %\n"), stream("O error e none %\n")).match);
}

TEST(Judge, NaNNeverMatchesAndANonFiniteReferenceIsADefect) {
  EXPECT_FALSE(compare_streams(stream("O value x 1 0.1 0\n"), stream("O value x nan 0 0\n")).match);
  EXPECT_NE(trusted_defect(stream("O value x inf 0 0\n")), "");
  EXPECT_NE(trusted_defect(stream("O value x 1 0 0\n", "E T.t fail 10")), "") << "the reference fails its test";
  EXPECT_NE(trusted_defect(stream("O value x 1 0 0\n", "")), "") << "the reference's run did not finish";
  EXPECT_EQ(trusted_defect(stream("O value x 1 0 0\n")), "");
}

TEST(Judge, OnlyTheFirstStartOfTheTestCountsAndNamesAreDecoded) {
  const TestStream s = parse_stream("O value early 1 0 0\nS Other.t\nO value other 1 0 0\nE Other.t pass 1\n"
                                    "S T.t\nO value a%20b 1 0 0\nE T.t pass 5\nS T.t\nO value late 1 0 0\n",
                                    "T.t");
  ASSERT_TRUE(s.started && s.ended);
  ASSERT_EQ(s.observations.size(), 1u);
  EXPECT_EQ(s.observations[0].name, "a b");
  EXPECT_EQ(s.outcome, "pass");
}

}  // namespace
}  // namespace gw::grader
