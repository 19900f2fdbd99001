// Llama-3 tokenizer against Meta's and llama3-tokenizer-js's expected ids, with both file formats;
// special tokens, decoding of invalid UTF-8, incremental decoding and load errors.
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/file.h"
#include "tests/error_of.h"
#include "text/tokenizer_test_util.h"
#include "text/utf8.h"

namespace tt {
namespace {

using testing::llama3;
using testing::llama3_dir;
using testing::llama3_json;
using testing::llama3_tiktoken;
using testing::tiny_tokenizer_json;
using Ids = std::vector<int32_t>;

class TokenizerFormat : public ::testing::TestWithParam<std::string> {
 protected:
  const Tokenizer& tok() const { return llama3(GetParam()); }
};

TEST_P(TokenizerFormat, NpmTestVectors) {
  int checked = 0;
  for (const auto& row : testing::read_jsonl(llama3_dir() + "/test_vectors.npm.jsonl")) {
    std::string kind = row["kind"];
    if (kind == "encode") {
      EncodeOptions options;
      if (row["options"].is_string()) {  // "default(bos=true,eos=true)"
        options.add_bos = options.add_eos = true;
      } else {
        options.add_bos = row["options"]["bos"];
        options.add_eos = row["options"]["eos"];
      }
      std::string input = row["input"];
      EXPECT_EQ(tok().encode(input, options), row["ids"].get<Ids>()) << input;
      ++checked;
    } else if (kind == "decode") {
      EXPECT_EQ(tok().decode(row["ids"].get<Ids>()), row["output"].get<std::string>());
      ++checked;
    } else {
      // "optimisticCount" counts any <|...|> as one token: a llama3-tokenizer-js estimate, not an
      // encoding, so there is nothing of HF's to compare it with.
      EXPECT_EQ(kind, "optimisticCount");
    }
  }
  EXPECT_EQ(checked, 42);
}

TEST_P(TokenizerFormat, LlamaModelsTestVectors) {
  auto vectors = nlohmann::json::parse(testing::read_text(llama3_dir() + "/test_vectors.llama-models.json"));
  for (const auto& [name, id] : vectors["special_tokens"].items()) EXPECT_EQ(tok().token_to_id(name), id);
  for (const auto& v : vectors["encode"]) {
    EncodeOptions options{.add_bos = v["bos"], .add_eos = v["eos"], .allow_special = true};
    EXPECT_EQ(tok().encode(v["text"].get<std::string>(), options), v["ids"].get<Ids>());
  }
  for (const auto& v : vectors["decode"]) EXPECT_EQ(tok().decode(v["ids"].get<Ids>()), v["text"]);
  // The chat format of Meta's ChatFormat: header, "\n\n", stripped content, <|eot_id|>.
  auto encode_message = [&](const nlohmann::json& m, Ids& ids) {
    ids.push_back(tok().token_to_id("<|start_header_id|>"));
    tok().encode_into(m["role"].get<std::string>(), {}, ids);
    ids.push_back(tok().token_to_id("<|end_header_id|>"));
    tok().encode_into("\n\n", {}, ids);
    tok().encode_into(m["content"].get<std::string>(), {}, ids);
    ids.push_back(tok().token_to_id("<|eot_id|>"));
  };
  for (const auto& v : vectors["encode_message"]) {
    Ids ids;
    encode_message(v, ids);
    EXPECT_EQ(ids, v["ids"].get<Ids>());
  }
  for (const auto& v : vectors["encode_dialog_prompt"]) {
    Ids ids = {tok().bos_id()};
    for (const auto& m : v["messages"]) encode_message(m, ids);
    ids.push_back(tok().token_to_id("<|start_header_id|>"));
    tok().encode_into("assistant", {}, ids);
    ids.push_back(tok().token_to_id("<|end_header_id|>"));
    tok().encode_into("\n\n", {}, ids);
    EXPECT_EQ(ids, v["ids"].get<Ids>());
  }
}

TEST_P(TokenizerFormat, VocabularyAndSpecialIds) {
  EXPECT_EQ(tok().vocab_size(), 128256u);
  EXPECT_EQ(tok().bos_id(), 128000);
  EXPECT_EQ(tok().eos_id(), 128001);
  EXPECT_EQ(tok().eos_ids(), (Ids{128001, 128008, 128009}));
  EXPECT_EQ(tok().token_to_id("Ġthe"), 279);
  EXPECT_EQ(tok().id_to_token(279), "Ġthe");
  EXPECT_EQ(tok().id_to_token(128009), "<|eot_id|>");
  EXPECT_EQ(tok().token_to_id("no such token here"), -1);
  EXPECT_TRUE(tok().is_special(128000));
  EXPECT_FALSE(tok().is_special(279));
  EXPECT_EQ(tok().token_bytes(279), " the");
  // Every name in special_tokens.json has its id (for tokenizer.model alone this checks the
  // layout built like Meta's tokenizer.py).
  auto specials = nlohmann::json::parse(testing::read_text(llama3_dir() + "/special_tokens.json"));
  for (const auto& [name, id] : specials.items()) EXPECT_EQ(tok().token_to_id(name), id) << name;
}

TEST_P(TokenizerFormat, SpecialTokensInTextAndAllowSpecialFalse) {
  std::string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  Ids with = tok().encode(text);
  EXPECT_EQ(with, (Ids{128006, 882, 128007, 271, 13347, 128009}));
  Ids without = tok().encode(text, /*add_bos=*/false, /*allow_special=*/false);
  for (int32_t id : without) EXPECT_LT(id, 128000) << "special id from untrusted text";
  EXPECT_EQ(tok().decode(without), text);
  EXPECT_EQ(without, tok().encode(text, EncodeOptions{.allow_special = false}));
  // skip_special drops them when decoding.
  EXPECT_EQ(tok().decode(with, /*skip_special=*/true), "user\n\nHi");
  // BOS is added by --bos / add_bos only.
  EXPECT_EQ(tok().encode("Hi", true), (Ids{128000, 13347}));
  EXPECT_EQ(tok().encode(""), Ids{});
}

TEST_P(TokenizerFormat, DecodeInvalidUtf8LikeHf) {
  // Single-byte tokens: ids 0..255 are not the bytes themselves, so look them up.
  auto byte_id = [&](unsigned char b) {
    std::string s(1, static_cast<char>(b));
    return tok().token_to_id(utf8::byte_level_encode(s));
  };
  const std::string fffd = "\xEF\xBF\xBD";
  // Same answers as Python's bytes.decode("utf-8", errors="replace") / Rust from_utf8_lossy.
  EXPECT_EQ(tok().decode(Ids{byte_id(0xF0), byte_id(0x9F)}), fffd);               // truncated: one
  EXPECT_EQ(tok().decode(Ids{byte_id(0xC0), byte_id(0x80)}), fffd + fffd);        // overlong: two
  EXPECT_EQ(tok().decode(Ids{byte_id(0xED), byte_id(0xA0), byte_id(0x80)}), fffd + fffd + fffd);
  EXPECT_EQ(tok().decode(Ids{byte_id(0xF0), byte_id('a')}), fffd + "a");
  EXPECT_EQ(tok().decode(Ids{byte_id(0xFF), 128009}), fffd + "<|eot_id|>");
}

TEST_P(TokenizerFormat, IncrementalDecoderNeverSplitsCharacters) {
  std::string text = "🦙Ꙋ naïve 镇 end";
  Ids ids = tok().encode(text);
  IncrementalDecoder decoder(tok());
  std::string joined;
  int empty_steps = 0;
  for (int32_t id : ids) {
    std::string part = decoder.feed(id);
    EXPECT_TRUE(utf8::is_valid(part));
    empty_steps += part.empty();
    joined += part;
  }
  joined += decoder.flush();
  EXPECT_EQ(joined, text);
  EXPECT_GT(empty_steps, 0);  // 🦙 is three tokens: the first two give nothing yet
  // Invalid bytes come out as U+FFFD where decode() puts them; a cut-off tail on flush.
  IncrementalDecoder d2(tok(), /*skip_special=*/true);
  std::string lone_ff = utf8::byte_level_encode("\xFF");
  std::string lead_f0 = utf8::byte_level_encode("\xF0");
  EXPECT_EQ(d2.feed(tok().token_to_id(lone_ff)), "\xEF\xBF\xBD");
  EXPECT_EQ(d2.feed(128009), "");
  EXPECT_EQ(d2.feed(tok().token_to_id(lead_f0)), "");
  EXPECT_EQ(d2.flush(), "\xEF\xBF\xBD");
}

TEST_P(TokenizerFormat, BadIdIsAnErrorNamingIt) {
  for (int32_t bad : {128256, -1, 1 << 30}) {
    try {
      tok().decode(Ids{1, bad});
      FAIL() << "no error for id " << bad;
    } catch (const Error& e) {
      std::string message = e.what();
      EXPECT_NE(message.find(std::to_string(bad)), std::string::npos) << message;
      EXPECT_NE(message.find(tok().source()), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos);
    }
  }
}

TEST_P(TokenizerFormat, EncodeBatchMatchesEncode) {
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back(fmt::format("Item {}: {} apples, {}% off <|eot_id|>", i, i * 7, i % 13));
  auto batch = tok().encode_batch(texts, {.add_bos = true});
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], tok().encode(texts[i], true));
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, TokenizerFormat, ::testing::Values("json", "model"));

