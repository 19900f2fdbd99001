// Token offsets and the assistant-token mask (transformers' return_assistant_tokens_mask) on the
// study's chat template with the Llama-3 tokenizer.
#include "text/chat_encode.h"

#include <gtest/gtest.h>

#include <random>

#include "text/tokenizer_test_util.h"
#include "text/utf8.h"

namespace tt {
namespace {

using Json = nlohmann::ordered_json;
using testing::llama3_json;
using testing::llama3_tiktoken;

// Every token's range is its own bytes, the ranges tile the text, and the ids are encode()'s.
void check_offsets(const Tokenizer& tok, const std::string& text, bool allow_special) {
  EncodeOptions options{.allow_special = allow_special};
  EncodingWithOffsets enc = tok.encode_with_offsets(text, options);
  ASSERT_EQ(enc.ids, tok.encode(text, options)) << text;
  ASSERT_EQ(enc.offsets.size(), enc.ids.size());
  size_t pos = 0;
  for (size_t t = 0; t < enc.ids.size(); ++t) {
    auto [begin, end] = enc.offsets[t];
    ASSERT_EQ(begin, pos) << "token " << t << " of " << text;
    ASSERT_LE(end, text.size());
    if (!tok.is_special(enc.ids[t])) {
      ASSERT_EQ(text.substr(begin, end - begin), tok.token_bytes(enc.ids[t])) << text;
    }
    pos = end;
  }
  ASSERT_EQ(pos, text.size()) << text;
}

TEST(TokenizerOffsets, TileTheTextAndMatchEncode) {
  std::mt19937 rng(7);
  static const std::pair<uint32_t, uint32_t> ranges[] = {{0x20, 0x7E}, {0x20, 0x7E}, {0x09, 0x0D}, {0xA0, 0xFF},
                                                         {0x4E00, 0x9FFF}, {0x1F300, 0x1F9FF}, {0x2000, 0x200D}};
  for (int i = 0; i < 1000; ++i) {
    std::string text;
    size_t length = 1 + rng() % 60;
    for (size_t k = 0; k < length; ++k) {
      auto [lo, hi] = ranges[rng() % std::size(ranges)];
      utf8::append(text, std::uniform_int_distribution<uint32_t>(lo, hi)(rng));
      if (rng() % 20 == 0) text += "<|eot_id|>";
    }
    for (bool allow_special : {true, false}) {
      check_offsets(llama3_json(), text, allow_special);
      check_offsets(llama3_tiktoken(), text, allow_special);
    }
  }
}

TEST(TokenizerOffsets, TemplateTokensHaveEmptyRanges) {
  EncodingWithOffsets enc = llama3_json().encode_with_offsets("Hi", EncodeOptions{.add_bos = true, .add_eos = true});
  ASSERT_EQ(enc.ids, (std::vector<int32_t>{128000, 13347, 128001}));
  EXPECT_EQ(enc.offsets, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {0, 2}, {0, 0}}));
}

std::string template_path() { return testing::shared_dir() + "/reference/tiny-think/chat_template.jinja"; }

ChatTemplate study_template() {
  return ChatTemplate::with_special_tokens(testing::read_text(template_path()),
                                           Json{{"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|eot_id|>"}},
                                           template_path());
}

// Python's str.strip() for the ASCII whitespace GSM8K has (the template's `trim`).
std::string strip(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n\r\f\v");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\n\r\f\v");
  return s.substr(b, e + 1 - b);
}

// Hand-checked: ids from the Llama-3 vocabulary, mask = the assistant content only.
TEST(ChatEncode, SmallExampleExactIdsAndMask) {
  Json messages = Json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"},
                                  {"role": "assistant", "content": " Hello there\n"}])");
  ChatEncoding enc = encode_chat(llama3_json(), study_template(), messages, false);
  // The template's text (checked against python3-jinja2 with trim_blocks / lstrip_blocks, as
  // transformers sets it up) keeps some newlines from between its tags:
  // <|begin_of_text|> \n\n\n <|start_header_id|> system <|end_header_id|> \n\n S <|eot_id|> \n\n
  // <|start_header_id|> user <|end_header_id|> \n\n Hi <|eot_id|>
  // <|start_header_id|> assistant <|end_header_id|> \n\n Hello ␣there <|eot_id|> \n
  std::vector<int32_t> want_ids = {128000, 1432,   128006, 9125,  128007, 271,    50,     128009,
                                   271,    128006, 882,    128007, 271,   13347,  128009, 128006,
                                   78191,  128007, 271,    9906,   1070,  128009, 198};
  std::vector<uint8_t> want_mask(want_ids.size(), 0);
  want_mask[19] = want_mask[20] = 1;  // "Hello", " there": the trimmed content
  EXPECT_EQ(enc.ids, want_ids);
  EXPECT_EQ(enc.assistant_mask, want_mask);

  // With the generation prompt and no assistant reply: nothing is masked.
  messages.erase(2);
  enc = encode_chat(llama3_json(), study_template(), messages, true);
  EXPECT_EQ(enc.ids, (std::vector<int32_t>{128000, 1432, 128006, 9125, 128007, 271, 50, 128009, 271, 128006, 882, 128007, 271,
                                           13347, 128009, 198, 128006, 78191, 128007, 271}));
  EXPECT_EQ(enc.assistant_mask, std::vector<uint8_t>(enc.ids.size(), 0));
}

