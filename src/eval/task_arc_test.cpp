// arc_challenge / arc_easy (src/eval/task_arc.cpp): lm-eval's prompts byte for byte, gold indices
// for every document (digit labels, 3 or 5 choices), few-shot sampling as lm-eval's default
// sampler, scoring, and errors.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/eval_test_util.h"
#include "eval/task_data.h"
#include "eval/task_families.h"
#include "tests/test_util.h"

using namespace tt::eval;
using namespace tt::eval::test_util;

TEST(ArcTask, ChallengeDoc0PromptIsLmEvals) {
  const auto task = make_arc_task("arc_challenge", shared_options());
  EXPECT_EQ(task->name(), "arc_challenge");
  EXPECT_EQ(task->output_type(), OutputType::MultipleChoice);
  const Doc& doc = task->docs()[0];
  const std::string question =
      "Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the "
      "most likely effect of this increase in rotation?\nAnswer:";
  const Prompt p = task->prompt(doc);
  EXPECT_EQ(p.text, question);
  EXPECT_EQ(p.messages, nlohmann::ordered_json::array({{{"role", "user"}, {"content", question}}}));
  EXPECT_EQ(task->choices(doc),
            (std::vector<std::string>{" Planetary density will decrease.", " Planetary years will become longer.",
                                      " Planetary days will become shorter.",
                                      " Planetary gravity will become stronger."}));
  EXPECT_EQ(task->gold_index(doc), 2);
  EXPECT_EQ(task->target(doc), "Planetary days will become shorter.");
  // The document as lm-eval's allenai/ai2_arc row: question is the stem.
  EXPECT_EQ(doc.fields["id"], "Mercury_7175875");
  EXPECT_EQ(doc.fields["question"],
            "An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most "
            "likely effect of this increase in rotation?");
  EXPECT_EQ(doc.fields["choices"]["label"], nlohmann::ordered_json::array({"A", "B", "C", "D"}));
  EXPECT_EQ(doc.fields["answerKey"], "C");
  EXPECT_EQ(task->doc_text_fields(), std::vector<std::string>{"question"});
  EXPECT_EQ(task->metric_keys(), (std::vector<std::string>{"acc,none", "acc_norm,none"}));

  const auto config = task->config();
  EXPECT_EQ(config["dataset_name"], "ARC-Challenge");
  EXPECT_EQ(config["doc_to_text"], "Question: {{question}}\nAnswer:");
  EXPECT_EQ(config["num_fewshot"], 0);
  EXPECT_EQ(config["metric_list"].size(), 2u);
  EXPECT_EQ(make_arc_task("arc_easy", shared_options())->config()["dataset_name"], "ARC-Easy");
}

TEST(ArcTask, DigitLabelsAndThreeOrFiveChoices) {
  const auto task = make_arc_task("arc_challenge", shared_options());
  ASSERT_EQ(task->docs().size(), 1172u);
  const Doc& digits = task->docs()[44];  // labels 1-4, answerKey "2"
  EXPECT_EQ(digits.fields["answerKey"], "2");
  EXPECT_EQ(task->gold_index(digits), 1);
  const Doc& five = task->docs()[836];  // labels A-E, answerKey "D"
  EXPECT_EQ(task->choices(five).size(), 5u);
  EXPECT_EQ(task->gold_index(five), 3);
  const Doc& three = task->docs()[385];  // labels 1-3, answerKey "2"
  EXPECT_EQ(task->choices(three).size(), 3u);
  EXPECT_EQ(task->gold_index(three), 1);
}

// Every document of both sets has a gold index among its choices; log-likelihoods favouring it
// score 1 on acc and acc_norm; random ones score chance on acc (the mean of 1/number of choices).
TEST(ArcTask, GoldScoresOneRandomScoresChance) {
  struct Expected {
    const char* name;
    size_t docs, digit_keys, not_four;
  };
  for (const Expected& e : {Expected{"arc_challenge", 1172, 22, 7}, Expected{"arc_easy", 2376, 97, 11}}) {
    const auto task = make_arc_task(e.name, shared_options());
    ASSERT_EQ(task->docs().size(), e.docs) << e.name;
    size_t digit_keys = 0, not_four = 0;
    double chance = 0;
    std::vector<double> acc;  // (acc_norm on random log-likelihoods favours long choices: not chance)
    tt::Rng rng(11);
    for (const Doc& doc : task->docs()) {
      const auto choices = task->choices(doc);
      const int64_t gold = task->gold_index(doc);
      ASSERT_GE(gold, 0) << e.name << " " << doc.id;
      ASSERT_LT(gold, static_cast<int64_t>(choices.size())) << e.name << " " << doc.id;
      ASSERT_EQ(" " + task->target(doc), choices[gold]);
      const std::string key = doc.fields["answerKey"];
      digit_keys += std::isdigit(static_cast<unsigned char>(key[0])) ? 1 : 0;
      not_four += choices.size() != 4 ? 1 : 0;
      chance += 1.0 / static_cast<double>(choices.size());

      std::vector<double> favoured(choices.size(), -1.0), random(choices.size());
      favoured[gold] = 0.0;  // the most likely in total and per character
      for (auto& v : random) v = -20.0 * rng.uniform();
      const DocScore good = task->score_choices(doc, favoured);
      ASSERT_EQ(good.metrics.at("acc,none")[0], 1.0) << doc.id;
      ASSERT_EQ(good.metrics.at("acc_norm,none")[0], 1.0) << doc.id;
      const DocScore r = task->score_choices(doc, random);
      acc.push_back(r.metrics.at("acc,none")[0]);
    }
    EXPECT_EQ(digit_keys, e.digit_keys) << e.name;
    EXPECT_EQ(not_four, e.not_four) << e.name;
    chance /= static_cast<double>(task->docs().size());
    const double mean_acc = std::accumulate(acc.begin(), acc.end(), 0.0) / static_cast<double>(acc.size());
    EXPECT_NEAR(mean_acc, chance, 4 * mean_stderr(acc)) << e.name;
  }
}

