// BPE training: the trained tokenizer loads with our Tokenizer and ChatTemplate, round-trips text,
// compresses, is deterministic, and its merges equal those of a naive trainer that recounts every
// pair after each merge.
#include "text/bpe_train.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "io/file.h"
#include "text/chat_template.h"
#include "text/pretokenize.h"
#include "text/tokenizer.h"
#include "text/utf8.h"
#include "tests/test_util.h"

namespace {

using tt::BpeTrainOptions;
using tt::TrainedBpe;

// A small corpus with repeated words, numbers, punctuation, newlines and some non-ASCII text.
std::vector<std::string> corpus(int docs, uint64_t seed) {
  const char* names[] = {"Mia", "Leo", "Ava", "Noah", "Zoë", "José"};
  const char* things[] = {"apples", "pencils", "marbles", "cookies", "stickers", "books"};
  const char* verbs[] = {"buys", "finds", "gives away", "eats", "sells"};
  tt::Rng rng(seed);
  std::vector<std::string> texts;
  for (int d = 0; d < docs; ++d) {
    std::string text;
    int sentences = 1 + static_cast<int>(rng.below(4));
    for (int s = 0; s < sentences; ++s) {
      text += fmt::format("{} {} {} {}. ", names[rng.below(6)], verbs[rng.below(5)], rng.below(200), things[rng.below(6)]);
      if (rng.below(3) == 0) text += "How many are left?\n";
      if (rng.below(5) == 0) text += "<think>\n12 + 7 = 19\n</think>\n\\boxed{19}\n";
      if (rng.below(9) == 0) text += "Grüße — naïve café, 数学 🙂!\n";
    }
    texts.push_back(text);
  }
  return texts;
}

std::string temp_dir(const std::string& tag) { return tt::testing::make_temp_dir(tag); }

// Random valid UTF-8 mixing ASCII, Latin-1, CJK, emoji, spaces and newlines.
std::string random_unicode(tt::Rng& rng, int length) {
  std::string s;
  for (int i = 0; i < length; ++i) {
    uint32_t cp;
    switch (rng.below(6)) {
      case 0: cp = 0x20 + static_cast<uint32_t>(rng.below(0x5f)); break;
      case 1: cp = 0xa0 + static_cast<uint32_t>(rng.below(0x160)); break;
      case 2: cp = 0x4e00 + static_cast<uint32_t>(rng.below(0x200)); break;
      case 3: cp = 0x1f300 + static_cast<uint32_t>(rng.below(0x200)); break;
      case 4: cp = rng.below(2) ? '\n' : ' '; break;
      default: cp = 0x300 + static_cast<uint32_t>(rng.below(0x70)); break;  // combining marks
    }
    tt::utf8::append(s, cp);
  }
  return s;
}

TEST(BpeTrain, TrainedTokenizerLoadsRoundTripsAndCompresses) {
  auto texts = corpus(3000, 1);
  BpeTrainOptions options;
  options.vocab_size = 512;
  TrainedBpe bpe = tt::train_bpe(texts, options);
  EXPECT_EQ(bpe.vocab_size(), 512);
  std::string dir = temp_dir("bpe");
  tt::write_tokenizer_files(bpe, {}, dir);

  tt::Tokenizer tok = tt::Tokenizer::load(dir);
  EXPECT_EQ(tok.vocab_size(), 512u);
  EXPECT_EQ(tok.bos_id(), bpe.special_id("<|begin_of_text|>"));
  EXPECT_EQ(tok.eos_id(), bpe.special_id("<|end_of_text|>"));
  auto eos = tok.eos_ids();
  EXPECT_NE(std::find(eos.begin(), eos.end(), bpe.special_id("<|eot_id|>")), eos.end());

  size_t bytes = 0, tokens = 0;
  for (const std::string& text : texts) {
    auto ids = tok.encode(text);
    ASSERT_EQ(tok.decode(ids), text);
    bytes += text.size();
    tokens += ids.size();
  }
  // Merges must do real work: far fewer tokens than bytes on the training distribution.
  EXPECT_LT(static_cast<double>(tokens), 0.35 * static_cast<double>(bytes)) << tokens << " tokens for " << bytes << " bytes";

  tt::Rng rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string s = random_unicode(rng, 1 + static_cast<int>(rng.below(40)));
    ASSERT_EQ(tok.decode(tok.encode(s, false, false)), s);
  }

  // Special tokens written in the text become one id; add_bos prepends <|begin_of_text|>.
  auto ids = tok.encode("<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", true);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids[0], bpe.special_id("<|begin_of_text|>"));
  EXPECT_EQ(ids[1], bpe.special_id("<|start_header_id|>"));
  EXPECT_EQ(ids.back(), bpe.special_id("<|eot_id|>"));
  EXPECT_TRUE(tok.is_special(ids.back()));
  // Every token id below the specials decodes to the bytes the trainer recorded.
  for (size_t id = 0; id < bpe.tokens.size(); ++id) ASSERT_EQ(tok.token_bytes(static_cast<int32_t>(id)), bpe.tokens[id]);
}

TEST(BpeTrain, IsDeterministic) {
  auto texts = corpus(800, 3);
  BpeTrainOptions options;
  options.vocab_size = 600;
  std::string a = tt::tokenizer_json(tt::train_bpe(texts, options));
  std::string b = tt::tokenizer_json(tt::train_bpe(texts, options));
  EXPECT_EQ(a, b);
  auto other = corpus(800, 4);
  EXPECT_NE(a, tt::tokenizer_json(tt::train_bpe(other, options)));
}

