// synthetic.cpp — small corpora the project generates itself, so tests need no downloaded
// text: "arithmetic" (lines like "12+7=19") and "grammar" (sentences of a tiny probabilistic
// grammar whose entropy rate is known, giving the trainer's smoke tests a loss floor).
#include <cmath>

#include "gw/data.h"
#include "gw/error.h"
#include "gw/rng.h"

namespace gw {

namespace {
// Sequential draws from the counter-based RNG: draw i of stream s is a pure function of
// (seed, s, i), so a corpus is a pure function of (kind, bytes, seed).
struct Draws {
  uint64_t seed, stream, index = 0;
  uint64_t integer(uint64_t n) { return uniform_int(seed, stream, index++, n); }
  float unit() { return uniform_float(seed, stream, index++); }
};

// One slot of the grammar: words with their probabilities.
struct Choice {
  const char* word;
  double p;
};
template <size_t N>
const char* pick(const Choice (&options)[N], Draws& d, double* entropy) {
  const float u = d.unit();
  double acc = 0;
  for (size_t i = 0; i < N; ++i) {
    acc += options[i].p;
    if (u < acc || i + 1 == N) {
      *entropy -= std::log(options[i].p);
      return options[i].word;
    }
  }
  return options[N - 1].word;
}

// The grammar. Every word belongs to one slot only and each slot's words are distinct, so
// the text determines every choice: the text's entropy equals the entropy of the choices.
//   S -> NP VP ".\n"     NP -> Det [Adj] Noun     VP -> TransVerb NP | IntransVerb
const Choice kDet[] = {{"the", 0.6}, {"a", 0.4}};
const Choice kHasAdj[] = {{"", 0.5}, {"+", 0.5}};  // markers; not emitted
const Choice kAdj[] = {{"big", 0.4}, {"small", 0.3}, {"red", 0.3}};
const Choice kNoun[] = {{"cat", 0.4}, {"dog", 0.3}, {"bird", 0.2}, {"fish", 0.1}};
const Choice kVerbKind[] = {{"t", 0.7}, {"i", 0.3}};  // markers; not emitted
const Choice kTrans[] = {{"sees", 0.5}, {"likes", 0.3}, {"chases", 0.2}};
const Choice kIntrans[] = {{"sleeps", 0.6}, {"runs", 0.4}};

void noun_phrase(std::string& out, Draws& d, double* h) {
  out += pick(kDet, d, h);
  out += ' ';
  if (*pick(kHasAdj, d, h) == '+') {
    out += pick(kAdj, d, h);
    out += ' ';
  }
  out += pick(kNoun, d, h);
}

// Appends one sentence; adds its entropy (nats) to *h.
void sentence(std::string& out, Draws& d, double* h) {
  noun_phrase(out, d, h);
  out += ' ';
  if (*pick(kVerbKind, d, h) == 't') {
    out += pick(kTrans, d, h);
    out += ' ';
    noun_phrase(out, d, h);
  } else {
    out += pick(kIntrans, d, h);
  }
  out += ".\n";
}

void check_bytes(int64_t bytes) {
  GW_CHECK_AS(UsageError, bytes > 0, "synthetic corpus: --bytes must be > 0, got ", bytes);
}
}  // namespace

std::string synthetic_arithmetic(int64_t bytes, uint64_t seed) {
  check_bytes(bytes);
  Draws d{seed, 1};
  std::string out;
  while (static_cast<int64_t>(out.size()) < bytes) {
    const uint64_t a = d.integer(100), b = d.integer(100);
    out += std::to_string(a) + "+" + std::to_string(b) + "=" + std::to_string(a + b) + "\n";
  }
  out.resize(static_cast<size_t>(bytes));
  return out;
}

std::string synthetic_grammar(int64_t bytes, uint64_t seed) {
  check_bytes(bytes);
  Draws d{seed, 2};
  std::string out;
  double h = 0;
  while (static_cast<int64_t>(out.size()) < bytes) sentence(out, d, &h);
  out.resize(static_cast<size_t>(bytes));
  return out;
}

double grammar_entropy_nats_per_char(int64_t sentences, uint64_t seed) {
  GW_CHECK_AS(UsageError, sentences > 0, "grammar entropy: need at least one sentence");
  Draws d{seed, 2};
  std::string out;
  double h = 0;
  for (int64_t i = 0; i < sentences; ++i) sentence(out, d, &h);
  // Entropy rate = E[nats per sentence] / E[chars per sentence]: ratio of the sums.
  return h / static_cast<double>(out.size());
}

double grammar_entropy_exact_nats_per_char() {
  // Expected nats and expected characters of each slot, from the tables above; a sentence's
  // expectations follow the grammar's rules. Entropy rate = E[nats] / E[chars] (renewal
  // argument: sentences are independent and identically distributed).
  struct Moments {
    double nats = 0, chars = 0;
  };
  auto slot = [](const auto& options) {
    Moments m;
    for (const Choice& c : options) {
      m.nats -= c.p * std::log(c.p);
      m.chars += c.p * static_cast<double>(std::string(c.word).size());
    }
    return m;
  };
  const Moments det = slot(kDet), has_adj = slot(kHasAdj), adj = slot(kAdj), noun = slot(kNoun),
                kind = slot(kVerbKind), trans = slot(kTrans), intrans = slot(kIntrans);
  const double p_adj = kHasAdj[1].p, p_trans = kVerbKind[0].p;
  // NP = Det " " [Adj " "] Noun
  const Moments np{det.nats + has_adj.nats + p_adj * adj.nats + noun.nats,
                   det.chars + 1 + p_adj * (adj.chars + 1) + noun.chars};
  // S = NP " " (TransVerb " " NP | IntransVerb) ".\n"
  const double nats = np.nats + kind.nats + p_trans * (trans.nats + np.nats) +
                      (1 - p_trans) * intrans.nats;
  const double chars = np.chars + 1 + p_trans * (trans.chars + 1 + np.chars) +
                       (1 - p_trans) * intrans.chars + 2;
  return nats / chars;
}

std::string synthetic_corpus(const std::string& kind, int64_t bytes, uint64_t seed) {
  if (kind == "arithmetic") return synthetic_arithmetic(bytes, seed);
  if (kind == "grammar") return synthetic_grammar(bytes, seed);
  throw UsageError("synthetic corpus: unknown --kind '" + kind + "' (use arithmetic or grammar)");
}

}  // namespace gw
