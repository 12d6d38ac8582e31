// scan.cpp — the pre-compile check of lab files (see scan.h): the compiler's tokenization
// (translation phases 1-3) closely enough to find every identifier and directive.
#include "scan.h"

#include <sys/stat.h>

#include <cctype>
#include <sstream>

#include "util.h"

namespace gw::grader {
namespace {

bool ident_start(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool ident_char(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

class Scanner {
 public:
  Scanner(const std::string& file, const std::string& raw, const IncludePolicy& policy)
      : file_(file), policy_(policy) {
    splice(raw);
  }

  std::vector<ScanFinding> run() {
    if (!findings_.empty()) return findings_;
    size_t& i = i_;
    const size_t n = t_.size();
    bool line_start = true;
    while (i < n) {
      const char c = t_[i];
      if (c == '\n') {
        line_start = true;
        in_directive_ = false;
        ++i;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\f' || c == '\v') {
        ++i;
        continue;
      }
      if (c == '/' && at(i + 1) == '*') {
        // A comment that holds a new-line is white space holding a new-line: a '#' after it
        // starts a directive (outside one; inside, the directive goes on).
        const size_t end = t_.find("*/", i + 2);
        const bool newline = t_.find('\n', i) < (end == std::string::npos ? t_.size() : end);
        skip_comment();
        if (newline && !in_directive_) line_start = true;
        continue;
      }
      if (skip_comment()) continue;
      const bool hash = c == '#' || (c == '%' && at(i + 1) == ':');
      if (hash && !pasting(i)) {
        const size_t after = i + (c == '#' ? 1 : 2);
        // Where the compiler might see a directive the scanner checks one: at the start of a
        // line, and, to be safe, any '#' followed by a name that reads files.
        size_t j = after;
        while (j < n && (t_[j] == ' ' || t_[j] == '\t')) ++j;
        size_t k = j;
        while (k < n && ident_char(static_cast<unsigned char>(t_[k]))) ++k;
        static const std::set<std::string> risky = {"include", "include_next", "import", "embed", "pragma"};
        if (line_start || risky.count(t_.substr(j, k - j))) {
          const bool real = line_start;
          line_start = false;
          i = after;
          directive(real);
          continue;
        }
      }
      line_start = false;
      if (pasting(i)) {
        find(i, c == '#' ? "##" : "%:%:", "token pasting could assemble a forbidden word from pieces");
        i += c == '#' ? 2 : 4;
        continue;
      }
      if (ident_start(static_cast<unsigned char>(c)) || c == '\\') {
        identifier();
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && std::isdigit(static_cast<unsigned char>(at(i + 1))))) {
        number();
        continue;
      }
      if (c == '"') {
        string_literal(false);
        continue;
      }
      if (c == '\'') {
        char_literal();
        continue;
      }
      ++i;
    }
    return findings_;
  }

 private:
  // Phase 1-2: CR LF to LF (a lone CR is refused), NUL refused, backslash-newline joined
  // (GCC also joins a backslash followed by blanks and a newline). line_ maps each kept
  // character to its line; spliced_ marks the places where a line was joined.
  void splice(const std::string& raw) {
    int line = 1;
    for (size_t k = 0; k < raw.size(); ++k) {
      char c = raw[k];
      if (c == '\0') {
        find_line(line, "NUL byte", "a NUL byte in a source file (the compiler ignores it, so words could hide around it)");
        continue;
      }
      if (c == '\r') {
        if (k + 1 < raw.size() && raw[k + 1] == '\n') continue;
        find_line(line, "carriage return", "a carriage return that does not end a line");
        continue;
      }
      if (c == '\\') {
        size_t j = k + 1;
        while (j < raw.size() && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\r')) ++j;
        if (j < raw.size() && raw[j] == '\n') {
          spliced_.push_back(t_.size());
          k = j;
          ++line;
          continue;
        }
      }
      t_ += c;
      line_.push_back(line);
      if (c == '\n') ++line;
    }
  }

  char at(size_t k) const { return k < t_.size() ? t_[k] : '\0'; }
  int line_at(size_t k) const { return line_.empty() ? 1 : line_[std::min(k, line_.size() - 1)]; }

  void find_line(int line, const std::string& token, const std::string& why) {
    findings_.push_back({file_, line, token, why});
  }
  void find(size_t pos, const std::string& token, const std::string& why) { find_line(line_at(pos), token, why); }

  bool pasting(size_t k) const {
    return (t_[k] == '#' && at(k + 1) == '#') || t_.compare(k, 4, "%:%:") == 0;
  }

  // Skips a comment at i_; false when there is none.
  bool skip_comment() {
    if (t_[i_] != '/') return false;
    if (at(i_ + 1) == '/') {
      while (i_ < t_.size() && t_[i_] != '\n') ++i_;
      return true;
    }
    if (at(i_ + 1) == '*') {
      const size_t end = t_.find("*/", i_ + 2);
      if (end == std::string::npos) {
        find(i_, "/*", "an unterminated comment");
        i_ = t_.size();
        return true;
      }
      i_ = end + 2;
      return true;
    }
    return false;
  }

  void skip_blanks() {
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == ' ' || c == '\t' || c == '\f' || c == '\v') ++i_;
      else if (!(c == '/' && (at(i_ + 1) == '*')) || !skip_comment()) break;
    }
  }

  std::string read_identifier() {
    std::string id;
    while (i_ < t_.size()) {
      const unsigned char c = static_cast<unsigned char>(t_[i_]);
      if (c == '\\' && (at(i_ + 1) == 'u' || at(i_ + 1) == 'U')) {
        find(i_, "\\" + std::string(1, at(i_ + 1)), "a universal character name in an identifier");
        i_ += 2;
        continue;
      }
      if (!ident_char(c)) break;
      id += static_cast<char>(c);
      ++i_;
    }
    return id;
  }

  void identifier() {
    const size_t start = i_;
    if (t_[i_] == '\\') {
      if (at(i_ + 1) == 'u' || at(i_ + 1) == 'U') find(i_, "\\" + std::string(1, at(i_ + 1)), "a universal character name outside a literal");
      i_ += 2;
      return;
    }
    const std::string id = read_identifier();
    static const std::set<std::string> string_prefixes = {"u8", "u", "U", "L", "R", "u8R", "uR", "UR", "LR"};
    if (at(i_) == '"' && string_prefixes.count(id)) {
      string_literal(id.back() == 'R');
      return;
    }
    if (at(i_) == '\'' && (id == "u8" || id == "u" || id == "U" || id == "L")) {
      char_literal();
      return;
    }
    check_identifier(id, start);
  }

  void check_identifier(const std::string& id, size_t pos) {
    if (id == "asm" || id == "__asm" || id == "__asm__")
      find(pos, id, "inline assembly is not allowed in lab files (it could .incbin any file)");
    else if (id == "__FILE__" || id == "__BASE_FILE__" || id == "__FILE_NAME__" || id == "__builtin_FILE")
      find(pos, id, "the name of the file being compiled is not for lab files (a header is compiled with the hidden tests)");
    else if (id == "_Pragma" || id == "__pragma")
      find(pos, id, "a pragma hidden in an operator is not allowed");
    else if (id == "__has_embed")
      find(pos, id, "#embed is not allowed");
    else if (id == "__has_include" || id == "__has_include_next") {
      skip_blanks();
      if (at(i_) != '(') {
        find(pos, id, "a computed " + id + " is not allowed");
        return;
      }
      ++i_;
      skip_blanks();
      header_name(id, pos);
    }
  }

  // A header name ("x" or <x>) at i_; checked against the policy.
  void header_name(const std::string& what, size_t pos) {
    const char open = at(i_);
    if (open != '"' && open != '<') {
      find(pos, what, "a computed " + what + " (a macro instead of \"file\" or <file>) is not allowed");
      return;
    }
    const char close = open == '"' ? '"' : '>';
    const size_t end = t_.find_first_of(std::string(1, close) + "\n", i_ + 1);
    if (end == std::string::npos || t_[end] != close) {
      find(pos, what, "an unterminated header name");
      i_ = end == std::string::npos ? t_.size() : end;
      return;
    }
    const std::string path = t_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    check_path(what, path, open == '"', pos);
  }

  void check_path(const std::string& what, const std::string& path, bool quoted, size_t pos) {
    const std::string shown = what + (quoted ? " \"" + path + "\"" : " <" + path + ">");
    bool chars_ok = !path.empty() && path[0] != '/';
    for (char c : path)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '+' || c == '-'))
        chars_ok = false;
    if (!chars_ok || path.find("..") != std::string::npos || path.find("//") != std::string::npos) {
      find(pos, shown, "an include path must be relative, without '..', made of letters, digits and _ . / + -");
      return;
    }
    if (path.rfind("gtest/", 0) == 0 || path.rfind("gmock/", 0) == 0) {
      find(pos, shown, "GoogleTest is for tests, not for lab files");
      return;
    }
    if (quoted && policy_.lab_files.count(path)) return;
    for (const std::string& dir : policy_.dirs) {
      const std::string full = dir + "/" + path;
      if (!is_file(full)) continue;
      if (policy_.forbidden.count(absolute(full))) {
        find(pos, shown, "that file is a reference solution");
        return;
      }
      return;
    }
    find(pos, shown, "not on the allowlist: a header of the project (reference/include), of the C++ or C "
                     "library, or a file of your lab");
  }

