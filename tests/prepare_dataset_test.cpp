// prepare_dataset on the GSM8K fixture with the Llama-3 tokenizer and the study's chat template:
// summary counts, shard round trip against a direct encode, the assistant mask, length filtering,
// budget sampling and the cache.
#include "data/prepare.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/shard.h"
#include "io/file.h"
#include "text/chat_encode.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "tests/prepare_test_util.h"
#include "tests/test_util.h"

namespace tt {
namespace {

using testing::PrepareEnv;

PrepareOptions base_options(const std::string& input, const std::string& out) {
  PrepareOptions o;
  o.input = input;
  o.tokenizer = PrepareEnv::tokenizer_path();
  o.chat_template = PrepareEnv::template_path();
  o.out = out;
  o.default_source = "gsm8k";
  return o;
}

std::vector<int32_t> to_vec(std::span<const int32_t> s) { return {s.begin(), s.end()}; }
std::vector<uint8_t> to_vec(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

TEST(PrepareDataset, FixtureSummaryCounts) {
  log_quiet() = true;
  std::string dir = testing::make_temp_dir("prepare");
  PrepareSummary s = prepare_dataset(base_options(PrepareEnv::fixture_path(), dir + "/gsm8k.ttshard"));
  EXPECT_EQ(s.rows_read, 256);
  EXPECT_EQ(s.rows_kept, 256);
  EXPECT_EQ(s.truncated + s.dropped_source + s.dropped_no_loss + s.dropped_budget + s.bad_lines, 0);
  ASSERT_EQ(s.per_source.size(), 1u);
  EXPECT_EQ(s.per_source.at("gsm8k").rows_kept, 256);
  EXPECT_FALSE(s.cache_hit);

  // Totals equal a direct render + encode of every row, as transformers tokenizes the chat text.
  const auto& env = PrepareEnv::get();
  int64_t total = 0;
  for (const auto& messages : env.rows) total += static_cast<int64_t>(env.tok.encode(env.chat.render(messages, false).text).size());
  EXPECT_EQ(s.total_tokens, total);
  EXPECT_EQ(s.per_source.at("gsm8k").tokens_kept, total);

  nlohmann::json j = read_json_file(summary_path_for(dir + "/gsm8k.ttshard"));
  EXPECT_EQ(j["rows_read"], 256);
  EXPECT_EQ(j["total_tokens"], total);
  EXPECT_EQ(j["sources"]["gsm8k"]["rows_kept"], 256);
  EXPECT_EQ(j["truncated"], 0);
}

TEST(PrepareDataset, ShardRoundTripsAgainstDirectEncode) {
  std::string dir = testing::make_temp_dir("prepare");
  prepare_dataset(base_options(PrepareEnv::fixture_path(), dir + "/gsm8k.ttshard"));
  TokenShard shard = TokenShard::open(dir + "/gsm8k.ttshard");
  const auto& env = PrepareEnv::get();
  ASSERT_EQ(shard.size(), env.rows.size());
  EXPECT_EQ(shard.sources(), std::vector<std::string>{"gsm8k"});
  for (size_t i = 0; i < shard.size(); ++i) {
    RenderedChat r = env.chat.render(env.rows[i], false);
    ShardExample e = shard.example(i);
    ASSERT_EQ(to_vec(e.tokens), env.tok.encode(r.text)) << "row " << i;
    EXPECT_EQ(e.tokens[0], env.tok.bos_id());
    EXPECT_EQ(env.tok.decode(e.tokens), r.text);
    ASSERT_EQ(e.loss_mask.size(), e.tokens.size());
  }
  EXPECT_EQ(shard.metadata()["max_length"], 1024);
}

// The mask is 1 exactly on the tokens of the (trimmed) assistant content: the template's
// {% generation %} block; the header before it and <|eot_id|> after it get no loss.
TEST(PrepareDataset, MaskCoversExactlyAssistantContent) {
  std::string dir = testing::make_temp_dir("prepare");
  std::string input = dir + "/multi.jsonl";
  std::ofstream(input) << R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}, )"
                          R"({"role": "assistant", "content": "  <think>2+2=4</think> \\boxed{4}\n"}, {"role": "user", "content": "and 3+3?"}, )"
                          R"({"role": "assistant", "content": "6"}]})"
                       << "\n";
  prepare_dataset(base_options(input, dir + "/multi.ttshard"));
  TokenShard shard = TokenShard::open(dir + "/multi.ttshard");
  ASSERT_EQ(shard.size(), 1u);
  ShardExample e = shard.example(0);
  const Tokenizer& tok = PrepareEnv::get().tok;
  std::vector<std::vector<int32_t>> runs;
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    if (!e.loss_mask[i]) continue;
    if (i == 0 || !e.loss_mask[i - 1]) runs.emplace_back();
    runs.back().push_back(e.tokens[i]);
    if (i + 1 == e.tokens.size() || !e.loss_mask[i + 1]) {
      ASSERT_LT(i + 1, e.tokens.size());
      EXPECT_EQ(e.tokens[i + 1], tok.token_to_id("<|eot_id|>"));  // eot follows, unmasked
    }
  }
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(tok.decode(runs[0]), "<think>2+2=4</think> \\boxed{4}");
  EXPECT_EQ(tok.decode(runs[1]), "6");
  // Unmasked text is everything else: the system/user turns and the assistant headers.
  std::vector<int32_t> rest;
  for (size_t i = 0; i < e.tokens.size(); ++i)
    if (!e.loss_mask[i]) rest.push_back(e.tokens[i]);
  std::string unmasked = tok.decode(rest);
  EXPECT_NE(unmasked.find("<|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|>"), std::string::npos) << unmasked;
  EXPECT_NE(unmasked.find("Be brief."), std::string::npos);

