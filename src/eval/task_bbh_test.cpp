// BIG-Bench Hard tasks (task_bbh.cpp): lm-eval's zero-shot and CoT few-shot prompts byte for byte,
// the per-subtask flexible-extract filters of bbh/zeroshot/utils.py, gold targets, load errors.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/eval_test_util.h"
#include "eval/task_families.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

namespace {

// A one-document task whose input is `input`, scored on `response`: the flexible-extract value.
std::string flexible(const std::string& task_name, const std::string& input, const std::string& response) {
  auto task = make_bbh_task(task_name, shared_options());
  Doc doc;
  doc.fields = {{"input", input}, {"target", "x"}};
  return task->score_response(doc, response).filtered["flexible-extract"].get<std::string>();
}

}  // namespace

TEST(TaskBbh, SubtasksInLmEvalOrder) {
  const auto names = bbh_subtasks();
  ASSERT_EQ(names.size(), 27u);
  EXPECT_EQ(names.front(), "boolean_expressions");
  EXPECT_EQ(names[5], "formal_fallacies");
  EXPECT_EQ(names[12], "multistep_arithmetic_two");
  EXPECT_EQ(names.back(), "word_sorting");
}

TEST(TaskBbh, ZeroshotPromptMatchesLmEval) {
  auto task = make_bbh_task("bbh_zeroshot_boolean_expressions", shared_options());
  ASSERT_EQ(task->docs().size(), 250u);
  EXPECT_EQ(task->group(), "bbh_zeroshot");
  const Doc& doc = task->docs()[0];
  const Prompt p = task->prompt(doc);
  EXPECT_EQ(p.text, "Evaluate the result of a random Boolean expression.\n\nQ: not ( True ) and ( True ) is\nA:");
  ASSERT_EQ(p.messages.size(), 2u);
  EXPECT_EQ(p.messages[0]["role"], "system");
  EXPECT_EQ(p.messages[0]["content"], "Evaluate the result of a random Boolean expression.\n\n");
  EXPECT_EQ(p.messages[1]["content"], "Q: not ( True ) and ( True ) is\nA:");
  EXPECT_EQ(task->target(doc), "False");
  EXPECT_EQ(task->generation_defaults().until, (std::vector<std::string>{"</s>", "Q:", "<|im_end|>"}));

  // snarks: a two-paragraph description.
  auto snarks = make_bbh_task("bbh_zeroshot_snarks", shared_options());
  EXPECT_TRUE(snarks->prompt(snarks->docs()[0]).text.starts_with(
      "Determine which of two sentences is sarcastic.\n\nAccording to Cambridge University Dictionary, sarcasm is "
      "\"the use of remarks"));
  EXPECT_NE(snarks->prompt(snarks->docs()[0]).text.find("witty remarks.\n\nQ: "), std::string::npos);
  EXPECT_EQ(snarks->config()["description"], snarks->prompt(snarks->docs()[0]).messages[0]["content"]);
}

