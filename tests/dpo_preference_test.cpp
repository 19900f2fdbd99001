// Preference data: TRL's tokenization with the study's template and the Llama-3 tokenizer, the
// truncation rules, and bad input counted by reason.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "tests/error_of.h"
#include "tests/test_util.h"
#include "train/dpo.h"
#include "train/preference.h"

namespace tt {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kBos = 128000, kStart = 128006, kEnd = 128007, kEot = 128009, kEndOfText = 128001;
constexpr int32_t kSystem = 9125, kUser = 882, kAssistant = 78191, kNewlines = 271, kNewline = 198;  // "system" "user" "assistant" "\n\n" "\n"

struct Shared {
  std::string tokenizer, chat_template, pairs;
  bool present() const { return fs::exists(tokenizer) && fs::exists(chat_template) && fs::exists(pairs); }
};

Shared shared() {
  const std::string s = testing::shared_dir();
  return {s + "/data/tokenizer/llama3/tokenizer.json", s + "/reference/tiny-think/chat_template.jinja",
          s + "/data/fixtures/gsm8k_test_preference_pairs.chat.jsonl"};
}

std::vector<nlohmann::ordered_json> first_rows(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::vector<nlohmann::ordered_json> rows;
  std::string line;
  while (rows.size() < n && std::getline(in, line)) rows.push_back(nlohmann::ordered_json::parse(line));
  return rows;
}

std::vector<int32_t> cat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

PreferenceOptions study_options(const Shared& s) {
  PreferenceOptions o;
  o.tokenizer = s.tokenizer;
  o.chat_template = s.chat_template;
  o.max_prompt_length = 2048;
  o.max_completion_length = 2048;
  o.max_length = 4096;
  return o;
}

// The boundaries derived by hand from the rules (preference.h) and the template as Jinja renders it
// (trim_blocks, lstrip_blocks): the template writes "\n\n\n" after BOS and "\n\n" after the system
// turn; the user turn's <|eot_id|> is followed by "\n" + the assistant header with the generation
// prompt but directly by the assistant header in the training text, and the training text ends with
// "<|eot_id|>\n". So the prompt is everything up to and including the user's <|eot_id|>, and each
// completion is  assistant header, "\n\n", the answer, <|eot_id|>, "\n"  — no EOS after it: TRL
// 0.27.2 and later append tokenizer.eos_token_id to text completions only (0.27.1 and earlier added
// the bare Llama-3 tokenizer's <|end_of_text|> here too, fixed upstream as a bug).
TEST(PreferenceTokenization, StudyTemplateSplitsPromptAndCompletionAsTrl) {
  Shared s = shared();
  if (!s.present()) GTEST_SKIP() << "shared data not present";
  PreferenceOptions o = study_options(s);
  PreferenceTokenizer pt(o);
  EXPECT_EQ(pt.eos_id(), kEndOfText);
  const Tokenizer& tok = pt.tokenizer();
  const std::string system =
      "Respond with your reasoning wrapped in <think>...</think>, then provide the final answer within \\\\boxed{}.";
  // expected (prompt, chosen, rejected) lengths of the first four pairs
  const std::vector<std::array<size_t, 3>> lengths = {{98, 117, 135}, {60, 83, 146}, {68, 50, 54}, {142, 115, 90}};
  const std::vector<int32_t> three_newlines = tok.encode("\n\n\n");
  ASSERT_EQ(three_newlines.size(), 1u);
  auto rows = first_rows(s.pairs, lengths.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    TokenizedPair t = pt.tokenize(row);
    ASSERT_EQ(t.issue, PairIssue::None) << i;
    const std::string question = row["prompt"][0]["content"].get<std::string>();
    std::vector<int32_t> prompt = cat({{kBos}, three_newlines, {kStart, kSystem, kEnd, kNewlines}, tok.encode(system),
                                       {kEot, kNewlines, kStart, kUser, kEnd, kNewlines}, tok.encode(trim(question)), {kEot}});
    auto completion = [&](const char* key) {
      return cat({{kStart, kAssistant, kEnd, kNewlines}, tok.encode(trim(row[key][0]["content"].get<std::string>())),
                  {kEot, kNewline}});
    };
    EXPECT_EQ(t.pair.prompt, prompt) << i;
    EXPECT_EQ(t.pair.chosen, completion("chosen")) << i;
    EXPECT_EQ(t.pair.rejected, completion("rejected")) << i;
    EXPECT_EQ(t.pair.prompt.size(), lengths[i][0]) << i;
    EXPECT_EQ(t.pair.chosen.size(), lengths[i][1]) << i;
    EXPECT_EQ(t.pair.rejected.size(), lengths[i][2]) << i;
    // the text view: the prompt ends at the last <|eot_id|>, completions start at the assistant header
    PairTexts texts = pt.texts(row);
    EXPECT_EQ(texts.prompt.substr(texts.prompt.size() - 10), "<|eot_id|>");
    EXPECT_EQ(texts.chosen.rfind("<|start_header_id|>assistant<|end_header_id|>\n\n", 0), 0u);
    EXPECT_EQ(texts.chosen.substr(texts.chosen.size() - 11), "<|eot_id|>\n");

    // the implicit-prompt form (full conversations) tokenizes identically
    nlohmann::ordered_json implicit = {{"chosen", row["prompt"]}, {"rejected", row["prompt"]}};
    implicit["chosen"].push_back(row["chosen"][0]);
    implicit["rejected"].push_back(row["rejected"][0]);
    TokenizedPair u = pt.tokenize(implicit);
    EXPECT_EQ(u.pair.prompt, t.pair.prompt);
    EXPECT_EQ(u.pair.chosen, t.pair.chosen);
    EXPECT_EQ(u.pair.rejected, t.pair.rejected);
  }
}

// Plain-text pairs (no chat template): TRL's tokenize_row appends tokenizer.eos_token_id to each
// completion, an empty one too; the prompt is taken as it is.
TEST(PreferenceTokenization, TextCompletionsGetEosAppended) {
  Shared s = shared();
  if (!s.present()) GTEST_SKIP() << "shared data not present";
  PreferenceTokenizer pt(study_options(s));
  const Tokenizer& tok = pt.tokenizer();
  const nlohmann::ordered_json row = {{"prompt", "Question: 2+2?\nAnswer:"}, {"chosen", " 4"}, {"rejected", ""}};
  TokenizedPair t = pt.tokenize(row);
  EXPECT_EQ(t.pair.prompt, tok.encode("Question: 2+2?\nAnswer:"));
  EXPECT_EQ(t.pair.chosen, cat({tok.encode(" 4"), {kEndOfText}}));
  EXPECT_EQ(t.pair.rejected, std::vector<int32_t>{kEndOfText});
  EXPECT_TRUE(t.empty_completion);
}

// The other preference forms TRL reads (data_utils 0.27.2): text pairs with an implicit prompt
// (extract_prompt by characters, a space before the difference moved into the completions), a text
// prompt next to message lists (ignored: the prompt is extracted), a prompt ending with an assistant
// message (continue_final_message), chat_template_kwargs per row; a prompt ending with a system
// message is an error, as in TRL.
TEST(PreferenceTokenization, TrlsOtherPairFormats) {
  Shared s = shared();
  if (!s.present()) GTEST_SKIP() << "shared data not present";
  PreferenceTokenizer pt(study_options(s));
  auto texts = [&](const char* json) { return pt.texts(nlohmann::ordered_json::parse(json)); };
  PairTexts t = texts(R"({"chosen": "Q: 2+2? A: 4", "rejected": "Q: 2+2? A: 5"})");
  EXPECT_EQ(t.prompt, "Q: 2+2? A:");
  EXPECT_EQ(t.chosen, " 4");
  EXPECT_EQ(t.rejected, " 5");
  EXPECT_FALSE(t.conversational);
  t = texts(R"({"chosen": "x \u00e9t\u00e9", "rejected": "x \u00e8re"})");  // é and è share their first byte
  EXPECT_EQ(t.prompt, "x");
  EXPECT_EQ(t.chosen, " \u00e9t\u00e9");
  t = texts(R"({"chosen": "abc", "rejected": "abcd"})");  // no difference: up to the shorter's last character
  EXPECT_EQ(t.prompt, "ab");
  EXPECT_EQ(t.chosen, "c");
  EXPECT_EQ(t.rejected, "cd");

  const char* conversation = R"({"chosen": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
                                 "rejected": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}]})";
  auto with_text_prompt = nlohmann::ordered_json::parse(conversation);
  with_text_prompt["prompt"] = "this text prompt is ignored";
  const PairTexts implicit = texts(conversation), ignored = pt.texts(with_text_prompt);
  EXPECT_EQ(ignored.prompt, implicit.prompt);
  EXPECT_EQ(ignored.chosen, implicit.chosen);
  EXPECT_NE(implicit.prompt.find("2+2?"), std::string::npos);

  t = texts(R"({"prompt": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "The answer is"}],
                "chosen": [{"role": "assistant", "content": " 4"}], "rejected": [{"role": "assistant", "content": " 5"}]})");
  EXPECT_EQ(t.prompt.substr(t.prompt.size() - 13), "The answer is") << t.prompt;
  EXPECT_NE(t.chosen, t.rejected);

  const std::string error = tt::testing::error_of([&] {
    texts(R"({"prompt": [{"role": "system", "content": "be brief"}], "chosen": [{"role": "assistant", "content": "4"}],
              "rejected": [{"role": "assistant", "content": "5"}]})");
  });
  EXPECT_EQ(error, "invalid role in the prompt's last message: 'system' (TRL takes user, tool or assistant)");

  // chat_template_kwargs reach the template (a template that reads one)
  const std::string dir = testing::make_temp_dir("pref-kwargs");
  std::ofstream(dir + "/t.jinja") << "{% for m in messages %}{{ m.role }}: {{ m.content }}{% if mark is defined %}{{ mark }}"
                                     "{% endif %}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
  PreferenceOptions o = study_options(s);
  o.chat_template = dir + "/t.jinja";
  PreferenceTokenizer custom(o);
  auto row = nlohmann::ordered_json::parse(conversation);
  row["chat_template_kwargs"] = {{"mark", "!"}};
  const PairTexts marked = custom.texts(row);
  EXPECT_EQ(marked.prompt, "user: 2+2?!assistant:");  // trim_blocks takes the newline after a block tag
  EXPECT_EQ(marked.chosen, " 4!");
}

