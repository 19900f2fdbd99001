// Multiple-choice scoring (Task::score_choices, lm-eval's process_results for multiple_choice) and
// the shared helpers of src/eval/task_multiple_choice.h.
#include "eval/task_multiple_choice.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/eval_test_util.h"
#include "eval/task_families.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

namespace {

// An ARC document made by hand: its choices are " <text>", its gold the label of answerKey.
Doc arc_doc(const std::vector<std::string>& texts, int gold) {
  Doc doc;
  doc.fields["id"] = "hand";
  doc.fields["question"] = "Which?";
  nlohmann::ordered_json labels = nlohmann::ordered_json::array();
  for (size_t i = 0; i < texts.size(); ++i) labels.push_back(std::string(1, static_cast<char>('A' + i)));
  doc.fields["choices"] = {{"text", texts}, {"label", labels}};
  doc.fields["answerKey"] = labels[gold];
  return doc;
}

const Task& arc_challenge() {
  static const std::unique_ptr<Task> task = make_arc_task("arc_challenge", shared_options());
  return *task;
}

}  // namespace

TEST(MultipleChoiceScore, AccPicksHighestLoglikelihoodAccNormPerCharacter) {
  // " a" and " abc": lm-eval divides by len("a") = 1 and len("abc") = 3 (the choices without the
  // target delimiter). -1/1 < -2.5/3, so acc_norm picks "abc" while acc picks "a". Counting the
  // leading space (2 and 4) would pick "a" for both.
  const Doc doc = arc_doc({"a", "abc"}, 1);
  const DocScore score = arc_challenge().score_choices(doc, {-1.0, -2.5});
  EXPECT_EQ(score.metrics.at("acc,none"), std::vector<double>{0.0});
  EXPECT_EQ(score.metrics.at("acc_norm,none"), std::vector<double>{1.0});
  EXPECT_EQ(score.filtered["none"], 0);
  EXPECT_EQ(score.extra["pred_norm"], 1);
  EXPECT_EQ(score.extra["loglikelihoods"], nlohmann::ordered_json::array({-1.0, -2.5}));

  const DocScore other = arc_challenge().score_choices(arc_doc({"a", "abc"}, 0), {-1.0, -2.5});
  EXPECT_EQ(other.metrics.at("acc,none"), std::vector<double>{1.0});
  EXPECT_EQ(other.metrics.at("acc_norm,none"), std::vector<double>{0.0});
}

TEST(MultipleChoiceScore, LengthIsPythonCharactersNotBytes) {
  // "éé" is 2 characters (4 bytes): -2/2 = -1 < -2.7/3 = -0.9, so acc_norm picks "abc";
  // by bytes (-0.5) it would pick "éé".
  const DocScore score = arc_challenge().score_choices(arc_doc({"\xC3\xA9\xC3\xA9", "abc"}, 1), {-2.0, -2.7});
  EXPECT_EQ(score.metrics.at("acc,none"), std::vector<double>{0.0});
  EXPECT_EQ(score.metrics.at("acc_norm,none"), std::vector<double>{1.0});
  // py::len itself: python_compat_test.cpp.
}

TEST(MultipleChoiceScore, TiesGoToTheFirstMaximumLikeNumpyArgmax) {
  const Doc doc = arc_doc({"x", "y", "z"}, 1);
  DocScore score = arc_challenge().score_choices(doc, {-3.0, -1.0, -1.0});
  EXPECT_EQ(score.filtered["none"], 1);
  EXPECT_EQ(score.metrics.at("acc,none"), std::vector<double>{1.0});
  score = arc_challenge().score_choices(arc_doc({"x", "y", "z"}, 2), {-3.0, -1.0, -1.0});
  EXPECT_EQ(score.metrics.at("acc,none"), std::vector<double>{0.0});
  // np.argmax returns the first NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  score = arc_challenge().score_choices(doc, {-3.0, nan, 0.0});
  EXPECT_EQ(score.filtered["none"], 1);
  EXPECT_EQ(score.extra["pred_norm"], 1);
}

TEST(MultipleChoiceScore, WrongNumberOfLoglikelihoodsIsAnError) {
  EXPECT_THROW(arc_challenge().score_choices(arc_doc({"x", "y"}, 0), {-1.0}), tt::Error);
}

TEST(MultipleChoiceScore, MmluReportsAccOnly) {
  const auto task = make_mmlu_task("mmlu_anatomy", shared_options());
  const Doc& doc = task->docs()[0];
  std::vector<double> lls(4, -2.0);
  lls[task->gold_index(doc)] = -1.0;
  const DocScore score = task->score_choices(doc, lls);
  EXPECT_EQ(score.metrics.size(), 1u);
  EXPECT_EQ(score.metrics.at("acc,none"), std::vector<double>{1.0});
  EXPECT_EQ(score.filtered["none"], task->gold_index(doc));
}

TEST(MultipleChoicePrompt, PlainTextAndChatTurns) {
  const Prompt p = multiple_choice_prompt("Desc.\n\n", {{"Q1?", "a1"}, {"Q2?", "a2"}}, "Q3?", " ", "\n\n");
  EXPECT_EQ(p.text, "Desc.\n\nQ1? a1\n\nQ2? a2\n\nQ3?");
  EXPECT_FALSE(p.chat_native);
  const nlohmann::ordered_json expected = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Desc.\n\n"},
    {"role": "user", "content": "Q1?"}, {"role": "assistant", "content": "a1"},
    {"role": "user", "content": "Q2?"}, {"role": "assistant", "content": "a2"},
    {"role": "user", "content": "Q3?"}])");
  EXPECT_EQ(p.messages, expected);
  const Prompt bare = multiple_choice_prompt("", {}, "Q?", " ", "\n\n");
  EXPECT_EQ(bare.text, "Q?");
  EXPECT_EQ(bare.messages, nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Q?"}])"));
}

// random.Random, which picks the few-shot examples: python_compat_test.cpp.