TEST(TaskBbh, CotFewshotPromptMatchesLmEval) {
  auto task = make_bbh_task("bbh_cot_fewshot_boolean_expressions", shared_options());
  EXPECT_EQ(task->group(), "bbh_cot_fewshot");
  const Prompt p = task->prompt(task->docs()[0]);
  const std::string start =
      "Evaluate the result of a random Boolean expression.\n\n"
      "Q: not ( ( not not True ) ) is\n"
      "A: Let's think step by step.\n"
      "Remember that (i) expressions inside brackets are always evaluated first and that (ii) the order of "
      "operations from highest priority to lowest priority is \"not\", \"and\", \"or\", respectively.\n"
      "We first simplify this expression \"Z\" as follows: \"Z = not ( ( not not True ) ) = not ( ( A ) )\" where "
      "\"A = not not True\".\n"
      "Let's evaluate A: A = not not True = not (not True) = not False = True.\n"
      "Plugging in A, we get: Z = not ( ( A ) ) = not ( ( True ) ) = not True = False. So the answer is False.\n\n"
      "Q: True and False and not True and True is\n";
  EXPECT_TRUE(p.text.starts_with(start)) << p.text.substr(0, 800);
  EXPECT_TRUE(p.text.ends_with(
      "= not not False = True. So the answer is True.\n\nQ: not ( True ) and ( True ) is\nA: Let's think step by step.\n"))
      << p.text.substr(p.text.size() - 200);
  ASSERT_EQ(p.messages.size(), 8u);  // system, 3 x (user, assistant), user
  EXPECT_EQ(p.messages[1]["content"], "Q: not ( ( not not True ) ) is\nA: Let's think step by step.\n");
  EXPECT_TRUE(p.messages[2]["content"].get<std::string>().ends_with("So the answer is False."));
  EXPECT_EQ(task->generation_defaults().max_gen_toks, 1024);
  EXPECT_EQ(task->metric_keys(), std::vector<std::string>{"exact_match,get-answer"});

  // sports_understanding's prompt file has a space after the cue; lm-eval's samples start a new line.
  auto sports = make_bbh_task("bbh_cot_fewshot_sports_understanding", shared_options());
  EXPECT_TRUE(sports->prompt(sports->docs()[0]).text.starts_with(
      "Determine whether an artificially constructed sentence relating to sports is plausible or not.\n\n"
      "Q: Is the following sentence plausible? \"Bam Adebayo scored a reverse layup in the Western Conference "
      "Finals.\"\nA: Let's think step by step.\nBam Adebayo is an American basketball player."));

  TaskOptions one = shared_options();
  one.num_fewshot = 1;
  auto single = make_bbh_task("bbh_cot_fewshot_boolean_expressions", one);
  EXPECT_EQ(single->prompt(single->docs()[0]).messages.size(), 4u);
  TaskOptions four = shared_options();
  four.num_fewshot = 4;
  EXPECT_THROW(make_bbh_task("bbh_cot_fewshot_boolean_expressions", four), tt::Error);
  EXPECT_THROW(make_bbh_task("bbh_zeroshot_boolean_expressions", four), tt::Error);
}

// Every target as the response: strict-match 1 everywhere; flexible-extract 1 everywhere except
// word_sorting targets that repeat a word (the filter keeps each word once) and the three
// multiple-choice targets that are not a letter (movie_recommendation 163, ruin_names 99 and 144). The CoT task's
// get-answer takes the target back out of "So the answer is <target>.".
TEST(TaskBbh, GoldTargetsScoreFull) {
  size_t total = 0;
  for (const auto& sub : bbh_subtasks()) {
    auto zeroshot = make_bbh_task("bbh_zeroshot_" + sub, shared_options());
    auto cot = make_bbh_task("bbh_cot_fewshot_" + sub, shared_options());
    double strict = 0, flex = 0, cot_score = 0;
    size_t flex_expected = 0;
    const bool multiple_choice =
        zeroshot->config()["filter_list"][1]["filter"][0]["function"] == "utils.MultiChoiceRegexFilter";
    for (const Doc& doc : zeroshot->docs()) {
      const std::string target = doc.fields["target"];
      const DocScore s = zeroshot->score_response(doc, target);
      strict += s.metrics.at("exact_match,strict-match")[0];
      flex += s.metrics.at("exact_match,flexible-extract")[0];
      std::vector<std::string> words;
      bool repeats = false;
      for (size_t b = 0, e; b < target.size(); b = e + 1) {
        e = target.find(' ', b);
        if (e == std::string::npos) e = target.size();
        const std::string w = target.substr(b, e - b);
        repeats |= std::find(words.begin(), words.end(), w) != words.end();
        words.push_back(w);
      }
      // Three BBH targets are not letters though the task is multiple choice ("Monsters, Inc").
      const bool letter = target.size() == 3 && target[0] == '(' && target[2] == ')';
      if ((sub != "word_sorting" || !repeats) && (!multiple_choice || letter)) ++flex_expected;
      cot_score += cot->score_response(doc, "Let's see. So the answer is " + target + ".").metrics.at("exact_match,get-answer")[0];
    }
    const size_t n = zeroshot->docs().size();
    total += n;
    EXPECT_EQ(strict, n) << sub;
    EXPECT_EQ(flex, flex_expected) << sub;
    EXPECT_EQ(cot_score, n) << sub;
    if (flex_expected != n)
      std::cout << "[ TaskBbh ] " << sub << ": " << n - flex_expected << " targets the flexible filter cannot return\n";
  }
  EXPECT_EQ(total, 6511u);
}