// The textbook algorithm: recount all pairs after every merge.
std::vector<std::pair<int32_t, int32_t>> naive_merges(const std::vector<std::string>& texts, int64_t bpe_tokens, int64_t min_frequency) {
  std::vector<tt::PreTokenizeStep> steps(1);
  steps[0].regex = tt::Regex::compile(tt::kLlama3SplitPattern, "test");
  std::map<std::string, int64_t> counts;
  for (const auto& t : texts) tt::pre_tokenize(steps, t, [&](std::string_view p, tt::PiecePlace) { ++counts[std::string(p)]; });
  std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
  for (const auto& [w, c] : counts) {
    std::vector<int32_t> symbols;
    for (unsigned char ch : w) symbols.push_back(ch);
    words.emplace_back(symbols, c);
  }
  std::vector<std::string> token_bytes;
  for (int b = 0; b < 256; ++b) token_bytes.emplace_back(1, static_cast<char>(b));
  std::vector<std::pair<int32_t, int32_t>> merges;
  while (static_cast<int64_t>(token_bytes.size()) < bpe_tokens) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pairs;
    for (const auto& [symbols, c] : words) {
      for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += c;
    }
    std::pair<int32_t, int32_t> best{-1, -1};
    int64_t best_count = 0;
    for (const auto& [p, c] : pairs) {
      if (c > best_count) best = p, best_count = c;  // map order: ties keep the smallest pair
    }
    if (best_count < min_frequency) break;
    std::string bytes = token_bytes[best.first] + token_bytes[best.second];
    auto found = std::find(token_bytes.begin(), token_bytes.end(), bytes);
    int32_t merged = static_cast<int32_t>(found - token_bytes.begin());
    if (found == token_bytes.end()) token_bytes.push_back(bytes);
    merges.push_back(best);
    for (auto& [symbols, c] : words) {
      std::vector<int32_t> out;
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == best.first && symbols[i + 1] == best.second) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(symbols[i]);
        }
      }
      symbols = out;
    }
  }
  return merges;
}

TEST(BpeTrain, MergesEqualTheNaiveAlgorithm) {
  auto texts = corpus(400, 11);
  texts.push_back("aaaaaaa aaaa aaa aa bbbbbb abab ababab");  // overlapping pairs (a a a)
  BpeTrainOptions options;
  options.vocab_size = 256 + 6 + 220;
  TrainedBpe bpe = tt::train_bpe(texts, options);
  auto expected = naive_merges(texts, 256 + 220, options.min_frequency);
  ASSERT_EQ(bpe.merges.size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    ASSERT_EQ(bpe.merges[r], expected[r]) << "merge " << r << ": " << bpe.tokens[bpe.merges[r].first] << " + "
                                          << bpe.tokens[bpe.merges[r].second];
  }
}

TEST(BpeTrain, StopsAtMinFrequencyAndRejectsTinyVocab) {
  BpeTrainOptions options;
  options.vocab_size = 5000;
  TrainedBpe bpe = tt::train_bpe({"hello hello world"}, options);
  EXPECT_LT(bpe.vocab_size(), 5000);  // only pairs seen twice merge
  EXPECT_EQ(bpe.tokens.back(), "hello");  // " hello" is seen once
  options.vocab_size = 200;
  EXPECT_THROW(tt::train_bpe({"x"}, options), tt::Error);
}

TEST(BpeTrain, ChatTemplateIsTheStudyTemplateAndRendersWithAssistantSpans) {
  std::string reference = tt::testing::shared_dir() + "/reference/tiny-think/chat_template.jinja";
  if (tt::file_exists(reference)) {
    EXPECT_EQ(tt::TokenizerFilesOptions::study_chat_template(), tt::read_file(reference));
  }
  TrainedBpe bpe = tt::train_bpe(corpus(200, 5), {});
  std::string dir = temp_dir("bpe-chat");
  tt::write_tokenizer_files(bpe, {}, dir);
  tt::ChatTemplate chat = tt::ChatTemplate::from_tokenizer_config(dir);
  nlohmann::ordered_json messages = {{{"role", "user"}, {"content", "What is 2 + 3?"}},
                                     {{"role", "assistant"}, {"content", "<think>\n2 + 3 = 5\n</think>\n\\boxed{5}"}}};
  tt::RenderedChat rendered = chat.render(messages, false);
  // (The study's template leaves blank lines between its blocks, as Jinja renders it for transformers.)
  EXPECT_TRUE(rendered.text.starts_with("<|begin_of_text|>\n\n\n<|start_header_id|>system<|end_header_id|>\n\n")) << rendered.text;
  ASSERT_EQ(rendered.generation_spans.size(), 1u);
  auto [begin, end] = rendered.generation_spans[0];
  EXPECT_EQ(rendered.text.substr(begin, end - begin), "<think>\n2 + 3 = 5\n</think>\n\\boxed{5}");
  tt::RenderedChat prompt = chat.render(nlohmann::ordered_json::array({messages[0]}), true);
  EXPECT_TRUE(prompt.text.ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));

  // The rendered chat tokenizes with one id per special token and decodes back.
  tt::Tokenizer tok = tt::Tokenizer::load(dir);
  auto ids = tok.encode(rendered.text);
  EXPECT_EQ(ids[0], bpe.special_id("<|begin_of_text|>"));
  EXPECT_EQ(tok.decode(ids), rendered.text);

  nlohmann::json config = tt::read_json_file(dir + "/tokenizer_config.json");
  EXPECT_EQ(config["eos_token"], "<|end_of_text|>");
  EXPECT_EQ(config["pad_token"], "<|finetune_right_pad_id|>");
  EXPECT_EQ(config["added_tokens_decoder"].size(), bpe.special_tokens.size());
}

}  // namespace
