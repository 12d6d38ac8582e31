// tokenizer_test.cpp — the code-point tokenizer: round trips, one token per multi-byte
// character, clear errors on unknown characters and invalid UTF-8, and JSON round trips.
#include <gtest/gtest.h>

#include "gw/data.h"
#include "gw/error.h"

namespace gw {
namespace {

TEST(Tokenizer, RoundTripsAsciiText) {
  const std::string text = "hello, world!\nThe quick brown fox.";
  const CharTokenizer t = CharTokenizer::from_text(text);
  EXPECT_EQ(t.decode(t.encode(text)), text);
  EXPECT_EQ(t.encode(text).size(), text.size());
}

TEST(Tokenizer, VocabularyIsSortedDistinctCharacters) {
  const CharTokenizer t = CharTokenizer::from_text("banana");
  EXPECT_EQ(t.code_points(), (std::vector<uint32_t>{'a', 'b', 'n'}));
  EXPECT_EQ(t.encode("nab"), (std::vector<int32_t>{2, 0, 1}));
}

TEST(Tokenizer, RoundTripsMultiByteText) {
  const std::string text = "café — naïve 日本 😀";  // 2-, 3- and 4-byte characters
  const CharTokenizer t = CharTokenizer::from_text(text);
  EXPECT_EQ(t.decode(t.encode(text)), text);
}

TEST(Tokenizer, TwoByteCharacterIsOneToken) {
  const std::string e_acute = "\xC3\xA9";  // "é", 2 bytes: a byte tokenizer would give 2 ids
  const CharTokenizer t = CharTokenizer::from_text("caf" + e_acute);
  EXPECT_EQ(t.vocab_size(), 4);
  EXPECT_EQ(t.encode(e_acute).size(), 1u);
  EXPECT_EQ(t.encode("caf" + e_acute).size(), 4u);
}

TEST(Tokenizer, UnknownCharacterErrorNamesItAndItsPosition) {
  const CharTokenizer t = CharTokenizer::from_text("abc");
  try {
    t.encode("abzc");
    FAIL() << "encoding 'z' with vocabulary {a,b,c} should throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'z'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("position 2"), std::string::npos) << msg;
  }
}

TEST(Tokenizer, InvalidUtf8IsIoErrorWithByteOffset) {
  const std::string bad = std::string("ab") + "\xC3" + "(";  // lead byte, bad continuation
  try {
    CharTokenizer::from_text(bad);
    FAIL() << "invalid UTF-8 should throw";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(utf8_decode("\xFF"), IoError);
  EXPECT_THROW(utf8_decode("\xC0\x80"), IoError) << "overlong NUL";
  EXPECT_THROW(utf8_decode("\xED\xA0\x80"), IoError) << "surrogate";
  EXPECT_THROW(utf8_decode("ab\xE2\x80"), IoError) << "truncated at end";
}

TEST(Tokenizer, DecodeRejectsOutOfRangeIds) {
  const CharTokenizer t = CharTokenizer::from_text("ab");
  EXPECT_THROW(t.decode({0, 2}), Error);
  EXPECT_THROW(t.decode({-1}), Error);
}

TEST(Tokenizer, JsonRoundTripKeepsVocabulary) {
  const std::string text = "Zoë's — text";
  const CharTokenizer t = CharTokenizer::from_text(text);
  const CharTokenizer u = CharTokenizer::from_json(nlohmann::json::parse(t.to_json().dump()));
  EXPECT_EQ(u.code_points(), t.code_points());
  EXPECT_EQ(u.encode(text), t.encode(text));
}

TEST(Tokenizer, MalformedJsonIsIoError) {
  EXPECT_THROW(CharTokenizer::from_json(nlohmann::json::parse("{\"type\": \"bpe\"}")), IoError);
  EXPECT_THROW(CharTokenizer::from_json(
                   nlohmann::json::parse("{\"type\": \"char-utf8\", \"code_points\": [98, 97]}")),
               IoError);
}

}  // namespace
}  // namespace gw
