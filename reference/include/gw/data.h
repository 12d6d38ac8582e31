// data.h — the trainer's data layer: a character tokenizer over UTF-8 code points, a text
// dataset with nanoGPT's 90/10 split, a batch sampler whose batches are pure functions of
// (seed, step), the default corpus paths and synthetic test corpora.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gw/tensor.h"

namespace gw {

/// Character tokenizer: one token per Unicode code point, so "é" (2 bytes) or "—" (3 bytes)
/// is one token, which a byte tokenizer would split. The vocabulary is the sorted set of
/// distinct code points of the training text; token id = index in that list.
class CharTokenizer {
 public:
  CharTokenizer() = default;
  /// Builds the vocabulary from `text` (UTF-8). Throws gw::IoError on invalid UTF-8.
  static CharTokenizer from_text(const std::string& text);
  /// Text to ids. Throws gw::IoError on invalid UTF-8 (with the byte offset) and gw::Error on
  /// a character outside the vocabulary (naming it and its code-point position).
  std::vector<int32_t> encode(const std::string& text) const;
  /// Ids to UTF-8 text. Throws gw::Error on an id outside [0, vocab_size()).
  std::string decode(const std::vector<int32_t>& ids) const;
  /// Number of tokens.
  int64_t vocab_size() const { return static_cast<int64_t>(code_points_.size()); }
  /// The vocabulary, sorted code points.
  const std::vector<uint32_t>& code_points() const { return code_points_; }
  /// {"type": "char-utf8", "code_points": [...]}, for checkpoints.
  nlohmann::json to_json() const;
  /// Inverse of to_json; throws gw::IoError on a malformed object.
  static CharTokenizer from_json(const nlohmann::json& j);

 private:
  std::vector<uint32_t> code_points_;  // sorted, distinct
};

/// Decodes UTF-8 into code points. Throws gw::IoError naming the byte offset of the first
/// invalid sequence (bad lead byte, truncated, overlong, surrogate or above U+10FFFF).
std::vector<uint32_t> utf8_decode(const std::string& text);
/// Encodes one code point as UTF-8.
std::string utf8_encode(uint32_t code_point);

/// Reads a whole file. Throws gw::IoError (with the path and what to do) when it is missing,
/// unreadable or empty.
std::string read_text_file(const std::string& path);

/// A tokenized text with nanoGPT's split: the first 90% of tokens train, the rest validate.
struct TextDataset {
  CharTokenizer tokenizer;    ///< built from the whole text
  std::vector<int32_t> train; ///< first 90% of the tokens
  std::vector<int32_t> val;   ///< last 10%
  std::string source;         ///< path or description, for messages
  uint64_t bytes = 0;         ///< size of the text in bytes
  uint64_t hash = 0;          ///< FNV-1a 64 of the text: checkpoints record it, so that a
                              ///< resume can tell that the file changed under it

  /// Tokenizes `text` and splits it at floor(0.9 * n).
  static TextDataset from_text(const std::string& text, const std::string& source = "<text>");
  /// Loads a text file (read_text_file's errors) and tokenizes it.
  static TextDataset from_file(const std::string& path);
};

/// Which split a sampler draws from; also the RNG stream that keys it.
enum class Split : uint32_t { train = 0, val = 1 };

/// One batch: x and y are i32 tensors of shape (b, s); y is x shifted by one token.
struct Batch {
  Tensor x;  ///< (b, s) input ids
  Tensor y;  ///< (b, s) target ids
};

/// Draws batches of `batch` rows of `block` tokens from one split. Batch (step, micro) is a
/// pure function of (seed, split, step, micro): row r starts at uniform_int over the
/// Philox key (seed, split) and counter (step, micro, r), so a resumed run or a GPU draws the
/// same batches. Throws gw::Error if block + 1 > the split's length.
class BatchSampler {
 public:
  /// `tokens` must outlive the sampler.
  BatchSampler(const std::vector<int32_t>& tokens, Split split, int64_t block, int64_t batch,
               uint64_t seed);
  /// Start offsets of the rows of batch (step, micro), each in [0, n - block - 1].
  std::vector<int64_t> offsets(uint64_t step, uint64_t micro = 0) const;
  /// The batch for (step, micro).
  Batch get(uint64_t step, uint64_t micro = 0) const;
  /// Fixed evaluation batches: eval batch i is get(i, 0) under a seed derived from `seed` and
  /// the split, so every evaluation of a run sees the same data.
  std::vector<Batch> eval_batches(int64_t count) const;
  /// Data parallelism: this sampler draws rows [first_row, first_row + batch) of each batch
  /// instead of [0, batch). Row r of a batch depends only on (seed, split, step, micro, r), so
  /// rank k of n, each with batch b and first_row k·b, together see exactly the rows of one
  /// sampler with batch n·b.
  void set_first_row(int64_t first_row);

 private:
  const std::vector<int32_t>* tokens_;
  Split split_;
  int64_t block_, batch_;
  uint64_t seed_;
  int64_t first_row_ = 0;
};

/// datasets/fortunes.txt under the source tree (may not exist).
std::string default_corpus_path();
/// default_corpus_path(), or gw::IoError "default corpus missing: run
/// datasets/prepare_fortunes.sh (needs apt-get install fortunes)" when absent.
std::string require_default_corpus();
/// GW_SOURCE_DIR/../shared/datasets/tinyshakespeare.txt if it exists, else "". Read in place.
std::string tinyshakespeare_path();

/// Synthetic corpus "arithmetic": lines "a+b=c\n" with a, b uniform in [0, 99] from `seed`.
std::string synthetic_arithmetic(int64_t bytes, uint64_t seed);
/// Synthetic corpus "grammar": sentences from a small fixed probabilistic grammar.
std::string synthetic_grammar(int64_t bytes, uint64_t seed);
/// Entropy rate of the grammar corpus in nats per character: total entropy of the choices
/// made, divided by characters emitted, estimated over `sentences` sampled sentences. A
/// character model cannot beat it on average (its cross-entropy is >= this), so a trained
/// model's loss should approach it from above.
double grammar_entropy_nats_per_char(int64_t sentences = 20000, uint64_t seed = 1);
/// The same entropy rate computed exactly from the grammar's tables (about 0.296 nats per
/// character): the loss floor that trainer smoke tests on the grammar corpus compare against.
/// The grammar is unambiguous (each word belongs to one slot), so the text's entropy equals
/// the entropy of the choices that made it.
double grammar_entropy_exact_nats_per_char();
/// Dispatch by name ("arithmetic" or "grammar"); gw::UsageError on another name.
std::string synthetic_corpus(const std::string& kind, int64_t bytes, uint64_t seed);

}  // namespace gw