  PrepareOptions all = base_options(input, dir + "/all.ttshard");
  all.assistant_only_loss = false;
  prepare_dataset(all);
  TokenShard all_shard = TokenShard::open(dir + "/all.ttshard");  // spans point into its mapping
  ShardExample f = all_shard.example(0);
  EXPECT_EQ(to_vec(f.tokens), to_vec(e.tokens));
  EXPECT_EQ(to_vec(f.loss_mask), std::vector<uint8_t>(f.tokens.size(), 1));
}

// TRL SFTTrainer's other dataset formats, each as its tokenize_fn and collator make it: ShareGPT
// conversations are messages (human -> user, gpt -> assistant); a conversational prompt-completion
// row is the whole conversation with no loss on the rendered prompt (generation prompt included);
// a text prompt-completion row is tokenizer(prompt + completion + eos) with special tokens, no loss
// on tokenizer(prompt); a text row is tokenizer(text + eos), loss everywhere; EOS is not doubled.
TEST(PrepareDataset, TrlDatasetFormatsTokenizeAsTrl) {
  const std::string dir = testing::make_temp_dir("prepare-formats");
  const std::string input = dir + "/formats.jsonl";
  std::ofstream(input)
      << R"({"conversations": [{"from": "human", "value": "2+2?"}, {"from": "gpt", "value": "4"}]})" "\n"
      << R"({"prompt": [{"role": "user", "content": "2+2?"}], "completion": [{"role": "assistant", "content": "4"}]})" "\n"
      << R"({"prompt": "Q: 2+2?\nA:", "completion": " 4"})" "\n"
      << R"({"text": "Two and two make four."})" "\n"
      << R"({"text": "Already ended.<|end_of_text|>"})" "\n";
  PrepareOptions o = base_options(input, dir + "/formats.ttshard");
  o.assistant_only_loss = false;
  prepare_dataset(o);
  TokenShard shard = TokenShard::open(dir + "/formats.ttshard");
  ASSERT_EQ(shard.size(), 5u);
  const auto& env = PrepareEnv::get();
  const Tokenizer& tok = env.tok;
  const nlohmann::ordered_json user = {{"role", "user"}, {"content", "2+2?"}};
  const nlohmann::ordered_json conversation = nlohmann::ordered_json::array({user, {{"role", "assistant"}, {"content", "4"}}});
  const std::vector<int32_t> rendered = tok.encode(env.chat.render(conversation, false).text);
  const size_t prompt_len = tok.encode(env.chat.render(nlohmann::ordered_json::array({user}), true).text).size();
  // ShareGPT: the messages' encoding, loss everywhere (assistant_only_loss off)
  EXPECT_EQ(to_vec(shard.example(0).tokens), rendered);
  EXPECT_EQ(to_vec(shard.example(0).loss_mask), std::vector<uint8_t>(rendered.size(), 1));
  // conversational prompt-completion: the same tokens, no loss on the prompt
  EXPECT_EQ(to_vec(shard.example(1).tokens), rendered);
  std::vector<uint8_t> completion_mask(rendered.size(), 1);
  std::fill(completion_mask.begin(), completion_mask.begin() + static_cast<ptrdiff_t>(prompt_len), 0);
  EXPECT_EQ(to_vec(shard.example(1).loss_mask), completion_mask);
  // text prompt-completion: <|begin_of_text|> + prompt + completion + EOS
  const std::vector<int32_t> text_pc = tok.encode("Q: 2+2?\nA: 4<|end_of_text|>", {.add_bos = true});
  ASSERT_EQ(text_pc.front(), tok.bos_id());
  EXPECT_EQ(to_vec(shard.example(2).tokens), text_pc);
  const size_t text_prompt_len = tok.encode("Q: 2+2?\nA:", {.add_bos = true}).size();
  std::vector<uint8_t> text_mask(text_pc.size(), 1);
  std::fill(text_mask.begin(), text_mask.begin() + static_cast<ptrdiff_t>(text_prompt_len), 0);
  EXPECT_EQ(to_vec(shard.example(2).loss_mask), text_mask);
  // language modelling: EOS appended once, loss everywhere
  EXPECT_EQ(to_vec(shard.example(3).tokens), tok.encode("Two and two make four.<|end_of_text|>", {.add_bos = true}));
  EXPECT_EQ(to_vec(shard.example(4).tokens), tok.encode("Already ended.<|end_of_text|>", {.add_bos = true}));
  EXPECT_EQ(to_vec(shard.example(4).loss_mask), std::vector<uint8_t>(shard.example(4).tokens.size(), 1));

  // completion_only_loss off: the prompts get loss too; assistant_only_loss on: text rows are refused
  PrepareOptions everything = base_options(input, dir + "/everything.ttshard");
  everything.assistant_only_loss = false;
  everything.completion_only_loss = false;
  prepare_dataset(everything);
  TokenShard all = TokenShard::open(dir + "/everything.ttshard");
  EXPECT_EQ(to_vec(all.example(1).loss_mask), std::vector<uint8_t>(rendered.size(), 1));
  EXPECT_EQ(to_vec(all.example(2).loss_mask), std::vector<uint8_t>(text_pc.size(), 1));
  PrepareOptions strict = base_options(input, dir + "/strict.ttshard");
  try {
    prepare_dataset(strict);
    ADD_FAILURE() << "text rows with assistant_only_loss";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(input + ":3: assistant_only_loss needs conversational rows"), std::string::npos)
        << e.what();
  }
}