TEST(TokenizerLoad, DirectoryPrefersTokenizerJson) {
  Tokenizer tok = Tokenizer::load(llama3_dir());
  EXPECT_EQ(tok.source(), llama3_dir() + "/tokenizer.json");
}

TEST(TokenizerLoad, TiktokenAloneBuildsMetaSpecialTokens) {
  // No special_tokens.json beside the file: the 256 specials come from the built-in list.
  std::string dir = testing::make_temp_dir("tiktoken-alone");
  std::filesystem::create_symlink(llama3_dir() + "/tokenizer.model", dir + "/tokenizer.model");
  Tokenizer tok = Tokenizer::load(dir);
  auto specials = nlohmann::json::parse(testing::read_text(llama3_dir() + "/special_tokens.json"));
  ASSERT_EQ(specials.size(), 256u);
  for (const auto& [name, id] : specials.items()) EXPECT_EQ(tok.token_to_id(name), id) << name;
  EXPECT_EQ(tok.encode("Hello world", true), llama3_json().encode("Hello world", true));
  std::filesystem::remove_all(dir);
}


std::string expect_load_error(const std::string& path) {
  try {
    Tokenizer::load(path);
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "no error loading " << path;
  return {};
}

TEST(TokenizerLoad, TinyTokenizerJsonWorksInBothMergeSpellings) {
  std::string dir = testing::make_temp_dir("tiny-tokenizer");
  nlohmann::json j = tiny_tokenizer_json();
  testing::write_text(dir + "/a.json", j.dump());
  j["model"]["merges"] = nlohmann::json::array(
      {nlohmann::json::array({"a", "b"}), nlohmann::json::array({"ab", "c"}), nlohmann::json::array({"Ġ", "ab"})});
  testing::write_text(dir + "/b.json", j.dump());
  for (const char* name : {"/a.json", "/b.json"}) {
    Tokenizer tok = Tokenizer::load(dir + name);
    EXPECT_EQ(tok.encode("abc ab<eos>x"), (Ids{257, 258, 259, 'x'}));
    EXPECT_EQ(tok.decode(tok.encode("abc ab<eos>x")), "abc ab<eos>x");
    EXPECT_EQ(tok.eos_id(), -1);
  }
  std::filesystem::remove_all(dir);
}

// An added token whose id another added token or another model.vocab token holds broke round trips
// silently (the later entry took the id): a one-line error naming the file. An added token that is
// also in model.vocab under its own id (common for special tokens) stays fine.
TEST(TokenizerLoad, AddedTokenIdsThatCollideAreRefused) {
  std::string dir = testing::make_temp_dir("tokenizer-ids");
  nlohmann::json j = tiny_tokenizer_json();
  j["added_tokens"].push_back({{"id", 258}, {"content", "<pad>"}, {"special", true}});  // model.vocab's "Ġab"
  testing::write_text(dir + "/vocab.json", j.dump());
  EXPECT_EQ(tt::testing::error_of([&] { Tokenizer::load(dir + "/vocab.json"); }),
            dir + "/vocab.json: added token '<pad>' has id 258, which model.vocab gives to another token");
  j = tiny_tokenizer_json();
  j["added_tokens"].push_back({{"id", 259}, {"content", "<pad>"}, {"special", true}});
  testing::write_text(dir + "/twice.json", j.dump());
  EXPECT_EQ(tt::testing::error_of([&] { Tokenizer::load(dir + "/twice.json"); }),
            dir + "/twice.json: added_tokens '<eos>' and '<pad>' both have id 259");
  j = tiny_tokenizer_json();
  j["added_tokens"].push_back({{"id", 257}, {"content", "abc"}, {"special", false}});  // the same token
  testing::write_text(dir + "/same.json", j.dump());
  EXPECT_EQ(Tokenizer::load(dir + "/same.json").decode(Ids{257}), "abc");
  std::filesystem::remove_all(dir);
}

// tokenizer.json goes through a reader of its own (vocab and merges streamed): escapes,
// whitespace and both merge spellings load the same, and bad input is reported like before.
TEST(TokenizerLoad, JsonReaderEscapesAndErrors) {
  std::string dir = testing::make_temp_dir("tokenizer-json-reader");
  nlohmann::json j = tiny_tokenizer_json();
  testing::write_text(dir + "/escaped.json", j.dump(2, ' ', /*ensure_ascii=*/true));  // "\u0120ab" etc.
  Tokenizer tok = Tokenizer::load(dir + "/escaped.json");
  EXPECT_EQ(tok.encode("abc ab<eos>x"), (Ids{257, 258, 259, 'x'}));
  EXPECT_EQ(tok.id_to_token(258), "Ġab");

  auto error_for = [&](const std::string& name, const std::string& text) {
    testing::write_text(dir + "/" + name, text);
    return expect_load_error(dir + "/" + name);
  };
  std::string good = j.dump();
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"trailing_comma.json", good.substr(0, good.size() - 1) + ",}"},
           {"bad_utf8.json", "{\"version\": \"\xC3\x28\"}"},
           {"control.json", "{\"version\": \"a\tb\"}"},
           {"lone_surrogate.json", "{\"version\": \"\\ud800x\"}"},
           {"garbage_after.json", good + " x"}}) {
    EXPECT_NE(error_for(name, text).find("malformed JSON at byte"), std::string::npos) << name;
  }

  nlohmann::json bad = j;
  bad["model"]["vocab"]["ab"] = "x";
  EXPECT_NE(error_for("vocab_string.json", bad.dump()).find("'model.vocab[\"ab\"]' should be a token id"), std::string::npos);
  bad["model"]["vocab"]["ab"] = -3;
  EXPECT_NE(error_for("vocab_negative.json", bad.dump()).find("model.vocab[\"ab\"]"), std::string::npos);
  for (const auto& merge : {nlohmann::json::array({"a"}), nlohmann::json::array({"a", "b", "c"}), nlohmann::json(5)}) {
    bad = j;
    bad["model"]["merges"] = nlohmann::json::array({"a b", merge});
    std::string message = error_for("merge.json", bad.dump());
    EXPECT_NE(message.find("'model.merges[1]' should be"), std::string::npos) << merge.dump() << ": " << message;
  }
  bad = j;
  bad["model"]["vocab"] = nlohmann::json::array();
  EXPECT_NE(error_for("vocab_list.json", bad.dump()).find("'model.vocab' should be an object"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(TokenizerLoad, BadFilesGiveOneLineErrorsNamingFileAndKey) {
  std::string dir = testing::make_temp_dir("tokenizer-errors");
  std::string real = testing::read_text(llama3_dir() + "/tokenizer.json");
  testing::write_text(dir + "/truncated.json", real.substr(0, real.size() / 2));
  EXPECT_NE(expect_load_error(dir + "/truncated.json").find("malformed JSON"), std::string::npos);

  nlohmann::json j = tiny_tokenizer_json();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Whitespace"}}}}};
  testing::write_text(dir + "/pre.json", j.dump());
  std::string message = expect_load_error(dir + "/pre.json");
  EXPECT_NE(message.find("pre_tokenizer.pretokenizers[0].type"), std::string::npos) << message;
  EXPECT_NE(message.find("Whitespace"), std::string::npos) << message;

  j = tiny_tokenizer_json();
  j["model"]["type"] = "WordPiece";
  testing::write_text(dir + "/model.json", j.dump());
  EXPECT_NE(expect_load_error(dir + "/model.json").find("WordPiece"), std::string::npos);

  j = tiny_tokenizer_json();
  j["model"].erase("merges");
  testing::write_text(dir + "/nomerges.json", j.dump());
  EXPECT_NE(expect_load_error(dir + "/nomerges.json").find("model.merges"), std::string::npos);

  j = tiny_tokenizer_json();
  j["model"]["merges"].push_back("x y");
  testing::write_text(dir + "/badmerge.json", j.dump());
  EXPECT_NE(expect_load_error(dir + "/badmerge.json").find("model.merges[3]"), std::string::npos);

  j = tiny_tokenizer_json();
  j["normalizer"] = {{"type", "Lowercase"}};
  testing::write_text(dir + "/norm.json", j.dump());
  EXPECT_NE(expect_load_error(dir + "/norm.json").find("Lowercase"), std::string::npos);

  testing::write_text(dir + "/tokenizer.model", "IQ== 0\nnot-base64! 1\n");
  EXPECT_NE(expect_load_error(dir + "/tokenizer.model").find(":2:"), std::string::npos);
  // one token given two ranks (tiktoken refuses it: "duplicate token indices"), one rank given twice
  testing::write_text(dir + "/tokenizer.model", "IQ== 0\nIg== 1\nIQ== 2\n");
  EXPECT_NE(expect_load_error(dir + "/tokenizer.model").find(":3: token IQ== already has rank 0"), std::string::npos);
  testing::write_text(dir + "/tokenizer.model", "IQ== 0\nIg== 0\n");
  EXPECT_NE(expect_load_error(dir + "/tokenizer.model").find(":2: rank 0 appears twice"), std::string::npos);
  EXPECT_NE(expect_load_error(dir + "/missing.json").find("no such file"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// NFC (Qwen2's tokenizer.json has it) and NFKC normalizers, as HF applies them to the text between
// added tokens: a decomposed "é" (e + U+0301) encodes like the composed one; NFKC also folds "ﬁ".
TEST(TokenizerNormalizer, NfcAndNfkcNormalizeTheTextBetweenAddedTokens) {
  std::string dir = testing::make_temp_dir("tok-norm");
  nlohmann::json j = nlohmann::json::parse(read_file(testing::shared_dir() + "/data/tokenizer/llama3/tokenizer.json"));
  const std::string decomposed = "Caf" "e\xcc\x81 <|eot_id|> \xef\xac\x81ne";
  const std::string composed = "Caf" "\xc3\xa9 <|eot_id|> \xef\xac\x81ne";
  const std::string folded = "Caf" "\xc3\xa9 <|eot_id|> fine";
  Tokenizer plain = Tokenizer::load(testing::shared_dir() + "/data/tokenizer/llama3/tokenizer.json");
  EXPECT_NE(plain.encode(decomposed), plain.encode(composed));
  j["normalizer"] = {{"type", "NFC"}};
  testing::write_text(dir + "/nfc.json", j.dump());
  Tokenizer nfc = Tokenizer::load(dir + "/nfc.json");
  EXPECT_EQ(nfc.encode(decomposed), plain.encode(composed));
  EXPECT_EQ(nfc.encode(composed), plain.encode(composed));  // already NFC: unchanged
  EXPECT_EQ(nfc.encode_with_offsets(composed).ids, plain.encode(composed));
  EXPECT_THROW(nfc.encode_with_offsets(decomposed), Error);  // offsets would not index the input
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}}}};
  testing::write_text(dir + "/nfkc.json", j.dump());
  EXPECT_EQ(Tokenizer::load(dir + "/nfkc.json").encode(decomposed), plain.encode(folded));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tt