TEST(TaskBbh, StrictMatchIsTheRawResponse) {
  auto task = make_bbh_task("bbh_zeroshot_boolean_expressions", shared_options());
  const Doc& doc = task->docs()[0];  // target False
  // lm-eval's exact_match drops a final ".", commas, newlines, backslashes and quotes, ignoring case...
  EXPECT_EQ(task->score_response(doc, "false.\n").metrics["exact_match,strict-match"][0], 1.0);
  EXPECT_EQ(task->score_response(doc, "\"False\"").metrics["exact_match,strict-match"][0], 1.0);
  // ... but not spaces: a plain-text completion of "A:" that starts with " False" fails strict-match.
  const DocScore spaced = task->score_response(doc, " False");
  EXPECT_EQ(spaced.metrics.at("exact_match,strict-match")[0], 0.0);
  EXPECT_EQ(spaced.metrics.at("exact_match,flexible-extract")[0], 1.0);
  EXPECT_EQ(spaced.filtered["strict-match"], " False");
  const DocScore wrong = task->score_response(doc, "True, not False");
  EXPECT_EQ(wrong.filtered["flexible-extract"], "True");  // first match
  EXPECT_EQ(wrong.metrics.at("exact_match,flexible-extract")[0], 0.0);
  EXPECT_EQ(task->score_response(doc, "no idea").filtered["flexible-extract"], "[invalid]");
}

TEST(TaskBbh, MultipleChoiceFilter) {
  const std::string input = "Which is right?\nOptions:\n(A) the red apple\n(B) Blue, sky!\n(C) green grass";
  const std::string task = "bbh_zeroshot_date_understanding";
  EXPECT_EQ(flexible(task, input, "I pick (B) because (A) is wrong"), "(B)");       // first "(X)"
  EXPECT_EQ(flexible(task, input, "(Z)"), "(Z)");                                   // any letter in parentheses
  EXPECT_EQ(flexible(task, input, "It must be the RED apple."), "(A)");             // choice text, case ignored
  EXPECT_EQ(flexible(task, input, "blue sky"), "(B)");                              // punctuation ignored
  EXPECT_EQ(flexible(task, input, "Answer: C"), "(C)");                             // ": X"
  EXPECT_EQ(flexible(task, input, "Answer: D"), "[invalid]");                       // no choice (D)
  EXPECT_EQ(flexible(task, input, "nothing here"), "[invalid]");
  EXPECT_EQ(flexible(task, input, ""), "[invalid]");
}

TEST(TaskBbh, NumberParseFilter) {
  const std::string task = "bbh_zeroshot_object_counting";
  EXPECT_EQ(flexible(task, "q", "I count 12 items, then 3"), "12");
  EXPECT_EQ(flexible(task, "q", "-7 is the result"), "-7");
  EXPECT_EQ(flexible(task, "q", "There are Five apples."), "5");
  EXPECT_EQ(flexible(task, "q", "twenty three"), "23");
  EXPECT_EQ(flexible(task, "q", "twenty-three"), "-");  // as utils.py: "([-0-9]+)" matches the hyphen first
  EXPECT_EQ(flexible(task, "q", "one hundred and twenty"), "120");
  EXPECT_EQ(flexible(task, "q", "twenty, three"), "3");  // word2number drops "twenty," (comma attached)
  EXPECT_EQ(flexible(task, "q", "two hundred and five"), "205");
  EXPECT_EQ(flexible(task, "q", "one thousand two hundred"), "1200");
  EXPECT_EQ(flexible(task, "q", "a total of seventeen"), "17");
  EXPECT_EQ(flexible(task, "q", "none"), "1");  // as utils.py: "one" inside "none"
  EXPECT_EQ(flexible(task, "q", "I have no idea"), "[invalid]");
  EXPECT_EQ(flexible(task, "q", "thousand thousand"), "[invalid]");  // word2number raises
}