// A custom dataset_text_field, and text rows need no chat template at all.
TEST(PrepareDataset, TextRowsNeedNoChatTemplate) {
  const std::string dir = testing::make_temp_dir("prepare-text");
  std::filesystem::copy_file(PrepareEnv::tokenizer_path(), dir + "/tokenizer.json");
  std::ofstream(dir + "/rows.jsonl") << R"({"body": "One line."})" "\n";
  PrepareOptions o;
  o.input = dir + "/rows.jsonl";
  o.tokenizer = dir + "/tokenizer.json";
  o.out = dir + "/rows.ttshard";
  o.text_field = "body";
  o.assistant_only_loss = false;
  prepare_dataset(o);
  const Tokenizer& tok = PrepareEnv::get().tok;
  TokenShard shard = TokenShard::open(dir + "/rows.ttshard");
  ASSERT_EQ(shard.size(), 1u);
  EXPECT_EQ(to_vec(shard.example(0).tokens), tok.encode("One line.<|end_of_text|>", {.add_bos = true}));
  std::ofstream(dir + "/chat.jsonl") << R"({"messages": [{"role": "user", "content": "hi"}]})" "\n";
  o.input = dir + "/chat.jsonl";
  o.out = dir + "/chat.ttshard";
  try {
    prepare_dataset(o);
    ADD_FAILURE() << "a conversational row without a template";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chat.jsonl:1: conversational rows need a chat template"), std::string::npos)
        << e.what();
  }
}

