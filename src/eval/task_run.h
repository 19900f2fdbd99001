// One task's run on a model or on saved responses: the evaluated docs, what the model saw and said
// (or the log-likelihood of each choice), the scores and the token counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/task.h"
#include "infer/session.h"

namespace tt::eval {

struct TaskRun {
  std::string name;
  std::vector<const Doc*> docs;           // evaluated docs
  std::vector<std::string> prompts;       // per doc: the context text
  std::vector<std::string> responses;     // generate_until
  std::vector<std::vector<double>> choice_ll;  // multiple_choice
  std::vector<std::vector<std::string>> continuations;  // multiple_choice: per doc, each choice as scored
  std::vector<DocScore> scores;
  double seconds = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0;
};

// The context string the model sees: the chat rendering (when asked, or the task's protocol), or
// lm-eval's plain text. `chat_used` (optional) says which.
std::string context_text(const infer::Session* session, const Prompt& p, bool apply_chat, bool* chat_used);

}  // namespace tt::eval
