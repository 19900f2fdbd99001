// Pieces shared by the multiple-choice tasks (task_mmlu.cpp, task_arc.cpp): lm-eval's context
// layout. (Python's random.Random, whose sample() picks lm-eval's few-shot examples, is
// py::Random in python_compat.h.)
#pragma once
#include <string>
#include <vector>

#include "eval/task.h"

namespace tt::eval {

// One few-shot example: lm-eval's doc_to_text and the gold choice (without target_delimiter).
struct FewshotExample {
  std::string text;
  std::string answer;
};

// lm-eval's fewshot_context. Plain text: description + (text + target_delimiter + answer +
// fewshot_delimiter) per example + question. Chat (fewshot_as_multiturn): system = description
// when not empty, a user/assistant pair per example, then the question as the last user turn.
Prompt multiple_choice_prompt(const std::string& description, const std::vector<FewshotExample>& fewshot,
                              const std::string& question, const std::string& target_delimiter,
                              const std::string& fewshot_delimiter);

}  // namespace tt::eval