TEST(PrepareDataset, MaxLengthTruncatesLongerRowsAsTrl) {
  // TRL's truncate_dataset: a row rendering to more than max_length tokens keeps its first
  // max_length tokens and mask entries (the end of the assistant answer goes); no row is dropped.
  std::string dir = testing::make_temp_dir("prepare");
  const auto& env = PrepareEnv::get();
  std::vector<ChatEncoding> full;
  for (const auto& m : env.rows) full.push_back(encode_chat(env.tok, env.chat, m, false));
  std::vector<int64_t> lengths;
  for (const auto& e : full) lengths.push_back(static_cast<int64_t>(e.ids.size()));
  std::vector<int64_t> sorted = lengths;
  std::sort(sorted.begin(), sorted.end());
  int64_t limit = sorted[sorted.size() / 2];
  int64_t longer = std::count_if(lengths.begin(), lengths.end(), [&](int64_t n) { return n > limit; });
  ASSERT_GT(longer, 0);

  PrepareOptions o = base_options(PrepareEnv::fixture_path(), dir + "/short.ttshard");
  o.max_length = limit;
  PrepareSummary s = prepare_dataset(o);
  EXPECT_EQ(s.truncated, longer);
  EXPECT_EQ(s.rows_kept, 256);
  TokenShard shard = TokenShard::open(dir + "/short.ttshard");
  ASSERT_EQ(shard.size(), 256u);
  bool saw_limit = false;
  for (size_t i = 0; i < lengths.size(); ++i) {
    ShardExample e = shard.example(i);
    const int64_t keep = std::min(lengths[i], limit);
    saw_limit |= lengths[i] == limit;
    std::vector<int32_t> head(full[i].ids.begin(), full[i].ids.begin() + keep);
    std::vector<uint8_t> mask_head(full[i].assistant_mask.begin(), full[i].assistant_mask.begin() + keep);
    ASSERT_EQ(to_vec(e.tokens), head) << "row " << i;
    ASSERT_EQ(to_vec(e.loss_mask), mask_head) << "row " << i;
    if (lengths[i] > limit) EXPECT_EQ(static_cast<int64_t>(e.tokens.size()), limit) << "row " << i;
  }
  EXPECT_TRUE(saw_limit);
}

TEST(PrepareDataset, TruncationMatchesTrlFixture) {
  // tests/fixtures/sft/truncate/cases.json: TRL's truncate_dataset applied by tools/gen_sft_fixtures.py.
  const nlohmann::json cases = read_json_file(testing::fixture_dir() + "/sft/truncate/cases.json");
  ASSERT_GT(cases["cases"].size(), 0u);
  for (const auto& c : cases["cases"]) {
    auto ids = c["input_ids"].get<std::vector<int32_t>>();
    auto mask = c["completion_mask"].get<std::vector<uint8_t>>();
    const bool cut = truncate_to_max_length(ids, mask, c["max_length"].get<int64_t>());
    EXPECT_EQ(ids, c["expected_input_ids"].get<std::vector<int32_t>>()) << c.dump();
    EXPECT_EQ(mask, c["expected_completion_mask"].get<std::vector<uint8_t>>()) << c.dump();
    EXPECT_EQ(cut, c["truncated"].get<bool>()) << c.dump();
  }
}

