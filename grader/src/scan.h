// scan.h — the check of a student's lab file before anything compiles it.
//
// A compiler can read files: #include and #embed, the assembler's .incbin (through inline
// assembly), __has_include, #pragma GCC dependency. A header lab's file is compiled together
// with the hidden tests, where __FILE__ and __BASE_FILE__ would name them. So a lab file may
// not contain:
//   * inline assembly (asm, __asm, __asm__), hence no .incbin;
//   * #embed, _Pragma/__pragma, and #pragma other than once, omp, unroll, pack and
//     GCC diagnostic/unroll/ivdep;
//   * __FILE__, __BASE_FILE__, __FILE_NAME__, __builtin_FILE;
//   * token pasting (## or %:%:), which could assemble any of these from pieces;
//   * a computed #include (a macro), or an #include / __has_include of a path that is
//     absolute, goes up (..), names GoogleTest, or is neither a public header of the project,
//     a header of the compiler's system include path, nor a file of the lab;
//   * a line continuation (backslash-newline) outside a preprocessor directive, NUL bytes,
//     lone carriage returns, unterminated comments or literals, or a raw string that spans a
//     line continuation (where the scanner and the compiler could disagree on what is code);
//   * an unknown preprocessor directive.
// The scanner follows the compiler's own tokenization (comments, string, character and raw
// string literals, digraphs, pp-numbers with digit separators), so the words above inside a
// string or a comment are fine. A finding gives the lab 0 points and names the file, the
// line and the token.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace gw::grader {

/// Where an #include may point.
struct IncludePolicy {
  std::vector<std::string> dirs;      ///< folders where a header may be found (public and system)
  std::set<std::string> lab_files;    ///< names of the lab's own files ("dual.h")
  std::set<std::string> forbidden;    ///< absolute paths never allowed (the reference lab files)
};

/// One reason to refuse a file.
struct ScanFinding {
  std::string file;
  int line = 0;
  std::string token;
  std::string why;
  std::string str() const;  ///< "gradcheck.cpp:12: `__asm__`: inline assembly is not allowed"
};

/// Scans one file's text; returns every finding (empty: the file may be compiled).
std::vector<ScanFinding> scan_source(const std::string& file_name, const std::string& text,
                                     const IncludePolicy& policy);

/// The compiler's system include folders (c++ -E -v), cached.
const std::vector<std::string>& system_include_dirs();

}  // namespace gw::grader
