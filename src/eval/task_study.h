// The study's protocol (DESIGN.md §5), shared by gsm8k_boxed and math500: zero-shot chat with the
// \boxed{} system prompt, sampled decoding, and the answer of extract_answer_study compared to the
// reference.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "eval/task.h"

namespace tt::eval {

// System turn kStudySystemPrompt, user turn `question`; as plain text (for models without a chat
// template) the two joined by a blank line.
Prompt study_prompt(const std::string& question);

// Sampled decoding: temperature 0.6, top_p 0.95, up to 1024 tokens, no stop strings.
GenerationDefaults study_generation_defaults();

// exact_match,none: extract_answer_study(response) is `equivalent` to `gold`; filtered "study" holds
// what was extracted ("[invalid]" when nothing was). `response` is valid UTF-8.
DocScore study_score(std::string_view response, const std::string& gold,
                     bool (*equivalent)(std::string_view, std::string_view));

// The task config written with the results, in lm-eval's YAML keys. `compare`: the name of
// `equivalent` above.
nlohmann::ordered_json study_config(const std::string& task, const std::string& dataset_path,
                                    const std::string& doc_to_text, const std::string& doc_to_target,
                                    const std::string& compare);

}  // namespace tt::eval
