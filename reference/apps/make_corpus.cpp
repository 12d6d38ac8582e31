// make_corpus.cpp — program gw-make_corpus: writes a synthetic corpus (arithmetic or grammar)
// to a file, so the trainer and its smoke tests can run on text the project makes itself.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "app_main.h"
#include "gw/data.h"
#include "gw/error.h"

int main(int argc, char** argv) {
  CLI::App app{"gw-make_corpus: writes a synthetic text corpus (see datasets/README.md)"};
  std::string kind = "grammar", out;
  int64_t bytes = 1 << 20;
  uint64_t seed = 1;
  app.add_option("--kind", kind, "arithmetic (lines a+b=c) or grammar (tiny probabilistic grammar)")
      ->check(CLI::IsMember({"arithmetic", "grammar"}));
  app.add_option("--bytes", bytes, "size of the corpus in bytes")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 32));
  app.add_option("--seed", seed, "random seed");
  app.add_option("--out", out, "output file")->required();
  return gw::app::run(app, "gw-make_corpus", argc, argv, [&] {
    const std::string text = gw::synthetic_corpus(kind, bytes, seed);
    const std::string tmp = out + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary);
      GW_CHECK_AS(gw::IoError, f.good(), "cannot write ", tmp, " (does the folder exist?)");
      f.write(text.data(), static_cast<std::streamsize>(text.size()));
      GW_CHECK_AS(gw::IoError, f.good(), "error while writing ", tmp);
    }
    GW_CHECK_AS(gw::IoError, std::rename(tmp.c_str(), out.c_str()) == 0, "cannot rename ", tmp,
                " to ", out);
    std::cout << "wrote " << text.size() << " bytes of '" << kind << "' to " << out;
    if (kind == "grammar")
      std::cout << " (entropy rate " << gw::grammar_entropy_exact_nats_per_char() << " nats/char)";
    std::cout << '\n';
    return 0;
  });
}
