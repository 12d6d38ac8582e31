// tokenizer.cpp — UTF-8 decoding and the character (code point) tokenizer.
//
// Code points rather than bytes, so that "é" or "—" is one token and a sampled model can
// never emit half a character. Decoding is strict (no overlongs, surrogates, or values past
// U+10FFFF) so a corrupt file fails loudly with its byte offset instead of training on junk.
#include <algorithm>
#include <cstdio>
#include <set>

#include "gw/data.h"
#include "gw/error.h"

namespace gw {

std::vector<uint32_t> utf8_decode(const std::string& text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    int len;
    uint32_t cp, min;
    if (b0 < 0x80) { len = 1; cp = b0; min = 0; }
    else if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; min = 0x10000; }
    else throw IoError(detail::concat("utf8: invalid lead byte 0x", std::hex, int(b0), std::dec,
                                      " at byte offset ", i, " (is the file UTF-8 text?)"));
    GW_CHECK_AS(IoError, i + len <= n, "utf8: truncated sequence at byte offset ", i,
                " (file ends inside a character)");
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      GW_CHECK_AS(IoError, (b & 0xC0) == 0x80, "utf8: invalid continuation byte at byte offset ",
                  i + k, " (is the file UTF-8 text?)");
      cp = (cp << 6) | (b & 0x3F);
    }
    GW_CHECK_AS(IoError, cp >= min, "utf8: overlong encoding at byte offset ", i);
    GW_CHECK_AS(IoError, cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF),
                "utf8: invalid code point at byte offset ", i);
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

std::string utf8_encode(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

namespace {
// "'é' (U+00E9)" — printable form of a character for error messages.
std::string describe(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  if (cp >= 0x20 && cp != 0x7F) return "'" + utf8_encode(cp) + "' (" + buf + ")";
  return buf;
}
}  // namespace

CharTokenizer CharTokenizer::from_text(const std::string& text) {
  std::vector<uint32_t> cps = utf8_decode(text);
  std::sort(cps.begin(), cps.end());
  cps.erase(std::unique(cps.begin(), cps.end()), cps.end());
  CharTokenizer t;
  t.code_points_ = std::move(cps);
  return t;
}

std::vector<int32_t> CharTokenizer::encode(const std::string& text) const {
  const std::vector<uint32_t> cps = utf8_decode(text);
  std::vector<int32_t> ids(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    auto it = std::lower_bound(code_points_.begin(), code_points_.end(), cps[i]);
    GW_CHECK(it != code_points_.end() && *it == cps[i], "tokenizer: unknown character ",
             describe(cps[i]), " at character position ", i,
             " (not in the vocabulary of ", code_points_.size(), " characters)");
    ids[i] = static_cast<int32_t>(it - code_points_.begin());
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string s;
  s.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    GW_CHECK(ids[i] >= 0 && ids[i] < vocab_size(), "tokenizer: decode: id ", ids[i],
             " at position ", i, " is outside the vocabulary [0, ", vocab_size(), ")");
    s += utf8_encode(code_points_[static_cast<size_t>(ids[i])]);
  }
  return s;
}

nlohmann::json CharTokenizer::to_json() const {
  return nlohmann::json{{"type", "char-utf8"}, {"code_points", code_points_}};
}

CharTokenizer CharTokenizer::from_json(const nlohmann::json& j) {
  GW_CHECK_AS(IoError, j.is_object() && j.value("type", "") == "char-utf8" &&
                           j.contains("code_points") && j["code_points"].is_array(),
              "tokenizer: from_json: expected {\"type\": \"char-utf8\", \"code_points\": [...]}");
  CharTokenizer t;
  for (const auto& v : j["code_points"]) {
    GW_CHECK_AS(IoError, v.is_number_unsigned() && v.get<uint64_t>() <= 0x10FFFF,
                "tokenizer: from_json: bad code point ", v.dump());
    t.code_points_.push_back(v.get<uint32_t>());
  }
  GW_CHECK_AS(IoError, std::is_sorted(t.code_points_.begin(), t.code_points_.end()) &&
                           std::adjacent_find(t.code_points_.begin(), t.code_points_.end()) ==
                               t.code_points_.end(),
              "tokenizer: from_json: code points must be sorted and distinct");
  return t;
}

}  // namespace gw