// lm-eval's default sampler: random.Random(1234).sample(train_docs, k) for each document in turn,
// from one generator. Expected text from CPython 3.11:
//   r = random.Random(1234); r.sample(train, 2); ctx = join of r.sample(train, 2) + doc 1
TEST(ArcTask, FewshotFromTrainLikeLmEvalsDefaultSampler) {
  const auto task = make_arc_task("arc_challenge", shared_options(2));
  const std::string expected =
      "Question: A ship leaks a large amount of oil near a coastal area. Which statement describes how the oil "
      "most likely will affect the coastal habitat?\nAnswer: Water birds will be unable to use their wings.\n\n"
      "Question: In addition to oxygen, what do plants produce during photosynthesis?\nAnswer: sugar\n\n"
      "Question: A group of engineers wanted to know how different building designs would respond during an "
      "earthquake. They made several models of buildings and tested each for its ability to withstand "
      "earthquake conditions. Which will most likely result from testing different building designs?\n"
      "Answer:";
  const Prompt p = task->prompt(task->docs()[1]);
  EXPECT_EQ(p.text, expected);
  ASSERT_EQ(p.messages.size(), 5u);  // no system turn: ARC has no description
  EXPECT_EQ(p.messages[0]["role"], "user");
  EXPECT_EQ(p.messages[1]["role"], "assistant");
  EXPECT_EQ(p.messages[1]["content"], "Water birds will be unable to use their wings.");
  EXPECT_EQ(p.messages[3]["content"], "sugar");
  // The same document gets the same examples however often it is asked, in any order.
  EXPECT_EQ(task->prompt(task->docs()[1]).text, expected);
  EXPECT_NE(task->prompt(task->docs()[0]).text, task->prompt(task->docs()[2]).text);
  EXPECT_EQ(task->config()["num_fewshot"], 2);

  // Another seed, other examples.
  TaskOptions other = shared_options(2);
  other.seed = 42;
  EXPECT_NE(make_arc_task("arc_challenge", other)->prompt(task->docs()[1]).text, expected);
}

TEST(ArcTask, Errors) {
  // ARC-Easy has no training split here: few-shot must not borrow another set's.
  const std::string easy = error_of([] { make_arc_task("arc_easy", shared_options(5)); });
  EXPECT_NE(easy.find("ARC-Easy-Train.jsonl"), std::string::npos) << easy;
  EXPECT_NO_THROW(make_arc_task("arc_easy", shared_options(0)));
  EXPECT_THROW(make_arc_task("arc", shared_options()), tt::Error);

  const std::string root = tt::testing::make_temp_dir("arc");
  TaskOptions options;
  options.data_root = root;
  EXPECT_NE(error_of([&] { make_arc_task("arc_challenge", options); }).find(root + "/arc/ARC-Challenge-Test.jsonl"),
            std::string::npos);

  std::filesystem::create_directories(root + "/arc");
  const std::string path = root + "/arc/ARC-Challenge-Test.jsonl";
  const std::string good =
      R"({"id":"a","question":{"stem":"s","choices":[{"text":"x","label":"1"},{"text":"y","label":"2"}]},"answerKey":"2"})";
  std::ofstream(path) << good << "\n"
                      << R"({"id":"b","question":{"stem":"s","choices":[{"text":"x","label":"A"}]},"answerKey":"B"})"
                      << "\n";
  EXPECT_EQ(error_of([&] { make_arc_task("arc_challenge", options); }),
            path + ":2: answerKey 'B' is not one of the labels [\"A\"]");
  std::ofstream(path) << good << "\n\n" << R"({"id":"c","question":{"choices":[]},"answerKey":"A"})" << "\n";
  EXPECT_EQ(error_of([&] { make_arc_task("arc_challenge", options); }), path + ":3: missing field 'question.stem'");
  std::ofstream(path) << good << "\n";
  const auto task = make_arc_task("arc_challenge", options);
  EXPECT_EQ(task->gold_index(task->docs()[0]), 1);
}