// max_prompt_length keeps the prompt's last tokens, max_completion_length the completions' first,
// max_length the first tokens of prompt + completion under keep_start, the last under keep_end.
TEST(PreferenceTokenization, TruncationRules) {
  Shared s = shared();
  if (!s.present()) GTEST_SKIP() << "shared data not present";
  auto row = first_rows(s.pairs, 1)[0];
  PreferenceOptions o = study_options(s);
  TokenizedPair full = PreferenceTokenizer(o).tokenize(row);
  o.max_prompt_length = 10;
  o.max_completion_length = 5;
  o.max_length = 13;
  o.truncation_mode = TruncationMode::KeepStart;
  TokenizedPair t = PreferenceTokenizer(o).tokenize(row);
  ASSERT_EQ(t.issue, PairIssue::None);
  EXPECT_TRUE(t.prompt_truncated);
  EXPECT_TRUE(t.completion_truncated);
  EXPECT_EQ(t.pair.prompt, std::vector<int32_t>(full.pair.prompt.end() - 10, full.pair.prompt.end()));
  EXPECT_EQ(t.pair.chosen, std::vector<int32_t>(full.pair.chosen.begin(), full.pair.chosen.begin() + 3));
  EXPECT_EQ(t.pair.rejected, std::vector<int32_t>(full.pair.rejected.begin(), full.pair.rejected.begin() + 3));
  o.truncation_mode = TruncationMode::KeepEnd;  // TRL's default: the prompt's start goes, the completions stay
  TokenizedPair e = PreferenceTokenizer(o).tokenize(row);
  ASSERT_EQ(e.issue, PairIssue::None);
  EXPECT_EQ(e.pair.chosen, std::vector<int32_t>(full.pair.chosen.begin(), full.pair.chosen.begin() + 5));
  EXPECT_EQ(e.pair.chosen_prompt_skip, 2);
  EXPECT_EQ(std::vector<int32_t>(e.pair.prompt_of(true).begin(), e.pair.prompt_of(true).end()),
            std::vector<int32_t>(full.pair.prompt.end() - 8, full.pair.prompt.end()));
  o.drop_long_prompts = true;
  EXPECT_EQ(PreferenceTokenizer(o).tokenize(row).issue, PairIssue::PromptTooLong);
}

