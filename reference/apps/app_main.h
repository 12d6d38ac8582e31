// app_main.h — the error handling every gw-* program shares: bad input gives one line on
// stderr and a non-zero exit status, never a crash; CLI11's parse errors are reworded into
// plain sentences ("--lr was given twice", "unknown flag --n-layerz").
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <exception>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gw/error.h"

namespace gw::app {

/// CLI11 check: a finite number in [lo, hi]. (CLI::Range lets "nan" through: every
/// comparison with NaN is false.)
inline CLI::Validator finite_in(double lo, double hi) {
  std::ostringstream range;
  range << "[" << lo << ", " << hi << "]";
  const std::string text = range.str();
  return CLI::Validator(
      [lo, hi, text](std::string& value) -> std::string {
        size_t used = 0;
        double v = NAN;
        try {
          v = std::stod(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != value.size() || !std::isfinite(v) || v < lo || v > hi)
          return value + ": must be a finite number in " + text;
        return "";
      },
      "in " + text);
}

/// CLI11 check: an integer in [lo, hi].
inline CLI::Validator integer_in(long long lo, long long hi) {
  const std::string text = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, text](std::string& value) -> std::string {
        size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != value.size() || value.empty() || v < lo || v > hi)
          return value + ": must be an integer in " + text;
        return "";
      },
      "in " + text);
}

/// A CLI11 parse error as a plain sentence (the raw message when it has no rewording).
inline std::string plain_parse_error(const CLI::ParseError& e, const CLI::App& app) {
  const std::string what = e.what();
  std::smatch m;
  // "--lr: At Most 1 required but received 2"
  if (std::regex_match(what, m, std::regex(R"((\S+): At Most 1 required but received (\d+))"))) {
    const std::string times = m[2] == "2" ? "twice" : m[2].str() + " times";
    return m[1].str() + " was given " + times + "; give it once";
  }
  // "--lr: 1 required FLOAT missing"
  if (std::regex_match(what, m, std::regex(R"((\S+): \d+ required (.*) missing)")))
    return m[1].str() + " needs a value";
  // "--top-k: 7x: must be an integer in [0, 10]" (our validators)
  if (std::regex_match(what, m, std::regex(R"((--\S+): (.*: must be .*))")))
    return m[1].str() + " " + m[2].str();
  // CLI::Range: "--bytes: Value x not in range 1 to 4294967296"
  if (std::regex_match(what, m, std::regex(R"((\S+): Value (.*) not in range (\S+) to (\S+))")))
    return m[1].str() + " " + m[2].str() + ": must be in [" + m[3].str() + ", " + m[4].str() + "]";
  // "Could not convert: --seed = -1"
  if (std::regex_match(what, m, std::regex(R"(Could not convert: (\S+) = (.*))"))) {
    std::string want = "a valid value";
    try {
      const std::string type = app.get_option(m[1].str())->get_type_name();
      if (type == "INT") want = "an integer";
      if (type == "UINT") want = "a non-negative integer";
      if (type == "FLOAT") want = "a number";
    } catch (const CLI::Error&) {
    }
    return m[1].str() + " " + m[2].str() + ": expected " + want;
  }
  // "The following arguments were not expected: 3 --n-layerz" (CLI11 lists them backwards)
  const std::regex extras(R"(The following arguments? (?:was|were) not expected: (.*))");
  if (std::regex_match(what, m, extras)) {
    std::vector<std::string> words, flags, others;
    std::istringstream in(m[1].str());
    for (std::string w; in >> w;) words.insert(words.begin(), w);
    for (const std::string& w : words) (w.rfind("-", 0) == 0 ? flags : others).push_back(w);
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const std::string& w : v) out += (out.empty() ? "" : " ") + w;
      return out;
    };
    if (!flags.empty())
      return std::string("unknown flag") + (flags.size() > 1 ? "s " : " ") + join(flags);
    return std::string("unexpected argument") + (others.size() > 1 ? "s " : " ") + join(others) +
           " (every value follows its flag)";
  }
  return what;
}

/// Parses the command line into `app`, then returns `body()`, the program's exit status.
/// --help prints and returns 0; a bad flag or a gw::UsageError prints "<name>: error: …" and
/// returns 2; any other error prints the same and returns 1.
template <typename Body>
int run(CLI::App& app, const char* name, int argc, char** argv, Body&& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << name << ": error: " << plain_parse_error(e, app) << " (see --help)\n";
    return 2;
  }
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << name << ": error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << name << ": error: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace gw::app