TEST(PrepareSampling, KeepsSharesAndIsDeterministic) {
  // Three sources with 10%, 30% and 60% of the tokens, rows of varied length.
  std::vector<int64_t> lengths;
  std::vector<std::string> sources;
  Rng rng(7);
  for (int i = 0; i < 3000; ++i) {
    int r = i % 10;
    sources.push_back(r == 0 ? "a" : r < 4 ? "b" : "c");
    lengths.push_back(50 + static_cast<int64_t>(rng.below(400)));
  }
  std::map<std::string, int64_t> before;
  int64_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) before[sources[i]] += lengths[i], total += lengths[i];
  int64_t budget = total / 4;

  auto keep = sample_to_budget(lengths, sources, budget, 42);
  std::map<std::string, int64_t> after;
  int64_t kept = 0;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) after[sources[i]] += lengths[i], kept += lengths[i];
  EXPECT_LE(kept, budget);
  EXPECT_GT(kept, budget - 3 * 450);  // each source ends less than one row short
  for (const auto& [name, tokens] : before) {
    double target = static_cast<double>(budget) * tokens / total;
    EXPECT_LE(after[name], target) << name;
    EXPECT_GT(after[name], target - 450) << name;
    EXPECT_NEAR(static_cast<double>(after[name]) / kept, static_cast<double>(tokens) / total, 0.01) << name;
  }
  EXPECT_EQ(sample_to_budget(lengths, sources, budget, 42), keep);
  EXPECT_NE(sample_to_budget(lengths, sources, budget, 43), keep);
  // A budget above the total keeps everything.
  auto all = sample_to_budget(lengths, sources, total, 1);
  EXPECT_EQ(std::accumulate(all.begin(), all.end(), 0), 3000);
}

TEST(PrepareDataset, BudgetOnFixtureKeepsSharesAndIsDeterministic) {
  std::string dir = testing::make_temp_dir("prepare");
  // The fixture relabelled into two sources: every 4th row "small", the rest "large".
  std::string input = dir + "/two.jsonl";
  {
    std::ofstream out(input);
    const auto& env = PrepareEnv::get();
    for (size_t i = 0; i < env.rows.size(); ++i)
      out << nlohmann::ordered_json{{"messages", env.rows[i]}, {"dataset_source", i % 4 == 0 ? "small" : "large"}}.dump() << "\n";
  }
  PrepareSummary full = prepare_dataset(base_options(input, dir + "/full.ttshard"));
  PrepareOptions o = base_options(input, dir + "/b1.ttshard");
  o.token_budget = full.total_tokens / 3;
  PrepareSummary s1 = prepare_dataset(o);
  EXPECT_LE(s1.total_tokens, o.token_budget);
  EXPECT_GT(s1.total_tokens, o.token_budget - 2 * 1024);
  EXPECT_EQ(s1.dropped_budget, 256 - s1.rows_kept);
  for (const char* name : {"small", "large"}) {
    double share_before = static_cast<double>(full.per_source.at(name).tokens_kept) / full.total_tokens;
    double share_after = static_cast<double>(s1.per_source.at(name).tokens_kept) / s1.total_tokens;
    EXPECT_NEAR(share_after, share_before, 0.02) << name;
  }
  o.out = dir + "/b2.ttshard";
  prepare_dataset(o);
  EXPECT_EQ(read_file(dir + "/b1.ttshard"), read_file(dir + "/b2.ttshard"));
  o.out = dir + "/b3.ttshard";
  o.seed = 7;
  prepare_dataset(o);
  EXPECT_NE(read_file(dir + "/b1.ttshard"), read_file(dir + "/b3.ttshard"));
}

