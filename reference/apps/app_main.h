// app_main.h — the error handling every gw-* program shares: bad input gives one line on
// stderr and a non-zero exit status, never a crash.
#pragma once

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "gw/error.h"

namespace gw::app {

/// Parses the command line into `app`, then returns `body()`, the program's exit status.
/// --help prints and returns 0; a bad flag or a gw::UsageError prints "<name>: error: …" and
/// returns 2; any other error prints the same and returns 1.
template <typename Body>
int run(CLI::App& app, const char* name, int argc, char** argv, Body&& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << name << ": error: " << e.what() << " (see --help)\n";
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
