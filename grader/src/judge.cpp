// judge.cpp — parsing observation streams and comparing a student's with the trusted one
// (see judge.h).
#include "judge.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace gw::grader {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool parse_double(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

std::string num(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

std::string quoted(const Observation& o) { return "\"" + o.name + "\""; }

// The numbers of a payload from field `from` on: a count, then that many numbers.
bool numbers_at(const std::vector<std::string>& f, size_t from, std::vector<double>* out) {
  double n = 0;
  if (from >= f.size() || !parse_double(f[from], &n) || n < 0 || f.size() != from + 1 + static_cast<size_t>(n))
    return false;
  out->resize(static_cast<size_t>(n));
  for (size_t i = 0; i < out->size(); ++i)
    if (!parse_double(f[from + 1 + i], &(*out)[i])) return false;
  return true;
}

// Element-wise closeness with the trusted tolerances; fills `why` with the first miss.
bool close_all(const std::vector<double>& mine, const std::vector<double>& ref, double atol, double rtol,
               const std::string& what, std::string* why) {
  if (mine.size() != ref.size()) {
    *why = what + ": " + std::to_string(mine.size()) + " elements, the reference has " + std::to_string(ref.size());
    return false;
  }
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!(std::fabs(mine[i] - ref[i]) <= atol + rtol * std::fabs(ref[i]))) {
      *why = what + (ref.size() > 1 ? ": element " + std::to_string(i) : std::string()) + " is " + num(mine[i]) +
             ", the reference computes " + num(ref[i]) + " (tolerance " + num(atol) +
             (rtol > 0 ? " + " + num(rtol) + "·|reference|" : std::string()) + ")";
      return false;
    }
  }
  return true;
}

bool all_finite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

// Decodes the numbers of a trusted or student observation into (values, atol, rtol, shape).
struct Numbers {
  bool ok = false, undefined = false;
  std::vector<double> v;
  double atol = 0, rtol = 0;
  std::string structure;  // dtype and shape of a tensor
};

Numbers numbers_of(const Observation& o) {
  Numbers n;
  const auto& f = o.fields;
  if (o.kind == "value") {
    double v = 0;
    n.ok = f.size() == 3 && parse_double(f[0], &v) && parse_double(f[1], &n.atol) && parse_double(f[2], &n.rtol);
    n.v = {v};
  } else if (o.kind == "values") {
    n.ok = f.size() >= 3 && parse_double(f[0], &n.atol) && parse_double(f[1], &n.rtol) && numbers_at(f, 2, &n.v);
  } else if (o.kind == "tensor") {
    if (f.size() == 1 && f[0] == "undefined") {
      n.ok = n.undefined = true;
      return n;
    }
    double ndim = 0;
    if (f.size() < 2 || !parse_double(f[1], &ndim) || ndim < 0 || f.size() < 2 + static_cast<size_t>(ndim) + 3) return n;
    const size_t d = static_cast<size_t>(ndim);
    n.structure = f[0] + " (";
    for (size_t i = 0; i < d; ++i) n.structure += (i ? ", " : "") + f[2 + i];
    n.structure += ")";
    n.ok = parse_double(f[2 + d], &n.atol) && parse_double(f[3 + d], &n.rtol) && numbers_at(f, 4 + d, &n.v);
  }
  return n;
}

}  // namespace

std::string decode_word(const std::string& w) {
  if (w == "%") return "";
  std::string out;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == '%' && i + 2 < w.size()) {
      out += static_cast<char>(std::strtol(w.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      out += w[i];
    }
  }
  return out;
}

TestStream parse_stream(const std::string& records, const std::string& test) {
  TestStream s;
  std::istringstream in(records);
  std::string line;
  while (std::getline(in, line)) {
    if (!s.started) {
      if (line == "S " + test) s.started = true;
      continue;
    }
    if (line.rfind("E ", 0) == 0) {
      const std::vector<std::string> w = split(line);
      if (w.size() >= 3 && w[1] == test) {
        s.ended = true;
        s.outcome = w[2];
        if (w.size() >= 4) parse_double(w[3], &s.ns);
        if (w.size() >= 5) parse_double(w[4], &s.cpu_ns);
      }
      break;  // the end of this test, or of some other one: either way the stream stops here
    }
    if (line.rfind("O ", 0) == 0) {
      std::vector<std::string> w = split(line);
      if (w.size() < 3) continue;
      Observation o;
      o.kind = w[1];
      o.name = decode_word(w[2]);
      o.fields.assign(w.begin() + 3, w.end());
      s.observations.push_back(std::move(o));
    }
  }
  return s;
}