TEST(ChatEncode, Gsm8kMaskedTokensAreExactlyTheAssistantText) {
  auto rows = testing::read_jsonl(testing::shared_dir() + "/data/fixtures/gsm8k_train_sft_messages.first256.jsonl");
  ASSERT_GE(rows.size(), 64u);
  const Tokenizer& tok = llama3_json();
  ChatTemplate chat = study_template();
  const int32_t eot = tok.token_to_id("<|eot_id|>");
  for (size_t r = 0; r < 64; r += 2) {
    // Single conversations, and two joined into a four-turn one (two generation spans).
    Json single = Json::parse(rows[r]["messages"].dump());
    Json joined = single;
    for (const auto& m : rows[r + 1]["messages"]) joined.push_back(Json::parse(m.dump()));
    for (const Json* messages : {&single, &joined}) {
      SCOPED_TRACE(rows[r]["id"].get<std::string>() + (messages == &joined ? " joined" : ""));
      RenderedChat rendered = chat.render(*messages, false);
      ChatEncoding enc = encode_chat(tok, chat, *messages, false);
      ASSERT_EQ(enc.ids, tok.encode(rendered.text));
      ASSERT_EQ(enc.assistant_mask.size(), enc.ids.size());
      std::vector<std::string> want;
      for (const auto& m : *messages) {
        if (m["role"] == "assistant") want.push_back(strip(m["content"].get<std::string>()));
      }
      ASSERT_EQ(rendered.generation_spans.size(), want.size());
      // Each run of 1s decodes to one assistant reply, as rendered in its generation block, and
      // is followed by <|eot_id|>.
      std::vector<std::string> got;
      for (size_t i = 0; i < enc.ids.size(); ++i) {
        if (enc.assistant_mask[i] && (i == 0 || !enc.assistant_mask[i - 1])) got.emplace_back();
        if (enc.assistant_mask[i]) {
          ASSERT_FALSE(tok.is_special(enc.ids[i])) << i;
          got.back() += tok.decode(std::span<const int32_t>(&enc.ids[i], 1));
        } else if (i > 0 && enc.assistant_mask[i - 1]) {
          EXPECT_EQ(enc.ids[i], eot);
        }
      }
      ASSERT_EQ(got, want);
      for (size_t k = 0; k < want.size(); ++k) {
        auto [b, e] = rendered.generation_spans[k];
        EXPECT_EQ(rendered.text.substr(b, e - b), want[k]);
      }
      // Headers, <|eot_id|> and every other special token are outside the mask.
      for (size_t i = 0; i < enc.ids.size(); ++i) {
        if (tok.is_special(enc.ids[i])) {
          EXPECT_EQ(enc.assistant_mask[i], 0) << i;
        }
      }
    }
  }
}

// transformers' rule on spans that do not fall on token boundaries.
TEST(ChatEncode, TokensReachingIntoASpanAreMarked) {
  const Tokenizer& tok = llama3_json();
  auto mask_of = [&](const std::string& source, const Json& messages) {
    ChatTemplate chat(source, "<|begin_of_text|>", "<|eot_id|>");
    return encode_chat(tok, chat, messages, false);
  };
  Json messages = Json::parse(R"([{"role": "user", "content": "x"}])");
  // " Hello" is one token that starts before the span: char_to_token(span start) marks it.
  ChatEncoding enc = mask_of("A{{ ' Hel' }}{% generation %}{{ 'lo' }}{% endgeneration %} world", messages);
  ASSERT_EQ(enc.ids, (std::vector<int32_t>{32, 22691, 1917}));
  EXPECT_EQ(enc.assistant_mask, (std::vector<uint8_t>{0, 1, 0}));
  // A span ending inside a token marks that token.
  enc = mask_of("A{% generation %}{{ ' Hel' }}{% endgeneration %}lo world", messages);
  ASSERT_EQ(enc.ids, tok.encode("A Hello world"));
  EXPECT_EQ(enc.assistant_mask, (std::vector<uint8_t>{0, 1, 0}));
  // An empty span marks nothing (its start's token comes after its end's).
  enc = mask_of("x ab{% generation %}{% endgeneration %}<|eot_id|>", messages);
  EXPECT_EQ(enc.assistant_mask, std::vector<uint8_t>(enc.ids.size(), 0));
  // transformers' quirk: a span whose last character is in token 0 runs to the end.
  enc = mask_of("{% generation %}A{% endgeneration %}<|eot_id|> user", messages);
  EXPECT_EQ(enc.assistant_mask, std::vector<uint8_t>(enc.ids.size(), 1));
}

TEST(ChatEncode, PartialCharacterTokensFollowCharToToken) {
  // An emoji split over several byte tokens: every piece of a character maps to that character,
  // and char_to_token finds the first one, so a span ending in it marks only its first token.
  const Tokenizer& tok = llama3_json();
  std::string emoji = "\xF0\x9F\xA6\x9C";  // U+1F99C, not one token in Llama-3
  std::string text = "<|eot_id|>" + emoji;
  EncodingWithOffsets enc = tok.encode_with_offsets(text);
  ASSERT_GT(enc.ids.size(), 2u);
  std::vector<uint8_t> mask = assistant_tokens_mask(text, enc, {{10, text.size()}});
  std::vector<uint8_t> want(enc.ids.size(), 0);
  want[1] = 1;
  EXPECT_EQ(mask, want);
  // A span starting inside the text of a previous token is found by its character.
  text = "x" + emoji;
  enc = tok.encode_with_offsets(text);
  mask = assistant_tokens_mask(text, enc, {{1, 5}});
  EXPECT_EQ(mask.front(), enc.offsets.front().second > 1 ? 1 : 0);
}

}  // namespace
}  // namespace tt