// Bad pairs are counted by reason and never trained on; malformed lines are named file:line.
TEST(PreferenceData, BadInputIsCountedByReason) {
  Shared s = shared();
  if (!s.present()) GTEST_SKIP() << "shared data not present";
  std::string dir = testing::make_temp_dir("pref-bad");
  std::string path = dir + "/pairs.jsonl";
  auto msg = [](const char* role, const std::string& text) { return nlohmann::ordered_json{{"role", role}, {"content", text}}; };
  auto pair = [&](const std::string& q, const std::string& c, const std::string& r) {
    return nlohmann::ordered_json{{"prompt", nlohmann::ordered_json::array({msg("user", q)})},
                                  {"chosen", nlohmann::ordered_json::array({msg("assistant", c)})},
                                  {"rejected", nlohmann::ordered_json::array({msg("assistant", r)})}}.dump();
  };
  std::string long_question;
  for (int i = 0; i < 150; ++i) long_question += " seven";
  std::ofstream(path) << pair("What is 2+2?", "4", "5") << "\n"                   // 1 good
                      << pair("What is 2+2?", "4", "4") << "\n"                   // 2 identical: kept
                      << pair("What is 2+2?", "", "5") << "\n"                    // 3 empty completion: kept
                      << pair(long_question, "4", "5") << "\n"  // 4 prompt too long (drop_long_prompts)
                      << "{not json\n"                                            // 5 malformed
                      << R"({"prompt": [{"role": "user", "content": "q"}], "chosen": []})" << "\n"  // 6 malformed
                      << "\n"
                      << pair("And 3+3?", "6", "7") << "\n";                      // 8 good
  PreferenceOptions o = study_options(s);
  o.max_length = 200;
  o.max_prompt_length = 100;
  o.drop_long_prompts = true;
  // By default (dataset.on_error: fail) the first malformed line stops the load, naming it.
  try {
    load_preference_data(path, o);
    ADD_FAILURE() << "a malformed line loaded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ":5: ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("on_error: skip"), std::string::npos) << e.what();
  }
  o.skip_bad_lines = true;
  PreferenceData data = load_preference_data(path, o);
  const PreferenceSummary& sum = data.summary;
  EXPECT_EQ(sum.rows_read, 7);
  EXPECT_EQ(sum.pairs_kept, 4);
  EXPECT_EQ(data.pairs.size(), 4u);
  EXPECT_EQ(sum.identical_pairs, 1);
  EXPECT_EQ(sum.empty_completions, 0);  // "" renders the assistant header and <|eot_id|>: not empty
  EXPECT_EQ(data.pairs[1].chosen, data.pairs[1].rejected);
  EXPECT_EQ(data.pairs[2].chosen.back(), data.pairs[0].chosen.back());  // it ends as any completion does
  EXPECT_EQ(sum.dropped_prompt_too_long, 1);
  EXPECT_EQ(sum.bad_lines, 2);
  ASSERT_EQ(sum.bad_line_messages.size(), 2u);
  EXPECT_EQ(sum.bad_line_messages[0].rfind(path + ":5: ", 0), 0u) << sum.bad_line_messages[0];
  EXPECT_EQ(sum.bad_line_messages[1].rfind(path + ":6: ", 0), 0u) << sum.bad_line_messages[1];
  std::string text = sum.to_text();
  for (const char* reason : {"chosen == rejected", "prompt longer than its budget", "malformed"})
    EXPECT_NE(text.find(reason), std::string::npos) << reason;
}

