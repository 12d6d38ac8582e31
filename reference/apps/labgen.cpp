// labgen.cpp — gw-labgen: makes the students' copies of the lab files from the reference.
//
// Each lab file of the reference (listed in labs/labs.json) is complete, with the student's
// part between a `// BEGIN LAB NN: <what to write>` line and a `// END LAB NN` line. The
// student copy (<lab dir>/<basename>) is the same file with each region of that lab replaced
// by one `GW_TODO("lab NN: <what to write>", p...);` line, which throws gw::NotImplemented;
// p... are the parameters of the enclosing function, so that an untouched stub compiles
// without "unused parameter" warnings. A region whose BEGIN line starts in column 0 lies
// outside any function (CUDA kernels: device code cannot throw); it becomes a
// `// TODO(lab NN): <what to write>` comment, and the function that launches what it held has
// a region of its own, which throws. Regions of another lab are copied as they are.
//
//   gw-labgen [--root REPO] generate [--lab NN]   write the student copies
//   gw-labgen [--root REPO] check    [--lab NN]   exit 1 when a copy differs (the drift test)
//   gw-labgen [--root REPO] list                  print "NN reference -> student" per file
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "app_main.h"
#include "gw/error.h"

namespace gw {
namespace {

/// One lab file: which lab owns it and where its two versions live (repository-relative), as
/// labs/labs.json pairs them ("files" and "student_files").
struct LabFile {
  std::string lab;        // "03"
  std::string reference;  // reference/autodiff/backprop.cpp
  std::string student;    // labs/03-reverse-mode/backprop.cpp
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  GW_CHECK_AS(IoError, in.good(), "cannot read ", path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

/// The lab files of the manifest, optionally only those of lab `only`.
std::vector<LabFile> read_manifest(const std::string& root, const std::string& only) {
  const std::string path = root + "/labs/labs.json";
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + " is not valid JSON: " + e.what());
  }
  GW_CHECK_AS(IoError, manifest.contains("labs") && manifest["labs"].is_array(),
              path, " has no \"labs\" array");
  std::vector<LabFile> files;
  bool found = only.empty();
  for (const auto& lab : manifest["labs"]) {
    GW_CHECK_AS(IoError, lab.contains("id") && lab.contains("files") && lab.contains("student_files"),
                "every lab of ", path, " needs \"id\", \"files\" and \"student_files\"");
    const std::string id = lab["id"].get<std::string>();
    GW_CHECK_AS(IoError, lab["files"].size() == lab["student_files"].size(), path, ": lab ", id,
                " lists ", lab["files"].size(), " files but ", lab["student_files"].size(),
                " student_files; they pair up in order");
    if (!only.empty() && id != only) continue;
    found = true;
    for (size_t i = 0; i < lab["files"].size(); ++i)
      files.push_back({id, lab["files"][i].get<std::string>(),
                       lab["student_files"][i].get<std::string>()});
  }
  GW_CHECK_AS(UsageError, found, "no lab \"", only, "\" in ", path);
  return files;
}

/// Escapes a string for a C++ string literal.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

/// The text from `from` to the end of `lines`, joined with spaces, without // comments.
std::string joined_code(const std::vector<std::string>& lines, size_t from, size_t to) {
  std::string text;
  for (size_t i = from; i < to; ++i) {
    const std::string& line = lines[i];
    text += line.substr(0, line.find("//")) + ' ';
  }
  return text;
}

/// The parameter names of the function whose body holds line `at`: its signature starts on
/// the nearest line before `at` that begins in column 0 with a name (the project's layout),
/// and its parameter list is the first parenthesized list there. Unnamed parameters
/// (`Node&`, `Node& /*y*/`) are left out; an empty list when none is found.
std::vector<std::string> enclosing_parameters(const std::vector<std::string>& lines, size_t at) {
  size_t start = at;
  while (start-- > 0) {
    const std::string& l = lines[start];
    if (l.empty() || !(std::isalpha(static_cast<unsigned char>(l[0])) || l[0] == '_')) continue;
    if (l.rfind("namespace", 0) == 0 || l.rfind("using", 0) == 0 || l.rfind("template", 0) == 0)
      continue;
    break;
  }
  if (start >= at) return {};
  std::string code = joined_code(lines, start, at);
  code = std::regex_replace(code, std::regex(R"(/\*.*?\*/)"), " ");
  const size_t open = code.find('(');
  if (open == std::string::npos) return {};
  std::vector<std::string> params;
  std::string current;
  int depth = 0;
  for (size_t i = open + 1; i < code.size(); ++i) {
    const char c = code[i];
    if (depth == 0 && (c == ',' || c == ')')) {
      params.push_back(current);
      current.clear();
      if (c == ')') break;
      continue;
    }
    if (c == '(' || c == '<' || c == '{') ++depth;
    if (c == ')' || c == '>' || c == '}') --depth;
    current += c;
  }
  static const std::regex named(R"(^(.*[^:\s])\s*\b([A-Za-z_][A-Za-z0-9_]*)\s*$)");
  std::vector<std::string> names;
  for (std::string p : params) {
    p = p.substr(0, p.find('='));  // a default value
    std::smatch m;
    if (std::regex_match(p, m, named) && m[1].str().find_first_not_of(" \t") != std::string::npos)
      names.push_back(m[2].str());
  }
  return names;
}

/// The student copy of `text` (the contents of file.reference): lab file.lab's regions become
/// GW_TODO lines. Throws gw::Error naming the file and line on unbalanced markers, or when
/// the file has no region of its lab.
std::string make_student_copy(const LabFile& file, const std::string& text) {
  static const std::regex begin_re(R"(^(\s*)//\s*BEGIN LAB (\d\d)\b:?\s*(.*?)\s*$)");
  static const std::regex end_re(R"(^\s*//\s*END LAB (\d\d)\b.*$)");
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  std::ostringstream out;
  out << "// Lab " << file.lab << ": your copy of this file. Replace each GW_TODO(\"lab "
      << file.lab << ": ...\") line with your\n"
      << "// code and leave the rest as it is; the build and the grader take this file as it"
      << " stands.\n";
  const std::string outside = "// BEGIN LAB " + file.lab;  // a region outside any function
  for (const std::string& line : lines)
    if (line.rfind(outside, 0) == 0) {
      out << "// Each \"// TODO(lab " << file.lab
          << ")\" comment marks code you write outside any function (kernels).\n";
      break;
    }
  int regions = 0;
  size_t open_line = 0;
  std::string open_lab;  // lab number of the region being copied or skipped; "" outside
  std::smatch m;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t line_no = i + 1;
    if (std::regex_match(line, m, begin_re)) {
      GW_CHECK(open_lab.empty(), file.reference, ":", line_no, ": BEGIN LAB ",
               m[2].str(), " inside the region of lab ", open_lab, " opened on line ", open_line);
      open_lab = m[2].str();
      open_line = line_no;
      if (open_lab == file.lab) {
        ++regions;
        std::string todo = m[3].str();
        if (todo.empty()) todo = "write this part (see the handout)";
        if (m[1].str().empty()) {  // outside any function: a comment, nothing to run
          out << "// TODO(lab " << file.lab << "): " << todo << "\n";
          continue;
        }
        out << m[1].str() << "GW_TODO(\"lab " << file.lab << ": " << escape(todo) << "\"";
        for (const std::string& name : enclosing_parameters(lines, i)) out << ", " << name;
        out << ");\n";
        continue;
      }
    } else if (std::regex_match(line, m, end_re)) {
      GW_CHECK(!open_lab.empty(), file.reference, ":", line_no, ": END LAB ",
               m[1].str(), " without a BEGIN LAB");
      GW_CHECK(m[1].str() == open_lab, file.reference, ":", line_no,
               ": END LAB ", m[1].str(), " closes the region of lab ", open_lab, " opened on line ",
               open_line);
      const bool own = open_lab == file.lab;
      open_lab.clear();
      if (own) continue;
    } else if (open_lab == file.lab) {
      continue;  // the solution: not in the student copy
    }
    out << line << '\n';
  }
  GW_CHECK(open_lab.empty(), file.reference, ":", open_line, ": BEGIN LAB ",
           open_lab, " is never closed by END LAB ", open_lab);
  GW_CHECK(regions > 0, file.reference, " is listed for lab ", file.lab,
           " in labs/labs.json but has no \"// BEGIN LAB ", file.lab, "\" region");
  return out.str();
}

int generate(const std::string& root, const std::vector<LabFile>& files) {
  // Every copy is made before any is written, so a marker error leaves labs/ untouched.
  std::vector<std::string> copies;
  for (const LabFile& file : files)
    copies.push_back(make_student_copy(file, read_text(root + "/" + file.reference)));
  for (size_t i = 0; i < files.size(); ++i) {
    const LabFile& file = files[i];
    const std::string& copy = copies[i];
    const std::string path = root + "/" + file.student;
    std::ifstream existing(path, std::ios::binary);
    if (existing.good() && read_text(path) == copy) continue;  // keep timestamps: no rebuild
    std::ofstream out(path, std::ios::binary);
    GW_CHECK_AS(IoError, out.good(), "cannot write ", path,
                " (does the lab folder exist?)");
    out << copy;
    std::cout << "wrote " << file.student << " (from " << file.reference << ")\n";
  }
  return 0;
}

int check(const std::string& root, const std::vector<LabFile>& files) {
  int stale = 0;
  for (const LabFile& file : files) {
    const std::string copy = make_student_copy(file, read_text(root + "/" + file.reference));
    const std::string path = root + "/" + file.student;
    std::ifstream existing(path, std::ios::binary);
    if (!existing.good()) {
      std::cerr << "gw-labgen: " << file.student << " is missing; run gw-labgen generate\n";
      ++stale;
    } else if (read_text(path) != copy) {
      std::cerr << "gw-labgen: " << file.student << " differs from what " << file.reference
                << " generates; run gw-labgen generate\n";
      ++stale;
    }
  }
  if (stale == 0) std::cout << "gw-labgen: " << files.size() << " student copies up to date\n";
  return stale == 0 ? 0 : 1;
}

}  // namespace
}  // namespace gw

int main(int argc, char** argv) {
  CLI::App app{"gw-labgen: makes and checks the students' copies of the lab files"};
  std::string root = GW_SOURCE_DIR;
  std::string lab;
  app.add_option("--root", root, "repository root (holds labs/labs.json)");
  app.require_subcommand(1);
  CLI::App* gen = app.add_subcommand("generate", "write every student copy <lab dir>/<file>");
  CLI::App* chk = app.add_subcommand("check", "exit 1 when a student copy is stale (drift)");
  CLI::App* lst = app.add_subcommand("list", "print each lab file and its student copy");
  for (CLI::App* sub : {gen, chk}) sub->add_option("--lab", lab, "only this lab (e.g. 03)");
  return gw::app::run(app, "gw-labgen", argc, argv, [&] {
    const std::vector<gw::LabFile> files = gw::read_manifest(root, lab);
    if (lst->parsed()) {
      for (const gw::LabFile& f : files)
        std::cout << f.lab << ' ' << f.reference << " -> " << f.student << '\n';
      return 0;
    }
    return gen->parsed() ? gw::generate(root, files) : gw::check(root, files);
  });
}
