// decode(encode(x)) == x over the benchmark corpora and random text, with tokenizer.json and
// tokenizer.model giving identical ids (two independent descriptions of the same tokenizer).
#include <gtest/gtest.h>

#include <random>

#include "text/tokenizer.h"
#include "text/tokenizer_test_util.h"
#include "text/utf8.h"

namespace tt {
namespace {

using testing::llama3_json;
using testing::llama3_tiktoken;

std::vector<std::string> corpus_texts() {
  std::vector<std::string> texts;
  std::string data = testing::shared_dir() + "/data";
  auto add = [&](const std::string& path, std::initializer_list<const char*> fields) {
    auto rows = testing::read_jsonl(path);
    EXPECT_FALSE(rows.empty()) << path;
    for (const auto& row : rows) {
      for (const char* field : fields) {
        if (row.contains(field) && row[field].is_string()) texts.push_back(row[field]);
      }
    }
  };
  add(data + "/gsm8k/train.jsonl", {"question", "answer"});
  add(data + "/gsm8k/test.jsonl", {"question", "answer"});
  add(data + "/math500/test.jsonl", {"problem", "solution", "answer"});
  add(data + "/ifeval/input_data.jsonl", {"prompt"});
  return texts;
}

TEST(TokenizerRoundTrip, CorporaBothFormatsAgree) {
  std::vector<std::string> texts = corpus_texts();
  ASSERT_GT(texts.size(), 18000u);
  auto json_ids = llama3_json().encode_batch(texts);
  auto model_ids = llama3_tiktoken().encode_batch(texts);
  size_t mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(llama3_json().decode(json_ids[i]), texts[i]) << "text " << i;
    if (json_ids[i] != model_ids[i] && ++mismatches < 5) ADD_FAILURE() << "formats disagree on: " << texts[i];
  }
  EXPECT_EQ(mismatches, 0u);
}

// Random code points from ranges that exercise the pre-tokenizer's classes: ASCII, whitespace
// (incl. Unicode spaces), Latin with accents, combining marks, CJK, emoji, digits of other scripts.
std::string random_unicode(std::mt19937& rng, size_t length) {
  static const std::pair<uint32_t, uint32_t> ranges[] = {
      {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0xFF}, {0x300, 0x36F}, {0x391, 0x3C9},
      {0x660, 0x669}, {0x1680, 0x1680}, {0x180E, 0x180E}, {0x2000, 0x200D}, {0x2028, 0x2029}, {0x3000, 0x3000},
      {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x1F300, 0x1F9FF}, {0x1D400, 0x1D7FF}, {0x10000, 0x10FFFF}, {0x85, 0x85},
  };
  std::string out;
  std::uniform_int_distribution<size_t> pick(0, std::size(ranges) - 1);
  for (size_t i = 0; i < length; ++i) {
    auto [lo, hi] = ranges[pick(rng)];
    uint32_t cp = std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    utf8::append(out, cp);
    if (rng() % 50 == 0) out += "<|eot_id|>";
    if (rng() % 30 == 0) out += "'s 123456 ";
  }
  return out;
}

TEST(TokenizerRoundTrip, RandomUnicode) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 3000; ++i) {
    std::string text = random_unicode(rng, 1 + rng() % 80);
    auto ids = llama3_json().encode(text);
    ASSERT_EQ(llama3_json().decode(ids), text);
    ASSERT_EQ(llama3_tiktoken().encode(text), ids) << text;
    ASSERT_EQ(llama3_json().encode(text, false, false).size() >= ids.size(), true);
    ASSERT_EQ(llama3_json().decode(llama3_json().encode(text, false, false)), text);
  }
  // A long piece without pre-tokenizer breaks takes the heap-based merge path.
  std::string long_word;
  for (int i = 0; i < 5000; ++i) long_word += static_cast<char>('a' + rng() % 26);
  auto ids = llama3_json().encode(long_word);
  EXPECT_EQ(llama3_json().decode(ids), long_word);
  EXPECT_EQ(llama3_tiktoken().encode(long_word), ids);
}

TEST(TokenizerRoundTrip, RandomBytes) {
  std::mt19937 rng(99);
  int invalid = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes(1 + rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 ? rng() % 128 : rng() % 256);
    for (bool allow_special : {true, false}) {
      auto ids = llama3_json().encode(bytes, false, allow_special);
      ASSERT_EQ(llama3_tiktoken().encode(bytes, false, allow_special), ids);
      if (utf8::is_valid(bytes)) {
        ASSERT_EQ(llama3_json().decode(ids), bytes);
      } else {
        std::string joined;
        for (int32_t id : ids) joined += llama3_json().token_bytes(id);
        ASSERT_EQ(joined, bytes);
        ASSERT_EQ(llama3_json().decode(ids), utf8::to_valid_lossy(bytes));
      }
    }
    invalid += !utf8::is_valid(bytes);
  }
  EXPECT_GT(invalid, 100);
}

}  // namespace
}  // namespace tt