TEST(TaskBbh, MapAndWordSortFilters) {
  EXPECT_EQ(flexible("bbh_zeroshot_sports_understanding", "q", "This is Plausible."), "yes");
  EXPECT_EQ(flexible("bbh_zeroshot_sports_understanding", "q", "not plausible at all"), "no");
  EXPECT_EQ(flexible("bbh_zeroshot_sports_understanding", "q", "maybe"), "[invalid]");
  EXPECT_EQ(flexible("bbh_zeroshot_web_of_lies", "q", "So Bob tells the truth."), "yes");
  EXPECT_EQ(flexible("bbh_zeroshot_web_of_lies", "q", "Bob does not tell the truth"), "no");
  EXPECT_EQ(flexible("bbh_zeroshot_web_of_lies", "q", "Yes."), "yes");
  const std::string input = "Sort the following words alphabetically: List: banana apple cherry";
  EXPECT_EQ(flexible("bbh_zeroshot_word_sorting", input, "apple banana cherry banana"), "apple cherry banana");
  EXPECT_EQ(flexible("bbh_zeroshot_word_sorting", input, "apples and bananas"), "");
  EXPECT_EQ(flexible("bbh_zeroshot_dyck_languages", "q", "] ) }"), "] ) }");
  // The first match is the space after "The" (the class holds a space), stripped to "": as lm-eval.
  EXPECT_EQ(flexible("bbh_zeroshot_dyck_languages", "q", "The answer is ] ) }"), "");
  EXPECT_EQ(flexible("bbh_zeroshot_formal_fallacies", "q", "The argument is invalid"), "invalid");
}

TEST(TaskBbh, ScoringNeverThrows) {
  for (const auto& sub : bbh_subtasks()) {
    for (const char* prefix : {"bbh_zeroshot_", "bbh_cot_fewshot_"}) {
      auto task = make_bbh_task(prefix + sub, shared_options());
      for (std::string response : {std::string(), std::string("\xff\xfe (A) \xc3 twenty\xff")}) {
        DocScore s;
        ASSERT_NO_THROW(s = task->score_response(task->docs()[0], response)) << prefix << sub;
        EXPECT_NO_THROW((void)s.filtered.dump()) << prefix << sub;
      }
    }
  }
}

TEST(TaskBbh, ConfigIsLmEvalShaped) {
  auto task = make_bbh_task("bbh_zeroshot_sports_understanding", shared_options());
  const auto c = task->config();
  EXPECT_EQ(c["task"], "bbh_zeroshot_sports_understanding");
  EXPECT_EQ(c["dataset_name"], "sports_understanding");
  EXPECT_EQ(c["doc_to_text"], "Q: {{input}}\nA:");
  EXPECT_EQ(c["num_fewshot"], 0);
  EXPECT_EQ(c["filter_list"][1]["name"], "flexible-extract");
  EXPECT_EQ(c["filter_list"][1]["filter"][0]["regex_pattern_to_value"]["\\b(no|not plausible)\\b"], "no");
  EXPECT_EQ(c["metric_list"][0]["ignore_case"], true);
  auto cot = make_bbh_task("bbh_cot_fewshot_sports_understanding", shared_options());
  EXPECT_EQ(cot->config()["num_fewshot"], 3);
  EXPECT_EQ(cot->config()["fewshot_config"]["samples"][1]["input"],
            "Is the following sentence plausible? \"Santi Cazorla scored a touchdown.\"");
  EXPECT_EQ(cot->config()["fewshot_config"]["samples"][1]["target"],
            "Santi Cazorla is a soccer player. Touchdown is part of American football and rugby. So the answer is no.");
}

TEST(TaskBbh, ErrorsNameTheProblem) {
  try {
    make_bbh_task("bbh_zeroshot_nope", shared_options());
    FAIL() << "expected an error";
  } catch (const tt::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'nope'"), std::string::npos) << message;
    EXPECT_NE(message.find("boolean_expressions"), std::string::npos) << message;
  }
  EXPECT_THROW(make_bbh_task("bbh_something", shared_options()), tt::Error);

  const std::string root = tt::testing::make_temp_dir("bbh-task");
  std::filesystem::create_directories(root + "/bbh/bbh");
  {
    std::ofstream out(root + "/bbh/bbh/navigate.json");
    out << R"({"examples": [{"input": "a", "target": "Yes"}, {"input": "b"}]})";
  }
  TaskOptions options;
  options.data_root = root;
  try {
    make_bbh_task("bbh_zeroshot_navigate", options);
    FAIL() << "expected an error";
  } catch (const tt::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("navigate.json"), std::string::npos) << message;
    EXPECT_NE(message.find("examples[1]"), std::string::npos) << message;
    EXPECT_NE(message.find("'target'"), std::string::npos) << message;
  }
  std::filesystem::remove_all(root);
}