std::map<std::string, TestStream> parse_streams(const std::string& records) {
  std::map<std::string, TestStream> out;
  std::istringstream in(records);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("S ", 0) == 0) {
      const std::string test = line.substr(2);
      if (!out.count(test)) out[test] = parse_stream(records, test);
    }
  return out;
}

std::string trusted_defect(const TestStream& t) {
  if (!t.started || !t.ended) return "the reference's run of this test did not finish";
  if (t.outcome == "skip") return "";
  if (t.outcome != "pass") return "the reference fails this test's own assertions";
  for (const Observation& o : t.observations) {
    const Numbers n = numbers_of(o);
    if ((o.kind == "value" || o.kind == "values" || o.kind == "tensor") && !n.ok)
      return "the reference's observation " + quoted(o) + " is malformed";
    if (n.ok && !all_finite(n.v))
      return "the reference computes a NaN or an infinity for " + quoted(o) +
             " (the hidden inputs are ill-conditioned for this seed)";
  }
  return "";
}

Comparison compare_streams(const TestStream& trusted, const TestStream& student) {
  Comparison c;
  const auto& ref = trusted.observations;
  const auto& mine = student.observations;
  for (size_t i = 0; i < ref.size(); ++i) {
    const Observation& r = ref[i];
    if (i >= mine.size()) {
      c.why = "the test stopped after " + std::to_string(i) + " of " + std::to_string(ref.size()) +
              " results; the next one is " + quoted(r);
      return c;
    }
    const Observation& m = mine[i];
    if (m.kind != r.kind || m.name != r.name) {
      c.why = "result " + std::to_string(i + 1) + " is " + quoted(m) + ", where the reference's run has " + quoted(r) +
              " (the test took another path)";
      return c;
    }
    const std::string what = quoted(r);
    if (r.kind == "value" || r.kind == "values" || r.kind == "tensor") {
      const Numbers nr = numbers_of(r), nm = numbers_of(m);
      if (!nm.ok) {
        c.why = what + ": malformed result";
        return c;
      }
      if (nr.undefined || nm.undefined) {
        if (nr.undefined != nm.undefined) {
          c.why = what + (nm.undefined ? ": an undefined tensor" : ": a tensor where the reference has none");
          return c;
        }
        continue;
      }
      if (nr.structure != nm.structure) {
        c.why = what + ": " + nm.structure + ", the reference's is " + nr.structure;
        return c;
      }
      if (!close_all(nm.v, nr.v, nr.atol, nr.rtol, what, &c.why)) return c;
    } else if (r.kind == "error") {
      const std::string rk = r.fields.empty() ? "" : decode_word(r.fields[0]);
      const std::string mk = m.fields.empty() ? "" : decode_word(m.fields[0]);
      if (rk != mk) {
        const std::string msg = m.fields.size() > 1 ? decode_word(m.fields[1]) : "";
        c.why = what + ": " + (mk == "none" ? std::string("no error was thrown") : "threw " + mk + (msg.empty() ? "" : " (" + msg + ")")) +
                ", the reference " + (rk == "none" ? std::string("throws none") : "throws " + rk);
        return c;
      }
    } else if (r.fields != m.fields) {
      std::string mine_s, ref_s;
      for (const auto& f : m.fields) mine_s += (mine_s.empty() ? "" : " ") + decode_word(f);
      for (const auto& f : r.fields) ref_s += (ref_s.empty() ? "" : " ") + decode_word(f);
      if (r.kind == "flag") {
        mine_s = mine_s == "1" ? "true" : "false";
        ref_s = ref_s == "1" ? "true" : "false";
      } else if (r.kind == "ints") {  // drop the count
        mine_s = "{" + mine_s.substr(mine_s.find(' ') == std::string::npos ? mine_s.size() : mine_s.find(' ') + 1) + "}";
        ref_s = "{" + ref_s.substr(ref_s.find(' ') == std::string::npos ? ref_s.size() : ref_s.find(' ') + 1) + "}";
      }
      c.why = what + " is " + mine_s + ", the reference's is " + ref_s;
      return c;
    }
  }
  if (mine.size() > ref.size()) {
    c.why = "the test reported " + std::to_string(mine.size() - ref.size()) + " more results than the reference's run (first: " +
            quoted(mine[ref.size()]) + ")";
    return c;
  }
  c.match = true;
  return c;
}

}  // namespace gw::grader
