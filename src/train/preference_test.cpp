// DPO truncation against TRL 0.27's own code (tools/gen_dpo_truncation_fixture.py runs tokenize_row,
// the collator's padding and concatenated_forward's flush-and-truncate on the same pairs).
#include "train/preference.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "tests/test_util.h"

namespace tt {
namespace {

nlohmann::json truncation_cases() {
  return read_json_file(testing::fixture_dir() + "/dpo_truncation/cases.json");
}

std::vector<int32_t> ids_of(const nlohmann::json& v) { return v.get<std::vector<int32_t>>(); }

int64_t limit(const nlohmann::json& v) { return v.is_null() ? -1 : v.get<int64_t>(); }

PreferenceOptions options_of(const nlohmann::json& c) {
  PreferenceOptions o;
  o.max_prompt_length = limit(c["max_prompt_length"]);
  o.max_completion_length = limit(c["max_completion_length"]);
  o.max_length = limit(c["max_length"]);
  return o;  // truncation_mode: the default
}

// Our sequences of one pair as TRL's rows: prompt + completion, and 1 on the completion tokens.
void expect_rows_equal(const PreferencePair& p, const nlohmann::json& chosen_row, const nlohmann::json& rejected_row,
                       const std::string& what) {
  for (bool chosen_side : {true, false}) {
    const auto prompt = p.prompt_of(chosen_side);
    const auto& completion = chosen_side ? p.chosen : p.rejected;
    std::vector<int32_t> ids(prompt.begin(), prompt.end());
    ids.insert(ids.end(), completion.begin(), completion.end());
    std::vector<int> loss_mask(prompt.size(), 0);
    loss_mask.resize(ids.size(), 1);
    const nlohmann::json& row = chosen_side ? chosen_row : rejected_row;
    EXPECT_EQ(ids, ids_of(row["input_ids"])) << what << (chosen_side ? " chosen" : " rejected");
    EXPECT_EQ(loss_mask, row["loss_mask"].get<std::vector<int>>()) << what << (chosen_side ? " chosen" : " rejected");
  }
}

// Every case of the fixture: the kept tokens of prompt + chosen and prompt + rejected are TRL's.
TEST(PreferenceTruncation, KeepsTheTokensTrlKeeps) {
  const nlohmann::json fixture = truncation_cases();
  const int32_t eos = fixture["eos_id"].get<int32_t>();
  ASSERT_GE(fixture["cases"].size(), 14u);
  for (const auto& c : fixture["cases"]) {
    PreferenceOptions o = options_of(c);
    o.truncation_mode = parse_truncation_mode(c["truncation_mode"].get<std::string>(), "fixture");
    const auto& pairs = c["pairs"];
    const auto& rows = c["rows"];
    ASSERT_EQ(rows.size(), 2 * pairs.size());
    for (size_t i = 0; i < pairs.size(); ++i) {
      PreferencePair pair{ids_of(pairs[i]["prompt_ids"]), ids_of(pairs[i]["chosen_ids"]), ids_of(pairs[i]["rejected_ids"])};
      TokenizedPair t = finish_pair(std::move(pair), o, eos);
      ASSERT_EQ(t.issue, PairIssue::None) << c["name"];  // TRL drops nothing for length
      expect_rows_equal(t.pair, rows[i], rows[pairs.size() + i], fmt::format("{} pair {}", c["name"].get<std::string>(), i));
    }
  }
}

// The default is TRL's keep_end: the fixture's keep_end rows come out with the mode left unset, and
// they differ from keep_start's wherever max_length cut something.
TEST(PreferenceTruncation, DefaultIsKeepEnd) {
  EXPECT_EQ(PreferenceOptions{}.truncation_mode, TruncationMode::KeepEnd);
  const nlohmann::json fixture = truncation_cases();
  const int32_t eos = fixture["eos_id"].get<int32_t>();
  int differing_cases = 0;
  for (size_t k = 0; k + 1 < fixture["cases"].size(); k += 2) {
    const auto& keep_end = fixture["cases"][k];
    const auto& keep_start = fixture["cases"][k + 1];
    ASSERT_EQ(keep_end["truncation_mode"], "keep_end");
    ASSERT_EQ(keep_start["truncation_mode"], "keep_start");
    differing_cases += keep_end["rows"] != keep_start["rows"];
    const PreferenceOptions o = options_of(keep_end);  // mode not set
    const auto& pairs = keep_end["pairs"];
    for (size_t i = 0; i < pairs.size(); ++i) {
      PreferencePair pair{ids_of(pairs[i]["prompt_ids"]), ids_of(pairs[i]["chosen_ids"]), ids_of(pairs[i]["rejected_ids"])};
      expect_rows_equal(finish_pair(std::move(pair), o, eos).pair, keep_end["rows"][i],
                        keep_end["rows"][pairs.size() + i], keep_end["name"].get<std::string>());
    }
  }
  EXPECT_EQ(differing_cases, 6);  // all but max_length 100, which cuts nothing
}

// A prompt longer than max_length: keep_end keeps the whole completion after the prompt's last
// tokens (different tails for chosen and rejected); keep_start keeps the prompt's first tokens and
// no completion - the pair stays, as in TRL.
TEST(PreferenceTruncation, PromptLongerThanMaxLength) {
  const std::vector<int32_t> prompt = {10, 11, 12, 13, 14, 15, 16, 17};
  PreferenceOptions o;
  o.max_prompt_length = -1;
  o.max_length = 5;
  TokenizedPair end = finish_pair({prompt, {20, 2}, {30, 31, 2}}, o, 2);
  ASSERT_EQ(end.issue, PairIssue::None);
  EXPECT_TRUE(end.prompt_truncated);
  EXPECT_FALSE(end.completion_truncated);
  EXPECT_EQ(std::vector<int32_t>(end.pair.prompt_of(true).begin(), end.pair.prompt_of(true).end()),
            (std::vector<int32_t>{15, 16, 17}));
  EXPECT_EQ(std::vector<int32_t>(end.pair.prompt_of(false).begin(), end.pair.prompt_of(false).end()),
            (std::vector<int32_t>{16, 17}));
  EXPECT_EQ(end.pair.chosen, (std::vector<int32_t>{20, 2}));
  EXPECT_EQ(end.pair.rejected, (std::vector<int32_t>{30, 31, 2}));

  o.truncation_mode = TruncationMode::KeepStart;
  TokenizedPair start = finish_pair({prompt, {20, 2}, {30, 31, 2}}, o, 2);
  ASSERT_EQ(start.issue, PairIssue::None);
  EXPECT_EQ(start.pair.prompt, (std::vector<int32_t>{10, 11, 12, 13, 14}));
  EXPECT_TRUE(start.pair.chosen.empty());
  EXPECT_TRUE(start.pair.rejected.empty());
  EXPECT_EQ(start.pair.chosen_prompt_skip + start.pair.rejected_prompt_skip, 0);
}

TEST(PreferenceTruncation, UnknownModeIsAOneLineErrorNamingTheKey) {
  try {
    parse_truncation_mode("keep_middle", "run.yaml: trainer.truncation_mode");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "run.yaml: trainer.truncation_mode: expected keep_end or keep_start, got 'keep_middle'");
  }
}

}  // namespace
}  // namespace tt
