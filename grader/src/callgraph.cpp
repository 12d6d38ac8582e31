// callgraph.cpp — the call graph of compiled objects (readelf) and the forbidden routes of
// each lab (see callgraph.h).
#include "callgraph.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "gw/error.h"
#include "util.h"

namespace gw::grader {
namespace {

struct Symbol {
  std::string name;       // qualified: "<object>#name" for local symbols
  std::string type, bind;
  int section = -1;       // -1: undefined / absolute
  uint64_t value = 0, size = 0;
};

struct Graph {
  std::unordered_map<std::string, std::unordered_set<std::string>> edges;
  void add(const std::string& from, const std::string& to) {
    if (from != to) edges[from].insert(to);
  }
};

bool is_call(const std::string& type) {
  return type == "R_X86_64_PLT32" || type == "R_AARCH64_CALL26" || type == "R_AARCH64_JUMP26";
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

uint64_t hex(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 16); }

// One object: its sections, symbols and relocations, added to the graph. `strong` gets the
// global non-weak functions it defines, `undefined` what it references from elsewhere.
void read_object(const std::string& object, Graph& g, std::vector<std::string>* strong,
                 std::vector<std::string>* undefined) {
  const CommandResult r = run_command("readelf -W -S -s -r " + shell_quote(object) + " 2>&1");
  GW_CHECK(r.status == 0, "gw-grade: readelf failed on ", object, ": ", r.output.substr(0, 400));
  std::map<int, std::string> section_name;
  std::map<std::string, int> section_index;
  std::vector<Symbol> symbols;
  std::map<std::string, const Symbol*> by_raw;  // raw name -> symbol (this object)
  enum { kNone, kSections, kSymbols, kRelocs } mode = kNone;
  std::string reloc_section;
  std::istringstream in(r.output);
  std::string line;
  struct Reloc {
    std::string section, type, target;
    uint64_t offset = 0;
    int64_t addend = 0;
  };
  std::vector<Reloc> relocs;
  while (std::getline(in, line)) {
    if (line.rfind("Section Headers:", 0) == 0) { mode = kSections; continue; }
    if (line.rfind("Symbol table", 0) == 0) { mode = kSymbols; continue; }
    if (line.rfind("Relocation section '", 0) == 0) {
      mode = kRelocs;
      const size_t q = line.find('\'', 20);
      reloc_section = line.substr(20, q - 20);
      continue;
    }
    if (line.rfind("Key to Flags", 0) == 0) { mode = kNone; continue; }
    if (mode == kSections) {
      const size_t open = line.find('['), close = line.find(']');
      if (open == std::string::npos || close == std::string::npos) continue;
      const int index = std::atoi(line.substr(open + 1, close - open - 1).c_str());
      const std::vector<std::string> w = words(line.substr(close + 1));
      if (index == 0 || w.size() < 2) continue;
      section_name[index] = w[0];
      section_index[w[0]] = index;
    } else if (mode == kSymbols) {
      const std::vector<std::string> w = words(line);
      if (w.size() < 8 || w[0].back() != ':') continue;
      Symbol s;
      s.value = hex(w[1]);
      s.size = std::strtoull(w[2].c_str(), nullptr, 0);
      s.type = w[3];
      s.bind = w[4];
      s.section = (w[6] == "UND" || w[6] == "ABS" || w[6] == "COM") ? -1 : std::atoi(w[6].c_str());
      s.name = w[7];
      if (s.type == "SECTION" || s.type == "FILE") continue;
      const std::string raw = s.name;
      if (s.bind == "LOCAL") s.name = object + "#" + raw;
      symbols.push_back(s);
    } else if (mode == kRelocs) {
      const std::vector<std::string> w = words(line);
      if (w.size() < 5 || w[0].find_first_not_of("0123456789abcdef") != std::string::npos) continue;
      Reloc rel;
      rel.section = reloc_section;
      rel.offset = hex(w[0]);
      rel.type = w[2];
      rel.target = w[4];
      if (w.size() >= 7) rel.addend = (w[5] == "-" ? -1 : 1) * static_cast<int64_t>(hex(w[6]));
      relocs.push_back(rel);
    }
  }
  for (const Symbol& s : symbols) {
    const std::string raw = s.bind == "LOCAL" ? s.name.substr(s.name.find('#') + 1) : s.name;
    by_raw[raw] = &s;
    if (s.section < 0 && s.bind != "LOCAL" && undefined) undefined->push_back(s.name);
    if (s.section >= 0 && s.type == "FUNC" && s.bind == "GLOBAL" && strong) strong->push_back(s.name);
  }
  // The symbol of `section` whose extent holds `offset` (functions and objects).
  auto holder = [&](int section, uint64_t offset, bool functions_only) -> std::vector<const Symbol*> {
    std::vector<const Symbol*> in_section, holding;
    for (const Symbol& s : symbols) {
      if (s.section != section || (s.type != "FUNC" && (functions_only || s.type != "OBJECT"))) continue;
      in_section.push_back(&s);
      if (offset >= s.value && offset < s.value + std::max<uint64_t>(s.size, 1)) holding.push_back(&s);
    }
    return holding.empty() ? in_section : holding;
  };
  for (const Reloc& rel : relocs) {
    // ".rela.text.foo" applies to ".text.foo"
    std::string target_section = rel.section;
    if (target_section.rfind(".rela", 0) == 0) target_section = target_section.substr(5);
    else if (target_section.rfind(".rel", 0) == 0) target_section = target_section.substr(4);
    auto si = section_index.find(target_section);
    if (si == section_index.end()) continue;
    const bool code = target_section.rfind(".text", 0) == 0;
    const bool vtable = target_section.find("._ZTV") != std::string::npos;
    if (!code && !vtable) continue;
    const std::vector<const Symbol*> sources = holder(si->second, rel.offset, false);
    if (sources.empty()) continue;
    // The target: a symbol by name, or a place in a section (section symbols).
    std::vector<std::string> targets;
    bool target_local_or_weak_func = false, target_is_vtable = false;
    auto bs = by_raw.find(rel.target);
    if (bs != by_raw.end()) {
      targets.push_back(bs->second->name);
      target_local_or_weak_func = bs->second->type == "FUNC" && bs->second->section >= 0 &&
                                  (bs->second->bind == "LOCAL" || bs->second->bind == "WEAK");
    } else if (section_index.count(rel.target)) {
      const int64_t at = rel.addend + (rel.type == "R_X86_64_PC32" || rel.type == "R_X86_64_PLT32" ? 4 : 0);
      for (const Symbol* s : holder(section_index[rel.target], static_cast<uint64_t>(std::max<int64_t>(at, 0)), true)) {
        targets.push_back(s->name);
        target_local_or_weak_func = true;
      }
    } else {
      targets.push_back(rel.target);
    }
    for (const std::string& t : targets) target_is_vtable = target_is_vtable || t.rfind("_ZTV", 0) == 0;
    const bool follow = vtable || is_call(rel.type) || target_local_or_weak_func || target_is_vtable;
    if (!follow) continue;
    for (const Symbol* s : sources)
      for (const std::string& t : targets) g.add(s->name, t);
  }
}

}  // namespace

std::vector<std::string> undefined_symbols(const std::string& object) {
  Graph g;
  std::vector<std::string> und;
  read_object(object, g, nullptr, &und);
  return und;
}

std::vector<std::string> demangle(const std::vector<std::string>& symbols) {
  if (symbols.empty()) return {};
  std::string input;
  for (const auto& s : symbols) input += s + "\n";
  const std::string tmp = make_temp_dir("gw-demangle-");
  write_text(tmp + "/in", input);
  const CommandResult r = run_command("c++filt < " + shell_quote(tmp + "/in"));
  remove_all(tmp);
  std::vector<std::string> out;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  if (r.status != 0 || out.size() != symbols.size()) return symbols;
  return out;
}

std::map<std::string, Routes> derive_routes(const CallGraphInput& input) {
  Graph g;
  for (const std::string& o : input.framework_objects) read_object(o, g, nullptr, nullptr);
  std::map<std::string, std::set<std::string>> solutions;       // lab -> its strong functions
  std::map<std::string, std::vector<std::string>> lab_refs;     // lab -> what its reference references
  std::map<std::string, std::string> owner;                     // solution symbol -> words
  for (const auto& [lab, objects] : input.lab_objects)
    for (const std::string& o : objects) {
      std::vector<std::string> strong, und;
      read_object(o, g, &strong, &und);
      for (const std::string& s : strong) {
        solutions[lab].insert(s);
        auto f = input.object_file.find(o);
        owner[s] = "lab " + lab + "'s solution" + (f == input.object_file.end() ? "" : " (" + f->second + ")");
      }
      lab_refs[lab].insert(lab_refs[lab].end(), und.begin(), und.end());
    }
  std::unordered_map<std::string, std::unordered_set<std::string>> reverse;
  for (const auto& [from, tos] : g.edges)
    for (const std::string& to : tos) reverse[to].insert(from);
  std::map<std::string, Routes> out;
  for (const auto& [lab, own] : solutions) {
    // What the reference of this lab reaches (not through its own functions): allowed.
    std::unordered_set<std::string> reached;
    std::deque<std::string> queue(lab_refs[lab].begin(), lab_refs[lab].end());
    while (!queue.empty()) {
      const std::string s = queue.front();
      queue.pop_front();
      if (own.count(s) || !reached.insert(s).second) continue;
      auto e = g.edges.find(s);
      if (e != g.edges.end())
        for (const std::string& t : e->second) queue.push_back(t);
    }
    Routes routes;
    std::deque<std::string> back;
    for (const auto& [other, syms] : solutions) {
      if (other == lab) continue;
      for (const std::string& s : syms)
        if (!reached.count(s)) {
          routes.next[s] = "";
          routes.owner[s] = owner[s];
          back.push_back(s);
        }
    }
    // Every symbol from which a forbidden solution is reachable, by calls, not through this
    // lab's own functions (the student's code stands there).
    while (!back.empty()) {
      const std::string s = back.front();
      back.pop_front();
      auto r = reverse.find(s);
      if (r == reverse.end()) continue;
      for (const std::string& caller : r->second) {
        if (own.count(caller) || routes.next.count(caller)) continue;
        routes.next[caller] = s;
        back.push_back(caller);
      }
    }
    out[lab] = routes;
  }
  return out;
}

std::string forbidden_route(const Routes& routes, const std::vector<std::string>& symbols) {
  for (const std::string& s : symbols) {
    if (!routes.next.count(s)) continue;
    std::vector<std::string> path = {s};
    std::set<std::string> seen = {s};
    while (true) {
      const std::string& next = routes.next.at(path.back());
      if (next.empty() || seen.count(next)) break;
      path.push_back(next);
      seen.insert(next);
    }
    std::vector<std::string> shown;
    for (const std::string& p : path) shown.push_back(p.substr(p.find('#') == std::string::npos ? 0 : p.find('#') + 1));
    shown = demangle(shown);
    std::string words = "calls " + shown[0];
    for (size_t i = 1; i < shown.size(); ++i) words += ", which calls " + shown[i];
    auto o = routes.owner.find(path.back());
    words += ": " + (o == routes.owner.end() ? std::string("another lab's solution") : o->second);
    return words;
  }
  return "";
}

}  // namespace gw::grader