TEST(PrepareDataset, CacheReusedAndInvalidated) {
  std::string dir = testing::make_temp_dir("prepare");
  PrepareOptions o = base_options(PrepareEnv::fixture_path(), dir + "/out1.ttshard");
  o.cache_dir = dir + "/cache";
  PrepareSummary first = prepare_dataset(o);
  EXPECT_FALSE(first.cache_hit);
  EXPECT_EQ(first.shard_path, dir + "/out1.ttshard");

  o.out = dir + "/out2.ttshard";
  PrepareSummary second = prepare_dataset(o);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.cache_key, first.cache_key);
  EXPECT_EQ(second.total_tokens, first.total_tokens);
  EXPECT_EQ(read_file(dir + "/out1.ttshard"), read_file(dir + "/out2.ttshard"));
  EXPECT_TRUE(file_exists(dir + "/out2.ttshard.summary.json"));

  o.max_length = 200;  // an option that changes the result gives a new key
  PrepareSummary third = prepare_dataset(o);
  EXPECT_FALSE(third.cache_hit);
  EXPECT_NE(third.cache_key, first.cache_key);
  o.max_length = 1024;
  o.assistant_only_loss = false;
  EXPECT_FALSE(prepare_dataset(o).cache_hit);

  // Changed input bytes: a new key too.
  std::string copy = dir + "/copy.jsonl";
  std::ofstream(copy) << read_file(PrepareEnv::fixture_path()) << "\n";  // a trailing blank line
  o = base_options(copy, dir + "/out3.ttshard");
  o.cache_dir = dir + "/cache";
  PrepareSummary fourth = prepare_dataset(o);
  EXPECT_FALSE(fourth.cache_hit);
  EXPECT_NE(fourth.cache_key, first.cache_key);

  // A corrupt cache entry is rebuilt, not trusted.
  std::string entry = dir + "/cache/prepare-" + first.cache_key + ".ttshard";
  ASSERT_TRUE(file_exists(entry));
  std::filesystem::remove(entry);
  std::ofstream(entry) << "garbage";
  o = base_options(PrepareEnv::fixture_path(), dir + "/out4.ttshard");
  o.cache_dir = dir + "/cache";
  EXPECT_FALSE(prepare_dataset(o).cache_hit);
  EXPECT_EQ(read_file(dir + "/out1.ttshard"), read_file(dir + "/out4.ttshard"));
}

TEST(PrepareDataset, DirectoryInputEqualsConcatenation) {
  std::string dir = testing::make_temp_dir("prepare");
  std::string text = read_file(PrepareEnv::fixture_path());
  size_t cut = 0;
  for (int i = 0; i < 100; ++i) cut = text.find('\n', cut) + 1;
  std::filesystem::create_directories(dir + "/parts");
  std::ofstream(dir + "/parts/part-000.jsonl") << text.substr(0, cut);
  std::ofstream(dir + "/parts/part-001.jsonl") << text.substr(cut);
  std::ofstream(dir + "/parts/README.md") << "not data";
  PrepareSummary s = prepare_dataset(base_options(dir + "/parts", dir + "/parts.ttshard"));
  EXPECT_EQ(s.rows_read, 256);
  prepare_dataset(base_options(PrepareEnv::fixture_path(), dir + "/whole.ttshard"));
  TokenShard a = TokenShard::open(dir + "/parts.ttshard"), b = TokenShard::open(dir + "/whole.ttshard");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(to_vec(a.example(i).tokens), to_vec(b.example(i).tokens));
}

TEST(PrepareDataset, SourceFilterAndStudySourceList) {
  std::string path = testing::shared_dir() + "/reference/tiny-think/data-sources/sft_source_values.txt";
  auto names = read_source_list(path);
  EXPECT_EQ(names, (std::vector<std::string>{"allenai/SYNTHETIC-2-SFT-cn-fltrd-final-ngram-filtered-chinese-filtered", "gsm8k",
                                             "saumyamalik/OpenThoughts3-full-filtered-math-decontam-v2",
                                             "saumyamalik/OpenThoughts3-full-filtered-science-decontam-v2"}));
  std::string dir = testing::make_temp_dir("prepare");
  PrepareOptions o = base_options(PrepareEnv::fixture_path(), dir + "/a.ttshard");
  o.sources = names;
  PrepareSummary kept = prepare_dataset(o);
  EXPECT_EQ(kept.rows_kept, 256);
  o.sources = {"tulu-3-sft-personas-math"};
  PrepareSummary none = prepare_dataset(o);
  EXPECT_EQ(none.rows_kept, 0);
  EXPECT_EQ(none.dropped_source, 256);
  EXPECT_EQ(TokenShard::open(dir + "/a.ttshard").size(), 0u);
}

}  // namespace
}  // namespace tt
