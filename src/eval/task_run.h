// One task's run on a model or on saved responses: the evaluated docs, what the model saw and said
// (or the log-likelihood of each choice), the scores and the token counts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/runner.h"
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
  int64_t cached_requests = 0;  // answered from the response cache (response_cache.h)
};

// How prompts are rendered: lm-eval's apply_chat_template, fewshot_as_multiturn and system_instruction.
struct PromptStyle {
  bool apply_chat_template = false;
  // Few-shot examples as user/assistant turns, else collapsed into one user message. lm-eval 0.4.10+
  // turns it on with a chat template unless told otherwise; plain text ignores it.
  bool fewshot_as_multiturn = true;
  std::string system_instruction;  // "" = none
};

PromptStyle prompt_style(const EvalOptions& options);

// lm-eval's fewshot_context given a system instruction: the instruction and the description (the
// system turn) joined by the task's few-shot delimiter, or just the instruction when the prompt has
// no system turn (maybe_delimit: no delimiter where either side has whitespace at the join).
Prompt with_system_instruction(const Prompt& p, const std::string& instruction);

// lm-eval's multiturn_to_singleturn: the system turn as it is, then one user message holding every
// other turn's content and delimiter (the last turn's delimiter left out).
nlohmann::ordered_json single_turn_messages(const Prompt& p);

// The context string the model sees: the chat rendering (when asked, or the task's protocol), or
// lm-eval's plain text. `chat_used` (optional) says which.
std::string context_text(const infer::Session* session, const Prompt& p, const PromptStyle& style, bool* chat_used);

}  // namespace tt::eval