// Pre-tokenized pairs are taken as they are (their completions already end with EOS), filtered
// and truncated by the same rules.
TEST(PreferenceData, PretokenizedPairs) {
  std::string dir = testing::make_temp_dir("pref-ids");
  std::string path = dir + "/pairs.jsonl";
  std::ofstream(path) << R"({"prompt_ids": [5, 6, 7], "chosen_ids": [8, 9, 2], "rejected_ids": [10, 2]})" << "\n"
                      << R"({"prompt_ids": [5], "chosen_ids": [8, 2], "rejected_ids": [8, 2]})" << "\n";
  PreferenceOptions o;
  o.max_completion_length = 2;
  PreferenceData data = load_preference_data(path, o);
  ASSERT_EQ(data.pairs.size(), 2u);  // the identical pair is kept, as TRL keeps it
  EXPECT_EQ(data.pairs[0].chosen, (std::vector<int32_t>{8, 9}));
  EXPECT_EQ(data.summary.identical_pairs, 1);
  // the batch: chosen rows then rejected rows, targets on completion tokens only
  Batch b = make_pair_batch({&data.pairs[0]}, 0);
  EXPECT_EQ(b.rows, 2);
  EXPECT_EQ(b.seq, 5);
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{5, 6, 7, 8, 9, 5, 6, 7, 10, 2}));
  EXPECT_EQ(b.targets, (std::vector<int32_t>{-100, -100, 8, 9, -100, -100, -100, 10, 2, -100}));
}

}  // namespace
}  // namespace tt