  void directive(bool at_line_start) {
    skip_blanks();
    const size_t pos = i_;
    const std::string name = ident_start(static_cast<unsigned char>(at(i_))) ? read_identifier() : "";
    in_directive_ = true;
    if (name.empty()) return;  // the null directive, or "# 1" (a line marker)
    if (name == "include" || name == "include_next" || name == "import") {
      skip_blanks();
      header_name("#" + name, pos);
      return;
    }
    if (name == "embed") {
      find(pos, "#embed", "#embed reads a file into the program; it is not allowed");
      skip_line();
      return;
    }
    if (name == "pragma") {
      const size_t line_end = std::min(t_.find('\n', i_), t_.size());
      std::istringstream words(t_.substr(i_, line_end - i_));
      std::string p1, p2;
      words >> p1 >> p2;
      static const std::set<std::string> ok1 = {"once", "omp", "unroll", "pack"};
      static const std::set<std::string> ok_gcc = {"diagnostic", "unroll", "ivdep"};
      if (!(ok1.count(p1) || (p1 == "GCC" && ok_gcc.count(p2))))
        find(pos, "#pragma " + p1 + (p2.empty() ? "" : " " + p2),
             "only #pragma once, omp, unroll, pack and GCC diagnostic/unroll/ivdep are allowed");
      return;  // the rest of the line is tokenized as usual
    }
    if (name == "error" || name == "warning") {
      skip_line();  // free text
      return;
    }
    static const std::set<std::string> ok = {"define", "undef",  "if",    "ifdef",   "ifndef",  "elif",
                                             "else",   "endif", "line",  "elifdef", "elifndef"};
    if (at_line_start && !ok.count(name)) find(pos, "#" + name, "an unknown preprocessor directive");
  }

