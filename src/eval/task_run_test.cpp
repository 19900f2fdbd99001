// How a prompt is rendered (task_run.h): lm-eval's --system_instruction and --fewshot_as_multiturn
// against lm-eval 0.4.10's own message helpers (tools/gen_lm_eval_prompt_fixtures.py), and every
// task's prompt holding its plain text as its messages and delimiters.
#include "eval/task_run.h"

#include <gtest/gtest.h>

#include <fstream>

#include "eval/eval_test_util.h"
#include "eval/task.h"
#include "eval/task_multiple_choice.h"

namespace tt::eval {
namespace {

using Json = nlohmann::ordered_json;

Json read_cases() {
  std::ifstream in(tt::testing::fixture_dir() + "/lm_eval_prompts/cases.json");
  return Json::parse(in);
}

// The text the messages and delimiters spell.
std::string joined(const Prompt& p) {
  std::string text;
  for (size_t i = 0; i < p.messages.size(); ++i) text += p.messages[i]["content"].get<std::string>() + p.delimiters[i];
  return text;
}

TEST(LmEvalPromptFormat, SystemInstructionAndSingleTurnAsLmEvalBuildsThem) {
  const Json cases = read_cases();
  ASSERT_EQ(cases.size(), 10u);
  for (const Json& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>() + (c["system_instruction"].is_null() ? "" : " + system instruction"));
    std::vector<FewshotExample> shots;
    for (const Json& shot : c["shots"]) shots.push_back({shot[0].get<std::string>(), shot[1].get<std::string>()});
    const Prompt base = multiple_choice_prompt(c["description"], shots, c["question"], c["target_delimiter"],
                                               c["fewshot_delimiter"]);
    const std::string instruction = c["system_instruction"].is_null() ? "" : c["system_instruction"].get<std::string>();
    const Prompt p = with_system_instruction(base, instruction);
    EXPECT_EQ(p.text, c["plain"].get<std::string>());
    EXPECT_EQ(p.messages, c["multiturn"]);
    EXPECT_EQ(single_turn_messages(p), c["single_turn"]);
    EXPECT_EQ(joined(p), p.text);
  }
}

TEST(LmEvalPromptFormat, NoInstructionLeavesThePromptAsItIs) {
  const Prompt base = multiple_choice_prompt("Desc.\n\n", {{"Q1", "A1"}}, "Q2", " ", "\n\n");
  const Prompt p = with_system_instruction(base, "");
  EXPECT_EQ(p.text, base.text);
  EXPECT_EQ(p.messages, base.messages);
  EXPECT_EQ(p.delimiters, base.delimiters);
}

// A Prompt whose messages and delimiters disagree is a programming error, reported rather than read
// out of bounds.
TEST(LmEvalPromptFormat, APromptBuiltWithoutAddIsRefused) {
  Prompt p;
  p.text = "hello";
  p.messages.push_back({{"role", "user"}, {"content", "hello"}});
  EXPECT_NE(test_util::error_of([&] { (void)single_turn_messages(p); }).find("1 messages and 0 delimiters"),
            std::string::npos);
  EXPECT_NE(test_util::error_of([&] { (void)with_system_instruction(p, "x"); }).find("delimiters"), std::string::npos);
}

// Every task builds its prompt through Prompt::add, so the plain text lm-eval writes is the chat turns
// and their delimiters: --system-instruction and --fewshot-as-multiturn false rebuild from them.
TEST(LmEvalPromptFormat, EveryTasksPlainTextIsItsMessagesAndDelimiters) {
  for (const std::string& name : task_names()) {
    SCOPED_TRACE(name);
    const auto task = make_task(name, test_util::shared_options());
    const auto& docs = task->docs();
    ASSERT_FALSE(docs.empty());
    for (size_t i = 0; i < std::min<size_t>(docs.size(), 3); ++i) {
      const Prompt p = task->prompt(docs[i]);
      ASSERT_EQ(p.delimiters.size(), p.messages.size());
      EXPECT_EQ(joined(p), p.text);
      EXPECT_EQ(p.messages.back()["role"], "user");
      // One user turn after the system turn, whatever the few-shot examples were.
      const Json single = single_turn_messages(p);
      EXPECT_EQ(single.back()["role"], "user");
      EXPECT_LE(single.size(), 2u);
    }
  }
}

// With a few-shot task the two chat layouts differ: examples as turns, or inside one user message
// that reads as the plain text after the description.
TEST(LmEvalPromptFormat, FewShotTurnsCollapseIntoThePlainText) {
  const auto task = make_task("mmlu_abstract_algebra", test_util::shared_options(5));
  const Prompt p = task->prompt(task->docs()[0]);
  ASSERT_EQ(p.messages.size(), 1u + 2 * 5 + 1);  // description, five examples, the question
  const Json single = single_turn_messages(p);
  ASSERT_EQ(single.size(), 2u);
  EXPECT_EQ(single[0], p.messages[0]);
  EXPECT_EQ(single[0]["content"].get<std::string>() + single[1]["content"].get<std::string>(), p.text);
}

}  // namespace
}  // namespace tt::eval