  void skip_line() {
    while (i_ < t_.size() && t_[i_] != '\n') ++i_;
  }

  void number() {
    ++i_;
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') {
        ++i_;
      } else if ((c == '+' || c == '-') && std::string("eEpP").find(t_[i_ - 1]) != std::string::npos) {
        ++i_;
      } else if (c == '\'' && (std::isalnum(static_cast<unsigned char>(at(i_ + 1))) || at(i_ + 1) == '_')) {
        i_ += 2;
      } else {
        break;
      }
    }
  }

  void string_literal(bool raw) {
    const size_t start = i_;
    if (raw) {
      const size_t open = t_.find('(', i_ + 1);
      const std::string delim = open == std::string::npos ? "" : t_.substr(i_ + 1, open - i_ - 1);
      bool ok = open != std::string::npos && delim.size() <= 16;
      for (char c : delim)
        if (c == ' ' || c == ')' || c == '\\' || c == '\n' || c == '\t' || c == '\v' || c == '\f') ok = false;
      if (!ok) {
        find(start, "R\"", "a malformed raw string literal");
        i_ = t_.size();
        return;
      }
      const size_t end = t_.find(")" + delim + "\"", open + 1);
      if (end == std::string::npos) {
        find(start, "R\"", "an unterminated raw string literal");
        i_ = t_.size();
        return;
      }
      const size_t stop = end + delim.size() + 2;
      for (size_t s : spliced_)
        if (s > start && s < stop) {
          find(start, "R\"", "a line continuation inside a raw string literal");
          break;
        }
      i_ = stop;
      return;
    }
    size_t j = i_ + 1;
    while (j < t_.size() && t_[j] != '"') {
      if (t_[j] == '\n') {
        find(start, "\"", "an unterminated string literal");
        i_ = j;
        return;
      }
      j += t_[j] == '\\' ? 2 : 1;
    }
    i_ = std::min(j + 1, t_.size());
  }

  void char_literal() {
    const size_t start = i_;
    size_t j = i_ + 1;
    while (j < t_.size() && t_[j] != '\'') {
      if (t_[j] == '\n') {
        find(start, "'", "an unterminated character literal");
        i_ = j;
        return;
      }
      j += t_[j] == '\\' ? 2 : 1;
    }
    i_ = std::min(j + 1, t_.size());
  }

  std::string file_;
  const IncludePolicy& policy_;
  std::string t_;
  std::vector<int> line_;
  std::vector<size_t> spliced_;
  std::vector<ScanFinding> findings_;
  size_t i_ = 0;
  bool in_directive_ = false;
};

}  // namespace

std::string ScanFinding::str() const {
  return file + ":" + std::to_string(line) + ": `" + token + "`: " + why;
}

std::vector<ScanFinding> scan_source(const std::string& file_name, const std::string& text,
                                     const IncludePolicy& policy) {
  return Scanner(file_name, text, policy).run();
}

const std::vector<std::string>& system_include_dirs() {
  static const std::vector<std::string> dirs = [] {
    std::vector<std::string> out;
    const CommandResult r = run_command("c++ -xc++ -E -v - </dev/null 2>&1");
    std::istringstream in(r.output);
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
      if (line.rfind("#include <...> search starts here:", 0) == 0) inside = true;
      else if (line.rfind("End of search list.", 0) == 0) inside = false;
      else if (inside && !line.empty()) out.push_back(absolute(line.substr(line.find_first_not_of(' '))));
    }
    return out;
  }();
  return dirs;
}

}  // namespace gw::grader
